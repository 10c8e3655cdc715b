"""Tests of keras_fi.data on video files, frame folders and Vimeo-90K (real files, no network)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import decode, take
from PIL import Image

from keras_fi.data import video_triplets, vimeo90k
from keras_fi.data.clips import VideoClip
from keras_fi.data.frame_cache import FrameCache
from keras_fi.errors import InputError

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"
HEIGHT, WIDTH = (
    40,
    56,
)  # synthetic frames: red = 20 * clip + frame index, green = row, blue = column


def write_coded_clips(root, lengths):
    """Frame folders whose pixels say which clip, frame, row and column they come from."""
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    folders = []
    for clip, length in enumerate(lengths):
        folder = root / f"clip{clip}"
        folder.mkdir(parents=True)
        for index in range(length):
            frame = np.stack([np.full_like(rows, 20 * clip + index), rows, cols], axis=-1)
            Image.fromarray(frame.astype(np.uint8)).save(folder / f"{index}.png")
        folders.append(folder)
    return folders


def to_uint8(frames):
    return np.round(frames * 255).astype(np.int64)


@pytest.fixture(scope="module")
def coded_clips(tmp_path_factory):
    return write_coded_clips(tmp_path_factory.mktemp("coded"), [9, 12, 7])


def check_consistent(frame0, target, frame1, time, crop, max_spacing=3):
    """Asserts one clip, ordered indices, true time, one crop window and one flip per sample."""
    seen = {"hflip": set(), "vflip": set(), "reversed": set(), "spacing": set()}
    for f0, ft, f1, t in zip(to_uint8(frame0), to_uint8(target), to_uint8(frame1), time):
        reds = [f[..., 0] for f in (f0, ft, f1)]
        for red in reds:
            assert (red == red.flat[0]).all(), "a frame mixes source frames"
        clip, index = zip(*(divmod(int(red.flat[0]), 20) for red in reds))
        assert len(set(clip)) == 1, f"frames from different clips {clip}"
        k0, kt, k1 = index
        assert min(k0, k1) < kt < max(k0, k1)
        assert 1 <= abs(kt - k0) <= max_spacing and 1 <= abs(k1 - kt) <= max_spacing
        assert t == pytest.approx((kt - k0) / (k1 - k0), abs=1e-6)
        # one crop window and one flip: row/column codes identical in the three frames
        np.testing.assert_array_equal(f0[..., 1:], ft[..., 1:])
        np.testing.assert_array_equal(f0[..., 1:], f1[..., 1:])
        rows, cols = f0[..., 1], f0[..., 2]
        row_step, col_step = rows[1, 0] - rows[0, 0], cols[0, 1] - cols[0, 0]
        assert abs(row_step) == 1 and abs(col_step) == 1
        assert (rows == rows[0, 0] + row_step * np.arange(crop)[:, None]).all()
        assert (cols == cols[0, 0] + col_step * np.arange(crop)[None, :]).all()
        assert 0 <= rows.min() and rows.max() < HEIGHT and 0 <= cols.min() and cols.max() < WIDTH
        seen["hflip"].add(col_step < 0)
        seen["vflip"].add(row_step < 0)
        seen["reversed"].add(k0 > k1)
        seen["spacing"].update((abs(kt - k0), abs(k1 - kt)))
    return seen


def test_every_augmented_sample_is_consistent(coded_clips):
    dataset = video_triplets(
        coded_clips, crop_size=24, batch_size=8, max_spacing=3, seed=3, epoch_size=200
    )
    frame0, target, frame1, time = take(dataset, 25)
    assert frame0.shape == (200, 24, 24, 3) and time.shape == (200,)
    seen = check_consistent(frame0, target, frame1, time, crop=24)
    # the augmentations actually happen, in both directions
    assert seen["hflip"] == {True, False} and seen["vflip"] == {True, False}
    assert seen["reversed"] == {True, False} and seen["spacing"] == {1, 2, 3}
    assert len(set(np.round(time, 4))) > 3  # true fractions, not only 0.5


def test_no_augment_is_a_centre_crop_in_order(coded_clips):
    dataset = video_triplets(
        coded_clips, crop_size=24, batch_size=2, augment=False, shuffle=False, seed=0
    )
    frame0, target, frame1, time = take(dataset, 100)
    assert len(time) == (9 - 2) + (12 - 2) + (7 - 2)  # every consecutive triplet once
    np.testing.assert_array_equal(time, 0.5)
    reds = to_uint8(target)[:, 0, 0, 0]
    expected = [20 * c + k for c, n in enumerate([9, 12, 7]) for k in range(1, n - 1)]
    np.testing.assert_array_equal(reds, expected)
    np.testing.assert_array_equal(to_uint8(frame0)[:, 0, 0, 0], np.array(expected) - 1)
    np.testing.assert_array_equal(to_uint8(frame1)[:, 0, 0, 0], np.array(expected) + 1)
    # centre window, no flip
    np.testing.assert_array_equal(to_uint8(target)[:, 0, 0, 1], (HEIGHT - 24) // 2)
    np.testing.assert_array_equal(to_uint8(target)[:, 0, 0, 2], (WIDTH - 24) // 2)
    check_consistent(frame0, target, frame1, time, crop=24, max_spacing=1)


def test_symmetric_gives_the_middle_frame(coded_clips):
    dataset = video_triplets(
        coded_clips, crop_size=16, batch_size=8, seed=1, symmetric=True, epoch_size=40
    )
    frame0, target, frame1, time = take(dataset, 5)
    np.testing.assert_array_equal(time, 0.5)
    seen = check_consistent(frame0, target, frame1, time, crop=16)
    assert len(seen["spacing"]) > 1


def test_small_frames_are_resized_up_consistently(coded_clips):
    # 40x56 frames, crop 64: scaled up, never rejected; the clip code survives resampling.
    dataset = video_triplets(coded_clips, crop_size=64, batch_size=4, seed=2)
    frame0, target, frame1, time = take(dataset, 5)
    assert frame0.shape == (20, 64, 64, 3)
    for f0, ft, f1, t in zip(to_uint8(frame0), to_uint8(target), to_uint8(frame1), time):
        k0, kt, k1 = (int(np.median(f[..., 0])) % 20 for f in (f0, ft, f1))
        assert t == pytest.approx((kt - k0) / (k1 - k0), abs=1e-6)
        np.testing.assert_array_equal(f0[..., 1:], ft[..., 1:])
        np.testing.assert_array_equal(f0[..., 1:], f1[..., 1:])


def test_scale_and_resize_modes(coded_clips):
    zoomed = video_triplets(coded_clips, crop_size=16, batch_size=4, seed=0, scale_range=(0.5, 1))
    resized = video_triplets(coded_clips, crop_size=16, batch_size=4, seed=0, resize_to_crop=True)
    for dataset in (zoomed, resized):
        frame0, target, frame1, time = take(dataset, 3)
        assert frame0.shape == target.shape == (12, 16, 16, 3)
        np.testing.assert_array_equal(to_uint8(frame0)[..., 1:], to_uint8(frame1)[..., 1:])
    # resize_to_crop shows the whole frame: rows and columns span (almost) all of it
    rows = to_uint8(take(resized, 1)[1])[..., 1]
    assert rows.max() - rows.min() > HEIGHT * 0.8


def test_photometric_jitter_is_seeded_and_in_range(coded_clips):
    def batches(photometric):
        return take(
            video_triplets(
                coded_clips, crop_size=16, batch_size=4, seed=4, photometric=photometric
            ),  # fmt: skip
            2,
        )

    plain, jittered, again = batches(False), batches(True), batches(True)
    for a, b in zip(jittered, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain[3], jittered[3])  # same triplets, only colours change
    assert not np.allclose(plain[1], jittered[1], atol=0.01)
    assert all(0 <= x.min() and x.max() <= 1 for x in jittered[:3])


def test_real_clip_matches_independent_decoding():
    frames = np.stack(decode(CLIP))  # (24, 180, 320, 3)
    dataset = video_triplets(
        CLIP, crop_size=64, batch_size=2, augment=False, shuffle=False, max_spacing=1
    )
    frame0, target, frame1, time = take(dataset, 100)
    assert len(time) == 22
    top, left = (180 - 64) // 2, (320 - 64) // 2
    window = frames[:, top : top + 64, left : left + 64].astype(np.float32) / 255
    np.testing.assert_allclose(target, window[1:23], atol=1e-6)
    np.testing.assert_allclose(frame0, window[0:22], atol=1e-6)
    np.testing.assert_allclose(frame1, window[2:24], atol=1e-6)


@pytest.mark.parametrize("indices", [[0, 1, 2], [14, 16, 18], [21, 22, 23], [13, 12, 11]])
def test_seeking_decoder_equals_whole_decode(indices):
    frames = np.stack(decode(CLIP))
    whole = VideoClip(CLIP, FrameCache(2**30))
    seeking = VideoClip(CLIP, FrameCache(0))  # no room: decodes from the keyframe before each
    assert whole.num_frames == seeking.num_frames == len(frames) == 24
    for clip in (whole, seeking):
        for index, frame in zip(indices, clip.read(indices)):
            np.testing.assert_array_equal(frame, frames[index])


def test_lazy_decoding_gives_the_same_batches():
    # cache_mb=0: nothing kept, every example decodes from the keyframe before its frames
    def batches(cache_mb):
        return take(video_triplets(CLIP, crop_size=32, batch_size=4, seed=9, cache_mb=cache_mb), 3)

    for a, b in zip(batches(2048), batches(0)):
        np.testing.assert_array_equal(a, b)


def test_frame_cache_evicts_least_recently_used():
    cache = FrameCache(max_bytes=3 * 300)
    frames = [np.full((10, 10, 3), i, np.uint8) for i in range(4)]  # 300 bytes each
    for i in range(3):
        cache.put(i, frames[i])
    cache.get(0)  # 0 is now more recent than 1
    cache.put(3, frames[3])
    assert cache.get(1) is None and cache.get(0) is not None and cache.get(3) is not None
    assert cache.nbytes == 900 and len(cache) == 3
    FrameCache(0).put("x", frames[0])  # no budget: silently not stored


def test_real_clip_batches_are_deterministic_and_valid():
    def batches(seed):
        return take(video_triplets(CLIP, crop_size=96, batch_size=4, seed=seed), 4)

    first, again, other = batches(7), batches(7), batches(8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
    frame0, target, frame1, time = first
    assert frame0.dtype == np.float32 and frame0.shape == (16, 96, 96, 3)
    assert 0.0 <= min(x.min() for x in first[:3]) and max(x.max() for x in first[:3]) <= 1.0
    allowed = {a / (a + b) for a in (1, 2, 3) for b in (1, 2, 3)}
    assert all(min(abs(t - v) for v in allowed) < 1e-6 for t in time)
    assert not np.array_equal(frame0, target) and not np.array_equal(frame1, target)


def test_epochs_differ_but_replay_with_the_seed():
    def two_epochs():
        dataset = video_triplets(CLIP, crop_size=32, batch_size=4, seed=5, epoch_size=8)
        return [take(dataset, 10)[1] for _ in range(2)]

    first, second = two_epochs()
    assert first.shape == (8, 32, 32, 3) and not np.array_equal(first, second)
    replay = two_epochs()
    np.testing.assert_array_equal(first, replay[0])
    np.testing.assert_array_equal(second, replay[1])


def test_unreadable_video_names_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(InputError, match=r"broken\.mp4.*cannot read video"):
        video_triplets(bad)


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(InputError, match=r"empty.*no video files or numbered frames"):
        video_triplets(tmp_path.joinpath("empty").mkdir() or tmp_path / "empty")
    with pytest.raises(InputError, match=r"nowhere.*no such file or folder"):
        video_triplets(tmp_path / "nowhere")


def test_mixed_frame_sizes_are_rejected(tmp_path):
    Image.new("RGB", (32, 24)).save(tmp_path / "0.png")
    Image.new("RGB", (30, 24)).save(tmp_path / "1.png")
    Image.new("RGB", (32, 24)).save(tmp_path / "2.png")
    with pytest.raises(InputError, match=r"1\.png.*30x24"):
        video_triplets(tmp_path)


def test_short_clips_are_skipped_with_a_warning(tmp_path, coded_clips):
    short = write_coded_clips(tmp_path, [2])[0]
    with pytest.warns(UserWarning, match=r"clip0: 2 frame\(s\), skipped"):
        dataset = video_triplets([short, coded_clips[0]], crop_size=16, batch_size=2, seed=0)
    frame0, target, frame1, time = take(dataset, 4)
    assert set(to_uint8(target)[:, 0, 0, 0] // 20) == {0}  # only the long clip (clip0 of 9)
    with pytest.warns(UserWarning), pytest.raises(InputError, match="no clip with at least 3"):
        video_triplets(short)


def test_folder_of_videos_and_frame_folders(tmp_path, coded_clips):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "clip.mp4").write_bytes(CLIP.read_bytes())
    (tmp_path / "notes.txt").write_text("not a video, ignored")
    dataset = video_triplets([tmp_path, coded_clips[1]], crop_size=32, batch_size=2, seed=0)
    frame0, target, frame1, time = take(dataset, 30)
    codes = to_uint8(target)
    # both sources are drawn: coded frames have constant red, video frames do not
    constant_red = [(c[..., 0] == c[0, 0, 0]).all() for c in codes]
    assert any(constant_red) and not all(constant_red)


def write_vimeo(root, sequences, frames_per_sequence, listed=None):
    rng = np.random.default_rng(0)
    for name in sequences:
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for i in range(1, frames_per_sequence + 1):
            pixels = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"im{i}.png")
    prefix = "tri" if frames_per_sequence == 3 else "sep"
    for split in ("train", "test"):
        lines = listed if listed is not None else sequences
        (root / f"{prefix}_{split}list.txt").write_text("\n".join(lines) + "\n\n")


def test_vimeo90k_triplets_in_order(tmp_path):
    names = ["00001/0001", "00001/0002", "00002/0001"]
    write_vimeo(tmp_path, names, 3)
    dataset = vimeo90k(
        tmp_path, split="test", crop_size=16, batch_size=1, augment=False, shuffle=False
    )
    frame0, target, frame1, time = take(dataset, 10)
    assert len(time) == 3
    np.testing.assert_array_equal(time, 0.5)
    for row, name in enumerate(names):
        for array, image in ((frame0, "im1"), (target, "im2"), (frame1, "im3")):
            pixels = np.asarray(Image.open(tmp_path / "sequences" / name / f"{image}.png"))
            np.testing.assert_array_equal(to_uint8(array[row]), pixels[4:20, 12:28])


def test_vimeo90k_septuplets_use_spacing(tmp_path):
    write_vimeo(tmp_path, ["00001/0001", "00001/0002"], 7)
    dataset = vimeo90k(tmp_path, split="train", crop_size=16, batch_size=4, seed=0, epoch_size=20)
    frame0, target, frame1, time = take(dataset, 5)
    assert frame0.shape == (20, 16, 16, 3)
    assert len(set(np.round(time, 4))) > 1


def test_vimeo90k_missing_sequence_names_the_list_line(tmp_path):
    write_vimeo(tmp_path, ["00001/0001"], 3, listed=["00001/0001", "00009/0009"])
    with pytest.raises(InputError, match=r"tri_trainlist\.txt:2: sequence '00009/0009' not found"):
        vimeo90k(tmp_path, split="train")
    with pytest.raises(InputError, match=r"no such folder"):
        vimeo90k(tmp_path / "missing", split="train")


@pytest.mark.slow
def test_process_exits_with_a_live_iterator(tmp_path):
    # An iterator alive at exit keeps tf.data threads calling Python; without the exit drain
    # the interpreter deadlocks while finalizing (TensorFlow issue #21277).
    script = tmp_path / "live_iterator.py"
    script.write_text(
        "from keras_fi.data import video_triplets\n"
        f"dataset = video_triplets({str(CLIP)!r}, crop_size=64, batch_size=4, seed=0,\n"
        "                         epoch_size=-1, cache_mb=0)\n"
        "iterator = iter(dataset)\n"
        "next(iterator)\n"
        "print('done', flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stderr[-2000:]
