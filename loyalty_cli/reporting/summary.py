"""The summary report: a period's visits, customers, revenue, what was issued and redeemed,
the reward cost; and visits and revenue per day, week or month."""

import calendar
from datetime import timedelta

from loyalty_cli.domain import money
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.reporting import rewards
from loyalty_cli.reporting.categories import asked, category_breakdown, category_filter, chosen_category
from loyalty_cli.reporting.context import Context, query, visit_figures_per
from loyalty_cli.reporting.period import Period
from loyalty_cli.store import locations

NAME, TITLE = "summary", mark("Summary")

SUMMARY_COLUMNS = [
    Column("since", mark("From"), "date"),
    Column("until", mark("To"), "date"),
    Column("visits", mark("Visits"), "int"),
    Column("voided_visits", mark("Voided visits"), "int"),
    Column("visits_with_amount", mark("Visits with an amount"), "int"),
    Column("customers", mark("Customers"), "int"),
    Column("new_customers", mark("New customers"), "int"),
    Column("returning_customers", mark("Returning customers"), "int"),
    Column("returning_share", mark("Returning share"), "ratio"),
    Column("revenue", mark("Revenue from members"), "money"),
    Column("average_ticket", mark("Average ticket (per visit with an amount)"), "money"),
    Column("punches_issued", mark("Punches issued"), "int"),
    Column("punches_redeemed", mark("Punches turned into rewards"), "int"),
    Column("points_issued", mark("Points issued"), "int"),
    Column("points_redeemed", mark("Points redeemed"), "int"),
    Column("points_expired", mark("Points expired"), "int"),
    Column("credit_issued", mark("Credit issued"), "money"),
    Column("credit_redeemed", mark("Credit redeemed"), "money"),
    Column("vouchers_issued", mark("Vouchers issued"), "int"),
    Column("vouchers_redeemed", mark("Vouchers redeemed"), "int"),
    Column("vouchers_expired", mark("Vouchers expired"), "int"),
    Column("vouchers_voided", mark("Vouchers voided"), "int"),
    Column("reward_cost", mark("Reward cost"), "money"),
]

CATEGORY_COLUMNS = [
    Column("category", mark("Category (blank: none given)")),
    Column("visits", mark("Visits"), "int"),
    Column("customers", mark("Customers"), "int"),
    Column("revenue", mark("Revenue"), "money"),
]
# The figures a --category summary cannot tie to a category: points and credit are spent and
# expire whatever visit earned them (punches and vouchers are the visit's own).
UNCATEGORISED = ("points_redeemed", "points_expired", "credit_redeemed")

TIMELINE_COLUMNS = [
    Column("start", mark("From"), "date"),
    Column("end", mark("To"), "date"),
    Column("visits", mark("Visits"), "int"),
    Column("revenue", mark("Revenue"), "money"),
]


LOCATION_COLUMNS = [
    Column("location", mark("Location")),
    Column("visits", mark("Visits"), "int"),
    Column("customers", mark("Customers"), "int"),
    Column("revenue", mark("Revenue"), "money"),
]


def bucket_for(period: Period) -> str:
    """Days for up to two months, weeks up to two years, months beyond."""
    if period.days <= 62:
        return "day"
    if period.days <= 731:
        return "week"
    return "month"


# The timeline's titles, a whole phrase per bucket (a language agrees its words differently).
VISITS_PER = {"day": mark("Visits per day"), "week": mark("Visits per week"), "month": mark("Visits per month")}
REVENUE_PER = {"day": mark("Revenue per day"), "week": mark("Revenue per week"), "month": mark("Revenue per month")}


