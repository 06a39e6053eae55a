"""`report summary|visits|rewards --category`, and the summary's per-category breakdown (issue 11).

The sample config lists gelato, coffee and cakes; the clock is pinned at 2026-06-15 (Rome), so
`--since 2026-06-01` covers the visits below. Figures are worked out by hand.
"""

import pytest

from tests.conftest import EXAMPLES

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

PERIOD = ("--since", "2026-06-01", "--until", "2026-06-15")


@pytest.fixture
def shop(cli):
    """Three customers: coffee 2.00 x2 and gelato 5.00 for A; coffee 3.00 for B; 10.00 with no category for C."""
    for phone, amount, category, day in [("333 000 0001", "2", "coffee", "01"), ("333 000 0001", "2", "coffee", "02"),
                                         ("333 000 0001", "5", "gelato", "03"), ("333 000 0002", "3", "coffee", "03"),
                                         ("333 000 0003", "10", None, "04")]:
        extra = ["--category", category] if category else []
        result = cli("visit", phone, "--amount", amount, "--at", f"2026-06-{day}T10:00", *extra)
        assert result.exit_code == 0, result.output


def test_summary_breaks_visits_down_per_category(cli_json, shop):
    report = cli_json("report", "summary", *PERIOD)
    assert "category" not in report["parameters"]
    assert report["rows"][0]["visits"] == 5 and report["rows"][0]["revenue"] == "22.00"
    assert report["categories"] == [
        {"category": "gelato", "visits": 1, "customers": 1, "revenue": "5.00"},
        {"category": "coffee", "visits": 3, "customers": 2, "revenue": "7.00"},
        {"category": "cakes", "visits": 0, "customers": 0, "revenue": "0.00"},
        {"category": None, "visits": 1, "customers": 1, "revenue": "10.00"},
    ]


def test_summary_of_one_category(cli_json, shop):
    report = cli_json("report", "summary", *PERIOD, "--category", " Coffee ")
    row = report["rows"][0]
    assert report["parameters"]["category"] == "coffee"
    assert (row["visits"], row["customers"], row["revenue"], row["average_ticket"]) == (3, 2, "7.00", "2.33")
    assert row["returning_customers"] == 0  # returning: a visit before the period, and none had one
    assert row["new_customers"] == 2  # A and B enrolled at their first visit; C bought nothing of it
    # what the coffee visits earned: a punch each, a point per euro (7), 5% back (0.35); the welcome
    # points are no visit's, and redemptions are not tied to one (left empty, and said so)
    assert (row["punches_issued"], row["points_issued"], row["credit_issued"]) == (3, 7, "0.35")
    assert (row["points_redeemed"], row["points_expired"], row["credit_redeemed"]) == (None, None, None)
    assert report["notes"] and "not tied to a category" in report["notes"][0]
    assert report["categories"] == [{"category": "coffee", "visits": 3, "customers": 2, "revenue": "7.00"}]
    assert sum(day["visits"] for day in report["timeline"]) == 3


def test_visits_report_shows_and_filters_the_category(cli_json, shop):
    everything = cli_json("report", "visits", *PERIOD)["rows"]
    assert [v["category"] for v in everything] == ["coffee", "coffee", "gelato", "coffee", None]
    gelato = cli_json("report", "visits", *PERIOD, "--category", "gelato")
    assert [(v["phone"], v["amount"]) for v in gelato["rows"]] == [("+393330000001", "5.00")]
    assert gelato["parameters"]["category"] == "gelato"


def test_rewards_report_of_one_category(cli, cli_json, tmp_path, monkeypatch):
    """The café's coffee card: the 10th coffee earns a free one; food earns none."""
    monkeypatch.setenv("LOYALTY_CONFIG", str(EXAMPLES / "cafe.toml"))
    for day in range(1, 11):
        assert cli("visit", "612 345 001", "--amount", "2", "--category", "coffee",
                   "--at", f"2026-06-{day:02d}T10:00").exit_code == 0
    assert cli("visit", "612 345 001", "--amount", "9", "--category", "food", "--at", "2026-06-11T10:00").exit_code == 0
    coffee = cli_json("report", "rewards", *PERIOD, "--category", "coffee")["rows"]
    assert [(r["event"], r["reward"]) for r in coffee] == [("issued", "free-coffee")]
    assert cli_json("report", "rewards", *PERIOD, "--category", "food")["rows"] == []
    summary = cli_json("report", "summary", *PERIOD, "--category", "food")["rows"][0]
    assert (summary["visits"], summary["vouchers_issued"], summary["punches_issued"]) == (1, 0, 0)
    assert cli_json("report", "summary", *PERIOD, "--category", "coffee")["rows"][0]["vouchers_issued"] == 1


def test_an_unknown_category_is_refused_with_a_suggestion(cli, shop):
    for report in ("summary", "visits", "rewards"):
        result = cli("report", report, "--category", "cofee")
        assert result.exit_code == 2
        assert result.stderr.strip().endswith("--category 'cofee' is not one of the shop's categories "
                                              "(did you mean 'coffee'?): gelato, coffee, cakes")


def test_no_breakdown_for_a_shop_without_categories(cli, cli_json, monkeypatch):
    monkeypatch.setenv("LOYALTY_CONFIG", str(EXAMPLES / "ice_cream.toml"))
    assert cli("visit", "333 000 0001", "--amount", "2").exit_code == 0
    assert "categories" not in cli_json("report", "summary")
