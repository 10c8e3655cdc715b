#!/usr/bin/env python3
"""One time-boxed training run for a GPU machine without TensorFlow or internet access.

Such machines often have JAX with CUDA but neither Keras nor TensorFlow nor PyAV, and are booked
for a fixed time. This script needs only Keras (carried as wheels, see
`docs/training_on_a_gpu.md`), numpy and PIL: real clips come as folders of frames, batches are drawn
by `keras_fi.data.batches.training_batches` in spawned worker processes, and the run stops on the
clock.

    python recipes/device_train.py --init keras_fi/presets/small --data .device/frames \\
        --minutes 7 --out $OUT

It compiles once and trains until the clock runs out, the learning rate following a cosine over the
wall-clock budget (updated every `--steps-per-epoch` steps), and writes a preset directory
(`config.json`, `model.weights.h5`, `metadata.json` with steps, seconds, device and the curve) to
`--out`. Score it afterwards on a CPU machine with
`python recipes/train_default_preset.py --evaluate-only`-style tooling (`keras-fi evaluate`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def clock(deadline: float, counter: list):
    """A callback that counts batches and stops `fit` once the wall-clock deadline passes."""
    import keras

    def on_batch_end(batch, logs=None):
        counter.append(1)
        if time.time() > deadline:
            model_holder.model.stop_training = True

    model_holder = keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end)
    return model_holder


_WORKER_BATCHES = None


def _worker_start(options: dict) -> None:
    """Runs once in each spawned data process: builds its own samplers (CPU-only JAX)."""
    global _WORKER_BATCHES
    from keras_fi.data.batches import training_batches

    _WORKER_BATCHES = training_batches(**options)


def _worker_batch(epoch_index: tuple[int, int]):
    """Batch `index` of `epoch`: the same batch `TripletBatches` gives in the main process."""
    _WORKER_BATCHES.epoch = epoch_index[0]
    return _WORKER_BATCHES[epoch_index[1]]


class ProcessBatches:
    """Batches from spawned worker processes, started before JAX so no fork follows its threads.

    Drawing synthetic scenes is numpy-bound and holds the GIL, so threads do not keep a GPU
    busy; `spawn`ed processes (JAX on the CPU there, never the GPU) do. `stream(epochs, steps)`
    yields `epochs * steps` batches in order, keeping `ahead` of them in flight.
    """

    def __init__(self, options: dict, processes: int, ahead: int):
        import multiprocessing

        # One thread each: numpy/BLAS thread pools in every process oversubscribe the CPUs.
        single = dict(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        worker_env = dict(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", **single)
        saved = {k: os.environ.get(k) for k in worker_env}
        os.environ.update(worker_env)
        try:
            context = multiprocessing.get_context("spawn")
            self.pool = context.Pool(processes, initializer=_worker_start, initargs=(options,))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.ahead = ahead
        self.waited = 0.0  # seconds the training loop spent waiting for a batch

    def stream(self, epochs: int, steps: int, first_epoch: int = 0):
        from collections import deque

        keys = ((first_epoch + e, i) for e in range(epochs) for i in range(steps))
        pending = deque()
        for key in keys:
            pending.append(self.pool.apply_async(_worker_batch, (key,)))
            if len(pending) >= self.ahead:
                break
        while pending:
            waiting = time.time()
            batch = pending.popleft().get()
            self.waited += time.time() - waiting
            key = next(keys, None)
            if key is not None:
                pending.append(self.pool.apply_async(_worker_batch, (key,)))
            yield batch

    @staticmethod
    def echoed(batches, echo: int, seed: int):
        """Each batch, then `echo - 1` copies mirrored and/or reversed (data echoing)."""
        import numpy as np

        from keras_fi.data.batches import transform_batch

        rng = np.random.default_rng(seed)
        for inputs, target in batches:
            yield inputs, target
            for _ in range(echo - 1):
                flips = rng.permutation(7)[0] + 1  # a non-identity (flip_x, flip_y, reverse)
                yield transform_batch(inputs, target, flips & 1, flips & 2, flips & 4)

    def close(self, timeout: float = 10.0) -> None:
        """Stops the workers; gives up after `timeout` s (a pool with full result pipes can hang)."""
        import threading

        stopper = threading.Thread(target=self.pool.terminate, daemon=True)
        stopper.start()
        stopper.join(timeout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--init",
        default=str(ROOT / "keras_fi" / "presets" / "small"),
        help="preset whose weights start the run ('none': from scratch); a two-frame preset "
        "starts a four-frame --preset with --context-frames 4",
    )
    parser.add_argument("--preset", default="small", help="architecture (when --init is 'none')")
    parser.add_argument(
        "--model",
        default="{}",
        help="JSON of architecture arguments that keep the weights, e.g. '{\"scale\": 0.5}'",
    )
    parser.add_argument("--data", nargs="*", default=[], help="frame folders / videos")
    parser.add_argument("--minutes", type=float, default=7.0, help="training wall-clock budget")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--synthetic-fraction", type=float, default=0.5)
    parser.add_argument("--flow-loss-weight", type=float, default=0.01)
    parser.add_argument(
        "--teacher-flow-weight",
        type=float,
        default=0.0,
        help="real clips' flow target: DIS flows from the true middle frame (build_dataset)",
    )
    parser.add_argument(
        "--small-motion", type=float, default=0.3, help="share of near-static synthetic scenes"
    )
    parser.add_argument("--max-spacing", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument(
        "--echo",
        type=int,
        default=2,
        help="train on each drawn batch this many times, mirrored/reversed (data echoing)",
    )
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument(
        "--threads",
        action="store_true",
        help="worker threads (PyDataset) instead of spawned worker processes",
    )
    parser.add_argument(
        "--allow-tf32", action="store_true", help="TensorFloat-32 products (diverged on an H200)"
    )
    parser.add_argument(
        "--global-clipnorm", type=float, default=None, help="clip each step's gradient norm"
    )
    parser.add_argument(
        "--context-frames",
        type=int,
        default=2,
        choices=(2, 4),
        help="4 for models that also take frame_prev and frame_next (must match the model)",
    )
    parser.add_argument(
        "--acceleration", type=float, default=0.0, help="bend of synthetic motion (0: straight)"
    )
    parser.add_argument(
        "--clip-weights", default="frames", help="how often each clip is drawn: frames|sqrt|uniform"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    start = time.time()
    deadline = start + 60 * args.minutes - 15  # the rest: final save
    options = dict(
        data_paths=args.data,
        crop_size=args.crop,
        batch_size=args.batch_size,
        max_spacing=args.max_spacing,
        synthetic_fraction=args.synthetic_fraction,
        with_flow=args.flow_loss_weight > 0,
        teacher_flow_weight=args.teacher_flow_weight,
        small_motion=args.small_motion,
        seed=args.seed,
        context_frames=args.context_frames,
        acceleration=args.acceleration,
        clip_weights=args.clip_weights,
    )
    # Before Keras/JAX start in this process: the data processes are spawned from a clean state.
    workers = None if args.threads else ProcessBatches(options, args.workers, 3 * args.workers)
    import keras

    from keras_fi.data.batches import training_batches
    from keras_fi.models import FourierInterpolator
    from keras_fi.precision import use_full_float32

    use_full_float32(not args.allow_tf32)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = FourierInterpolator.from_preset(
        args.preset if args.init == "none" else args.init,
        load_weights=args.init != "none",
        **json.loads(args.model),
    )
    if args.context_frames == 4 and model.context_frames == 2 and args.init != "none":
        # a four-frame --preset warm-started from a two-frame --init
        two_frames = model
        model = FourierInterpolator.from_preset(
            args.preset, load_weights=False, **json.loads(args.model)
        )
        model.load_two_frame_weights(two_frames)
    if model.context_frames != args.context_frames:
        if workers is not None:
            workers.close()
        raise SystemExit(
            f"the model takes context_frames={model.context_frames} but the batches were drawn "
            f"with --context-frames {args.context_frames}: pass --context-frames "
            f"{model.context_frames}"
        )
    device = str(keras.backend.backend())
    try:
        import jax

        device = f"jax {jax.__version__} on {jax.devices()[0].device_kind}"
    except ImportError:
        pass
    print(f"device: {device}; workers {args.workers}", flush=True)

    epochs_drawn = [0]

    def fit(steps, epochs, callbacks):
        """`model.fit` on `epochs` x `steps` fresh batches (epoch numbers continue across calls)."""
        first = epochs_drawn[0]
        epochs_drawn[0] += epochs
        if workers is None:
            data = training_batches(
                **options, steps=steps, workers=args.workers, max_queue_size=4 * args.workers
            )
            data.epoch = first
            return model.fit(data, epochs=epochs, verbose=2, callbacks=callbacks)
        return model.fit(
            workers.echoed(workers.stream(epochs, steps, first), args.echo, args.seed),
            steps_per_epoch=steps,
            epochs=epochs,
            verbose=2,
            callbacks=callbacks,
        )

    # One compile; the learning rate follows a cosine over the wall-clock budget (set at each
    # epoch of --steps-per-epoch steps), so the schedule needs no guess of the step time.
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, global_clipnorm=args.global_clipnorm),
        flow_loss_weight=args.flow_loss_weight,
    )
    counter = []
    began = []

    def learning_rate(epoch, lr):
        if not began:  # epoch 0: the compile is still to come
            return float(args.learning_rate)
        fraction = min(1.0, (time.time() - began[0]) / max(1.0, deadline - began[0]))
        return float(args.learning_rate * 0.5 * (1.0 + math.cos(math.pi * fraction)))

    def trained_on():
        seconds = time.time() - began[0] if began else 0.0
        return {
            "trained_on": {
                "script": "recipes/device_train.py",
                "arguments": {k: v for k, v in vars(args).items() if k != "out"},
                "device": device,
                "steps": len(counter),
                "step_ms": round(1000 * seconds / max(1, len(counter)), 2),
                "data_wait_s": round(workers.waited, 1) if workers is not None else None,
                "seconds": round(time.time() - start, 1),
            }
        }

    # The preset is saved after every epoch, so a run cut off by the machine's limit keeps its
    # last finished epoch.
    saver = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: model.save_to_preset(out / "preset", metadata=trained_on())
    )
    history = fit(
        args.steps_per_epoch,
        100000,
        [
            keras.callbacks.LearningRateScheduler(learning_rate),
            keras.callbacks.LambdaCallback(  # the clock of the schedule starts after the compile
                on_train_batch_end=lambda batch, logs: began or began.append(time.time())
            ),
            clock(deadline, counter),
            keras.callbacks.CSVLogger(str(out / "history.csv")),
            saver,
        ],
    )
    # Results first: on the H200 the run hung after its last epoch (summary never written),
    # somewhere in tearing down the data processes.
    metadata = trained_on()
    metadata["trained_on"]["final_loss"] = float(history.history["loss"][-1])
    model.save_to_preset(out / "preset", metadata=metadata)
    (out / "summary.json").write_text(json.dumps(metadata, indent=2))
    print(json.dumps(metadata, indent=2), flush=True)
    if workers is not None:
        workers.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip multiprocessing's exit handlers, which can wait on the workers
