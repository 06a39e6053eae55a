"""The CLV report: what each customer is worth, and who is still a customer.

BG/NBD and Gamma-Gamma (clv_model) fitted on the shop's own visits. A visit day is a purchase
occasion (several visits on one local day count once, their amounts summed), and time is in
weeks of calendar days between local dates: a customer's age runs from their first visit day
to the --until day, their recency from the first to the last visit day up to it.

The models need scipy, the optional 'stats' extra: clv_model is imported only when this report
(or at-risk's p_alive) is built, and its absence is one line saying how to install it.
"""

import math
import os
from dataclasses import dataclass, field
from datetime import date

from loyalty_cli.domain import money
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.period import Period

NAME, TITLE = "clv", mark("Customer lifetime value")

DEFAULT_HORIZON_DAYS = 365
MAX_HORIZON_DAYS = 3650
DAYS_PER_WEEK = 7
INSTALL = "pip install 'loyalty-cli[stats]'"
MISSING_EXTRA = f"report clv needs scipy, the optional 'stats' extra: install it with {INSTALL}"

P_ALIVE_COLUMN = Column("p_alive", mark("P(alive)"), "ratio")
CLV_COLUMNS = [
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("frequency", mark("Repeat days"), "int"),
    Column("recency_weeks", mark("Recency (weeks)"), "number"),
    Column("age_weeks", mark("Age (weeks)"), "number"),
    P_ALIVE_COLUMN,
    Column("expected_visits", mark("Expected visits"), "number"),
    Column("average_spend", mark("Average spend"), "money"),
    Column("expected_value", mark("Expected value"), "money"),
]
CLV_BRIEF = ("phone", "name", "expected_value", "p_alive", "expected_visits", "average_spend", "frequency",
             "recency_weeks", "age_weeks")
MODEL_COLUMNS = [
    Column("time_unit", mark("Time unit")),
    Column("r", mark("BG/NBD r"), "number"),
    Column("alpha", mark("BG/NBD alpha"), "number"),
    Column("a", mark("BG/NBD a"), "number"),
    Column("b", mark("BG/NBD b"), "number"),
    Column("p", mark("Gamma-Gamma p"), "number"),
    Column("q", mark("Gamma-Gamma q"), "number"),
    Column("gamma", mark("Gamma-Gamma gamma"), "number"),
    Column("customers", mark("Customers fitted"), "int"),
    Column("log_likelihood", mark("BG/NBD log-likelihood"), "number"),
]

# One row per customer whose first visit day is on or before :until: the number of their visit
# days up to it (voided visits left out), the days from the first of them to the last and to
# :until, and the spend of all but the first. One pass over visits_by_customer_cover in its own
# order (customer by customer, so the distinct days are counted a customer at a time), then an
# index seek per customer for their first day's spend: 0.9 s on a million visits, where grouping
# the visits by day first and the days by customer took 2.2 s.
_CUSTOMER_DAYS_SQL = """
WITH seen AS MATERIALIZED (
  SELECT customer_id, COUNT(DISTINCT local_day) AS days, MIN(local_day) AS first_day, MAX(local_day) AS last_day,
         SUM(amount) AS spend
  FROM visits WHERE voided_at IS NULL AND local_day <= :until GROUP BY customer_id)
SELECT c.phone, c.name, seen.days - 1,
       CAST(julianday(seen.last_day) - julianday(seen.first_day) AS INTEGER),
       CAST(julianday(:until) - julianday(seen.first_day) AS INTEGER),
       seen.spend - (SELECT SUM(v.amount) FROM visits v WHERE v.local_day = seen.first_day
                     AND v.customer_id = seen.customer_id AND v.voided_at IS NULL)
FROM seen JOIN customers c ON c.id = seen.customer_id
"""


def models():
    """The clv_model module, or BadInput (exit 2) saying how to install the extra it needs."""
    # The fits are elementwise arithmetic on a shop's customers; OpenBLAS's thread pool, started
    # with numpy, only spins beside them: half the CPU of a fit on a two-core machine, and the
    # export runs at-risk (with its p_alive) beside other reports. A setting of the user's wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from loyalty_cli.reporting import clv_model
    except ImportError:
        raise BadInput(MISSING_EXTRA) from None
    return clv_model


