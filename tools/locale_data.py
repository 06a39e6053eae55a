"""Write loyalty_cli/domain/locale_data.py: what Babel (CLDR) says about our locales, kept as a
small table so the counter's card needs no Babel at run time.

    python tools/locale_data.py

Why a table: `import babel.numbers` plus one locale's CLDR data cost 37-300 ms on the bench
machine (2 cores shared with other jobs; `python -c pass` took 20-350 ms meanwhile), against
0.4-7 ms for the same card's money and numbers from this table and 4-35 ms for loading the
Italian catalog (measured in-process; benchmarks/bench_visit.py's "fresh db, it_IT" case times
the whole visit). Babel would be most of the card's cost.

The table holds, per locale, the decimal and group signs, whether four digits are grouped, the
percent layout, and the money layout (positive and negative) for the currencies shops here
use; any other currency is formatted by Babel itself.
tests/domain/test_locale_format.py checks the table against Babel and against this script.
"""

import pprint
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = ROOT / "loyalty_cli" / "domain" / "locale_data.py"
CURRENCIES = ("EUR", "HUF", "USD", "GBP", "CHF", "PLN", "CZK", "RON", "SEK", "DKK", "NOK", "JPY")


def table() -> dict:
    from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol

    from loyalty_cli.domain import i18n, locale_format, money

    data = {}
    for locale in i18n.LOCALES:
        if locale == "en":
            continue
        decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
        money_layouts = {}
        for currency in CURRENCIES:
            digits = money.shown_digits(currency)
            one = "1" + (decimal + "0" * digits if digits else "")
            positive = locale_format.babel_amount(Decimal(1), currency, locale, digits)
            negative = locale_format.babel_amount(Decimal(-1), currency, locale, digits)
            money_layouts[currency] = (positive.replace(one, "{}", 1), negative.replace(one, "{}", 1))
        half = format_percent(Decimal("0.5"), format=locale_format.percent_pattern(locale), locale=locale)
        data[locale] = {"decimal": decimal, "group": group, "group_four": format_decimal(1234, locale=locale) != "1234",
                        "percent": half.replace("50" + decimal + "0", "{}", 1), "money": money_layouts}
    return data


def source() -> str:
    return ('"""What Babel (CLDR) says about our locales: written by tools/locale_data.py, do not edit.\n\n'
            'Why a table and not Babel at run time: see that script (Babel costs the card 37-300 ms)."""\n\n'
            f"LOCALES = {pprint.pformat(table(), width=110, sort_dicts=True)}\n")


if __name__ == "__main__":
    TARGET.write_text(source(), encoding="utf-8")
