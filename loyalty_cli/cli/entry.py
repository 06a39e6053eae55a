"""The `loyalty` executable: a fast path for the counter's `visit`, everything else through Typer.

Typer (with the pydantic it now imports) costs ~0.25 s to start, more than the whole budget of
a visit at the counter. So a plain `loyalty visit PHONE... [options]` is parsed with nothing
but the standard library (cli/visit.parse_fast_visit, which `loyalty till` uses for its lines
too), from the very option specs (VISIT_OPTIONS) the Typer command is built from, and runs the
same `run_visit`. Anything this parser does not fully understand (--help, an unknown, repeated
or malformed option, a bad number) goes to Typer, which owns help and usage errors;
tests/cli/test_entry.py checks both parsers read a line the same.
"""

import re
import sys

from loyalty_cli.cli.visit import parse_fast_visit, run_visit


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    undecodable = next((arg for arg in argv if not _is_utf8(arg)), None)
    if undecodable is not None:
        sys.exit(_not_utf8(undecodable))
    fast = parse_fast_visit(argv)
    if fast is not None:
        sys.exit(run_visit(**fast))
    from loyalty_cli.cli.app import command

    stdout_before = _stdout_file()
    try:
        code = command().main(args=argv, prog_name="loyalty", standalone_mode=False)
    except SystemExit as exc:
        sys.exit(0 if _reader_gone(exc, stdout_before) else exc.code)
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        sys.exit(_usage_error(exc))
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _is_utf8(arg: str) -> bool:
    """Python hands on a byte of the command line that is not UTF-8 (a Latin-1 terminal) as a lone
    surrogate, which no database can store or even look up: every command would fail on it with a
    traceback, mid-transaction."""
    return not any("\ud800" <= char <= "\udfff" for char in arg)


def _not_utf8(arg: str) -> int:
    shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    sys.stderr.write(f"error: '{shown}' holds a byte that is not UTF-8 text: type it again in UTF-8\n")
    return 2


def _reader_gone(exc: SystemExit, stdout_before: tuple | None) -> bool:
    """`loyalty --help | head -1`: printing help into a closed pipe, rich points stdout at
    /dev/null and exits 1 (Typer's parser, for its own text, wraps stdout and exits 1). The
    reader had all it wanted: as for a command's own output (cli/edge.py), that is no failure."""
    from typer._click.utils import PacifyFlushWrapper

    if exc.code != 1:
        return False
    now = _stdout_file()
    pointed_at_devnull = now is not None and now != stdout_before and now == _devnull_file()
    return isinstance(sys.stdout, PacifyFlushWrapper) or pointed_at_devnull


def _stdout_file() -> tuple | None:
    """(device, inode) of what fd 1 writes to, or None when it is closed."""
    import os

    try:
        status = os.fstat(1)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _devnull_file() -> tuple:
    import os

    status = os.stat(os.devnull)
    return status.st_dev, status.st_ino


def _usage_error(exc) -> int:
    """A usage error from Typer's parser as one line, like every other error; its exit code."""
    message = exc.format_message()
    if message:  # empty after `loyalty` alone, which has printed the help already
        # Typer 0.29 words a bad number in pydantic's terms
        message = re.sub(r"Input should be a valid integer.*", "must be a whole number", message)
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        sys.stderr.write(f"error: {message}{hint}\n")
    return exc.exit_code
