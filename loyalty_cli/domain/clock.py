"""Time: the store keeps UTC ISO strings; people type and read the shop's local time."""

import os
from datetime import UTC, date, datetime, time, timedelta

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase

UTC = UTC
# A back-dated visit before this is a typo, not history. A typo guard, not a policy: real till
# histories (and the 1997 CDNOW data the statistics are checked on) are older than 2000.
EARLIEST_YEAR = 1990


def now() -> datetime:
    # LOYALTY_NOW pins the clock for tests and demos; never set it at a real counter.
    pinned = os.environ.get("LOYALTY_NOW")
    if pinned:
        try:
            return datetime.fromisoformat(pinned).astimezone(UTC)
        except ValueError:
            raise BadInput(Phrase("LOYALTY_NOW is not an ISO date-time: {value} (unset it)",
                                  value=repr(pinned))) from None
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    """UTC, fixed width, so text order is time order: '2026-11-23T05:10:09.000000Z'.
    isoformat, not strftime: 4 times faster, and a visit writes about ten of them."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)  # ten times faster than strptime, and exact for our text


def zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(Phrase("unknown time zone: {name} (use an IANA name such as Europe/Rome)",
                              name=repr(name))) from None


def system_zone_name() -> str:
    """The machine's IANA zone name (TZ, /etc/timezone, /etc/localtime), else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name.startswith("/"):  # TZ=:/etc/localtime names a file: its zone is where it points
        name = _zone_of_file(name)
    if name and "/" in name:
        return name
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            found = handle.read().strip()
            if found:
                return found
    except OSError:
        pass
    return _zone_of_file("/etc/localtime") or "UTC"


def _zone_of_file(path: str) -> str:
    """'Europe/Rome' for a path that is (or links to) .../zoneinfo/Europe/Rome, else ''."""
    target = os.path.realpath(path)
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


def parse_moment(text: str, tz, what: str = "--at") -> datetime:
    """ISO date or date-time, or a date as people write it (15/03/2026, 2026.03.15, then an
    optional HH:MM); without an offset it is the shop's local time.

    A bare date means noon that day, so a back-dated visit lands on that local day.
    """
    raw = text.strip()
    try:
        if len(raw) == 10 and raw[4] == "-":
            moment = datetime.combine(date.fromisoformat(raw), time(12, 0))
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
    except (ValueError, IndexError):
        moment = _typed_moment(raw, what)
    if moment.year < EARLIEST_YEAR:
        raise BadInput(Phrase("{what} is before {year}: {raw}", what=what, year=EARLIEST_YEAR, raw=repr(raw)))
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment:
            raise BadInput(Phrase("{what} {raw} does not exist in {zone} (the clocks were put forward)",
                what=what, raw=repr(raw), zone=tz.key))
        moment = local
    return moment.astimezone(UTC)


def _typed_moment(raw: str, what: str) -> datetime:
    """'15/03/2026', '15/03/2026 18:30', '2026.03.15 18:30' (dates.py reads the date)."""
    import re

    from loyalty_cli.domain.dates import DayError, read_day

    try:
        day, rest = read_day(raw)
        clock_text = rest.strip(" T,") or "12:00"
        found = re.fullmatch(r"(\d{1,2})[:.](\d{2})", clock_text)
        if not found:
            raise ValueError(clock_text)
        return datetime.combine(day, time(int(found[1]), int(found[2])))
    except (DayError, ValueError):
        raise BadInput(Phrase("{what} is not an ISO date or date-time: {raw} (e.g. 2026-11-20T18:30, or 20/11/2026 "
                          "18:30)", what=what, raw=repr(raw))) from None


def parse_day(text: str, what: str) -> date:
    from loyalty_cli.domain.dates import typed_day

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        found = typed_day(text)
        if found is None:
            raise BadInput(Phrase("{what} is not a date (YYYY-MM-DD): {raw}", what=what, raw=repr(text))) from None
        return found


def local_day(moment: datetime, tz) -> str:
    return moment.astimezone(tz).date().isoformat()


def local(db_text: str, tz) -> datetime:
    """A stored UTC time as an aware datetime in the shop's zone."""
    return from_db(db_text).astimezone(tz)


def local_minute(db_text: str | None, tz) -> str | None:
    """A stored UTC time as shop-local 'YYYY-MM-DD HH:MM' for people (None stays None)."""
    return local(db_text, tz).strftime("%Y-%m-%d %H:%M") if db_text else None


def local_iso(db_text: str | None, tz) -> str | None:
    """A stored UTC time as shop-local ISO 8601 with its offset, to the second, for machines:
    '2026-11-30T16:05:00+01:00' (None stays None)."""
    return local(db_text, tz).isoformat(timespec="seconds") if db_text else None


def minute_of(iso_text: str | None) -> str:
    """An ISO 8601 time carrying the shop's offset (local_iso) as people read it, 'YYYY-MM-DD HH:MM'
    on the shop's clock: its own wall-clock time, which is the shop's ('' for None)."""
    return datetime.fromisoformat(iso_text).strftime("%Y-%m-%d %H:%M") if iso_text else ""


def local_day_of(db_text: str | None, tz) -> str | None:
    """A stored UTC time's shop-local day, 'YYYY-MM-DD' (None stays None)."""
    return local_day(from_db(db_text), tz) if db_text else None


def days(n: int) -> timedelta:
    return timedelta(days=n)


def add_local_days(moment: datetime, n: int, tz) -> datetime:
    """The same shop-local wall-clock time n local days later (a day across a DST change is 23 or
    25 hours long). A time the clocks skip that day is read with the offset before the change, so
    it lands as much later as they were put forward (02:30 becomes 03:30); a time that happens
    twice is the first of the two."""
    local = moment.astimezone(tz)
    wall = datetime.combine(local.date() + timedelta(days=n), local.time(), tzinfo=tz)  # fold=0
    return wall.astimezone(UTC)


def end_of_local_day(day: date, tz) -> datetime:
    """The UTC instant at which the shop-local `day` ends: the next local midnight (or, where the
    clocks skip midnight, the first moment of the next day)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
