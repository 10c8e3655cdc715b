"""Tests of keras_fi.data.davis: the extracted layout (built from real frames) and TFDS (mocked)."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from helpers import decode, take
from PIL import Image

from keras_fi.data import davis
from keras_fi.errors import InputError

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"
SEQUENCES = {"car-a": (0, 8), "car-b": (10, 16)}  # name: frame range of the real clip


@pytest.fixture(scope="module")
def davis_root(tmp_path_factory):
    """A DAVIS 2017 layout holding real frames of car-turn as 00000.jpg, ..."""
    root = tmp_path_factory.mktemp("davis") / "DAVIS"
    frames = decode(CLIP)
    for name, (start, stop) in SEQUENCES.items():
        folder = root / "JPEGImages" / "480p" / name
        folder.mkdir(parents=True)
        for index, frame in enumerate(frames[start:stop]):
            Image.fromarray(frame).save(folder / f"{index:05d}.jpg", quality=90)
    splits = root / "ImageSets" / "2017"
    splits.mkdir(parents=True)
    (splits / "train.txt").write_text("car-a\ncar-b\n")
    (splits / "val.txt").write_text("car-b\n")
    return root


def test_local_layout_reads_the_listed_sequences(davis_root):
    dataset = davis("train", root=davis_root.parent, crop_size=64, batch_size=2, augment=False,
                    shuffle=False)  # fmt: skip
    frame0, target, frame1, time = take(dataset, 100)
    assert len(time) == (8 - 2) + (6 - 2)
    first = np.asarray(Image.open(davis_root / "JPEGImages/480p/car-a/00001.jpg"), np.float32)
    top, left = (180 - 64) // 2, (320 - 64) // 2
    np.testing.assert_allclose(target[0], first[top : top + 64, left : left + 64] / 255, atol=1e-6)
    last = np.asarray(Image.open(davis_root / "JPEGImages/480p/car-b/00005.jpg"), np.float32)
    np.testing.assert_allclose(frame1[-1], last[top : top + 64, left : left + 64] / 255, atol=1e-6)


def test_local_layout_training_batches(davis_root):
    def batches(seed):
        return take(davis("val", root=davis_root, crop_size=128, batch_size=4, seed=seed), 2)

    first, again, other = batches(0), batches(0), batches(1)
    assert first[0].shape == (4, 128, 128, 3) and first[3].shape == (4,)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_split_file_naming_a_missing_sequence(davis_root, tmp_path):
    broken = tmp_path / "DAVIS"
    (broken / "ImageSets" / "2017").mkdir(parents=True)
    (broken / "JPEGImages").mkdir()
    (broken / "JPEGImages" / "480p").symlink_to(davis_root / "JPEGImages" / "480p")
    (broken / "ImageSets" / "2017" / "train.txt").write_text("car-a\nbear\n")
    with pytest.raises(InputError, match=r"train\.txt:2: sequence 'bear' not found"):
        davis("train", root=broken)
    with pytest.raises(InputError, match=r"test\.txt: split file not found \(splits there: train"):
        davis("test", root=broken)
    with pytest.raises(InputError, match="not a DAVIS folder"):
        davis("train", root=tmp_path / "DAVIS" / "ImageSets")
    with pytest.raises(InputError, match="resolution"):
        davis("train", root=broken, resolution="720p")


def test_tfds_builder_through_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        builder = tfds.builder("davis/480p", data_dir=str(tmp_path))
        # the mocked videos as the loader reads them (only frames, still encoded)
        frames_only = tfds.decode.PartialDecoding(
            {"video": {"frames": True}, "metadata": {"video_name": True}},
            decoders={"video": {"frames": tfds.decode.SkipDecoding()}},
        )
        videos = builder.as_dataset(split="train", decoders=frames_only)
        lengths = [int(ex["video"]["frames"].shape[0]) for ex in videos]
        kwargs = dict(source="tfds", data_dir=tmp_path, crop_size=32)
        ordered = davis("train", batch_size=1, augment=False, shuffle=False, **kwargs)
        frame0, target, frame1, time = take(ordered, 1000)
        assert len(time) == sum(n - 2 for n in lengths)  # every consecutive triplet once
        np.testing.assert_array_equal(time, 0.5)

        first = take(davis("train", batch_size=4, seed=3, **kwargs), 3)
        again = take(davis("train", batch_size=4, seed=3, **kwargs), 3)
    assert first[0].shape == (12, 32, 32, 3) and first[0].dtype == np.float32
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert 0 <= min(x.min() for x in first[:3]) and max(x.max() for x in first[:3]) <= 1
    allowed = {a / (a + b) for a in (1, 2, 3) for b in (1, 2, 3)}
    assert all(min(abs(t - v) for v in allowed) < 1e-6 for t in first[3])


def test_tfds_without_prepared_data_explains_the_fix(tmp_path):
    with pytest.raises(InputError, match=r"no prepared data in .*download=True"):
        davis("train", source="tfds", data_dir=tmp_path)
