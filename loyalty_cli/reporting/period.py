"""Report periods: the local days, in the shop's time zone, a report covers.

Visits are bucketed by the `local_day` they were recorded with (a visit at 23:30 in Rome
belongs to that day in Rome); ledger lines and vouchers, which carry only UTC times, are
filtered by the UTC instants of the local midnights that bound the period (`Period.bounds`).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from loyalty_cli.domain import clock
from loyalty_cli.domain.dates import typed_day
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase

PERIOD_WORDS = ("today", "yesterday", "last-7-days", "last-month", "this-month")
EXPIRY_HORIZON_DAYS = 30  # "expiring within 30 days (by DATE)": up to the end of DATE, today + 30
DATE_HELP = "YYYY-MM-DD, DD/MM/YYYY, YYYY.MM.DD, " + ", ".join(PERIOD_WORDS)


def named_range(text: str, today: date, what: str) -> tuple[date, date]:
    """The first and last local day a date or a period word stands for."""
    word = text.strip().lower()
    if word == "today":
        return today, today
    if word == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if word == "last-7-days":
        return today - timedelta(days=6), today
    if word == "this-month":
        return today.replace(day=1), today
    if word == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    try:
        day = date.fromisoformat(word)
    except ValueError:
        day = typed_day(word)  # 15/03/2026 (es, it), 2026.03.15 (hu)
        if day is None:
            raise BadInput(Phrase("{what} is not a date: {raw} (use {forms})",
                what=what, raw=repr(text), forms=DATE_HELP)) from None
    return day, day


def expiry_horizon_day(today: date) -> date:
    """The last local date that "expiring within EXPIRY_HORIZON_DAYS days" covers."""
    return today + timedelta(days=EXPIRY_HORIZON_DAYS)


def expiry_horizon(today: date, tz) -> datetime:
    """The moment "expiring within 30 days (by DATE)" runs to: the end of that shop-local DATE, so
    a voucher or a lot falling due at 23:00 on it is counted (not now + 30 x 24 hours). It is the
    last microsecond (what the store keeps) of DATE: what falls due at or before it expires by
    DATE, and what falls due at the next midnight does not."""
    return clock.end_of_local_day(expiry_horizon_day(today), tz) - timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def local_days(self) -> tuple[str, str]:
        """The first and last day as stored in visits.local_day."""
        return self.since.isoformat(), self.until.isoformat()

    def bounds(self, tz) -> tuple[str, str]:
        """The UTC instants (stored text form) of local midnight before `since` and after `until`."""
        start = datetime.combine(self.since, time(0), tzinfo=tz)
        end = datetime.combine(self.until + timedelta(days=1), time(0), tzinfo=tz)
        return clock.to_db(start), clock.to_db(end)

    def stamp(self) -> str:
        """For file names: '2026-11-22', '2026-10' for a whole month, else 'since_until'."""
        if self.since == self.until:
            return self.since.isoformat()
        last = calendar.monthrange(self.since.year, self.since.month)[1]
        if self.since.day == 1 and self.until == self.since.replace(day=last):
            return self.since.strftime("%Y-%m")
        return f"{self.since.isoformat()}_{self.until.isoformat()}"


def resolve_period(since: str | None, until: str | None, today: date, default: str = "this-month") -> Period:
    """--since takes the first day of what it names, --until the last; --until defaults to today.

    Neither given: the default period ('this-month'); only --until: from the first of its month.
    """
    if since is None and until is None:
        start, end = named_range(default, today, "period")
    else:
        end = named_range(until, today, "--until")[1] if until is not None else today
        start = named_range(since, today, "--since")[0] if since is not None else end.replace(day=1)
    if start > end:
        raise BadInput(Phrase("--since {start} is after --until {end}", start=start, end=end))
    return Period(start, end)


def exact_period(text: str, today: date, what: str = "--date") -> Period:
    """Exactly the day or period a word names: `--date yesterday`, `--date last-month`."""
    return Period(*named_range(text, today, what))
