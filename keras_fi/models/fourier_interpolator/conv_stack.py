"""ConvStack: the stack of 3x3 convolutions that the feature pyramid, the motion updates and the
fusion are made of."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_fi")
class ConvStack(keras.layers.Layer):
    """``num_convs`` 3×3 convolutions with activations; the first may be strided.

    Args:
        filters: output channels of every convolution.
        num_convs: how many convolutions.
        strides: stride of the first convolution.
        activation: activation after each convolution.
    """

    def __init__(self, filters, num_convs=2, strides=1, activation="leaky_relu", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.num_convs = num_convs
        self.strides = strides
        self.activation = activation
        self.convs = [
            keras.layers.Conv2D(
                filters,
                3,
                strides=strides if i == 0 else 1,
                padding="same",
                activation=activation,
                dtype=self.dtype_policy,
                name=f"conv{i}",
            )
            for i in range(num_convs)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, x):
        for conv in self.convs:
            x = conv(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "num_convs": self.num_convs,
            "strides": self.strides,
            "activation": self.activation,
        }
