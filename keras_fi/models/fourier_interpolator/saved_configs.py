"""Reads model configs written by earlier keras-fi versions into today's arguments.

Earlier versions took the weight-free refinement as five flat arguments (``refine_iterations``,
``refine_levels``, ...), wrote ``motion="cascade"`` and several options that every saved model left
at their defaults. Those configs still load; a model with the retired U-Net motion (the ``small``,
``base`` and ``direct_small`` presets) or with a retired option set away from its default fails
with an error that says so.
"""

from __future__ import annotations

from keras_fi.errors import PresetError

# Flat refinement arguments of earlier configs -> keys of ``refinement``.
_FLAT_REFINEMENT = {
    "refine_iterations": "iterations",
    "refine_levels": "levels",
    "refine_window": "window",
    "refine_median": "median",
    "refine_presmooth": "presmooth",
}
# Options earlier configs wrote, with the only value today's model computes.
_FIXED = {
    "ratio_global": 0.75,
    "use_quadrant": True,
    "normalization": None,
    "activation": "leaky_relu",
    "fine_iterations": 1,
    "context_blocks": 0,
}


def upgrade_config(config: dict) -> dict:
    """``config`` with the arguments of earlier versions mapped onto today's.

    Example:
    >>> upgrade_config({"motion": "cascade", "refine_iterations": 1, "refine_window": 7})
    {'refinement': {'iterations': 1, 'window': 7}}
    """
    config = dict(config)
    motion = config.pop("motion", "cascade")
    if motion != "cascade":
        raise PresetError(
            f"this model uses motion={motion!r}, the U-Net motion of the retired `small`, `base` "
            "and `direct_small` presets, which this keras-fi no longer builds; use the "
            "`cascade_small` preset (it scores higher on real video), or keras-fi 0.1 for the old model."
        )
    for key, value in _FIXED.items():
        if key in config and config.pop(key) != value:
            raise PresetError(
                f"{key} is no longer an option of FourierInterpolator (every shipped model used "
                f"{value!r}); remove it from the config."
            )
    flat = {new: config.pop(old) for old, new in _FLAT_REFINEMENT.items() if old in config}
    if flat:
        refinement = {**(config.get("refinement") or {}), **flat}
        config["refinement"] = refinement if refinement.get("iterations", 1) else None
    return config
