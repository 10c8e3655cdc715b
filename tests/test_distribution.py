"""Data-parallel training (``keras_fi.distributed``, ``train(distribute=True)``): 4 forced CPU
devices against one, and two local processes standing in for two hosts."""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_fi import distributed
from keras_fi.errors import InputError

TRIPLETS = Path(__file__).parent / "data" / "triplets" / "drift_64.npz"
# A few optimizer steps of the tiny preset on 32x32 crops, global batch 8.
TRAIN = dict(preset="tiny", steps=4, steps_per_epoch=2, batch_size=8, crop_size=32, verbose=0)

# Two fixed global batches of 8 real triplets (two 32x32 crops of drift_64), cycled.
FIXED_BATCHES = textwrap.dedent(
    """
    def fixed_batches(path):
        import numpy as np
        import tensorflow as tf

        frames = np.load(path)["frames"].astype("float32") / 255.0
        batches = [frames[:, :, :32, :32], frames[:, :, 32:, 32:]]
        dataset = None
        for batch in batches:
            inputs = {"frame0": batch[:, 0], "frame1": batch[:, 2], "time": np.full(8, 0.5, "float32")}
            part = tf.data.Dataset.from_tensors((inputs, batch[:, 1]))
            dataset = part if dataset is None else dataset.concatenate(part)
        return dataset.repeat()
    """
)

FOUR_DEVICES = textwrap.dedent(
    """
    import os, sys, json
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    os.environ["KERAS_BACKEND"] = "jax"
    import jax, keras, numpy as np
    from keras_fi.cli.main import main
    from keras_fi.models import FourierInterpolator

    out = sys.argv[1]
    args = ["train", "--synthetic-fraction", "1", "--preset", "tiny", "--steps", "4"]
    args += ["--steps-per-epoch", "2", "--batch-size", "8", "--crop", "32", "--seed", "3"]
    assert jax.device_count() == 4
    keras.utils.set_random_seed(0)  # the same initial weights in both runs
    assert main(args + ["--out", out + "/one"]) == 0  # nothing distributed: all on one device
    assert keras.distribution.distribution() is None
    assert main(args + ["--out", out + "/bad", "--distribute", "--batch-size", "6"]) == 2
    keras.utils.set_random_seed(0)
    assert main(args + ["--out", out + "/four", "--distribute"]) == 0
    mesh = keras.distribution.distribution().device_mesh
    one = FourierInterpolator.from_preset(out + "/one/preset")
    four = FourierInterpolator.from_preset(out + "/four/preset")
    sharding = four.weights[0].value.sharding
    print("RESULT", json.dumps({
        "mesh_devices": int(mesh.devices.size),
        "weight_devices": len(sharding.device_set),
        "max_weight_difference": max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(one.weights, four.weights)
        ),
    }))
    """
)

TWO_HOSTS = FIXED_BATCHES + textwrap.dedent(
    """
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    os.environ["KERAS_BACKEND"] = "jax"
    import json
    import keras
    from keras_fi.training import train

    keras.utils.set_random_seed(0)  # the single-process run's initial weights

    out, triplets, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    train(out, dataset=fixed_batches(triplets), distribute=True, **kwargs)
    import jax
    print("RESULT", json.dumps({"process": jax.process_index(), "processes": jax.process_count(),
                                "devices": jax.device_count()}))
    """
)


def _losses(run: Path) -> list[float]:
    with open(run / "history.csv") as file:
        return [float(row["loss"]) for row in csv.DictReader(file)]


