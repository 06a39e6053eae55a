"""CSV for a spreadsheet's double-click: `--format excel-csv`.

RFC 4180 CSV (writers.write_csv) is for machines: a comma, a decimal point, keys as headers.
Opened by a double-click in an Italian, Spanish or Hungarian Excel or LibreOffice, it lands in
one column and its amounts stay text, because those programs split and parse a CSV with the
computer's regional settings. This file is written for them instead:

- the list separator of the shop's locale (`;` for es, it, hu; `,` for en) and its decimal
  mark (`13990,93`), so every number is a number; money is a plain number without its sign;
- UTF-8 with a BOM, the one signal both programs take for UTF-8 (without it `€` reads `â‚¬`);
  no `sep=;` line, which makes Excel ignore the BOM;
- the column titles it is given (the headings, in the shop's language once translated);
- dates and times ISO 8601 (`2026-05-01`, `2026-05-01 18:30`), read as dates in every locale;
- phones as text with no visible mark: a number of the locale's country in its national
  layout (`333 123 4567`), any other as `0044 20 7946 0958`. The spaces keep both programs from
  reading it as a number (which drops the `+` and the leading zeros) and nothing starts with a
  formula character. Rejected: a leading `'` (shown as it is, from a CSV), `="+39..."` (a
  formula: shown literally where formulas in CSV are not evaluated, and the very thing the
  neutralising below refuses), a quoted `"+39..."` (quotes do not make text in either program);
- text starting with = + - @ tab or CR neutralised with a leading `'`, as in CSV: a customer's
  name never runs as a formula. Numbers are numbers, so a negative amount stays `-3,00`.

Checked in LibreOffice itself: scripts/check_excel_csv.py.
"""

import csv

from loyalty_cli.output.cells import FORMULA_STARTS, Cells, neutralise
from loyalty_cli.output.model import Report, Table

# (list separator, decimal mark): what Excel and LibreOffice take from the regional settings
CONVENTIONS = {"en": (",", "."), "es": (";", ","), "it": (";", ","), "hu": (";", ",")}
BOM = "\ufeff"


def conventions(locale: str) -> tuple[str, str]:
    """'it_IT' -> (';', ','); a language not listed gets English's."""
    return CONVENTIONS.get(_language(locale), CONVENTIONS["en"])


def _language(locale: str) -> str:
    return (locale or "en").replace("-", "_").split(".")[0].split("_")[0].lower()


def region_of(locale: str) -> str | None:
    """'it_IT' -> 'IT', 'es-ES.UTF-8' -> 'ES'; None for a bare language ('en')."""
    parts = (locale or "").split(".")[0].replace("-", "_").split("_")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isalpha() else None


def write_excel_csv(report: Report, table: Table, handle, locale: str = "en") -> None:
    """One table, BOM first. The handle: text, UTF-8, opened with newline='' (csv writes CRLF)."""
    separator, decimal = conventions(locale)
    cells = Cells(report)
    convert = [_converter(cells, column, decimal, region_of(locale)) for column in table.columns]
    handle.write(BOM)
    out = csv.writer(handle, delimiter=separator, lineterminator="\r\n")
    out.writerow([neutralise(column.full_heading) for column in table.columns])
    out.writerows([f(v) for f, v in zip(convert, row, strict=True)] for row in table.rows())


def _converter(cells: Cells, column, decimal: str, region: str | None):
    plain = cells.converter(column.kind, "plain")
    if column.kind in ("money", "ratio", "number"):
        if column.kind == "number":
            plain = _number_text
        if decimal == ".":
            return plain
        return lambda v: plain(v).replace(".", decimal)
    if column.kind == "text" and column.key == "phone":
        return phone_layout(region, plain)
    return plain


def _number_text(value) -> str:
    """A number as a spreadsheet reads it: never in exponent notation."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return f"{value:.15f}".rstrip("0").rstrip(".") if "e" in text else text


# ---- phones --------------------------------------------------------------------------------------

_UNKNOWN = object()


def phone_layout(region: str | None, fallback):
    """E.164 -> the layout a spreadsheet keeps as text (see the module's docstring); what is not
    a phone number goes to `fallback` (the CSV's neutralised text).

    phonenumbers takes ~0.2 ms a number, seconds for a customer list, so it lays out one number
    per country code, first digits and length, and the others like it reuse that layout."""
    layouts: dict = {}

    def text(value):
        if not isinstance(value, str) or len(value) < 8 or value[0] != "+" or not value[1:].isdigit():
            return fallback(value)
        key = (value[:7], len(value))
        layout = layouts.get(key, _UNKNOWN)
        if layout is _UNKNOWN:
            layout = layouts[key] = _layout(value, region)
        if layout is None:
            return fallback(value)
        prefix, groups, national_from = layout
        digits = value[national_from:]
        out, at = [prefix], 0
        for size in groups:
            out.append(digits[at:at + size])
            at += size
        return prefix + " ".join(out[1:])

    return text


def _layout(e164: str, region: str | None):
    """(prefix, group sizes, index where the national number starts in the E.164 text) of a
    number's layout, or None when it is not a phone number: the national layout for a number of
    the locale's country, else the international one; where that has brackets or dashes (Budapest
    '(06 1) 234 5678', US '650-253-0000'), the national number whole after '00' and the country code."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    national_from = 1 + len(str(number.country_code))
    national = e164[national_from:]
    styles = [phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    if region is not None and number.country_code == phonenumbers.country_code_for_region(region):
        styles.insert(0, phonenumbers.PhoneNumberFormat.NATIONAL)
    for style in styles:
        shown = phonenumbers.format_number(number, style)
        layout = _groups("00" + shown[1:] if shown.startswith("+") else shown, national)
        if layout is not None and _stays_text(*layout):
            return (*layout, national_from)
    generic = (f"00{number.country_code} ", (len(national),))
    return (*generic, national_from) if _stays_text(*generic) else None


def _groups(shown: str, national: str):
    """'0044 20 7946 0958', '2079460958' -> ('0044 ', (2, 4, 4)): the national number's digits are
    the last ones shown; what comes before them is the prefix ('06 ' in Hungary, '0044 ' abroad).
    None when they are not whole words of digits."""
    words = shown.split(" ")
    groups, left = [], len(national)
    while left > 0 and words:
        word = words.pop()
        if not word.isdigit() or len(word) > left:
            return None
        groups.insert(0, len(word))
        left -= len(word)
    if left or "".join(shown.split(" ")[len(words):]) != national:
        return None
    prefix = " ".join(words)
    return (prefix + " " if prefix else ""), tuple(groups)


def _stays_text(prefix: str, groups) -> bool:
    """A layout no spreadsheet reads as a number: two words or more, and not a thousands grouping
    (where a space groups thousands, as in Hungary, '612 345 678' would be a number)."""
    words = [len(w) for w in prefix.split()] + list(groups)
    if len(words) < 2 or prefix.startswith(FORMULA_STARTS):
        return False
    return not (words[0] <= 3 and all(size == 3 for size in words[1:]))
