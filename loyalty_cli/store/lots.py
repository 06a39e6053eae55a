"""Points lots in the database: a customer's points lines as domain/lots.py reads them, and the
book it makes of them, kept so that a visit does not replay a whole history.

`lot_books` (migration 8) holds, for a customer, the lots still open and the points owed after
their ledger line `through`, as JSON: {"owed": n, "lots": [[id, at, points, visit, left, expired,
voided], ...]}. A closed lot changes nothing that later lines do (lots.replay), except a void of
its own visit, which replays from the first line (`whole_book`). The counter brings a customer's
book up to date in every transaction that writes their ledger (`keep`); lines that an import
writes after it are replayed on top when it is read (`book`).

A customer with no book has never had a point taken: redemptions, expiries and voids are
written by the counter, which keeps a book, and migration 8 gave one to everyone who had. Every
lot of theirs is whole, so the points due by a moment are simply those earned up to its cutoff,
which SQL sums for everyone at once (`due_by`). `problems` (for `loyalty doctor`) checks that
no one without a book has had points taken, and every kept book against the engine.
"""

import json
from datetime import datetime, timedelta

from loyalty_cli.domain import clock, lots
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.lots import Book, Event, Lot

EMPTY_BOOK = '{"owed":0,"lots":[]}'
NAMES_ITS_LOT = (lots.VOID, lots.EXPIRE)  # the kinds whose `reverses` is the lot they take from


def events(conn, customer_id: int, after: int = 0, through: int | None = None) -> list[Event]:
    """The customer's points lines written after ledger line `after` (up to `through`), in order."""
    rows = conn.execute(
        "SELECT id, kind, points, COALESCE(earned_at, at), visit_id, reverses FROM ledger "
        "WHERE customer_id = ? AND id > ? AND id <= ? AND points != 0 ORDER BY id",
        (customer_id, after, 2**63 - 1 if through is None else through))
    return [_event(*row) for row in rows]


def _event(line_id: int, kind: str, points: int, at: str, visit: int | None, lot: int | None) -> Event:
    return Event(line_id, kind, points, clock.from_db(at), visit, lot if kind in NAMES_ITS_LOT else None)


def whole_book(conn, customer_id: int) -> Book:
    """The customer's lots replayed from their first line: closed lots included (a void needs them)."""
    return lots.replay(events(conn, customer_id))


def kept(conn, customer_id: int) -> tuple[Book, int] | None:
    """The kept book and the ledger line it was kept after, if the customer has one."""
    row = conn.execute("SELECT book, through FROM lot_books WHERE customer_id = ?", (customer_id,)).fetchone()
    return (loads(row[0]), row[1]) if row else None


def _kept_through(conn, customer_id: int) -> int | None:
    row = conn.execute("SELECT through FROM lot_books WHERE customer_id = ?", (customer_id,)).fetchone()
    return row[0] if row else None


# The kept book's `through` and its text only when it is later than what the caller holds
# (parsing a long book is most of the cost), and on the same rows every ledger line written
# after the later of the two: one statement. All lines, not only points lines: the last one is
# what the book is kept through.
_SINCE = ("SELECT b.through, CASE WHEN b.through > :after THEN b.book END, l.id, l.kind, l.points, "
          "COALESCE(l.earned_at, l.at), l.visit_id, l.reverses FROM (SELECT 1 AS one) o "
          "LEFT JOIN lot_books b ON b.customer_id = :customer "
          "LEFT JOIN ledger l ON l.customer_id = :customer "
          "AND l.id > CASE WHEN b.through > :after THEN b.through ELSE :after END ORDER BY l.id")


def current(conn, customer_id: int, start: tuple[Book, int] | None = None) -> tuple[Book, int]:
    """The customer's lots now, and the last ledger line they take in: the kept book (or
    `start`, a book the caller read before, unless the kept one is later) and every points
    line written after it. A counter transaction reads it once and hands it on as `start`:
    parsing a long book is most of the cost."""
    return _current(conn, customer_id, start)[0]


