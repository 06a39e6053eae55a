"""`loyalty simulate`: the oracle (the config in force replayed over a history typed at the
counter gives the ledger's own totals), candidates, the redemption assumption, no rules."""

import json
import sqlite3
from datetime import datetime, timedelta

import pytest

from tests.conftest import SAMPLE

ORACLE = """[shop]
name = "Oracle"
currency = "EUR"
phone_region = "IT"
timezone = "Europe/Rome"

[[rewards]]
id = "free"
name = "Free coffee"
kind = "free_item"
value = 2.00
cost = 0.50
points = 100

[[rewards]]
id = "cake"
name = "Cake"
kind = "free_item"
value = 3.50
cost = 1.20

[[rules]]
kind = "punch_card"
name = "Card"
every = 3
reward = "free"

[[rules]]
kind = "points"
name = "Points"
per_unit = 1

[[rules]]
kind = "cashback"
name = "Back"
percent = 5

[[rules]]
kind = "birthday"
reward = "cake"
days_before = 2
days_after = 2

[[rules]]
kind = "welcome"
points = 15
credit = 1.00
reward = "free"

[[tiers]]
name = "Silver"
min_visits = 4
multiplier = 1.5
perks = []

[[promotions]]
name = "Saturday"
points_multiplier = 2
extra_punches = 1
weekdays = ["sat"]

[expiry]
points_days = 30
rewards_days = 20
"""

NO_RULES = """[shop]
name = "Collect"
currency = "EUR"
phone_region = "IT"
timezone = "Europe/Rome"
"""


@pytest.fixture
def oracle(isolated, monkeypatch):
    path = isolated / "oracle.toml"
    path.write_text(ORACLE)
    monkeypatch.setenv("LOYALTY_CONFIG", str(path))
    return path


def _type_history(cli) -> None:
    """Three customers over five months, typed in time order: expiries of points (30 days) and
    vouchers (20 days) happen, a tier is reached, a Saturday promotion and a birthday fall in."""
    start = datetime(2026, 1, 5, 10, 0)
    visits = []
    for n in range(16):
        visits.append((start + timedelta(days=9 * n), "333 100 0001", f"{12 + n % 5}.{n * 7 % 100:02d}"))
    for n in range(9):
        visits.append((start + timedelta(days=15 * n, hours=3), "333 100 0002", f"{4 + n}.50"))
    for n in range(5):
        visits.append((start + timedelta(days=31 * n, hours=5), "333 100 0003", "30"))
    for at, phone, amount in sorted(visits):
        result = cli("visit", phone, "--amount", amount, "--at", at.isoformat(timespec="minutes"))
        assert result.exit_code == 0, result.stderr
        if phone == "333 100 0001" and at == start:
            assert cli("edit", phone, "--birthday", "1990-02-12").exit_code == 0
    voided = cli("visit", "333 100 0002", "--amount", "99", "--at", "2026-06-12T10:00", "--json")
    assert cli("void", json.loads(voided.stdout)["visit_id"]).exit_code == 0
    assert cli("expire").exit_code == 0


def _ledger(db_path) -> dict:
    conn = sqlite3.connect(db_path)
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    figures = {
        "points_issued": one("SELECT SUM(points) FROM ledger WHERE kind NOT IN ('redeem', 'expire')"),
        "points_expired": -one("SELECT SUM(points) FROM ledger WHERE kind = 'expire'"),
        "punches": one("SELECT SUM(punches) FROM ledger WHERE kind IN ('punch', 'promotion') "
                       "OR (kind = 'void' AND punches < 0)"),
        "credit_issued": one("SELECT SUM(credit) FROM ledger WHERE kind != 'redeem'"),
        "vouchers_by_reward": dict(conn.execute(
            "SELECT reward, COUNT(*) FROM vouchers WHERE status != 'void' GROUP BY reward ORDER BY reward")),
        "points_left": one("SELECT SUM(points) FROM customers"),
        "open_vouchers": dict(conn.execute("SELECT reward, COUNT(*) FROM vouchers WHERE status = 'issued' "
                                           "GROUP BY reward ORDER BY reward")),
    }
    conn.close()
    return figures


