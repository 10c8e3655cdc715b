"""The feature pyramid both frames share: strided convolutions down to 1/2**L of the input."""

from __future__ import annotations

import keras

from keras_fi.models.fourier_interpolator.conv_stack import ConvStack


@keras.saving.register_keras_serializable(package="keras_fi")
class FeatureExtractor(keras.layers.Layer):
    """A convolutional pyramid: level ``i`` holds ``filters[i]`` channels at 1/2**(i + 1) scale.

    The same weights serve both frames (the interpolator runs them as one batch), so features of
    the two frames are comparable: the motion estimator correlates and subtracts them.

    Args:
        filters: channels per level, finest first; its length is the pyramid's depth.
        activation: activation of the convolutions.

    Example:
    >>> extractor = FeatureExtractor(filters=(8, 16))
    >>> [tuple(f.shape) for f in extractor(keras.ops.zeros((2, 32, 32, 3)))]
    [(2, 16, 16, 8), (2, 8, 8, 16)]
    """

    def __init__(self, filters=(16, 32, 64), activation: str = "leaky_relu", **kwargs):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.activation = activation
        self.levels = [
            ConvStack(
                f, strides=2, activation=activation, dtype=self.dtype_policy, name=f"level{i + 1}"
            )
            for i, f in enumerate(self.filters)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for level in self.levels:
            level.build(shape)
            shape = level.compute_output_shape(shape)

    def call(self, images):
        """(batch, height, width, 3) in [-1, 1] → list of (batch, h_i, w_i, filters[i])."""
        features = []
        x = images
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features

    def compute_output_shape(self, input_shape):
        shapes = []
        shape = tuple(input_shape)
        for level in self.levels:
            shape = level.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "activation": self.activation,
        }
