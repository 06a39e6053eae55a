"""Dates as people type them, read by one parser: the importer's cells, `visit --at` and the
reports' `--since`/`--until` all accept ISO, dd/mm/yyyy (es, it), dd.mm.yyyy, dd-mm-yyyy and
yyyy.mm.dd (hu, also '2026. 03. 15.'), each optionally followed by a time of day.
"""

import re
from datetime import date

YMD = re.compile(r"(\d{4})\s*([-./])\s*(\d{1,2})\s*\2\s*(\d{1,2})\.?")
DMY = re.compile(r"(\d{1,2})\s*([-./])\s*(\d{1,2})\s*\2\s*(\d{4})")


class DayError(ValueError):
    """Not a date; the message says why (the caller adds where)."""


def read_day(raw: str) -> tuple[date, str]:
    """(date, the rest of the text) of a text that starts with a date; day first when not ISO."""
    found = YMD.match(raw)
    if found:
        return _date(raw, int(found[1]), int(found[3]), int(found[4])), raw[found.end():]
    found = DMY.match(raw)
    if found:
        first, second, year = int(found[1]), int(found[3]), int(found[4])
        if second > 12 and first <= 12:
            raise DayError(f"date {raw!r} is not day/month/year; if the file writes month first, "
                           "use --date-format mm/dd/yyyy")
        return _date(raw, year, second, first), raw[found.end():]
    raise DayError(f"not a date: {raw!r} (write YYYY-MM-DD, DD/MM/YYYY, DD.MM.YYYY or YYYY.MM.DD, "
                   "or give --date-format)")


def is_plain_date(text: str) -> bool:
    return bool(YMD.fullmatch(text) or DMY.fullmatch(text))


def typed_day(raw: str) -> date | None:
    """The date a person typed as a whole (no time after it), or None if it is not one."""
    try:
        day, rest = read_day(raw.strip())
    except DayError:
        return None
    return None if rest.strip() else day


def _date(raw: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DayError(f"not a date: {raw!r} (no such day)") from None
