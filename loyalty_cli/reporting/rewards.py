"""The rewards report: every voucher event of a period (issued, redeemed, expired, voided), and
the same events counted per reward for the summary."""

from loyalty_cli.domain.i18n import mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting.categories import asked, chosen_category
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.period import Period

NAME, TITLE = "rewards", mark("Rewards")

REWARD_COLUMNS = [
    Column("event", mark("Event")),
    Column("at", mark("At"), "moment"),
    Column("code", mark("Voucher")),
    Column("reward", mark("Reward")),
    Column("reward_name", mark("Reward name")),
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("status", mark("Status now")),
    Column("issued_at", mark("Issued"), "moment"),
    Column("expires_at", mark("Expires"), "moment"),
    Column("face_value", mark("Face value"), "money"),
    Column("cost", mark("Cost"), "money"),
]
REWARD_BRIEF = ("event", "at", "code", "phone", "reward_name", "cost", "name")

# (event, at, code, reward) of each voucher event between the UTC instants :start and :end, each
# branch a range of an index on its moment. A voucher that ended without being redeemed was voided
# (at the void) or expired: at its expiry time, whether or not `loyalty expire` has written it
# down yet (as on the card, an issued voucher past its expiry as of :now is gone), so a period's
# figures do not move when the expiry run catches up.
VOUCHER_EVENTS_SQL = (
    "SELECT 'issued' AS event, issued_at AS at, code, reward FROM vouchers "
    "WHERE issued_at >= :start AND issued_at < :end "
    "UNION ALL SELECT 'redeemed', redeemed_at, code, reward FROM vouchers "
    "WHERE redeemed_at >= :start AND redeemed_at < :end "
    "UNION ALL SELECT 'expired', expires_at, code, reward FROM vouchers "
    "WHERE status IN ('issued', 'expired') AND expires_at >= :start AND expires_at < :end "
    "AND (status = 'expired' OR expires_at <= :now) "
    "UNION ALL SELECT 'voided', ended_at, code, reward FROM vouchers "
    "WHERE ended_at >= :start AND ended_at < :end AND +status = 'void'"  # '+': by ended_at, not by status
)
EVENTS = ("issued", "redeemed", "expired", "voided")
# With --category: only the vouchers issued at a visit of :category (its redemption and expiry too);
# {events} is the name the query gives the events (SQLite let the build's `e` be called `events`
# too; PostgreSQL, rightly, does not).
OF_CATEGORY = (" WHERE {events}.code IN (SELECT code FROM vouchers "
               "WHERE visit_id IN (SELECT id FROM visits WHERE category = :category))")
# A voucher's status as of :now: 'expired' once past its expiry, written down or not.
STATUS_NOW = "CASE WHEN v.status = 'issued' AND v.expires_at <= :now THEN 'expired' ELSE v.status END"


def build(ctx: Context, period: Period, category: str | None = None) -> Report:
    """Every voucher event of the period; with `category`, of the vouchers visits of it earned."""
    conn, config = ctx.conn, ctx.config
    category = chosen_category(config, category)
    start, end = period.bounds(config.tz)
    currency = config.shop.currency
    catalog = {reward.id: (reward.name, reward.face_value(currency), reward.cost) for reward in config.rewards.values()}
    unknown = (None, None, None)  # a reward since removed from the config
    sql = (f"SELECT e.event, e.at, e.code, e.reward, c.phone, c.name, {STATUS_NOW}, v.issued_at, v.expires_at "
           f"FROM ({VOUCHER_EVENTS_SQL}) e "
           "JOIN vouchers v ON v.code = e.code JOIN customers c ON c.id = v.customer_id "
           f"{OF_CATEGORY.format(events='e') if category is not None else ''} "
           "ORDER BY e.at, CASE e.event WHEN 'issued' THEN 0 WHEN 'redeemed' THEN 1 ELSE 2 END, e.code")

    def produce():
        for event, at, code, reward, phone, name, status, issued, expires in query(
                conn, sql, {"start": start, "end": end, "now": ctx.now_db, "category": category}):
            reward_name, face, cost = catalog.get(reward, unknown)
            yield (event, at, code, reward, reward_name, phone, name, status, issued, expires, face, cost)

    table = Table("rows", mark("Voucher events"), REWARD_COLUMNS, produce, brief=REWARD_BRIEF)
    return ctx.report(NAME, TITLE, period, [table], **asked(category))


def event_counts(conn, config, start: str, end: str, now: str, category: str | None = None) -> tuple[dict, list[str]]:
    """The summary's voucher figures between two UTC instants, as of `now`: {'vouchers_issued': n,
    ..., 'reward_cost': cost of the redeemed ones}, and the rewards redeemed that the config no
    longer knows (so not costed), sorted. With `category`: the vouchers visits of it earned."""
    counts = {f"vouchers_{event}": 0 for event in EVENTS}
    cost, unknown = 0, []
    where = OF_CATEGORY.format(events="events") if category is not None else ""
    for event, reward, count in query(conn, f"SELECT event, reward, COUNT(*) FROM ({VOUCHER_EVENTS_SQL}) events{where} "
                                            "GROUP BY event, reward",
                                      {"start": start, "end": end, "now": now, "category": category}):
        counts[f"vouchers_{event}"] += count
        if event == "redeemed":
            known = config.rewards.get(reward)
            if known is None:
                unknown.append(reward)
            else:
                cost += known.cost * count
    return {**counts, "reward_cost": cost}, sorted(unknown)
