"""Tests of keras_fi.evaluation and `keras-fi evaluate` on small real triplets (tests/data/eval_layouts)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from keras_fi.cli.main import main
from keras_fi.errors import InputError
from keras_fi.evaluation import (
    detect_layout,
    dis_interpolate,
    evaluate,
    linear_interpolate,
    load_image,
    load_triplet,
    psnr,
    read_set,
    ssim,
)
from keras_fi.evaluation.baselines import backward_warp
from keras_fi.evaluation.scores import PSNR_CAP, gaussian_kernel

DATA = Path(__file__).parent / "data" / "eval_layouts"
# The development data root (holding eval/ and train/), named by KERAS_FI_DATA; see CONTRIBUTING.md.
DATA_ROOT = os.environ.get("KERAS_FI_DATA")
DEV_EVAL = Path(DATA_ROOT) / "eval" if DATA_ROOT else None
ROLES = ("frame0.png", "gt.png", "frame1.png")


def _seqs(name: str) -> list[Path]:
    return sorted(p for p in (DATA / name).iterdir() if p.is_dir())


def _put(src: Path, dst: Path, link: bool = False) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        os.symlink(src.resolve(), dst)
    else:
        shutil.copyfile(src, dst)


def as_middlebury(src: Path, root: Path, link: bool = False) -> Path:
    for seq in sorted(p for p in src.iterdir() if p.is_dir()):
        _put(seq / "frame0.png", root / "other-data" / seq.name / "frame10.png", link)
        _put(seq / "frame1.png", root / "other-data" / seq.name / "frame11.png", link)
        _put(seq / "gt.png", root / "other-gt-interp" / seq.name / "frame10i11.png", link)
    return root


def as_ucf101(src: Path, root: Path, link: bool = False) -> Path:
    names = ("frame_00.png", "frame_01_gt.png", "frame_02.png")
    for seq in sorted(p for p in src.iterdir() if p.is_dir()):
        for role, name in zip(ROLES, names):
            _put(seq / role, root / seq.name / name, link)
    return root


def as_vimeo(src: Path, root: Path) -> Path:
    entries = []
    for i, seq in enumerate(sorted(p for p in src.iterdir() if p.is_dir()), start=1):
        entry = f"{i:05d}/0001"
        for role, name in zip(ROLES, ("im1.png", "im2.png", "im3.png")):
            _put(seq / role, root / "sequences" / entry / name)
        entries.append(entry)
    # the published list has a trailing blank line
    (root / "tri_testlist.txt").write_text("\n".join(entries) + "\n\n")
    return root


def _arrays(triplets) -> dict[str, tuple[np.ndarray, ...]]:
    return {t.name: load_triplet(t) for t in triplets}


# ----------------------------------------------------------------------------- metrics


def test_psnr_known_values_and_reference():
    a = np.full((8, 9, 3), 100, np.uint8)
    assert psnr(a, a + 1) == pytest.approx(10 * np.log10(255.0**2), abs=1e-12)  # MSE = 1
    assert psnr(a, a) == PSNR_CAP
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (31, 17, 3), dtype=np.uint8)
    y = rng.integers(0, 256, (31, 17, 3), dtype=np.uint8)
    mse = (
        sum((int(p) - int(q)) ** 2 for p, q in zip(x.ravel().tolist(), y.ravel().tolist())) / x.size
    )
    assert psnr(x, y) == pytest.approx(10 * np.log10(255.0**2 / mse), abs=1e-9)
    with pytest.raises(InputError, match="uint8"):
        psnr(x.astype(np.float32), y)


def _ssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Direct 2-D windowed SSIM in float64 (no separable trick), Wang et al. 2004 definitions."""
    g = gaussian_kernel(11, 1.5)
    window = np.outer(g, g)
    x, y = x / 255.0, y / 255.0

    def local_mean(image):
        return np.einsum("hwcij,ij->hwc", sliding_window_view(image, (11, 11), axis=(0, 1)), window)

    mx, my = local_mean(x), local_mean(y)
    vx, vy = local_mean(x * x) - mx**2, local_mean(y * y) - my**2
    cxy = local_mean(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(value.mean())


def test_ssim_matches_direct_reference_and_tf_image_ssim():
    import tensorflow as tf

    frame0, truth, _ = load_triplet(read_set(DATA / "middlebury")[1][0])
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (40, 37, 3), dtype=np.uint8)
    noisier = np.clip(noisy.astype(int) + rng.integers(-40, 40, noisy.shape), 0, 255).astype(
        np.uint8
    )
    for x, y in ((frame0, truth), (noisy, noisier)):
        ours = ssim(x, y)
        assert ours == pytest.approx(_ssim_reference(x, y), abs=1e-10)
        reference = float(tf.image.ssim(tf.constant(x), tf.constant(y), max_val=255))
        assert ours == pytest.approx(reference, abs=1e-4)  # tf works in float32
    assert ssim(truth, truth) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InputError, match="smaller than"):
        ssim(truth[:10], truth[:10])


