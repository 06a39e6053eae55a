"""Work shared with forked child processes that read the same stream of rows as the parent.

`loyalty simulate` replays every visit through several configs; Python runs one core at a time,
so each extra core takes a share of the configs in a child process. The parent reads the rows
from the database once and sends each child the same rows in pickled batches over a pipe
(`fan_out`), so every process replays the very rows of the parent's one read transaction: a
second connection in the child could see a visit recorded in between. Measured on the bench
history (1,000,000 visits): pickling the rows costs the parent 0.5 s and unpickling a child
0.4 s, against 3 s for the query itself.

Forking, not spawning: a child starts with the configs and people already in memory, and pays
no interpreter start-up. Where fork is not available (Windows, macOS's default) `available()`
says so and the caller runs everything in one process.
"""

import multiprocessing
import os
import pickle
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from itertools import islice

BATCH = 5_000  # rows per message: about 250 KB pickled
SLACK = 64  # batches the parent may be ahead of a child: 320,000 rows, about 16 MB
_END = b""


def available() -> int:
    """How many processes may usefully run at once: the cores this process may use, or 1 where
    fork is not there."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return max(1, len(cores))


class Fork:
    """A child process, forked now, running `work(rows)` over the rows the parent sends it;
    `result()` ends the stream and returns what `work` returned (or raises what it raised)."""

    _open: list = []  # the parent's ends of every live fork's pipes: a later child closes them

    def __init__(self, work: Callable[[Iterator], object]):
        context = multiprocessing.get_context("fork")
        rows_in, self._rows_out = context.Pipe(duplex=False)
        self._results_in, results_out = context.Pipe(duplex=False)
        mine = (self._rows_out, self._results_in)
        others = list(Fork._open)
        self._process = context.Process(target=_child, args=(work, rows_in, results_out, [*others, *mine]),
                                        daemon=True)
        self._process.start()
        rows_in.close()
        results_out.close()
        Fork._open.extend(mine)
        self._listening = True  # False once the child stopped reading: it failed, and result() says why
        self._queue: queue.Queue = queue.Queue(maxsize=SLACK)
        self._sender: threading.Thread | None = None

    def send(self, payload: bytes) -> None:
        """Queue a batch for the child: a thread writes it to the pipe, so the parent waits only when
        it is SLACK batches ahead. Written straight to the pipe, parent and child went in lockstep,
        each waiting for the other at every batch: 4.5 s of 28 on the bench history."""
        if self._sender is None:  # started at the first batch, when every fork exists: no fork with a thread
            self._sender = threading.Thread(target=self._write, daemon=True)
            self._sender.start()
        if self._listening:
            self._queue.put(payload)

    def _write(self) -> None:
        while (payload := self._queue.get()) is not None:
            if self._listening:
                try:
                    self._rows_out.send_bytes(payload)
                except OSError:  # a broken pipe: the child stopped reading
                    self._listening = False

    def _stop_sending(self) -> None:
        if self._sender is not None:
            self._queue.put(None)
            self._sender.join()
            self._sender = None

    def result(self):
        try:
            self.send(_END)
            self._stop_sending()
            failed, value = self._results_in.recv()
        except (EOFError, OSError):
            failed, value = True, f"a worker process ended early (exit code {self._process.exitcode})"
        finally:
            self.close()
        if failed:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        self._listening = False
        self._stop_sending()
        for end in (self._rows_out, self._results_in):
            if end in Fork._open:
                Fork._open.remove(end)
            end.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def fan_out(rows: Iterable, forks: list[Fork]) -> Iterator:
    """`rows`, one by one, as the caller reads them; each batch is sent to every fork first."""
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        if forks:
            payload = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
            for fork in forks:
                fork.send(payload)
        yield from batch


def _child(work, rows_in, results_out, inherited) -> None:
    for end in inherited:  # the parent's ends: holding them would keep our own pipe open forever
        end.close()
    try:
        reply = (False, work(_received(rows_in)))
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent reports it
        reply = (True, f"{type(exc).__name__}: {exc}")
    with suppress(OSError):  # the parent stopped listening: it failed or was interrupted, and says so itself
        results_out.send(reply)


def _received(rows_in) -> Iterator:
    while (payload := rows_in.recv_bytes()) != _END:
        yield from pickle.loads(payload)
