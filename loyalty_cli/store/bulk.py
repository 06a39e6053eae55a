"""The importer's SQL: rows in with executemany and explicit ids, lookups a chunk at a time.

The ids come from blocks set aside for the import (`IdBlock`, db.reserve_ids), and the rows an
import added are found again by their ids being in its block: on PostgreSQL, tills add rows
meanwhile, with ids outside it, and no table is locked for the length of the import.

A big file goes in thousands of rows per statement, not a statement per row as the counter
writes them; the cached balances written here equal the ledger sums (`loyalty doctor` checks).
The transaction around it all, and the pragmas, are db.py's (the one place for BEGIN/PRAGMA).
"""

import secrets
import sqlite3

from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import db as store_db
from loyalty_cli.store.counter import VOUCHER_ALPHABET, VOUCHER_LENGTH

CHUNK = 500  # values per IN (...) lookup
BULK_ROWS = 20_000  # from this many new rows, indexes are rebuilt once rather than kept up row by row


def placeholders(count: int) -> str:
    """'?,?,?' for an IN (...) list of `count` values."""
    return ",".join("?" * count)


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class DeferredIndexes:
    """A table's indexes dropped for a bulk insert and rebuilt after it, in the same transaction.

    Keeping seven indexes up to date row by row costs several times more than building each
    once from the finished table. The schema change is part of the import's transaction: a
    failed import rolls it back with everything else, and no other connection ever sees it.
    """

    def __init__(self, conn, table: str, adding: int, keep=()):
        self.conn, self.dropped = conn, []
        if store_db.is_postgres(conn):
            return  # PostgreSQL keeps its indexes (and the tills their use of them) through an import
        existing = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]
        if adding < BULK_ROWS or adding < existing // 2:
            return  # a few rows into a big table: cheaper to keep the indexes
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall():
            if name not in keep:
                conn.execute(f'DROP INDEX "{name}"')
                self.dropped.append((name, sql))

    def restore(self) -> None:
        for name, sql in self.dropped:
            try:
                self.conn.execute(sql)
            except sqlite3.IntegrityError as exc:
                raise Refused(Phrase("the import would break the unique index {name} ({exc}); nothing was imported",
                                     name=name, exc=exc)) from None
        self.dropped = []


def voucher_codes(conn, count: int) -> list[str]:
    """`count` fresh voucher codes, unused in the database and among themselves."""
    alphabet = VOUCHER_ALPHABET  # 32 letters: a byte's low 5 bits pick one without bias
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        raw = secrets.token_bytes(wanted * VOUCHER_LENGTH)
        fresh = {"".join(alphabet[b & 31] for b in raw[i:i + VOUCHER_LENGTH])
                 for i in range(0, len(raw), VOUCHER_LENGTH)} - codes
        for chunk in chunks(fresh):
            taken = conn.execute(f"SELECT code FROM vouchers WHERE code IN ({placeholders(len(chunk))})", chunk)
            fresh -= {row[0] for row in taken}
        codes |= fresh
    return list(codes)


class IdBlock:
    """Ids of one table set aside for an import: `next` is the next one to give, `end` the last.

    `take(n)` gives n consecutive ids; `room(n)` makes sure n more can be given one by one from
    `next` (hot loops then count `next` up themselves), setting aside another block when this one
    is used up. On SQLite that block follows on; on PostgreSQL it may not (tills took ids in
    between), so a table whose rows are found again by their ids (visits, customers created) is
    given a block big enough for the whole file up front and `span` is then the one range to look in.
    """

    def __init__(self, conn, table: str, count: int, step: int | None = None):
        self.conn, self.table = conn, table
        self.step = max(step or count, 1)
        self.start = self.next = store_db.reserve_ids(conn, table, max(count, 1))
        self.first = self.start  # of the first block: with `end`, the span of every id given
        self.end = self.start + max(count, 1) - 1

    @property
    def span(self) -> tuple[int, int]:
        """(first, last) id of the blocks: the import's rows of the table have their ids in it."""
        return self.first, self.end

    def take(self, count: int) -> range:
        self.room(count)
        ids = range(self.next, self.next + count)
        self.next += count
        return ids

    def room(self, count: int) -> None:
        if self.next + count - 1 <= self.end:
            return
        size = max(count, self.step)
        self.start = self.next = store_db.reserve_ids(self.conn, self.table, size, after=self.end)
        self.end = self.start + size - 1

    def restart(self) -> None:
        """The ids given so far were rolled back (a savepoint): give them again."""
        self.next = self.start

    def mine(self, row_id: int) -> bool:
        return self.first <= row_id <= self.end


# ---- tables at a glance ------------------------------------------------------------------------

def is_empty(conn, table: str) -> bool:
    return not conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]


def row_count(conn, table: str) -> int:
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# ---- the import's own record -------------------------------------------------------------------

def record_import(conn, kind: str, source: str, sha256: str, at: str) -> int:
    store_db.one_import_at_a_time(conn)
    return conn.execute("INSERT INTO imports (kind, source, sha256, at, summary) VALUES (?, ?, ?, ?, '{}')",
                        (kind, source, sha256, at)).lastrowid


