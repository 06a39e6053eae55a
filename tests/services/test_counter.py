"""The counter commands through the CLI, with the sample rules (Cone card every 10, 1 point per
euro, 5% back, welcome 20, referral 50/25, Silver 12 visits x1.2, Gold 300 EUR x1.5)."""

import os
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import db_content, db_execute

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MARIA = "333 123 4567"
MARIA_E164 = "+393331234567"
LUCA = "347 765 4321"


def visits(cli_json, phone, count, amount="3.00"):
    result = None
    for _ in range(count):
        result = cli_json("visit", phone, "--amount", amount)
    return result


# ---- visit -------------------------------------------------------------------------------------

def test_first_visit_enrols_with_welcome_bonus(cli_json):
    card = cli_json("visit", MARIA, "--amount", "12,50", "--name", "Maria Rossi")
    assert card["enrolled"] is True and card["duplicate"] is False
    assert (card["phone"], card["name"]) == (MARIA_E164, "Maria Rossi")
    assert card["points"] == 20 + 12
    assert card["credit"] == "0.62"
    assert card["punches"] == 1
    assert card["cards"][0] == {"card": "Cone card", "punches": 1, "every": 10, "count": "visits",
                                "reward": "free-cone", "reward_name": "Free ice cream cone"}
    assert card["earned"] == {"points": 12, "punches": 1, "credit": "0.62", "vouchers": []}
    assert card["visit_id"] == 1


def test_the_same_number_typed_differently_is_one_customer(cli_json):
    cli_json("visit", "333 123 4567")
    cli_json("visit", "+39 333 123 4567")
    card = cli_json("visit", "333-123-45-67")
    assert card["visits"] == 3 and card["enrolled"] is False


def test_phone_may_be_typed_as_several_words(cli):
    result = cli("visit", "333", "123", "4567", "--amount", "5")
    assert result.exit_code == 0, result.stderr
    assert "\n333 123 4567\n" in result.stdout  # the card's title: the number as Italians write it
    assert cli("show", MARIA, "--json").stdout.count(MARIA_E164) == 1


def test_tenth_visit_issues_a_readable_voucher(cli_json):
    card = visits(cli_json, MARIA, 10)
    [won] = card["earned"]["vouchers"]
    assert won["reward"] == "free-cone"
    code = won["code"]
    assert len(code) == 6 and not set(code) & set("0O1I")
    assert card["punches"] == 0
    assert [v["code"] for v in card["vouchers"]] == [code]
    assert card["vouchers"][0]["status"] == "issued"
    assert card["vouchers"][0]["expires_at"].startswith("2026-09-13")  # 90 days
    eleventh = cli_json("visit", MARIA)
    assert eleventh["punches"] == 1 and eleventh["earned"]["vouchers"] == []


def test_plain_card_when_piped(cli):
    result = cli("visit", MARIA, "--amount", "12.50")
    assert result.exit_code == 0
    assert "Cone card" in result.stdout and "1/10" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes when not a terminal


def test_back_dated_visit_is_shop_local_time(cli_json):
    card = cli_json("visit", MARIA, "--at", "2026-06-01 23:30")
    history = cli_json("show", MARIA)["recent_visits"]
    assert history[0]["at"] == "2026-06-01T23:30:00+02:00"
    assert card["last_visit"] == "2026-06-01T23:30:00+02:00"


def test_visit_with_offset_and_bare_date(cli_json):
    cli_json("visit", MARIA, "--at", "2026-06-01T10:00:00+00:00")
    cli_json("visit", MARIA, "--at", "2026-06-02")
    at = [v["at"] for v in cli_json("show", MARIA)["recent_visits"]]
    assert at == ["2026-06-02T12:00:00+02:00", "2026-06-01T12:00:00+02:00"]


def test_ref_is_an_idempotency_key(cli, cli_json, db_path):
    first = cli_json("visit", MARIA, "--amount", "10", "--ref", "R-1001")
    before = db_content(db_path)
    result = cli("visit", MARIA, "--amount", "10", "--ref", "R-1001")
    assert result.exit_code == 0
    assert "already recorded as visit #1" in result.stdout
    again = cli_json("visit", MARIA, "--amount", "10", "--ref", "R-1001")
    assert again["duplicate"] is True and again["visit_id"] == first["visit_id"]
    assert again["points"] == first["points"]
    assert db_content(db_path) == before


