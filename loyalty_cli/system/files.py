"""Files written atomically: a temporary file beside the target, fsynced, then renamed."""

import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase


@contextmanager
def atomic_writer(path: Path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None,
                  mode_bits: int = 0o600):
    """Yields a file object; the target appears whole, or not at all if anything fails.

    Owner-only by default: reports and exports hold customers' phone numbers."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise BadInput(Phrase("{directory}: no such directory", directory=directory))
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInput(Phrase("{directory}: cannot write here: {strerror}", directory=directory,
                              strerror=exc.strerror)) from None
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode_bits)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):  # the temporary file may never have been written
            os.unlink(temporary)
        raise


def write_text(path: Path, text: str, mode_bits: int = 0o600) -> None:
    with atomic_writer(path, mode_bits=mode_bits) as handle:
        handle.write(text)
