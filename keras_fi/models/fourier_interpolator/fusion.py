"""Fusion: the residual that corrects the warped-and-blended frame, from warped fine features."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers import backward_warp
from keras_fi.models.fourier_interpolator.conv_stack import ConvStack


@keras.saving.register_keras_serializable(package="keras_fi")
class Fusion(keras.layers.Layer):
    """Predicts a residual image at twice the resolution of its inputs.

    Warping moves pixels but cannot create what neither frame shows (occluded regions, changes of
    brightness); FILM fuses warped feature pyramids for that and RIFE adds a small U-Net. This is
    the light version: the finest features and frames of both inputs, warped by the final flows,
    with the flows and blend logit, go through two convolutions to a 2×2 sub-pixel residual
    (zero-initialised, so an untrained model adds nothing).

    Args:
        filters: width of the convolutions.
        activation: their activation.
    """

    def __init__(self, filters: int = 16, activation: str = "leaky_relu", **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.activation = activation
        self.stack = ConvStack(
            self.filters, activation=activation, dtype=self.dtype_policy, name="stack"
        )
        self.output_conv = keras.layers.Conv2D(
            12,
            3,
            padding="same",
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
            name="output",
        )

    def build(self, features_shape, image0_shape=None, image1_shape=None, flow_blend_shape=None):
        channels = 2 * features_shape[-1] + 2 * 3 + 5
        self.stack.build((None, 8, 8, channels))
        self.output_conv.build((None, 8, 8, self.filters))

    def call(self, features, image0, image1, flow_blend):
        """Residual (batch, 2h, 2w, 3) from features (2 * batch, h, w, c), frames and flow/blend
        (batch, h, w, 3 | 5) at the same scale."""
        feature0, feature1 = ops.split(features, 2, axis=0)
        flow0, flow1 = flow_blend[..., 0:2], flow_blend[..., 2:4]
        parts = [
            backward_warp(feature0, flow0),
            backward_warp(feature1, flow1),
            backward_warp(image0, flow0),
            backward_warp(image1, flow1),
            flow_blend,
        ]
        residual = self.output_conv(self.stack(ops.concatenate(parts, axis=-1)))
        return ops.depth_to_space(residual, 2)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "activation": self.activation}
