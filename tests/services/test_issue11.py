"""Issue 11 at the counter: promotions, birthdays and categories through `visit`, `void` and
`doctor`; feedback on both scales and its report."""

import pytest

from loyalty_cli.reporting.feedback import nps
from tests.conftest import db_content

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

PHONE = "333 123 4567"
CAFE = """
[shop]
name = "Cafe"
currency = "EUR"
phone_region = "IT"
timezone = "Europe/Rome"
categories = ["coffee", "food"]
[[rewards]]
id = "free-coffee"
kind = "free_item"
value = 1.5
[[rewards]]
id = "birthday-10"
kind = "percent_off"
value = 10
[[rules]]
kind = "punch_card"
name = "Coffee card"
every = 3
reward = "free-coffee"
categories = ["coffee"]
[[rules]]
kind = "points"
name = "Points"
per_unit = 1
[[rules]]
kind = "birthday"
reward = "birthday-10"
days_before = 7
days_after = 7
[[promotions]]
name = "Double afternoon"
points_multiplier = 2
extra_punches = 1
weekdays = ["mon"]
hours = "15:00-18:00"
[feedback]
scale = {scale}
points = 10
"""


@pytest.fixture
def cafe(tmp_path, monkeypatch):
    def use(scale=10):
        path = tmp_path / "cafe.toml"
        path.write_text(CAFE.replace("{scale}", str(scale)))
        monkeypatch.setenv("LOYALTY_CONFIG", str(path))
    use()
    return use


def test_promotion_at_the_counter_and_its_void(cli, cli_json, cafe):
    # Monday 8 June 2026, 16:00 in Rome
    card = cli_json("visit", PHONE, "--amount", "12", "--category", "coffee", "--at", "2026-06-08T16:00")
    assert card["promotions"] == ["Double afternoon"]
    assert card["earned"]["points"] == 24 and card["earned"]["punches"] == 2
    history = cli_json("history", PHONE)
    promo = [line for line in history if line["kind"] == "promotion"]
    assert {(line["rule"], line["points"], line["punches"]) for line in promo} == {
        ("Double afternoon", 12, 0), ("Double afternoon", 0, 1)}
    assert cli_json("doctor")["ok"]
    voided = cli_json("void", str(card["visit_id"]))
    assert voided["points"] == 0 and voided["cards"][0]["punches"] == 0
    assert cli_json("doctor")["ok"]


def test_category_typo_is_refused_and_nothing_written(cli, cli_json, cafe, db_path):
    cli_json("visit", PHONE, "--amount", "3")
    before = db_content(db_path)
    result = cli("visit", PHONE, "--amount", "3", "--category", "cofee")
    assert result.exit_code == 2
    assert "did you mean 'coffee'" in result.stderr
    assert db_content(db_path) == before


def test_birthday_voucher_once_per_birthday(cli_json, cafe):
    cli_json("enroll", PHONE, "--birthday", "1990-06-20")
    first = cli_json("visit", PHONE, "--amount", "3", "--at", "2026-06-13T10:00")
    assert [v["reward"] for v in first["earned"]["vouchers"]] == ["birthday-10"]
    again = cli_json("visit", PHONE, "--amount", "3", "--at", "2026-06-14T10:00")
    assert again["earned"]["vouchers"] == []
    # voiding the visit that earned it voids the voucher: the next visit in the window issues it again
    cli_json("void", str(first["visit_id"]))
    third = cli_json("visit", PHONE, "--amount", "3")
    assert [v["reward"] for v in third["earned"]["vouchers"]] == ["birthday-10"]


def test_feedback_rewarded_once_a_day_and_shown_on_the_card(cli, cli_json, cafe, db_path):
    cli_json("visit", PHONE, "--amount", "3")
    first = cli_json("feedback", PHONE, "--score", "9", "--comment", "lovely")
    assert first["feedback"]["points"] == 10 and first["points"] == 3 + 10
    second = cli_json("feedback", PHONE, "--score", "4")
    assert second["feedback"]["points"] == 0 and second["points"] == 13
    assert cli_json("show", PHONE)["last_feedback"]["score"] == 4
    before = db_content(db_path)
    result = cli("feedback", PHONE, "--score", "11")
    assert result.exit_code == 2 and "from 0 to 10" in result.stderr
    assert db_content(db_path) == before
    assert cli_json("doctor")["ok"]


def test_nps_on_a_hand_computed_set():
    # 10 answers: 4 promoters (9, 9, 10, 10), 3 passives (7, 8, 8), 3 detractors (0, 5, 6)
    scores = {9: 2, 10: 2, 7: 1, 8: 2, 0: 1, 5: 1, 6: 1}
    assert nps(scores) == (10, 4, 3, 3)  # 40% - 30%
    assert nps({10: 1, 3: 2}) == (-33, 1, 0, 2)  # 33.3% - 66.7% = -33.3
    assert nps({}) == (None, 0, 0, 0)


def test_feedback_report_on_the_ten_point_scale(cli_json, cafe):
    for phone, score, comment in (("333 000 0001", 10, None), ("333 000 0002", 9, "great"),
                                  ("333 000 0003", 7, None), ("333 000 0004", 3, "cold coffee")):
        cli_json("visit", phone, "--amount", "3")
        cli_json("feedback", phone, "--score", str(score), *(["--comment", comment] if comment else []))
    report = cli_json("report", "feedback", "--since", "2026-06-01")
    totals = report["rows"][0]
    assert (totals["responses"], totals["average"], totals["nps"]) == (4, 7.25, 25)  # 50% - 25%
    assert (totals["promoters"], totals["passives"], totals["detractors"]) == (2, 1, 1)
    assert report["months"] == [{"month": "2026-06", "responses": 4, "average": 7.25, "nps": 25}]
    assert [c["comment"] for c in report["comments"]] == ["cold coffee", "great"]
    assert [(f["phone"], f["score"], f["comment"]) for f in report["follow_up"]] == [
        ("+393330000004", 3, "cold coffee")]


def test_feedback_on_five_stars(cli, cli_json, cafe):
    cafe(scale=5)
    cli_json("visit", PHONE, "--amount", "3")
    assert cli("feedback", PHONE, "--score", "0").exit_code == 2
    cli_json("feedback", PHONE, "--score", "2", "--comment", "meh")
    totals = cli_json("report", "feedback", "--since", "2026-06-01")
    assert totals["rows"][0]["nps"] is None and totals["rows"][0]["average"] == 2.0
    assert [f["score"] for f in totals["follow_up"]] == [2]
