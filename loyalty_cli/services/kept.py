"""What a long-running till (`loyalty till`, cli/till.py) keeps from one visit to the next: the
database connection, the outbox's connections, the config it read, the phone numbers it has
seen, the last cards seen (written to the outbox every CARDS_EVERY_S) and the warnings it gave.

Every command opens its database and closes it again, and `loyalty visit` pays for that at each
visit. On PostgreSQL a new connection is a new server process with cold caches: about 22-24 ms
of server CPU a visit, against 3-4 ms on a connection already warm (benchmarks/bench_tills.py). The
till's sessions (services/session.py) take what is kept here and give it back. Nothing is
trusted blindly:
- a connection is reused only while it is sound (store.db.still_sound: open, in no
  transaction, at this release's schema) and, for a SQLite file, while the file at its path is
  the one it has open. Otherwise it is closed and a new one is opened, and a server that cannot
  be reached then sends the visit to the outbox as usual;
- the outbox's connection only while its file is the same file;
- the config only while the file holds the same bytes: an owner who edits it changes the next
  visit; the published rules only while no newer version is published (its id is read at every
  visit, by the statement that checks the connection);
- a phone number's cache rows for ever: how a typed number reads, and how the shop writes a
  number, never change.
"""

import os
import time
from contextlib import suppress

from loyalty_cli.config import load as config_load
from loyalty_cli.config import published
from loyalty_cli.store import config_versions, outbox
from loyalty_cli.store import db as store_db
from loyalty_cli.system import paths

PHONE_KEYS_KEPT = 100_000  # ~20 MB at most
CARDS_EVERY_S = 2.0


class Kept:
    def __init__(self) -> None:
        self._databases: dict[str, tuple] = {}  # path -> (connection, the file's identity; None for a server)
        self._outboxes: dict[tuple, tuple] = {}  # (path, durable) -> (connection, the file's identity)
        self._config: tuple | None = None  # ((path, origin, bytes), Config)
        self._combined: tuple | None = None  # ((version id, sha256), the local Config, Config)
        self._published: dict[str, tuple] = {}  # path -> (newest published id, its row or None)
        self._newest: dict[str, tuple] = {}  # path -> (connection, the newest published id take() read on it)
        self.said: set = set()  # the warnings said already: each once a run, not at every visit
        self._phone_keys: dict[str, str] = {}
        self._cards: dict[tuple, tuple] = {}  # (outbox path, phone) -> (card, seen at): not written yet
        self._cards_written = time.monotonic()

    def take(self, path):
        """The connection kept for path, if it is still sound and (a SQLite file) the file at path
        is still the one it has open: a backup restored over it, or the file moved away, must not
        leave the till writing into a file nobody will read again. Else None (and it is closed).
        Unreachable (closed too) when a server does not answer the check in time."""
        conn, identity = self._databases.pop(str(path), (None, None))
        if conn is None:
            return None
        newest = store_db.still_sound(conn) if identity == _identity(path) else None
        if newest is not None:
            self._newest[str(path)] = (conn, newest)
            return conn
        _close(conn)
        return None

    def published(self, path, conn):
        """config_versions.latest(conn), read again only when take() saw a newer id than the one
        kept: a till asks it at every visit, and the rules rarely change."""
        taken, newest = self._newest.pop(str(path), (None, None))
        kept = self._published.get(str(path))
        if taken is not conn or kept is None or kept[0] != newest:
            row = config_versions.latest(conn)
            kept = (row["id"] if row else 0, row)
            self._published[str(path)] = kept
        return kept[1]

    def give_back(self, path, conn) -> None:
        previous, _ = self._databases.pop(str(path), (None, None))
        if previous is not None and previous is not conn:
            _close(previous)
        self._databases[str(path)] = (conn, _identity(path))

    def phone_keys(self) -> dict:
        """The phone cache rows the till's sessions read (services/session.py): a typed form's
        number, and how the shop writes a number, do not change, so a number seen before costs
        no statement. Emptied when it holds PHONE_KEYS_KEPT rows: a till runs for months."""
        if len(self._phone_keys) > PHONE_KEYS_KEPT:
            self._phone_keys.clear()
        return self._phone_keys

    def remember_card(self, path, phone: str, card: dict, at: str) -> None:
        """services/offline.remember_card at a running till: the last cards seen are written to
        the outbox every CARDS_EVERY_S, in one transaction, rather than one a visit (a write to the
        outbox at each visit was ~5% of a till's CPU). They are a cache for offline cards: a till
        killed loses at most that much of it, and an offline card then shows older balances,
        with the time they were seen."""
        self._cards[(str(path), phone)] = (card, at)
        if time.monotonic() - self._cards_written >= CARDS_EVERY_S:
            self.write_cards()

    def write_cards(self) -> None:
        """Write the cards held: before an offline visit reads one, every CARDS_EVERY_S, at the end."""
        held, self._cards = self._cards, {}
        self._cards_written = time.monotonic()
        by_outbox: dict[str, list] = {}
        for (path, phone), (card, at) in held.items():
            by_outbox.setdefault(path, []).append((phone, card, at))
        for path, cards in by_outbox.items():
            outbox.remember_cards(self.outbox(path, durable=False), cards)

    def outbox(self, path, durable: bool):
        """The till's outbox, opened once (store/outbox.open_outbox) and kept open."""
        key = (str(path), durable)
        kept = self._outboxes.pop(key, None)
        if kept is not None and kept[1] == _identity(path):
            self._outboxes[key] = kept
            return kept[0]
        if kept is not None:
            _close(kept[0])
        conn = outbox.open_outbox(path, durable)
        self._outboxes[key] = (conn, _identity(path))
        return conn

    def config(self, path, origin: str):
        """The config in the file at path (None: the built-in defaults), parsed again only when
        its bytes change."""
        key = (str(path), origin, None if path is None else config_load.read(path))
        if self._config is None or self._config[0] != key:
            self._config = (key, config_load.load(path, origin, data=key[2]))
        return self._config[1]

    def combined(self, version, local):
        """config/published.combine(version, local), worked out again only for another version
        (or another local config): parsing the published rules costs ~3 ms."""
        key = (version["id"], version["sha256"])
        if self._combined is None or self._combined[0] != key or self._combined[1] is not local:
            self._combined = (key, local, published.combine(version, local))
        return self._combined[2]

    def close(self) -> None:
        with suppress(Exception):  # a cache: an outbox that cannot be written must not fail the till's end
            self.write_cards()
        for conn, _ in self._databases.values():
            _close(conn)
        for conn, _ in self._outboxes.values():
            _close(conn)
        self._databases.clear()
        self._outboxes.clear()


def _identity(path) -> tuple | None:
    if paths.is_server(path):
        return None  # a URL: no file to stat
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _close(conn) -> None:
    with suppress(Exception):  # a connection already broken has nothing left to close
        conn.close()
