"""The reports (issue 4): each one a few aggregate SQL queries over covering indexes.

A report is a `Report`: its parameters and one or more `Table`s. A table knows its columns
(with a kind: money, date, ...) and can produce its rows, as many times as a writer asks, as
an iterator straight off the SQLite cursor: writers stream, nothing holds a million visits.
Row values are raw: money in integer minor units, days as 'YYYY-MM-DD', moments as the
stored UTC text; the writers turn them into what each format wants.

Nothing here loops in Python over visits or ledger lines. Sums, counts, distinct customers,
the points due to expire and each customer's visit rhythm are computed by SQLite (migration
`_v3` adds the indexes that make those range scans of an index). Python only touches what is
already small: a handful of totals, the per-day series, one row per customer.

Periods are local days in the shop's time zone: visits are bucketed by the `local_day` they
were recorded with (a visit at 23:30 in Rome belongs to that day in Rome), and ledger lines
and vouchers, which carry only UTC times, are filtered by the UTC instants of the local
midnights that bound the period.
"""

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from loyalty_cli.domain import clock, money, rules
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.store import db as store_db

# ---- periods ---------------------------------------------------------------------------------

EXPIRY_HORIZON = timedelta(days=30)  # liability: what expires within the next 30 days
PERIOD_WORDS = ("today", "yesterday", "last-7-days", "last-month", "this-month")
DATE_HELP = "YYYY-MM-DD, " + ", ".join(PERIOD_WORDS)


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
        raise BadInput(f"{what} is not a date: {text!r} (use {DATE_HELP})") from None
    return day, day


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

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
        raise BadInput(f"--since {start} is after --until {end}")
    return Period(start, end)


def exact_period(text: str, today: date, what: str = "--date") -> Period:
    """Exactly the day or period a word names: `--date yesterday`, `--date last-month`."""
    return Period(*named_range(text, today, what))


class Context:
    """What every report needs: the connection, the config and one 'now' for all of them, and
    the per-customer figures more than one report reads, computed once per run (or handed
    over by a Beside thread that computed them on the same database)."""

    SHARED = ("points_due", "year_figures")

    def __init__(self, conn, config, now: datetime):
        self.conn, self.config, self.now = conn, config, now
        self._shared: dict = {}
        self._pending: dict = {}  # name -> threading.Event of a Beside computing it

    def _get(self, name: str, compute):
        if name not in self._shared and name in self._pending:
            self._pending[name].wait()
        if name not in self._shared:
            self._shared[name] = compute()
        return self._shared[name]

    def points_due(self) -> dict[int, tuple[int, int]]:
        """customer id -> (points due to expire now, by 30 days from now), where not (0, 0).

        rules.points_to_expire(balance, points earned since the cutoff), for everyone at once,
        reading only the last points_days of the ledger (ledger_lots_cover). 'Now' counts the
        points past expiry that `loyalty expire` has not written down yet, as the card does.
        """
        def compute():
            cutoff = rules.points_cutoff(self.config, self.now)
            if cutoff is None:
                return {}
            rows = _json_rows(self.conn, (
                "WITH recent AS (SELECT customer_id, SUM(points) AS since_cutoff, "
                "SUM(CASE WHEN earned_at > :soon THEN points ELSE 0 END) AS since_soon "
                "FROM ledger WHERE earned_at IS NOT NULL AND earned_at > :cutoff GROUP BY customer_id) "
                "SELECT json_group_array(json_array(c.id, MAX(0, c.points - COALESCE(r.since_cutoff, 0)), "
                "MAX(0, c.points - COALESCE(r.since_soon, 0)))) FROM customers c "
                "LEFT JOIN recent r ON r.customer_id = c.id WHERE c.points > COALESCE(r.since_soon, 0)"),
                {"cutoff": clock.to_db(cutoff), "soon": clock.to_db(cutoff + EXPIRY_HORIZON)})
            return {cid: (due_now, due_soon) for cid, due_now, due_soon in rows}

        return self._get("points_due", compute)

    def year_figures(self) -> dict[int, tuple[int, int]]:
        """customer id -> (spend, visits) over the 365 days up to now, voided visits left out:
        what tiers are held on (as on the card, store.year_figures), for everyone at once."""
        def compute():
            if not self.config.tiers:  # nothing to hold: skip the year's visits altogether
                return {}
            rows = _json_rows(self.conn, (
                "SELECT json_group_array(json_array(customer_id, spend, visits)) FROM ("
                "SELECT customer_id, SUM(amount) AS spend, COUNT(*) AS visits FROM visits "
                "WHERE voided_at IS NULL AND at > ? AND at <= ? GROUP BY customer_id)"),
                (clock.to_db(self.now - rules.TIER_WINDOW), self.now_db))
            return {cid: (spend, visits) for cid, spend, visits in rows}

        return self._get("year_figures", compute)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.config.tz).date()

    @property
    def now_db(self) -> str:
        return clock.to_db(self.now)

    def parameters(self, period: Period | None = None, **extra) -> dict:
        shop = self.config.shop
        out = {"shop": shop.name, "currency": shop.currency, "timezone": shop.timezone}
        if period is not None:
            out.update(since=period.since.isoformat(), until=period.until.isoformat())
        out["as_of"] = self.now.astimezone(self.config.tz).isoformat(timespec="seconds")
        out.update(extra)
        return out

    def report(self, name: str, period: Period | None, tables: list[Table], notes=(), **extra) -> Report:
        return Report(name, TITLES[name], self.parameters(period, **extra), tables,
                      self.config.shop.currency, self.config.tz, list(notes))


