"""The error edge: our errors become one line on stderr and an exit code (0 ok, 1 refused, 2 bad input).

Every command, on the fast path and through Typer alike, runs its work through `guarded`.
"""

import sqlite3
import sys

from loyalty_cli.domain.errors import LoyaltyError
from loyalty_cli.domain.i18n import say
from loyalty_cli.output import console


def guarded(session, work) -> int:
    """Run work(); turn our errors into one line on stderr and an exit code."""
    code = 0
    try:
        session.speak_the_shops_language()
        work()
    except LoyaltyError as exc:
        console.error(say(exc.args[0]) if len(exc.args) == 1 else str(exc))
        code = exc.exit_code
    except sqlite3.DatabaseError as exc:  # locked past the timeout, disk full, a damaged file
        hint = " (run `loyalty doctor`; restore a backup if it is damaged)" if "malformed" in str(exc) else ""
        console.error(f"database error: {exc}{hint}")
        code = 1
    except BrokenPipeError:
        # `loyalty visit ... | head -1`: the work is done and the reader has gone; say nothing
        # more (a flush at exit would raise again) and do not call it a failure.
        console.silence_stdout()
    except KeyboardInterrupt:
        console.error("interrupted: nothing was written by the unfinished step")
        code = 130
    finally:
        session.close(failed=code != 0)
    return code


def interrupted() -> int:
    sys.stderr.write("error: interrupted\n")
    return 130