def test_the_config_in_force_replayed_gives_the_ledgers_totals(cli, cli_json, oracle, db_path):
    _type_history(cli)
    ledger = _ledger(db_path)
    [current] = cli_json("simulate")["scenarios"]
    assert current["name"] == "current"
    assert (current["visits"], current["customers"]) == (30, 3)
    assert current["points_issued"] == ledger["points_issued"]
    assert current["punches"] == ledger["punches"]
    assert current["credit_issued"] == f"{ledger['credit_issued'] / 100:.2f}"
    assert current["vouchers_by_reward"] == ledger["vouchers_by_reward"]
    assert ledger["vouchers_by_reward"]["cake"] == 1  # the birthday
    assert current["liability"]["vouchers"] == ledger["open_vouchers"]
    assert current["tiers"]["Silver"] >= 1
    assert current["customers_rewarded"] == 3  # the welcome gift


def test_the_replay_expires_the_points_the_counter_expires(cli, cli_json, oracle, db_path):
    _type_history(cli)
    ledger = _ledger(db_path)
    [current] = cli_json("simulate")["scenarios"]
    assert current["points_expired"] == ledger["points_expired"] > 0
    assert current["liability"]["points"] == ledger["points_left"]


def test_a_config_with_no_rules_simulates_to_zero_cost(cli, cli_json, oracle, isolated):
    _type_history(cli)
    collect = isolated / "collect.toml"
    collect.write_text(NO_RULES)
    current, candidate = cli_json("simulate", collect)["scenarios"]
    assert candidate["name"] == "collect"
    assert (candidate["expected_cost"], candidate["reward_cost"], candidate["vouchers_issued"]) == ("0.00", "0.00", 0)
    assert candidate["visits"] == current["visits"] == 30
    assert current["expected_cost"] != "0.00"


def test_candidates_periods_and_the_redemption_assumption(cli, cli_json, oracle, isolated):
    _type_history(cli)
    full = cli_json("simulate", SAMPLE)
    assert [s["name"] for s in full["scenarios"]] == ["current", "sample"]
    assert full["parameters"]["redemption"] == "1"
    half = cli_json("simulate", SAMPLE, "--redemption", "0.5")
    for whole, part in zip(full["scenarios"], half["scenarios"], strict=True):
        assert abs(float(part["expected_cost"]) * 2 - float(whole["expected_cost"])) <= 0.02
    observed = cli_json("simulate", "--redemption", "observed")
    assert observed["parameters"]["redemption"].startswith("observed (vouchers ")
    assert any("ever redeemed" in note for note in observed["notes"])  # nothing redeemed in this history
    march = cli_json("simulate", "--since", "2026-03-01", "--until", "2026-03-31")["scenarios"][0]
    assert [m["month"] for m in march["months"]] == ["2026-03"]
    assert march["visits"] < 30
    assert cli("simulate", "--redemption", "lots").exit_code == 2
    assert cli("simulate", isolated / "missing.toml").exit_code == 2


def test_every_format(cli, oracle, isolated):
    _type_history(cli)
    for fmt in ("table", "csv", "html", "xlsx"):
        target = isolated / f"sim.{fmt if fmt != 'table' else 'txt'}"
        result = cli("simulate", SAMPLE, "--output", target)
        assert result.exit_code == 0, result.stderr
        assert target.stat().st_size > 0
    assert "<svg" in (isolated / "sim.html").read_text()
    assert (isolated / "sim-months.csv").read_text().startswith("name,month,")


def test_scenarios_replayed_in_several_processes_give_what_one_process_gives(cli, cli_json, oracle, isolated):
    _type_history(cli)
    collect = isolated / "collect.toml"
    collect.write_text(NO_RULES)
    candidates = [SAMPLE, collect, isolated / "oracle.toml"]
    (isolated / "oracle.toml").rename(isolated / "again.toml")
    candidates[2] = isolated / "again.toml"
    (isolated / "oracle.toml").write_text(ORACLE)  # the config in force stays where LOYALTY_CONFIG says
    alone = cli_json("simulate", *candidates, "--jobs", "1")
    shared = cli_json("simulate", *candidates, "--jobs", "3")
    assert shared["scenarios"] == alone["scenarios"]
    assert [s["name"] for s in shared["scenarios"]] == ["current", "sample", "collect", "again"]
    current, *_, again = shared["scenarios"]
    assert {**again, "name": "current", "config": current["config"]} == current  # the same rules, wherever run
    assert cli("simulate", "--jobs", "0").exit_code == 2
