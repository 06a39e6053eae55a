"""Schema migrations, applied on open: users never run an upgrade step.

Each numbered step runs in its own transaction and bumps PRAGMA user_version, which the
counter path reads cheaply to skip this module (and sqlite-utils) entirely.
"""

import sqlite3
from contextlib import suppress
from pathlib import Path

from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase

# The triggers that make the ledger append-only (step 1). `loyalty forget` lifts the first for
# the one statement that erases free text a person typed into a line (store/privacy.py).
LEDGER_TRIGGERS = {
    "ledger_no_update": "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger "
                        "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    "ledger_no_delete": "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger "
                        "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
}


def _v1(db) -> None:
    db["customers"].create(
        {"id": int, "phone": str, "name": str, "email": str, "birthday": str, "referred_by": int,
         "enrolled_at": str, "note": str, "points": int, "credit": int, "punches": str,
         "visits": int, "spend": int, "last_visit_at": str},
        pk="id", not_null={"phone", "enrolled_at", "points", "credit", "punches", "visits", "spend"},
        defaults={"points": 0, "credit": 0, "punches": "{}", "visits": 0, "spend": 0},
        foreign_keys=[("referred_by", "customers", "id")], strict=True,
    )
    db["customers"].create_index(["phone"], unique=True)
    db["customers"].create_index(["last_visit_at"])
    db["visits"].create(
        {"id": int, "customer_id": int, "at": str, "local_day": str, "amount": int, "items": int,
         "note": str, "ref": str, "source": str, "voided_at": str, "void_reason": str},
        pk="id", not_null={"customer_id", "at", "local_day", "amount", "items", "source"},
        defaults={"items": 1, "source": "counter"},
        foreign_keys=[("customer_id", "customers", "id")], strict=True,
    )
    db["visits"].create_index(["customer_id", "at"])
    db["visits"].create_index(["at"])
    db["visits"].create_index(["local_day"])
    db["visits"].create_index(["ref"], unique=True)
    db["vouchers"].create(
        {"code": str, "customer_id": int, "reward": str, "rule": str, "status": str, "issued_at": str,
         "expires_at": str, "redeemed_at": str, "ended_at": str, "visit_id": int, "ledger_id": int},
        pk="code", not_null={"customer_id", "reward", "status", "issued_at"},
        foreign_keys=[("customer_id", "customers", "id"), ("visit_id", "visits", "id")], strict=True,
    )
    db["vouchers"].create_index(["customer_id", "status"])
    db["vouchers"].create_index(["status", "expires_at"])
    db["vouchers"].create_index(["issued_at"])
    db["ledger"].create(
        {"id": int, "customer_id": int, "at": str, "kind": str, "points": int, "punches": int,
         "credit": int, "rule": str, "reason": str, "visit_id": int, "voucher": str, "reward": str,
         "earned_at": str, "reverses": int},
        pk="id", not_null={"customer_id", "at", "kind", "points", "punches", "credit"},
        defaults={"points": 0, "punches": 0, "credit": 0},
        foreign_keys=[("customer_id", "customers", "id"), ("visit_id", "visits", "id"),
                      ("reverses", "ledger", "id")], strict=True,
    )
    db["ledger"].create_index(["customer_id", "id"])
    db["ledger"].create_index(["visit_id"])
    db["ledger"].create_index(["voucher"])
    db["ledger"].create_index(["at"])
    db["phone_keys"].create({"key": str, "phone": str}, pk="key", not_null={"phone"}, strict=True)
    # The ledger is append-only: the database itself refuses edits and deletes.
    for sql in LEDGER_TRIGGERS.values():
        db.execute(sql)


def _v2(db) -> None:
    """Bulk import bookkeeping (issue 3): what was imported, so a re-run doubles nothing.

    `imports` records each run (file hash, summary); `import_cards` holds the card imported
    for each phone and punch card, with a digest of its content; a visit from a file carries
    `import_key`, a digest of its normalised row (and of how many identical rows came before it
    in its file).
    """
    db.execute(
        "CREATE TABLE imports (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, at TEXT NOT NULL, summary TEXT NOT NULL) STRICT")
    db.execute(
        "CREATE TABLE import_cards (phone TEXT NOT NULL, card TEXT NOT NULL, "
        "customer_id INTEGER NOT NULL REFERENCES customers(id), import_id INTEGER NOT NULL REFERENCES imports(id), "
        "line INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (phone, card)) STRICT, WITHOUT ROWID")
    db.execute("ALTER TABLE visits ADD COLUMN import_key BLOB")
    db.execute("CREATE UNIQUE INDEX idx_visits_import_key ON visits (import_key) WHERE import_key IS NOT NULL")


