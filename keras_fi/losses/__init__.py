"""Training losses: MS-SSIM and Zhao et al.'s MS-SSIM + L1 mix."""

from keras_fi.losses.ms_ssim_l1 import MSSSIML1
from keras_fi.losses.multiscale_ssim import ms_ssim

__all__ = ["MSSSIML1", "ms_ssim"]
