"""`keras_fi.training.TrainConfig`: the one place training options are checked, and the trainer
leaving the process's precision settings as it found them."""

from __future__ import annotations

import keras
import pytest
from helpers import TINY_CASCADE, tiny_cascade

from keras_fi.errors import InputError
from keras_fi.precision import full_float32_enabled, training_precision, use_full_float32
from keras_fi.training import TrainConfig, train


@pytest.mark.parametrize(
    "options, named",
    [
        ({"steps": 0}, "--steps"),
        ({"batch_size": 1.5}, "--batch-size"),
        ({"crop_size": 8}, "--crop"),
        ({"synthetic_fraction": 1.5}, "--synthetic-fraction"),
        ({"small_motion": -0.1}, "--small-motion"),
        ({"flow_loss_weight": -1}, "--flow-loss-weight"),
        ({"global_clipnorm": 0}, "--global-clipnorm"),
        ({"max_minutes": 0}, "--max-minutes"),
        ({"cache_mb": 0}, "--cache-mb"),
        ({"clip_weights": "log"}, "--clip-weights"),
        ({"loader": "queue"}, "--loader"),
        ({"echo": 2}, "--loader processes"),
        ({"distribute": True, "loader": "threads"}, "--loader tf.data"),
    ],
)
def test_an_option_out_of_range_is_named_with_its_flag(options, named):
    with pytest.raises(InputError, match=named):
        TrainConfig(**options)


def test_data_sources_are_checked_for_the_batches_asked_for():
    TrainConfig(synthetic_fraction=1.0, flow_loss_weight=0.01).check_sources()
    cases = [
        ({}, "no training data"),
        ({"data_paths": ["x"], "flow_loss_weight": 0.01}, "--synthetic-fraction"),
        ({"data_paths": ["x"], "teacher_flow_weight": 2.0}, "--flow-loss-weight"),
        ({"data_paths": ["x"], "acceleration": 0.3}, "synthetic_fraction > 0"),
    ]
    for options, message in cases:
        with pytest.raises(InputError, match=message):
            TrainConfig(**options).check_sources()


def test_from_dict_refuses_unknown_names_and_train_maps_keywords_onto_the_config(tmp_path):
    with pytest.raises(InputError, match="unknown training option.*'crop'"):
        TrainConfig.from_dict({"crop": 64})
    with pytest.raises(InputError, match="unknown training option"):
        train(tmp_path / "run", crop=64)
    with pytest.raises(InputError, match="data_paths="):
        train(tmp_path / "run", ["clips/"])
    config = TrainConfig(data_paths="clips", steps=10)
    assert config.data_paths == ("clips",)
    assert config.replace(steps=20).steps == 20 and config.steps == 10
    with pytest.raises(InputError, match="--steps"):
        config.replace(steps=-1)


def test_training_precision_is_restored_after_the_block_and_after_an_error():
    use_full_float32(True)
    with training_precision(mixed_precision=True, allow_tf32=True):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        assert not full_float32_enabled()
    assert keras.mixed_precision.global_policy().name == "float32"
    assert full_float32_enabled()
    with pytest.raises(RuntimeError), training_precision(mixed_precision=True):
        raise RuntimeError("inside")
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_mixed_precision_run_leaves_the_global_policy_as_it_was(tmp_path):
    """A real (one-step) run in mixed_bfloat16, and one that fails inside the trainer: the
    process's dtype policy and TF32 setting are what they were before, both times."""
    use_full_float32(True)
    tiny_cascade().save_to_preset(tmp_path / "arch")
    model = train(
        tmp_path / "run",
        preset=str(tmp_path / "arch"),
        synthetic_fraction=1.0,
        crop_size=32,
        batch_size=2,
        steps=1,
        mixed_precision=True,
        allow_tf32=True,
        verbose=0,
    )
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    assert full_float32_enabled()
    wider = [c * 2 for c in TINY_CASCADE["encoder_filters"]]
    tiny_cascade(encoder_filters=wider).save_to_preset(tmp_path / "wider")
    with pytest.raises(InputError, match="different architecture"):
        train(
            tmp_path / "run2",
            preset=str(tmp_path / "wider"),
            init_from=str(tmp_path / "run" / "preset"),
            synthetic_fraction=1.0,
            crop_size=32,
            steps=1,
            mixed_precision=True,
            verbose=0,
        )
    assert keras.mixed_precision.global_policy().name == "float32"


def test_the_train_command_refuses_bad_new_options_in_one_line(tmp_path, capsys):
    from keras_fi.cli.main import main

    base = ["train", "--out", str(tmp_path / "run"), "--synthetic-fraction", "1"]
    assert main([*base, "--model", "[1]"]) == 2
    assert "--model must be a JSON object" in capsys.readouterr().err
    assert main([*base, "--echo", "2"]) == 2
    assert "--loader processes" in capsys.readouterr().err
    assert main([*base, "--max-minutes", "-1"]) == 2
    assert "max_minutes (--max-minutes) must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists(), "refused before the run folder is made"
