"""Test helpers that need the backend's own autodiff (tests may use it; the package may not)."""

from __future__ import annotations

import keras
import numpy as np


def gradients(layer_or_model, inputs, training=True):
    """Gradient of sum(output**2) w.r.t. every trainable weight, as numpy arrays."""
    backend = keras.backend.backend()
    weights = layer_or_model.trainable_weights

    def loss_value(out):
        return keras.ops.sum(keras.ops.square(out))

    if backend == "jax":
        import jax

        values = [w.value for w in weights]

        def fn(trainable):
            non_trainable = [v.value for v in layer_or_model.non_trainable_variables]
            out, _ = layer_or_model.stateless_call(
                trainable, non_trainable, inputs, training=training
            )
            return loss_value(out)

        return [np.asarray(g) for g in jax.jit(jax.grad(fn))(values)]
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer_or_model(inputs, training=training)
            loss = loss_value(out)
        return [np.asarray(g) if g is not None else None for g in tape.gradient(loss, weights)]
    if backend == "torch":
        import torch

        for w in weights:
            w.value.grad = None
        tensors = keras.tree.map_structure(
            lambda a: torch.as_tensor(np.asarray(a)) if isinstance(a, np.ndarray) else a, inputs
        )
        loss = loss_value(layer_or_model(tensors, training=training))
        loss.backward()
        return [w.value.grad.cpu().numpy() if w.value.grad is not None else None for w in weights]
    raise NotImplementedError(backend)


def assert_heads_get_gradients(model, frames) -> None:
    """Training gradients reach every flow head of `model` on the pair `frames[0], frames[1]`."""
    inputs = {"frame0": frames[:1], "frame1": frames[1:2], "time": np.array([0.5], "float32")}
    grads = dict(zip([w.path for w in model.trainable_weights], gradients(model, inputs)))
    head_grads = [g for path, g in grads.items() if "head" in path]
    assert head_grads and all(g is not None and np.abs(g).max() > 0 for g in head_grads)
