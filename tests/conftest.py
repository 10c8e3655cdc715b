"""Shared pytest setup: the Keras backend must be chosen before anything imports keras."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
