"""Money: Decimal in, integer minor units out, never a float."""

from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_cli.domain import money
from loyalty_cli.domain.errors import BadInput


@pytest.mark.parametrize("text, minor", [
    ("12.50", 1250), ("12,50", 1250), ("12", 1200), ("0", 0), ("0,05", 5), ("1.234,50", 123450),
    ("1,234.50", 123450), ("€ 12,50", 1250), ("12,50 €", 1250), ("EUR 12.5", 1250), ("1 234,50", 123450),
    ("1.234.567", 123456700), (" 7 ", 700), ("10.10", 1010),
])
def test_parse_amount(text, minor):
    assert money.parse_amount(text, "EUR") == minor


@pytest.mark.parametrize("text, reason", [
    ("-3", "must not be negative"), ("abc", "not a number"), ("", "not a number"), ("12.5055", "more decimals"),
    ("12.505", "ambiguous"),
    ("1.500", "ambiguous"), ("1,2,3", "not a number"), ("nan", "not a number"), ("1e5", "not a number"),
    ("12..5", "not a number"), ("12,5.00", "not a number"), ("1.2.3,45", "not a number"),
    ("12 50", "not a number"), ("1 23,50", "not a number"),
])
def test_parse_amount_refuses(text, reason):
    with pytest.raises(BadInput, match=reason):
        money.parse_amount(text, "EUR")


def test_forints_and_yen():
    assert money.parse_amount("1 500 Ft", "HUF") == 150000
    assert money.parse_amount("1500", "JPY") == 1500
    with pytest.raises(BadInput, match="more decimals"):
        money.parse_amount("15.5", "JPY")


def test_display_and_strings():
    assert money.display(1250, "EUR") == "€12.50"
    assert money.display(-300, "EUR") == "-€3.00"
    assert money.display(150000, "HUF") == "1,500.00 Ft"
    assert money.display(58566805, "EUR") == "€585,668.05"
    assert money.divide_half_up(5, 2) == 3 and money.divide_half_up(7, 3) == 2
    assert money.display(1000, "XYZ") == "10.00 XYZ"
    assert money.as_string(5, "EUR") == "0.05"
    assert money.parse_signed("-3.00", "EUR") == -300


def test_rounding_is_down_and_named_once():
    assert money.percent_of(1250, Decimal(5)) == 62
    assert money.percent_of(1999, Decimal("2.5")) == 49  # 49.975 -> 49
    assert money.percent_of(249000, Decimal(5), "HUF") == 12400  # 124.50 Ft -> 124 Ft: no fillér in cash
    assert money.percent_of(1250, Decimal(5), "JPY") == 62  # a currency without decimals: its unit
    assert money.round_toward_zero(Decimal("17.99")) == 17
    assert money.whole_units(1299, "EUR") == 12



@given(st.integers(-10**12, 10**12), st.decimals(0, 100, places=6, allow_nan=False, allow_infinity=False),
       st.sampled_from(["EUR", "HUF", "JPY", "KWD"]))
def test_percent_of_is_the_exact_fraction_rounded_toward_zero(minor, percent, currency):
    step = 10 ** (money.exponent(currency) - money.shown_digits(currency))
    exact = Fraction(minor) * Fraction(percent) / 100 / step
    assert money.percent_of(minor, percent, currency) == int(exact) * step  # int(): toward zero
    with localcontext(prec=40):  # the Decimal formula percent_of replaced, where it is exact
        assert money.percent_of(minor, percent, currency) == step * int(
            (Decimal(minor) * percent / 100 / step).to_integral_value(rounding=ROUND_DOWN))


def test_config_value_must_fit_the_currency():
    assert money.decimal_to_minor(Decimal("2.50"), "EUR", "x") == 250
    with pytest.raises(BadInput):
        money.decimal_to_minor(Decimal("2.505"), "EUR", "x")


@pytest.mark.parametrize("text, shop, reason", [
    ("12 EUR", "USD", "is not in USD"), ("$12", "EUR", "is not in EUR"), ("12 Ft", "EUR", "is not in EUR"),
    ("£3", "EUR", "is not in EUR"),
])
def test_another_currency_is_refused(text, shop, reason):
    with pytest.raises(BadInput, match=reason):
        money.parse_amount(text, shop, "--amount")


@pytest.mark.parametrize("text, shop, minor", [
    ("12 EUR", "EUR", 1200), ("$12", "USD", 1200), ("€ 12,50", "EUR", 1250), ("12 990 Ft", "HUF", 1299000),
    ("١٢,٥٠", "EUR", 1250), ("１２", "EUR", 1200), ("۱۲.۵۰", "EUR", 1250),
])
def test_own_currency_and_any_script_digits(text, shop, minor):
    assert money.parse_amount(text, shop, "--amount") == minor


def test_a_tiny_amount_is_too_many_decimals_not_a_thousand():
    # '0.001' used to be 'ambiguous: write it as 0001'
    with pytest.raises(BadInput, match="more decimals than EUR allows"):
        money.parse_amount("0.001", "EUR", "--amount")


def test_forints_are_typed_whole():
    """HUF has no minor unit in anyone's hand: '1.234' is a thousand and more, '12,50' a mistake."""
    assert money.parse_amount("1.234", "HUF") == 123400  # stored in ISO minor units, as ever
    assert money.parse_amount("1 234 Ft", "HUF") == money.parse_amount("1234", "HUF") == 123400
    assert money.parse_amount("12.990", "HUF") == money.parse_amount("12,990", "HUF") == 1299000
    for typed in ("12,50", "1.234,50", "0,5"):
        with pytest.raises(BadInput, match="HUF amounts are whole, with no decimals"):
            money.parse_amount(typed, "HUF", "--amount")
    assert money.shown_digits("HUF") == 0 and money.shown_digits("EUR") == 2 and money.shown_digits("JPY") == 0


def test_the_iso_4217_list_is_babels_legal_tender():
    """money.ISO_4217 is a literal (importing babel.numbers at every config load costs ~37 ms):
    each code is one Babel knows, and every currency legal tender somewhere today is in it."""
    from datetime import date

    from babel.core import get_global
    from babel.numbers import get_territory_currencies, list_currencies

    from loyalty_cli.domain import money

    assert money.ISO_4217.issubset(list_currencies())
    tender = {code for territory in get_global("territory_currencies")
              for code in get_territory_currencies(territory, date(2026, 6, 1), tender=True)}
    assert tender <= money.ISO_4217
    assert not {"XXX", "XTS", "XAU", "ESP", "DEM", "CHE"} & money.ISO_4217
