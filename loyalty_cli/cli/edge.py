"""The error edge: our errors become one line on stderr and an exit code (0 ok, 1 refused, 2 bad input).

Every command, on the fast path and through Typer alike, runs its work through `guarded`.
"""

import sqlite3
import sys

from loyalty_cli.domain.errors import LoyaltyError
from loyalty_cli.domain.i18n import say
from loyalty_cli.output import console


def guarded(session, work, push_first: bool = True) -> int:
    """Run work() (after pushing this till's offline visits, unless push_first is False: `sync`
    pushes them itself); turn our errors into one line on stderr and an exit code."""
    code = 0
    try:
        session.speak_the_shops_language()
        if push_first:
            _push_outbox(session)
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


def _push_outbox(session) -> None:
    """Any command that reaches the database first records what this till recorded offline
    (services/offline.py); at a till that never went offline this costs one stat of a missing file.
    A push that cannot happen now is left for the next command and never stops this one."""
    if not session.outbox_path.exists():
        return
    from loyalty_cli.services import offline

    try:
        done = offline.push_if_waiting(session)
    except (LoyaltyError, sqlite3.Error) as exc:  # a damaged outbox must not stop the command either
        console.note(f"offline visits not pushed yet: {exc}")
        return
    if done and (done["pushed"] or done["already"]):
        console.note(f"pushed {done['pushed'] + done['already']} visit(s) recorded offline at this till")
    for refused in (done or {}).get("refused", ()):
        console.warning(f"offline visit {refused['ref']} of {refused['phone']} refused: {refused['problem']}")


def interrupted() -> int:
    sys.stderr.write("error: interrupted\n")
    return 130
