"""Check a file's rows in a second process while this one writes them: an import's two halves on two cores.

Reading and checking a CSV row costs about what writing it costs; a forked worker (it shares
the parent's rosters and rules without copying them) reads the file and checks it a chunk at a
time, and sends each checked chunk through a pipe, from a thread that lets the worker run up to
`AHEAD` chunks ahead. The parent gets the chunks in file order, as it would have made them.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from contextlib import contextmanager
from itertools import islice
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Iterable, Iterator, TypeVar

from compliance.errors import ComplianceError

T = TypeVar("T")
R = TypeVar("R")
# The worker's first chunk is this fraction of a full one; the next ones double up to full size.
FIRST_CHUNK_SHARE = 16
# Checked chunks the worker keeps ready, pickled, beyond the one in the pipe. With none, both
# processes waited on each other: at 50,000 branches the worker was blocked sending for 32-43 s
# of an import's 183-226 s while the parent waited for chunks for 15-20 s, since a chunk costs
# one of them more than the next does.
AHEAD = 4


# Objects made between young collections of the garbage collector (CPython's default is 700).
YOUNG_COLLECTION = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often while a province's records and findings are made: they form no cycles.

    A young collection every 700 new objects, each promoting its survivors to be traversed again,
    cost 9% of a one-process `overdue` at 10,000 branches, and unpickling a worker's findings
    three times as long as with no collections. Cycles are still collected, every 100,000 objects;
    processes forked inside the block inherit the setting.
    """
    before = gc.get_threshold()
    if before[0]:        # a threshold of 0 turns automatic collection off: left so
        gc.set_threshold(max(before[0], YOUNG_COLLECTION), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def interrupts_noted() -> Iterator[Callable[[], bool]]:
    """Within the block, Ctrl-C (SIGINT) is noted rather than raised; yield a test of whether it has come.

    Ctrl-C reaches the whole process group. Raised wherever the main thread happened to be, inside
    a process pool's locks and queues, it left `overdue` hung with its workers waiting on each
    other (try-out); and a worker forked a moment before could die of it before it set SIGINT
    aside. Processes forked inside the block inherit this handler, and the caller raises
    `KeyboardInterrupt` where it is safe to; a second Ctrl-C is raised at once (the user will not
    wait for the blocks begun). Outside the main thread (no handler can be set there), or where
    SIGINT is ignored already, the block changes nothing.
    """
    came: list[bool] = []
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield lambda: False
        return

    def note(*_: Any) -> None:
        if came:
            raise KeyboardInterrupt      # a second Ctrl-C: the user will not wait
        came.append(True)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield lambda: bool(came)
    finally:
        signal.signal(signal.SIGINT, previous)


def can_fork() -> bool:
    """Return whether workers are forked here: on Linux (macOS forks, but its system libraries are not safe to use after a fork)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _chunks(rows: Iterable[T], size: int, start: int | None = None) -> Iterator[list[T]]:
    """Yield lists of `size` rows; with `start`, the first lists are smaller, doubling from `start` up to `size`."""
    rows = iter(rows)
    step = min(start or size, size)
    while chunk := list(islice(rows, step)):
        yield chunk
        step = min(step * 2, size)


@contextmanager
def checked_chunks(rows: Iterable[T], check: Callable[[list[T], bool], R], size: int, ahead: bool) -> Iterator[Iterator[R]]:
    """Yield an iterator of `check(chunk, spare)` for the chunks of `size` rows of `rows`, in order.

    With `ahead`, the rows are read and checked in a forked worker, started on entry (before the
    caller opens its write transaction); what `check` returns must pickle, and an error it
    raises is raised again here. Leaving the block early stops the worker.

    `spare` says whether the process checking has time to spare, so that work either side can
    do is done by the one that is ahead: True without `ahead` (one process does it all either
    way), and in the worker while checked chunks wait for the parent to take them; False while
    the parent waits for the worker.
    """
    if not ahead:
        yield (check(chunk, True) for chunk in _chunks(rows, size))
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_work, args=(receive, send, rows, check, size), daemon=True)
    # Forked with Ctrl-C noted, the worker cannot die of one before it ignores it (`_work`): it
    # printed a traceback of its own. The parent stops it.
    with interrupts_noted() as interrupted:
        worker.start()
    send.close()
    if interrupted():
        receive.close()
        worker.terminate()
        worker.join()
        raise KeyboardInterrupt
    try:
        yield _received(receive)
    finally:
        receive.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _received(receive: Any) -> Iterator[Any]:
    while True:
        try:
            what, value = receive.recv()
        except (EOFError, OSError):
            raise ComplianceError("检查数据的进程意外退出，未导入任何数据") from None
        if what == "chunk":
            yield value
        elif what == "error":
            raise value
        else:
            return


def _work(receive: Any, send: Any, rows: Iterable[T], check: Callable[[list[T], bool], R], size: int) -> None:
    """In the worker: send ("chunk", checked) for each chunk, then ("end", None), or ("error", exception).

    The first chunks are small, so the parent starts writing while the worker is still reading.
    Messages are pickled here and written to the pipe by a thread (`_Outbox`), so that checking
    goes on while the parent is busy, up to `AHEAD` chunks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C reaches the whole group: the parent stops this process
    # The fork copied the pipe's reading end too: closed here, a parent that dies leaves no
    # reader, and the next send fails instead of waiting for ever.
    receive.close()
    outbox = _Outbox(send)
    try:
        for chunk in _chunks(rows, size, start=max(1, size // FIRST_CHUNK_SHARE)):
            if outbox.closed.is_set():
                return       # the parent stopped reading: it has failed or finished early
            outbox.post(("chunk", check(chunk, outbox.waiting())))
        outbox.post(("end", None))
    except BaseException as exc:
        # The user's errors travel as they are; anything else as one line the parent can show.
        error = exc if isinstance(exc, ComplianceError) else ComplianceError(f"检查数据时出错：{type(exc).__name__}: {exc}")
        try:
            outbox.post(("error", error))
        except Exception:       # an error that will not pickle (an attribute refers to itself): its text will
            outbox.post(("error", ComplianceError(str(error))))
    finally:
        outbox.finish()
        send.close()


class _Outbox:
    """Writes pickled messages to the pipe in a thread, in order, holding at most `AHEAD` not yet written.

    Writing to a pipe releases the GIL, so the worker's main thread checks the next chunks
    meanwhile. When the parent stops reading, the pipe breaks: `closed` is set and what is
    left is dropped.
    """

    def __init__(self, send: Any):
        self._send = send
        self._queue: queue.Queue[memoryview | None] = queue.Queue(maxsize=AHEAD)       # as `_dumps` gives them
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True, name="checked-chunks")
        self._thread.start()

    def post(self, message: tuple[str, Any]) -> None:
        """Queue a message for the parent, waiting while `AHEAD` are queued; dropped once the parent is gone."""
        if not self.closed.is_set():
            self._queue.put(_dumps(message))

    def waiting(self) -> bool:
        """Return whether messages wait to be written: the pipe is full, the parent busy with an earlier chunk."""
        return not self._queue.empty()

    def finish(self) -> None:
        """Wait until every queued message is written (or dropped, the parent gone)."""
        self._queue.put(None)
        self._thread.join()

    def _write(self) -> None:
        while (payload := self._queue.get()) is not None:
            if self.closed.is_set():
                continue         # drained, so that `post` and `finish` never wait on a full queue
            try:
                self._send.send_bytes(payload)
            except OSError:      # BrokenPipeError: the parent is gone or stopped reading
                self.closed.set()


def _dumps(message: tuple[str, Any]) -> memoryview:
    """Pickle a message as `ForkingPickler.dumps` does, but without its memo (the pickler's "fast" mode).

    A checked chunk is tens of thousands of small tuples of text and numbers, which share
    nothing worth remembering: the memo's bookkeeping was two thirds of pickling one, and
    pickling a sixth of the worker's time in a 1,000-branch import (py-spy), where the worker
    is the slower half. Without it, 20,000 rows of the benchmark's file, checked, pickle in
    6 ms instead of 18 ms and unpickle in 22 ms instead of 20 ms (best of seven, the README's
    machine). A message that refers to itself is refused (ValueError) rather than pickled for
    ever, and reaches the parent as the worker's error. (`Pickler.fast` is documented as
    deprecated, without a warning or a replacement, since Python 3.0; tests/test_pipeline.py
    checks that the payload carries no memo.)
    """
    buffer = io.BytesIO()
    pickler = ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(message)
    return buffer.getbuffer()


def exit_with_parent(parent: int, interval: float = 1.0) -> None:
    """In a worker: exit when `parent` (the process that forked it) is gone, killed say, rather than wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()