def build(ctx: Context, period: Period, category: str | None = None) -> Report:
    """The summary; with `category`, of the visits of that category only, and of what they earned."""
    conn, config = ctx.conn, ctx.config
    category = chosen_category(config, category)
    start, end = period.bounds(config.tz)
    vouchers, unknown = rewards.event_counts(conn, config, start, end, ctx.now_db, category)
    row = {"since": period.since.isoformat(), "until": period.until.isoformat(),
           **visit_figures(conn, period, category), "new_customers": new_customers(conn, start, end, category, period),
           **ledger_flows(conn, start, end, category), **vouchers}
    bucket = bucket_for(period)
    timeline = _timeline(conn, period, bucket, category)
    tables = [
        Table("rows", mark("Summary"), SUMMARY_COLUMNS, lambda: iter([tuple(row[c.key] for c in SUMMARY_COLUMNS)]),
              record=True),
        Table("timeline", VISITS_PER[bucket], TIMELINE_COLUMNS, lambda: iter(timeline),
              charts=[Chart("start", "visits", VISITS_PER[bucket]),
                      Chart("start", "revenue", REVENUE_PER[bucket])], chart_instead=True),
    ]
    breakdown = category_breakdown(conn, config, period, category)
    if breakdown is not None:
        tables.append(Table("categories", mark("Per category"), CATEGORY_COLUMNS, lambda: iter(breakdown),
                            empty=mark("no visits")))
    if ctx.location is None and len(locations.known(conn)) > 1:  # a chain: the figures of each shop
        found = visit_figures_per(conn, "location", period.local_days())
        per_location = [(name, *found[name]) for name in sorted(found, key=lambda name: (name is None, name or ""))]
        tables.append(Table("locations", mark("Per location"), LOCATION_COLUMNS, lambda: iter(per_location),
                            empty=mark("no visits in the period")))
    notes = []
    if unknown:
        notes.append(Phrase("reward cost leaves out rewards no longer in the config: {rewards}",
                            rewards=", ".join(unknown)))
    if category is not None:
        notes.append(Phrase("category {category}: points and credit redeemed or expired are not tied to a "
                            "category (left empty)", category=category))
    return ctx.report(NAME, TITLE, period, tables, notes, bucket=bucket, **asked(category))


def visit_figures(conn, period: Period, category: str | None = None) -> dict:
    """Visits, voided visits, customers, returning customers, revenue and the average ticket over
    the period's days.

    The average ticket is the revenue divided by the non-voided visits with an amount above zero:
    a visit recorded without --amount (a punch whose till amount was not typed) is stored as 0.00, and counting it would
    pull the average towards zero in a shop that types amounts only some of the time. The visits
    it is taken over are a column of their own, so the figure can be checked.
    """
    where, args = category_filter(category)
    days = (*period.local_days(), *args)
    visits, revenue, customers, visits_with_amount = query(conn,
        "SELECT COUNT(*), COALESCE(SUM(amount), 0), COUNT(DISTINCT customer_id), "
        "COUNT(CASE WHEN amount > 0 THEN 1 END) "
        f"FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?{where}", days).fetchone()
    voided = query(conn, "SELECT COUNT(*) FROM visits WHERE voided_at IS NOT NULL AND local_day BETWEEN ? AND ?"
                   + where, days).fetchone()[0]
    returning = query(conn,  # returning to the shop: any earlier visit counts, whatever its category
        "SELECT COUNT(*) FROM (SELECT DISTINCT customer_id FROM visits "
        f"WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?{where}) d "
        "WHERE EXISTS (SELECT 1 FROM visits p WHERE p.customer_id = d.customer_id AND p.voided_at IS NULL "
        "AND p.local_day < ?)", (*days, days[0])).fetchone()[0]
    return {
        "visits": visits, "voided_visits": voided, "visits_with_amount": visits_with_amount, "customers": customers,
        "returning_customers": returning, "returning_share": round(returning / customers, 4) if customers else None,
        "revenue": revenue,
        "average_ticket": money.divide_half_up(revenue, visits_with_amount) if visits_with_amount else None,
    }


