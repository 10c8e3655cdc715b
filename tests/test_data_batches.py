"""keras_fi.data.batches: the TensorFlow-free training batches (PyDataset)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_flows_rebuild_target

from keras_fi.data.batches import TripletBatches, training_batches
from keras_fi.errors import InputError

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


def test_batches_are_reproducible_mixed_and_carry_flow():
    batches = training_batches([CLIP], crop_size=32, batch_size=16, steps=3,
                               synthetic_fraction=0.5, with_flow=True, seed=0)  # fmt: skip
    inputs, target = batches[0]
    assert inputs["frame0"].shape == target.shape == (16, 32, 32, 3)
    assert inputs["flow"].shape == (16, 32, 32, 4) and inputs["time"].shape == (16,)
    assert 0 <= target.min() and target.max() <= 1 and target.dtype == np.float32
    weight = inputs["flow_weight"]
    assert set(weight) == {0.0, 1.0}, "both real and synthetic examples"
    assert (
        np.all(inputs["flow"][weight == 0] == 0) and np.abs(inputs["flow"][weight == 1]).max() > 0
    )
    again = training_batches([CLIP], crop_size=32, batch_size=16, steps=3,
                             synthetic_fraction=0.5, with_flow=True, seed=0)[0]  # fmt: skip
    np.testing.assert_array_equal(again[1], target)
    assert not np.array_equal(batches[1][1], target)
    batches.on_epoch_end()
    assert not np.array_equal(batches[0][1], target), "a new epoch draws new examples"


def test_teacher_flows_give_real_examples_a_weighted_flow_target():
    batches = training_batches([CLIP], crop_size=64, batch_size=16, steps=1, max_spacing=3,
                               synthetic_fraction=0.5, with_flow=True, teacher_flow_weight=2.0)  # fmt: skip
    inputs, target = batches[0]
    weight = inputs["flow_weight"]
    assert set(weight) == {1.0, 2.0}, "synthetic examples at 1, real ones at the teacher's 2"
    assert_flows_rebuild_target(inputs, target, weight == 2.0)


def test_bad_arguments():
    with pytest.raises(InputError, match="no training data"):
        training_batches([], synthetic_fraction=0.0)
    with pytest.raises(InputError, match="synthetic"):
        training_batches([CLIP], with_flow=True)
    with pytest.raises(InputError, match="teacher_flow_weight"):
        training_batches([CLIP], synthetic_fraction=0.5, teacher_flow_weight=1.0)
    with pytest.raises(InputError, match="weight"):
        TripletBatches([lambda i, r: None], weights=[1, 2])


NO_TENSORFLOW = textwrap.dedent(
    """
    import sys
    sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
    sys.modules["tensorflow_datasets"] = None
    import numpy as np
    from keras_fi.data.batches import training_batches
    from keras_fi.models import FourierInterpolator
    model = FourierInterpolator.from_preset("tiny", load_weights=False)
    model.compile(flow_loss_weight=0.01)
    batches = training_batches([sys.argv[1]], crop_size=32, batch_size=4, steps=2,
                               synthetic_fraction=0.5, with_flow=True, workers=2)
    history = model.fit(batches, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    print("NO_TF_OK")
    """
)


@pytest.mark.slow  # a child process without TensorFlow that imports and trains: an install check
def test_trains_without_tensorflow():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, str(CLIP)], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert "NO_TF_OK" in result.stdout, result.stderr[-3000:]


@pytest.mark.parametrize(
    "flip_x, flip_y, reverse",
    [
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (True, True, True),
    ],  # fmt: skip
)
def test_transformed_batch_keeps_the_flow_exact(flip_x, flip_y, reverse):
    """Warping the transformed frames with the transformed flow rebuilds the transformed target
    as well as the original flow rebuilds the original (and far better than a wrong sign)."""
    from keras_fi.data.batches import transform_batch
    from keras_fi.data.synthetic_motion import MotionOptions, SceneSampler, load_images
    from keras_fi.layers.warping import backward_warp

    # moving backgrounds without brightness changes: the exact flow warps almost perfectly
    options = MotionOptions(crop_size=48, brightness=0.0, num_layers=(0, 0))
    sampler = SceneSampler(load_images(None, crop_size=48), options, with_flow=True)
    batches = TripletBatches([sampler], batch_size=6, steps=1, seed=3, with_flow=True)
    inputs, target = batches[0]

    def warp_error(inputs, target, flow):
        errors = []
        for frame, part in ((inputs["frame0"], flow[..., :2]), (inputs["frame1"], flow[..., 2:])):
            errors.append(np.abs(np.asarray(backward_warp(frame, part)) - target).mean(-1))
        return np.minimum(*errors)[:, 6:-6, 6:-6].mean()

    before = warp_error(inputs, target, inputs["flow"])
    new_inputs, new_target = transform_batch(inputs, target, flip_x, flip_y, reverse)
    after = warp_error(new_inputs, new_target, new_inputs["flow"])
    assert after < before + 1e-4
    wrong = warp_error(new_inputs, new_target, inputs["flow"])  # the untransformed flow
    assert wrong > 3 * after
    if reverse:
        np.testing.assert_allclose(new_inputs["time"], 1.0 - inputs["time"])
        np.testing.assert_array_equal(
            new_inputs["frame0"],
            inputs["frame1"][:, :: -1 if flip_y else 1, :: -1 if flip_x else 1],
        )
    assert set(new_inputs) == set(inputs) and new_target.shape == target.shape


def test_context_batches_carry_frame_prev_and_frame_next():
    """With context_frames=4 real and synthetic examples both give five frames; reversing a
    batch swaps frame_prev with frame_next as well as frame0 with frame1."""
    from keras_fi.data.batches import transform_batch

    batches = training_batches([CLIP], crop_size=32, batch_size=8, steps=1, seed=1,
                               synthetic_fraction=0.5, with_flow=True, context_frames=4,
                               acceleration=0.5, clip_weights="sqrt")  # fmt: skip
    inputs, target = batches[0]
    assert set(inputs) == {"frame_prev", "frame0", "frame1", "frame_next", "time", "flow",
                           "flow_weight"}  # fmt: skip
    for key in ("frame_prev", "frame0", "frame1", "frame_next"):
        assert inputs[key].shape == target.shape == (8, 32, 32, 3)
    assert set(inputs["flow_weight"]) == {0.0, 1.0}, "both real and synthetic examples"
    assert not np.array_equal(inputs["frame_prev"], inputs["frame0"])
    reversed_inputs, _ = transform_batch(inputs, target, reverse=True)
    np.testing.assert_array_equal(reversed_inputs["frame_prev"], inputs["frame_next"])
    np.testing.assert_array_equal(reversed_inputs["frame_next"], inputs["frame_prev"])
    np.testing.assert_array_equal(reversed_inputs["frame0"], inputs["frame1"])
    flipped, _ = transform_batch(inputs, target, flip_x=True)
    np.testing.assert_array_equal(flipped["frame_prev"], inputs["frame_prev"][:, :, ::-1])
    two = training_batches([CLIP], crop_size=32, batch_size=2, steps=1, context_frames=2)[0][0]
    assert "frame_prev" not in two


def test_samplers_with_different_context_are_refused():
    three = lambda index, value: (np.zeros((3, 8, 8, 3), np.uint8), 0.5)  # noqa: E731
    five = lambda index, value: (np.zeros((5, 8, 8, 3), np.uint8), 0.5)  # noqa: E731
    with pytest.raises(InputError, match="same context_frames"):
        TripletBatches([three, five], batch_size=16, steps=1)[0]