def _v3(db) -> None:
    """Reports (issue 4): covering indexes, so each report is a range scan of an index, not
    of the tables (a year's summary of 1M visits reads no visit or ledger row)."""
    for sql in (
        # Period figures by local day: counts, revenue, distinct customers, voided visits.
        "CREATE INDEX IF NOT EXISTS visits_by_day_cover ON visits (local_day, customer_id, amount, voided_at)",
        # Per customer: the 365-day tier figures, 'visited before the period?', visit rhythm.
        "CREATE INDEX IF NOT EXISTS visits_by_customer_cover "
        "ON visits (customer_id, at, local_day, amount, voided_at)",
        # The few ledger lines that are not earnings: redemptions, expiries, rewards, voids.
        "CREATE INDEX IF NOT EXISTS ledger_events_cover ON ledger (at, kind, points, punches, credit, reverses) "
        "WHERE kind IN ('redeem', 'expire', 'reward', 'void')",
        # Points earned since a moment, for every customer at once (liability, store/lots.py).
        "CREATE INDEX IF NOT EXISTS ledger_lots_cover ON ledger (customer_id, earned_at, points) "
        "WHERE earned_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS vouchers_redeemed_at ON vouchers (redeemed_at) WHERE redeemed_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS vouchers_ended_at ON vouchers (ended_at) WHERE ended_at IS NOT NULL",
    ):
        db.execute(sql)


def _v4(db) -> None:
    """Step 3's ledger_lots_cover serves the sums of points earned since a moment, so the
    narrower index an early build made here is dropped, not kept twice."""
    db.execute("DROP INDEX IF EXISTS idx_ledger_customer_earned")


def _v5(db) -> None:
    """A visit's look for its customer's overdue vouchers: one index range, however many other
    customers' vouchers wait for `loyalty expire`."""
    db["vouchers"].create_index(["customer_id", "status", "expires_at"], index_name="vouchers_customer_due")
    db.execute("DROP INDEX IF EXISTS idx_vouchers_customer_id_status")  # a prefix of the new one


def _v6(db) -> None:
    """Step 3's covering indexes lead with the same columns: two fewer index writes per visit."""
    db.execute("DROP INDEX IF EXISTS idx_visits_customer_id_at")  # visits_by_customer_cover
    db.execute("DROP INDEX IF EXISTS idx_visits_local_day")  # visits_by_day_cover


def _v7(db) -> None:
    """Imports at speed (issue 3).

    - An imported visit is now recognised by what it says (customer, time, amount, items,
      note, receipt), through visits_by_customer_cover, so the per-row digest `import_key` and
      its unique index go: building that index was ~2 s of a million-visit import.
    - Receipts: the unique index holds only visits that have one (`ref = ?` still uses it), so
      a million imported visits without receipts no longer build a million-entry index of NULLs.
    """
    db.execute("DROP INDEX IF EXISTS idx_visits_import_key")
    # SQLite before 3.35 cannot drop a column: it stays, unused and NULL from now on
    with suppress(sqlite3.OperationalError):
        db.execute("ALTER TABLE visits DROP COLUMN import_key")
    db.execute("DROP INDEX IF EXISTS idx_visits_ref")
    db.execute("CREATE UNIQUE INDEX idx_visits_ref ON visits (ref) WHERE ref IS NOT NULL")


def _v8(db) -> None:
    """One lot engine (issue 9).

    - `ledger.written_at`: when a line was written, beside `at`, when it counts. An expiry is
      dated when the points or the voucher fell due, whoever writes it and whenever; a
      back-dated visit at the time it happened. NULL on the lines written before this step.
    - `lot_books`: each customer's open points lots (domain/lots.py) as they stood after their
      ledger line `through`, as JSON (store/lots.py), so that a visit replays only the lines
      written since. A customer with none has never had a point taken, and their due points are
      plain sums; every customer who has (a redemption, an expiry or a void of points) gets an
      empty book read from the first line (`through` 0), which their next change brings up to date.
    """
    db.execute("ALTER TABLE ledger ADD COLUMN written_at TEXT")
    db.execute("CREATE TABLE lot_books (customer_id INTEGER PRIMARY KEY REFERENCES customers(id), "
               "through INTEGER NOT NULL, book TEXT NOT NULL) STRICT")
    # Only these kinds ever took points (an import refuses negative ones): step 3's partial
    # index ledger_events_cover holds them, so this reads no earning (~0.1 s on a million visits).
    db.execute("INSERT INTO lot_books (customer_id, through, book) "
               "SELECT DISTINCT customer_id, 0, '{\"owed\":0,\"lots\":[]}' FROM ledger "
               "WHERE kind IN ('redeem', 'expire', 'reward', 'void') AND points < 0")


