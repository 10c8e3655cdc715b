"""Shared pytest setup: the Keras backend must be chosen before anything imports keras.

Tests marked ``slow`` form the heavy tier (`python3 tasks.py test --all`); the rest is the fast
default tier. A ``multibackend`` test also marked ``whole_model`` runs a whole model (what the
layer, loss and save/load tests already check on every backend): in the fast tier on JAX only, on
TensorFlow and PyTorch in the heavy tier.
"""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_modifyitems(config, items):
    if os.environ["KERAS_BACKEND"] == "jax":
        return
    for item in items:
        if item.get_closest_marker("whole_model"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_model():
    """The untrained tiny preset, one for the whole run (any video test that needs a real model,
    quickly; tests must not change it). Its compiled functions are shared by every test."""
    from keras_fi.models import FourierInterpolator

    return FourierInterpolator.from_preset("tiny", load_weights=False)


@pytest.fixture(scope="session")
def tiny_preset(tiny_model, tmp_path_factory) -> str:
    """The tiny model saved as a preset folder, for `--preset DIR` in CLI tests."""
    folder = tmp_path_factory.mktemp("preset") / "tiny"
    tiny_model.save_to_preset(folder)
    return str(folder)
