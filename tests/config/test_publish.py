"""`loyalty config publish` (issue 14): one programme for the chain, stored in the database."""

import hashlib

import pytest

from tests.conftest import SAMPLE, db_content, db_query, nothing_recorded

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)


def _rules(tmp_path, name: str, per_unit: int, shop_extra: str = ""):
    path = tmp_path / name
    text = SAMPLE.read_text().replace("per_unit = 1\n", f"per_unit = {per_unit}\n", 1)
    path.write_text(text.replace('name = "Gelateria Roma"', f'name = "Gelateria Roma"\n{shop_extra}', 1))
    return path


def test_publish_versions_and_who(cli_json, tmp_path, db_path, monkeypatch):
    monkeypatch.setenv("USER", "ana")
    first = cli_json("config", "publish", _rules(tmp_path, "v1.toml", 2))
    assert (first["version"], first["new"], first["author"]) == (1, True, "ana")
    second = cli_json("config", "publish", _rules(tmp_path, "v2.toml", 3), "--author", "Luca")
    assert (second["version"], second["author"]) == (2, "Luca")
    again = cli_json("config", "publish", tmp_path / "v2.toml")
    assert (again["version"], again["new"]) == (2, False)
    rows = db_query(db_path, "SELECT id, author, source, sha256, toml FROM config_versions ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [(1, "ana"), (2, "Luca")]
    assert rows[1][2] == str((tmp_path / "v2.toml").resolve())
    assert rows[1][3] == hashlib.sha256(rows[1][4].encode()).hexdigest()


def test_published_rules_are_in_force_and_show_says_so(cli, cli_json, tmp_path, monkeypatch):
    cli_json("config", "publish", _rules(tmp_path, "chain.toml", 3), "--author", "ana")
    # a till whose own file is the old sample, with its own location
    local = _rules(tmp_path, "till.toml", 1, shop_extra='location = "Nord"')
    monkeypatch.setenv("LOYALTY_CONFIG", str(local))
    result = cli("visit", "333 111 2222", "--amount", "10", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("note: local config differs from the published rules (version 1); "
                               "using the published ones") == 1
    import json

    card = json.loads(result.stdout)
    assert card["earned"]["points"] == 30 and card["location"] == "Nord"  # chain's 3 per euro, till's location
    shown = cli_json("config", "show")
    assert shown["from"] == "published version 1, by ana, 2026-06-15"
    assert shown["published"]["version"] == 1 and shown["local"] == str(local)
    text = cli("config", "show").stdout
    assert text.startswith("# rules: published version 1, by ana, 2026-06-15 (from ")


def test_till_with_the_published_rules_says_nothing(cli, cli_json, tmp_path, monkeypatch):
    chain = _rules(tmp_path, "chain.toml", 3)
    cli_json("config", "publish", chain, "--author", "ana")
    monkeypatch.setenv("LOYALTY_CONFIG", str(_rules(tmp_path, "till.toml", 3, shop_extra='location = "Sud"')))
    result = cli("visit", "333 111 2222", "--amount", "10")
    assert result.exit_code == 0 and "differs" not in result.stderr


def test_until_published_each_till_uses_its_own(cli, cli_json):
    shown = cli_json("config", "show")
    assert shown["published"] is None and shown["from"] == "LOYALTY_CONFIG"
    assert cli("config", "show").stdout.startswith("# rules: local file ")


def test_broken_file_is_not_published(cli, cli_json, tmp_path, db_path):
    cli_json("visit", "333 111 2222")
    before = db_content(db_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rules]]\nkind = \"points\"\nper_unit = -1\n")
    result = cli("config", "publish", broken, "--author", "ana")
    assert result.exit_code == 2 and "broken.toml" in result.stderr and "per_unit" in result.stderr
    assert db_content(db_path) == before


def test_publish_refuses_a_bad_author_and_no_database_appears(cli, tmp_path, db_path):
    result = cli("config", "publish", SAMPLE, "--author", "a\x1bb")
    assert result.exit_code == 2 and "--author holds a control character" in result.stderr
    assert nothing_recorded(db_path)


def test_till_whose_file_is_the_published_one(cli, cli_json, tmp_path, monkeypatch):
    chain = _rules(tmp_path, "chain.toml", 4)
    cli_json("config", "publish", chain, "--author", "ana")
    monkeypatch.setenv("LOYALTY_CONFIG", str(chain))
    result = cli("visit", "333 111 2222", "--amount", "10", "--json")
    assert result.exit_code == 0 and "differs" not in result.stderr
    assert cli_json("config", "show")["from"].startswith("published version 1, by ana")
