"""A cards file's `birthday` cells: the day and month, with or without the year.

With a year, the forms of the one date reader, domain/dates.py (YYYY-MM-DD, DD/MM/YYYY,
DD.MM.YYYY, YYYY.MM.DD and Hungarian '1985. 06. 15.', or --date-format); without one, DD/MM or
DD.MM (day first, as the importer's dates) and MM-DD or --MM-DD (month first, ISO 8601's form).
A cell that reads only the other way round ('12/25') is refused rather than guessed, and so is a
day that does not exist ('31/02'). Stored as `enroll --birthday` stores it
(domain/birthdays.py). A file holds few distinct birthdays (366 without the year): each is read
once.
"""

import re
from datetime import date, datetime

from loyalty_cli.domain import birthdays, dates
from loyalty_cli.importing.cells import shortened
from loyalty_cli.importing.options import RowError
from loyalty_cli.importing.values import CellError, friendly_format

_YMD = dates.YMD  # the date reader's forms, so a birthday reads as a visit's date does
_DMY = dates.DMY
_DAY_MONTH = re.compile(r"(\d{1,2})([/.])(\d{1,2})\.?")
_MONTH_DAY = re.compile(r"(?:--)?(\d{1,2})-(\d{1,2})")
_MIDNIGHT = re.compile(r"[ T]0?0:00(?::00(?:\.0+)?)?$")  # a spreadsheet's date-time of a plain date
_FORMS = "YYYY-MM-DD, DD/MM/YYYY, DD.MM.YYYY, DD/MM or MM-DD"
CACHE = 10_000


class Birthdays:
    """Cells -> stored birthdays (None for an empty cell), a column at a time."""

    def __init__(self, date_format: str | None, today: date):
        pattern = friendly_format(date_format) if date_format else None
        self.month_first = bool(pattern) and pattern.find("%m") < pattern.find("%d")
        # a pattern without the year ('mm/dd') only says the order: strptime would file 1900
        self.format = pattern if pattern and ("%Y" in pattern or "%y" in pattern) else None
        self.today = today
        self.cache: dict[str, object] = {"": None}  # cell -> stored text, or its CellError

    def column(self, cells: list, errors: dict) -> list:
        cache = self.cache
        if len(cache) > CACHE:
            cache.clear()
            cache[""] = None
        for cell in set(cells).difference(cache):
            try:
                cache[cell] = self.read(cell)
            except CellError as exc:
                cache[cell] = exc
        values = list(map(cache.__getitem__, cells))
        for i, value in enumerate(values):
            if isinstance(value, CellError):
                errors.setdefault(i, RowError("birthday", shortened(cells[i].strip()), str(value)))
                values[i] = None
        return values

    def read(self, cell: str) -> str | None:
        raw = _MIDNIGHT.sub("", cell.strip())
        if not raw:
            return None
        day, has_year = self._day(raw)
        problem = birthdays.check(day, has_year, self.today)
        if problem:
            raise CellError(f"birthday {problem}: {raw!r}")
        return birthdays.stored(day, has_year)

    def _day(self, raw: str) -> tuple[date, bool]:
        if self.format:
            try:
                return datetime.strptime(raw, self.format).date(), True
            except ValueError:
                pass
        found = _YMD.fullmatch(raw)
        if found and not self.format:
            return _date(raw, int(found[1]), int(found[3]), int(found[4])), True
        found = _DMY.fullmatch(raw)
        if found and not self.format:
            first, second = int(found[1]), int(found[3])
            _day_first(raw, first, second, "day/month/year")
            return _date(raw, int(found[4]), second, first), True
        found = _DAY_MONTH.fullmatch(raw)
        if found:
            first, second = int(found[1]), int(found[3])
            if self.month_first:
                return _date(raw, birthdays.YEARLESS, first, second), False
            _day_first(raw, first, second, "day/month")
            return _date(raw, birthdays.YEARLESS, second, first), False
        found = _MONTH_DAY.fullmatch(raw)
        if found:
            month, day = int(found[1]), int(found[2])
            if month > 12 and day <= 12:
                raise CellError(f"birthday {raw!r} is not month-day (MM-DD): write {day:02d}-{month:02d}, "
                                f"or {month}/{day} for day/month")
            return _date(raw, birthdays.YEARLESS, month, day), False
        if self.format:
            raise CellError(f"birthday {raw!r} does not match --date-format, nor DD/MM or MM-DD without the year")
        raise CellError(f"not a birthday: {raw!r} (write {_FORMS}, or give --date-format)")


def _day_first(raw: str, first: int, second: int, order: str) -> None:
    if second > 12 and first <= 12:
        raise CellError(f"birthday {raw!r} is not {order}; if the file writes month first, "
                        "use --date-format mm/dd/yyyy")


def _date(raw: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(f"birthday {raw!r} is not a date (no such day)") from None
