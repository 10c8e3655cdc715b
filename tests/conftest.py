"""Shared pytest setup: the Keras backend must be chosen before anything imports keras."""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def tiny_model():
    """The untrained tiny preset (any video test that needs a real model, quickly)."""
    from keras_fi.models import FourierInterpolator

    return FourierInterpolator.from_preset("tiny", load_weights=False)


@pytest.fixture(scope="module")
def tiny_preset(tiny_model, tmp_path_factory) -> str:
    """The tiny model saved as a preset folder, for `--preset DIR` in CLI tests."""
    folder = tmp_path_factory.mktemp("preset") / "tiny"
    tiny_model.save_to_preset(folder)
    return str(folder)
