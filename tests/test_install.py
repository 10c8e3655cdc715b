"""Installing keras-fi never replaces the TensorFlow a user already has; without TensorFlow, the
features that need it say so in one line.

The install check is real pip on a real environment, offline: a fresh virtual environment whose
site-packages links every package of this test environment (so TensorFlow, Keras, JAX and the
rest are really there and importable) except our own TensorFlow distribution, which it records
under another project name. pip's resolver and installer then install keras-fi from a copy of
this source tree with ``--no-index``: a dependency on a TensorFlow build other than the one
present (e.g. ``tensorflow-cpu`` beside ``tensorflow``) cannot be satisfied from what is installed
and fails the install, where with a package index it would have installed a second TensorFlow
over the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tensorflow_dist_info(site: Path) -> Path:
    found = sorted(site.glob("tensorflow*.dist-info"))
    found = [p for p in found if p.name.split("-")[0] in ("tensorflow", "tensorflow_cpu")]
    if not found:
        pytest.skip("the test environment has no TensorFlow distribution to stand in for")
    return found[0]


def make_env_with_tensorflow(root: Path, project: str) -> tuple[Path, Path]:
    """A venv whose site-packages links this environment's packages, with our TensorFlow recorded
    as the distribution `project` (``tensorflow``, ``tensorflow-cpu``) and keras-fi absent."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = Path(sysconfig.get_paths()["purelib"])
    tf_info = _tensorflow_dist_info(ours)
    for entry in ours.iterdir():
        name = entry.name.lower()
        if entry == tf_info or "keras_fi" in name or name == "__pycache__":
            continue
        (site / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    version = tf_info.name.split("-")[1].removesuffix(".dist-info")
    info = site / f"{project.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    metadata = (tf_info / "METADATA").read_text(encoding="utf-8").splitlines()
    metadata = [f"Name: {project}" if line.startswith("Name:") else line for line in metadata]
    (info / "METADATA").write_text("\n".join(metadata) + "\n", encoding="utf-8")
    (info / "INSTALLER").write_text("pip\n")
    return python, site


def copy_source(target: Path) -> Path:
    """The files a wheel build reads, so that building never writes into the working tree."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(
        ROOT / "keras_fi",
        target / "keras_fi",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    return target


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(python), "-m", "pip", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize("project", ["tensorflow", "tensorflow-cpu"])
def test_install_beside_an_existing_tensorflow_keeps_it(tmp_path, project):
    """pip wants to install keras-fi and nothing else into an environment that has `project`;
    after the install `pip check` is clean and `import tensorflow` still loads the same files."""
    python, site = make_env_with_tensorflow(tmp_path / "env", project)
    source = copy_source(tmp_path / "src")
    report = tmp_path / "report.json"
    base = ("install", "--no-index", "--no-build-isolation")
    result = pip(python, *base, "--dry-run", "--report", str(report), str(source))
    assert result.returncode == 0, (
        f"keras-fi needs a package that is not installed beside {project}:\n{result.stderr[-2000:]}"
    )
    wanted = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert wanted == ["keras-fi"], wanted
    if project != "tensorflow":
        return  # the dry run is the check; one real install is enough
    before = sorted(p.name for p in site.glob("tensorflow*"))
    result = pip(python, *base, str(source))
    assert result.returncode == 0, result.stderr[-2000:]
    check = pip(python, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert sorted(p.name for p in site.glob("tensorflow*")) == before
    assert (site / "tensorflow").is_symlink()  # not replaced by files of another build
    probe = subprocess.run(
        [str(python), "-c", "import tensorflow, keras_fi.samples; print(tensorflow.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        cwd=tmp_path,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert str(site / "tensorflow") in probe.stdout


def test_tf_features_without_tensorflow_say_what_to_install(monkeypatch, tmp_path):
    """With TensorFlow absent (the base install), the tf.data loaders and the SavedModel export
    raise one InputError that names the extra to install; the TensorFlow-free batches still work."""
    from keras_fi import data, samples
    from keras_fi.errors import InputError
    from keras_fi.export import export_saved_model

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails
    with pytest.raises(InputError, match=r"needs tensorflow.*keras-fi\[tf\]"):
        data.video_triplets(str(samples.sample_clip()), crop_size=32, batch_size=2, seed=0)
    with pytest.raises(InputError, match=r"SavedModel export needs tensorflow.*keras-fi\[tf\]"):
        export_saved_model("tiny", tmp_path / "saved_model")
    assert not (tmp_path / "saved_model").exists()


def test_training_without_tensorflow_skips_tensorboard_with_a_warning(monkeypatch, tmp_path):
    """TensorBoard writes through tf.summary: without TensorFlow the callback is left out, with
    one warning, instead of failing inside fit."""
    from keras_fi.training.callbacks import tensorboard

    assert len(tensorboard(tmp_path)) == 1  # TensorFlow is installed for the tests
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.warns(UserWarning, match="no TensorBoard logs"):
        assert tensorboard(tmp_path) == []