@dataclass
class CustomerBase:
    """The customers seen by a day, as columns (times in weeks, spend in minor units), and the
    models fitted on them: None where the data cannot identify a model, the reason in `notes`."""

    phones: list
    names: list
    frequency: object  # numpy arrays from here on
    recency: object
    age: object
    repeat_spend: object
    scale: int  # minor units per unit of the shop's currency
    visits: object = None  # clv_model.BgNbd
    spend: object = None  # clv_model.GammaGamma, in currency units
    notes: list = field(default_factory=list)


def customer_base(ctx: Context, until: date, spend: bool = True) -> CustomerBase:
    """Every customer seen by `until`, with the BG/NBD model fitted on them, and the Gamma-Gamma
    model of their spend unless `spend` is False (at-risk's P(alive) needs visits only)."""
    model = models()  # first: numpy comes with the same extra
    import numpy as np

    rows = query(ctx.conn, _CUSTOMER_DAYS_SQL, {"until": until.isoformat()}).fetchall()
    phones, names, frequency, recency, age, repeat_spend = zip(*rows, strict=True) if rows else ([],) * 6
    base = CustomerBase(list(phones), list(names), np.array(frequency, dtype=float),
                        np.array(recency, dtype=float) / DAYS_PER_WEEK, np.array(age, dtype=float) / DAYS_PER_WEEK,
                        np.array(repeat_spend, dtype=float), 10 ** money.exponent(ctx.config.shop.currency))
    try:
        base.visits = model.fit_bgnbd(base.frequency, base.recency, base.age)
    except model.FitError as exc:
        base.notes.append(f"visits not modelled: {exc}")
    if spend:
        base.spend = _fit_spend(model, base)
    return base


def _fit_spend(model, base: CustomerBase):
    """Gamma-Gamma on the customers with a repeat day whose mean spend over them is positive
    (the model takes its logarithm), in currency units so that gamma reads as an amount."""
    fitted = (base.frequency > 0) & (base.repeat_spend > 0)
    try:
        repeat_days = base.frequency[fitted]
        spend = model.fit_gamma_gamma(repeat_days, base.repeat_spend[fitted] / repeat_days / base.scale)
    except model.FitError as exc:
        base.notes.append(f"spend not modelled: {exc}")
        return None
    if spend.q <= 1:
        base.notes.append("spend not modelled: the fitted spread of spend has no finite mean (q <= 1)")
        return None
    return spend


def build(ctx: Context, period: Period, horizon_days: int = DEFAULT_HORIZON_DAYS) -> Report:
    """Every customer seen by the period's last day, most valuable first (the models read each
    customer's whole history up to that day, so the period's first day plays no part)."""
    until = period.until
    if until > ctx.today:
        raise BadInput(Phrase("--until {until} is after today: the days to come would count as days without visits",
                              until=until))
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise BadInput(Phrase("--horizon must be 1 to {MAX_HORIZON_DAYS} days, got {horizon_days}",
                              MAX_HORIZON_DAYS=MAX_HORIZON_DAYS, horizon_days=horizon_days))
    base = customer_base(ctx, until)
    rows = _value_rows(base, horizon_days / DAYS_PER_WEEK)
    notes = [Phrase("visits up to {until}; expected visits and value over the {days} days after it", until=until,
                    days=horizon_days), *base.notes]
    tables = [Table("rows", mark("What each customer is worth"), CLV_COLUMNS, lambda: iter(rows), brief=CLV_BRIEF),
              Table("model", mark("The fitted models"), MODEL_COLUMNS, lambda: iter([_model_row(base)]), record=True)]
    return ctx.report(NAME, TITLE, None, tables, notes, until=until.isoformat(), horizon_days=horizon_days)


