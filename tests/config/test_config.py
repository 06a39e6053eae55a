"""Config: the sample and the seed shops pass; every broken file gets one line with file:line and key."""

import json

import pytest

from loyalty_cli.config import load as config_load
from loyalty_cli.config import write as config_write
from tests.conftest import EXAMPLES, SAMPLE, db_content

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))


@pytest.mark.parametrize("path", [SAMPLE, *EXAMPLE_FILES], ids=lambda p: p.name)
def test_config_check_accepts_sample_and_examples(cli, path):
    result = cli("config", "check", path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "OK" in result.stdout


def test_examples_cover_the_classic_shops():
    assert {p.name for p in EXAMPLE_FILES} >= {"shoe_shop.toml", "car_wash.toml", "pharmacy.toml"}


def test_packaged_defaults_are_the_one_sample():
    assert config_load.PACKAGED_SAMPLE.resolve() == SAMPLE.resolve()


BROKEN = [
    ('[shop]\nname = "x"\ncurency = "EUR"\n', ":3: shop.curency: unknown key (did you mean 'currency'?)"),
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 2\n[[rules]]\nkind = "punch_card"\nevery = -1\nreward = "a"\n',
     ":7: rules[0].every: must be at least 1, got -1"),
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 2\n[[rules]]\nkind = "punch_card"\nevery = 0\nreward = "a"\n',
     ":7: rules[0].every: must be at least 1, got 0"),
    ('[[rules]]\nkind = "punch_card"\nevery = 3\nreward = "nope"\n',
     ":4: rules[0].reward: names reward 'nope', which does not exist"),
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 2\n\n[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 3\n',
     ":7: rewards[1].id: duplicate reward id 'a'"),
    ('[[rules]]\nkind = "points"\nper_unit = "1"\n', ":3: rules[0].per_unit: must be a number, got '1'"),
    ('[[rules]]\nkind = "pointz"\n', ":2: rules[0].kind: unknown rule kind 'pointz' (did you mean 'points'?)"),
    ('[shop]\ntimezone = "Mars/Base"\n', ":2: shop.timezone: unknown time zone"),
    ('[shop]\ncurrency = "euro"\n', ":2: shop.currency: must be an ISO 4217 currency code such as EUR, got 'euro'"),
    ('[shop\nname = "x"\n', ":1:6: broken TOML"),
    ('[[tiers]]\nname = "Gold"\n', ":1: tiers[0]: a tier needs min_spend or min_visits"),
    ('[expiry]\npoints_days = 0\n', ":2: expiry.points_days: must be at least 1, got 0"),
    ('[[rewards]]\nid = "a"\nkind = "voucher"\nvalue = 1\n', ":3: rewards[0].kind: must be one of"),
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 2.505\n', ":4: rewards[0].value: has more decimals than EUR"),
    ('[[rules]]\nkind = "points"\nper_unit = 1\nname = "P"\n[[rules]]\nkind = "cashback"\npercent = 5\nname = "P"\n',
     ":8: rules[1].name: duplicate rule name 'P'"),
    ('[[rules]]\nkind = "cashback"\npercent = 150\n', ":3: rules[0].percent: must be at most 100, got 150"),
    ('[[rules]]\nkind = "welcome"\n', ":1: rules[0]: a welcome rule needs points, credit or a reward"),
    ('[[tiers]]\nname = "G"\nmin_visits = 3\nperks = "free"\n', ":4: tiers[0].perks: must be a list of strings"),
    ('[shop]\nphone_region = "XX"\n', ":2: shop.phone_region: unknown region 'XX'"),
    ('colour = "red"\n', ":1: colour: unknown key"),
    ('[[tiers]]\nname = "Gold"\nmin_spend = 300\n[[tiers]]\nname = "Silver"\nmin_spend = 100\n',
     ":6: tiers[1].min_spend: must be above Gold's min_spend: list tiers lowest first"),
    # issue 9, item 8: numbers `config check` accepted that crashed or corrupted every visit
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = inf\n', ":4: rewards[0].value: must be a finite number"),
    ('[[rules]]\nkind = "points"\nper_unit = nan\n', ":3: rules[0].per_unit: must be a finite number"),
    ('[[rules]]\nkind = "points"\nper_unit = 99999999999999999999999999\n',
     ":3: rules[0].per_unit: must be at most 1,000, got"),
    ('[[rules]]\nkind = "points"\nper_unit = 1000000000000000\n', ":3: rules[0].per_unit: must be at most 1,000"),
    ('[[rewards]]\nid = "a"\nkind = "discount"\nvalue = 2\n[[rules]]\nkind = "punch_card"\n'
     'every = 9223372036854775807\nreward = "a"\n', ":7: rules[0].every: must be at most 1,000"),
    ('[expiry]\nrewards_days = 100000\n', ":2: expiry.rewards_days: must be at most 3,650"),
    ('[[rules]]\nkind = "welcome"\npoints = 100000000000\n', ":3: rules[0].points: must be at most 10,000,000"),
    ('[shop]\nmax_amount = 1e12\n', ":2: shop.max_amount: must be at most 1,000,000"),
    ('[[tiers]]\nname = "G"\nmin_visits = 3\nmultiplier = 1000\n',
     ":4: tiers[0].multiplier: must be at most 10, got 1,000"),
]