def _v9(db) -> None:
    """Promotions, birthdays, categories and feedback (issue 11).

    - visits.category: what a visit was for (rules and promotions may include or exclude some).
    - ledger.card: the punch card a promotion's extra punches go to (the line's rule names the
      promotion); NULL on every other line, whose punches go to the card its rule names.
    - feedback: one row per response; `points` is what it earned (0 after the first of a day).
    """
    db.execute("ALTER TABLE visits ADD COLUMN category TEXT")
    db.execute("ALTER TABLE ledger ADD COLUMN card TEXT")
    db.execute(
        "CREATE TABLE feedback (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), "
        "at TEXT NOT NULL, local_day TEXT NOT NULL, score INTEGER NOT NULL, scale INTEGER NOT NULL, "
        "comment TEXT, visit_id INTEGER REFERENCES visits(id), points INTEGER NOT NULL DEFAULT 0) STRICT")
    db.execute("CREATE INDEX feedback_by_customer ON feedback (customer_id, at)")
    db.execute("CREATE INDEX feedback_by_day ON feedback (local_day)")


def _v10(db) -> None:
    """The tables for consent and campaigns (issue 12), privacy (issue 12) and chains (issue 14),
    laid down together so that the work on each builds on one schema.

    - consents: an append-only log of marketing consent (1 given, 0 withdrawn); the newest row
      for a customer is their consent now; none means no.
    - contacts: every message a campaign made (or handed to the owner in an export).
    - customers.forgotten_at: when `loyalty forget` erased the customer's personal data.
    - visits.location: the shop or till a visit was recorded at ([shop] location).
    - config_versions: rules published to a shared database (`loyalty config publish`).
    """
    db.execute(
        "CREATE TABLE consents (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), "
        "at TEXT NOT NULL, marketing INTEGER NOT NULL CHECK (marketing IN (0, 1)), source TEXT) STRICT")
    db.execute("CREATE INDEX consents_by_customer ON consents (customer_id, id)")
    db.execute(
        "CREATE TABLE contacts (id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, "
        "customer_id INTEGER NOT NULL REFERENCES customers(id), channel TEXT NOT NULL, at TEXT NOT NULL) STRICT")
    db.execute("CREATE INDEX contacts_by_campaign ON contacts (campaign, customer_id, at)")
    db.execute("CREATE INDEX contacts_by_customer ON contacts (customer_id, at)")
    db.execute("ALTER TABLE customers ADD COLUMN forgotten_at TEXT")
    db.execute("ALTER TABLE visits ADD COLUMN location TEXT")
    db.execute(
        "CREATE TABLE config_versions (id INTEGER PRIMARY KEY, at TEXT NOT NULL, author TEXT NOT NULL, "
        "source TEXT, sha256 TEXT NOT NULL, toml TEXT NOT NULL) STRICT")


def _v11(db) -> None:
    """The customers with a birthday on file, indexed (issue 11): `loyalty visit` asks whether any
    customer has one (a birthday rule without birthdays is warned of), and without the index the
    answer is a scan of every customer when few or none have one. Partial: only those with one."""
    db.execute("CREATE INDEX customers_with_birthday ON customers (birthday) WHERE birthday IS NOT NULL")


def _v12(db) -> None:
    """Locations (issue 14): `--location` on every report and the summary's figures per location
    are range scans of this index. Partial: a single shop, which names no location, pays nothing
    for it on each visit."""
    db.execute("CREATE INDEX visits_by_location ON visits (location, local_day, customer_id, amount, voided_at) "
               "WHERE location IS NOT NULL")


def _v13(db) -> None:
    """Nothing on SQLite. On PostgreSQL the lot books are kept uncompressed in their rows up to a
    page (backends/postgres_schema.SERVER_ONLY): a book is rewritten at every visit of its
    customer, and above 2 kB the server compressed it into its TOAST table each time."""


STEPS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5, 6: _v6, 7: _v7, 8: _v8, 9: _v9, 10: _v10, 11: _v11, 12: _v12,
         13: _v13}


def migrate(conn: sqlite3.Connection, current: int, target: int, path: Path) -> None:
    if current > target:
        raise Refused(Phrase("{path} was written by a newer loyalty-cli (schema {current}); upgrade to use it",
                             path=path, current=current))
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    try:
        # Another process may hold the file and be setting it up; it sets WAL too.
        with suppress(sqlite3.OperationalError):
            conn.execute("PRAGMA journal_mode = WAL")
        for version in range(current + 1, target + 1):
            conn.execute("BEGIN IMMEDIATE")
            # Two tills may open a new database at once: re-read under the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.execute("COMMIT")
                continue
            try:
                STEPS[version](db)
                conn.execute(f"PRAGMA user_version = {version}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise Refused(Phrase("cannot prepare database {path}: {exc}", path=path, exc=exc)) from None
