"""The error edge: our errors become one line on stderr and an exit code (0 ok, 1 refused, 2 bad input).

Every command, on the fast path and through Typer alike, runs its work through `guarded`.
"""

import sqlite3
import sys

from loyalty_cli.domain.errors import LoyaltyError
from loyalty_cli.output import console


def guarded(session, work) -> int:
    """Run work(); turn our errors into one line on stderr and an exit code."""
    try:
        work()
        return 0
    except LoyaltyError as exc:
        console.error(str(exc))
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # locked past the timeout, disk full, a damaged file
        hint = " (run `loyalty doctor`; restore a backup if it is damaged)" if "malformed" in str(exc) else ""
        console.error(f"database error: {exc}{hint}")
        return 1
    except KeyboardInterrupt:
        console.error("interrupted: nothing was written by the unfinished step")
        return 130
    finally:
        session.close()


def interrupted() -> int:
    sys.stderr.write("error: interrupted\n")
    return 130
