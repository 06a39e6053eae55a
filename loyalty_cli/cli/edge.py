"""The error edge: our errors become one line on stderr and an exit code (0 ok, 1 refused, 2 bad input).

Output that cannot be written (a full disk, a closed stdout) is an error too (exit 1), one line
saying so; a command that changed something says what it did all the same (cli/visit.py).

Every command, on the fast path and through Typer alike, runs its work through `guarded`.
It is also the one place where a transient conflict between tills on PostgreSQL (a deadlock, a
serialization failure, a phone or ref another till wrote meanwhile) is retried: every command's
work is made of transactions that are safe to run again (a failed one wrote nothing, a visit's
ref and an import's content are idempotent), so it runs again, a bounded number of times.
"""

import random
import sqlite3
import sys
import time

from loyalty_cli.domain.errors import LoyaltyError, OutputLost
from loyalty_cli.domain.i18n import say, tr
from loyalty_cli.output import console
from loyalty_cli.store import db as store_db

ATTEMPTS = 5
BACKOFF_S = 0.02  # doubled at each attempt, jittered so two tills do not collide again


def guarded(session, work, push_first: bool = True) -> int:
    """Run work() (after pushing this till's offline visits, unless push_first is False: `sync`
    pushes them itself); turn our errors into one line on stderr and an exit code."""
    code = 0
    try:
        session.speak_the_shops_language()
        with console.watched_stdout():
            if push_first:
                _push_outbox(session)
            _with_retries(work)
    except LoyaltyError as exc:
        if isinstance(exc, OutputLost):  # what is still buffered must not fail again at exit
            console.silence_stdout()
        console.error(say(exc.args[0]) if len(exc.args) == 1 else str(exc))
        code = exc.exit_code
    except BrokenPipeError:
        # `loyalty visit ... | head -1`: the work is done and the reader has gone; say nothing
        # more (a flush at exit would raise again) and do not call it a failure.
        console.silence_stdout()
    except Exception as exc:
        if not store_db.is_database_error(exc):  # locked past the timeout, disk full, a damaged file
            raise
        hint = tr(" (run `loyalty doctor`; restore a backup if it is damaged)") if "malformed" in str(exc) else ""
        console.error(tr("database error: {reason}").format(reason=exc) + hint)
        code = 1
    except KeyboardInterrupt:
        console.error(tr("interrupted: nothing was written by the unfinished step"))
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
        console.note(tr("offline visits not pushed yet: {reason}").format(reason=say(exc.args[0]) if exc.args
                                                                           else exc))
        return
    if done and (done["pushed"] or done["already"]):
        console.note(tr("pushed {count} visit(s) recorded offline at this till").format(
            count=done["pushed"] + done["already"]))
    for refused in (done or {}).get("refused", ()):
        console.warning(tr("offline visit {ref} of {phone} refused: {problem}").format(
            ref=refused["ref"], phone=refused["phone"], problem=say(refused["problem"])))


def _with_retries(work) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            work()
            return
        except Exception as exc:
            if attempt == ATTEMPTS or not store_db.is_transient(exc):
                raise
        time.sleep(BACKOFF_S * 2 ** attempt * random.uniform(0.5, 1.5))


def interrupted() -> int:
    sys.stderr.write(tr("error") + ": " + tr("interrupted") + "\n")
    return 130
