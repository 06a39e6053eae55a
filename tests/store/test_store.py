"""The SQLite store: created private, migrated on open, and every counter query on an index."""

import json
import sqlite3
import stat
from datetime import UTC

import pytest

from loyalty_cli.domain import clock
from loyalty_cli.domain.errors import Refused
from loyalty_cli.store import db as store_db


def test_new_database_is_private_wal_and_versioned(tmp_path):
    path = tmp_path / "sub" / "shop.db"
    conn = store_db.connect(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store_db.SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"customers", "visits", "ledger", "vouchers", "phone_keys"} <= tables
    strict = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'ledger'").fetchone()[0]
    assert strict.rstrip().endswith("STRICT")


def test_money_columns_refuse_floats(tmp_path):
    conn = store_db.connect(tmp_path / "x.db")
    conn.execute("INSERT INTO customers (phone, enrolled_at) VALUES ('+1', 'x')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE customers SET credit = 10.1")


def test_reopening_is_a_no_op_and_newer_schemas_are_refused(tmp_path):
    path = tmp_path / "x.db"
    store_db.connect(path).close()
    store_db.connect(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(Refused, match="newer loyalty-cli"):
        store_db.connect(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database, and they are long enough to matter" * 20)
    with pytest.raises(Refused, match="not a loyalty database"):
        store_db.connect(path)


COUNTER_QUERIES = [
    ("SELECT phone FROM phone_keys WHERE key = ?", ("k",)),
    ("SELECT * FROM customers WHERE phone = ?", ("+1",)),
    ("SELECT * FROM visits WHERE ref = ?", ("r",)),
    ("SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM visits WHERE customer_id = ? AND at > ? AND at < ? "
     "AND voided_at IS NULL", (1, "a", "b")),
    ("SELECT COALESCE(SUM(points), 0) FROM ledger WHERE customer_id = ? AND earned_at > ?", (1, "x")),
    ("SELECT * FROM vouchers WHERE customer_id = ? AND status = 'issued'", (1,)),
    ("SELECT * FROM vouchers INDEXED BY vouchers_customer_due WHERE customer_id = ? AND status = 'issued' "
     "AND expires_at <= ?", (1, "x")),
    ("SELECT * FROM ledger WHERE visit_id = ? AND reverses IS NULL", (1,)),
    ("SELECT MAX(at) FROM visits WHERE customer_id = ? AND voided_at IS NULL", (1,)),
]


@pytest.mark.parametrize("sql, args", COUNTER_QUERIES, ids=[q[:60] for q, _a in COUNTER_QUERIES])
def test_counter_queries_use_an_index(tmp_path, sql, args):
    conn = store_db.connect(tmp_path / "x.db")
    plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), plan
    assert "USING" in plan, plan


def test_times_sort_as_text():
    from datetime import datetime, timedelta

    first = datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)
    texts = [clock.to_db(first + timedelta(microseconds=n)) for n in range(3)]
    assert texts == sorted(texts)
    assert clock.from_db(texts[0]) == first


def test_tills_opening_a_new_database_at_once(tmp_path):
    """Six processes create the same new database together: every one of them succeeds."""
    import os
    import subprocess
    import sys

    from tests.conftest import SAMPLE

    path = tmp_path / "race.db"
    env = {k: v for k, v in os.environ.items() if k not in ("LOYALTY_DB", "LOYALTY_CONFIG")}
    command = [sys.executable, "-m", "loyalty_cli", "--db", str(path), "--config", str(SAMPLE), "visit",
               "333 123 4567", "--amount", "1"]
    runs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            for _ in range(6)]
    results = [(run.wait(timeout=60), run.stderr.read().decode()) for run in runs]
    assert [code for code, _err in results] == [0] * 6, results
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 6
    conn.close()


def test_a_damaged_database_is_one_line(cli, isolated):
    path = isolated / "damaged.db"
    assert cli("--db", path, "visit", "333 123 4567").exit_code == 0
    for n in range(5):
        assert cli("--db", path, "visit", f"333 123 45{n}0").exit_code == 0
    data = bytearray(path.read_bytes())
    for offset in range(4096 + 8, len(data), 4096):  # scribble over every page after the first
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    for command in (["visit", "333 123 4567"], ["doctor"]):
        result = cli("--db", path, *command)
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") >= 1 and "Traceback" not in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_step_7_drops_the_import_digest_and_keeps_receipts_unique(tmp_path):
    from loyalty_cli.store.migrations import migrate

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, 0, 6, path)  # a database as the previous release left it
    conn.execute("INSERT INTO customers (id, phone, enrolled_at) VALUES (1, '+393331112222', 'x')")
    conn.execute("INSERT INTO visits (customer_id, at, local_day, amount, source, import_key) "
                 "VALUES (1, '2026-06-01T10:00:00.000000Z', '2026-06-01', 250, 'import', x'00ff')")
    conn.execute("INSERT INTO visits (customer_id, at, local_day, amount, ref) VALUES (1, 'y', 'z', 1, 'R-1')")
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    conn = store_db.connect(path)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(visits)")}
    assert "import_key" not in columns and "ref" in columns
    assert conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 2
    index = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'idx_visits_ref'").fetchone()[0]
    assert index.endswith("WHERE ref IS NOT NULL")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO visits (customer_id, at, local_day, amount, ref) VALUES (1, 'y', 'z', 1, 'R-1')")


