"""Full float32 products on NVIDIA GPUs: turns TensorFloat-32 off for the active backend.

On Ampere and later GPUs, JAX (its default matmul precision), TensorFlow and PyTorch's cuDNN
convolutions compute float32 matrix products and convolutions in TensorFloat-32, which keeps 10
bits of mantissa. keras_fi's models are not robust to that: on an NVIDIA H200, fine-tuning a
trained preset at JAX's default precision raised the loss on the same six batches from 0.080 to
0.14-0.18 within 40 steps (and a longer run diverged), while at "highest" it fell from 0.078 to
0.062 as on the CPU. The forward pass alone lost about 2 % of loss under TF32. The `keras-fi`
command and `keras_fi.training.train` therefore use full float32 (`training_precision` restores
the setting after a run); library users who run the model on a GPU should call
`use_full_float32()` too. On CPUs it changes nothing.

This is the backend-specific module that layers and models must not be: it imports the backend.
"""

from __future__ import annotations

import contextlib

import keras


def use_full_float32(enabled: bool = True) -> str:
    """Makes float32 matmuls and convolutions of the Keras backend exact float32 (or allows TF32).

    Args:
        enabled: True for full float32 ("highest" precision in JAX, TF32 off in TensorFlow and
            PyTorch); False allows TF32 where the GPU has it (JAX's and TensorFlow's default).

    Returns:
        the name of the backend configured.

    Example:
    >>> from keras_fi.precision import use_full_float32
    >>> use_full_float32()
    'jax'
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest" if enabled else None)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(not enabled)
    elif backend == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = not enabled
        torch.backends.cudnn.allow_tf32 = not enabled
    return backend


def full_float32_enabled() -> bool:
    """Whether float32 products of the Keras backend are exact float32 (TF32 not allowed)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.config.jax_default_matmul_precision in ("highest", "float32")
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.experimental.tensor_float_32_execution_enabled()
    if backend == "torch":
        import torch

        return not (torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)
    return True


@contextlib.contextmanager
def training_precision(mixed_precision: bool = False, allow_tf32: bool = False):
    """Sets the global dtype policy (``mixed_bfloat16`` or ``float32``) and the TF32 setting for
    the code inside, and restores both as they were when it leaves, even on an error.

    Example:
    >>> with training_precision(mixed_precision=True):
    ...     keras.mixed_precision.global_policy().name
    'mixed_bfloat16'
    >>> keras.mixed_precision.global_policy().name
    'float32'
    """
    policy = keras.mixed_precision.global_policy()
    full = full_float32_enabled()
    try:
        use_full_float32(not allow_tf32)
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed_precision else policy)
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)
        use_full_float32(full)