def fingerprint(conn) -> tuple:
    """What any change to balances, visits or vouchers moves: the last ledger line and visit."""
    return query(conn, "SELECT (SELECT MAX(id) FROM ledger), (SELECT MAX(id) FROM visits), "
                       "(SELECT COUNT(*) FROM customers)").fetchone()


class Beside:
    """Reports built on a second connection, in a thread, while the main thread writes others.

    SQLite lets go of the GIL while it works, so heavy queries run on the second core: the
    per-customer figures `shared` (handed to ctx) and the reports `names` (held whole: at most
    one row per customer). Each must come back in one step of SQLite (a JSON array, see
    _json_rows): a query returning row by row would wait for the GIL at every row while the
    main thread writes. If that connection does not see the
    very database `expected` describes (a visit was committed in between), or anything fails
    there, `get` builds the report on ctx's own connection instead: the files of one export
    always agree with each other.
    """

    def __init__(self, names, ctx: Context, period: "Period | None", db_path, expected: tuple, shared=()):
        import threading

        self.ctx, self.period, self.shared = ctx, period, list(shared)
        self.names, self.done, self.ready = list(names), {}, {name: threading.Event() for name in names}
        for name in self.shared:  # ctx waits for these instead of computing them itself
            ctx._pending[name] = threading.Event()
        self.thread = threading.Thread(target=self._work, args=(db_path, expected), name="reports", daemon=True)
        self.thread.start()

    def _work(self, db_path, expected) -> None:

        conn = None
        try:
            conn = store_db.connect(db_path, create=False)
            with store_db.snapshot(conn):
                if fingerprint(conn) != expected:
                    return
                ctx = Context(conn, self.ctx.config, self.ctx.now)
                for name in self.shared:
                    self.ctx._shared[name] = getattr(ctx, name)()
                    self.ctx._pending[name].set()
                for name in self.names:
                    report = build(name, ctx, self.period)
                    for table in report.tables:
                        rows = list(table.rows())
                        table.produce = lambda rows=rows: iter(rows)
                    self.done[name] = report
                    self.ready[name].set()
        except Exception:  # noqa: BLE001 - whatever went wrong here, get() builds it the ordinary way
            pass
        finally:
            if conn is not None:
                conn.close()
            for event in [*self.ready.values(), *(self.ctx._pending[name] for name in self.shared)]:
                event.set()  # whatever is still missing, the main thread computes itself

    def get(self, name: str) -> Report:
        self.ready[name].wait()
        return self.done.get(name) or build(name, self.ctx, self.period)


