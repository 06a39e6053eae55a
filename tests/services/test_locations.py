"""Locations (issue 14): recorded on every visit, a filter on every report, a breakdown in the summary."""

import pytest

from tests.conftest import SAMPLE, db_content, db_query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

REPORTS = ("summary", "customers", "visits", "rewards", "liability", "at-risk", "feedback", "cohorts")


def _locations(db_path) -> list:
    return [row[0] for row in db_query(db_path, "SELECT location FROM visits ORDER BY id")]


@pytest.fixture
def centro_config(tmp_path, monkeypatch):
    path = tmp_path / "centro.toml"
    sample = SAMPLE.read_text()
    path.write_text(sample.replace('categories = ["gelato"', 'location = "Centro"\ncategories = ["gelato"', 1))
    monkeypatch.setenv("LOYALTY_CONFIG", str(path))
    return path


def test_option_beats_environment_beats_config(cli_json, centro_config, db_path, monkeypatch):
    assert cli_json("visit", "333 111 2222", "--amount", "5")["location"] == "Centro"
    monkeypatch.setenv("LOYALTY_LOCATION", "Nord")
    cli_json("visit", "333 111 2222", "--amount", "5")
    assert cli_json("visit", "333 111 2222", "--location", "  Sud   Est ")["location"] == "Sud Est"
    assert _locations(db_path) == ["Centro", "Nord", "Sud Est"]


def test_fast_path_records_the_location(db_path, centro_config, monkeypatch, capsys):
    from loyalty_cli.cli.entry import main

    with pytest.raises(SystemExit) as done:
        main(["visit", "333 111 2222", "--location", "Porto"])
    assert done.value.code == 0
    assert _locations(db_path) == ["Porto"]


def test_no_location_anywhere_records_none(cli_json, db_path):
    assert cli_json("visit", "333 111 2222")["location"] is None
    assert _locations(db_path) == [None]


def test_bad_location_is_refused_and_changes_nothing(cli, cli_json, db_path, tmp_path, monkeypatch):
    cli_json("visit", "333 111 2222")
    before = db_content(db_path)
    result = cli("visit", "333 111 2222", "--location", "x" * 101)
    assert result.exit_code == 2 and "--location is longer than 100" in result.stderr
    monkeypatch.setenv("LOYALTY_LOCATION", "bad\x1b[2J")
    result = cli("visit", "333 111 2222")
    assert result.exit_code == 2 and "LOYALTY_LOCATION holds a control character" in result.stderr
    assert db_content(db_path) == before


def test_config_location_is_checked(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[shop]\nlocation = "a\\u0007b"\n')
    result = cli("config", "check", bad)
    assert result.exit_code == 2 and "shop.location" in result.output + result.stderr


def _chain(cli_json):
    cli_json("visit", "333 111 2222", "--amount", "10", "--location", "Centro")
    cli_json("visit", "333 111 2222", "--amount", "4", "--location", "Nord")
    cli_json("visit", "333 555 6666", "--amount", "20", "--location", "Nord")
    cli_json("visit", "333 777 8888", "--amount", "1")  # before the shop had a name


def test_summary_breaks_figures_down_by_location(cli_json):
    _chain(cli_json)
    data = cli_json("report", "summary", "--since", "2026-06-01")
    assert data["locations"] == [
        {"location": "Centro", "visits": 1, "customers": 1, "revenue": "10.00"},
        {"location": "Nord", "visits": 2, "customers": 2, "revenue": "24.00"},
        {"location": None, "visits": 1, "customers": 1, "revenue": "1.00"},
    ]
    assert data["rows"][0]["visits"] == 4


def test_single_shop_summary_has_no_location_table(cli_json):
    cli_json("visit", "333 111 2222", "--amount", "10")
    assert "locations" not in cli_json("report", "summary")


def test_summary_of_one_location(cli_json):
    _chain(cli_json)
    data = cli_json("report", "summary", "--since", "2026-06-01", "--location", "Nord")
    row = data["rows"][0]
    assert (row["visits"], row["customers"], row["revenue"]) == (2, 2, "24.00")
    assert data["parameters"]["location"] == "Nord" and "locations" not in data
    # points: 4 + 20 earned at Nord, plus the welcome bonuses (no visit) of its two customers
    assert row["points_issued"] == 4 + 20 + 2 * 20


def test_every_report_takes_location(cli_json):
    _chain(cli_json)
    for name in REPORTS:
        assert cli_json("report", name, "--location", "Centro")["parameters"]["location"] == "Centro", name
    visits = cli_json("report", "visits", "--location", "Centro", "--since", "2026-06-01")["rows"]
    assert [(row["amount"], row["location"]) for row in visits] == [("10.00", "Centro")]
    customers = cli_json("report", "customers", "--location", "Nord")["rows"]
    assert sorted(row["phone"] for row in customers) == ["+393331112222", "+393335556666"]


def test_unknown_location_is_refused_with_the_known_ones(cli, cli_json):
    _chain(cli_json)
    result = cli("report", "summary", "--location", "Nrod")
    assert result.exit_code == 2
    assert "--location 'Nrod': no visit was recorded there (known: Centro, Nord)" in result.stderr