def save_import_summary(conn, import_id: int, summary_json: str) -> None:
    conn.execute("UPDATE imports SET summary = ? WHERE id = ?", (summary_json, import_id))


def imported_visits_before(conn, import_id: int) -> bool:
    """Did an earlier import bring visits? (Without one, no visit in a file can be already there.)"""
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM imports WHERE kind = 'visits' AND id < ?)",
                             (import_id,)).fetchone()[0])


# ---- customers ---------------------------------------------------------------------------------

def customers_with_phones(conn, phones: list, lock: bool = False):
    """The customers with these phones; `lock`: their rows locked for the rest of the transaction
    (on PostgreSQL: an import writing balances computed from what it reads here)."""
    locking = store_db.locking(conn) if lock else ""
    return conn.execute(f"SELECT * FROM customers WHERE phone IN ({placeholders(len(phones))}){locking}", phones)


def customer_phones(conn, phones: list | None = None):
    """(id, phone, has no name) of these phones' customers, or of every customer."""
    if phones is None:
        return conn.execute("SELECT id, phone, name IS NULL FROM customers")
    return conn.execute(f"SELECT id, phone, name IS NULL FROM customers WHERE phone IN ({placeholders(len(phones))})",
                        phones)


def insert_customers(conn, rows) -> None:
    """Whole customers with their balances: (id, phone, name, email, enrolled_at, note, points,
    credit, punches JSON, last_visit_at, birthday)."""
    conn.executemany(
        "INSERT INTO customers (id, phone, name, email, enrolled_at, note, points, credit, punches, "
        "last_visit_at, birthday) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_new_customers(conn, rows) -> None:
    """Customers met in a visits file: (id, phone, name, enrolled_at); the visits fill the rest."""
    conn.executemany("INSERT INTO customers (id, phone, name, enrolled_at) VALUES (?, ?, ?, ?)", rows)


def add_to_customers(conn, rows) -> None:
    """A card's balances onto existing customers: (name, email, note, birthday if they have none,
    points and credit to add, punches JSON, last_visit_at, id)."""
    conn.executemany(
        "UPDATE customers SET name = COALESCE(name, ?), email = COALESCE(email, ?), note = COALESCE(note, ?), "
        "birthday = COALESCE(birthday, ?), "
        "points = points + ?, credit = credit + ?, punches = ?, last_visit_at = ? WHERE id = ?", rows)


def add_visit_totals(conn, new_customers: tuple, new_visits: tuple) -> int:
    """The cached visits/spend/last visit, summed over the visits with ids in `new_visits`
    (first, last); customers with ids in `new_customers` (created by the import) are enrolled at
    their first visit. The number of customers updated."""
    return conn.execute(
        "UPDATE customers SET visits = customers.visits + t.n, spend = customers.spend + t.s, "
        "last_visit_at = MAX(COALESCE(customers.last_visit_at, ''), t.last), "
        "enrolled_at = CASE WHEN customers.id BETWEEN ? AND ? THEN MIN(customers.enrolled_at, t.first) "
        "ELSE customers.enrolled_at END "
        "FROM (SELECT customer_id, COUNT(*) AS n, SUM(amount) AS s, MIN(at) AS first, MAX(at) AS last "
        "FROM visits WHERE id BETWEEN ? AND ? GROUP BY customer_id) AS t WHERE customers.id = t.customer_id",
        (*new_customers, *new_visits)).rowcount


def name_customers(conn, names) -> None:
    """(name, id): a name for customers who have none."""
    conn.executemany("UPDATE customers SET name = ? WHERE id = ? AND name IS NULL", names)


def rename_customers(conn, names) -> None:
    """(name, id): names read right at last, replacing the misreading an earlier import stored."""
    conn.executemany("UPDATE customers SET name = ? WHERE id = ?", names)


def customer_birthdays(conn):
    """(id, birthday as stored) of the customers with a birthday on file."""
    return conn.execute("SELECT id, birthday FROM customers WHERE birthday IS NOT NULL").fetchall()


def birthday_vouchers(conn, rules: list[str]):
    """(customer_id, rule, issued_at) of the vouchers these birthday rules issued, voided ones left
    out (as store.counter.birthday_vouchers, for every customer at once)."""
    return conn.execute(f"SELECT customer_id, rule, issued_at FROM vouchers WHERE rule IN ({placeholders(len(rules))}) "
                        "AND status != 'void'", rules).fetchall()


def file_birthdays(conn, rows) -> None:
    """(birthday, id): a birthday for customers who have none."""
    conn.executemany("UPDATE customers SET birthday = ? WHERE id = ? AND birthday IS NULL", rows)


def balance_of(conn, customer_id: int):
    """The customer's balances, the row locked until the import ends (PostgreSQL): the import
    writes them back with what it adds, so no till may change them in between."""
    return conn.execute("SELECT points, credit, punches FROM customers WHERE id = ?" + store_db.locking(conn),
                        (customer_id,)).fetchone()


def set_balances(conn, rows) -> None:
    """(points, credit, punches JSON, id)."""
    conn.executemany("UPDATE customers SET points = ?, credit = ?, punches = ? WHERE id = ?", rows)


# ---- ledger, vouchers, cards -------------------------------------------------------------------

def insert_ledger(conn, rows) -> None:
    """(id, customer_id, at, kind, points, punches, credit, rule, reason, voucher, reward, earned_at)."""
    conn.executemany(
        "INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, reason, voucher, reward, "
        "earned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_visit_ledger(conn, rows) -> None:
    """Entries a visit earned: insert_ledger's columns with visit_id before voucher, and the card
    of a promotion's extra punches last."""
    conn.executemany(
        "INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, reason, visit_id, voucher, "
        "reward, earned_at, card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_vouchers(conn, rows) -> None:
    """(code, customer_id, reward, rule, status, issued_at, expires_at, ledger_id)."""
    conn.executemany(
        "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, ledger_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_visit_vouchers(conn, rows) -> None:
    """Vouchers a visit earned: insert_vouchers' columns with visit_id before ledger_id, then
    ended_at (when an expired one expired)."""
    conn.executemany(
        "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, visit_id, ledger_id, "
        "ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def cards_imported_before(conn, card: str, phones: list):
    """(phone, digest, line, source, at, encoding) of the cards imported before for these phones
    (encoding: the one that import read its file in)."""
    return conn.execute(
        "SELECT c.phone, c.digest, c.line, i.source, i.at, json_extract(i.summary, '$.encoding') AS encoding "
        "FROM import_cards c "
        "JOIN imports i ON i.id = c.import_id "
        f"WHERE c.card = ? AND c.phone IN ({placeholders(len(phones))})", [card, *phones])


def insert_import_cards(conn, rows) -> None:
    """(phone, card, customer_id, import_id, line, digest): what a re-run must find unchanged."""
    conn.executemany(
        "INSERT INTO import_cards (phone, card, customer_id, import_id, line, digest) VALUES (?, ?, ?, ?, ?, ?)",
        rows)


# ---- visits ------------------------------------------------------------------------------------

def insert_visits(conn, rows) -> None:
    """(id, customer_id, at, local_day, amount, items, note, ref, category), from an import."""
    conn.executemany(
        "INSERT INTO visits (id, customer_id, at, local_day, amount, items, note, ref, category, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'import')", rows)


def imported_visits_at(conn, pairs: list, this_import: tuple):
    """(customer_id, at, amount, items, note, ref) of each visit imported before, its id outside
    `this_import` (first, last), at one of these (customer_id, at) pairs (through a temporary
    table: too many for IN)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_probe (customer_id INTEGER, at TEXT)")
    conn.execute("DELETE FROM import_probe")
    conn.executemany("INSERT INTO import_probe VALUES (?, ?)", pairs)
    return conn.execute(
        "SELECT v.customer_id, v.at, v.amount, v.items, v.note, v.ref FROM import_probe p "
        "JOIN visits v ON v.customer_id = p.customer_id AND v.at = p.at "
        "WHERE v.source = 'import' AND v.id NOT BETWEEN ? AND ?", this_import)


def visits_with_refs(conn, refs: list):
    """(ref, id) of the visits with these receipts."""
    return conn.execute(f"SELECT ref, id FROM visits WHERE ref IN ({placeholders(len(refs))})", refs)


def visits_in_count(conn, ids: tuple) -> int:
    return conn.execute("SELECT COUNT(*) FROM visits WHERE id BETWEEN ? AND ?", ids).fetchone()[0]


def visits_in(conn, ids: tuple, since: tuple | None = None, limit: int = 1 << 62) -> list:
    """(id, customer_id, at, amount, items, category) of the visits with ids in `ids` (first, last),
    in time order; with `since` (at, id), only those that come after that visit, at most `limit`."""
    if since is None:
        return conn.execute("SELECT id, customer_id, at, amount, items, category FROM visits WHERE id BETWEEN ? AND ? "
                            "ORDER BY at, id LIMIT ?", (*ids, limit)).fetchall()
    at, visit_id = since
    return conn.execute(
        "SELECT id, customer_id, at, amount, items, category FROM visits WHERE id BETWEEN ? AND ? "
        "AND (at > ? OR (at = ? AND id > ?)) "
        "ORDER BY at, id LIMIT ?", (*ids, at, at, visit_id, limit)).fetchall()


# store.state's tier window, for a visit already in the table: (customer_id, since, at, at, id) -> (spend,
# count) over the 365 days up to its time, counting visits recorded before it (same time, smaller id)
# but not itself or later ones. Run once a visit by the importer's replay, hence a statement, not a function.
TIER_WINDOW = ("SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM visits WHERE customer_id = ? AND at > ? "
               "AND (at < ? OR (at = ? AND id < ?)) AND voided_at IS NULL")
