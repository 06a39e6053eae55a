"""The liability report: what the shop owes today (points, store credit, open vouchers), at face
value and at cost, and what of it expires by the end of the local date EXPIRY_HORIZON_DAYS from
today (period.expiry_horizon)."""

from loyalty_cli.domain import clock, money
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.reporting.context import NOTHING_DUE, Context, query
from loyalty_cli.reporting.period import EXPIRY_HORIZON_DAYS, expiry_horizon, expiry_horizon_day

NAME, TITLE = "liability", mark("Liability")

LIABILITY_COLUMNS = [
    Column("item", mark("Item")),
    Column("description", mark("What")),
    Column("customers", mark("Customers"), "int"),
    Column("quantity", mark("Quantity"), "int"),
    Column("face_value", mark("Face value"), "money"),
    Column("cost", mark("Cost to the shop"), "money"),
]


def point_rate(config):
    """The catalog reward that gives the most face value per point, or None.

    Points are valued at that rate (what customers would get for them at best) and costed at
    the same reward's cost per point.
    """
    currency = config.shop.currency
    best = None
    for reward in config.rewards.values():
        face = reward.face_value(currency)
        if not reward.points or face is None:
            continue
        if best is None or face * best.points > best.face_value(currency) * reward.points:
            best = reward
    return best


def build(ctx: Context) -> Report:
    config = ctx.config
    currency = config.shop.currency
    rate = point_rate(config)
    points, soon_points = _points_owed(ctx, rate)
    credit_holders, credit = query(ctx.conn,
        "SELECT COUNT(*), COALESCE(SUM(credit), 0) FROM customers WHERE credit > 0").fetchone()
    vouchers, soon_vouchers = _vouchers_owed(ctx)
    owed = [points, ("credit", Phrase("Store credit"), credit_holders, None, credit, credit), *vouchers]
    total = ("total", Phrase("Total owed (points, credit and open vouchers)"), None, None,
             sum(row[4] or 0 for row in owed), sum(row[5] or 0 for row in owed))
    rows = [*owed, total, soon_points, *soon_vouchers]
    rate_info = None
    if rate is not None:
        rate_info = {"reward": rate.id, "points": rate.points,
                     "face_value": money.as_string(rate.face_value(currency), currency),
                     "cost": money.as_string(rate.cost, currency)}
    table = Table("rows", mark("What the shop owes"), LIABILITY_COLUMNS, lambda: iter(rows),
                  brief=("description", "face_value", "cost", "quantity", "customers"),
                  charts=[Chart("description", "face_value", mark("Owed at face value"), skip=("total", "expiring:"))])
    return ctx.report(NAME, TITLE, None, [table], points_valued_as=rate_info,
                      expiring_within_days=EXPIRY_HORIZON_DAYS)


def _points_owed(ctx: Context, rate) -> tuple[tuple, tuple]:
    """The points row and the expiring-points row: balances net of what is already past expiry."""
    currency = ctx.config.shop.currency
    due = ctx.points_due()
    holders = points = soon = soon_holders = 0
    for cid, balance in query(ctx.conn, "SELECT id, points FROM customers WHERE points > 0"):
        due_now, due_soon = due.get(cid, NOTHING_DUE)
        left = balance - due_now
        if left > 0:
            holders, points = holders + 1, points + left
            expiring = min(left, due_soon - due_now)
            if expiring > 0:
                soon_holders, soon = soon_holders + 1, soon + expiring

    def value(quantity):
        if rate is None:
            return None, None
        return (money.divide_half_up(quantity * rate.face_value(currency), rate.points),
                money.divide_half_up(quantity * rate.cost, rate.points))

    if rate is not None:
        outstanding = Phrase("Points outstanding (valued as {reward}: {points} points for {face})", reward=rate.name,
                             points=rate.points, face=money.display(rate.face_value(currency), currency))
    else:
        outstanding = Phrase("Points outstanding (no reward in the catalog has a points price: not valued)")
    by = expiry_horizon_day(ctx.today).isoformat()
    expiring = Phrase("Points expiring within {days} days (by {by}; included above)", days=EXPIRY_HORIZON_DAYS, by=by)
    return (("points", outstanding, holders, points, *value(points)),
            ("expiring:points", expiring, soon_holders, soon, *value(soon)))


def _vouchers_owed(ctx: Context) -> tuple[list, list]:
    """Open vouchers per reward, and those of them that expire by the horizon (period.expiry_horizon)."""
    config, currency = ctx.config, ctx.config.shop.currency
    owed, soon = [], []
    for reward_id, count, holders, expiring, expiring_holders in query(ctx.conn,
            "SELECT reward, COUNT(*), COUNT(DISTINCT customer_id), COUNT(CASE WHEN expires_at <= :soon THEN 1 END), "
            "COUNT(DISTINCT CASE WHEN expires_at <= :soon THEN customer_id END) "
            "FROM vouchers WHERE status = 'issued' AND (expires_at IS NULL OR expires_at > :now) "
            "GROUP BY reward ORDER BY reward",
            {"now": ctx.now_db, "soon": clock.to_db(expiry_horizon(ctx.today, ctx.config.tz))}):
        known = config.rewards.get(reward_id)
        face = known.face_value(currency) if known else None
        cost = known.cost if known else None
        if known is None:
            name = Phrase("{reward} (no longer in the config)", reward=reward_id)
        else:
            name = Phrase("{reward} (percent off: no face value)", reward=known.name) if face is None else known.name
        owed.append((f"vouchers:{reward_id}", Phrase("Open vouchers: {name}", name=name), holders, count,
                     _times(face, count),
                     _times(cost, count)))
        if expiring:
            soon.append((f"expiring:vouchers:{reward_id}", Phrase("Vouchers expiring within {days} days: {name}",
                                                                days=EXPIRY_HORIZON_DAYS, name=name),
                         expiring_holders, expiring, _times(face, expiring), _times(cost, expiring)))
    return owed, soon


def _times(unit: int | None, n: int) -> int | None:
    """n of a money amount, or None for a reward with no such amount."""
    return None if unit is None else unit * n
