"""Overlapping the stages of a video conversion: decode, model and encode run at the same time.

`keras_fi.video.convert` runs the model on the calling thread and hands decoding (PyAV demux,
YUV → RGB) to one worker thread and encoding (RGB → YUV, the encoder, muxing) to another. PyAV
and XLA release the GIL while they work, so on a GPU the CPU-side stages no longer wait for each
other or for the model, and on a CPU they fill the gaps the model leaves.

The threads talk through `BoundedQueue`\\ s: a full queue makes its producer wait, so memory
stays flat whatever the stages' relative speeds (at most ``maxsize`` frames wait in each queue;
`BoundedQueue.peak` counts the most that ever did). Every wait polls a shared stop event, so
when one stage fails (a corrupt file, a full disk, Ctrl-C on the main thread) the others stop
within a fraction of a second, and the first error is raised on the calling thread as it was
raised (one-line `InputError`\\ s stay one line).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

# How often a waiting stage looks at the stop event (seconds).
POLL_SECONDS = 0.05
# How long shutting down waits for a worker to leave the PyAV call it is in (seconds).
JOIN_SECONDS = 30.0
# Items each queue holds before its producer waits. Decoded items are frames (and the small
# audio/subtitle packets between them); encode items are finished output frames.
DECODE_QUEUE_SIZE = 8
ENCODE_QUEUE_SIZE = 8

DONE = object()  # end-of-stream sentinel


class Stopped(Exception):
    """Raised inside a stage when another stage failed or the conversion is being torn down."""


class BoundedQueue:
    """A FIFO of at most ``maxsize`` items whose waits give up when ``stop`` is set.

    Example:
    >>> stop = threading.Event()
    >>> items = BoundedQueue(2, stop)
    >>> items.put(1); items.put(2); items.get(), items.peak
    (1, 2)
    """

    def __init__(self, maxsize: int, stop: threading.Event) -> None:
        self.maxsize = maxsize
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = stop
        self.peak = 0  # the most items ever waiting at once

    def put(self, item) -> None:
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
            except queue.Full:
                continue
            self.peak = max(self.peak, self._queue.qsize())
            return

    def get(self):
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                return self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue


class Pipeline:
    """Worker threads around the calling thread, with one stop event and error hand-back.

    ``producer(items, into)`` starts a thread that puts every item of ``items`` into the queue
    ``into`` and then `DONE`; ``consumer(handle, source)`` starts one that calls ``handle`` on
    every item of ``source`` until `DONE`. Use it as a context manager: leaving the block on an
    exception stops and joins the workers; `check` (or a `Stopped` caught by the caller)
    re-raises a worker's error on the calling thread.

    Example:
    >>> with Pipeline() as pipeline:
    ...     numbers = pipeline.queue(2)
    ...     pipeline.producer(range(5), numbers)
    ...     got = []
    ...     while (item := pipeline.get(numbers)) is not DONE:
    ...         got.append(item)
    >>> got
    [0, 1, 2, 3, 4]
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def queue(self, maxsize: int) -> BoundedQueue:
        return BoundedQueue(maxsize, self.stop)

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
        self.stop.set()

    def _start(self, target: Callable[[], None], name: str) -> None:
        def run() -> None:
            try:
                target()
            except Stopped:
                pass
            except BaseException as error:  # handed to the calling thread
                self._fail(error)

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def producer(self, items: Iterable, into: BoundedQueue, name: str = "keras-fi-decode") -> None:
        def run() -> None:
            for item in items:
                into.put(item)
            into.put(DONE)

        self._start(run, name)

    def consumer(
        self, handle: Callable[[object], None], source: BoundedQueue, name: str = "keras-fi-encode"
    ) -> None:
        def run() -> None:
            while (item := source.get()) is not DONE:
                handle(item)

        self._start(run, name)

    def check(self) -> None:
        """Raise a worker's error here, on the calling thread."""
        if self.error is not None:
            raise self.error

    def get(self, source: BoundedQueue):
        """`BoundedQueue.get` that raises a worker's error instead of `Stopped`."""
        try:
            return source.get()
        except Stopped:
            self.check()
            raise

    def put(self, into: BoundedQueue, item) -> None:
        """`BoundedQueue.put` that raises a worker's error instead of `Stopped`."""
        try:
            into.put(item)
        except Stopped:
            self.check()
            raise

    def finish(self) -> None:
        """Wait for every worker to end on its own (after `DONE`), then raise any worker error."""
        for thread in self.threads:
            while thread.is_alive():
                thread.join(POLL_SECONDS)  # short waits, so Ctrl-C still interrupts
                if self.error is not None:
                    break
        self.check()

    def close(self) -> None:
        """Stop every worker and wait (bounded) until each has left."""
        self.stop.set()
        for thread in self.threads:
            thread.join(JOIN_SECONDS)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close()