def _current(conn, customer_id: int, start) -> tuple[tuple[Book, int], int | None, int | None]:
    """(current()'s answer, the kept book's through, the customer's last ledger line)."""
    after = -1 if start is None else start[1]
    rows = conn.execute(_SINCE, {"customer": customer_id, "after": after}).fetchall()
    kept_through, text = rows[0][0], rows[0][1]
    if text is not None:
        start = (loads(text), kept_through)
    book, after = start or (None, 0)
    lines = [row[2:] for row in rows if row[2] is not None]
    new = [_event(*line) for line in lines if line[2] != 0]
    # no line after `after`: the last one is `after` itself (a line of theirs), or they have none
    last = lines[-1][0] if lines else (after or None)
    return (lots.replay(new, book), max(after, new[-1].id if new else 0)), kept_through, last


def book(conn, customer_id: int) -> Book:
    return current(conn, customer_id)[0]


def keep(conn, customer_id: int, start: tuple[Book, int] | None = None) -> Book:
    """The customer's lots now (`start` and the lines written since), kept through their last
    ledger line. Only inside the write transaction that wrote the lines: nothing else may write
    between the reads and the keep."""
    (now, _), through, last = _current(conn, customer_id, start)
    if last is not None and (through is None or through < last):
        conn.execute("INSERT INTO lot_books (customer_id, through, book) VALUES (?, ?, ?) ON CONFLICT (customer_id) "
                     "DO UPDATE SET through = excluded.through, book = excluded.book", (customer_id, last, dumps(now)))
    return now


def dumps(book: Book) -> str:
    return json.dumps({"owed": book.owed, "lots": [
        [lot.id, _text(lot.at), lot.points, lot.visit, lot.left, lot.expired, lot.voided]
        for lot in book.open().lots]}, separators=(",", ":"))


def loads(text: str) -> Book:
    global _LOADED
    data = json.loads(text)
    rows = data["lots"]  # [id, at, points, visit, left, expired, voided]
    texts = [row[1] for row in rows]
    moments = list(map(clock.from_db, texts))
    _LOADED = dict(zip(moments, texts, strict=True))
    for row, at in zip(rows, moments, strict=True):
        row[1] = at
    return Book(tuple(map(Lot._make, rows)), data["owed"])


# A counter transaction reads its customer's book, then writes it back with all its lots' times:
# the texts of the last book read are kept, so writing it back formats only the new lot's time.
# Formatting 45 times (clock.to_db) cost 145 us, a third of a running till's lot-book work a visit.
_LOADED: dict[datetime, str] = {}


def _text(at: datetime) -> str:
    text = _LOADED.get(at)
    return clock.to_db(at) if text is None else text


# ---- due points ------------------------------------------------------------------------------

def points_now(conn, customer_id: int, balance: int, now: datetime, points_days: int | None,
               known: Book | None = None) -> int:
    """What the card shows: the balance less the points due but not yet written down.
    `known`: the customer's book as it is now, if the caller has it."""
    if points_days is None:
        return balance
    if known is None and _kept_through(conn, customer_id) is None:
        # nothing ever taken: what was earned up to the cutoff is what is due
        return balance - max(0, balance - _earned_after(conn, customer_id, now - timedelta(days=points_days)))
    return lots.points_now(known or book(conn, customer_id), now, points_days)


def _earned_after(conn, customer_id: int, cutoff: datetime) -> int:
    return conn.execute("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE customer_id = ? AND earned_at > ?",
                        (customer_id, clock.to_db(cutoff))).fetchone()[0]