@pytest.mark.parametrize("text, expected", BROKEN, ids=[e for _t, e in BROKEN])
def test_broken_config_is_one_line_with_place(cli, isolated, text, expected):
    path = isolated / "shop.toml"
    path.write_text(text, encoding="utf-8")
    result = cli("config", "check", path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: {path}{expected}"), result.stderr
    assert "Traceback" not in result.output


def test_broken_config_stops_a_visit_before_the_database(cli, isolated, db_path):
    cli("visit", "333 123 4567", "--amount", "5")
    before = db_content(db_path)
    bad = isolated / "bad.toml"
    bad.write_text('[[rules]]\nkind = "points"\nper_unit = -1\n')
    result = cli("--config", bad, "visit", "333 123 4567", "--amount", "5")
    assert result.exit_code == 2
    assert "rules[0].per_unit" in result.stderr
    assert db_content(db_path) == before


def test_missing_config_file(cli, isolated):
    result = cli("--config", isolated / "nope.toml", "visit", "3331234567")
    assert result.exit_code == 2
    assert "config file not found" in result.stderr


def test_config_init_writes_the_sample_and_refuses_to_overwrite(cli, isolated):
    target = isolated / "new.toml"
    result = cli("config", "init", target)
    assert result.exit_code == 0, result.stderr
    # comments and all; the locale line says what this machine speaks (LANG=C.UTF-8: English)
    sample = config_load.PACKAGED_SAMPLE.read_text()
    assert target.read_text() == sample.replace('# locale = "it_IT"', 'locale = "en"'.ljust(18), 1)
    assert cli("config", "check", target).exit_code == 0
    assert config_write.as_dict(config_load.load(target)) == config_write.as_dict(config_load.load(SAMPLE))
    italian = isolated / "it.toml"
    assert cli("config", "init", italian, env={"LANG": "it_IT.UTF-8"}).exit_code == 0
    assert 'locale = "it_IT"' in italian.read_text() and config_load.load(italian).shop.locale == "it_IT"
    target.write_text("# mine\n")
    result = cli("config", "init", target)
    assert result.exit_code == 1 and "--force" in result.stderr
    assert target.read_text() == "# mine\n"
    assert cli("config", "init", target, "--force").exit_code == 0
    assert target.read_text() == sample.replace('# locale = "it_IT"', 'locale = "en"'.ljust(18), 1)


def test_config_init_default_is_the_user_config_dir(cli, cli_json, isolated, monkeypatch):
    monkeypatch.delenv("LOYALTY_CONFIG")
    result = cli("config", "init")
    assert result.exit_code == 0, result.stderr
    written = isolated / "xdg-config" / "loyalty-cli" / "loyalty.toml"
    assert written.is_file()
    assert cli_json("config", "show")["from"] == "user config dir"


def test_config_check_lists_every_problem(cli, isolated):
    path = isolated / "multi.toml"
    path.write_text('[[rules]]\nkind = "punch_card"\nevery = -3\nreward = "x"\n'
                    '[[rules]]\nkind = "points"\nper_unt = 1\n[expiry]\npoints_days = 0\n')
    result = cli("config", "check", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}:3: rules[0].every: must be at least 1, got -3",
        f"error: {path}:7: rules[1].per_unt: unknown key (did you mean 'per_unit'?)",
        f"error: {path}:9: expiry.points_days: must be at least 1, got 0",
    ]
    result = cli("config", "check", path, "--json")
    assert result.exit_code == 2
    assert len(json.loads(result.stdout)["problems"]) == 3
    visit = cli("--config", path, "visit", "+34612345678")
    assert visit.exit_code == 2
    assert visit.stderr.count("\n") == 1 and "(and 2 more: run `loyalty config check`)" in visit.stderr


