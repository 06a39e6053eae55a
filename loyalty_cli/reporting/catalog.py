"""The reports by name: which take a period, which are a snapshot of now, and building one.

Kept out of the package's __init__ so that importing one module of the package (the period, the
context) does not import every report.
"""

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.output.model import Report
from loyalty_cli.reporting import at_risk, customers, feedback, liability, rewards, summary, visits
from loyalty_cli.reporting.context import Context
from loyalty_cli.reporting.period import Period

_PERIODIC = (summary, customers, visits, rewards, feedback)
_SNAPSHOT = (liability, at_risk)

TITLES = {module.NAME: module.TITLE for module in (*_PERIODIC, *_SNAPSHOT)}
PERIODIC = {module.NAME: module.build for module in _PERIODIC}  # build(ctx, period)
SNAPSHOT = {module.NAME: module.build for module in _SNAPSHOT}  # build(ctx): as of ctx.now
NAMES = tuple(TITLES)


def build(name: str, ctx: Context, period: Period | None) -> Report:
    if name in PERIODIC:
        return PERIODIC[name](ctx, period)
    if name in SNAPSHOT:
        return SNAPSHOT[name](ctx)
    raise BadInput(f"unknown report {name!r} (reports: {', '.join(NAMES)})")
