"""A till's outbox: visits recorded while the database server could not be reached, and the last
card seen of each customer, so that an offline card shows balances (services/offline.py).

Its own small SQLite file beside the till's config (system/paths.outbox_path), never the shop's
database. Each pending visit carries the idempotency key it was given when it was recorded:
pushing it is `record_visit` with ref = key, so a push repeated after a crash records nothing twice.
"""

import json
import sqlite3
from pathlib import Path

from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import db as store_db

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, phone TEXT NOT NULL, "
    "at TEXT NOT NULL, amount INTEGER NOT NULL, items INTEGER NOT NULL, note TEXT, name TEXT, category TEXT, "
    "location TEXT, "
    "recorded_at TEXT NOT NULL, pushed_at TEXT, visit_id INTEGER, problem TEXT)",
    "CREATE INDEX IF NOT EXISTS pending_waiting ON pending (pushed_at, id)",
    "CREATE TABLE IF NOT EXISTS cards (phone TEXT PRIMARY KEY, card TEXT NOT NULL, seen_at TEXT NOT NULL)",
)
FIELDS = ("key", "phone", "at", "amount", "items", "note", "name", "category", "location", "recorded_at")


def open_outbox(path, durable: bool = True):
    conn = _connect(path, durable)
    for sql in _SCHEMA:
        conn.execute(sql)
    return conn


def _connect(path: Path, durable: bool) -> sqlite3.Connection:
    """The outbox file, created owner-only on first use. WAL; `durable`: every
    commit reaches the disk before it returns (an offline visit, whose card is printed next), else
    a commit may wait for the next checkpoint (the cache of last seen cards: a lost one costs nothing)."""
    path = Path(path)
    if not path.exists():
        store_db.create_private(path)
    try:
        conn = sqlite3.connect(str(path), timeout=store_db.BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    except sqlite3.Error as exc:
        raise Refused(Phrase("cannot open the till's outbox {path}: {exc}", path=path, exc=exc)) from None
    return conn


def add(conn, visit: dict) -> None:
    """Record one offline visit; committed (and, durable, on disk) when this returns."""
    marks = ", ".join("?" for _ in FIELDS)
    conn.execute(f"INSERT INTO pending ({', '.join(FIELDS)}) VALUES ({marks})", [visit[f] for f in FIELDS])


def known_key(conn, key: str):
    return conn.execute("SELECT * FROM pending WHERE key = ?", (key,)).fetchone()


def waiting(conn) -> list:
    """The visits not pushed yet, in the order they were recorded (a refused one waits for `sync`)."""
    return conn.execute("SELECT * FROM pending WHERE pushed_at IS NULL ORDER BY id").fetchall()


def has_waiting(conn) -> bool:
    return conn.execute("SELECT 1 FROM pending WHERE pushed_at IS NULL AND problem IS NULL LIMIT 1"
                        ).fetchone() is not None


def mark_pushed(conn, key: str, at: str, visit_id: int) -> None:
    conn.execute("UPDATE pending SET pushed_at = ?, visit_id = ?, problem = NULL WHERE key = ?", (at, visit_id, key))


def mark_problem(conn, key: str, problem: str) -> None:
    conn.execute("UPDATE pending SET problem = ? WHERE key = ?", (problem, key))


def remember_cards(conn, cards: list[tuple[str, dict, str]]) -> None:
    """Keep each (phone, card, seen at): one transaction for them all."""
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO cards (phone, card, seen_at) VALUES (?, ?, ?) ON CONFLICT (phone) "
                         "DO UPDATE SET card = excluded.card, seen_at = excluded.seen_at",
                         [(phone, json.dumps(card, sort_keys=True), at) for phone, card, at in cards])


def last_card(conn, phone: str) -> tuple[dict, str] | None:
    """The customer's card as last seen online, and when."""
    row = conn.execute("SELECT card, seen_at FROM cards WHERE phone = ?", (phone,)).fetchone()
    return (json.loads(row["card"]), row["seen_at"]) if row else None
