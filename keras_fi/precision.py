"""Full float32 products on NVIDIA GPUs: turns TensorFloat-32 off for the active backend.

On Ampere and later GPUs, JAX (its default matmul precision), TensorFlow and PyTorch's cuDNN
convolutions compute float32 matrix products and convolutions in TensorFloat-32, which keeps 10
bits of mantissa. keras_fi's models are not robust to that: on an NVIDIA H200, fine-tuning a
model at JAX's default precision raised the loss on the same six batches from 0.080 to 0.14-0.18
within 40 steps (and a longer run diverged), while at "highest" it fell from 0.078 to 0.062 as
on the CPU. The `keras-fi` command and
`keras_fi.training.train` therefore call `use_full_float32()`; library users who run the model on
a GPU should call it too. On CPUs it changes nothing.

This is the backend-specific module that layers and models must not be: it imports the backend.
"""

from __future__ import annotations

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
