"""Parsing a big import file on the machine's second core.

An import has two halves: turning text into values (pure Python) and inserting rows (SQLite).
On Linux, where fork is cheap and safe, `parsed_batches` forks a reader that runs the usual
`parse(batch)` for every batch and sends each result down a pipe, with what parsing did to the
job (counts, problems, rejected rows), which this process applies as if it had parsed them
itself, while it writes the batches before to SQLite. Elsewhere, or for a small file, it all
happens here, one batch after another, with the same results.
"""

import os
import pickle
import sys

from loyalty_cli.domain.errors import LoyaltyError, Refused
from loyalty_cli.domain.i18n import Phrase

FORK_FROM_LINES = 100_000  # below this, a reader process saves less than it costs


def can_fork() -> bool:
    """Linux only: fork is cheap there and the child needs nothing but memory (macOS warns
    against fork without exec; Windows has none)."""
    return sys.platform == "linux" and hasattr(os, "fork")


def parsed_batches(job, parse, pack, unpack):
    """parse(batch) for each batch of the file, in order; pack/unpack carry one over the pipe."""
    if job.source.lines < FORK_FROM_LINES or not can_fork():
        for batch in job.batches():
            yield parse(batch)
        return
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _reader(job, parse, pack, write)  # never returns
    os.close(write)
    try:
        with os.fdopen(read, "rb") as incoming:
            while True:
                kind, payload, state = _receive(incoming)
                _apply(job, state)
                if kind == "error":
                    raise payload
                if kind == "end":
                    return
                yield unpack(payload)
    finally:
        os.waitpid(pid, 0)


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives the pipe, else a RuntimeError that says what it was."""
    if isinstance(exc, LoyaltyError):
        return exc
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _own_handle(source) -> None:
    """A forked child shares the parent's file offset: read the file through a handle of its own."""
    # Not closed: the child leaves with os._exit, which closes every descriptor it holds.
    source.handle = open(f"/proc/self/fd/{source.handle.fileno()}", "rb")  # noqa: SIM115


def _receive(incoming) -> tuple:
    try:
        return pickle.load(incoming)
    except EOFError:
        raise Refused(Phrase("the import's reader process stopped unexpectedly; nothing was imported")) from None


def _reader(job, parse, pack, write) -> None:
    """The forked reader: parse, send, and leave without running any of the parent's cleanup
    (its SQLite connection, its open files and its atexit hooks belong to the parent)."""
    status = 1
    try:
        job.cells.normaliser.fork = False  # no helper of its own: the parent is busy on the other core
        _own_handle(job.source)
        with os.fdopen(write, "wb") as out:
            sent = _State(job)
            try:
                for batch in job.batches():
                    parsed = parse(batch)
                    pickle.dump(("rows", pack(parsed), sent.since(job)), out, pickle.HIGHEST_PROTOCOL)
                pickle.dump(("end", None, sent.since(job, final=True)), out, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - any error is the parent's to report, as if it were its own
                pickle.dump(("error", _portable(exc), sent.since(job, final=True)), out, pickle.HIGHEST_PROTOCOL)
        status = 0
    except BrokenPipeError:
        status = 0  # the parent stopped reading: it has its reasons
    finally:
        os._exit(status)


class _State:
    """What parsing changes on the Run, sent as the change since the last message."""

    COUNTS = ("rows_read", "skipped", "rejected")

    def __init__(self, job):
        self.counts = {key: job.summary[key] for key in self.COUNTS}
        self.problems = len(job.rejects.problems)
        self.rejected = len(job.rejects.rows)

    def since(self, job, final: bool = False) -> dict:
        state = {
            "counts": {key: job.summary[key] - self.counts[key] for key in self.COUNTS},
            "problems": job.rejects.problems[self.problems:],
            "rejected": job.rejects.rows[self.rejected:],
            "header_of": job.header_of,
        }
        if final:
            state["header"] = job.source.header
            state["used_options"] = job.columns.used_options
        self.__init__(job)
        return state


def _apply(job, state: dict) -> None:
    for key, change in state["counts"].items():
        job.summary[key] += change
    job.rejects.problems.extend(state["problems"])
    job.rejects.rows.extend(state["rejected"])
    job.header_of.update(state["header_of"])
    if "header" in state:
        job.source.header = state["header"]
        job.columns.used_options.update(state["used_options"])
