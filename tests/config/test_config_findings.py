"""A new user's findings in `config check`: every problem of a table listed (each key on its own),
the tier multiplier bounded, and only ISO 4217 currencies."""

import pytest


def check(cli, isolated, toml: str) -> list[str]:
    path = isolated / "shop.toml"
    path.write_text(toml, encoding="utf-8")
    result = cli("config", "check", path)
    assert result.exit_code == 2, result.output
    return [line.replace(f"error: {path}", "") for line in result.stderr.splitlines() if line.startswith("error:")]


def test_every_problem_of_the_shop_table_is_listed(cli, isolated):
    problems = check(cli, isolated, '[shop]\ncurrency = "XYZ"\nphone_region = "ZZZ"\ntimezone = "Mars/Olympus"\n'
                                    'max_amount = -5\n')
    assert [line.split(":")[1:3] for line in problems] == [
        ["2", " shop.currency"], ["3", " shop.phone_region"], ["4", " shop.timezone"], ["5", " shop.max_amount"]]


def test_every_problem_of_expiry_and_feedback_is_listed(cli, isolated):
    problems = check(cli, isolated, "[expiry]\npoints_days = -1\nrewards_days = 0\n"
                                    "[feedback]\nscale = 7\npoints = -3\n")
    assert problems == [
        ":2: expiry.points_days: must be at least 1, got -1",
        ":3: expiry.rewards_days: must be at least 1, got 0",
        ":5: feedback.scale: must be 10 (0-10, with the Net Promoter Score) or 5 (stars), got 7",
        ":6: feedback.points: must be at least 0, got -3",
    ]


def test_every_problem_of_the_tiers_is_listed(cli, isolated):
    problems = check(cli, isolated, '[[tiers]]\nname = "Gold"\nmin_spend = 500\nmultiplier = 0\n'
                                    '[[tiers]]\nname = "Gold"\nmin_spend = 100\nmultiplier = 1e9\n')
    assert problems == [
        ":4: tiers[0].multiplier: must be above 0, got 0",
        ":6: tiers[1].name: duplicate tier name 'Gold'",
        ":8: tiers[1].multiplier: must be at most 10, got 1,000,000,000",
        ":7: tiers[1].min_spend: must be above Gold's min_spend: list tiers lowest first",
    ]


@pytest.mark.parametrize(("currency", "reason"), [
    ("XYZ", "must be an ISO 4217 currency code such as EUR, got 'XYZ'"),
    ("eur", "must be an ISO 4217 currency code such as EUR, got 'eur' (write it in capitals: 'EUR')"),
    ("XXX", "must be an ISO 4217 currency code such as EUR, got 'XXX'"),
    ("ESP", "must be an ISO 4217 currency code such as EUR, got 'ESP'"),
])
def test_only_iso_4217_currencies(cli, isolated, currency, reason):
    assert check(cli, isolated, f'[shop]\ncurrency = "{currency}"\n') == [f":2: shop.currency: {reason}"]


@pytest.mark.parametrize("currency", ["EUR", "HUF", "JPY", "KWD", "CHF"])
def test_real_currencies_pass(cli, isolated, currency):
    path = isolated / "shop.toml"
    path.write_text(f'[shop]\ncurrency = "{currency}"\nphone_region = "IT"\n', encoding="utf-8")
    assert cli("config", "check", path).exit_code == 0


def test_a_visit_refuses_a_made_up_currency(cli, isolated):
    path = isolated / "shop.toml"
    path.write_text('[shop]\ncurrency = "XYZ"\nphone_region = "IT"\n', encoding="utf-8")
    result = cli("--config", path, "visit", "333 123 4567", "--amount", "12")
    assert result.exit_code == 2 and "shop.currency: must be an ISO 4217 currency code" in result.stderr
