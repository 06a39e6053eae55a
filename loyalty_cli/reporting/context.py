"""What every report reads through: one connection, one config, one 'now', and the helpers that
run report SQL.

Nothing in the reports loops in Python over visits or ledger lines. Sums, counts, distinct
customers, the points due to expire (but for the few customers whose kept lot book an import
has overtaken: store/lots.py) and each customer's visit rhythm are computed by SQLite
(migration `_v3` adds the covering indexes that make those range scans of an index). Python
only touches what is already small: a handful of totals, the per-day series, one row per customer.
"""

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime

from loyalty_cli.domain import clock
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.output.model import Report, Table
from loyalty_cli.reporting.period import Period, expiry_horizon
from loyalty_cli.store import counter as store
from loyalty_cli.store import lots as store_lots

NOTHING_DUE = (0, 0)  # points_due() of a customer it leaves out
NO_VISITS_THIS_YEAR = (0, 0)  # year_figures() of a customer it leaves out


class Context:
    """What every report needs: the connection, the config and one 'now' for all of them, and
    the per-customer figures more than one report reads, computed once per run (or handed
    over by a BackgroundReports thread that computed them on the same database)."""

    SHARED_FIGURES = ("points_due", "year_figures")  # the methods whose results are kept for the run

    def __init__(self, conn, config, now: datetime, fit_models: bool = True, location: str | None = None):
        self.conn, self.config, self.now = conn, config, now
        self.location = location  # the one location every report reads (store/locations.py), None: all
        if location is not None:
            _restrict(conn, location)
        # False in the nightly export: fitting BG/NBD for at-risk's p_alive doubles its time
        self.fit_models = fit_models
        self._figures: dict = {}
        self._arriving: dict = {}  # name -> threading.Event, set when another thread is done with it

    def wait_for(self, name: str, arrived) -> None:
        """Another thread computes figure `name`: wait until `arrived` is set rather than compute it
        here too. If by then it has not been handed over, it is computed here after all."""
        self._arriving[name] = arrived

    def hand_over(self, name: str, value) -> None:
        self._figures[name] = value

    def _figure(self, name: str, compute):
        if name not in self._figures and name in self._arriving:
            self._arriving[name].wait()
        if name not in self._figures:
            self._figures[name] = compute()
        return self._figures[name]

    def points_due(self) -> dict[int, tuple[int, int]]:
        """customer id -> (points due to expire now, by period.expiry_horizon), where not (0, 0).

        What the lot engine says (domain/lots.py expiring_by), for everyone at once through
        store/lots.due_by: sums in SQL where they are exact, the engine where they are not.
        'Now' counts the points past expiry that `loyalty expire` has not written down yet, as
        the card does.
        """
        def compute():
            points_days = self.config.expiry.points_days
            if points_days is None:
                return {}
            return store_lots.due_by(self.conn, (self.now, expiry_horizon(self.today, self.config.tz)),
                                     points_days)

        return self._figure("points_due", compute)

    def year_figures(self) -> dict[int, tuple[int, int]]:
        """customer id -> (spend, visits) over the 365 days up to now, voided visits left out:
        what tiers are held on (as on the card, store/counter.year_figures), for everyone at once."""
        def compute():
            if not self.config.tiers:  # nothing to hold: skip the year's visits altogether
                return {}
            rows = json_rows(self.conn, (
                "SELECT json_group_array(json_array(customer_id, spend, visits)) FROM ("
                f"SELECT customer_id, SUM(amount) AS spend, COUNT(*) AS visits {store.TIER_WINDOW_VISITS} "
                "GROUP BY customer_id) figures"), store.tier_window(self.now))
            return {cid: (spend, visits) for cid, spend, visits in rows}

        return self._figure("year_figures", compute)

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
        if self.location is not None:
            out["location"] = self.location
        out["as_of"] = self.now.astimezone(self.config.tz).isoformat(timespec="seconds")
        out.update(extra)
        return out

    def report(self, name: str, title: str, period: Period | None, tables: list[Table], notes=(),
               **extra) -> Report:
        return Report(name, title, self.parameters(period, **extra), tables,
                      self.config.shop.currency, self.config.tz, list(notes), region=self.config.shop.phone_region)


def _restrict(conn, location: str) -> None:
    """Read only `location`'s part of the database; a name no visit was recorded at is refused
    with the names that were (a typo would otherwise give a report of zeros)."""
    from loyalty_cli.domain.errors import BadInput
    from loyalty_cli.store import locations

    if not locations.has_visits(conn, location):
        names = locations.known(conn)
        listed = Phrase("known: {names}", names=", ".join(names)) if names else Phrase("no visit has a location yet")
        raise BadInput(Phrase("--location {location}: no visit was recorded there ({listed})",
                              location=repr(location), listed=listed))
    locations.restrict_to(conn, location)


def fingerprint(conn) -> tuple:
    """What any change to balances, visits, vouchers or customers moves: the last ledger line,
    the last visit and the number of customers."""
    return query(conn, "SELECT (SELECT MAX(id) FROM ledger), (SELECT MAX(id) FROM visits), "
                       "(SELECT COUNT(*) FROM customers)").fetchone()


def query(conn, sql: str, args=()):
    """A cursor yielding plain tuples: the connection's sqlite3.Row factory costs a third of the
    time of a long report, and reports read columns by position anyway."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, args)


BREAKDOWN_COLUMNS = ("category", "location")  # what the summary breaks its visit figures down by


def visit_figures_per(conn, column: str, days: tuple[str, str], where: str = "", args=()) -> dict:
    """{value: (visits, customers, revenue)} over the non-voided visits of shop-local `days`, per
    value of the visits' `column` (None: the visits without one); `where` narrows them further."""
    if column not in BREAKDOWN_COLUMNS:
        raise ValueError(f"no breakdown by {column!r}")
    return {value: (visits, customers, revenue) for value, visits, customers, revenue in query(conn,
            f"SELECT {column}, COUNT(*), COUNT(DISTINCT customer_id), COALESCE(SUM(amount), 0) FROM visits "
            f"WHERE voided_at IS NULL AND local_day BETWEEN ? AND ?{where} GROUP BY {column}", (*days, *args))}


def producer(conn, sql: str, args) -> Callable[[], Iterator[tuple]]:
    """A Table's `produce`: runs the query afresh each time a writer asks for the rows."""
    return lambda: query(conn, sql, args)


def json_rows(conn, sql: str, args) -> list:
    """A query's rows as one JSON value: a single step of SQLite, so a report built in a thread
    (BackgroundReports) needs the GIL once, not once per row while the main thread is busy writing."""
    return json.loads(query(conn, sql, args).fetchone()[0])
