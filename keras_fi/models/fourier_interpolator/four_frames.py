"""How a four-frame model lays out its frames and pairs in one batch.

With ``context_frames=4`` the feature batch holds frame0's examples, then frame1's, frame_prev's
and frame_next's (:data:`FRAME_KEYS`). With ``quadratic_motion`` the motion network also runs on
the outer pairs (frame_prev, frame0) and (frame1, frame_next) at time 1/2, in the same batch after
the pair, and their displacements bend the pair's flows.
"""

from __future__ import annotations

from keras import ops

# The frames of a four-frame model in the order its feature batch holds them.
FRAME_KEYS = ("frame0", "frame1", "frame_prev", "frame_next")


def pair_times(time):
    """The pair's time, then 1/2 for each outer pair."""
    half = ops.full(ops.shape(time), 0.5, dtype=time.dtype)
    return ops.concatenate([time, half, half], axis=0)


def pair_part(tensor):
    """The pair's third of a batch of the pair and its two outer pairs."""
    return ops.split(tensor, 3, axis=0)[0]


def outer_pair_features(features):
    """Reorders one level's features of (frame0, frame1, frame_prev, frame_next) for a batch of
    three pairs: (frame0, frame1), (frame_prev, frame0), (frame1, frame_next), as frame0s,
    frame1s, then their previous and next frames."""
    feature0, feature1, feature_prev, feature_next = ops.split(features, 4, axis=0)
    return ops.concatenate(
        [
            feature0, feature_prev, feature1,  # the pairs' first frames
            feature1, feature0, feature_next,  # second frames
            feature_prev, feature_prev, feature0,  # frames before them
            feature_next, feature1, feature_next,  # frames after them
        ],
        axis=0,
    )  # fmt: skip


def is_real_neighbour(frame, other):
    """(batch,) 1.0 where ``frame`` is not a copy of ``other`` (a real neighbour), else 0.0."""
    difference = ops.max(ops.abs(frame - other), axis=(1, 2, 3))
    return ops.cast(difference > 0, "float32")
