"""Small test helpers shared by several test files (real frames, noisy pairs, dataset batches,
video frames to and from files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FRAMES = Path(__file__).parent / "data" / "frames"


def real_pair_uint8() -> tuple[np.ndarray, np.ndarray]:
    """Two real 201×255 ground-truth / first-frame pairs (a textured one and a dark one), uint8,
    batch 2: `(truth, frame0)`."""
    truth = np.stack([_frame("middlebury_rubberwhale_gt"), _frame("ucf101_5_gt")])
    frame0 = np.stack([_frame("middlebury_rubberwhale_frame0"), _frame("ucf101_5_frame0")])
    return truth, frame0


def _frame(name: str) -> np.ndarray:
    return np.asarray(Image.open(FRAMES / f"{name}.png"))


def noisy_pair(shape, seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Random float32 images in [0, 1] and a copy with clipped Gaussian noise: `(clean, noisy)`."""
    rng = np.random.default_rng(seed)
    clean = rng.random(shape, dtype=np.float32)
    noisy = np.clip(clean + rng.normal(0.0, noise, shape).astype(np.float32), 0.0, 1.0)
    return clean, noisy


def take(dataset, batches: int) -> list[np.ndarray]:
    """The first `batches` batches as numpy: (frame0, target, frame1, time), each stacked."""
    out = [[], [], [], []]
    for inputs, target in dataset.take(batches):
        for i, array in enumerate((inputs["frame0"], target, inputs["frame1"], inputs["time"])):
            out[i].append(array.numpy())
    return [np.concatenate(parts) for parts in out]


def assert_rebuilds_from_config(model, frame0, frame1, out) -> None:
    """A model rebuilt from `model.get_config()` with the same weights gives the same `out`."""
    rebuilt = type(model).from_config(model.get_config())
    rebuilt.build()
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.interpolate(frame0, frame1), out, atol=1e-5)


# A tiny model for tests: seconds to build and run.
TINY_CASCADE = dict(
    encoder_filters=[8, 12, 16, 16],
    decoder_filters=[8, 12, 16, 16],
    num_blocks=1,
    motion_levels=3,
    correlation_radius=2,
    fusion_filters=8,
)


def randomize(model, seed: int = 3, scale: float = 0.05):
    """Adds small random values to every weight, so the zero-initialised heads do something."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(variable + rng.normal(0, scale, variable.shape).astype("float32"))
    return model


def tiny_cascade(**kwargs):
    """A built, untrained :data:`TINY_CASCADE` model (``kwargs`` override its arguments)."""
    from keras_fi.models import FourierInterpolator

    model = FourierInterpolator(**{**TINY_CASCADE, **kwargs})
    model.build()
    return model


def four_frame_cascade(seed: int = 3, **kwargs):
    """A tiny four-frame cascade (context_frames=4) with small random values on every weight, so
    the zero-initialised heads move and frame_prev / frame_next change the output."""
    return randomize(tiny_cascade(context_frames=4, **kwargs), seed=seed)


def assert_flows_rebuild_target(inputs, target, examples, factor: float = 0.6) -> None:
    """The examples' "flow" warps frame0 and frame1 onto the target: the mean error away from the
    borders falls below ``factor`` times that of the unwarped frame (a wrong sign or a swapped
    pair does not)."""
    from keras_fi.layers import backward_warp

    flow = np.asarray(inputs["flow"])[examples]
    target = np.asarray(target)[examples]
    assert np.abs(flow).max() > 0.5
    inner = (slice(None), slice(8, -8), slice(8, -8))
    for key, channels in (("frame0", slice(0, 2)), ("frame1", slice(2, 4))):
        frames = np.asarray(inputs[key])[examples]
        warped = np.asarray(backward_warp(frames, flow[..., channels]))
        before = np.abs(frames - target)[inner].mean()
        after = np.abs(warped - target)[inner].mean()
        assert after < factor * before, (key, before, after)


def decode(path: Path) -> list[np.ndarray]:
    """Every frame of the video at ``path``, uint8 RGB, decoded with PyAV (independently of
    keras_fi)."""
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def encode_video_frames(container, stream, frames, source_format: str = "rgb24", convert=None):
    """Encodes ``(pts, array)`` pairs into ``stream`` of the open PyAV ``container`` and flushes
    the encoder; ``convert`` maps each ``av.VideoFrame`` first (e.g. to a deeper pixel format)."""
    import av

    for pts, array in frames:
        video_frame = av.VideoFrame.from_ndarray(array, format=source_format)
        video_frame = convert(video_frame) if convert else video_frame
        video_frame.pts = pts
        for packet in stream.encode(video_frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_frames(folder: Path, frames, suffix: str = ".png") -> Path:
    """A folder of numbered frames (PNG, or the format ``suffix`` names, e.g. ``".jpg"``)."""
    from keras_fi.video import io as video_io

    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        video_io.write_image(folder / f"{i:03d}{suffix}", frame)
    return folder
