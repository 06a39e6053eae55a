"""Exact figures of every report on a small history built through the real commands.

The shop is the sample config (EUR, Europe/Rome; punch card of 10 for a free cone costing
0.80, 1 point per euro, 5% cashback, 20 welcome points, vouchers live 90 days, points 365).
The history (all times Rome unless marked Z):

- Carla:  one visit of 50.00 on 2025-06-25: her 70 points expire within 30 days of now.
- Anna:   10 visits of 10.00 on 1-10 Feb 2026 (voucher V1, expiring 2026-05-11);
          8.00 at 00:30 on 1 May (30 April in UTC: it belongs to May);
          30.00 on 10 May, voided the same day;
          V1 written down by `loyalty expire` on 20 May, dated 11 May when it fell due;
          on 25 May she buys a cone for 100 points.
- Fabio:  10 visits of 10.00 on 20-29 March 2026: voucher V3, open, expires 27 June.
- Bruno:  enrols with 20.00 on 5 May, 15.00 at 23:30 on 31 May, spends 1.00 of credit at
          23:45 that night; 5.00 at 00:15 on 1 June (31 May in UTC: it belongs to June).
- Elio:   9 visits of 5.00 on 1-9 June: one visit from a free cone.

Now is 2026-06-15 14:00 in Rome. The period under test is May 2026.
"""

import json
import shutil
from datetime import UTC

import pytest
from typer.testing import CliRunner

from loyalty_cli.cli.app import app
from loyalty_cli.reporting import catalog
from loyalty_cli.reporting.at_risk import rhythm
from loyalty_cli.reporting.background import BackgroundReports
from loyalty_cli.reporting.context import Context, fingerprint
from loyalty_cli.reporting.period import Period
from loyalty_cli.store import db as store_db
from tests.conftest import SAMPLE

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MAY = ("--since", "2026-05-01", "--until", "2026-05-31")
NOW = "2026-06-15T12:00:00+00:00"
ANNA, BRUNO, CARLA, FABIO, ELIO = "333 111 1111", "333 222 2222", "333 333 3333", "333 444 4444", "333 555 5555"


def build_history(db) -> None:
    runner = CliRunner()

    def run(now, *args):
        env = {"LOYALTY_DB": str(db), "LOYALTY_CONFIG": str(SAMPLE), "LOYALTY_NOW": now}
        result = runner.invoke(app, [str(a) for a in args], env=env)
        assert result.exit_code == 0, result.output + result.stderr
        return result.stdout

    run("2025-06-25T10:00:00Z", "visit", CARLA, "--amount", "50", "--name", "Carla")
    # The clock stands at the tenth visit, so the voucher's 90 days count from it either way.
    for day in range(1, 11):
        run("2026-02-10T11:00:00Z", "visit", ANNA, "--amount", "10", "--at", f"2026-02-{day:02d}T12:00",
            "--name", "Anna")
    for day in range(20, 30):
        run("2026-03-29T10:00:00Z", "visit", FABIO, "--amount", "10", "--at", f"2026-03-{day:02d}T12:00",
            "--name", "Fabio")
    run("2026-05-10T12:00:00Z", "visit", ANNA, "--amount", "8", "--at", "2026-05-01T00:30")
    voided = json.loads(run("2026-05-10T12:00:00Z", "visit", ANNA, "--amount", "30", "--json"))["visit_id"]
    run("2026-05-10T12:00:00Z", "void", voided, "--reason", "wrong customer")
    run("2026-05-20T08:00:00Z", "expire")
    run("2026-05-25T10:00:00Z", "redeem", ANNA, "free-cone")
    run("2026-05-31T21:45:00Z", "visit", BRUNO, "--amount", "20", "--at", "2026-05-05T10:00", "--name", "Bruno")
    run("2026-05-31T21:45:00Z", "visit", BRUNO, "--amount", "15", "--at", "2026-05-31T23:30")
    run("2026-05-31T21:45:00Z", "redeem", BRUNO, "--credit", "1.00")
    run(NOW, "visit", BRUNO, "--amount", "5", "--at", "2026-06-01T00:15")
    for day in range(1, 10):
        run(NOW, "visit", ELIO, "--amount", "5", "--at", f"2026-06-{day:02d}T18:00", "--name", "Elio")


