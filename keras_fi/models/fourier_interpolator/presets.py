"""The built-in presets.

A shipped preset's architecture is defined once, by the ``config.json`` beside its trained
weights in ``keras_fi/presets/<name>/``; this table holds its description and parameter count
(checked by a test). ``tiny`` is an architecture without weights, for tests and quick experiments.
"""

# name -> description, parameter count, and (for an architecture without weights) its config.
ARCHITECTURES = {
    "cascade_small": {
        "parameters": 593419,
        "description": "Learned coarse-to-fine motion: a shared 4-level feature pyramid, 3-D FFC "
        "blocks and a bilateral cost volume at 1/16 scale, residual flow updates at 1/8 and 1/4 "
        "from warped features and frames and their cost volume, a photometric refinement at full "
        "resolution, a fusion residual.",
    },
    "cascade_small_4f": {
        "parameters": 695371,
        "description": "cascade_small with four frames in (context_frames=4): the frames before "
        "and after the pair join the 3-D FFC context and a second cost volume, and the same "
        "network's motion on the outer pairs bends the flows by the acceleration it implies "
        "(quadratic_motion), so moving things can speed up, slow down and turn between frames.",
    },
    "tiny": {
        "parameters": 55455,
        "description": "A tiny untrained cascade (about 55k parameters) for tests and CPU experiments.",
        "config": {
            "encoder_filters": [8, 12, 16, 16],
            "num_blocks": 1,
            "motion_levels": 3,
            "correlation_radius": 2,
            "fusion_filters": 8,
        },
    },
}

# Presets of earlier versions that this one no longer builds -> what to use instead.
RETIRED = {
    name: "its U-Net motion was retired: `cascade_small` scores higher on real video; use it"
    for name in ("small", "base", "direct_small")
}