def test_items_and_note(cli_json, isolated):
    from tests.conftest import copy_example

    shoes = copy_example("shoe_shop.toml", isolated)
    card = cli_json("--config", shoes, "visit", "612 345 678", "--items", "5", "--amount", "240", "--note", "2 pairs")
    assert card["earned"]["vouchers"][0]["reward"] == "twenty-off"
    assert cli_json("--config", shoes, "show", "612345678")["recent_visits"][0]["note"] == "2 pairs"


@pytest.mark.parametrize("args, message", [
    (["visit", "not a phone"], "'not a phone' is not part of a phone number"),
    (["visit", "333 123 4567", "12,50"], "did you mean --amount 12,50?"),
    (["visit", "333 123 4567", "x"], "'x' is not part of a phone number"),
    (["visit", "ab+"], "not part of a phone number"),
    (["visit", MARIA, "--amount", "600"], "above the shop's max_amount of €500.00"),
    (["visit", MARIA, "--amount", "99999999999999999999"], "--amount is too large"),
    (["visit", MARIA, "--items", "99999999999999999999"], "--items is too large"),
    (["visit", "12"], "not a"),
    (["visit", MARIA, "--amount", "-5"], "--amount must not be negative"),
    (["visit", MARIA, "--amount", "12.5.0"], "--amount is not a number"),
    (["visit", MARIA, "--amount", "abc"], "--amount is not a number"),
    (["visit", MARIA, "--at", "yesterday-ish"], "--at is not an ISO date"),
    (["visit", MARIA, "--at", "2030-01-01"], "--at is in the future"),
    (["visit", MARIA, "--items", "-1"], "--items must not be negative"),
])
def test_bad_visit_input_is_exit_2_and_writes_nothing(cli, db_path, args, message):
    cli("visit", MARIA, "--amount", "1")
    before = db_content(db_path)
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert db_content(db_path) == before


# ---- enrol, edit, referral ---------------------------------------------------------------------

def test_enrol_with_referral_pays_both(cli_json):
    cli_json("enroll", MARIA, "--name", "Maria")
    luca = cli_json("enroll", LUCA, "--name", "Luca", "--referred-by", MARIA, "--birthday", "1990-02-03")
    assert luca["points"] == 20 + 25 and luca["birthday"] == "1990-02-03"
    assert cli_json("show", MARIA)["points"] == 20 + 50


def test_enrol_refusals(cli, cli_json, db_path):
    cli_json("enroll", MARIA)
    before = db_content(db_path)
    assert cli("enroll", MARIA).exit_code == 1
    result = cli("enroll", LUCA, "--referred-by", "320 000 0000")
    assert result.exit_code == 1 and "not a customer" in result.stderr
    assert cli("enroll", LUCA, "--email", "nope").exit_code == 2
    assert cli("enroll", LUCA, "--birthday", "1990-13-01").exit_code == 2
    assert db_content(db_path) == before


def test_edit_changes_details_and_clears_with_empty(cli, cli_json):
    cli_json("enroll", MARIA, "--email", "m@example.com")
    card = cli_json("edit", MARIA, "--name", "Maria R.", "--email", "")
    assert (card["name"], card["email"]) == ("Maria R.", None)
    assert cli("edit", MARIA).exit_code == 2
    assert cli("edit", LUCA, "--name", "x").exit_code == 1


# ---- show, customers, history ------------------------------------------------------------------

def test_show_unknown_customer_is_refused(cli, cli_json):
    cli_json("visit", LUCA)
    result = cli("show", MARIA)
    assert result.exit_code == 1 and "no customer" in result.stderr


@pytest.mark.parametrize("command", [("show", MARIA), ("customers",), ("history", MARIA), ("doctor",), ("expire",),
                                     ("edit", MARIA, "--name", "x"), ("redeem", MARIA, "--credit", "1"),
                                     ("void", "1")])