@pytest.fixture(scope="session")
def history_file(tmp_path_factory):
    db = tmp_path_factory.mktemp("history") / "history.db"
    build_history(db)
    return db


@pytest.fixture
def history(history_file, db_path):
    """A private copy of the built history as this test's database (on PostgreSQL: `db copy`)."""
    if isinstance(db_path, str):
        from loyalty_cli.store import db as store_db
        from loyalty_cli.store.copy import copy_database

        source, target = store_db.connect(history_file, create=False), store_db.connect(db_path)
        copy_database(source, target, db_path)
        source.close()
        target.close()
        return db_path
    for suffix in ("", "-wal", "-shm"):
        source = history_file.with_name(history_file.name + suffix)
        if source.exists():
            shutil.copy(source, db_path.with_name(db_path.name + suffix))
    return db_path


def report(cli, *args):
    result = cli("report", *args, "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


# ---- summary ---------------------------------------------------------------------------------

def test_summary_of_may(cli, history):
    data = report(cli, "summary", *MAY)
    assert data["report"] == "summary"
    assert data["parameters"] == {
        "shop": "Gelateria Roma", "currency": "EUR", "timezone": "Europe/Rome", "since": "2026-05-01",
        "until": "2026-05-31", "as_of": "2026-06-15T14:00:00+02:00", "bucket": "day"}
    assert data["rows"] == [{
        "since": "2026-05-01", "until": "2026-05-31",
        "visits": 3, "voided_visits": 1, "visits_with_amount": 3, "customers": 2, "new_customers": 1,
        "returning_customers": 1, "returning_share": 0.5,
        "revenue": "43.00", "average_ticket": "14.33",
        "punches_issued": 3, "punches_redeemed": 0,
        "points_issued": 63, "points_redeemed": 100, "points_expired": 0,
        "credit_issued": "2.15", "credit_redeemed": "1.00",
        "vouchers_issued": 1, "vouchers_redeemed": 1, "vouchers_expired": 1, "vouchers_voided": 0,
        "reward_cost": "0.80",
    }]


def test_average_ticket_is_over_the_visits_with_an_amount(cli, cli_json):
    # 12.00 and 6.00; a visit without --amount and one of 0.00 (both 0.00 in the visits report);
    # 30.00 voided. Revenue 18.00 over 2 visits with an amount: 9.00 (not 4.50 over all 4).
    for amount in ("12", None, "6", "0"):
        cli_json("visit", "333 900 0001", *(("--amount", amount) if amount else ()))
    voided = cli_json("visit", "333 900 0001", "--amount", "30")["visit_id"]
    cli_json("void", voided)
    today = ("--since", "today")
    row = report(cli, "summary", *today)["rows"][0]
    assert (row["visits"], row["voided_visits"], row["visits_with_amount"]) == (4, 1, 2)
    assert (row["revenue"], row["average_ticket"]) == ("18.00", "9.00")
    assert [v["amount"] for v in report(cli, "visits", *today)["rows"] if not v["voided"]] == [
        "12.00", "0.00", "6.00", "0.00"]
    header = cli("report", "summary", *today, "--format", "table").stdout
    assert "Average ticket (per visit with an amount)" in header and "Visits with an amount" in header


def test_summary_timeline_buckets_local_days(cli, history):
    data = report(cli, "summary", *MAY)
    days = {row["start"]: (row["visits"], row["revenue"]) for row in data["timeline"] if row["visits"]}
    # 00:30 on 1 May is 30 April in UTC; 00:15 on 1 June is 31 May in UTC: both go by Rome.
    assert days == {"2026-05-01": (1, "8.00"), "2026-05-05": (1, "20.00"), "2026-05-31": (1, "15.00")}
    assert len(data["timeline"]) == 31
    assert all(row["start"] == row["end"] for row in data["timeline"])


def test_summary_of_one_day_near_midnight(cli, history):
    june_first = report(cli, "summary", "--since", "2026-06-01", "--until", "2026-06-01")["rows"][0]
    assert (june_first["visits"], june_first["revenue"], june_first["credit_issued"]) == (2, "10.00", "0.50")
    may_31 = report(cli, "summary", "--since", "2026-05-31", "--until", "2026-05-31")["rows"][0]
    assert (may_31["visits"], may_31["revenue"], may_31["credit_redeemed"]) == (1, "15.00", "1.00")


def test_summary_weekly_for_a_long_period(cli, history):
    data = report(cli, "summary", "--since", "2026-01-01", "--until", "2026-06-15")
    assert data["parameters"]["bucket"] == "week"
    assert data["timeline"][0] == {"start": "2026-01-01", "end": "2026-01-04", "visits": 0, "revenue": "0.00"}
    assert data["timeline"][-1]["end"] == "2026-06-15"
    assert sum(row["visits"] for row in data["timeline"]) == data["rows"][0]["visits"] == 10 + 10 + 1 + 3 + 9
    feb = next(row for row in data["timeline"] if row["start"] == "2026-02-02")
    assert (feb["end"], feb["visits"], feb["revenue"]) == ("2026-02-08", 7, "70.00")


def test_empty_period(cli, history):
    row = report(cli, "summary", "--since", "2024-01-01", "--until", "2024-01-31")["rows"][0]
    assert row["visits"] == 0 and row["revenue"] == "0.00"
    assert row["average_ticket"] is None and row["returning_share"] is None


# ---- customers -------------------------------------------------------------------------------

def test_customers(cli, history):
    rows = report(cli, "customers", *MAY)["rows"]
    assert [r["name"] for r in rows] == ["Anna", "Fabio", "Carla", "Elio", "Bruno"]  # by spend
    anna, fabio, carla, elio, bruno = rows
    assert anna == {
        "phone": "+393331111111", "name": "Anna", "email": None, "enrolled": "2026-02-01", "tier": None,
        "visits": 11, "spend": "108.00", "last_visit": "2026-05-01T00:30:00+02:00",
        "visits_in_period": 1, "spend_in_period": "8.00", "punches": 1, "points": 28, "credit": "5.40",
        "open_vouchers": 0,
    }
    assert (bruno["visits"], bruno["spend"], bruno["visits_in_period"], bruno["spend_in_period"]) == \
        (3, "40.00", 2, "35.00")
    assert (bruno["points"], bruno["credit"], bruno["punches"]) == (60, "1.00", 3)
    assert bruno["last_visit"] == "2026-06-01T00:15:00+02:00"
    assert (fabio["open_vouchers"], fabio["points"], carla["points"], elio["punches"]) == (1, 120, 70, 9)


def test_customers_match_their_cards(cli, cli_json, history):
    rows = {r["phone"]: r for r in report(cli, "customers")["rows"]}
    for phone in (ANNA, BRUNO, CARLA, FABIO, ELIO):
        card = cli_json("show", phone)
        row = rows[card["phone"]]
        assert (row["points"], row["credit"], row["tier"], row["visits"], row["spend"]) == \
            (card["points"], card["credit"], card["tier"], card["visits"], card["spend"])
        assert row["open_vouchers"] == len(card["vouchers"])


def test_a_lapsed_voucher_is_not_open_in_the_customers_list(cli_json, at, history):
    """`loyalty customers` counts the vouchers a customer can still use, as the reports do, even
    before the nightly `expire` writes the lapsed ones down."""
    def fabios_open_vouchers():
        return next(r["open_vouchers"] for r in cli_json("customers") if r["phone"] == "+39" + FABIO.replace(" ", ""))

    assert fabios_open_vouchers() == 1
    at("2027-06-01T12:00:00+02:00")  # past the sample's 90 rewards_days
    assert fabios_open_vouchers() == 0


def test_tier_in_the_customers_report(cli, at, history):
    cli("visit", ANNA, "--amount", "200")  # 12 visits and 308.00 in a year: Gold beats Silver
    rows = {r["name"]: r for r in report(cli, "customers")["rows"]}
    assert rows["Anna"]["tier"] == "Gold"


# ---- visits ----------------------------------------------------------------------------------

def test_visits_of_may_with_the_voided_one_marked(cli, history):
    rows = report(cli, "visits", *MAY)["rows"]
    assert [(r["day"], r["name"], r["amount"], r["voided"]) for r in rows] == [
        ("2026-05-01", "Anna", "8.00", False),
        ("2026-05-05", "Bruno", "20.00", False),
        ("2026-05-10", "Anna", "30.00", True),
        ("2026-05-31", "Bruno", "15.00", False),
    ]
    first, _, voided, last = rows
    assert first["at"] == "2026-05-01T00:30:00+02:00"
    assert last["at"] == "2026-05-31T23:30:00+02:00"
    assert voided["voided_at"] == "2026-05-10T14:00:00+02:00" and voided["void_reason"] == "wrong customer"
    assert first["voided_at"] is None and first["source"] == "counter" and first["items"] == 1


# ---- rewards ---------------------------------------------------------------------------------

def test_rewards_of_may(cli, history):
    rows = report(cli, "rewards", *MAY)["rows"]
    assert [(r["event"], r["name"], r["reward"], r["status"]) for r in rows] == [
        ("expired", "Anna", "free-cone", "expired"),
        ("issued", "Anna", "free-cone", "redeemed"),
        ("redeemed", "Anna", "free-cone", "redeemed"),
    ]
    expired, issued, redeemed = rows
    assert expired["at"] == "2026-05-11T12:00:00+02:00"  # when it fell due (local days), not when the job ran (20 May)
    assert expired["issued_at"] == "2026-02-10T12:00:00+01:00"
    assert expired["expires_at"] == "2026-05-11T12:00:00+02:00"  # noon CET + 90 local days: noon CEST
    assert issued["code"] == redeemed["code"] != expired["code"]
    assert all((r["face_value"], r["cost"], r["reward_name"]) == ("2.50", "0.80", "Free ice cream cone")
               for r in rows)
    redeemed_cost = sum(float(r["cost"]) for r in rows if r["event"] == "redeemed")
    assert redeemed_cost == 0.80  # the summary's reward cost


def test_a_voucher_past_its_expiry_is_expired_before_loyalty_expire_writes_it(cli, cli_json, at, history):
    at("2026-07-01T12:00:00+00:00")  # Fabio's voucher ran out on 27 June; `loyalty expire` has not run
    june = ("--since", "2026-06-01", "--until", "2026-06-30")
    before = report(cli, "rewards", *june)["rows"], report(cli, "summary", *june)["rows"]
    rows, summary = before
    assert [(r["event"], r["name"], r["status"], r["at"]) for r in rows] == [
        ("expired", "Fabio", "expired", "2026-06-27T12:00:00+02:00")]
    assert summary[0]["vouchers_expired"] == 1
    # the issue row of March shows the status as of now too
    march = report(cli, "rewards", "--since", "2026-03-01", "--until", "2026-03-31")["rows"]
    assert [(r["event"], r["status"]) for r in march] == [("issued", "expired")]
    assert summary[0]["points_expired"] == 0  # points are counted once written down...
    cli_json("expire")
    after = report(cli, "rewards", *june)["rows"], report(cli, "summary", *june)["rows"]
    # ...and `loyalty expire` dates them when they fell due: June's, not July's, whenever it runs
    assert after[1][0].pop("points_expired") == 70
    before[1][0].pop("points_expired")
    assert after == before


# ---- liability -------------------------------------------------------------------------------

def test_liability_today(cli, history):
    data = report(cli, "liability")
    assert "since" not in data["parameters"]
    assert data["parameters"]["points_valued_as"] == {
        "reward": "free-cone", "points": 100, "face_value": "2.50", "cost": "0.80"}
    rows = {r["item"]: r for r in data["rows"]}
    assert list(rows) == ["points", "credit", "vouchers:free-cone", "total", "expiring:points",
                          "expiring:vouchers:free-cone"]
    # 70 + 28 + 120 + 60 + 65 points; 343 x 0.025 = 8.575 -> 8.58; 343 x 0.008 = 2.744 -> 2.74.
    assert rows["points"] | {"description": None} == {
        "item": "points", "description": None, "customers": 5, "quantity": 343, "face_value": "8.58", "cost": "2.74"}
    assert (rows["credit"]["customers"], rows["credit"]["face_value"], rows["credit"]["cost"]) == (5, "16.15", "16.15")
    assert (rows["vouchers:free-cone"]["quantity"], rows["vouchers:free-cone"]["face_value"],
            rows["vouchers:free-cone"]["cost"]) == (1, "2.50", "0.80")
    assert (rows["total"]["face_value"], rows["total"]["cost"]) == ("27.23", "19.69")
    # Carla's 70 points were earned on 2025-06-25: gone on 2026-06-25, within 30 days.
    assert (rows["expiring:points"]["customers"], rows["expiring:points"]["quantity"],
            rows["expiring:points"]["face_value"]) == (1, 70, "1.75")
    # Fabio's voucher of 29 March expires on 27 June.
    assert (rows["expiring:vouchers:free-cone"]["quantity"], rows["expiring:vouchers:free-cone"]["cost"]) == (1, "0.80")


def test_liability_leaves_out_points_already_past_expiry(cli, at, history):
    at("2026-07-01T12:00:00+00:00")  # Carla's points are past expiry; `loyalty expire` has not run
    rows = {r["item"]: r for r in report(cli, "liability")["rows"]}
    assert (rows["points"]["quantity"], rows["points"]["customers"]) == (343 - 70, 4)
    assert rows["expiring:points"]["quantity"] == 0
    assert "vouchers:free-cone" not in rows  # Fabio's voucher ran out on 27 June


# ---- at risk ---------------------------------------------------------------------------------

def test_at_risk(cli, history):
    data = report(cli, "at-risk")
    assert data["parameters"]["floor_days"] == 30
    assert [(r["reason"], r["name"]) for r in data["rows"]] == [
        ("overdue", "Anna"), ("overdue", "Fabio"), ("one visit from a reward", "Elio")]
    anna, fabio, elio = data["rows"]
    # Anna's visit days: 1-10 Feb and 1 May (the voided 10 May does not count): median gap 1.
    assert 0 < anna.pop("p_alive") < 0.5  # BG/NBD: many visits, then 45 silent days (the stats extra)
    assert anna == {"reason": "overdue", "phone": "+393331111111", "name": "Anna", "last_visit": "2026-05-01",
                    "days_since": 45, "usual_gap_days": 1, "visits": 11, "spend": "108.00", "next_reward": None,
                    "last_score": None}
    assert (fabio["last_visit"], fabio["days_since"], fabio["spend"]) == ("2026-03-29", 78, "100.00")
    assert elio["next_reward"] == "Free ice cream cone (Cone card 9/10)"
    assert (elio["days_since"], elio["usual_gap_days"]) == (6, None)


def test_at_risk_uses_each_customers_own_rhythm(cli, at):
    # A monthly customer is not overdue after 40 days; a weekly one is after 31.
    for month in (1, 2, 3, 4):
        cli("visit", "333 700 0001", "--amount", "10", "--at", f"2026-{month:02d}-05T12:00")
    for day in (1, 8, 15, 22, 29):
        cli("visit", "333 700 0002", "--amount", "10", "--at", f"2026-04-{day:02d}T12:00")
    cli("visit", "333 700 0001", "--amount", "10", "--at", "2026-05-06T12:00")
    rows = report(cli, "at-risk")["rows"]
    assert [(r["phone"], r["days_since"], r["usual_gap_days"]) for r in rows] == [("+393337000002", 47, 7)]
    at("2026-07-20T12:00:00+00:00")  # 75 days after the monthly customer's last visit: more than 2 x 31
    rows = report(cli, "at-risk")["rows"]
    assert {r["phone"]: r["usual_gap_days"] for r in rows} == {"+393337000001": 31, "+393337000002": 7}


def test_at_risk_rhythm_is_the_median_gap_between_the_last_8_distinct_visit_days(cli, at):
    # Visit days, two visits a day on the last four: 15, 16 Feb (left out: older than the last 8
    # days), 17 Feb, 9 Mar, 29 Mar, 18 Apr (gaps of 20), 8, 9, 10, 11 May (gaps of 1).
    # The last 8 days' gaps are 20, 20, 20, 20, 1, 1, 1: the rhythm is 20 days. (The days of the
    # last 8 visits would be 8-11 May alone, a rhythm of 1; with 15 and 16 Feb it would be 1.)
    for day in ("02-15", "02-16", "02-17", "03-09", "03-29", "04-18"):
        cli("visit", "333 700 0003", "--amount", "10", "--at", f"2026-{day}T12:00")
    for day in ("05-08", "05-09", "05-10", "05-11"):
        for hour in (12, 18):
            cli("visit", "333 700 0003", "--amount", "10", "--at", f"2026-{day}T{hour}:00")
    assert report(cli, "at-risk")["rows"] == []  # 35 days since 11 May: not more than 2 x 20
    at("2026-06-25T12:00:00+00:00")
    rows = report(cli, "at-risk")["rows"]
    assert [(r["phone"], r["days_since"], r["usual_gap_days"], r["visits"]) for r in rows] == [
        ("+393337000003", 45, 20, 14)]


# ---- a report reads; it never writes -----------------------------------------------------------

def test_reports_change_nothing(cli, history):
    from tests.conftest import db_content

    before = db_content(history)
    for name in ("summary", "customers", "visits", "rewards", "liability", "at-risk"):
        assert cli("report", name, "--json").exit_code == 0
    assert db_content(history) == before


# ---- export builds at-risk in the background, on the same database or not at all -----------------

def _context(db_path):
    from datetime import datetime

    from loyalty_cli.config import load as config

    conn = store_db.connect(db_path)
    return conn, Context(conn, config.load(SAMPLE), datetime(2026, 6, 15, 12, tzinfo=UTC))


def test_reports_built_in_the_background_are_the_same_reports(history):
    conn, ctx = _context(history)
    period = Period(*(__import__("datetime").date(2026, 5, day) for day in (1, 31)))
    with store_db.snapshot(conn):
        background = BackgroundReports(["customers", "at-risk"], ctx, period, history, fingerprint(conn))
        for name in ("at-risk", "customers"):
            assert list(background.get(name).main.rows()) == list(catalog.build(name, ctx, period).main.rows())
        assert [row[2] for row in background.get("at-risk").main.rows()] == ["Anna", "Fabio", "Elio"]
    conn.close()


def test_reports_built_in_the_background_on_a_changed_database_are_built_again(history, monkeypatch):
    conn, ctx = _context(history)
    built = []
    real = catalog.build
    monkeypatch.setattr(catalog, "build", lambda *args: built.append(args[0]) or real(*args))
    with store_db.snapshot(conn):
        stale = (-1, -1, -1)  # as if a visit had been committed between the two snapshots
        report = BackgroundReports(["at-risk"], ctx, None, history, stale).get("at-risk")
        assert [row[2] for row in report.main.rows()] == ["Anna", "Fabio", "Elio"]
    assert built == ["at-risk"]  # only the fallback on the main connection built it
    conn.close()


def test_shared_figures_come_from_the_thread_or_are_computed_here(history):
    conn, ctx = _context(history)
    _, alone = _context(history)
    with store_db.snapshot(conn):
        BackgroundReports([], ctx, None, history, fingerprint(conn), shared=Context.SHARED_FIGURES)
        assert ctx.points_due() == alone.points_due() and ctx.year_figures() == alone.year_figures()
        assert ctx.points_due() == {1: (0, 70)}  # Carla: none due now, 70 within 30 days
        stale = Context(conn, ctx.config, ctx.now)
        BackgroundReports([], stale, None, history, (-1, -1, -1), shared=Context.SHARED_FIGURES)
        assert stale.year_figures() == alone.year_figures()  # computed on the main connection
    assert alone.year_figures()[1] == (5000, 1)  # Carla: her one visit, within 365 days
    conn.close()


@pytest.mark.parametrize("days, expected", [
    ([], (None, None)),
    (["2026-05-01"], (None, "2026-05-01")),
    (["2026-05-01", "2026-05-01"], (None, "2026-05-01")),  # two visits, one day: no gap yet
    (["2026-05-08", "2026-05-01"], (7, "2026-05-08")),  # order does not matter
    (["2026-05-01", "2026-05-02", "2026-05-02", "2026-05-04", "2026-05-31"], (2, "2026-05-31")),  # 1, 2, 27
    (["2026-05-01", "2026-05-02", "2026-05-04", "2026-05-07", "2026-05-31"], (2.5, "2026-05-31")),  # 1, 2, 3, 24
    (["2026-03-28", "2026-03-29", "2026-03-30"], (1, "2026-03-30")),  # across the change to summer time
])
def test_rhythm_is_the_median_gap_between_visit_days(days, expected):
    assert rhythm(days) == expected


# ---- the liability horizon is the end of the local date it names ---------------------------------

def test_liability_counts_what_expires_late_on_the_horizon_date(cli, at):
    # Now is 15 June 14:00 in Rome: "within 30 days (by 2026-07-15)" runs to the end of 15 July.
    at("2026-04-20T12:00:00+00:00")
    for day in range(7, 16):
        cli("visit", "333 800 0001", "--amount", "1", "--at", f"2026-04-{day:02d}T12:00")
    cli("visit", "333 800 0001", "--amount", "1", "--at", "2026-04-16T23:00")  # the voucher: 15 July 23:00
    for day in range(8, 17):
        cli("visit", "333 800 0002", "--amount", "1", "--at", f"2026-04-{day:02d}T12:00")
    cli("visit", "333 800 0002", "--amount", "1", "--at", "2026-04-17T00:30")  # 16 July 00:30: after
    at("2026-05-01T12:00:00+00:00")
    # 40 points and the welcome 20, earned at 23:00 on 15 July 2025: due at 23:00 on 15 July 2026
    cli("visit", "333 800 0003", "--amount", "40", "--at", "2025-07-15T23:00")
    at(NOW)
    data = report(cli, "liability")
    rows = {r["item"]: r for r in data["rows"]}
    assert rows["expiring:points"]["description"].startswith("Points expiring within 30 days (by 2026-07-15;")
    assert (rows["expiring:points"]["customers"], rows["expiring:points"]["quantity"]) == (1, 60)
    assert (rows["vouchers:free-cone"]["quantity"], rows["expiring:vouchers:free-cone"]["quantity"]) == (2, 1)
    assert rows["expiring:vouchers:free-cone"]["customers"] == 1
