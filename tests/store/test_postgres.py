"""The PostgreSQL backend itself: its URL, what SQLite never loads, `db copy` both ways, and tills
racing on one server with real processes (8 tills x 50 visits; redemptions of one balance)."""

import os
import subprocess
import sys
import textwrap

import pytest

from loyalty_cli.store.db import SCHEMA_VERSION
from tests.conftest import ROOT, db_content, db_query

MARIA = "333 123 4567"
LUCA = "347 765 4321"



# ---- no server needed ----------------------------------------------------------------------------

def test_visit_on_sqlite_never_loads_psycopg(tmp_path):
    script = textwrap.dedent("""
        import sys
        from loyalty_cli.cli.entry import parse_fast_visit
        from loyalty_cli.cli.visit import run_visit
        assert run_visit(**parse_fast_visit(["visit", "333 123 4567", "--amount", "5"])) == 0
        assert run_visit(**parse_fast_visit(["visit", "333 123 4567"])) == 0
        loaded = [name for name in sys.modules if name.split(".")[0] == "psycopg"]
        assert not loaded, loaded
    """)
    env = {**os.environ, "LOYALTY_DB": str(tmp_path / "shop.db")}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_password_in_the_url_is_refused_in_one_line(cli, monkeypatch):
    monkeypatch.setenv("LOYALTY_DB", "postgresql://shop:secret@db.example.com/loyalty")
    result = cli("visit", MARIA)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "PGPASSWORD" in result.stderr and "secret" not in result.stderr


@pytest.mark.parametrize("url", ["postgresql://x@[bad/db", "postgresql://x@/db?nonsense=1",
                                 "postgresql://x@/db?connect_timeout=abc"])
def test_a_malformed_database_url_is_refused_in_one_line(cli, monkeypatch, url):
    monkeypatch.setenv("LOYALTY_DB", url)
    result = cli("customers")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot use database URL") and result.stderr.count("\n") == 1
    assert "\u240a" not in result.stderr  # no newline of psycopg's shown as a symbol


def test_a_server_that_does_not_answer_is_unreachable(cli, monkeypatch):
    from loyalty_cli.domain.errors import Unreachable
    from loyalty_cli.store import db as store_db

    with pytest.raises(Unreachable, match="cannot be reached"):
        store_db.connect("postgresql://nobody@127.0.0.1:9/none?connect_timeout=3")
    monkeypatch.setenv("LOYALTY_DB", "postgresql://nobody@127.0.0.1:9/none")
    result = cli("customers")
    assert result.exit_code == 1 and result.stderr.startswith("error: the database server cannot be reached")


def test_without_psycopg_a_url_says_what_to_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    monkeypatch.setenv("LOYALTY_DB", "postgresql://nobody@127.0.0.1:9/none")
    result = cli("customers")
    assert result.exit_code == 1 and "install loyalty-cli[postgres]" in result.stderr


def test_the_dialect_translates_sqlite_texts():
    from loyalty_cli.store.backends.postgres import translate

    text, returning = translate("INSERT INTO ledger (customer_id, at) VALUES (?, ?)")
    assert text == "INSERT INTO ledger (customer_id, at) VALUES (%s, %s) RETURNING id" and returning
    assert translate("INSERT OR IGNORE INTO phone_keys VALUES (?, ?)")[0].endswith("ON CONFLICT DO NOTHING")
    assert translate("SELECT MAX(0, MIN(a, b)), MAX(c) FROM t WHERE x LIKE :p AND y = '50%'")[0] == (
        "SELECT GREATEST(0, LEAST(a, b)), MAX(c) FROM t WHERE x ILIKE %(p)s AND y = '50%%'")
    assert translate("SELECT group_concat(DISTINCT k) FROM t")[0] == "SELECT string_agg(DISTINCT k, ',') FROM t"


# ---- on a real server ----------------------------------------------------------------------------

@pytest.fixture
def pg(postgres_url, monkeypatch):
    monkeypatch.setenv("LOYALTY_DB", postgres_url)
    return postgres_url


