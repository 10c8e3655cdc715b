"""What :class:`FourierInterpolator` trains with by default: ``compile`` and the flow loss."""

from __future__ import annotations

import keras
from keras import ops


class TrainingDefaultsMixin:
    """``compile`` with the library's optimizer, loss and metrics, and the supervised flow loss."""

    # Set by compile(): weight of the supervised flow loss (inputs with a "flow" target).
    flow_loss_weight = 0.0

    def compile(
        self,
        optimizer=None,
        loss=None,
        metrics=None,
        learning_rate: float = 1e-3,
        decay_steps: int = 10_000,
        alpha: float = 0.0,
        flow_loss_weight: float = 0.0,
        global_clipnorm: float | None = None,
        **kwargs,
    ):
        """Compiles with the library defaults for whatever is not given.

        Defaults: Adam with cosine decay from ``learning_rate`` over ``decay_steps`` steps down to
        ``alpha * learning_rate``, the :class:`~keras_fi.losses.MSSSIML1` loss, PSNR and SSIM.

        ``flow_loss_weight`` > 0 adds supervision of the motion wherever the inputs carry a true
        flow (``synthetic_motion(with_flow=True)``): that weight times the mean absolute flow
        error in pixels, on top of the image loss. Optical-flow networks learn motion from such
        targets far faster than from the image loss alone.

        ``global_clipnorm`` (with the default optimizer) rescales each step's gradients to at most
        that global norm: a guard against the rare huge step early in training from scratch.
        """
        if flow_loss_weight < 0:
            raise ValueError(f"flow_loss_weight must be >= 0, got {flow_loss_weight}")
        self.flow_loss_weight = float(flow_loss_weight)
        from keras_fi.losses import MSSSIML1
        from keras_fi.metrics import PSNR, SSIM

        if optimizer is None:
            schedule = keras.optimizers.schedules.CosineDecay(
                learning_rate, decay_steps=decay_steps, alpha=alpha
            )
            optimizer = keras.optimizers.Adam(
                learning_rate=schedule, global_clipnorm=global_clipnorm
            )
        if loss is None:
            loss = MSSSIML1()
        if metrics is None:
            metrics = [PSNR(name="psnr"), SSIM(name="ssim")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def _flow_loss(self, flows, inputs):
        """``flow_loss_weight`` × mean absolute error (pixels) of the full-resolution flows.

        ``flows``: (batch, height, width, 4), flow0 then flow1. The target is ``inputs["flow"]``
        of the same shape: flow from the target time to frame0 (dx, dy) and to frame1, as
        synthetic data knows it exactly; ``inputs["flow_weight"]`` (batch,) switches it off for
        examples without true flow (real video).
        """
        target = ops.cast(inputs["flow"], "float32")
        error = ops.mean(ops.abs(ops.cast(flows, "float32") - target), axis=(1, 2, 3))
        weight = inputs.get("flow_weight")
        if weight is not None:
            error = error * ops.reshape(ops.cast(weight, "float32"), (-1,))
        return self.flow_loss_weight * ops.mean(error)