def query(conn, sql: str, args=()):
    """A cursor yielding plain tuples: the connection's sqlite3.Row factory costs a third of the
    time of a long report, and reports read columns by position anyway."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, args)


def _rows(conn, sql: str, args) -> Callable[[], Iterator[tuple]]:
    return lambda: query(conn, sql, args)


# ---- summary ---------------------------------------------------------------------------------

EARNING_KINDS = ("welcome", "referral", "punch", "points", "cashback", "import")

SUMMARY_COLUMNS = [
    Column("since", "From", "date"),
    Column("until", "To", "date"),
    Column("visits", "Visits", "int"),
    Column("voided_visits", "Voided visits", "int"),
    Column("customers", "Customers", "int"),
    Column("new_customers", "New customers", "int"),
    Column("returning_customers", "Returning customers", "int"),
    Column("returning_share", "Returning share", "ratio"),
    Column("revenue", "Revenue from members", "money"),
    Column("average_ticket", "Average ticket", "money"),
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


def summary(ctx: Context, period: Period) -> Report:
    conn, config = ctx.conn, ctx.config
    start, end = period.bounds(config.tz)
    days = (period.since.isoformat(), period.until.isoformat())
    visits, revenue, customers, with_amount = query(conn,
        "SELECT COUNT(*), COALESCE(SUM(amount), 0), COUNT(DISTINCT customer_id), COALESCE(SUM(amount > 0), 0) "
        "FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?", days).fetchone()
    voided = query(conn, "SELECT COUNT(*) FROM visits WHERE voided_at IS NOT NULL AND local_day BETWEEN ? AND ?",
                   days).fetchone()[0]
    returning = query(conn,
        "SELECT COUNT(*) FROM (SELECT DISTINCT customer_id FROM visits "
        "WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?) d "
        "WHERE EXISTS (SELECT 1 FROM visits p WHERE p.customer_id = d.customer_id AND p.voided_at IS NULL "
        "AND p.local_day < ?)", (*days, days[0])).fetchone()[0]
    new = query(conn, "SELECT COUNT(*) FROM customers WHERE enrolled_at >= ? AND enrolled_at < ?",
                (start, end)).fetchone()[0]
    flows = ledger_flows(conn, start, end)
    vouchers = voucher_events(conn, config, start, end)
    unknown = vouchers.pop("_unknown_rewards", None)
    row = {
        "since": days[0], "until": days[1], "visits": visits, "voided_visits": voided,
        "customers": customers, "new_customers": new, "returning_customers": returning,
        "returning_share": round(returning / customers, 4) if customers else None,
        "revenue": revenue, "average_ticket": money.divide_half_up(revenue, with_amount) if with_amount else None,
        **flows, **vouchers,
    }
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
    return ctx.report("summary", period, tables, notes, bucket=bucket)


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


def voucher_events(conn, config, start: str, end: str) -> dict:
    counts = {"vouchers_issued": 0, "vouchers_redeemed": 0, "vouchers_expired": 0, "vouchers_voided": 0}
    cost, unknown = 0, []
    for event, reward, count in query(conn, _EVENTS_COUNT_SQL, {"start": start, "end": end}):
        counts[f"vouchers_{event}"] += count
        if event == "redeemed":
            known = config.rewards.get(reward)
            if known is None:
                unknown.append(reward)
            else:
                cost += known.cost * count
    out = {**counts, "reward_cost": cost}
    if unknown:
        out["_unknown_rewards"] = sorted(unknown)
    return out


_EVENTS_COUNT_SQL = (
    "SELECT 'issued', reward, COUNT(*) FROM vouchers WHERE issued_at >= :start AND issued_at < :end GROUP BY reward "
    "UNION ALL SELECT 'redeemed', reward, COUNT(*) FROM vouchers "
    "WHERE redeemed_at >= :start AND redeemed_at < :end GROUP BY reward "
    "UNION ALL SELECT CASE status WHEN 'expired' THEN 'expired' ELSE 'voided' END AS event, reward, COUNT(*) "
    "FROM vouchers WHERE ended_at >= :start AND ended_at < :end GROUP BY event, reward"
)


def _timeline(conn, period: Period, bucket: str) -> list[tuple]:
    """(start, end, visits, revenue) per bucket, empty buckets included (at most ~370 rows)."""
    per_day = {day: (visits, revenue) for day, visits, revenue in query(conn,
        "SELECT local_day, COUNT(*), SUM(amount) FROM visits WHERE voided_at IS NULL AND local_day BETWEEN ? AND ? "
        "GROUP BY local_day", (period.since.isoformat(), period.until.isoformat()))}
    out, day = [], period.since
    while day <= period.until:
        if bucket == "day":
            last = day
        elif bucket == "week":
            last = day + timedelta(days=6 - day.weekday())  # weeks end on Sunday
        else:
            last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        last = min(last, period.until)
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


# ---- customers -------------------------------------------------------------------------------

CUSTOMER_COLUMNS = [
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("email", "E-mail"),
    Column("enrolled", "Enrolled", "date"),
    Column("tier", "Tier"),
    Column("visits", "Visits", "int"),
    Column("spend", "Spend", "money"),
    Column("last_visit", "Last visit", "moment"),
    Column("visits_in_period", "Visits in period", "int"),
    Column("spend_in_period", "Spend in period", "money"),
    Column("punches", "Punches", "int"),
    Column("points", "Points", "int"),
    Column("credit", "Credit", "money"),
    Column("open_vouchers", "Open vouchers", "int"),
]
# On a narrow terminal: as many of these as fit, most useful first.
CUSTOMER_BRIEF = ("phone", "name", "spend", "visits", "tier", "points", "credit", "last_visit", "open_vouchers")


def customers(ctx: Context, period: Period) -> Report:
    conn, config = ctx.conn, ctx.config
    args = {"now": ctx.now_db, "since": period.since.isoformat(), "until": period.until.isoformat()}
    sql = (
        "WITH period AS (SELECT customer_id, SUM(amount) AS spend, COUNT(*) AS visits FROM visits "
        "WHERE voided_at IS NULL AND local_day BETWEEN :since AND :until GROUP BY customer_id), "
        "open AS (SELECT customer_id, COUNT(*) AS n FROM vouchers WHERE status = 'issued' "
        "AND (expires_at IS NULL OR expires_at > :now) GROUP BY customer_id) "
        "SELECT c.id, c.phone, c.name, c.email, c.enrolled_at, c.visits, c.spend, c.last_visit_at, "
        "COALESCE(period.visits, 0), COALESCE(period.spend, 0), "
        "(SELECT COALESCE(SUM(value), 0) FROM json_each(c.punches)), c.points, c.credit, COALESCE(open.n, 0) "
        "FROM customers c LEFT JOIN period ON period.customer_id = c.id "
        "LEFT JOIN open ON open.customer_id = c.id ORDER BY c.spend DESC, c.id"
    )
    tz = config.tz

    def produce():
        due, year = ctx.points_due(), ctx.year_figures()
        for (cid, phone, name, email, enrolled, visits_n, spend, last, period_visits, period_spend, punches,
             points, credit, open_n) in query(conn, sql, args):
            tier = rules.tier_for(config, *year.get(cid, _NOTHING_DUE))
            yield (phone, name, email, _local_day(enrolled, tz), tier.name if tier else None, visits_n, spend, last,
                   period_visits, period_spend, punches, points - due.get(cid, _NOTHING_DUE)[0], credit, open_n)

    table = Table("rows", "Customers", CUSTOMER_COLUMNS, produce, brief=CUSTOMER_BRIEF)
    return ctx.report("customers", period, [table])


_NOTHING_DUE = (0, 0)


def _local_day(db_text: str | None, tz) -> str | None:
    """The shop-local day of a stored UTC time (fromisoformat: strptime is ten times slower)."""
    return datetime.fromisoformat(db_text).astimezone(tz).date().isoformat() if db_text else None


# ---- visits ----------------------------------------------------------------------------------

VISIT_COLUMNS = [
    Column("visit", "Visit", "int"),
    Column("day", "Day", "date"),
    Column("at", "At", "moment"),
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("amount", "Amount", "money"),
    Column("items", "Items", "int"),
    Column("source", "Source"),
    Column("ref", "Ref"),
    Column("note", "Note"),
    Column("voided", "Voided", "bool"),
    Column("voided_at", "Voided at", "moment"),
    Column("void_reason", "Void reason"),
]
VISIT_BRIEF = ("at", "phone", "amount", "name", "voided", "visit", "items", "note")


def visits(ctx: Context, period: Period) -> Report:
    sql = ("SELECT v.id, v.local_day, v.at, c.phone, c.name, v.amount, v.items, v.source, v.ref, v.note, "
           "v.voided_at IS NOT NULL, v.voided_at, v.void_reason FROM visits v JOIN customers c ON c.id = v.customer_id "
           "WHERE v.local_day BETWEEN ? AND ? ORDER BY v.local_day, v.at, v.id")
    produce = _rows(ctx.conn, sql, (period.since.isoformat(), period.until.isoformat()))
    return ctx.report("visits", period, [Table("rows", "Visits", VISIT_COLUMNS, produce, brief=VISIT_BRIEF)])


# ---- rewards ---------------------------------------------------------------------------------

REWARD_COLUMNS = [
    Column("event", "Event"),
    Column("at", "At", "moment"),
    Column("code", "Voucher"),
    Column("reward", "Reward"),
    Column("reward_name", "Reward name"),
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("status", "Status now"),
    Column("issued_at", "Issued", "moment"),
    Column("expires_at", "Expires", "moment"),
    Column("face_value", "Face value", "money"),
    Column("cost", "Cost", "money"),
]
REWARD_BRIEF = ("event", "at", "code", "phone", "reward_name", "cost", "name")

_EVENTS_SQL = (
    "SELECT e.event, e.at, v.code, v.reward, c.phone, c.name, v.status, v.issued_at, v.expires_at FROM ("
    "SELECT 'issued' AS event, issued_at AS at, code FROM vouchers WHERE issued_at >= :start AND issued_at < :end "
    "UNION ALL SELECT 'redeemed', redeemed_at, code FROM vouchers WHERE redeemed_at >= :start AND redeemed_at < :end "
    "UNION ALL SELECT CASE status WHEN 'expired' THEN 'expired' ELSE 'voided' END, ended_at, code FROM vouchers "
    "WHERE ended_at >= :start AND ended_at < :end) e "
    "JOIN vouchers v ON v.code = e.code JOIN customers c ON c.id = v.customer_id "
    "ORDER BY e.at, CASE e.event WHEN 'issued' THEN 0 WHEN 'redeemed' THEN 1 ELSE 2 END, v.code"
)


def rewards(ctx: Context, period: Period) -> Report:
    conn, config = ctx.conn, ctx.config
    start, end = period.bounds(config.tz)
    currency = config.shop.currency
    catalog = {reward.id: (reward.name, reward.face_value(currency), reward.cost) for reward in config.rewards.values()}
    unknown = (None, None, None)  # a reward since removed from the config

    def produce():
        for event, at, code, reward, phone, name, status, issued, expires in query(conn,
                _EVENTS_SQL, {"start": start, "end": end}):
            reward_name, face, cost = catalog.get(reward, unknown)
            yield (event, at, code, reward, reward_name, phone, name, status, issued, expires, face, cost)

    return ctx.report("rewards", period, [Table("rows", "Voucher events", REWARD_COLUMNS, produce, brief=REWARD_BRIEF)])


# ---- liability -------------------------------------------------------------------------------

LIABILITY_COLUMNS = [
    Column("item", "Item"),
    Column("description", "What"),
    Column("customers", "Customers", "int"),
    Column("quantity", "Quantity", "int"),
    Column("face_value", "Face value", "money"),
    Column("cost", "Cost to the shop", "money"),
]


def point_rate(config):
    """The catalog reward that gives the most face value per point, or None.

    Points are valued at that rate (what customers would get for them at best) and costed at
    the same reward's cost per point.
    """
    best = None
    for reward in config.rewards.values():
        face = reward.face_value(config.shop.currency)
        if reward.points and face is not None:
            if best is None or face * best.points > best.face_value(config.shop.currency) * reward.points:
                best = reward
    return best


def liability(ctx: Context) -> Report:
    config = ctx.config
    currency = config.shop.currency
    rate = point_rate(config)
    points, soon_points = _points_owed(ctx, rate)
    credit_holders, credit = query(ctx.conn,
        "SELECT COUNT(*), COALESCE(SUM(credit), 0) FROM customers WHERE credit > 0").fetchone()
    vouchers, soon_vouchers = _vouchers_owed(ctx)
    owed = [points, ("credit", "Store credit", credit_holders, None, credit, credit), *vouchers]
    total = ("total", "Total owed (points, credit and open vouchers)", None, None,
             sum(row[4] or 0 for row in owed), sum(row[5] or 0 for row in owed))
    rows = [*owed, total, soon_points, *soon_vouchers]
    rate_info = None
    if rate is not None:
        rate_info = {"reward": rate.id, "points": rate.points,
                     "face_value": money.as_string(rate.face_value(currency), currency),
                     "cost": money.as_string(rate.cost, currency)}
    table = Table("rows", "What the shop owes", LIABILITY_COLUMNS, lambda: iter(rows),
                  brief=("description", "face_value", "cost", "quantity", "customers"),
                  charts=[Chart("description", "face_value", "Owed at face value", skip=("total", "expiring:"))])
    return ctx.report("liability", None, [table], points_valued_as=rate_info,
                      expiring_within_days=EXPIRY_HORIZON.days)


def _points_owed(ctx: Context, rate) -> tuple[tuple, tuple]:
    """The points row and the expiring-points row: balances net of what is already past expiry."""
    currency = ctx.config.shop.currency
    due = ctx.points_due()
    holders = points = soon = soon_holders = 0
    for cid, balance in query(ctx.conn, "SELECT id, points FROM customers WHERE points > 0"):
        due_now, due_soon = due.get(cid, _NOTHING_DUE)
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
        how = f" (valued as {rate.name}: {rate.points} points for {money.display(rate.face_value(currency), currency)})"
    else:
        how = " (no reward in the catalog has a points price: not valued)"
    by = (ctx.now + EXPIRY_HORIZON).astimezone(ctx.config.tz).date().isoformat()
    return (("points", "Points outstanding" + how, holders, points, *value(points)),
            ("expiring:points", f"Points expiring within 30 days (by {by}; included above)", soon_holders, soon,
             *value(soon)))


def _vouchers_owed(ctx: Context) -> tuple[list, list]:
    """Open vouchers per reward, and those of them that expire within 30 days."""
    config, currency = ctx.config, ctx.config.shop.currency
    owed, soon = [], []
    for reward_id, count, holders, expiring, expiring_holders in query(ctx.conn,
            "SELECT reward, COUNT(*), COUNT(DISTINCT customer_id), SUM(expires_at <= :soon), "
            "COUNT(DISTINCT CASE WHEN expires_at <= :soon THEN customer_id END) "
            "FROM vouchers WHERE status = 'issued' AND (expires_at IS NULL OR expires_at > :now) "
            "GROUP BY reward ORDER BY reward", {"now": ctx.now_db, "soon": clock.to_db(ctx.now + EXPIRY_HORIZON)}):
        known = config.rewards.get(reward_id)
        face = known.face_value(currency) if known else None
        cost = known.cost if known else None
        if known is None:
            name = f"{reward_id} (no longer in the config)"
        else:
            name = known.name + (" (percent off: no face value)" if face is None else "")

        def times(unit, n):
            return None if unit is None else unit * n

        owed.append((f"vouchers:{reward_id}", f"Open vouchers: {name}", holders, count, times(face, count),
                     times(cost, count)))
        if expiring:
            soon.append((f"expiring:vouchers:{reward_id}", f"Vouchers expiring within 30 days: {name}",
                         expiring_holders, expiring, times(face, expiring), times(cost, expiring)))
    return owed, soon


# ---- at risk ---------------------------------------------------------------------------------

RHYTHM_VISITS = 8  # a customer's usual rhythm: the median gap between their last 8 visits (7 gaps)
RHYTHM_FACTOR = 2  # overdue when the gap since the last visit is more than twice that...
FLOOR_DAYS = 30  # ...and more than 30 days (a weekly regular missing two weeks is not lost yet)
LOST_DAYS = 365  # silent for longer than a year: gone, not slipping away; left out

AT_RISK_COLUMNS = [
    Column("reason", "Why"),
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("last_visit", "Last visit", "date"),
    Column("days_since", "Days since", "int"),
    Column("usual_gap_days", "Usual gap (days)", "number"),
    Column("visits", "Visits", "int"),
    Column("spend", "Spend", "money"),
    Column("next_reward", "One visit from"),
]

# Candidates (silent for more than the floor, less than a year: an index range on the
# customers) and, for each, the days of their last RHYTHM_VISITS visits (a few index seeks on
# the covering index), as one JSON array (see _json_rows). The median of those at most seven
# gaps is taken in Python, candidate by candidate: that is a list of at most eight days per
# customer, never the visits at large; done in SQL with window functions it took 0.55 s on a
# million visits, this 0.2 s.
_RECENT_DAYS_SQL = """
WITH cand AS MATERIALIZED (
  SELECT c.id, COALESCE((SELECT v.at FROM visits v WHERE v.customer_id = c.id AND v.voided_at IS NULL
                         ORDER BY v.at DESC LIMIT 1 OFFSET :recent), '') AS since_at
  FROM customers c WHERE c.last_visit_at >= :lost AND c.last_visit_at < :floor)