def test_an_empty_config_passes_with_warnings(cli, isolated):
    path = isolated / "empty.toml"
    path.write_text("")
    result = cli("config", "check", path)
    assert result.exit_code == 0
    assert "warning:" in result.stderr  # no phone_region
    # no rules is a mode (collecting data before launch), said as a note, not as a problem
    assert "note:" in result.stderr and "no [[rules]]: the shop records visits" in result.stderr
    assert "warning" not in [line for line in result.stderr.splitlines() if "[[rules]]" in line][0]


def test_config_show_says_where_it_came_from(cli_json, monkeypatch):
    shown = cli_json("config", "show")
    assert (shown["path"], shown["from"]) == (str(SAMPLE), "LOYALTY_CONFIG")
    assert shown["config"]["shop"]["currency"] == "EUR"
    assert [r["kind"] for r in shown["config"]["rules"]] == ["punch_card", "points", "cashback", "birthday",
                                                             "welcome", "referral"]
    assert [p["name"] for p in shown["config"]["promotions"]] == ["Christmas double points"]
    assert shown["notes"] and "multipliers multiply" in shown["notes"][0]
    monkeypatch.delenv("LOYALTY_CONFIG")
    assert (cli_json("config", "show")["path"], cli_json("config", "show")["from"]) == (None, "built-in defaults")


def test_config_resolution_order(cli_json, isolated, monkeypatch):
    monkeypatch.delenv("LOYALTY_CONFIG")
    local = isolated / "cwd" / "loyalty.toml"
    local.write_text('[shop]\nname = "Local"\n')
    assert cli_json("config", "show")["from"] == "./loyalty.toml"
    monkeypatch.setenv("LOYALTY_CONFIG", str(SAMPLE))
    assert cli_json("config", "show")["path"] == str(SAMPLE)
    assert cli_json("--config", local, "config", "show")["config"]["shop"]["name"] == "Local"


def test_builtin_defaults_read_numbers_in_the_locale_region(cli_json, monkeypatch):
    monkeypatch.delenv("LOYALTY_CONFIG")
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TELEPHONE", raising=False)
    assert cli_json("visit", "612 345 678")["phone"] == "+34612345678"


def test_builtin_defaults_without_a_region_explain_phone_region(cli, monkeypatch):
    monkeypatch.delenv("LOYALTY_CONFIG")
    for var in ("LANG", "LC_ALL", "LC_TELEPHONE"):
        monkeypatch.setenv(var, "C.UTF-8") if var == "LANG" else monkeypatch.delenv(var, raising=False)
    result = cli("visit", "612 345 678")
    assert result.exit_code == 2
    assert "phone_region" in result.stderr
    assert cli("visit", "+34 612 345 678").exit_code == 0
