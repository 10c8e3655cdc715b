"""`use_full_float32` switches the active backend's TensorFloat-32 setting (checked on each backend)."""

import keras
import pytest

from keras_fi.precision import use_full_float32

pytestmark = pytest.mark.multibackend


def tf32_allowed() -> bool:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.config.jax_default_matmul_precision not in ("highest", "float32")
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.config.experimental.tensor_float_32_execution_enabled()
    import torch

    return torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32


def test_use_full_float32_turns_tf32_off_and_back_on():
    before = tf32_allowed()
    try:
        assert use_full_float32() == keras.backend.backend()
        assert not tf32_allowed()
        use_full_float32(False)
        assert tf32_allowed()
    finally:
        use_full_float32(not before)


def test_full_float32_model_still_runs():
    from keras_fi.models import FourierInterpolator

    before = tf32_allowed()
    try:
        use_full_float32()
        model = FourierInterpolator.from_preset("tiny", load_weights=False)
        frames = keras.random.uniform((1, 32, 32, 3), seed=1)
        inputs = {"frame0": frames, "frame1": frames, "time": keras.ops.ones((1,)) * 0.5}
        out = model.predict_on_batch(inputs)  # compiled: an eager JAX model call is slow
        assert tuple(out.shape) == (1, 32, 32, 3)
    finally:
        use_full_float32(not before)
