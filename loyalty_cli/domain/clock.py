"""Time: the store keeps UTC ISO strings; people type and read the shop's local time."""

import os
from datetime import UTC, date, datetime, time, timedelta

from loyalty_cli.domain.errors import BadInput

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
            raise BadInput(f"LOYALTY_NOW is not an ISO date-time: {pinned!r} (unset it)") from None
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    """UTC, fixed width, so text order is time order: '2026-11-23T05:10:09.000000Z'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)  # ten times faster than strptime, and exact for our text


def zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone: {name!r} (use an IANA name such as Europe/Rome)") from None


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
    """ISO date or date-time; without an offset it is the shop's local time.

    A bare date means noon that day, so a back-dated visit lands on that local day.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(12, 0))
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        raise BadInput(f"{what} is not an ISO date or date-time: {raw!r} (e.g. 2026-11-20T18:30)") from None
    if moment.year < EARLIEST_YEAR:
        raise BadInput(f"{what} is before {EARLIEST_YEAR}: {raw!r}")
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment:
            raise BadInput(f"{what} {raw!r} does not exist in {tz.key} (the clocks were put forward)")
        moment = local
    return moment.astimezone(UTC)


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{what} is not a date (YYYY-MM-DD): {text!r}") from None


def local_day(moment: datetime, tz) -> str:
    return moment.astimezone(tz).date().isoformat()


def local_minute(db_text: str | None, tz) -> str | None:
    """A stored UTC time as shop-local 'YYYY-MM-DD HH:MM' for people (None stays None)."""
    return from_db(db_text).astimezone(tz).strftime("%Y-%m-%d %H:%M") if db_text else None


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
