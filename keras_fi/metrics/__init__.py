"""Image quality metrics: PSNR and SSIM, as `keras.metrics.Metric`s and plain functions."""

from keras_fi.metrics.peak_signal_to_noise import PSNR, psnr
from keras_fi.metrics.structural_similarity import SSIM, ssim

__all__ = ["PSNR", "SSIM", "psnr", "ssim"]
