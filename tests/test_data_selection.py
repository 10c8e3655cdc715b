"""Which real triplets training draws: repeated frames skipped, clips weighted by length."""

import numpy as np
import pytest
from PIL import Image

from keras_fi.data.augment import TripletOptions
from keras_fi.data.clips import ArrayClip
from keras_fi.data.pipeline import ClipSampler, has_repeated_frames
from keras_fi.errors import InputError
from keras_fi.evaluation import read_set


def frame_rate_converted_clip(frames=40, size=24, seed=0):
    """A clip in which every third frame repeats the one before (as 20 -> 30 fps conversion
    does), the frames in between all different: (frames, size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    distinct = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    clip = distinct.copy()
    for index in range(2, frames, 3):
        clip[index] = clip[index - 1]
    return clip


def repeated(frames):
    return any(np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:]))


def draw(sampler, count):
    rng = np.random.default_rng(1)
    triplets = []
    for value in rng.integers(0, 2**62, count):
        clip, indices, _ = sampler.locate(-1, np.random.default_rng(int(value)))
        triplets.append(clip.read(indices))
    return triplets


def test_triplets_with_repeated_frames_are_drawn_again():
    clip = ArrayClip(frame_rate_converted_clip())
    options = dict(crop_size=16, max_spacing=1, augment=False)
    plain = ClipSampler([clip], TripletOptions(**options, skip_repeats=0))
    assert sum(repeated(t) for t in draw(plain, 60)) > 20  # two in three triplets repeat
    sampler = ClipSampler([clip], TripletOptions(**options))
    rng = np.random.default_rng(2)
    for value in rng.integers(0, 2**62, 60):
        frames, time = sampler(-1, int(value))
        assert not repeated(list(frames)), "a triplet with a repeated frame was used"
        assert time == np.float32(0.5)


def test_has_repeated_frames_threshold_in_grey_levels():
    still = np.full((8, 8, 3), 100, np.uint8)
    assert has_repeated_frames([still, still + 1, still + 2], 1.5) is False  # slow, steady
    assert has_repeated_frames([still, still + 1, still + 5], 1.5) is True  # 1 beside 4
    assert has_repeated_frames([still, still + 1, still + 5], 0.5) is False  # 1 is not < 0.5
    assert has_repeated_frames([still, still, still], 0.5) is False  # a still shot
    assert has_repeated_frames([still, still, still + 9], 0) is False  # switched off
    with pytest.raises(InputError, match="skip_repeats"):
        TripletOptions(skip_repeats=-1)


def test_sqrt_clip_weights():
    clips = [ArrayClip(np.zeros((n, 8, 8, 3), np.uint8), name=str(n)) for n in (6, 18, 102)]
    options = TripletOptions(crop_size=8)
    triplets = np.array([4, 16, 100], np.float64)
    for name, expected in (
        ("frames", triplets),
        ("sqrt", np.sqrt(triplets)),
        ("uniform", np.ones(3)),
    ):
        np.testing.assert_allclose(
            ClipSampler(clips, options, clip_weights=name).weights, expected / expected.sum()
        )
    with pytest.raises(InputError, match="clip_weights"):
        ClipSampler(clips, options, clip_weights="log")


def test_vimeo_septuplets_two_frame_protocol(tmp_path):
    """sep_testlist.txt + sequences/<a>/<b>/im1..im7.png: im3, im5 -> im4, in list order."""
    rng = np.random.default_rng(0)
    for entry in ("00001/0001", "00002/0007"):
        folder = tmp_path / "sequences" / entry
        folder.mkdir(parents=True)
        for k in range(1, 8):
            pixels = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"im{k}.png")
    (tmp_path / "sep_testlist.txt").write_text("00002/0007\n00001/0001\n")
    layout, triplets = read_set(tmp_path)
    assert layout == "vimeo90k_septuplets"
    assert [t.name for t in triplets] == ["00002/0007", "00001/0001"]
    assert [p.name for p in (triplets[0].frame0, triplets[0].gt, triplets[0].frame1)] == [
        "im3.png",
        "im4.png",
        "im5.png",
    ]
    assert [p.name for p in triplets[0].context] == ["im1.png", "im7.png"]
    (tmp_path / "sequences" / "00001" / "0001" / "im4.png").unlink()
    with pytest.raises(InputError, match="im4.png"):
        read_set(tmp_path)


def test_context_frames_are_one_input_spacing_outside():
    """context_frames=4: [frame_prev, frame0, target, frame1, frame_next] with frame0 - prev =
    next - frame1 = frame1 - frame0 (in frames), also when played backwards; time still true."""
    from keras_fi.data import video_triplets

    frames = np.repeat(np.arange(0, 250, 5, dtype=np.uint8)[:, None, None, None], 16, axis=1)
    frames = np.repeat(np.repeat(frames, 16, axis=2), 3, axis=3)  # frame k is grey 5k
    dataset = video_triplets(
        frames, crop_size=16, batch_size=None, max_spacing=3, context_frames=4, seed=0
    )
    seen_reversed = False
    for inputs, target in dataset.take(40):
        k = {
            name: int(round(float(np.asarray(inputs[name])[0, 0, 0]) * 255 / 5))
            for name in ("frame_prev", "frame0", "frame1", "frame_next")
        }
        k_target = int(round(float(np.asarray(target)[0, 0, 0]) * 255 / 5))
        gap = k["frame1"] - k["frame0"]
        seen_reversed |= gap < 0
        assert k["frame0"] - k["frame_prev"] == gap == k["frame_next"] - k["frame1"]
        time = float(inputs["time"])
        assert abs(time - (k_target - k["frame0"]) / gap) < 1e-6
    assert seen_reversed
    with pytest.raises(InputError, match="context_frames"):
        TripletOptions(context_frames=3)
