"""Birthdays as stored: 'YYYY-MM-DD', or '--MM-DD' (ISO 8601's date without a year) for a
customer who gave the day and month only. The rules only ever use the day and the month.
"""

import re
from datetime import date

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase

YEARLESS = 2000  # the year a yearless birthday is read in: a leap year, so 29 February stays itself
EARLIEST_BIRTH_YEAR = 1900  # before it, a year is a typo
_MONTH_DAY = re.compile(r"(?:--)?(\d{1,2})-(\d{1,2})")


def from_stored(text: str) -> date:
    """The stored text as a date (a yearless one in YEARLESS)."""
    if text.startswith("--"):
        return date(YEARLESS, int(text[2:4]), int(text[5:7]))
    return date.fromisoformat(text)


def stored(day: date, has_year: bool) -> str:
    return day.isoformat() if has_year else f"--{day.month:02d}-{day.day:02d}"


def check(day: date, has_year: bool, today: date) -> str | None:
    """What is wrong with a birthday with a year (in the future, before 1900), or None."""
    if not has_year:
        return None
    if day > today:
        return Phrase("is in the future")
    if day.year < EARLIEST_BIRTH_YEAR:
        return Phrase("is before {year} (a typo?)", year=EARLIEST_BIRTH_YEAR)
    return None


def parse_option(text: str, what: str, today: date) -> str:
    """--birthday: YYYY-MM-DD, or MM-DD / --MM-DD without the year; the text to store."""
    raw = text.strip()
    found = _MONTH_DAY.fullmatch(raw)
    try:
        if found:
            day, has_year = date(YEARLESS, int(found[1]), int(found[2])), False
        else:
            day, has_year = date.fromisoformat(raw), True
    except ValueError:
        raise BadInput(Phrase("{what} is not a date (YYYY-MM-DD, or MM-DD without the year): {text}", what=what,
                              text=repr(text))) from None
    problem = check(day, has_year, today)
    if problem:
        raise BadInput(Phrase("{what} {problem}: {text}", what=what, problem=problem, text=repr(text)))
    return stored(day, has_year)
