"""How many statements one visit sends to the database: on PostgreSQL each is a round trip to
the server (and a context switch each way on a busy machine), the most of a visit's time. A
change that makes the counter read the customer or the lot book again shows here first."""

import json
import re
import sqlite3

import pytest

from loyalty_cli.services import session as session_module

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MARIA = "333 123 4567"
# A known customer's visit with a --ref, as `loyalty visit` sends it (issue 14's benchmark):
# connect's schema version, the published rules, the phone cache, BEGIN, the customer (locked),
# the lot book with the lines written after it (one statement), the issued vouchers (the due
# ones expire; the card shows the rest unless the visit issued or expired one), the tier window,
# the visit (whose INSERT checks the ref: ON CONFLICT), its ledger lines (the sample rules write
# 3: points, punch, cashback; one executemany), the customer's one UPDATE, the book again with the
# new lines and its new state, the card's feedback and consent (one statement), COMMIT. It was
# 35 before the counter handed the customer row and the lot book on within the transaction. An
# executemany counts once on PostgreSQL (psycopg sends it as one pipeline: one round trip), once
# a line on SQLite.
MOST_STATEMENTS = {"postgres": 13, "sqlite": 14}


@pytest.fixture
def statements(monkeypatch, backend):
    """The SQL texts the command under test sends (on SQLite from the connection's open on)."""
    sent: list[str] = []
    if backend == "postgres":
        import threading

        import psycopg

        original = psycopg.Cursor.execute
        # only this thread's: conftest's pool creates the next test's database meanwhile, in a thread of its own
        ours = threading.get_ident()

        def counting(cursor, query, params=None, **options):
            if threading.get_ident() == ours:
                sent.append(str(query))
            return original(cursor, query, params, **options)

        def counting_many(cursor, query, params_seq, **options):  # one pipeline: one round trip
            if threading.get_ident() == ours:
                sent.append(f"{query} (many)")
            return original_many(cursor, query, params_seq, **options)

        original_many = psycopg.Cursor.executemany
        monkeypatch.setattr(psycopg.Cursor, "execute", counting)
        monkeypatch.setattr(psycopg.Cursor, "executemany", counting_many)
        return sent
    opening = session_module.open_database

    def traced(*args, **options):
        conn = opening(*args, **options)
        if isinstance(conn, sqlite3.Connection):  # less what a table-valued pragma runs (traced as "-- PRAGMA")
            conn.set_trace_callback(lambda text: text.startswith("-- ") or sent.append(text))
        return conn

    monkeypatch.setattr(session_module, "open_database", traced)
    return sent


def _customer_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if re.match(r"SELECT \*.* FROM customers( c)? WHERE", s)]


def test_a_visit_of_a_known_customer_stays_within_its_statements(cli_json, statements, backend):
    cli_json("visit", MARIA, "--amount", "12.50", "--ref", "r-1")
    statements.clear()
    card = cli_json("visit", MARIA, "--amount", "8.00", "--ref", "r-2")
    assert card["visits"] == 2 and card["duplicate"] is False  # recorded, and the card is the new one
    print(f"{len(statements)} statements:", *statements, sep="\n")
    assert len(statements) <= MOST_STATEMENTS[backend], "\n".join(statements)
    customer_reads = _customer_reads(statements)
    book_reads = [s for s in statements if s.startswith("SELECT") and "lot_books" in s]
    assert len(customer_reads) == 1, customer_reads  # read (and locked) once, then handed on
    assert len(book_reads) == 2, book_reads  # once at the start, once as it is kept
    assert not [s for s in statements if s.startswith("SELECT * FROM visits WHERE ref")]  # the INSERT checks it
    # the tier window, the issued vouchers, the consent and the last response: read in one statement
    assert not [s for s in statements if s.startswith("SELECT * FROM vouchers")]
    reads = [s for s in statements if "FROM consents" in s]
    assert len(reads) == 1 and all(f"FROM {table}" in reads[0] for table in ("visits", "vouchers", "feedback"))


def test_a_renamed_customer_is_shown_renamed_without_reading_the_row_again(cli_json, statements):
    cli_json("visit", MARIA, "--amount", "12.50")
    statements.clear()
    card = cli_json("visit", MARIA, "--amount", "8.00", "--name", "Maria Rossi")
    assert (card["name"], card["visits"]) == ("Maria Rossi", 2)
    assert len(_customer_reads(statements)) == 1


def test_a_running_till_checks_connection_and_rules_at_once_and_knows_its_numbers(statements, backend, isolated,
                                                                                 capsys):
    """`loyalty till` keeps its connection: the statement that checks it (still open, at this
    schema) also reads the newest published config id, in place of connect's check and the read
    of the published rules; and a number it has seen needs no phone cache lookup."""
    from loyalty_cli.cli.till import run_till

    marks = []

    def lines():
        for ref in ("t-1", "t-2", "t-3"):
            marks.append(len(statements))
            yield f"{MARIA} --amount 8 --ref {ref}\n"
        marks.append(len(statements))

    assert run_till(as_json=True, lines=lines()) == 0
    assert [json.loads(line)["visits"] for line in capsys.readouterr().out.splitlines()] == [1, 2, 3]
    third = statements[marks[2]:marks[3]]
    # on SQLite the command's count leaves out connect's statements (traced from the open on)
    assert len(third) <= MOST_STATEMENTS[backend] - 1 - (backend == "postgres"), "\n".join(third)
    assert not [s for s in third if "FROM config_versions ORDER BY" in s]  # the rules did not change
    assert not [s for s in third if "phone_keys" in s]
