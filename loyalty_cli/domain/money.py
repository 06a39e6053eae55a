"""Money: parsed with Decimal, stored as integer minor units, never a float.

Rounding is named here and nowhere else: whatever the shop *gives* (cashback, points)
is rounded down, so a customer is never promised a fraction the till cannot pay.
"""

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import cache

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.text import ascii_digits

# The ISO 4217 codes a shop may keep its books in: every currency that is legal tender somewhere
# (CLDR via Babel 2.19, on 2024-01-01 or since: BGN and ANG stay for shops that still hold them),
# without Babel's historic ones (ESP, DEM), funds (CHE, CLF) and metals (XAU). A literal rather than
# babel.numbers at config load: every command validates its config, and importing babel.numbers
# costs ~37 ms (python -X importtime, Babel 2.19), against ~0.2 ms for this set.
# tests/domain/test_money.py checks it against Babel's list.
ISO_4217 = frozenset((
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
))
# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XAF": 0, "XOF": 0,
              "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}
# Currencies whose minor unit exists on paper but not in anyone's hand (CLDR's cashDigits): a
# forint amount is typed and shown in whole forints, though stored, like every amount, in the ISO
# minor unit (so JSON keeps "1234.00" and old databases keep their meaning).
_CASH_DIGITS = {"HUF": 0}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "HUF": "Ft", "CHF": "CHF", "PLN": "zł",
            "CZK": "Kč", "RON": "lei", "SEK": "kr", "DKK": "kr", "NOK": "kr", "JPY": "¥"}
_SUFFIXED = {"HUF", "PLN", "CZK", "RON", "SEK", "DKK", "NOK"}
# Signs and codes that name a currency in a typed amount; letters left after the shop's own are
# refused as 'not a number' anyway, these get the clearer line.
_FOREIGN_TOKENS = ("€", "$", "£", "¥", "EUR", "USD", "GBP", "HUF", "FT", "CHF", "PLN", "ZŁ", "CZK", "KČ", "RON",
                   "SEK", "DKK", "NOK", "JPY")
_SPACING = "\u00a0\u202f\u2009 '"  # what people and spreadsheets put between thousands
MAX_MINOR = 10**13  # far beyond any till, far below SQLite's 64-bit integers after x rates


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def shown_digits(currency: str) -> int:
    """Decimals people type and read: the ISO exponent, or fewer where cash has fewer (HUF: 0)."""
    return min(exponent(currency), _CASH_DIGITS.get(currency.upper(), 99))


def parse_amount(text: str, currency: str = "EUR", what: str = "amount") -> int:
    """'12.50', '12,50', '1.234,50', '€ 12,50' -> minor units (1250). Refuses negatives, and
    another currency's code or sign: '12 EUR' in a USD shop is not twelve dollars. In a currency
    typed without decimals (HUF) '1.234' is 1234 and '12,50' is refused."""
    raw = str(text).strip()
    cleaned = _without_currency(ascii_digits(raw).upper(), currency.upper(), raw, what)
    _check_spacing(cleaned, raw, what)
    cleaned = "".join(ch for ch in cleaned if ch not in _SPACING)
    if cleaned.startswith("-"):
        raise BadInput(Phrase("{what} must not be negative: {raw}", what=what, raw=repr(raw)))
    typed = shown_digits(currency)
    number = _normalise_separators(cleaned, raw, what, typed)
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw))) from None
    if not value.is_finite():
        raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw)))
    if typed < exponent(currency) and value != value.scaleb(typed).to_integral_value().scaleb(-typed):
        raise BadInput(Phrase("{what} {raw}: {currency} amounts are whole, with no decimals",
            what=what, raw=repr(raw), currency=currency))
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise BadInput(Phrase("{what} has more decimals than {currency} allows: {raw}",
            what=what, currency=currency, raw=repr(raw)))
    if minor >= MAX_MINOR:
        raise BadInput(Phrase("{what} is too large: {raw}", what=what, raw=repr(raw)))
    return int(minor)


def _without_currency(text: str, code: str, raw: str, what: str) -> str:
    """The amount without the shop's own currency code or sign; another one is refused."""
    own = {code, _SYMBOLS.get(code, code).upper()} | ({"FT"} if code == "HUF" else set())
    for token in sorted(own, key=len, reverse=True):
        text = text.replace(token, "")
    foreign = [token for token in _FOREIGN_TOKENS if token in text and token not in own]
    if foreign:
        raise BadInput(Phrase("{what} {raw} is not in {currency}, the shop's currency",
            what=what, raw=repr(raw), currency=code))
    return text


