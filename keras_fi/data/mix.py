"""Mixing several triplet datasets, e.g. real video with synthetic motion."""

from __future__ import annotations

from collections.abc import Sequence

from keras_fi.errors import InputError
from keras_fi.optional import tensorflow


def mix(
    datasets: Sequence,
    weights: Sequence[float] | None = None,
    seed: int | None = None,
    *,
    batch_size: int | None = None,
    drop_remainder: bool = True,
):
    """Interleaves datasets at random in the given proportions (`sample_from_datasets`).

    Pass unbatched datasets (`batch_size=None` in the loaders) and a `batch_size` here so every
    batch mixes sources; already-batched datasets are mixed batch by batch. Mixing stops when any
    dataset is exhausted, so an epoch is bounded by its smallest member's share.

    Args:
        datasets: `(inputs, target)` datasets with the same element structure and frame size.
        weights: relative sampling weights (default: equal).
        seed: the same seed gives the same order; None differs every run.
        batch_size: batch after mixing; None leaves elements as they are.
        drop_remainder: drop a last partial batch (fixed shapes).

    Returns:
        The mixed `tf.data.Dataset`.

    Example:
    >>> from keras_fi.data import synthetic_motion, video_triplets
    >>> from keras_fi.samples import sample_clip
    >>> real = video_triplets(sample_clip(), crop_size=64, batch_size=None, seed=0, epoch_size=-1)
    >>> fake = synthetic_motion(crop_size=64, batch_size=None, seed=1, images=sample_clip(),
    ...                         frames_per_clip=4, epoch_size=-1)
    >>> train = mix([real, fake], weights=[0.5, 0.5], seed=2, batch_size=4).take(1000)
    >>> inputs, target = next(iter(train))
    >>> tuple(target.shape)
    (4, 64, 64, 3)
    """
    tf = tensorflow("keras_fi.data.mix")

    datasets = list(datasets)
    if not datasets:
        raise InputError("mix needs at least one dataset")
    if weights is not None:
        if len(weights) != len(datasets) or min(weights) < 0 or sum(weights) <= 0:
            raise InputError(
                f"mix needs one non-negative weight per dataset ({len(datasets)}), got {weights}"
            )
        weights = [float(w) / sum(weights) for w in weights]
    specs = {str(ds.element_spec) for ds in datasets}
    if len(specs) > 1:
        raise InputError(
            "mix needs datasets with the same element shapes (same crop_size and batching); "
            f"got {' vs '.join(sorted(specs))}"
        )
    mixed = tf.data.Dataset.sample_from_datasets(
        datasets, weights=weights, seed=seed, stop_on_empty_dataset=True
    )
    if batch_size is not None:
        mixed = mixed.batch(batch_size, drop_remainder=drop_remainder)
    return mixed.prefetch(tf.data.AUTOTUNE)
