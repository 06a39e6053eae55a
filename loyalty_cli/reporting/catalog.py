"""The reports by name: which take a period, which are a snapshot of now, which an export
writes, and building one.

Kept out of the package's __init__ so that importing one module of the package (the period, the
context) does not import every report.
"""

from datetime import date

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.output.model import Report
from loyalty_cli.reporting import (
    at_risk,
    campaigns,
    clv,
    cohorts,
    customers,
    feedback,
    liability,
    rewards,
    summary,
    visits,
)
from loyalty_cli.reporting.context import Context
from loyalty_cli.reporting.period import Period, resolve_period

_PERIODIC = (summary, customers, visits, rewards, feedback)
_SNAPSHOT = (liability, at_risk, campaigns)
# Asked for, never exported: they describe the customer base as a whole, not a day or a month
# of trade, so an export's period (yesterday, last month) would make them a single cell of
# cohorts or a model fitted on a cut-off no one chose; clv also needs the optional 'stats' extra.
_ON_DEMAND = (clv, cohorts)

TITLES = {module.NAME: module.TITLE for module in (*_PERIODIC, *_SNAPSHOT, *_ON_DEMAND)}
PERIODIC = {module.NAME: module.build for module in (*_PERIODIC, *_ON_DEMAND)}  # build(ctx, period, **options)
SNAPSHOT = {module.NAME: module.build for module in _SNAPSHOT}  # build(ctx): as of ctx.now
NAMES = tuple(module.NAME for module in (*_PERIODIC, *_SNAPSHOT))  # what an export writes
ON_DEMAND = tuple(module.NAME for module in _ON_DEMAND)
# A report whose period does not read as every other's (cohorts: twelve months by default).
_RESOLVE = {module.NAME: module.resolve for module in _ON_DEMAND if hasattr(module, "resolve")}


def period_for(name: str, since: str | None, until: str | None, today: date) -> Period | None:
    """The period report `name` covers from --since/--until; None for a snapshot of now."""
    if name in _RESOLVE:
        return _RESOLVE[name](since, until, today)
    return resolve_period(since, until, today) if name in PERIODIC else None


def build(name: str, ctx: Context, period: Period | None, **options) -> Report:
    if name in PERIODIC:
        return PERIODIC[name](ctx, period, **options)
    if name in SNAPSHOT:
        return SNAPSHOT[name](ctx)
    raise BadInput(Phrase("unknown report {name} (reports: {value})", name=repr(name),
                          value=', '.join((*NAMES, *ON_DEMAND))))
