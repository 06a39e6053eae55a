"""The counter's lists (customers, history, show's visits) go through the reports' writers:
the same --format table|csv|json, the same 80-column fitting, money as the reports show it."""

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest

from loyalty_cli.output import console, lists
from loyalty_cli.output import terminal as output_terminal
from loyalty_cli.store import db as store_db

MARIA = "333 123 4567"
LONG_NAME = "Alessandra Bellincioni"  # 22 characters: the old drawer cut it mid-word at 80 columns


@pytest.fixture
def shop(cli_json):
    cli_json("visit", MARIA, "--amount", "12.50", "--name", "Maria Rossi-Bianchi")
    cli_json("visit", MARIA, "--amount", "480")
    cli_json("visit", "347 765 4321", "--amount", "3", "--name", LONG_NAME, "--note", "cake, candles")
    cli_json("enroll", "320 555 1234", "--name", "=cmd|' /C calc'!A0")


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_customers_csv(cli, cli_json, shop):
    result = cli("customers", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"phone,name,tier,visits,spend,last_visit,punches,points,credit,"
                                          b"open_vouchers\r\n")  # RFC 4180, as the reports' CSV
    rows = csv_rows(result.stdout)
    by_name = {row["name"]: row for row in rows}
    maria = by_name["Maria Rossi-Bianchi"]
    assert maria["phone"] == "'+393331234567"  # as in the reports' CSV: never read as a formula
    assert (maria["spend"], maria["credit"], maria["last_visit"]) == ("492.50", "24.62", "2026-06-15")
    assert by_name["'=cmd|' /C calc'!A0"]["visits"] == "0"
    assert len(rows) == len(cli_json("customers"))


def test_customers_piped_default_is_csv_and_json_is_unchanged(cli, cli_json, shop):
    assert cli("customers").stdout == cli("customers", "--format", "csv").stdout
    as_json = json.loads(cli("customers", "--format", "json").stdout)
    assert as_json == cli_json("customers")
    assert set(as_json[0]) == {"phone", "name", "tier", "visits", "spend", "last_visit", "punches", "points",
                               "credit", "open_vouchers"}
    assert as_json[0]["spend"] == "492.50" and as_json[0]["last_visit"] == "2026-06-15T14:00:00+02:00"


def test_format_and_json_must_agree(cli, shop):
    result = cli("customers", "--json", "--format", "csv")
    assert result.exit_code == 2 and "disagree" in result.stderr
    result = cli("history", MARIA, "--format", "xlsx")
    assert result.exit_code == 2 and "table, csv, excel-csv, json" in result.stderr
    assert cli("customers", "--json", "--format", "json").exit_code == 0


def test_history_csv(cli, cli_json, shop):
    result = cli("history", MARIA, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = csv_rows(result.stdout)
    ledger = cli_json("history", MARIA)
    assert list(rows[0]) == list(ledger[0])  # the CSV's columns are the JSON's keys
    assert [row["kind"] for row in rows] == [line["kind"] for line in ledger]
    assert [row["credit"] for row in rows] == [line["credit"] for line in ledger]  # '0.62', not '€0.62'


def test_show_formats(cli, cli_json, shop):
    card = cli_json("show", MARIA)
    assert json.loads(cli("show", MARIA, "--format", "json").stdout) == card
    visits = csv_rows(cli("show", MARIA, "--format", "csv").stdout)
    assert [row["amount"] for row in visits] == [v["amount"] for v in card["recent_visits"]] == ["480.00", "12.50"]
    piped = cli("show", MARIA).stdout  # a card is for people: the card in a pipe too, then the visits
    assert piped.startswith("Maria Rossi-Bianchi · 333 123 4567 · Gold\n") and "  Points: " in piped
    assert "Last visits" in piped and "€480.00" in piped and "\x1b" not in piped


def test_customers_table_at_80_columns(cli, shop, monkeypatch):
    monkeypatch.setattr(console, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("customers")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert LONG_NAME in out and "Maria Rossi-Bianchi" in out  # names whole, on one line
    assert "333 123 4567" in out and "€492.50" in out and "€3.00" in out  # phones and money as people write them
    assert "Customers (3)" in out


def test_history_table_wraps_long_reasons_at_spaces(cli, shop, monkeypatch):
    monkeypatch.setattr(console, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("history", MARIA).stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "2026-06-15 14:00" in out and "€24.00" in out  # times and money never cut


def test_an_empty_list_says_so(cli, monkeypatch, db_path):
    store_db.connect(db_path).close()  # a database with no customer yet
    monkeypatch.setattr(console, "is_terminal", lambda: True)
    assert "no customers match" in cli("customers").stdout
    assert cli("customers", "--format", "csv").stdout == (
        "phone,name,tier,visits,spend,last_visit,punches,points,credit,open_vouchers\n")


def test_a_list_as_plain_text_has_no_report_heading():
    rows = [{"visit_id": 1, "at": "2026-06-15T14:00:00+02:00", "amount": "-3.00", "items": 1, "note": None, "ref": None,
             "voided": True}]
    out = io.StringIO()
    output_terminal.write_text(lists.visits(rows, "EUR", ZoneInfo("Europe/Rome")), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Last visits"
    assert lines[3].split() == ["1", "2026-06-15", "14:00", "-€3.00", "1", "yes"]


# ---- issue 9, item 7: stored escape sequences are shown, never run --------------------------------

HOSTILE = "Ma\x1b]0;owned\x07\x1b[2Jria\x9b\u202e"


def stored_hostile_name(db_path):
    """A name written before the counter refused control characters (straight into the file)."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE customers SET name = ?", (HOSTILE,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("args", [("customers",), ("customers", "--format", "csv"), ("show", MARIA),
                                  ("report", "customers", "--format", "csv"), ("report", "customers", "-f", "table"),
                                  ("report", "visits", "--format", "html")])
def test_no_control_character_reaches_the_output(cli, cli_json, db_path, args):
    cli_json("visit", MARIA, "--amount", "5")
    stored_hostile_name(db_path)
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b\u202e")
    assert "␛" in result.stdout or "&" in result.stdout or "Ma" in result.stdout


@pytest.mark.parametrize("args", [("customers", "--json"), ("show", MARIA, "--json"),
                                  ("report", "customers", "--format", "json")])
def test_json_keeps_the_stored_value_exactly_but_escaped(cli, cli_json, db_path, args):
    import json

    cli_json("visit", MARIA, "--amount", "5")
    stored_hostile_name(db_path)
    result = cli(*args)
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b\u202e")
    assert HOSTILE in result.stdout.encode().decode("unicode_escape", errors="ignore") or \
        HOSTILE in json.dumps(json.loads(result.stdout), ensure_ascii=False)
