"""The console script's top level and `keras-fi train` (resumable model.fit)."""

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import keras_fi
from keras_fi.cli.main import main

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


def test_console_script_help_and_version():
    result = subprocess.run(
        [Path(sys.executable).parent / "keras-fi", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    for command in ("interpolate", "train", "recipe", "evaluate", "presets", "export"):
        assert command in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "keras_fi", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and keras_fi.__version__ in result.stdout


def subcommand_parsers() -> tuple:
    import argparse

    from keras_fi.cli.main import build_parser

    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, action.choices


def example_commands(epilog: str) -> list[list[str]]:
    """The ``keras-fi`` commands of an epilog's examples, as argument lists (continuation lines
    joined, comments and leading ``VAR=value`` settings dropped)."""
    import shlex

    text = epilog.split("examples:\n", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        while words and "=" in words[0] and words[0] != "keras-fi":
            words.pop(0)
        assert words[:1] == ["keras-fi"], line
        commands.append(words[1:])
    return commands


def test_every_command_describes_every_option_and_shows_examples_that_parse(capsys):
    parser, subcommands = subcommand_parsers()
    for name, subparser in subcommands.items():
        bare = [a.option_strings[-1] if a.option_strings else a.dest
                for a in subparser._actions if not (a.help or "").strip()]  # fmt: skip
        assert not bare, f"keras-fi {name}: arguments without help: {bare}"
        if all(a.dest == "help" for a in subparser._actions):
            continue  # nothing to show (keras-fi presets)
        assert "examples:\n  " in (subparser.epilog or ""), f"keras-fi {name}: no examples"
        commands = example_commands(subparser.epilog)
        assert commands, name
        for words in commands:
            assert words[0] == name, words
            parser.parse_args(words)  # exits (error: ...) on a flag or value it does not take
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "examples:\n  keras-fi train --data" in capsys.readouterr().out


def test_presets_command_lists_every_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("tiny", "cascade_small", "cascade_small_4f"):
        assert name in out
    assert "(default)" in out


@pytest.mark.slow
def test_train_writes_a_preset_logs_and_checkpoints(tmp_path, capfd):
    args = ["train", "--data", str(CLIP), "--preset", "tiny", "--steps", "4", "--batch-size", "2"]
    args += ["--crop", "32", "--steps-per-epoch", "2", "--out", str(tmp_path / "run")]
    args += ["--synthetic-fraction", "0.5", "--flow-loss-weight", "0.01", "--small-motion", "0.5"]
    args += ["--acceleration", "0.3", "--clip-weights", "sqrt", "--global-clipnorm", "1"]
    args += ["--teacher-flow-weight", "2"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 0
    # nothing of ours to silence: no Keras warning about fit's options, no AutoGraph warning
    shown = [w for w in caught if "keras" in w.filename and issubclass(w.category, UserWarning)]
    assert not shown, [str(w.message) for w in shown]
    assert "AutoGraph" not in capfd.readouterr().err
    run = tmp_path / "run"
    trained_on = json.loads((run / "preset" / "metadata.json").read_text())["trained_on"]
    assert trained_on["small_motion"] == 0.5 and trained_on["flow_loss_weight"] == 0.01
    assert trained_on["acceleration"] == 0.3 and trained_on["clip_weights"] == "sqrt"
    assert trained_on["teacher_flow_weight"] == 2.0
    for name in ("config.json", "model.weights.h5", "metadata.json"):
        assert (run / "preset" / name).is_file()
    assert (run / "checkpoint.weights.h5").is_file()
    assert any((run / "logs").rglob("*tfevents*"))
    with open(run / "history.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    from keras_fi.models import FourierInterpolator

    model = FourierInterpolator.from_preset(str(run / "preset"))
    assert model.count_params() == FourierInterpolator.presets["tiny"]["parameters"]


def _triplets(fail_after=None):
    """An endless tf.data source of real 32x32 triplets that can break after some batches."""
    import numpy as np
    import tensorflow as tf

    frames = np.load(Path(__file__).parent / "data" / "triplets" / "drift_64.npz")["frames"]
    frames = frames[:, :, :32, :32].astype("float32") / 255.0

    def generate():
        count = 0
        while True:
            if fail_after is not None and count >= fail_after:
                raise RuntimeError("simulated crash")
            count += 1
            yield (
                {
                    "frame0": frames[:2, 0],
                    "frame1": frames[:2, 2],
                    "time": np.full(2, 0.5, "float32"),
                },
                frames[:2, 1],
            )

    spec = tf.TensorSpec((2, 32, 32, 3), tf.float32)
    signature = ({"frame0": spec, "frame1": spec, "time": tf.TensorSpec((2,), tf.float32)}, spec)
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


@pytest.mark.slow
def test_interrupted_training_resumes_from_its_backup(tmp_path):
    from keras_fi.training import train

    run = tmp_path / "run"
    kwargs = dict(preset="tiny", steps=6, steps_per_epoch=2, verbose=0)
    with pytest.raises(Exception, match="simulated crash"):
        train(run, dataset=_triplets(fail_after=3), **kwargs)  # dies in the second epoch
    assert (run / "backup").is_dir()
    assert not (run / "preset").exists()
    train(run, dataset=_triplets(), **kwargs)
    with open(run / "history.csv") as file:
        epochs = [row["epoch"] for row in csv.DictReader(file)]
    # epoch 0 from the first run; the second run resumed at epoch 1, not 0
    assert epochs == ["0", "1", "2"], epochs
    assert (run / "preset" / "model.weights.h5").is_file()


def test_train_rejects_bad_arguments(capsys, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", "--out", out, "--synthetic-fraction", "2"]) == 2
    assert "synthetic-fraction" in capsys.readouterr().err
    assert main(["train", "--out", out]) == 2
    assert "no training data" in capsys.readouterr().err
    assert main(["train", "--out", out, "--data", "x", "--flow-loss-weight", "0.01"]) == 2
    assert "--synthetic-fraction" in capsys.readouterr().err
    assert main(["train", "--out", out, "--flow-loss-weight", "-1"]) == 2
    assert "flow-loss-weight" in capsys.readouterr().err
    assert main(["train", "--out", out, "--data", "x", "--teacher-flow-weight", "2"]) == 2
    assert "--flow-loss-weight" in capsys.readouterr().err
    assert main(["train", "--out", out, "--data", "x", "--teacher-flow-weight", "-1"]) == 2
    assert "teacher-flow-weight" in capsys.readouterr().err
    assert main(["train", "--out", out, "--synthetic-fraction", "1", "--small-motion", "2"]) == 2
    assert "small-motion" in capsys.readouterr().err
    assert main(["train", "--out", out, "--synthetic-fraction", "1", "--acceleration", "-1"])
    assert "acceleration" in capsys.readouterr().err
    assert main(["train", "--out", out, "--data", "x", "--global-clipnorm", "0"]) == 2
    assert "global-clipnorm" in capsys.readouterr().err
