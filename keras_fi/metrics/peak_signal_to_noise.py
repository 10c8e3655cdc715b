"""Peak signal-to-noise ratio (PSNR) of image batches, the headline quality number of the field."""

from __future__ import annotations

import math

import keras
from keras import ops


def psnr(y_true, y_pred, max_val: float = 1.0):
    """PSNR in dB of each image pair, matching `tf.image.psnr`.

    Computed in float32 whatever the input dtype. Identical images give +inf, as in TensorFlow.

    Args:
        y_true: images whose last three axes are (height, width, channels).
        y_pred: images of the same shape.
        max_val: dynamic range of the pixel values (1.0 for images in [0, 1], 255 for uint8).

    Returns:
        float32 tensor with the leading (batch) axes: one value per image.

    Example:
    >>> a = keras.ops.zeros((2, 8, 8, 3))
    >>> tuple(psnr(a, a + 0.1).shape)
    (2,)
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    mse = ops.mean(ops.square(y_true - y_pred), axis=(-3, -2, -1))
    return 20.0 * math.log10(max_val) - (10.0 / math.log(10.0)) * ops.log(mse)


@keras.saving.register_keras_serializable(package="keras_fi")
class PSNR(keras.metrics.MeanMetricWrapper):
    """Mean PSNR (dB) over all images seen.

    Frame interpolation results are reported as the mean of per-image PSNR (not the PSNR of the
    mean error); this metric keeps that convention. Each image's value matches `tf.image.psnr`.

    Args:
        max_val: dynamic range of the pixel values (1.0 for images in [0, 1]).
        name: metric name in logs.
        dtype: dtype of the metric's state.

    Example:
    >>> metric = PSNR()
    >>> metric.update_state(keras.ops.zeros((1, 8, 8, 3)), keras.ops.full((1, 8, 8, 3), 0.1))
    >>> round(float(metric.result()), 3)
    20.0
    """

    def __init__(self, max_val: float = 1.0, name: str = "psnr", dtype=None):
        super().__init__(fn=psnr, name=name, dtype=dtype, max_val=max_val)
        self.max_val = max_val
        self._direction = "up"

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "max_val": self.max_val}