# ----------------------------------------------------------------------------- baselines


def test_linear_rounds_half_up_like_integer_average():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (23, 19, 3), dtype=np.uint8)
    expected = ((a.astype(np.int32) + b + 1) // 2).astype(np.uint8)
    np.testing.assert_array_equal(linear_interpolate(a, b, 0.5), expected)
    np.testing.assert_array_equal(linear_interpolate(a, b, 0.0), a)
    np.testing.assert_array_equal(linear_interpolate(a, b, 1.0), b)


def test_backward_warp_integer_flow_is_a_shift():
    image = load_image(DATA / "vimeo" / "pytoflow_example" / "gt.png").astype(np.float32)
    flow = np.zeros(image.shape[:2] + (2,), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # sample at (x + 3, y - 2)
    warped = backward_warp(image, flow)
    np.testing.assert_array_equal(warped[2:, :-3], image[:-2, 3:])
    flow[..., 0], flow[..., 1] = 0.5, 0.0  # halfway to the right neighbour
    half = backward_warp(image, flow)
    np.testing.assert_allclose(half[:, :-1], (image[:, :-1] + image[:, 1:]) / 2, atol=1e-3)


def test_dis_recovers_a_real_translation():
    # a real 8-bit image moving right/down by (6, 4) px: truth is the (3, 2) shift
    base = load_image(DATA / "vimeo" / "pytoflow_example" / "gt.png")
    h, w = 56, 80

    def view(dx, dy):
        return np.ascontiguousarray(base[8 - dy : 8 - dy + h, 12 - dx : 12 - dx + w])

    frame0, truth, frame1 = view(0, 0), view(3, 2), view(6, 4)
    inner = np.s_[6:-6, 8:-8]
    dis = dis_interpolate(frame0, frame1)
    linear = linear_interpolate(frame0, frame1)
    assert psnr(dis[inner], truth[inner]) > 32.0  # 37.7 dB with OpenCV 5.0
    assert psnr(dis[inner], truth[inner]) > psnr(linear[inner], truth[inner]) + 10.0


# ----------------------------------------------------------------------------- layouts


def test_middlebury_published_layout_reads_the_same_triplets(tmp_path):
    ours = DATA / "middlebury"
    published = as_middlebury(ours, tmp_path / "middlebury")
    assert detect_layout(ours) == "triplets"
    assert detect_layout(published) == "middlebury"
    a, b = _arrays(read_set(ours)[1]), _arrays(read_set(published)[1])
    assert list(a) == list(b) == ["Beanbags", "Urban2"]
    for name in a:  # role by role: frame0, gt, frame1 never swapped
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x, y)
    for method in ("linear", "dis"):
        ra, rb = evaluate(ours, method=method), evaluate(published, method=method)
        assert ra["layout"] == "triplets" and rb["layout"] == "middlebury"
        assert [r["psnr"] for r in ra["per_sequence"]] == [r["psnr"] for r in rb["per_sequence"]]
        assert (ra["psnr"], ra["ssim"], ra["n"]) == (rb["psnr"], rb["ssim"], rb["n"])


def test_ucf101_dvf_layout_reads_the_same_triplets_in_natural_order(tmp_path):
    ours = DATA / "ucf101"
    dvf = as_ucf101(ours, tmp_path / "ucf101")
    assert detect_layout(dvf) == "ucf101"
    a, b = _arrays(read_set(ours)[1]), _arrays(read_set(dvf)[1])
    assert list(a) == list(b) == ["2", "10"]
    for name in a:
        for x, y in zip(a[name], b[name]):
            np.testing.assert_array_equal(x, y)
    ra, rb = evaluate(ours, method="linear"), evaluate(dvf, method="linear")
    assert ra["psnr"] == rb["psnr"] and ra["ssim"] == rb["ssim"] and rb["n"] == 2


def test_vimeo90k_layout(tmp_path):
    src = tmp_path / "src"
    for part in ("vimeo", "ucf101"):
        for seq in _seqs(part):
            shutil.copytree(seq, src / f"{part}_{seq.name}")
    vimeo = as_vimeo(src, tmp_path / "vimeo_triplet")
    (vimeo / "sequences" / "00009" / "0009").mkdir(parents=True)  # not listed: ignored
    layout, triplets = read_set(vimeo)
    assert layout == "vimeo90k"
    assert [t.name for t in triplets] == ["00001/0001", "00002/0001", "00003/0001"]
    truth = {seq.name: load_image(seq / "gt.png") for seq in _seqs("ucf101")}
    np.testing.assert_array_equal(load_triplet(triplets[0])[1], truth["10"])  # im2 is the truth
    ours = evaluate(src, method="linear")
    theirs = evaluate(vimeo, method="linear")
    assert sorted(r["psnr"] for r in ours["per_sequence"]) == sorted(
        r["psnr"] for r in theirs["per_sequence"]
    )
    # listed but missing on disk: one clear error naming the file
    (vimeo / "tri_testlist.txt").write_text("00001/0001\n00004/0001\n")
    with pytest.raises(InputError, match=r"00004/0001/im1\.png: missing"):
        read_set(vimeo)


def test_davis_layouts_every_other_frame_is_truth(tmp_path):
    seq = DATA / "davis" / "cdfi_drift"
    frames = sorted(seq.glob("*.jpg"))
    assert len(frames) == 5
    davis = tmp_path / "DAVIS"
    shutil.copytree(seq, davis / "JPEGImages" / "480p" / "drift")
    shutil.copytree(seq, davis / "JPEGImages" / "480p" / "drift2")
    (davis / "JPEGImages" / "480p" / "drift2" / "00004.jpg").unlink()  # 4 frames: one triplet
    (davis / "ImageSets" / "2017").mkdir(parents=True)
    (davis / "ImageSets" / "2017" / "val.txt").write_text("drift\ndrift2\n")
    layout, triplets = read_set(davis)
    assert layout == "davis"
    assert [t.name for t in triplets] == ["drift/00001", "drift/00003", "drift2/00001"]
    assert [t.group for t in triplets] == ["drift", "drift", "drift2"]
    first = triplets[1]
    assert (first.frame0.name, first.gt.name, first.frame1.name) == (
        "00002.jpg",
        "00003.jpg",
        "00004.jpg",
    )
    # the same frames as a bare folder of sequences, and as one folder of frames, unpadded names
    plain = tmp_path / "plain" / "drift"
    plain.mkdir(parents=True)
    for i, frame in enumerate(frames):
        shutil.copyfile(frame, plain / f"img{i * 5}.jpg")  # img0, img5, img10, ... (natural order)
    (plain / "notes-2024.txt").write_text("not a frame")
    for path in (plain.parent, plain):
        layout, other = read_set(path)
        assert layout == "davis"
        assert [t.gt.name for t in other] == ["img5.jpg", "img15.jpg"]
    r_davis, r_plain = evaluate(davis, method="linear"), evaluate(plain, method="linear")
    assert r_davis["n"] == 3 and r_plain["n"] == 2
    assert [r["psnr"] for r in r_davis["per_sequence"][:2]] == [
        r["psnr"] for r in r_plain["per_sequence"]
    ]
    assert [v["n"] for v in r_davis["per_video"]] == [2, 1]
    expected = psnr(
        linear_interpolate(load_image(frames[0]), load_image(frames[2])), load_image(frames[1])
    )
    assert r_davis["per_sequence"][0]["psnr"] == expected


# ----------------------------------------------------------------------------- evaluate


def test_evaluate_matches_independent_per_triplet_scores():
    result = evaluate(DATA / "ucf101", method="dis")
    assert set(result) >= {"psnr", "ssim", "n", "ms_per_frame", "per_sequence"}
    expected = []
    for seq in _seqs("ucf101"):
        f0, gt, f1 = (load_image(seq / n) for n in ROLES)
        pred = dis_interpolate(f0, f1)
        expected.append((seq.name, psnr(pred, gt), ssim(pred, gt)))
    expected.sort(key=lambda e: int(e[0]))
    got = [(r["name"], r["psnr"], r["ssim"]) for r in result["per_sequence"]]
    assert got == expected
    assert result["psnr"] == pytest.approx(np.mean([e[1] for e in expected]), abs=1e-12)
    assert result["ms_per_frame"] > 0


def test_two_pass_averages_the_swapped_pass():
    def first_frame(frame0, frame1, time):  # order-dependent on purpose
        return frame0

    one = evaluate(DATA / "middlebury", method=first_frame)
    two = evaluate(DATA / "middlebury", method=first_frame, two_pass=True)
    linear = evaluate(DATA / "middlebury", method="linear")
    assert one["psnr"] != linear["psnr"]
    assert two["per_sequence"] == [
        dict(r, ms=t["ms"]) for r, t in zip(linear["per_sequence"], two["per_sequence"])
    ]


@pytest.mark.slow
def test_evaluate_with_the_tiny_model():
    models = pytest.importorskip("keras_fi.models")
    model = models.FourierInterpolator.from_preset("tiny", load_weights=False)
    result = evaluate(DATA / "vimeo", model=model, two_pass=True)
    f0, gt, f1 = (load_image(DATA / "vimeo" / "pytoflow_example" / n) for n in ROLES)
    x0, x1 = f0.astype(np.float32) / 255, f1.astype(np.float32) / 255
    mean = (model.interpolate(x0, x1, 0.5).astype(np.float64) + model.interpolate(x1, x0, 0.5)) / 2
    pred = np.clip(np.floor(mean * 255 + 0.5), 0, 255).astype(np.uint8)
    assert result["n"] == 1 and result["two_pass"]
    assert result["per_sequence"][0]["psnr"] == pytest.approx(psnr(pred, gt), abs=1e-9)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no recognisable layout"):
        evaluate(empty, method="linear")
    with pytest.raises(InputError, match="not a folder"):
        evaluate(tmp_path / "missing", method="linear")

    parent = tmp_path / "sets"
    shutil.copytree(DATA / "ucf101", parent / "ucf")
    shutil.copytree(DATA / "middlebury", parent / "mb")
    with pytest.raises(InputError, match=r"several evaluation sets \(mb, ucf\)"):
        evaluate(parent, method="linear")

    incomplete = tmp_path / "incomplete"
    shutil.copytree(DATA / "ucf101", incomplete)
    (incomplete / "10" / "gt.png").unlink()
    with pytest.raises(
        InputError, match=r"10: incomplete triplet \(triplets layout\), gt\.png is missing"
    ):
        evaluate(incomplete, method="linear")

    mismatched = tmp_path / "mismatched"
    shutil.copytree(DATA / "ucf101", mismatched)
    small = load_image(mismatched / "2" / "gt.png")[:50]
    Image.fromarray(small).save(mismatched / "2" / "gt.png")
    with pytest.raises(InputError, match=r"2/gt\.png: is 80x50 but frame0\.png is 80x64"):
        evaluate(mismatched, method="linear")

    broken = tmp_path / "broken"
    shutil.copytree(DATA / "ucf101", broken)
    (broken / "10" / "frame1.png").write_bytes(b"not a png at all")
    with pytest.raises(InputError, match=r"10/frame1\.png: cannot read image"):
        evaluate(broken, method="linear")

    with pytest.raises(InputError, match="unknown layout"):
        evaluate(DATA / "ucf101", layout="kitti", method="linear")
    with pytest.raises(InputError, match="no triplets found for layout ucf101"):
        evaluate(DATA / "middlebury", layout="ucf101", method="linear")
    with pytest.raises(InputError, match="either a method"):
        evaluate(DATA / "ucf101", method="linear", model="tiny")


def test_cli_bad_input_prints_one_line(tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    assert main(["evaluate", str(tmp_path / "nothing"), "--method", "linear"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no recognisable layout" in err and "Traceback" not in err


def test_cli_end_to_end(tmp_path, capsys):
    out_json, out_images = tmp_path / "out" / "r.json", tmp_path / "imgs"
    args = ["evaluate", str(DATA / "middlebury"), "--method", "dis", "--json", str(out_json)]
    args += ["--images", str(out_images), "--images-count", "1"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "Beanbags" in captured.out and "mean" in captured.out
    assert "evaluate dis" in captured.err  # progress lines (stderr is not a TTY here)
    result = json.loads(out_json.read_text())
    assert result["n"] == 2 and result["layout"] == "triplets"
    assert {"name", "psnr", "ssim", "ms"} <= set(result["per_sequence"][0])
    assert result["psnr"] == pytest.approx(evaluate(DATA / "middlebury", method="dis")["psnr"])
    written = sorted(p.name for p in out_images.iterdir())
    worst = min(result["per_sequence"], key=lambda r: r["psnr"])
    assert len(written) == 2 and written[1].startswith(f"worst1_{worst['name']}_")
    panel = load_image(out_images / written[1])
    h, w = load_image(DATA / "middlebury" / worst["name"] / "gt.png").shape[:2]
    assert panel.shape == (h + 14, 4 * w + 12, 3)
    truth = load_image(DATA / "middlebury" / worst["name"] / "gt.png")
    np.testing.assert_array_equal(panel[14:, w + 4 : 2 * w + 4], truth)
    assert not list(tmp_path.glob("out/.*"))  # no temp files left


def test_cli_scale_runs_the_preset_at_that_scale_and_rejects_bad_values(tmp_path, capsys):
    """`--scale 0.5` scores the preset built with scale=0.5 (same numbers as the API), and a
    scale the model cannot run at, or one given with a baseline, is one line on stderr."""
    from keras_fi.models import FourierInterpolator

    # The tiny architecture with random weights (the untrained heads output zero at any scale).
    preset = tmp_path / "preset"
    trained_like = FourierInterpolator.from_preset("tiny", load_weights=False)
    rng = np.random.default_rng(0)
    trained_like.set_weights(
        [w + rng.normal(0, 0.05, w.shape).astype("float32") for w in trained_like.get_weights()]
    )
    trained_like.save_to_preset(preset)
    out_json = tmp_path / "r.json"
    args = ["evaluate", str(DATA / "middlebury"), "--preset", str(preset), "--quiet"]
    assert main([*args, "--scale", "0.5", "--json", str(out_json)]) == 0
    half = json.loads(out_json.read_text())
    model = FourierInterpolator.from_preset(str(preset), scale=0.5)
    assert half["psnr"] == pytest.approx(evaluate(DATA / "middlebury", model=model)["psnr"])
    full = FourierInterpolator.from_preset(str(preset), scale=1.0)
    assert half["psnr"] != pytest.approx(evaluate(DATA / "middlebury", model=full)["psnr"])
    capsys.readouterr()
    assert main([*args, "--scale", "0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--scale" in err and "0.25" in err
    assert main(["evaluate", str(DATA / "middlebury"), "--method", "dis", "--scale", "1"]) == 2
    assert "--scale applies to a preset" in capsys.readouterr().err


def write_septuplets(root: Path, cases: int = 2, shape=(32, 48, 3)) -> Path:
    """A Vimeo-90K septuplet set of random frames: sequences/00001/000k/im1..im7.png."""
    rng = np.random.default_rng(0)
    names = [f"00001/{k:04d}" for k in range(1, cases + 1)]
    for name in names:
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for k in range(1, 8):
            image = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(image).save(folder / f"im{k}.png")
    (root / "sep_testlist.txt").write_text("\n".join(names) + "\n")
    return root


def test_cli_protocol_errors_are_one_line_before_the_model_loads(tmp_path, capsys):
    """A protocol the set or a baseline cannot take is one line and exit 2, before any model is
    loaded (the preset here does not exist); baselines score septuplets two-frame."""
    septuplets = write_septuplets(tmp_path / "sep")
    never = str(tmp_path / "never_loaded")
    bad = [
        ["evaluate", str(DATA / "middlebury"), "--preset", never, "--protocol", "multi-frame"],
        ["evaluate", str(DATA / "middlebury"), "--preset", never, "--protocol", "both"],
        ["evaluate", str(septuplets), "--method", "linear", "--protocol", "both"],
    ]
    for argv, words in zip(bad, ("septuplets", "septuplets", "baselines")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and words in err and "Traceback" not in err, err
    out_json = tmp_path / "linear.json"
    assert main(["evaluate", str(septuplets), "--method", "linear", "--json", str(out_json)]) == 0
    assert "multi" not in capsys.readouterr().out
    result = json.loads(out_json.read_text())
    assert result["protocol"] == "two-frame" and result["layout"] == "vimeo90k_septuplets"


@pytest.mark.slow
def test_cli_scores_a_four_frame_model_under_both_protocols(tmp_path, capsys):
    """On septuplets a four-frame preset is scored multi-frame (im1, im3, im5, im7 -> im4) and
    two-frame on the same cases, side by side; --protocol picks one; a two-frame preset is scored
    two-frame and refuses the multi-frame protocol."""
    from helpers import four_frame_cascade

    from keras_fi.models import FourierInterpolator

    septuplets = write_septuplets(tmp_path / "sep")
    preset, two_frame = tmp_path / "four", tmp_path / "two"
    four_frame_cascade().save_to_preset(preset)
    args = ["evaluate", str(septuplets), "--preset", str(preset), "--quiet"]

    assert main([*args, "--json", str(tmp_path / "both.json")]) == 0
    out = capsys.readouterr().out
    assert "multi dB" in out and "two dB" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert {"multi-frame", "two-frame", "00001/0001", "00001/0002"} <= set(rows)
    both = json.loads((tmp_path / "both.json").read_text())
    assert both["protocol"] == "both" and both["n"] == 2 and both["method"] == f"preset {preset}"
    multi, two = both["protocols"]["multi-frame"], both["protocols"]["two-frame"]
    assert (multi["protocol"], two["protocol"]) == ("multi-frame", "two-frame")
    assert [r["name"] for r in multi["per_sequence"]] == [r["name"] for r in two["per_sequence"]]
    assert multi["ssim"] != pytest.approx(two["ssim"], abs=1e-6)  # the context is used
    assert float(rows["multi-frame"][0]) == pytest.approx(multi["psnr"], abs=0.01)
    assert float(rows["two-frame"][0]) == pytest.approx(two["psnr"], abs=0.01)

    assert main([*args, "--protocol", "two-frame", "--json", str(tmp_path / "two.json")]) == 0
    alone = json.loads((tmp_path / "two.json").read_text())
    assert alone["protocol"] == "two-frame" and alone["psnr"] == pytest.approx(two["psnr"])
    capsys.readouterr()

    FourierInterpolator.from_preset("tiny", load_weights=False).save_to_preset(two_frame)
    args = ["evaluate", str(septuplets), "--preset", str(two_frame), "--quiet"]
    assert main([*args, "--protocol", "multi-frame"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "takes two frames" in err, err
    assert main([*args, "--json", str(tmp_path / "tiny.json")]) == 0
    assert json.loads((tmp_path / "tiny.json").read_text())["protocol"] == "two-frame"
    assert "multi" not in capsys.readouterr().out


# ----------------------------------------------------------------------------- full dev sets


@pytest.mark.slow
@pytest.mark.skipif(
    DEV_EVAL is None or not DEV_EVAL.is_dir(),
    reason="needs the development sets: set KERAS_FI_DATA to the data root holding eval/",
)
def test_published_numbers_on_the_dev_sets(tmp_path):
    mb, ucf = DEV_EVAL / "middlebury_other", DEV_EVAL / "ucf101_adacof"
    linear_mb = evaluate(mb, method="linear")
    linear_ucf = evaluate(ucf, method="linear")
    assert (linear_mb["n"], linear_ucf["n"]) == (12, 21)
    assert linear_mb["psnr"] == pytest.approx(28.00, abs=0.05)
    assert linear_ucf["psnr"] == pytest.approx(30.52, abs=0.05)
    published = evaluate(as_middlebury(mb, tmp_path / "mb", link=True), method="linear")
    dvf = evaluate(as_ucf101(ucf, tmp_path / "ucf", link=True), method="linear")
    assert published["layout"] == "middlebury" and dvf["layout"] == "ucf101"
    assert published["per_sequence"] == [
        dict(r, ms=p["ms"]) for r, p in zip(linear_mb["per_sequence"], published["per_sequence"])
    ]
    assert dvf["psnr"] == linear_ucf["psnr"] and dvf["ssim"] == linear_ucf["ssim"]
    assert evaluate(mb, method="dis")["psnr"] == pytest.approx(34.2, abs=0.1)