def _check_spacing(text: str, raw: str, what: str) -> None:
    """A space (or ') inside a number only separates thousands: '1 234,50' yes, '12 50' no."""
    import re

    groups = re.split(r"[\s'\u00a0\u202f\u2009]+", text.strip())
    if len(groups) > 1 and not all(re.fullmatch(r"\d{3}([.,]\d*)?", group) for group in groups[1:]):
        raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw)))


def _thousands_ok(whole: str, sep: str) -> bool:
    groups = whole.split(sep)
    return 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


def _normalise_separators(text: str, raw: str, what: str, exp: int) -> str:
    if not text or not all(ch.isdigit() or ch in ".,+" for ch in text) or text.count("+") > 1:
        raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw)))
    text = text.lstrip("+")
    if "." in text and "," in text:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        whole, _, frac = text.rpartition(decimal_sep)
        if decimal_sep in whole or not _thousands_ok(whole, thousands):
            raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw)))
        return whole.replace(thousands, "") + "." + frac
    sep = "." if "." in text else "," if "," in text else ""
    if not sep:
        return text
    parts = text.split(sep)
    if len(parts) > 2:  # '1.234.567': only thousands separators
        if all(len(p) == 3 for p in parts[1:]):
            return "".join(parts)
        raise BadInput(Phrase("{what} is not a number: {raw}", what=what, raw=repr(raw)))
    if len(parts[1]) == 3 and exp == 0 and parts[0][:1] not in ("", "0"):
        return parts[0] + parts[1]  # no decimals in this currency: '1.234' Ft is a thousand and more
    if len(parts[1]) == 3 and exp < 3 and parts[0][:1] not in ("", "0"):
        # '1.500' is 1500 in Budapest and 1.5 in Dublin: refuse to guess ('0.001' is no thousand).
        raise BadInput(Phrase("{what} is ambiguous: {raw} (thousands or decimals? write it as {whole} or with two "
                          "decimals)", what=what, raw=repr(raw), whole=parts[0] + parts[1]))
    return parts[0] + "." + parts[1]


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def as_string(minor: int, currency: str) -> str:
    """The plain decimal string used in JSON and CSV: '12.50'."""
    exp = exponent(currency)
    return f"{to_decimal(minor, currency):.{exp}f}"


def display(minor: int, currency: str) -> str:
    """For people: '€12.50', '€1,234.50', '1,500.00 Ft', '-€3.00'."""
    code = currency.upper()
    sign = "-" if minor < 0 else ""
    whole, _, fraction = as_string(abs(minor), code).partition(".")
    number = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    symbol = _SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{number} {code}"
    if code in _SUFFIXED:
        return f"{sign}{number} {symbol}"
    return f"{sign}{symbol}{number}"


def percent_of(minor: int, percent: Decimal, currency: str = "EUR") -> int:
    """percent% of an amount in minor units, rounded down to the smallest coin: the minor unit,
    or a whole forint where cash has no fillér (5% of 2490 Ft is 124 Ft, not 124.50).

    In integers, as the exact fraction: 1.1 us against 2.6 us for the Decimal arithmetic it
    replaces, which gives the same wherever it is exact (tests/domain/test_money.py), and is
    paid at every miss of a replay's memo (100,000 in the bench's simulate)."""
    step = _coin(currency)
    numerator, denominator = percent.as_integer_ratio()
    product = minor * numerator
    coins = abs(product) // (denominator * 100 * step)  # toward zero, as ROUND_DOWN
    return (coins if product >= 0 else -coins) * step


@cache
def _coin(currency: str) -> int:
    """The smallest coin in minor units: 1, or 100 for the forint."""
    return 10 ** (exponent(currency) - shown_digits(currency))


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers (an average ticket,
    a value per point): an average is not something the shop pays, so it is not rounded down."""
    return (2 * numerator + denominator) // (2 * denominator)


def round_toward_zero(value: Decimal) -> int:
    """A Decimal to a whole number, dropping the fraction: 17.99 -> 17, -17.99 -> -17."""
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def whole_units(minor: int, currency: str) -> int:
    """Whole currency units in an amount (12.50 EUR -> 12)."""
    return minor // (10 ** exponent(currency))


def decimal_to_minor(value: Decimal, currency: str, what: str) -> int:
    """A config value such as 2.50 (read as Decimal) -> minor units, exactly."""
    minor = Decimal(value).scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise BadInput(Phrase("{what} has more decimals than {currency} allows: {value}", what=what,
                              currency=currency, value=value))
    return int(minor)


def parse_signed(text: str, currency: str) -> int:
    """Our own decimal strings ('-3.00') back to minor units; not for user input."""
    return int(Decimal(text).scaleb(exponent(currency)))
