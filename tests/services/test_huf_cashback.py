"""Cashback in forints is earned in whole forints: cash has no fillér, so 5% of 2490 Ft is 124 Ft
(rounded down, as everything the shop gives), at the counter and in an import's replay alike."""

import pytest

HUF_CASHBACK = """
[shop]
currency = "HUF"
phone_region = "HU"
timezone = "Europe/Budapest"

[[rules]]
kind = "cashback"
percent = 5
"""


@pytest.fixture
def forints(isolated, monkeypatch):
    path = isolated / "huf.toml"
    path.write_text(HUF_CASHBACK, encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(path))


def test_cashback_in_forints_is_whole_forints(forints, cli_json, at):
    at("2026-06-01T10:00:00+02:00")
    visit = cli_json("visit", "+36 30 123 4567", "--amount", "2490")
    assert visit["earned"]["credit"] == "124.00"
    assert cli_json("visit", "+36 30 123 4567", "--amount", "19")["earned"]["credit"] == "0.00"
    assert cli_json("show", "+36 30 123 4567")["credit"] == "124.00"


def test_replayed_forint_cashback_equals_the_counters(forints, cli_json, tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone;date;amount\n+36 30 765 4321;2026-06-01;2490\n+36 30 765 4321;2026-06-02;1999\n",
                    encoding="utf-8")
    cli_json("import", "visits", file, "--apply-rules")
    assert cli_json("show", "+36 30 765 4321")["credit"] == "223.00"  # 124 + 99 (99.95 rounded down)
