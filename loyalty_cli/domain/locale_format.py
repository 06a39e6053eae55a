"""Numbers, money, dates and phones for people, in the shop's locale: the one place for each.

English keeps its hand-written forms ('€12.50', '1,234', ISO dates). The other locales follow
Babel (CLDR): '12,50 €' (es, it), '12 990 Ft' (hu: forints are shown without fillér, as they are
paid), '1.234' / '1 234', through a small table Babel wrote (locale_data.py, by
tools/locale_data.py) rather than Babel itself: importing Babel and loading one locale's CLDR
data cost the card 37-300 ms (measured on the bench machine, by its load; see that script), more than the
rest of the card. A currency the table lacks is formatted by Babel; tests hold the table to it.

Machine output never comes here: JSON and --format csv keep money.as_string, ISO dates, E.164.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from loyalty_cli.domain import i18n, money

# Dates as each locale writes them with a full year (CLDR's short forms, yy widened to yyyy):
# the same forms `--at` and `--since` accept (domain/dates.py).
_DATE_PATTERNS = {"en": "%Y-%m-%d", "es_ES": "%d/%m/%Y", "it_IT": "%d/%m/%Y", "hu_HU": "%Y. %m. %d."}


def amount(minor: int, currency: str) -> str:
    """'€12.50' (en), '12,50 €' (es, it), '12 990 Ft' (hu)."""
    locale = i18n.current()
    if locale == "en":
        return money.display(minor, currency)
    digits = money.shown_digits(currency)
    value = money.to_decimal(minor, currency).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    layouts = _data(locale)["money"].get(currency.upper())
    if layouts is None:  # a currency the table does not hold: Babel itself
        return babel_amount(value, currency, locale, digits)
    whole, _, fraction = f"{abs(value):f}".partition(".")
    text = _grouped(whole, locale) + (_data(locale)["decimal"] + fraction if fraction else "")
    return layouts[value < 0].format(text)


def babel_amount(value: Decimal, currency: str, locale: str, digits: int) -> str:
    """Babel's (CLDR's) form of an amount, with `digits` decimals: the reference the table follows."""
    from babel.numbers import format_currency

    return format_currency(value, currency, format=_currency_pattern(locale, digits), currency_digits=False,
                           locale=locale)


@cache
def _currency_pattern(locale: str, digits: int) -> str:
    """The locale's currency pattern with `digits` decimals ('#,##0.00 ¤' -> '#,##0 ¤' for HUF)."""
    from babel import Locale

    pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    fraction = "." + "0" * digits if digits else ""
    return pattern.replace("#,##0.00", "#,##0" + fraction)


def _data(locale: str) -> dict:
    from loyalty_cli.domain.locale_data import LOCALES

    return LOCALES[locale]


def _grouped(digits: str, locale: str) -> str:
    """'1234567' -> '1.234.567' with the locale's group sign (es leaves four digits alone)."""
    data = _data(locale)
    if len(digits) <= 3 or (len(digits) == 4 and not data["group_four"]):
        return digits
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return data["group"].join(groups)


def number(value: int) -> str:
    """A whole number with the locale's grouping: '12,345' (en), '12.345' (es, it), '12 345' (hu)."""
    locale = i18n.current()
    if locale == "en":
        return f"{value:,}"
    return ("-" if value < 0 else "") + _grouped(str(abs(int(value))), locale)


def decimal(value, places: int = 1) -> str:
    """A fraction with `places` decimals: '1.5' (en), '1,5' (es, it, hu)."""
    text = f"{Decimal(str(value)):.{places}f}"
    locale = i18n.current()
    if locale == "en":
        return text
    whole, _, fraction = text.lstrip("-").partition(".")
    sign = "-" if text.startswith("-") else ""
    return sign + _grouped(whole, locale) + (_data(locale)["decimal"] + fraction if fraction else "")


def percent(ratio) -> str:
    """0.123 -> '12.3%' (en), '12,3 %' (es), '12,3%' (it, hu)."""
    locale = i18n.current()
    if locale == "en":
        return f"{ratio * 100:.1f}%"
    return _data(locale)["percent"].format(decimal(Decimal(str(ratio)) * 100, 1))


@cache
def percent_pattern(locale: str) -> str:
    """The locale's percent pattern with one decimal (tools/locale_data.py asks Babel with it)."""
    from babel import Locale

    return Locale.parse(locale).percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)


def day(value: date | str | None) -> str:
    """A date as the locale writes it: '2026-03-15' (en), '15/03/2026' (es, it), '2026. 03. 15.' (hu)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime(_DATE_PATTERNS.get(i18n.current(), "%Y-%m-%d"))


def minute(value: str | datetime | None) -> str:
    """A shop-local 'YYYY-MM-DD HH:MM' as the locale writes it: '15/03/2026 18:30'."""
    if value is None or value == "":
        return ""
    text = value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    return f"{day(text[:10])} {text[11:16]}".rstrip()


def phone(e164: str | None, region: str | None) -> str:
    """A number as people of the shop's region write it: '333 123 4567' for +393331234567 in IT;
    a foreign number in the international form ('+34 612 34 56 78')."""
    if not e164:
        return ""
    import phonenumbers

    try:
        number_ = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = region is not None and phonenumbers.region_code_for_number(number_) == region.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if home else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number_, style)