def test_step_8_keeps_the_written_time_and_a_book_for_whoever_had_points_taken(tmp_path):
    from loyalty_cli.store import lots as store_lots
    from loyalty_cli.store.migrations import migrate

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, 0, 7, path)  # a database as the previous release left it
    for cid in (1, 2):
        conn.execute("INSERT INTO customers (id, phone, enrolled_at, points) VALUES (?, ?, 'x', 20)",
                     (cid, f"+39333111222{cid}"))
    earned = "2026-01-10T11:00:00.000000Z"
    conn.executemany("INSERT INTO ledger (customer_id, at, kind, points, earned_at) VALUES (?, ?, ?, ?, ?)",
                     [(1, earned, "points", 120, earned), (1, earned, "redeem", -100, None),
                      (2, earned, "points", 20, earned)])
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    conn = store_db.connect(path)
    assert [row[0] for row in conn.execute("SELECT written_at FROM ledger")] == [None] * 3
    assert [tuple(row) for row in conn.execute("SELECT customer_id, through FROM lot_books")] == [(1, 0)]
    assert store_lots.problems(conn) == []  # an empty book read from the first line is a true one
    assert store_lots.book(conn, 1).balance == 20


def test_doctor_finds_a_wrong_lot_book_and_points_taken_without_one(tmp_path):
    from loyalty_cli.store import lots as store_lots

    conn = store_db.connect(tmp_path / "x.db")
    conn.execute("INSERT INTO customers (id, phone, enrolled_at, points) VALUES (1, '+393331112221', 'x', 20)")
    earned = "2026-01-10T11:00:00.000000Z"
    conn.execute("INSERT INTO ledger (customer_id, at, kind, points, earned_at) VALUES (1, ?, 'points', 120, ?)",
                 (earned, earned))
    conn.execute("INSERT INTO ledger (customer_id, at, kind, points) VALUES (1, ?, 'redeem', -100)", (earned,))
    assert store_lots.problems(conn) == ["+393331112221: points were taken from this customer but no lot book "
                                         "is kept (due points would be wrong)"]
    conn.execute("INSERT INTO lot_books (customer_id, through, book) VALUES (1, 2, ?)",
                 ('{"owed":0,"lots":[[1,"2026-01-10T11:00:00.000000Z",120,null,120,0,0]]}',))
    assert store_lots.problems(conn) == ["+393331112221: the lot book kept after ledger line 2 is not what the "
                                         "ledger replays to"]
    with conn:
        store_lots.keep(conn, 1)  # nothing written since: the wrong book stays until ...
    conn.execute("DELETE FROM lot_books")
    with conn:
        assert store_lots.keep(conn, 1).balance == 20  # ... it is rebuilt from the ledger
    assert store_lots.problems(conn) == []


def test_a_book_read_and_written_back_keeps_its_texts_and_formats_new_times():
    from datetime import UTC, datetime, timedelta

    from loyalty_cli.domain import clock
    from loyalty_cli.domain.lots import Book, Lot
    from loyalty_cli.store import lots as store_lots

    start = datetime(2026, 3, 29, 0, 30, 0, 7, tzinfo=UTC)
    lots = tuple(Lot(10 + i, start + timedelta(hours=5 * i, microseconds=i), 5 + i, 100 + i, 5 + i, 0, 0)
                 for i in range(6))
    text = store_lots.dumps(Book(lots, 3))
    assert [lot[1] for lot in json.loads(text)["lots"]] == [clock.to_db(lot.at) for lot in lots]
    read = store_lots.loads(text)
    assert read == Book(lots, 3)
    assert store_lots.dumps(read) == text
    # a lot earned since, in another zone: its time is formatted, the others' texts kept
    new = Lot(99, datetime(2026, 4, 1, 9, 0, tzinfo=clock.zone("Europe/Rome")), 7, 200, 7, 0, 0)
    grown = json.loads(store_lots.dumps(Book((*read.lots, new), 3)))
    assert grown["lots"][-1][1] == "2026-04-01T07:00:00.000000Z"
    assert [lot[1] for lot in grown["lots"][:-1]] == [clock.to_db(lot.at) for lot in lots]


def test_a_voucher_ends_once_whatever_its_writer_read(cli, db_path):
    """store.set_voucher_status changes only an issued voucher: a second end is refused, and the
    first stays as it was written."""
    from datetime import datetime

    from loyalty_cli.store import counter as store

    for _ in range(10):  # the sample's cone card: a voucher at the 10th visit
        assert cli("visit", "333 123 4567", "--amount", "5").exit_code == 0
    conn = store_db.connect(db_path)
    (code,) = conn.execute("SELECT code FROM vouchers").fetchone()
    with store_db.transaction(conn):
        store.set_voucher_status(conn, code, "redeemed", datetime(2026, 6, 15, 12, tzinfo=UTC))
    before = conn.execute("SELECT status, redeemed_at, ended_at FROM vouchers").fetchall()
    with pytest.raises(Refused, match="no longer open"), store_db.transaction(conn):
        store.set_voucher_status(conn, code, "expired", datetime(2026, 9, 15, 12, tzinfo=UTC))
    assert conn.execute("SELECT status, redeemed_at, ended_at FROM vouchers").fetchall() == before
    assert before[0][0] == "redeemed"
    conn.close()
