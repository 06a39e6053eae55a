"""Money, numbers, dates for people in each locale; the table Babel wrote holds to Babel."""

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_decimal, format_percent
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_cli.domain import i18n, locale_format, money
from loyalty_cli.domain.locale_data import LOCALES

ROOT = Path(__file__).resolve().parents[2]


def plain(text: str) -> str:
    """CLDR's no-break spaces (U+00A0, U+202F) as plain ones, for readable expectations."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def speak():
    def use(locale):
        i18n.use(locale)

    yield use
    i18n.use("en")


@pytest.mark.parametrize("locale, eur, huf, big, negative", [
    ("en", "€12.50", "12,990.00 Ft", "€2,500,315.63", "-€3.00"),
    ("es_ES", "12,50 €", "12.990 HUF", "2.500.315,63 €", "-3,00 €"),
    ("it_IT", "12,50 €", "12.990 HUF", "2.500.315,63 €", "-3,00 €"),
    ("hu_HU", "12,50 EUR", "12 990 Ft", "2 500 315,63 EUR", "-3,00 EUR"),
])
def test_money_per_locale(speak, locale, eur, huf, big, negative):
    speak(locale)
    assert plain(locale_format.amount(1250, "EUR")) == eur
    assert plain(locale_format.amount(1299000, "HUF")) == huf  # forints without fillér outside English
    assert plain(locale_format.amount(250031563, "EUR")) == big
    assert plain(locale_format.amount(-300, "EUR")) == negative


@pytest.mark.parametrize("locale, four, five, share, day, minute", [
    ("en", "1,234", "69,659", "12.3%", "2026-03-15", "2026-03-15 18:30"),
    ("es_ES", "1.234", "69.659", "12,3 %", "15/03/2026", "15/03/2026 18:30"),  # es groups four digits too (pinned)
    ("it_IT", "1.234", "69.659", "12,3%", "15/03/2026", "15/03/2026 18:30"),
    ("hu_HU", "1 234", "69 659", "12,3%", "2026. 03. 15.", "2026. 03. 15. 18:30"),
])
def test_numbers_shares_and_dates_per_locale(speak, locale, four, five, share, day, minute):
    speak(locale)
    assert plain(locale_format.number(1234)) == four
    assert plain(locale_format.number(69659)) == five
    assert plain(locale_format.percent(0.123)) == share
    assert locale_format.day(date(2026, 3, 15)) == locale_format.day("2026-03-15") == day
    assert locale_format.minute("2026-03-15 18:30") == minute


def test_phones_in_the_shops_national_format():
    assert locale_format.phone("+393331234567", "IT") == "333 123 4567"
    assert locale_format.phone("+34612345678", "ES") == "612 34 56 78"
    assert locale_format.phone("+36201234567", "HU") == "06 20 123 4567"
    assert locale_format.phone("+34612345678", "IT") == "+34 612 34 56 78"  # a foreign one keeps its country


@settings(max_examples=300, deadline=None)
@given(locale=st.sampled_from(sorted(LOCALES)), currency=st.sampled_from(sorted(LOCALES["it_IT"]["money"])),
       minor=st.integers(min_value=-10**12, max_value=10**12))
def test_the_table_formats_money_as_babel_does(locale, currency, minor):
    digits = money.shown_digits(currency)
    value = money.to_decimal(minor, currency).quantize(Decimal(1).scaleb(-digits), rounding="ROUND_HALF_UP")
    value = value.copy_abs() if value == 0 else value  # -1 fillér is "0 Ft" for people, never "-0 Ft"
    i18n.use(locale)
    try:
        assert locale_format.amount(minor, currency) == locale_format.babel_amount(value, currency, locale, digits)
    finally:
        i18n.use("en")


@settings(max_examples=200, deadline=None)
@given(locale=st.sampled_from(sorted(LOCALES)), number=st.integers(min_value=-10**12, max_value=10**12),
       share=st.decimals(min_value=0, max_value=5, places=3))
def test_the_table_formats_numbers_and_shares_as_babel_does(locale, number, share):
    i18n.use(locale)
    try:
        assert locale_format.number(number) == format_decimal(number, locale=locale)
        assert locale_format.percent(share) == format_percent(share, format=locale_format.percent_pattern(locale),
                                                              locale=locale)
    finally:
        i18n.use("en")


def test_the_table_is_what_the_script_writes():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import locale_data as script
    finally:
        sys.path.pop(0)
    assert script.table() == LOCALES, "run python tools/locale_data.py"


def test_a_currency_the_table_lacks_is_formatted_by_babel(speak):
    speak("it_IT")
    assert plain(locale_format.amount(123456, "MXN")) == "1.234,56 MXN"