@pytest.mark.sqlite_only  # a file that is not there; on PostgreSQL see tests/store/test_postgres.py
def test_a_command_on_a_missing_database_is_refused_and_creates_none(cli, db_path, command):
    # `loyalty --db typo.db doctor` used to create an empty database and report all well
    result = cli(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: no database at {db_path}")
    assert not db_path.exists()


@pytest.mark.parametrize("command", [("visit", "12"), ("visit", MARIA, "--amount", "-3"),
                                     ("visit", MARIA, "--name", "Ma\x1b]0;owned\x07ria"),
                                     ("enroll", MARIA, "--email", "nope"), ("enroll", MARIA, "--name", "x" * 201)])
@pytest.mark.sqlite_only
def test_a_refused_first_command_leaves_no_database(cli, db_path, command):
    result = cli(*command)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert not db_path.exists() and not list(db_path.parent.glob("loyalty.db*"))


@pytest.mark.sqlite_only
def test_a_database_created_by_a_command_that_fails_later_is_removed(cli, db_path, monkeypatch):
    from loyalty_cli.domain.errors import Refused
    from loyalty_cli.services import counter

    def refuse(*args, **kwargs):
        raise Refused("refused after the database was opened")

    monkeypatch.setattr(counter.rules, "apply_visit", refuse)
    result = cli("visit", MARIA)
    assert result.exit_code == 1
    assert not list(db_path.parent.glob("loyalty.db*"))


def test_customers_search_sort_limit_and_tier(cli_json, at):
    at("2026-06-15T12:00:00+00:00")
    visits(cli_json, MARIA, 12, "2")  # 12 visits: Silver
    cli_json("visit", LUCA, "--amount", "310", "--name", "Luca")  # 310 EUR: Gold
    cli_json("enroll", "320 555 1234", "--name", "Anna")
    rows = cli_json("customers", "--sort", "spend")
    assert [r["phone"] for r in rows] == ["+393477654321", MARIA_E164, "+393205551234"]
    assert [r["tier"] for r in rows] == ["Gold", "Silver", None]
    assert [r["phone"] for r in cli_json("customers", "--tier", "silver")] == [MARIA_E164]
    assert [r["name"] for r in cli_json("customers", "--search", "ann")] == ["Anna"]
    assert len(cli_json("customers", "--limit", "1", "--sort", "visits")) == 1
    assert cli_json("customers", "--sort", "visits")[0]["visits"] == 12


def test_customers_bad_sort(cli, cli_json):
    cli_json("visit", MARIA)
    result = cli("customers", "--sort", "height")
    assert result.exit_code == 2 and "--sort" in result.stderr


def test_history_is_newest_first(cli_json):
    cli_json("visit", MARIA, "--amount", "10")
    kinds = [line["kind"] for line in cli_json("history", MARIA)]
    assert kinds == ["cashback", "points", "punch", "welcome"]
    assert len(cli_json("history", MARIA, "--limit", "2")) == 2


# ---- tiers over time ---------------------------------------------------------------------------

def test_gold_multiplier_and_the_window_of_365_days(cli_json, at):
    at("2025-06-01T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "300")
    at("2025-06-02T12:00:00+00:00")
    gold = cli_json("visit", MARIA, "--amount", "10")
    assert gold["tier"] == "Gold" and gold["earned"]["points"] == 15
    at("2026-06-15T12:00:00+00:00")  # the big spend is more than 365 days old
    later = cli_json("visit", MARIA, "--amount", "10")
    assert later["tier"] is None and later["earned"]["points"] == 10


# ---- redeem ------------------------------------------------------------------------------------

def test_redeem_voucher_then_it_is_used(cli, cli_json):
    code = visits(cli_json, MARIA, 10)["earned"]["vouchers"][0]["code"]
    done = cli_json("redeem", MARIA, code.lower())
    assert done["redeemed"] == {"voucher": code, "reward": "free-cone", "points": 0}
    assert done["vouchers"] == []
    result = cli("redeem", MARIA, code)
    assert result.exit_code == 1 and "is redeemed" in result.stderr


def test_redeem_reward_id_uses_a_held_voucher_before_points(cli_json):
    card = visits(cli_json, MARIA, 10, "10")  # 20 + 100 points and a voucher
    code = card["earned"]["vouchers"][0]["code"]
    first = cli_json("redeem", MARIA, "free-cone")
    assert first["redeemed"]["voucher"] == code and first["points"] == 120
    second = cli_json("redeem", MARIA, "free-cone")
    assert second["redeemed"]["points"] == 100 and second["points"] == 20


def test_redeem_refusals_change_nothing(cli, cli_json, db_path):
    code = visits(cli_json, MARIA, 10)["earned"]["vouchers"][0]["code"]
    cli_json("enroll", LUCA)
    before = db_content(db_path)
    cases = [
        (["redeem", LUCA, code], 1, "belongs to another customer"),
        (["redeem", MARIA, "five-off"], 1, "costs 250 points"),
        (["redeem", MARIA, "birthday-10"], 1, "cannot be bought with points"),
        (["redeem", MARIA, "XXXXXX"], 1, "no voucher or reward"),
        (["redeem", MARIA, "--credit", "100"], 1, "not enough store credit"),
        (["redeem", MARIA, "--credit", "-1"], 2, "must not be negative"),
        (["redeem", "3331234567"], 2, "voucher code or reward id"),
    ]
    for args, code_expected, message in cases:
        result = cli(*args)
        assert result.exit_code == code_expected, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    assert db_content(db_path) == before


def test_spend_credit(cli_json):
    visits(cli_json, MARIA, 2, "50")  # 2 x 2.50
    done = cli_json("redeem", MARIA, "--credit", "3,50")
    assert done["credit"] == "1.50" and done["redeemed"] == {"credit": "3.50"}


def test_expired_voucher_cannot_be_redeemed(cli, cli_json, at):
    at("2026-01-01T12:00:00+00:00")
    code = visits(cli_json, MARIA, 10)["earned"]["vouchers"][0]["code"]
    at("2026-04-02T12:00:00+00:00")  # 91 days later
    result = cli("redeem", MARIA, code)
    assert result.exit_code == 1 and "is expired" in result.stderr
    # the refusal rolled back everything, the expiry it noticed included ...
    assert [line["kind"] for line in cli_json("history", MARIA)][0] == "cashback"
    cli_json("expire")  # ... which cron writes down
    line = cli_json("history", MARIA)[0]
    assert (line["kind"], line["voucher"]) == ("expire", code)


def test_a_visit_shows_the_vouchers_held_and_expires_the_due_ones(cli_json, at):
    """A visit reads the customer's issued vouchers once: the due ones expire, and the card shows
    the rest as read unless the visit issued or expired one (services/counter.py)."""
    at("2026-01-01T12:00:00+00:00")
    code = visits(cli_json, MARIA, 10)["earned"]["vouchers"][0]["code"]
    at("2026-02-01T12:00:00+00:00")
    held = cli_json("visit", MARIA, "--amount", "5")
    assert [v["code"] for v in held["vouchers"]] == [code] and held["earned"]["vouchers"] == []
    at("2026-04-02T12:00:00+00:00")  # 91 days after the tenth visit
    lapsed = cli_json("visit", MARIA, "--amount", "5")
    assert lapsed["vouchers"] == []
    assert [(line["kind"], line["voucher"]) for line in cli_json("history", MARIA)
            if line["kind"] == "expire"] == [("expire", code)]
    assert cli_json("show", MARIA)["vouchers"] == []


# ---- void --------------------------------------------------------------------------------------

def balances(card):
    return card["points"], card["credit"], card["punches"], [v["code"] for v in card["vouchers"]]


def test_void_restores_the_previous_balances(cli_json):
    before = visits(cli_json, MARIA, 9)
    tenth = cli_json("visit", MARIA, "--amount", "40")
    assert tenth["earned"]["vouchers"]
    undone = cli_json("void", str(tenth["visit_id"]), "--reason", "wrong customer")
    assert balances(undone) == balances(before)
    assert undone["visits"] == 9
    history = cli_json("history", MARIA)
    assert {line["kind"] for line in history[:4]} == {"void"}
    assert all(line["reverses"] for line in history[:4])


def test_void_after_the_voucher_was_used_shows_the_debt(cli_json):
    tenth = visits(cli_json, MARIA, 10)
    cli_json("redeem", MARIA, tenth["earned"]["vouchers"][0]["code"])
    undone = cli_json("void", str(tenth["visit_id"]))
    assert undone["punches"] == -1  # the reward was taken; the last punch is owed
    assert undone["kept_vouchers"] == [tenth["earned"]["vouchers"][0]["code"]]


def test_void_refusals(cli, cli_json):
    card = cli_json("visit", MARIA)
    assert cli("void", "99").exit_code == 1
    assert cli("void", str(card["visit_id"])).exit_code == 0
    result = cli("void", str(card["visit_id"]))
    assert result.exit_code == 1 and "already voided" in result.stderr
    assert cli("void", "abc").exit_code == 2


# ---- expiry ------------------------------------------------------------------------------------

def test_points_expire_after_a_year_oldest_first(cli_json, at):
    at("2025-01-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "100")  # 20 welcome + 100
    at("2025-09-01T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "50")  # +50
    cli_json("redeem", MARIA, "free-cone")  # -100 from the oldest lot: 20 of it left
    at("2026-01-11T12:00:00+00:00")
    shown = cli_json("show", MARIA)
    assert shown["points"] == 50  # the read shows the 20 as gone ...
    assert [line["kind"] for line in cli_json("history", MARIA)][0] == "redeem"  # ... without writing
    assert cli_json("expire") == {"customers": 1, "points": 20, "vouchers": 0}
    assert cli_json("expire") == {"customers": 0, "points": 0, "vouchers": 0}  # idempotent
    line = cli_json("history", MARIA)[0]
    assert (line["kind"], line["points"]) == ("expire", -20)
    at("2026-09-02T12:00:00+00:00")
    assert cli_json("expire")["points"] == 50


def test_expire_marks_vouchers(cli_json, at):
    at("2026-01-01T12:00:00+00:00")
    visits(cli_json, MARIA, 10)
    at("2026-06-01T12:00:00+00:00")
    assert cli_json("expire")["vouchers"] == 1
    assert cli_json("show", MARIA)["vouchers"] == []


# ---- doctor and the append-only ledger ---------------------------------------------------------

def test_doctor_passes_then_finds_a_tampered_balance(cli, cli_json, db_path):
    visits(cli_json, MARIA, 10)
    cli_json("redeem", MARIA, "free-cone")
    assert cli_json("doctor") == {"ok": True, "problems": []}
    db_execute(db_path, "UPDATE customers SET points = points + 5")
    result = cli("doctor")
    assert result.exit_code == 1
    assert "ledger says" in result.stdout


def test_ledger_refuses_edits_and_deletes(cli_json, db_path):
    cli_json("visit", MARIA)
    with pytest.raises(Exception, match="append-only"):  # sqlite3's or psycopg's error
        db_execute(db_path, "UPDATE ledger SET points = 1000")
    with pytest.raises(Exception, match="append-only"):
        db_execute(db_path, "DELETE FROM ledger")


@pytest.mark.sqlite_only
def test_locked_database_is_a_one_line_refusal(cli, cli_json, db_path, monkeypatch):
    cli_json("visit", MARIA)
    from loyalty_cli.store import db as store_db

    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = cli("visit", MARIA)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "busy" in result.stderr and result.stderr.count("\n") == 1


def test_paths_and_version(cli, cli_json, db_path):
    data = cli_json("paths")
    assert (data["db"], data["db_from"]) == (str(db_path), "LOYALTY_DB")
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("loyalty-cli ")


# ---- what a tired clerk or a broken script types ------------------------------------------------

def test_a_ref_of_another_customer_is_refused(cli, cli_json, db_path):
    cli_json("visit", MARIA, "--amount", "3", "--ref", "TILL-1042")
    before = db_content(db_path)
    result = cli("visit", LUCA, "--amount", "3", "--ref", "TILL-1042")
    assert result.exit_code == 1
    assert result.stderr == f"error: --ref TILL-1042 is already visit #1 of {MARIA_E164}: nothing recorded\n"
    assert db_content(db_path) == before


def test_more_refusals_with_the_right_exit_code(cli, cli_json, at):
    cli_json("enroll", MARIA)
    assert cli("redeem", MARIA, "--credit", "0").exit_code == 2
    assert cli("enroll", LUCA, "--birthday", "2030-01-01").exit_code == 2
    result = cli("customers", "--tier", "Platinum")
    assert result.exit_code == 2 and "tiers: Silver, Gold" in result.stderr
    assert cli("void", "99999999999999999999").exit_code == 1
    assert cli("show", MARIA, "--last", "99999999999999999999").exit_code == 2


def test_search_by_digits_typed_with_spaces(cli_json):
    cli_json("enroll", MARIA, "--name", "Maria")
    assert [r["name"] for r in cli_json("customers", "--search", "333 123")] == ["Maria"]
    assert cli_json("customers", "--search", "444 555") == []


def test_expired_voucher_names_its_expiry_date(cli, cli_json, at):
    at("2026-01-01T12:00:00+00:00")
    code = visits(cli_json, MARIA, 10)["earned"]["vouchers"][0]["code"]
    at("2026-06-01T12:00:00+00:00")
    cli_json("expire")
    result = cli("redeem", MARIA, code)
    # issued at 13:00 in Rome (CET); 90 local days later is 13:00 CEST, not 90 x 24 hours (14:00)
    assert f"voucher {code} is expired (since 2026-04-01 13:00)" in result.stderr


def test_history_is_in_time_order_with_back_dated_visits(cli_json):
    cli_json("visit", MARIA, "--amount", "10")
    cli_json("visit", MARIA, "--amount", "20", "--at", "2026-01-10")
    at_times = [line["at"] for line in cli_json("history", MARIA)]
    assert at_times == sorted(at_times, reverse=True)


def test_database_in_a_missing_folder_is_refused(cli, isolated):
    result = cli("--db", isolated / "nodir" / "x.db", "visit", MARIA)
    assert result.exit_code == 2 and "no such folder" in result.stderr
    assert not (isolated / "nodir").exists()
    result = cli("--db", "", "visit", MARIA)
    assert result.exit_code == 2 and "empty" in result.stderr


def test_a_new_database_is_announced_on_stderr(cli, isolated):
    result = cli("--db", isolated / "new.db", "visit", MARIA)
    assert result.exit_code == 0
    assert f"note: created a new database at {isolated / 'new.db'}" in result.stderr
    assert "created" not in cli("--db", isolated / "new.db", "visit", MARIA).stderr


def test_a_file_that_is_not_a_database(cli, isolated):
    notes = isolated / "notes.db"
    notes.write_text("shopping list: milk, cones, sprinkles\n" * 100)
    result = cli("--db", notes, "show", MARIA)
    assert result.exit_code == 1 and "is not a loyalty database" in result.stderr


def test_garbage_clock_override(cli, monkeypatch):
    monkeypatch.setenv("LOYALTY_NOW", "garbage")
    result = cli("visit", MARIA)
    assert result.exit_code == 2 and "LOYALTY_NOW" in result.stderr


def test_void_after_the_points_expired_takes_back_only_what_was_not_lost(cli_json, at):
    at("2025-01-01T11:00:00+00:00")
    visit = cli_json("visit", MARIA, "--amount", "100")  # 20 welcome + 100
    at("2026-01-10T11:00:00+00:00")
    assert cli_json("expire")["points"] == 120
    undone = cli_json("void", str(visit["visit_id"]))
    assert undone["points"] == 0  # not -100: those points had already expired
    assert any("100 of its points had already expired" in line["reason"] for line in cli_json("history", MARIA))


def test_void_after_points_were_spent_and_the_rest_expired(cli_json, at):
    at("2025-01-01T11:00:00+00:00")
    visit = cli_json("visit", MARIA, "--amount", "200")  # 20 + 200 points
    cli_json("redeem", MARIA, "free-cone")  # 100 spent: the welcome 20 and 80 of the visit's
    at("2026-01-10T11:00:00+00:00")
    assert cli_json("expire")["points"] == 120  # the visit's other 120 lapsed
    undone = cli_json("void", str(visit["visit_id"]))
    assert undone["points"] == -80  # the 80 spent are owed; the 120 lost are not taken twice


def test_visits_at_the_same_moment_count_towards_the_tier(cli_json):
    cli_json("visit", MARIA, "--amount", "200", "--at", "2026-06-01")
    second = cli_json("visit", MARIA, "--amount", "150", "--at", "2026-06-01")
    assert second["earned"]["points"] == 225  # 350 spent: Gold, 150 x 1.5


def test_a_back_dated_voucher_expires_from_its_visit(cli, cli_json):
    for day in range(1, 10):
        cli_json("visit", MARIA, "--at", f"2026-01-{day:02d}")
    card = cli_json("visit", MARIA, "--at", "2026-01-10")  # 10th punch, 156 days ago
    [won] = card["earned"]["vouchers"]
    assert won["status"] == "expired" and card["vouchers"] == []  # lapsed on 2026-04-10
    assert [(line["kind"], line["voucher"]) for line in cli_json("history", MARIA)][0] == ("expire", won["code"])
    recent = cli_json("visit", MARIA, "--at", "2026-06-01")
    assert recent["earned"]["vouchers"] == []
    for day in range(2, 11):
        card = cli_json("visit", MARIA, "--at", f"2026-06-{day:02d}")
    [fresh] = card["earned"]["vouchers"]
    assert fresh["status"] == "issued"
    assert card["vouchers"][0]["expires_at"].startswith("2026-09-08")  # 2026-06-10 + 90 days
    plain = cli("visit", MARIA, "--at", "2026-01-11")
    assert "NEW REWARD" not in plain.stdout


@pytest.mark.parametrize("args, message", [
    (["--at", "0001-01-01"], "--at is before 1990"),
    (["--at", "2026-03-29T02:30"], "does not exist in Europe/Rome"),
    (["--amount", ""], "--amount is not a number"),
])
def test_more_bad_visit_input(cli, args, message):
    result = cli("visit", MARIA, *args)
    assert result.exit_code == 2 and message in result.stderr


# ---- issue 9, item 13: small crashes and silences ----------------------------------------------

def test_redeem_with_empty_credit_is_one_line(cli, cli_json):
    cli_json("visit", MARIA, "--amount", "10")
    result = cli("redeem", MARIA, "--credit", "")
    assert result.exit_code == 2 and result.stderr == "error: --credit is not a number: ''\n"


def test_redeem_with_a_code_and_credit_names_the_code_not_the_phone(cli, cli_json):
    cli_json("visit", MARIA, "--amount", "10")
    result = cli("redeem", MARIA, "FREECODE", "--credit", "1")
    assert result.exit_code == 2
    assert "'FREECODE'" in result.stderr and "not both" in result.stderr and "phone" not in result.stderr


def test_a_ref_reused_for_another_amount_is_refused(cli, cli_json, db_path):
    cli_json("visit", MARIA, "--amount", "5", "--ref", "R-1")
    before = db_content(db_path)
    result = cli("visit", MARIA, "--amount", "7", "--ref", "R-1")
    assert result.exit_code == 1
    assert "already visit #1 for €5.00" in result.stderr and "not €7.00" in result.stderr
    assert db_content(db_path) == before
    again = cli_json("visit", MARIA, "--amount", "5", "--ref", "R-1")  # a plain retry stays harmless
    assert again["duplicate"] is True


def test_a_ref_of_a_voided_visit_is_refused(cli, cli_json):
    cli_json("visit", MARIA, "--amount", "5", "--ref", "R-2")
    cli_json("void", "1")
    result = cli("visit", MARIA, "--amount", "5", "--ref", "R-2")
    assert result.exit_code == 1 and "voided on" in result.stderr


def test_history_from_the_1990s_is_accepted_and_earlier_is_a_typo(cli, cli_json):
    assert cli_json("visit", MARIA, "--at", "1995-05-05", "--amount", "3")["visit_id"] == 1
    result = cli("visit", MARIA, "--at", "1989-12-31", "--amount", "3")
    assert result.exit_code == 2 and "before 1990" in result.stderr


def test_a_tz_variable_naming_a_file_is_followed(cli_json, monkeypatch, tmp_path):
    # TZ=:/etc/localtime with no timezone in the config made every command exit 2
    zone_dir = tmp_path / "zoneinfo" / "Europe"
    zone_dir.mkdir(parents=True)
    from zoneinfo import TZPATH

    source = next(Path(p) / "Europe" / "Madrid" for p in TZPATH if (Path(p) / "Europe" / "Madrid").exists())
    (zone_dir / "Madrid").write_bytes(source.read_bytes())
    (tmp_path / "localtime").symlink_to(zone_dir / "Madrid")
    config = tmp_path / "shop.toml"
    config.write_text('[shop]\nname = "x"\ncurrency = "EUR"\nphone_region = "ES"\n', encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    monkeypatch.setenv("TZ", f":{tmp_path / 'localtime'}")
    shown = cli_json("config", "show")
    assert shown["config"]["shop"]["timezone"] == "Europe/Madrid"


def test_a_piped_card_whose_reader_leaves_is_not_an_error(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "LOYALTY_DB": str(tmp_path / "p.db")}
    shell = f"{sys.executable} -m loyalty_cli visit 333 123 4567 --amount 5 | head -c1 >/dev/null; " \
            "echo ${PIPESTATUS[0]}"
    done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "0", done.stderr
    assert "Traceback" not in done.stderr