def _value_rows(base: CustomerBase, horizon_weeks: float) -> list[tuple]:
    """One row per customer, the highest expected value first (then the likeliest to be alive).
    Columns are rounded as arrays and turned into lists once: 20,000 customers, 100,000 cells."""
    import numpy as np

    unknown = np.full(len(base.phones), np.nan)
    p_alive = expected = value = unknown
    if base.visits is not None:
        p_alive = base.visits.p_alive(base.frequency, base.recency, base.age)
        expected = base.visits.expected_visits(horizon_weeks, base.frequency, base.recency, base.age)
    repeat = base.frequency > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(repeat, base.repeat_spend / base.frequency, np.nan)  # minor units
    if base.visits is not None and base.spend is not None:
        # An estimate, not an amount anyone owes: a float until it is rounded to minor units here.
        value = expected * base.spend.expected_spend(base.frequency, np.nan_to_num(mean) / base.scale) * base.scale
    order = np.lexsort((-np.nan_to_num(p_alive, nan=-1), -np.nan_to_num(value, nan=-1)))
    columns = [np.round(base.recency, 2), np.round(base.age, 2), np.round(p_alive, 4), np.round(expected, 3),
               np.floor(mean + 0.5), np.floor(value + 0.5)]  # money in minor units, half up
    recency, age, alive, visits, spend, worth = (_list(column[order]) for column in columns)
    phones, names = [base.phones[i] for i in order.tolist()], [base.names[i] for i in order.tolist()]
    frequency = base.frequency[order].astype(int).tolist()
    return list(zip(phones, names, frequency, recency, age, alive, visits, _ints(spend), _ints(worth), strict=True))


def _list(column) -> list:
    """A numpy column of floats as Python floats, None for nan."""
    return [None if math.isnan(number) else number for number in column.tolist()]


def _ints(numbers: list) -> list:
    return [None if number is None else int(number) for number in numbers]


def _model_row(base: CustomerBase) -> tuple:
    visits, spend = base.visits, base.spend
    r, alpha, a, b = (visits.r, visits.alpha, visits.a, visits.b) if visits else (None,) * 4
    p, q, gamma = (spend.p, spend.q, spend.gamma) if spend else (None,) * 3
    return ("week", *(_significant(v) for v in (r, alpha, a, b, p, q, gamma)), len(base.phones),
            round(visits.log_likelihood, 3) if visits else None)


def p_alive_by_phone(ctx: Context) -> tuple[dict[str, float] | None, str | None]:
    """(phone -> BG/NBD P(alive) as of today, a note saying what it is); (None, why not) when
    the data cannot identify the model; (None, None) without the 'stats' extra."""
    try:
        base = customer_base(ctx, ctx.today, spend=False)
    except BadInput:  # the extra is missing: at-risk is what it was before it
        return None, None
    if base.visits is None:
        return None, f"no p_alive: {'; '.join(base.notes)}"
    alive = base.visits.p_alive(base.frequency, base.recency, base.age)
    note = ("p_alive: the BG/NBD probability that the customer still is one (Fader, Hardie & Lee 2005), "
            "fitted on every customer's visit days up to today, as `loyalty report clv` does")
    return dict(zip(base.phones, _list(alive.round(4)), strict=True)), note


def with_p_alive(ctx: Context, report: Report) -> Report:
    """A report's rows with each customer's P(alive) added (found by their phone), and a note
    on it: at-risk's, when the 'stats' extra is installed (not in an export, which must stay quick)."""
    if not ctx.fit_models:
        report.notes.append("p_alive is left out of the export (the fit takes seconds): "
                            "`loyalty report at-risk` and `loyalty report clv` show it")
        return report
    alive, note = p_alive_by_phone(ctx)
    if note:
        report.notes.append(note)
    if alive is None:
        return report
    table = report.main
    at = [c.key for c in table.columns].index("phone")
    rows = table.produce
    table.columns = [*table.columns, P_ALIVE_COLUMN]
    table.brief = (*table.brief, P_ALIVE_COLUMN.key)
    table.produce = lambda: ((*row, alive.get(row[at])) for row in rows())
    return report


def _significant(value, digits: int = 6):
    return None if value is None else float(f"{value:.{digits}g}")
