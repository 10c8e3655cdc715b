"""Export for serving: a TensorFlow SavedModel that takes uint8 frames of any size."""

from keras_fi.export.saved_model import export_saved_model

__all__ = ["export_saved_model"]
