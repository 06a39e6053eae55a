"""Random counter histories against the lot engine, through the real services and store.

Visits (some back-dated, some beyond points_days), redemptions with points, voids, `loyalty
expire` runs and imported points (written straight into the ledger, as an import does: for
customers the counter never saw, and after a customer's kept book), with the clock moving
forward. After every step, domain/lots.py replaying the whole ledger is the truth:
- the cached balance is what the ledger sums to, and the card shows lots.points_now;
- a kept lot book, brought up to date, holds the same open lots;
- the reports' due points (store/lots.due_by: SQL sums, kept books, the engine) are lots.expiring_by;
- every expiry line is dated when its lot fell due; doctor's lot checks find nothing.
"""

import os
from contextlib import suppress
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_cli.domain import clock, lots
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.services import counter, views
from loyalty_cli.store import counter as store
from loyalty_cli.store import lots as store_lots
from tests.services.test_properties import START, fresh_session

PHONES = ["333 123 4567", "347 765 4321", "+393201112222"]
IMPORTED = "+393209998888"  # points only ever imported, until the counter sees them
POINTS_DAYS = 365  # the sample config's
HORIZON = timedelta(days=30)

visit_op = st.tuples(st.just("visit"), st.sampled_from(PHONES),
                     st.one_of(st.integers(0, 2000), st.integers(4000, 30000)),
                     st.one_of(st.just(0), st.integers(0, 800)))
redeem_op = st.tuples(st.just("redeem"), st.sampled_from(PHONES), st.just(0), st.just(0))
void_op = st.tuples(st.just("void"), st.just(""), st.integers(0, 1000), st.just(0))
expire_op = st.tuples(st.just("expire"), st.just(""), st.just(0), st.just(0))
tick_op = st.tuples(st.just("tick"), st.just(""), st.integers(1, 200), st.just(0))
import_op = st.tuples(st.just("import"), st.sampled_from([IMPORTED, *PHONES]), st.integers(1, 300),
                      st.integers(0, 800))
operations = st.lists(st.one_of(visit_op, visit_op, visit_op, redeem_op, redeem_op, void_op, expire_op, tick_op,
                                tick_op, import_op), min_size=10, max_size=30)


class Till:
    def __init__(self, session):
        self.session, self.now = session, START
        self.set_clock()

    def set_clock(self):
        os.environ["LOYALTY_NOW"] = self.now.isoformat()

    def visit(self, phone, cents, back_days):
        at = (self.now - timedelta(days=back_days, hours=1)).isoformat() if back_days else None
        counter.record_visit(self.session, phone, amount_text=f"{cents // 100}.{cents % 100:02d}", at_text=at)

    def redeem(self, phone, *_):
        counter.redeem(self.session, phone, "free-cone")

    def void(self, _, pick, __):
        open_visits = [row[0] for row in self.session.conn.execute(
            "SELECT id FROM visits WHERE voided_at IS NULL ORDER BY id")]
        if open_visits:
            counter.void(self.session, open_visits[pick % len(open_visits)])

    def expire(self, *_):
        counter.expire_all(self.session)

    def tick(self, _, days, __):
        self.now += timedelta(days=days)
        self.set_clock()

    def import_(self, phone, points, back_days):
        """Points as an import writes them: a ledger line and the cached balance, no book kept."""
        conn = self.session.writable_conn
        phone = self.session.phone(phone)
        with conn:
            row = store.customer_by_phone(conn, phone)
            customer_id = row["id"] if row else store.create_customer(conn, phone, self.now)
            earned = clock.to_db(self.now - timedelta(days=back_days))
            conn.execute("INSERT INTO ledger (customer_id, at, kind, points, earned_at) VALUES (?, ?, 'import', ?, ?)",
                         (customer_id, clock.to_db(self.now), points, earned))
            conn.execute("UPDATE customers SET points = points + ? WHERE id = ?", (points, customer_id))

    def apply(self, op):
        kind, phone, value, extra = op
        with suppress(Refused, BadInput):  # a short balance, an unknown customer: refused, nothing written
            getattr(self, "import_" if kind == "import" else kind)(phone, value, extra)

    def check(self):
        conn, config = self.session.conn, self.session.config
        due = store_lots.due_by(conn, (self.now, self.now + HORIZON), POINTS_DAYS)
        for row in conn.execute("SELECT * FROM customers ORDER BY id").fetchall():
            whole = store_lots.whole_book(conn, row["id"])
            assert row["points"] == whole.balance
            assert views.card(conn, config, row, self.now)["points"] == lots.points_now(whole, self.now, POINTS_DAYS)
            if store_lots.kept(conn, row["id"]) is not None:
                assert store_lots.book(conn, row["id"]).open() == whole.open()
            expected = tuple(lots.expiring_by(whole, moment, POINTS_DAYS) for moment in (self.now, self.now + HORIZON))
            assert due.get(row["id"], (0, 0)) == expected
        for at, earned_at in conn.execute("SELECT at, earned_at FROM ledger WHERE kind = 'expire' AND points != 0"):
            assert clock.from_db(at) == clock.from_db(earned_at) + timedelta(days=POINTS_DAYS)
        assert store_lots.problems(conn) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_the_counter_keeps_what_the_lot_engine_replays(ops):
    with fresh_session() as session:
        till = Till(session)
        for op in ops:
            till.apply(op)
            till.check()