@pytest.fixture
def empty_pg(postgres_template):
    """A database with nothing in it, not even the schema."""
    import psycopg

    from tests.conftest import database_url

    name = f"loyalty_test_empty_{os.getpid()}"
    with psycopg.connect(postgres_template.server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    yield database_url(postgres_template.server, name)
    postgres_template.drop(name)


def test_a_read_on_an_empty_server_database_is_refused_and_a_visit_creates_the_schema(cli, cli_json, empty_pg,
                                                                                     monkeypatch):
    monkeypatch.setenv("LOYALTY_DB", empty_pg)
    result = cli("customers")
    assert result.exit_code == 1 and "no loyalty database at" in result.stderr
    assert cli_json("visit", MARIA, "--amount", "5")["visit_id"] == 1
    assert db_query(empty_pg, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert _pg_indexes(empty_pg) == _sqlite_indexes(SCHEMA_VERSION)
    assert _lot_books_options(empty_pg) == ["toast_tuple_target=8160"]


def _lot_books_options(url: str) -> list[str] | None:
    """lot_books' storage parameters (postgres_schema.SERVER_ONLY)."""
    return db_query(url, "SELECT reloptions FROM pg_class WHERE oid = 'lot_books'::regclass")[0][0]


def _pg_indexes(url: str) -> set[str]:
    return {name for (name,) in db_query(url, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                              "AND indexname NOT LIKE '%_pkey'")}


def _sqlite_indexes(version: int) -> set[str]:
    import sqlite3
    from pathlib import Path

    from loyalty_cli.store.migrations import migrate

    scratch = sqlite3.connect(":memory:", isolation_level=None)
    migrate(scratch, 0, version, Path(":memory:"))
    names = {name for (name,) in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                 "AND sql IS NOT NULL")}
    scratch.close()
    return names


def test_a_database_at_an_older_schema_is_upgraded_step_by_step(cli, cli_json, empty_pg, monkeypatch):
    import psycopg

    from loyalty_cli.store.backends.postgres import Connection
    from loyalty_cli.store.backends.postgres_schema import create_schema

    with psycopg.connect(empty_pg, autocommit=True) as raw:  # (db_query would upgrade it: it opens it)
        create_schema(Connection(raw, empty_pg), 10)  # as the first PostgreSQL release left it
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(10,)]
        assert not raw.execute("SELECT indexname FROM pg_indexes WHERE indexname IN "
                               "('customers_with_birthday', 'visits_by_location')").fetchall()
        assert raw.execute("SELECT reloptions FROM pg_class WHERE oid = 'lot_books'::regclass").fetchone()[0] is None
    monkeypatch.setenv("LOYALTY_DB", empty_pg)
    assert cli_json("visit", MARIA, "--amount", "5", "--location", "Centro")["visit_id"] == 1
    assert db_query(empty_pg, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert _pg_indexes(empty_pg) == _sqlite_indexes(SCHEMA_VERSION)
    partial = dict(db_query(empty_pg, "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                                      "('customers_with_birthday', 'visits_by_location')"))
    assert "WHERE (birthday IS NOT NULL)" in partial["customers_with_birthday"]
    assert "WHERE (location IS NOT NULL)" in partial["visits_by_location"]
    assert _lot_books_options(empty_pg) == ["toast_tuple_target=8160"]
    assert cli("doctor").exit_code == 0


def test_a_statement_never_reuses_a_cursor_whose_rows_are_still_read(pg):
    from loyalty_cli.store import db as store_db

    conn = store_db.connect(pg)
    conn.execute("CREATE TEMP TABLE numbers (n INTEGER)")
    conn.executemany("INSERT INTO numbers (n) VALUES (?)", [(n,) for n in range(1, 6)])
    seen = [(row["n"], conn.execute("SELECT n * 10 AS tens FROM numbers WHERE n = ?", (row["n"],)).fetchone()["tens"])
            for row in conn.execute("SELECT n FROM numbers ORDER BY n")]
    assert seen == [(n, 10 * n) for n in range(1, 6)]
    assert conn.idle  # the statements' cursors were given back, and reused
    plain = conn.cursor()
    plain.row_factory = None
    assert plain.execute("SELECT n FROM numbers WHERE n = 2").fetchone() == (2,)
    del plain  # its cursor goes back with the connection's own row factory: rows read by name again
    assert conn.execute("SELECT n FROM numbers WHERE n = 3").fetchone()["n"] == 3
    big = conn.execute("SELECT generate_series(1, 500) AS n").fetchall()
    assert len(big) == 500 and all(cursor.pgresult is None or cursor.pgresult.ntuples <= 100 for cursor in conn.idle)
    conn.close()


def test_a_connection_gets_the_link_time_limits_unless_its_url_sets_its_own(pg):
    from loyalty_cli.store import db as store_db
    from loyalty_cli.store.backends.postgres_link import LINK_DEFAULTS

    conn = store_db.connect(pg)
    assert {name: conn.raw.info.get_parameters().get(name) for name in LINK_DEFAULTS} == \
        {name: str(value) for name, value in LINK_DEFAULTS.items()}
    conn.close()
    conn = store_db.connect(pg + "&connect_timeout=9&tcp_user_timeout=2500")
    parameters = conn.raw.info.get_parameters()
    assert (parameters["connect_timeout"], parameters["tcp_user_timeout"]) == ("9", "2500")
    conn.close()


def test_a_kept_connection_whose_server_session_has_the_check_prepared_already_is_sound(pg):
    """A pooler in session mode hands a till a server session another till used: the check's
    statement is prepared there already, which must not make every visit open a new connection."""
    from loyalty_cli.store import db as store_db
    from loyalty_cli.store.backends.postgres import Connection

    conn = store_db.connect(pg)
    assert store_db.still_sound(conn) == 0 and conn.sound_prepared
    again = Connection(conn.raw, conn.url)  # the same server session, as another till's wrapper
    assert not again.sound_prepared
    assert store_db.still_sound(again) == 0 and again.sound_prepared
    conn.close()


def test_the_schema_matches_sqlites_table_by_table(pg, tmp_path):
    from loyalty_cli.store import db as store_db

    sqlite_conn = store_db.connect(tmp_path / "schema.db")
    sqlite_columns = {(t, c[1]) for (t,) in sqlite_conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                                                 "'table' AND name NOT LIKE 'sqlite_%'")
                      for c in sqlite_conn.execute(f"PRAGMA table_info({t})")}
    pg_columns = set(db_query(pg, "SELECT table_name, column_name FROM information_schema.columns "
                                  "WHERE table_schema = current_schema() AND table_name != 'schema_version'"))
    assert pg_columns == sqlite_columns


def _shop_history(cli, cli_json, at):
    at("2026-03-01T12:00:00+00:00")
    cli_json("enroll", MARIA, "--name", "Maria Rossi", "--birthday", "1990-04-12")
    cli_json("enroll", LUCA, "--name", "Luca", "--referred-by", MARIA)
    for day in range(1, 25):
        at(f"2026-04-{day:02d}T1{day % 8}:00:00+00:00")
        cli_json("visit", MARIA if day % 3 else LUCA, "--amount", f"{day * 1.5:.2f}", "--ref", f"R{day}")
    at("2026-05-02T12:00:00+00:00")
    cli_json("redeem", MARIA, "free-cone")
    cli_json("redeem", LUCA, "--credit", "0.20")
    cli_json("void", 3, "--reason", "wrong customer")
    at("2026-06-15T12:00:00+00:00")
    cli_json("expire")


REPORTS = ("summary", "customers", "visits", "rewards", "liability", "at-risk", "cohorts", "feedback")


def test_db_copy_both_ways_is_exact(cli, cli_json, at, tmp_path, pg, monkeypatch):
    original = tmp_path / "shop.db"
    monkeypatch.setenv("LOYALTY_DB", str(original))
    _shop_history(cli, cli_json, at)
    copied = cli_json("db", "copy", original, pg)
    assert copied["rows"]["visits"] == 24 and copied["rows"]["customers"] == 2
    back = tmp_path / "back.db"
    assert cli("db", "copy", pg, back).exit_code == 0
    assert db_content(back) == db_content(original)
    for target in (original, pg):
        assert cli_json("--db", target, "doctor") == {"ok": True, "problems": []}
    for name in REPORTS:
        on_sqlite, on_pg = (cli_json("--db", target, "report", name) for target in (original, pg))
        assert on_sqlite == on_pg, name
    # the ids go on after the copied ones on the server
    assert cli_json("--db", pg, "visit", MARIA)["visit_id"] == 25


def test_db_copy_refuses_a_database_that_holds_rows(cli, cli_json, tmp_path, pg):
    cli_json("visit", MARIA)
    source = tmp_path / "other.db"
    cli_json("--db", source, "visit", LUCA)
    result = cli("db", "copy", source, pg)
    assert result.exit_code == 1 and "not empty" in result.stderr
    assert cli("db", "copy", pg, source).exit_code == 1  # an existing file is not overwritten


# ---- tills racing on one server ------------------------------------------------------------------

_TILL = textwrap.dedent("""
    import sys
    from loyalty_cli.cli.visit import run_visit
    till, count, phones = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
    failures = 0
    for i in range(count):
        phone = phones[(till * 7 + i) % len(phones)]
        failures += run_visit(phone=[phone], amount="2.50", ref=f"T{till}-{i}") != 0
    sys.exit(failures)
""")

_RETRIER = textwrap.dedent("""
    import sys
    from loyalty_cli.cli.visit import run_visit
    phones = sys.argv[1].split(",")
    sys.exit(sum(run_visit(phone=[phones[i % len(phones)]], amount="2.50", ref=f"R-{i}") != 0 for i in range(30)))
""")

_REDEEMER = textwrap.dedent("""
    import sys
    from loyalty_cli.cli.entry import main
    try:
        main(["redeem", sys.argv[1], "--credit", "3"])
    except SystemExit as exit:
        sys.exit(exit.code)
""")


def _processes(script, argvs, env):
    children = [subprocess.Popen([sys.executable, "-c", script, *argv], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for argv in argvs]
    return [(child.wait(timeout=300), child.stderr.read()) for child in children]


def test_eight_tills_record_fifty_visits_each_once(cli_json, pg):
    phones = [f"333 100 00{n:02d}" for n in range(12)]
    results = _processes(_TILL, [(str(till), "50", ",".join(phones)) for till in range(8)], dict(os.environ))
    assert [code for code, _ in results] == [0] * 8, [err for _, err in results]
    assert db_query(pg, "SELECT COUNT(*), COUNT(DISTINCT ref) FROM visits") == [(400, 400)]
    assert db_query(pg, "SELECT SUM(visits) FROM customers") == [(400,)]
    assert cli_json("doctor") == {"ok": True, "problems": []}


def test_a_visit_that_waited_for_another_tills_lock_counts_what_that_till_wrote(cli_json, pg):
    """A statement sees the database as it was when it began: what a visit reads beside the
    customer's row must be read after the row's lock is granted, or a visit that waited for
    another till misses that till's visit (here: the 11th of the year, which makes the 12th
    reach Silver, min_visits = 12, in the sample config)."""
    import threading

    import psycopg

    for _ in range(10):
        cli_json("visit", MARIA, "--amount", "1")
    other = psycopg.connect(pg)  # another till, in a transaction
    customer = other.execute("SELECT id FROM customers FOR UPDATE").fetchone()[0]
    other.execute("INSERT INTO visits (customer_id, at, local_day, amount, items, source) "
                  "VALUES (%s, '2026-06-15T11:59:00.000000Z', '2026-06-15', 100, 1, 'counter')", (customer,))
    committing = threading.Timer(1.0, other.commit)
    committing.start()
    try:
        card = cli_json("visit", MARIA, "--amount", "1")  # waits for the other till's lock
    finally:
        committing.join()
        other.close()
    assert card["tier"] == "Silver"
    assert db_query(pg, "SELECT COUNT(*) FROM visits") == [(12,)]


def test_a_void_that_waited_for_another_tills_void_of_the_same_visit_is_refused(cli, cli_json, pg):
    """The visit is read again once its customer's row is locked: read before, a void waiting
    for another till's void of the same visit would undo it a second time."""
    import threading

    import psycopg

    visit = cli_json("visit", MARIA, "--amount", "5")["visit_id"]
    other = psycopg.connect(pg)  # another till voiding it, in a transaction
    other.execute("SELECT id FROM customers FOR UPDATE")
    other.execute("UPDATE visits SET voided_at = '2026-06-15T11:59:00.000000Z' WHERE id = %s", (visit,))
    committing = threading.Timer(1.0, other.commit)
    committing.start()
    try:
        result = cli("void", str(visit))  # waits for the other till's lock
    finally:
        committing.join()
        other.close()
    assert result.exit_code == 1 and "already voided" in result.stderr
    assert db_query(pg, "SELECT COUNT(*) FROM ledger WHERE kind = 'void'") == [(0,)]


def test_a_redemption_that_waited_for_another_till_does_not_expire_a_voucher_twice(cli_json, pg, at):
    """A redemption reads what fell due only once its customer's row is locked: read before, it
    would expire again a voucher that a till holding the row had just expired."""
    import threading

    import psycopg

    at("2026-01-10T10:00:00+00:00")
    for _ in range(10):  # the tenth completes the card: a voucher, due 90 days later
        card = cli_json("visit", MARIA, "--amount", "20")
    code = card["vouchers"][0]["code"]
    at("2026-06-15T12:00:00+00:00")
    other = psycopg.connect(pg)  # another till (`loyalty expire`, say) expiring it, in a transaction
    customer = other.execute("SELECT id FROM customers FOR UPDATE").fetchone()[0]
    other.execute("UPDATE vouchers SET status = 'expired', ended_at = expires_at WHERE code = %s", (code,))
    other.execute("INSERT INTO ledger (customer_id, at, kind, voucher, reward, reason, written_at) VALUES "
                  "(%s, '2026-04-10T10:00:00.000000Z', 'expire', %s, 'free-cone', 'voucher expired', "
                  "'2026-06-15T12:00:00.000000Z')", (customer, code))
    committing = threading.Timer(1.0, other.commit)
    committing.start()
    try:
        cli_json("redeem", MARIA, "--credit", "1")  # waits for the other till's lock
    finally:
        committing.join()
        other.close()
    assert db_query(pg, "SELECT COUNT(*) FROM ledger WHERE kind = 'expire' AND voucher = ?", (code,)) == [(1,)]


def test_tills_racing_with_the_same_refs_record_each_visit_once(cli_json, pg):
    """Six tills send the same 30 visits at once (a till's retry racing its own first try): the
    visit's INSERT checks the ref (ON CONFLICT), so a till that loses the race waits for the
    winner's commit and answers with its visit, as a duplicate, not an error."""
    phones = ",".join(f"333 200 00{n:02d}" for n in range(5))
    results = _processes(_RETRIER, [(phones,)] * 6, dict(os.environ))
    assert [code for code, _ in results] == [0] * 6, [err for _, err in results]
    assert db_query(pg, "SELECT COUNT(*), COUNT(DISTINCT ref) FROM visits") == [(30, 30)]
    assert db_query(pg, "SELECT SUM(visits), COUNT(*) FROM customers") == [(30, 5)]
    assert cli_json("doctor") == {"ok": True, "problems": []}


def test_racing_redemptions_never_overspend(cli_json, pg, tmp_path):
    cards = tmp_path / "cards.csv"
    cards.write_text("phone,credit\n3331234567,10.00\n")
    cli_json("import", "cards", cards)
    results = _processes(_REDEEMER, [(MARIA,)] * 8, dict(os.environ))
    codes = sorted(code for code, _ in results)
    assert codes == [0, 0, 0, 1, 1, 1, 1, 1], [err for _, err in results]
    assert all("short" in err or "credit" in err for code, err in results if code == 1)
    assert cli_json("show", MARIA)["credit"] == "1.00"
    assert cli_json("doctor") == {"ok": True, "problems": []}
