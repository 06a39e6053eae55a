"""The link to a PostgreSQL server: how long a till waits for it, and the check a kept
connection passes before each visit of a running till (services/kept.py).

A till must not stand waiting on a server it cannot hear: the issue's offline tills go to their
outbox when there is no answer within a short time. libpq's connect_timeout bounds a new
connection; a connection kept open (`loyalty till`) is checked here with a time limit of its
own, and tcp_user_timeout ends one whose link drops in the middle of a visit.
"""

import hashlib
import time

from loyalty_cli.domain.errors import Unreachable
from loyalty_cli.domain.i18n import Phrase

CONNECT_TIMEOUT_S = 3
ANSWER_TIMEOUT_S = 3  # a kept connection's check (still_sound): no answer within it, and the till goes offline
# libpq's settings a connection gets unless its URL says otherwise, for a link that drops in the
# middle of a visit. tcp_user_timeout (Linux): what the till sent and the server's machine has not
# acknowledged for 10 s ends the connection, instead of TCP retrying for a quarter of an hour.
# keepalives: a till waiting for an answer to what was acknowledged (a commit, a lock) probes the
# link after 5 s of silence, every 2 s, and gives up after 3 unanswered probes, instead of the
# system's two hours. A server that is merely slow still answers the probes.
# (libpq keeps keepalives on unless told otherwise.)
LINK_DEFAULTS = {"connect_timeout": CONNECT_TIMEOUT_S, "tcp_user_timeout": 10_000, "keepalives_idle": 5,
                 "keepalives_interval": 2, "keepalives_count": 3}


def link_options(url: str) -> dict:
    """LINK_DEFAULTS less what the URL sets itself (`?connect_timeout=10`): the shop's word wins."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    return {name: value for name, value in LINK_DEFAULTS.items() if name not in given}


def still_sound(conn, version_wanted: int) -> int | None:
    """db.still_sound on PostgreSQL: a server that restarted, or ended the session, fails the
    statement, and the caller opens a new connection (or, the server gone, works offline). A
    server that does not answer within ANSWER_TIMEOUT_S is Unreachable, and the connection is
    closed: a link that dropped silently would otherwise keep a running till waiting for TCP to
    give up, a quarter of an hour."""
    import psycopg

    raw = conn.raw
    if raw.closed or raw.broken or conn.in_transaction:
        return None
    try:
        row = _sound_row(conn, time.monotonic() + ANSWER_TIMEOUT_S)
    except TimeoutError:
        raw.close()
        raise Unreachable(Phrase("the database server did not answer within {seconds} s ({url})",
                                 seconds=ANSWER_TIMEOUT_S, url=conn.url)) from None
    except psycopg.Error:
        return None
    if row is None or row[0] is None:
        return None
    return int(row[1]) if int(row[0]) == version_wanted else None


_SOUND = b"SELECT MAX(version), (SELECT COALESCE(MAX(id), 0) FROM config_versions) FROM schema_version"
# named by its text: a server session a pooler (PgBouncer, session mode) hands on may hold it already,
# prepared by another till, and only the same text may be taken as the same statement
_SOUND_NAME = b"loyalty_still_sound_" + hashlib.sha256(_SOUND).hexdigest()[:12].encode()
_ALREADY_PREPARED = "42P05"  # duplicate_prepared_statement


def _sound_row(conn, deadline: float) -> tuple | None:
    """The check's row (as bytes), None if it failed. It runs on the bare libpq connection, as a
    statement prepared once per connection: psycopg's calls take no time limit (and a statement
    timeout is the server's, no help when the server cannot be heard), and this way costs the
    till 25 us of CPU against psycopg's 60 (timeit, min of 5 x 500). The connection is left idle,
    as psycopg expects it."""
    from psycopg import pq

    pgconn = conn.raw.pgconn
    if not conn.sound_prepared:
        pgconn.send_prepare(_SOUND_NAME, _SOUND)
        prepared = _results(pgconn, deadline)[:1]
        if not prepared or (prepared[0].status != pq.ExecStatus.COMMAND_OK and
                            prepared[0].error_field(pq.DiagnosticField.SQLSTATE) != _ALREADY_PREPARED.encode()):
            return None
        conn.sound_prepared = True
    pgconn.send_query_prepared(_SOUND_NAME, None)
    first = (_results(pgconn, deadline) or [None])[0]
    if first is None or first.status != pq.ExecStatus.TUPLES_OK or not first.ntuples:
        return None
    return tuple(first.get_value(0, column) for column in range(first.nfields))


def _results(pgconn, deadline: float) -> list:
    """Every result of the statement just sent, read without blocking; TimeoutError past deadline."""
    import select

    def wait(write: bool = False) -> None:
        left = deadline - time.monotonic()
        sockets = ([], [pgconn.socket]) if write else ([pgconn.socket], [])
        if left <= 0 or not any(select.select(*sockets, [], left)):
            raise TimeoutError

    while pgconn.flush():
        wait(write=True)
    results = []
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                return results
            results.append(result)
        wait()