SELECT json_group_array(json_array(c.id, c.phone, c.name, c.visits, c.spend, (
         SELECT json_group_array(v.local_day) FROM visits v
         WHERE v.customer_id = c.id AND v.at >= cand.since_at AND v.voided_at IS NULL)))
FROM cand JOIN customers c ON c.id = cand.id
"""


def rhythm(days: list[str]) -> tuple[float | None, str | None]:
    """(median gap in days between distinct visit days, the last of them); (None, last) when
    there is no gap yet (a single day)."""
    ordinals = sorted({date.fromisoformat(day).toordinal() for day in days})
    if not ordinals:
        return None, None
    last = date.fromordinal(ordinals[-1]).isoformat()
    gaps = sorted(b - a for a, b in pairwise(ordinals))
    if not gaps:
        return None, last
    middle = len(gaps) // 2
    median = gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2
    return median, last


_NEAR_SQL = """
SELECT json_group_array(json_array(c.id, c.phone, c.name, c.last_visit_at, c.visits, c.spend, j.value))
FROM customers c, json_each(c.punches) j
WHERE j.key = :card AND j.value = :punches AND c.last_visit_at >= :lost
"""


def _json_rows(conn, sql: str, args) -> list:
    """A query's rows as one JSON value: a single step of SQLite, so a report built in a thread
    (Beside) needs the GIL once, not once per row while the main thread is busy writing."""
    import json

    return json.loads(query(conn, sql, args).fetchone()[0])


def at_risk(ctx: Context) -> Report:
    """Who to call: regulars overdue by their own rhythm, and customers one visit from a reward."""
    conn, config, now = ctx.conn, ctx.config, ctx.now
    tz, today = config.tz, ctx.today
    # A customer is a candidate when their last visit is more than FLOOR_DAYS local days ago.
    floor_moment = datetime.combine(today - timedelta(days=FLOOR_DAYS - 1), time(0), tzinfo=tz)
    lost = clock.to_db(now - timedelta(days=LOST_DAYS))
    near: dict[int, list[str]] = {}
    near_rows: dict[int, tuple] = {}
    for rule in config.rules_of("punch_card"):
        if rule.every < 2:
            continue
        reward = config.rewards[rule.reward].name
        for cid, phone, name, last_at, visits_n, spend, punches in _json_rows(
                conn, _NEAR_SQL, {"card": rule.name, "punches": rule.every - 1, "lost": lost}):
            near.setdefault(cid, []).append(f"{reward} ({rule.name} {punches}/{rule.every})")
            near_rows[cid] = (phone, name, last_at, visits_n, spend)
    overdue = []
    for cid, phone, name, visits_n, spend, days in _json_rows(conn, _RECENT_DAYS_SQL, {
            "recent": RHYTHM_VISITS - 1, "lost": lost, "floor": clock.to_db(floor_moment)}):
        median, last_day = rhythm(days)
        if median is None:
            continue  # one visit day: no rhythm to be late on
        days_since = (today - date.fromisoformat(last_day)).days
        if days_since > max(FLOOR_DAYS, RHYTHM_FACTOR * median):
            overdue.append((cid, phone, name, last_day, days_since, median, visits_n, spend))
    rows = []
    for cid, phone, name, last_day, days_since, median, visits_n, spend in sorted(
            overdue, key=lambda row: (-row[7], row[0])):  # biggest spenders first
        rows.append(("overdue", phone, name, last_day, days_since, _tidy(median), visits_n, spend,
                     "; ".join(near.pop(cid, [])) or None))
    for cid, reasons in sorted(near.items(), key=lambda item: (-near_rows[item[0]][4], item[0])):
        phone, name, last_at, visits_n, spend = near_rows[cid]
        last_day = _local_day(last_at, tz)
        days_since = (today - date.fromisoformat(last_day)).days if last_day else None
        rows.append(("one visit from a reward", phone, name, last_day, days_since, None, visits_n, spend,
                     "; ".join(reasons)))
    table = Table("rows", "Customers to call", AT_RISK_COLUMNS, lambda: iter(rows),
                  brief=("phone", "name", "reason", "days_since", "spend", "usual_gap_days", "next_reward",
                         "last_visit", "visits"))
    return ctx.report("at-risk", None, [table], rhythm_visits=RHYTHM_VISITS, factor=RHYTHM_FACTOR,
                      floor_days=FLOOR_DAYS, lost_after_days=LOST_DAYS)


def _tidy(number):
    """3.0 -> 3, 3.5 stays: a median of whole days is whole or a half."""
    if number is None:
        return None
    return int(number) if float(number).is_integer() else number


# ---- the catalogue ---------------------------------------------------------------------------

TITLES = {
    "summary": "Summary",
    "customers": "Customers",
    "visits": "Visits",
    "rewards": "Rewards",
    "liability": "Liability",
    "at-risk": "Customers at risk",
}
PERIODIC = {"summary": summary, "customers": customers, "visits": visits, "rewards": rewards}
SNAPSHOT = {"liability": liability, "at-risk": at_risk}
NAMES = tuple(TITLES)


def build(name: str, ctx: Context, period: Period | None) -> Report:
    if name in PERIODIC:
        return PERIODIC[name](ctx, period)
    if name in SNAPSHOT:
        return SNAPSHOT[name](ctx)
    raise BadInput(f"unknown report {name!r} (reports: {', '.join(NAMES)})")
