"""The customers report: every customer with their totals, tier, balances and open vouchers,
and their visits and spend in the period."""

from loyalty_cli.domain import rules
from loyalty_cli.domain.clock import local_day_of as local_day
from loyalty_cli.domain.i18n import mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting.context import NO_VISITS_THIS_YEAR, NOTHING_DUE, Context, query
from loyalty_cli.reporting.period import Period

NAME, TITLE = "customers", mark("Customers")

CUSTOMER_COLUMNS = [
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("email", mark("E-mail")),
    Column("enrolled", mark("Enrolled"), "date"),
    Column("tier", mark("Tier")),
    Column("visits", mark("Visits"), "int"),
    Column("spend", mark("Spend"), "money"),
    Column("last_visit", mark("Last visit"), "moment"),
    Column("visits_in_period", mark("Visits in period"), "int"),
    Column("spend_in_period", mark("Spend in period"), "money"),
    Column("punches", mark("Punches"), "int"),
    Column("points", mark("Points"), "int"),
    Column("credit", mark("Credit"), "money"),
    Column("open_vouchers", mark("Open vouchers"), "int"),
]
# On a narrow terminal: as many of these as fit, most useful first.
CUSTOMER_BRIEF = ("phone", "name", "spend", "visits", "tier", "points", "credit", "last_visit", "open_vouchers")

_CUSTOMERS_SQL = (
    "WITH period AS (SELECT customer_id, SUM(amount) AS spend, COUNT(*) AS visits FROM visits "
    "WHERE voided_at IS NULL AND local_day BETWEEN :since AND :until GROUP BY customer_id), "
    "open AS (SELECT customer_id, COUNT(*) AS n FROM vouchers WHERE status = 'issued' "
    "AND (expires_at IS NULL OR expires_at > :now) GROUP BY customer_id) "
    "SELECT c.id, c.phone, c.name, c.email, c.enrolled_at, c.visits, c.spend, c.last_visit_at, "
    "COALESCE(period.visits, 0), COALESCE(period.spend, 0), "
    "(SELECT COALESCE(SUM(CAST(value AS INTEGER)), 0) FROM json_each(c.punches)), c.points, c.credit, "
    "COALESCE(open.n, 0) "
    "FROM customers c LEFT JOIN period ON period.customer_id = c.id "
    "LEFT JOIN open ON open.customer_id = c.id ORDER BY c.spend DESC, c.id"
)


def build(ctx: Context, period: Period) -> Report:
    conn, config, tz = ctx.conn, ctx.config, ctx.config.tz
    since, until = period.local_days()
    args = {"now": ctx.now_db, "since": since, "until": until}

    def produce():
        due, year = ctx.points_due(), ctx.year_figures()
        for (cid, phone, name, email, enrolled, visits_n, spend, last, period_visits, period_spend, punches,
             points, credit, open_n) in query(conn, _CUSTOMERS_SQL, args):
            tier = rules.tier_for(config, *year.get(cid, NO_VISITS_THIS_YEAR))
            yield (phone, name, email, local_day(enrolled, tz), tier.name if tier else None, visits_n, spend, last,
                   period_visits, period_spend, punches, points - due.get(cid, NOTHING_DUE)[0], credit, open_n)

    table = Table("rows", mark("Customers"), CUSTOMER_COLUMNS, produce, brief=CUSTOMER_BRIEF)
    return ctx.report(NAME, TITLE, period, [table])
