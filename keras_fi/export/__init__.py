"""Export for serving: a TensorFlow SavedModel that takes uint8 frames of any size, or an ONNX
graph that takes float frames of any size (for ONNX Runtime)."""

from keras_fi.export.onnx import export_onnx
from keras_fi.export.saved_model import export_saved_model

__all__ = ["export_onnx", "export_saved_model"]