def due_by(conn, moments: tuple[datetime, datetime], points_days: int) -> dict[int, tuple[int, int]]:
    """customer id -> (points due by the first moment, by the second), for everyone with some:
    plain sums for those without a book (ledger_lots_cover, reading only the last points_days),
    sums over the kept book for those whose book takes in their last line, and the engine for
    the rest (those with lines an import wrote after their book)."""
    cutoffs = {f"cutoff{i}": clock.to_db(moment - timedelta(days=points_days)) for i, moment in enumerate(moments)}
    due: dict[int, tuple[int, int]] = {}
    for cid, first, second in _json_rows(conn, (
            "WITH recent AS (SELECT customer_id, SUM(points) AS after0, "
            "SUM(CASE WHEN earned_at > :cutoff1 THEN points ELSE 0 END) AS after1 "
            "FROM ledger WHERE earned_at IS NOT NULL AND earned_at > :cutoff0 GROUP BY customer_id) "
            "SELECT json_group_array(json_array(c.id, MAX(0, c.points - COALESCE(r.after0, 0)), "
            "MAX(0, c.points - COALESCE(r.after1, 0)))) FROM customers c "
            "LEFT JOIN recent r ON r.customer_id = c.id WHERE c.points > COALESCE(r.after1, 0) "
            "AND NOT EXISTS (SELECT 1 FROM lot_books b WHERE b.customer_id = c.id)"), cutoffs):
        due[cid] = (first, second)
    for cid, first, second in _json_rows(conn, (
            "SELECT json_group_array(json_array(customer_id, first, second)) FROM ("
            "SELECT b.customer_id, SUM(CASE WHEN json_extract(l.value, '$[1]') <= :cutoff0 "
            "THEN CAST(json_extract(l.value, '$[4]') AS INTEGER) ELSE 0 END) AS first, "
            "SUM(CASE WHEN json_extract(l.value, '$[1]') <= :cutoff1 "
            "THEN CAST(json_extract(l.value, '$[4]') AS INTEGER) ELSE 0 END) "
            "AS second FROM lot_books b CROSS JOIN json_each(b.book, '$.lots') l "
            "WHERE b.through >= (SELECT MAX(id) FROM ledger WHERE customer_id = b.customer_id) "
            "GROUP BY b.customer_id) sums WHERE second > 0"), cutoffs):
        due[cid] = (first, second)
    for (cid,) in conn.execute("SELECT customer_id FROM lot_books b "
                               "WHERE through < (SELECT MAX(id) FROM ledger WHERE customer_id = b.customer_id)"):
        behind = book(conn, cid)
        first, second = (lots.expiring_by(behind, moment, points_days) for moment in moments)
        if second:
            due[cid] = (first, second)
    return due


def _json_rows(conn, sql: str, args) -> list:
    """One query's rows as one JSON value: a single step of SQLite (a report may run this in a
    thread, which then needs the GIL once rather than once per row)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return json.loads(cursor.execute(sql, args).fetchone()[0])


# ---- integrity -------------------------------------------------------------------------------

def problems(conn) -> list[str]:
    """What `loyalty doctor` reports about lots: points taken from someone without a book (their
    due points would be summed as if all were still there), and kept books that differ from
    their ledger replayed from the first line."""
    found = [Phrase("{phone}: points were taken from this customer but no lot book is kept (due points would be "
                    "wrong)", phone=phone)
             for (phone,) in conn.execute(  # one pass over the ledger, not one per customer
                 "SELECT phone FROM customers WHERE id IN (SELECT customer_id FROM ledger WHERE points < 0) "
                 "AND id NOT IN (SELECT customer_id FROM lot_books) ORDER BY id")]
    for cid, phone, text, through in conn.execute(
            "SELECT b.customer_id, c.phone, b.book, b.through FROM lot_books b "
            "JOIN customers c ON c.id = b.customer_id ORDER BY b.customer_id").fetchall():
        if loads(text) != lots.replay(events(conn, cid, through=through)).open():
            found.append(Phrase("{phone}: the lot book kept after ledger line {through} is not what the ledger "
                                "replays to", phone=phone, through=through))
    return found
