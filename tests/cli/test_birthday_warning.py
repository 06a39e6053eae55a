"""A birthday rule with no birthday on file is warned of, once, on stderr; never an error (issue 11)."""

import json

import pytest

from tests.conftest import EXAMPLES, nothing_recorded

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

WARNING = "warning: the config has a birthday rule but no customer has a birthday on file"


def test_a_new_customers_visit_warns_until_a_birthday_is_on_file(cli):
    result = cli("visit", "333 000 0001", "--amount", "4", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["visits"] == 1  # stdout stays the card's JSON
    assert result.stderr.count(WARNING) == 1
    result = cli("visit", "333 000 0001", "--amount", "4")  # not at every visit: only an enrolment
    assert result.exit_code == 0 and WARNING not in result.stderr
    assert WARNING in cli("visit", "333 000 0003", "--amount", "4").stderr
    assert cli("enroll", "333 000 0002", "--birthday", "05-03").exit_code == 0
    result = cli("visit", "333 000 0004", "--amount", "4")
    assert result.exit_code == 0 and WARNING not in result.stderr


def test_config_check_warns_of_the_shops_data_without_creating_a_database(cli, db_path):
    result = cli("config", "check")
    assert result.exit_code == 0 and WARNING not in result.stderr and nothing_recorded(db_path)
    assert cli("visit", "333 000 0001").exit_code == 0
    result = cli("config", "check")
    assert result.exit_code == 0 and result.stderr.count("birthday rule but no customer") == 1
    assert "OK (3 rewards, 6 rules, 2 tiers)" in result.stdout
    checked = json.loads(cli("config", "check", "--json").stdout)
    assert checked["ok"] and any("no customer has a birthday" in w for w in checked["warnings"])
    assert cli("edit", "333 000 0001", "--birthday", "1990-05-03").exit_code == 0
    assert WARNING not in cli("config", "check").stderr


def test_no_warning_without_a_birthday_rule(cli):
    result = cli("--config", EXAMPLES / "ice_cream.toml", "visit", "333 000 0001", "--amount", "4")
    assert result.exit_code == 0 and "warning:" not in result.stderr


def test_no_warning_of_the_built_in_defaults_birthday_rule(cli, monkeypatch):
    """A shop with no config never chose the built-in sample's birthday rule: its first visits
    at the counter (the README's zero-configuration start) carry no warning about it."""
    monkeypatch.delenv("LOYALTY_CONFIG")
    result = cli("visit", "+39 333 000 0001", "--amount", "4")
    assert result.exit_code == 0 and "warning:" not in result.stderr