def _result(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, stdout[-2000:]
    return json.loads(lines[-1][len("RESULT ") :])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KERAS_DIST")}
    env.update(KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


def test_multi_host_is_requested_by_keras_slurm_or_mpi_variables():
    assert not distributed.multi_host_requested({})
    assert not distributed.multi_host_requested({"KERAS_DISTRIBUTION_NUM_PROCESSES": "1"})
    assert distributed.multi_host_requested({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234"})
    assert distributed.multi_host_requested({"KERAS_DISTRIBUTION_NUM_PROCESSES": "4"})
    assert distributed.multi_host_requested({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"})
    assert not distributed.multi_host_requested({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "1"})
    assert distributed.multi_host_requested({"OMPI_COMM_WORLD_SIZE": "3"})


def test_each_process_draws_its_share_of_the_global_batch():
    assert distributed.process_share(8, 0, index=0, count=1) == (8, 0)  # one host: unchanged
    assert distributed.process_share(8, 5, index=1, count=2) == (4, 6)
    assert distributed.process_share(12, None, index=2, count=3) == (4, None)
    with pytest.raises(InputError, match="multiple of 4"):
        distributed.process_share(6, 0, index=0, count=4)


def test_only_process_zero_keeps_the_writing_callbacks(tmp_path, monkeypatch):
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    stop = keras.callbacks.TerminateOnNaN()
    callbacks = [
        backup,
        keras.callbacks.ModelCheckpoint(str(tmp_path / "c.weights.h5"), save_weights_only=True),
        stop,
        keras.callbacks.CSVLogger(str(tmp_path / "history.csv")),
        keras.callbacks.TensorBoard(str(tmp_path / "logs")),
    ]
    assert distributed.callbacks_for_this_process(callbacks) == callbacks  # one process
    monkeypatch.setattr(distributed, "process_count", lambda: 2)
    monkeypatch.setattr(distributed, "_check_all_see", lambda folder: None)
    chief = distributed.callbacks_for_this_process(callbacks)
    assert chief[2] is stop and all(isinstance(c, distributed.HostLocal) for c in chief[:2])
    monkeypatch.setattr(distributed, "is_chief", lambda: False)
    kept = distributed.callbacks_for_this_process(callbacks)
    assert len(kept) == 2 and kept[1] is stop
    assert isinstance(kept[0], distributed.HostLocal) and kept[0].callback is backup
    assert kept[0].hooks == ("on_train_begin",)  # restores, never saves or deletes


@pytest.mark.slow
def test_four_devices_train_like_one(tmp_path):
    """`keras-fi train --distribute` on 4 forced CPU devices: the same seeded batches give the
    loss and weights of the one-device run (float tolerance)."""
    script = tmp_path / "four.py"
    script.write_text(FOUR_DEVICES)
    result = subprocess.run(
        [sys.executable, script, str(tmp_path)],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = _result(result.stdout)
    assert found["mesh_devices"] == 4 and found["weight_devices"] == 4, found
    one, four = _losses(tmp_path / "one"), _losses(tmp_path / "four")
    assert len(one) == len(four) == 2
    np.testing.assert_allclose(four, one, rtol=1e-4)
    assert found["max_weight_difference"] < 1e-4, found
    assert not (tmp_path / "bad" / "preset").exists()


@pytest.mark.slow
def test_two_processes_train_like_one_and_only_process_zero_writes(tmp_path):
    """Two local processes (2 CPU devices each) joined through Keras' environment variables
    train on the halves of the same global batches as a single process; only process 0 writes."""
    kwargs = {key: TRAIN[key] for key in ("preset", "steps", "steps_per_epoch", "verbose")}
    namespace = {}
    exec(FIXED_BATCHES, namespace)
    from keras_fi.training import train

    keras.utils.set_random_seed(0)
    train(tmp_path / "single", dataset=namespace["fixed_batches"](TRIPLETS), **kwargs)

    script = tmp_path / "host.py"
    script.write_text(TWO_HOSTS)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    children = [
        subprocess.Popen(
            [sys.executable, script, str(tmp_path / f"process{i}"), str(TRIPLETS)]
            + [json.dumps(kwargs)],
            env=_child_env(
                KERAS_DISTRIBUTION_JOB_ADDRESSES=address,
                KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                KERAS_DISTRIBUTION_PROCESS_ID=str(i),
                JAX_COORDINATOR_BIND_ADDRESS=address,  # loopback only
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = []
    try:
        for child in children:
            stdout, stderr = child.communicate(timeout=300)
            outputs.append((child.returncode, stdout, stderr))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    for returncode, _, stderr in outputs:
        assert returncode == 0, stderr[-3000:]
    results = [_result(stdout) for _, stdout, _ in outputs]
    assert [r["process"] for r in results] == [0, 1]
    assert all(r["processes"] == 2 and r["devices"] == 4 for r in results), results

    chief, other = tmp_path / "process0", tmp_path / "process1"
    for name in ("preset/model.weights.h5", "checkpoint.weights.h5", "history.csv", "logs"):
        assert (chief / name).exists(), name
    assert not any(other.iterdir()), list(other.iterdir())
    np.testing.assert_allclose(_losses(chief), _losses(tmp_path / "single"), rtol=1e-4)
    from keras_fi.models import FourierInterpolator

    single = FourierInterpolator.from_preset(str(tmp_path / "single" / "preset"))
    two = FourierInterpolator.from_preset(str(chief / "preset"))
    for a, b in zip(single.weights, two.weights):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-4)
