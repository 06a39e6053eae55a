"""Cell values of import files: free text, dates, whole numbers, reward counts, e-mails.

Each parser raises `CellError` with the reason only; the importer adds the file, line and column.
Dates without an offset are the shop's local time; a date without a time means noon that day,
as for `loyalty visit --at` (so the visit lands on that local day whatever the time zone).

Over 400 lines because of `Dates`, whose cached fast path and exact slow path must stay side
by side to be seen to agree (tests/importing/test_import_parts.py checks that they do).
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import repeat
from operator import add, getitem, itemgetter

from loyalty_cli.domain.clock import EARLIEST_YEAR
from loyalty_cli.domain.dates import DayError, is_plain_date, read_day
from loyalty_cli.domain.text import email_problem

UTC = UTC


class CellError(ValueError):
    pass


class TimeError(CellError):
    """The time of day is what is wrong (a separate time column is the one to blame)."""


def texts(values: list) -> list:
    """[domain.text.tidy(value) for value in values], with the splitting and joining done by map()."""
    if not any(values):
        return [None] * len(values)
    return [cleaned or None for cleaned in map(" ".join, map(str.split, values))]


# ---- numbers ---------------------------------------------------------------------------------

_GROUPED = re.compile(r"\d{1,3}(?:([.,' \u00a0\u202f])\d{3})(?:\1\d{3})*")


MAX_COUNT = 10**12  # punches, points, items: far beyond any shop, far below SQLite's 64-bit integers


def _bounded(number: int, raw: str, what: str) -> int:
    if number > MAX_COUNT:
        raise CellError(f"{what} is too large: {raw!r}")
    return number


def whole(value: str, what: str) -> int:
    """'12', '1.200', '1 200' -> int; refuses negatives and fractions."""
    raw = value.strip()
    if raw.isdecimal():  # not isdigit(): '²' is a digit int() cannot read
        return _bounded(int(raw), raw, what)
    if raw.startswith("-") and raw[1:].strip().replace(".", "").replace(",", "").isdecimal():
        raise CellError(f"{what} must not be negative: {raw!r}")
    if _GROUPED.fullmatch(raw):
        return _bounded(int(re.sub(r"\D", "", raw)), raw, what)
    if re.fullmatch(r"\d+[.,]0+", raw):  # '3.0' from a spreadsheet
        return _bounded(int(re.split(r"[.,]", raw)[0]), raw, what)
    raise CellError(f"{what} must be a whole number: {raw!r}")


# ---- dates -----------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6})\d*)?)?\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?")
_FRIENDLY = {"yyyy": "%Y", "yy": "%y", "mm": "%m", "dd": "%d"}


def friendly_format(pattern: str) -> str:
    """'dd/mm/yyyy' -> '%d/%m/%Y'; a pattern with % is used as it is."""
    if "%" in pattern:
        return pattern
    out, rest = "", pattern.strip()
    while rest:
        for token, code in _FRIENDLY.items():
            if rest.lower().startswith(token):
                out, rest = out + code, rest[len(token):]
                break
        else:
            if rest[0].isalpha():
                raise CellError(f"--date-format: cannot read {pattern!r} (write e.g. dd/mm/yyyy, mm/dd/yyyy, "
                                "yyyy.mm.dd, or a strftime pattern such as %m/%d/%y)")
            out, rest = out + rest[0], rest[1:]
    return out


class Dates:
    """Reads dates and date-times the way old tills write them.

    A million visits hold few distinct days and times of day, so each is parsed once: the day
    part, the time part, and the UTC offset of each local hour are cached separately.
    """

    CACHE_LIMIT = 200_000

    def __init__(self, tz, date_format: str | None = None):
        self.tz = tz
        self.format = friendly_format(date_format) if date_format else None
        self.days: dict[str, object] = {}  # date text -> (date, iso day, rest of the text) | CellError
        self.times: dict[str, object] = {}  # time text -> (h, m, s, us, offset | None) | CellError
        self.hours: dict[tuple, object] = {}  # (date, hour) -> 'YYYY-MM-DDTHH:' of its UTC start | _Exact
        # For columns(): plain date text -> (iso day, the UTC prefix of each of its 24 local
        # hours); plain time text -> (hour, 'MM:SS.ffffffZ'). None: moment() must read it.
        self.plain_days: dict[str, tuple | None] = {}
        self.plain_times: dict[str, tuple | None] = {"": (12, "00:00.000000Z")}  # a bare date is noon

    def columns(self, date_cells: list, time_cells: list | None) -> tuple[list, list]:
        """moment() for columns of cells: (UTC times, local days), None where a row needs moment().

        Only a plain local date and a plain time of day (or none) take this path: each distinct
        day and time is read once, and a row costs a few lookups done by map(), not a Python step.
        Without a time column, a date cell is split at its first space (or 'T').
        """
        count = len(date_cells)
        if self.format is not None:
            return [None] * count, [None] * count
        if time_cells is None:
            first = next((cell for cell in date_cells if cell), "")
            parts = list(map(str.partition, date_cells, repeat("T" if "T" in first and " " not in first else " ")))
            date_cells, time_cells = list(map(itemgetter(0), parts)), list(map(itemgetter(2), parts))
        days = _lookup(self.plain_days, date_cells, self._plain_day)
        times = _lookup(self.plain_times, time_cells, self._plain_time)
        slow = ()
        if None in days or None in times:
            slow = [i for i, (day, time) in enumerate(zip(days, times, strict=True)) if day is None or time is None]
            for i in slow:
                days[i], times[i] = _PLACEHOLDER
        prefixes = map(getitem, map(itemgetter(1), days), map(itemgetter(0), times))
        moments = list(map(add, prefixes, map(itemgetter(1), times)))
        isos = list(map(itemgetter(0), days))
        for i in slow:
            moments[i] = isos[i] = None
        return moments, isos

    def _plain_day(self, cell: str) -> tuple | None:
        """(iso day, 24 UTC hour prefixes) of a cell that is a date and nothing else, on a day whose
        hours all start on a whole UTC hour (not a DST change, not a zone a fraction off UTC)."""
        raw = cell.strip()
        try:
            day, rest = self._day(raw) if raw else (None, "x")
        except CellError:
            return None
        if rest.strip(" T,"):
            return None
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        offset = midnight.utcoffset()
        if offset != midnight.replace(hour=23, minute=59).utcoffset() or offset % timedelta(hours=1):
            return None
        try:
            start = (midnight - offset).replace(tzinfo=None)
            return day.isoformat(), [(start + timedelta(hours=hour)).isoformat()[:14] for hour in range(24)]
        except OverflowError:
            return None  # year 1 or 9999, some hours outside datetime's range: moment() words it

    def _plain_time(self, cell: str) -> tuple | None:
        raw = cell.strip()
        if not raw:
            return 12, "00:00.000000Z"
        try:
            hour, minute, second, micro, offset = _clock(raw)
        except CellError:
            return None
        return (hour, f"{minute:02d}:{second:02d}.{micro:06d}Z") if offset is None else None

    def moment(self, value: str, time_value: str | None = None) -> tuple[str, str]:
        """(UTC time as stored, shop-local day) for a cell (and an optional separate time cell)."""
        if self.format is None and time_value is None:
            # '14/06/2026 18:30': cache the day and the time of day apart, not every pair.
            sep = "T" if "T" in value else " "
            date_part, found, clock_part = value.strip().partition(sep)
            if found and _plain_date(date_part) and _TIME.fullmatch(clock_part.strip()):
                return self.moment(date_part, clock_part)
        day, iso_day, clock_text = self._cached_day(value)
        if time_value is not None and time_value.strip():
            if clock_text:
                raise CellError(f"date {value.strip()!r} has a time and the time column says {time_value.strip()!r}")
            clock_text = time_value.strip()
        if not clock_text:
            clock_text = "12:00"  # a bare date is noon, shop time, as for `visit --at`
        hour, minute, second, micro, offset = self._cached_time(clock_text)
        if offset is None:
            prefix = self.hours.get((day, hour))
            if prefix:  # the usual case, spelled out: '2026-03-15T17:' + '30:00.000000Z'
                return f"{prefix}{minute:02d}:{second:02d}.{micro:06d}Z", iso_day
        else:
            moment = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=timezone(offset))
            return _stored(moment), moment.astimezone(self.tz).date().isoformat()
        return self._utc(day, hour, minute, second, micro), iso_day

    def _cached_day(self, value: str) -> tuple:
        """(date, iso day, the rest of the cell: a time, or '') of a date cell; each text read once."""
        parsed = self.days.get(value)
        if parsed is None:
            try:
                day, rest = self._day(value.strip()) if value.strip() else _empty()
                parsed = (day, day.isoformat(), rest.strip(" T,"))
            except CellError as exc:
                parsed = exc
            self._remember(self.days, value, parsed)
        if isinstance(parsed, CellError):
            raise parsed
        return parsed

    def _cached_time(self, clock_text: str) -> tuple:
        """_clock(clock_text), each text read once."""
        parts = self.times.get(clock_text)
        if parts is None:
            try:
                parts = _clock(clock_text)
            except CellError as exc:
                parts = exc
            self._remember(self.times, clock_text, parts)
        if isinstance(parts, CellError):
            raise parts
        return parts

    def _utc(self, day: date, hour: int, minute: int, second: int, micro: int) -> str:
        prefix = self._hour_prefix(day, hour)
        if not prefix:  # an _Exact hour
            local = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=self.tz)
            if prefix.clocks_change and not _exists(local):
                # As `loyalty visit --at` refuses it: moving it by an hour would record another time.
                raise TimeError(f"{local:%Y-%m-%d %H:%M} does not exist in {getattr(self.tz, 'key', self.tz)} "
                                "(the clocks were put forward)")
            return _stored(local)
        return f"{prefix}{minute:02d}:{second:02d}.{micro:06d}Z"

    def _hour_prefix(self, day: date, hour: int) -> "str | _Exact":
        prefix = self.hours.get((day, hour))
        if prefix is None:
            start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=self.tz)
            end = start.replace(minute=59, second=59, microsecond=999_999)
            # The UTC text of any moment in this local hour is '<prefix>MM:SS.ffffffZ', unless the
            # zone changes its clock within the hour (some of its times may not exist) or is a
            # fraction of an hour off UTC.
            if start.utcoffset() != end.utcoffset() or not _exists(start) or not _exists(end):
                prefix = _CLOCKS_CHANGE
            else:
                utc = start.astimezone(UTC)
                whole_hour = utc.minute == 0 and utc.second == 0
                prefix = utc.strftime("%Y-%m-%dT%H:") if whole_hour else _FRACTION
            self._remember(self.hours, (day, hour), prefix)
        return prefix

    def _remember(self, cache: dict, key, value) -> None:
        if len(cache) > self.CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    def _day(self, raw: str) -> tuple[date, str]:
        """(date, the rest of the cell); none before clock.EARLIEST_YEAR, as at the counter."""
        day, rest = self._read_day(raw)
        if day.year < EARLIEST_YEAR:
            raise CellError(f"date {raw!r} is before {EARLIEST_YEAR} (a typo?)")
        return day, rest

    def _read_day(self, raw: str) -> tuple[date, str]:
        if self.format:
            head, _, rest = raw.partition(" ") if "%H" not in self.format else (raw, "", "")
            try:
                parsed = datetime.strptime(head, self.format)
            except ValueError:
                raise CellError(f"date {raw!r} does not match --date-format") from None
            if "%H" in self.format:
                return parsed.date(), parsed.strftime("%H:%M:%S")
            return parsed.date(), rest
        try:
            return read_day(raw)
        except DayError as exc:
            raise CellError(str(exc)) from None


class _Exact:
    """An hour whose moments are converted one by one: falsy, so never taken for a UTC prefix."""

    def __init__(self, clocks_change: bool):
        self.clocks_change = clocks_change  # then a time in it may not exist: each is checked

    def __bool__(self) -> bool:
        return False


_FRACTION = _Exact(False)  # a zone a fraction of an hour off UTC (Asia/Kolkata)
_CLOCKS_CHANGE = _Exact(True)  # a DST change within the hour


def _exists(local: datetime) -> bool:
    """Does this shop-local time happen? Not in the hour skipped when the clocks go forward
    (the same test as clock.parse_moment's: there and back through UTC gives it back)."""
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


_PLACEHOLDER = (("", [""] * 24), (0, ""))  # a slow row's stand-in while the columns are mapped


def _lookup(cache: dict, cells: list, compute, limit: int = 200_000) -> list:
    """[cache[cell] for cell in cells], computing the cells not cached yet (None: not plain)."""
    found = list(map(cache.get, cells))
    if None in found:
        missing = set(cells).difference(cache)
        if missing:
            if len(cache) + len(missing) > limit:
                cache.clear()
                missing = set(cells)
            for cell in missing:
                cache[cell] = compute(cell)
            found = list(map(cache.get, cells))
    return found


def _plain_date(text: str) -> bool:
    return is_plain_date(text)


def _empty():
    raise CellError("date is empty")


def _clock(text: str) -> tuple:
    found = _TIME.fullmatch(text)
    if not found:
        raise TimeError(f"not a time of day: {text!r} (write HH:MM or HH:MM:SS)")
    hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
    micro = int((found[4] or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        raise TimeError(f"not a time of day: {text!r}")
    offset = None
    if found[5]:
        offset = timedelta(0)
    elif found[6]:
        offset = (1 if found[6] == "+" else -1) * timedelta(hours=int(found[7]), minutes=int(found[8]))
    return hour, minute, second, micro, offset


def _stored(moment: datetime) -> str:
    """clock.to_db, without strftime's cost: fixed width, so text order is time order."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# ---- rewards ---------------------------------------------------------------------------------

_COUNT_ID = re.compile(r"(\d+)\s*[x×*]?\s+(.+)|(\d+)\s*[x×*]\s*(.+)")
_ID_COUNT = re.compile(r"(.+?)\s*(?:[x×*:]\s*|\s+)(\d+)")


class Rewards:
    """'2', 'free-cone', '2 free-cone', 'free-cone x2', '1 free-cone, 1 five-off' -> {reward id: count}."""

    def __init__(self, rewards: dict):
        self.ids = {}
        for reward in rewards.values():
            self.ids[reward.id.casefold()] = reward.id
            self.ids.setdefault(" ".join(reward.name.split()).casefold(), reward.id)

    def reward_id(self, text: str) -> str:
        found = self.ids.get(" ".join(text.split()).casefold())
        if found is None:
            known = ", ".join(sorted(set(self.ids.values())))
            raise CellError(f"no reward {text.strip()!r} in the config (rewards: {known})")
        return found

    def parse(self, value: str, default: str | None, what: str) -> dict[str, int]:
        owed: dict[str, int] = {}
        for part in re.split(r"[,;+]", value):
            part = part.strip()
            if not part:
                continue
            count, reward = self._one(part, default, what)
            if count:
                owed[reward] = owed.get(reward, 0) + count
        return owed

    def _one(self, part: str, default, what) -> tuple[int, str]:
        if part.isdigit():
            if default is None and int(part):
                raise CellError(f"{what}: {part!r} does not say which reward; add a reward column, write "
                                "e.g. '2 free-cone', or choose a punch card with --card")
            return int(part), default
        if part.startswith("-"):
            raise CellError(f"{what} must not be negative: {part!r}")
        if part.casefold() in self.ids or " ".join(part.split()).casefold() in self.ids:
            return 1, self.reward_id(part)
        found = _COUNT_ID.fullmatch(part)
        if found:
            count, name = (found[1], found[2]) if found[1] else (found[3], found[4])
            return int(count), self.reward_id(name)
        found = _ID_COUNT.fullmatch(part)
        if found:
            return int(found[2]), self.reward_id(found[1])
        return 1, self.reward_id(part)


def email(value: str) -> str:
    """An e-mail address by the counter's one rule (domain/text.email_problem)."""
    address = value.strip()
    problem = email_problem(address)
    if problem:
        what = problem if problem.startswith("not") else f"e-mail is {problem}"  # 'not an e-mail address'
        raise CellError(f"{what}: {address[:60]!r}")
    return address
