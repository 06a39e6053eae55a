"""The summary report: a period's visits, customers, revenue, what was issued and redeemed,
the reward cost; and visits and revenue per day, week or month."""

import calendar
from datetime import timedelta

from loyalty_cli.domain import money
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.reporting import rewards
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.period import Period

NAME, TITLE = "summary", "Summary"

SUMMARY_COLUMNS = [
    Column("since", "From", "date"),
    Column("until", "To", "date"),
    Column("visits", "Visits", "int"),
    Column("voided_visits", "Voided visits", "int"),
    Column("visits_with_amount", "Visits with an amount", "int"),
    Column("customers", "Customers", "int"),
    Column("new_customers", "New customers", "int"),
    Column("returning_customers", "Returning customers", "int"),
    Column("returning_share", "Returning share", "ratio"),
    Column("revenue", "Revenue from members", "money"),
    Column("average_ticket", "Average ticket (per visit with an amount)", "money"),
    Column("punches_issued", "Punches issued", "int"),
    Column("punches_redeemed", "Punches turned into rewards", "int"),
    Column("points_issued", "Points issued", "int"),
    Column("points_redeemed", "Points redeemed", "int"),
    Column("points_expired", "Points expired", "int"),
    Column("credit_issued", "Credit issued", "money"),
    Column("credit_redeemed", "Credit redeemed", "money"),
    Column("vouchers_issued", "Vouchers issued", "int"),
    Column("vouchers_redeemed", "Vouchers redeemed", "int"),
    Column("vouchers_expired", "Vouchers expired", "int"),
    Column("vouchers_voided", "Vouchers voided", "int"),
    Column("reward_cost", "Reward cost", "money"),
]

TIMELINE_COLUMNS = [
    Column("start", "From", "date"),
    Column("end", "To", "date"),
    Column("visits", "Visits", "int"),
    Column("revenue", "Revenue", "money"),
]


def bucket_for(period: Period) -> str:
    """Days for up to two months, weeks up to two years, months beyond."""
    if period.days <= 62:
        return "day"
    if period.days <= 731:
        return "week"
    return "month"


def build(ctx: Context, period: Period) -> Report:
    conn, config = ctx.conn, ctx.config
    start, end = period.bounds(config.tz)
    vouchers, unknown = rewards.event_counts(conn, config, start, end, ctx.now_db)
    row = {"since": period.since.isoformat(), "until": period.until.isoformat(),
           **visit_figures(conn, period), "new_customers": new_customers(conn, start, end),
           **ledger_flows(conn, start, end), **vouchers}
    bucket = bucket_for(period)
    timeline = _timeline(conn, period, bucket)
    tables = [
        Table("rows", "Summary", SUMMARY_COLUMNS, lambda: iter([tuple(row[c.key] for c in SUMMARY_COLUMNS)]),
              record=True),
        Table("timeline", f"Visits per {bucket}", TIMELINE_COLUMNS, lambda: iter(timeline),
              charts=[Chart("start", "visits", f"Visits per {bucket}"),
                      Chart("start", "revenue", f"Revenue per {bucket}")], chart_instead=True),
    ]
    notes = []
    if unknown:
        notes.append(f"reward cost leaves out rewards no longer in the config: {', '.join(unknown)}")
    return ctx.report(NAME, TITLE, period, tables, notes, bucket=bucket)


def visit_figures(conn, period: Period) -> dict:
    """Visits, voided visits, customers, returning customers, revenue and the average ticket over
    the period's days.

    The average ticket is the revenue divided by the non-voided visits with an amount above zero:
    a visit recorded without --amount (a punch whose till amount was not typed) is stored as 0.00, and counting it would
    pull the average towards zero in a shop that types amounts only some of the time. The visits
    it is taken over are a column of their own, so the figure can be checked.
    """
    days = period.local_days()
    visits, revenue, customers, visits_with_amount = query(conn,
        "SELECT COUNT(*), COALESCE(SUM(amount), 0), COUNT(DISTINCT customer_id), "
        "COUNT(CASE WHEN amount > 0 THEN 1 END) "
        "FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?", days).fetchone()
    voided = query(conn, "SELECT COUNT(*) FROM visits WHERE voided_at IS NOT NULL AND local_day BETWEEN ? AND ?",
                   days).fetchone()[0]
    returning = query(conn,
        "SELECT COUNT(*) FROM (SELECT DISTINCT customer_id FROM visits "
        "WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?) d "
        "WHERE EXISTS (SELECT 1 FROM visits p WHERE p.customer_id = d.customer_id AND p.voided_at IS NULL "
        "AND p.local_day < ?)", (*days, days[0])).fetchone()[0]
    return {
        "visits": visits, "voided_visits": voided, "visits_with_amount": visits_with_amount, "customers": customers,
        "returning_customers": returning, "returning_share": round(returning / customers, 4) if customers else None,
        "revenue": revenue,
        "average_ticket": money.divide_half_up(revenue, visits_with_amount) if visits_with_amount else None,
    }


def new_customers(conn, start: str, end: str) -> int:
    return query(conn, "SELECT COUNT(*) FROM customers WHERE enrolled_at >= ? AND enrolled_at < ?",
                 (start, end)).fetchone()[0]


def ledger_flows(conn, start: str, end: str) -> dict:
    """Punches, points and credit issued, redeemed and expired between two UTC instants.

    Earnings are nearly every ledger line, so they are not read one kind at a time: the plain
    sum of the period (an index range) minus the few lines that are not earnings, read through
    a small partial index. A void counts against the kind of the line it reverses.
    """
    total = query(conn, "SELECT COALESCE(SUM(points), 0), COALESCE(SUM(punches), 0), COALESCE(SUM(credit), 0) "
                        "FROM ledger WHERE at >= ? AND at < ?", (start, end)).fetchone()
    special = {kind: (0, 0, 0) for kind in ("redeem", "expire", "reward")}
    for kind, points, punches, credit in query(conn,
            "SELECT CASE WHEN l.kind = 'void' THEN (SELECT o.kind FROM ledger o WHERE o.id = l.reverses) "
            "ELSE l.kind END AS bucket, SUM(l.points), SUM(l.punches), SUM(l.credit) FROM ledger l "
            "WHERE l.kind IN ('redeem', 'expire', 'reward', 'void') AND l.at >= ? AND l.at < ? GROUP BY bucket",
            (start, end)):
        if kind in special:
            special[kind] = (points, punches, credit)
    earned = [total[i] - sum(special[k][i] for k in special) for i in range(3)]
    return {
        "punches_issued": earned[1], "punches_redeemed": -special["reward"][1],
        "points_issued": earned[0], "points_redeemed": -special["redeem"][0], "points_expired": -special["expire"][0],
        "credit_issued": earned[2], "credit_redeemed": -special["redeem"][2],
    }


def _timeline(conn, period: Period, bucket: str) -> list[tuple]:
    """(start, end, visits, revenue) per bucket, empty buckets included (at most ~370 rows)."""
    per_day = {day: (visits, revenue) for day, visits, revenue in query(conn,
        "SELECT local_day, COUNT(*), SUM(amount) FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ? "
        "GROUP BY local_day", period.local_days())}
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
