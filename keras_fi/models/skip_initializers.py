"""Building a model whose weights are about to be loaded, without drawing its initial values.

A model's random initializers (He, Glorot, ...) draw every weight when the variable is created.
On JAX each draw of a new shape compiles a small XLA program: about 15 s for a preset on two CPU
cores, all of it for values that the weights file then overwrites. Inside
:func:`initializers_skipped`, variables are created without running their initializers and
start at zero; loading the weights then sets them.

Keras has no public switch for this. Variables created in a ``keras.StatelessScope`` defer their
initializer until the scope ends; the scope is opened with ``initialize_variables=False`` and the
deferred variables are given zeros instead, which touches Keras' variable internals
(``_initialize_with_initializer`` and the list of uninitialized variables). The test suite checks
that a preset loads without a single random draw and with exactly the file's weights, so a Keras
release that changes those internals fails a test rather than slowing loading down unnoticed.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np

_PENDING = "uninitialized_variables"  # Keras' global list of variables awaiting their initializer


@contextlib.contextmanager
def initializers_skipped():
    """Variables created in this block start at zero instead of their initializer's values.

    Meant for a model whose every weight is loaded right after it is built; a weight that is not
    loaded stays zero. Inside an enclosing ``StatelessScope`` (where assignments would go to that
    scope, not to the variables) it does nothing.

    Example:
    >>> import keras
    >>> with initializers_skipped():
    ...     layer = keras.layers.Dense(2)
    ...     layer.build((None, 3))
    >>> float(keras.ops.max(keras.ops.abs(layer.kernel)))
    0.0
    """
    from keras.src.backend.common import global_state
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    if in_stateless_scope():
        yield
        return
    before = list(global_state.get_global_attribute(_PENDING) or [])
    known = {id(variable) for variable in before}
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        pending = global_state.get_global_attribute(_PENDING) or []
        global_state.set_global_attribute(_PENDING, before)
        for variable in pending:
            if id(variable) not in known:
                variable._initialize_with_initializer(_zeros)
                variable._initializer = None


def _zeros(shape, dtype=None):
    """A host array of zeros: no device program is compiled to make it."""
    return np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype or "float32"))
