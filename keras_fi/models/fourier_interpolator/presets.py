"""Architectures of the built-in presets; trained weights live in ``keras_fi/presets/<name>/``."""

# The learned coarse-to-fine model's small size, with two or four frames in.
_CASCADE_SMALL = {
    "motion": "cascade",
    "encoder_filters": [16, 32, 48, 64],
    "decoder_filters": [16, 32, 48, 64],
    "num_blocks": 2,
    "motion_levels": 3,
    "correlation_radius": 3,
    "fine_correlation_radius": 2,
    "fusion_filters": 16,
    "scale": 0.5,
    "warp_interpolation": "bilinear",
}

# name -> constructor arguments, parameter count (checked by a test) and a one-line description.
ARCHITECTURES = {
    "tiny": {
        "parameters": 81299,
        "description": "Tiny motion model (< 200k parameters) for tests and CPU experiments.",
        "config": {
            "encoder_filters": [8, 16, 32],
            "num_blocks": 1,
            "motion": True,
        },
    },
    "small": {
        "parameters": 351739,
        "description": "Small motion model: flow + blend head over 3-D FFC features at 1/8 scale, "
        "run at half the frames' resolution, flows refined photometrically (coarse to fine, "
        "median-filtered, on presmoothed frames) at full resolution.",
        "config": {
            "encoder_filters": [16, 32, 64],
            "num_blocks": 2,
            "motion": True,
            "refine_iterations": 2,
            "refine_levels": 3,
            "refine_window": 7,
            "refine_median": 5,
            "scale": 0.5,
            "warp_interpolation": "bilinear",
            "refine_presmooth": 1,
        },
    },
    "cascade_small": {
        "parameters": 593419,
        "description": "Learned coarse-to-fine motion: a shared 4-level feature pyramid, 3-D FFC "
        "blocks and a bilateral cost volume at 1/16 scale, residual flow updates at 1/8 and 1/4 "
        "from warped features and frames and their cost volume, a fusion residual.",
        "config": dict(_CASCADE_SMALL),
    },
    "cascade_small_4f": {
        "parameters": 695371,
        "description": "cascade_small with four frames in (context_frames=4): the frames before "
        "and after the pair join the 3-D FFC context and a second cost volume, and the same "
        "network's motion on the outer pairs bends the flows by the acceleration it implies "
        "(quadratic_motion), so moving things can speed up, slow down and turn between frames.",
        "config": {**_CASCADE_SMALL, "context_frames": 4, "quadratic_motion": True},
    },
    "base": {
        "parameters": 984507,
        "description": "Base motion model: wider encoder/decoder and four FFC blocks.",
        "config": {
            "encoder_filters": [24, 48, 96],
            "num_blocks": 4,
            "motion": True,
            "refine_iterations": 2,
            "refine_levels": 2,
        },
    },
    "direct_small": {
        "parameters": 341932,
        "description": "The notebook's direct synthesis (no motion head): residual over the blend.",
        "config": {
            "encoder_filters": [16, 32, 64],
            "num_blocks": 2,
            "motion": False,
        },
    },
}
