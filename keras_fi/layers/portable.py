"""Tracing the layers for a graph converter (ONNX): the same numbers from ops it can express.

ONNX converters have no form for the complex FFT ops, and the batched index gathers of
``take_along_axis`` become chains of broadcasts, casts and ``GatherND`` that ONNX Runtime runs
about ten times slower than XLA does. Inside :func:`portable_graph` the layers trace those two
differently: the spectral units as products with DFT matrices
(:func:`keras_fi.layers.fourier_unit.rdft3d`), the warps as one gather of whole pixel rows
(``ops.take`` on the flattened image). Same weights, the same numbers to float32 rounding; outside
the block the layers keep their usual ops (the FFT is faster where sizes grow, XLA fuses the
batched gathers).
"""

from __future__ import annotations

import contextlib

_state = {"portable": False}


@contextlib.contextmanager
def portable_graph():
    """Within the block, layers trace the ops that graph converters express (see the module).

    Example:
    >>> import keras
    >>> from keras_fi.layers import FourierUnit3D
    >>> with portable_graph():
    ...     FourierUnit3D(filters=8)(keras.random.normal((1, 2, 6, 5, 4))).shape
    (1, 2, 6, 5, 8)
    """
    previous, _state["portable"] = _state["portable"], True
    try:
        yield
    finally:
        _state["portable"] = previous


def is_portable() -> bool:
    """Whether layers are being traced inside :func:`portable_graph`."""
    return _state["portable"]
