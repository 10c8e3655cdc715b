"""Preset directories (save/load, errors) and the SavedModel that serves any frame size."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import four_frame_cascade

from keras_fi.errors import PresetError
from keras_fi.models import FourierInterpolator
from keras_fi.models.fourier_interpolator.presets import ARCHITECTURES
from keras_fi.models.preset_utils import PRESET_FILES


def trained_like_tiny(seed=3, **kwargs):
    model = FourierInterpolator.from_preset("tiny", load_weights=False, **kwargs)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(variable + rng.normal(0, 0.05, variable.shape).astype("float32"))
    return model


def frames(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)


def test_architecture_parameter_counts_are_true():
    for name, spec in ARCHITECTURES.items():
        model = FourierInterpolator.from_preset(name, load_weights=False)
        assert model.count_params() == spec["parameters"], name


def _shipped() -> list[str]:
    from keras_fi.models.preset_utils import builtin_preset_dir

    return [name for name in ARCHITECTURES if builtin_preset_dir(name) is not None]


@pytest.mark.parametrize("name", _shipped())
def test_shipped_preset_loads_the_weights_of_its_file(name):
    """Every variable of a shipped preset holds a tensor of its weights file (read with h5py): the
    weights are loaded, not left at their initial values."""
    import h5py

    from keras_fi.models.preset_utils import WEIGHTS_FILE, builtin_preset_dir

    stored = []
    with h5py.File(builtin_preset_dir(name) / WEIGHTS_FILE, "r") as file:
        file.visititems(
            lambda _, item: (
                stored.append(np.asarray(item)) if isinstance(item, h5py.Dataset) else None
            )
        )
    model = FourierInterpolator.from_preset(name)

    def key(array):
        return (array.shape, np.asarray(array, "float32").tobytes())

    in_file = set(map(key, stored))
    assert all(key(weight) in in_file for weight in model.get_weights())


def test_loading_a_preset_draws_no_random_initial_values(tmp_path, monkeypatch):
    """A preset's weights are loaded over variables that were never drawn: no random initializer
    runs (on JAX each draw compiles a program, most of a cold load), and the model is the one
    built the slow way, weight for weight."""
    from keras.src.backend import random as backend_random

    model = trained_like_tiny()
    model.save_to_preset(tmp_path / "preset")
    drawn = []
    for name in ("uniform", "normal", "truncated_normal"):
        original = getattr(backend_random, name)
        monkeypatch.setattr(
            backend_random, name, lambda *a, _f=original, **k: drawn.append(1) or _f(*a, **k)
        )
    reloaded = FourierInterpolator.from_preset(str(tmp_path / "preset"))
    assert drawn == []
    for mine, theirs in zip(reloaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    # the check sees draws where there are some: an untrained build draws its weights
    FourierInterpolator.from_preset("tiny", load_weights=False)
    assert drawn


def test_save_to_preset_round_trip_is_bit_identical(tmp_path):
    model = trained_like_tiny()
    frame0, frame1 = frames((37, 50, 3))
    expected = model.interpolate(frame0, frame1, time=[0.3, 0.5])
    model.save_to_preset(tmp_path / "preset", metadata={"trained_on": "test"})
    assert sorted(os.listdir(tmp_path / "preset")) == sorted(PRESET_FILES)
    metadata = json.loads((tmp_path / "preset" / "metadata.json").read_text())
    assert metadata["parameters"] == model.count_params()
    assert metadata["trained_on"] == "test" and metadata["keras_version"] == keras.__version__
    reloaded = FourierInterpolator.from_preset(str(tmp_path / "preset"))
    np.testing.assert_array_equal(reloaded.interpolate(frame0, frame1, time=[0.3, 0.5]), expected)
    # no temp directories left next to it
    assert os.listdir(tmp_path) == ["preset"]


def test_preset_errors_are_one_line(tmp_path):
    with pytest.raises(PresetError, match="available: cascade_small, cascade_small_4f, tiny"):
        FourierInterpolator.from_preset("nope")
    with pytest.raises(PresetError, match="load_weights=False"):
        FourierInterpolator.from_preset("tiny")
    model = trained_like_tiny()
    model.save_to_preset(tmp_path / "p")
    (tmp_path / "p" / "model.weights.h5").unlink()
    with pytest.raises(PresetError, match="missing model.weights.h5"):
        FourierInterpolator.from_preset(str(tmp_path / "p"))
    # weights of another architecture
    FourierInterpolator.from_preset("cascade_small", load_weights=False).save_weights(
        str(tmp_path / "p" / "model.weights.h5")
    )
    with pytest.raises(PresetError, match="do not fit") as error:
        FourierInterpolator.from_preset(str(tmp_path / "p"))
    assert "\n" not in str(error.value)


# Calls each (call, words) of `refusals`: it must raise InvalidArgumentError saying `words`.
REFUSE = textwrap.dedent(
    """
    for call, words in refusals:
        try:
            call()
        except tf.errors.InvalidArgumentError as error:
            assert words in str(error), str(error)
        else:
            raise AssertionError(f"accepted: {words}")
    """
)
SERVE = (
    textwrap.dedent(
        """
    import sys
    import numpy as np
    import tensorflow as tf
    assert "keras_fi" not in sys.modules  # (TensorFlow itself may load parts of keras)
    loaded = tf.saved_model.load(sys.argv[1])
    serve = loaded.signatures["serving_default"]
    at_time = loaded.signatures["interpolate_at_time"]
    data = np.load(sys.argv[2])
    out = {}
    out["a"] = serve(frame0=tf.constant(data["a0"]), frame1=tf.constant(data["a1"]))["frame"].numpy()
    out["b"] = serve(frame0=tf.constant(data["b0"]), frame1=tf.constant(data["b1"]))["frame"].numpy()
    out["c"] = at_time(frame0=tf.constant(data["b0"]), frame1=tf.constant(data["b1"]),
                       time=tf.constant([0.25, 0.75], tf.float32))["frame"].numpy()
    assert all(v.dtype == np.uint8 for v in out.values())
    refusals = [  # (what is wrong, words the error must say)
        (lambda: serve(frame0=tf.constant(data["b0"]), frame1=tf.constant(data["b1"][:, :40])),
         "frame1 must have the shape of frame0"),
        (lambda: at_time(frame0=tf.constant(data["b0"]), frame1=tf.constant(data["b1"]),
                         time=tf.constant([0.5, 1.5])), "time must be in [0, 1]"),
        (lambda: at_time(frame0=tf.constant(data["b0"]), frame1=tf.constant(data["b1"]),
                         time=tf.constant([0.5])), "one value per frame pair"),
        (lambda: serve(frame0=tf.constant(data["b0"][0]), frame1=tf.constant(data["b1"][0])),
         "frame0 must have rank 4 (batch, height, width, 3)"),
    ]
    """
    )
    + REFUSE
    + textwrap.dedent(
        """
    assert "keras_fi" not in sys.modules
    np.savez(sys.argv[3], **out)
    """
    )
)


@pytest.mark.slow
def test_saved_model_serves_any_size_in_plain_tensorflow(tmp_path):
    from keras_fi.export import export_saved_model

    # as the shipped preset: refinement with medians and presmoothing, half scale, bicubic warps
    model = trained_like_tiny(
        refinement={"iterations": 1, "median": 5, "presmooth": 1},
        scale=0.5,
        warp_interpolation="bicubic",
    )
    export_saved_model(model, tmp_path / "served")
    a0, a1 = frames((1, 37, 50, 3), seed=1)
    b0, b1 = frames((2, 64, 96, 3), seed=2)
    np.savez(tmp_path / "in.npz", a0=a0, a1=a1, b0=b0, b1=b1)
    (tmp_path / "serve.py").write_text(SERVE)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    subprocess.run(
        [
            sys.executable,
            tmp_path / "serve.py",
            tmp_path / "served",
            tmp_path / "in.npz",
            tmp_path / "out.npz",
        ],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    served = np.load(tmp_path / "out.npz")
    expected = {
        "a": model.interpolate(a0, a1),
        "b": model.interpolate(b0, b1),
        "c": np.stack(
            [model.interpolate(b0[i], b1[i], time=t) for i, t in enumerate((0.25, 0.75))]
        ),
    }
    for key, value in expected.items():
        assert served[key].shape == value.shape
        assert np.max(np.abs(served[key].astype(int) - value.astype(int))) <= 1, key
    show = subprocess.run(
        [
            Path(sys.executable).parent / "saved_model_cli",
            "show",
            "--dir",
            tmp_path / "served",
            "--all",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serving_default" in show.stdout and "interpolate_at_time" in show.stdout
    assert "unknown_rank" in show.stdout  # checked in the graph, with a message (above)


def test_export_refuses_existing_directory(tmp_path):
    from keras_fi.errors import InputError
    from keras_fi.export import export_saved_model

    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match="already exists"):
        export_saved_model("tiny", tmp_path / "out")


SERVE_FOUR = (
    textwrap.dedent(
        """
    import sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    assert sorted(loaded.signatures) == [
        "interpolate_at_time", "interpolate_four_frames", "serving_default"
    ], sorted(loaded.signatures)
    serve = loaded.signatures["serving_default"]
    at_time = loaded.signatures["interpolate_at_time"]
    four = loaded.signatures["interpolate_four_frames"]
    d = {k: tf.constant(v) for k, v in np.load(sys.argv[2]).items()}
    times = tf.constant([0.25, 0.75], tf.float32)
    out = {
        "serve_a": serve(frame0=d["a0"], frame1=d["a1"]),
        "four_a": four(frame_prev=d["ap"], frame0=d["a0"], frame1=d["a1"], frame_next=d["an"],
                       time=tf.constant([0.5], tf.float32)),
        "at_time_b": at_time(frame0=d["b0"], frame1=d["b1"], time=times),
        "four_b": four(frame_prev=d["bp"], frame0=d["b0"], frame1=d["b1"], frame_next=d["bn"],
                       time=times),
        "four_b_swapped": four(frame_prev=d["bn"], frame0=d["b0"], frame1=d["b1"],
                               frame_next=d["bp"], time=times),
    }
    out = {k: v["frame"].numpy() for k, v in out.items()}
    assert all(v.dtype == np.uint8 for v in out.values())
    refusals = [  # (what is wrong, words the error must say)
        (lambda: four(frame_prev=d["bp"][:, :40], frame0=d["b0"], frame1=d["b1"],
                      frame_next=d["bn"], time=times), "frame_prev must have the shape of frame0"),
        (lambda: four(frame_prev=d["bp"], frame0=d["b0"], frame1=d["b1"],
                      frame_next=d["bn"][:, :, :40], time=times),
         "frame_next must have the shape of frame0"),
    ]
    """
    )
    + REFUSE
    + textwrap.dedent(
        """
    assert "keras_fi" not in sys.modules
    np.savez(sys.argv[3], **out)
    """
    )
)


@pytest.mark.slow
@pytest.mark.parametrize("quadratic_motion", [False, True])
def test_saved_model_of_a_four_frame_model_serves_its_context(tmp_path, quadratic_motion):
    """A context_frames=4 model adds interpolate_four_frames; its two-frame signatures repeat
    frame0 and frame1 as the context; outputs equal the Keras model's at two sizes (also with the
    outer pairs of quadratic_motion in the batch)."""
    from keras_fi.export import export_saved_model

    model = four_frame_cascade(quadratic_motion=quadratic_motion)
    export_saved_model(model, tmp_path / "served")
    a0, a1 = frames((1, 37, 50, 3), seed=1)
    ap, an = frames((1, 37, 50, 3), seed=2)
    b0, b1 = frames((2, 64, 96, 3), seed=3)
    bp, bn = frames((2, 64, 96, 3), seed=4)
    np.savez(tmp_path / "in.npz", a0=a0, a1=a1, ap=ap, an=an, b0=b0, b1=b1, bp=bp, bn=bn)
    (tmp_path / "serve.py").write_text(SERVE_FOUR)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    subprocess.run(
        [sys.executable, "serve.py", "served", "in.npz", "out.npz"],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    served = np.load(tmp_path / "out.npz")

    def per_time(context):
        return np.stack(
            [
                model.interpolate(b0[i], b1[i], time=t, context=context and context[i])
                for i, t in enumerate((0.25, 0.75))
            ]
        )

    expected = {
        "serve_a": model.interpolate(a0, a1),
        "four_a": model.interpolate(a0, a1, context=(ap, an)),
        "at_time_b": per_time(None),
        "four_b": per_time([(bp[i], bn[i]) for i in range(2)]),
        "four_b_swapped": per_time([(bn[i], bp[i]) for i in range(2)]),
    }
    for key, value in expected.items():
        assert served[key].shape == value.shape, key
        assert np.max(np.abs(served[key].astype(int) - value.astype(int))) <= 1, key
    # the context reaches the served model
    assert np.mean(served["four_b"] != served["four_b_swapped"]) > 0.05
    assert np.mean(served["four_a"] != served["serve_a"]) > 0.05