def new_customers(conn, start: str, end: str, category: str | None = None, period: Period | None = None) -> int:
    """Customers enrolled in the period; with `category`, those of them with a visit of it in the period."""
    if category is None:
        return query(conn, "SELECT COUNT(*) FROM customers WHERE enrolled_at >= ? AND enrolled_at < ?",
                     (start, end)).fetchone()[0]
    return query(conn, "SELECT COUNT(*) FROM customers c WHERE enrolled_at >= ? AND enrolled_at < ? AND EXISTS "
                       "(SELECT 1 FROM visits v WHERE v.customer_id = c.id AND v.voided_at IS NULL "
                       "AND v.local_day BETWEEN ? AND ? AND v.category = ?)",
                 (start, end, *period.local_days(), category)).fetchone()[0]


def ledger_flows(conn, start: str, end: str, category: str | None = None) -> dict:
    """Punches, points and credit issued, redeemed and expired between two UTC instants.

    Earnings are nearly every ledger line, so they are not read one kind at a time: the plain
    sum of the period (an index range) minus the few lines that are not earnings, read through
    a small partial index. A void counts against the kind of the line it reverses. With
    `category`, only the lines of visits of that category (what they earned, and the voids of it).
    """
    where, line_where, args = "", "", ()
    if category is not None:
        of_category = "visit_id IN (SELECT id FROM visits WHERE category = ?)"
        where, line_where, args = f" AND {of_category}", f" AND l.{of_category}", (category,)
    total = query(conn, "SELECT COALESCE(SUM(points), 0), COALESCE(SUM(punches), 0), COALESCE(SUM(credit), 0) "
                        f"FROM ledger WHERE at >= ? AND at < ?{where}", (start, end, *args)).fetchone()
    special = {kind: (0, 0, 0) for kind in ("redeem", "expire", "reward")}
    for kind, points, punches, credit in query(conn,
            "SELECT CASE WHEN l.kind = 'void' THEN (SELECT o.kind FROM ledger o WHERE o.id = l.reverses) "
            "ELSE l.kind END AS bucket, SUM(l.points), SUM(l.punches), SUM(l.credit) FROM ledger l "
            f"WHERE l.kind IN ('redeem', 'expire', 'reward', 'void') AND l.at >= ? AND l.at < ?{line_where} "
            "GROUP BY bucket", (start, end, *args)):
        if kind in special:
            special[kind] = (points, punches, credit)
    earned = [total[i] - sum(special[k][i] for k in special) for i in range(3)]
    flows = {
        "punches_issued": earned[1], "punches_redeemed": -special["reward"][1],
        "points_issued": earned[0], "points_redeemed": -special["redeem"][0], "points_expired": -special["expire"][0],
        "credit_issued": earned[2], "credit_redeemed": -special["redeem"][2],
    }
    if category is not None:
        flows.update(dict.fromkeys(UNCATEGORISED))
    return flows


def _timeline(conn, period: Period, bucket: str, category: str | None = None) -> list[tuple]:
    """(start, end, visits, revenue) per bucket, empty buckets included (at most ~370 rows)."""
    where, args = category_filter(category)
    per_day = {day: (visits, revenue) for day, visits, revenue in query(conn,
        "SELECT local_day, COUNT(*), SUM(amount) FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?"
        f"{where} GROUP BY local_day", (*period.local_days(), *args))}
    out, day = [], period.since
    while day <= period.until:
        last = min(_bucket_end(day, bucket), period.until)
        visits = revenue = 0
        current = day
        while current <= last:
            got = per_day.get(current.isoformat())
            if got:
                visits, revenue = visits + got[0], revenue + got[1]
            current += timedelta(days=1)
        out.append((day.isoformat(), last.isoformat(), visits, revenue))
        day = last + timedelta(days=1)
    return out


def _bucket_end(day, bucket: str):
    """The last day of the bucket that starts on `day`."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day + timedelta(days=6 - day.weekday())  # weeks end on Sunday
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
