"""The cohorts report: do customers come back?

Customers grouped by the month of their first visit (their cohort); for each cohort and each
month after it (offset 0, 1, 2, ...), the share of the cohort that visited in that month.
Offset 0 is 100% by definition. Months after the --until month are not known yet: their cells
are null, never 0 (so are months still to come, whatever --until says). --since and --until
choose the cohorts, a whole month each: the months from --since's to --until's; a customer
belongs to the cohort of the month of their first visit (on or before --until), whichever day
of it that was.
"""

from collections import Counter
from datetime import date

from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.period import Period, resolve_period

NAME, TITLE = "cohorts", mark("Cohorts: do customers come back?")

DEFAULT_MONTHS = 12  # without --since: the cohorts of the twelve months up to --until's

# Per cohort: its size and, run together, the distinct months each member visited in up to
# :until. A member's first visit day is their earliest non-voided visit, and their months are
# read off visits_by_customer_cover: a seek and a short range per customer, never a sort of the
# visits (counting distinct (customer, month) pairs over the visits at large took 4-6 s on a
# million visits, this 1.4 s). Python counts the months of each cohort.
_COHORT_MONTHS_SQL = """
WITH firsts AS MATERIALIZED (
  SELECT c.id, (SELECT v.local_day FROM visits v WHERE v.customer_id = c.id AND v.voided_at IS NULL
                ORDER BY v.at LIMIT 1) AS first_day
  FROM customers c),
members AS (
  SELECT substr(f.first_day, 1, 7) AS cohort,
         (SELECT group_concat(DISTINCT substr(v.local_day, 1, 7)) FROM visits v
          WHERE v.customer_id = f.id AND v.voided_at IS NULL AND v.local_day <= :until) AS months
  FROM firsts f WHERE f.first_day BETWEEN :first AND :until)
SELECT cohort, COUNT(*), group_concat(months) FROM members GROUP BY cohort
"""


def resolve(since: str | None, until: str | None, today: date) -> Period:
    """As every report's period, except that without --since it covers the DEFAULT_MONTHS months
    up to --until's (a single month of cohorts is a single cell)."""
    period = resolve_period(since, until, today)
    if since is None:
        first = _month_index(period.until) - (DEFAULT_MONTHS - 1)
        period = Period(date(first // 12, first % 12 + 1, 1), period.until)
    return period


def build(ctx: Context, period: Period) -> Report:
    first, last = _month_index(period.since), _month_index(period.until)
    cohorts: dict[int, tuple[int, dict[int, int]]] = {}  # month -> (members, {offset: members who visited})
    for cohort, size, months in query(ctx.conn, _COHORT_MONTHS_SQL, {
            "first": period.since.replace(day=1).isoformat(), "until": period.until.isoformat()}):
        start = _month_index(cohort)
        cohorts[start] = size, {_month_index(month) - start: n for month, n in Counter(months.split(",")).items()}
    reached = min(last, _month_index(ctx.today))  # an --until to come does not make the months to come 0
    rows = [_row(month, *cohorts.get(month, (0, {})), last - first + 1, reached - month)
            for month in range(first, last + 1)]
    columns = [Column("cohort", mark("Cohort")), Column("customers", mark("Customers"), "int"),
               *(Column(f"retention_{offset}", f"M{offset}", "ratio") for offset in range(last - first + 1))]
    table = Table("rows", mark("Share of each cohort visiting, by months since its first"), columns, lambda: iter(rows),
                  heatmap=True)
    notes = [Phrase("cohorts from {first} to {last}, visits counted up to {until}; M0 is the month of the first "
                    "visit; a month not yet reached is empty", first=_month_text(first), last=_month_text(last),
                    until=period.until)]
    return ctx.report(NAME, TITLE, period, [table], notes)


def _row(month: int, size: int, visited: dict[int, int], width: int, known: int) -> tuple:
    """cohort, customers, then the shares for offsets 0..width-1: None past `known` (the months
    not reached by --until) and for a cohort with no customers."""
    shares = [round(visited.get(offset, 0) / size, 4) if size and offset <= known else None for offset in range(width)]
    return (_month_text(month), size, *shares)


def _month_index(day: date | str) -> int:
    """Months since year 0: a date's, or a 'YYYY-MM' month's."""
    if isinstance(day, str):
        return int(day[:4]) * 12 + int(day[5:7]) - 1
    return day.year * 12 + day.month - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
