"""Property tests of the ledger, through the real store and engine.

- no balance ever goes negative through visits and redemptions (refusals refuse);
- the cached balances always equal the ledger (what `loyalty doctor` checks);
- voiding a visit restores the exact previous balances and open vouchers;
- replaying a history gives the same ledger.
"""

import os
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.services import counter
from loyalty_cli.services.session import Session
from loyalty_cli.store import counter as store
from loyalty_cli.store import doctor as store_doctor
from tests.conftest import SAMPLE

PHONES = ["333 123 4567", "347 765 4321", "320 555 1234"]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

amounts = st.integers(min_value=0, max_value=40000).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")
visit_op = st.tuples(st.just("visit"), st.sampled_from(PHONES), amounts, st.integers(0, 4))
credit_op = st.tuples(st.just("credit"), st.sampled_from(PHONES), amounts, st.just(0))
rewards = st.sampled_from(["free-cone", "five-off"])
reward_op = st.tuples(st.just("reward"), st.sampled_from(PHONES), rewards, st.just(0))
operations = st.lists(st.one_of(visit_op, visit_op, credit_op, reward_op), min_size=1, max_size=25)


@contextmanager
def fresh_session():
    saved = {k: os.environ.get(k) for k in ("LOYALTY_NOW",)}
    with tempfile.TemporaryDirectory() as folder:
        session = Session(str(Path(folder) / "p.db"), str(SAMPLE))
        session.writable_conn  # noqa: B018 - every history starts from an empty database
        try:
            yield session
        finally:
            session.close()
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def tick(step: int) -> None:
    os.environ["LOYALTY_NOW"] = (START + timedelta(hours=step)).isoformat()


def apply(session, op) -> None:
    kind, phone, value, items = op
    try:
        if kind == "visit":
            counter.record_visit(session, phone, amount_text=value, items=items)
        elif kind == "credit":
            counter.redeem(session, phone, None, credit_text=value)
        else:
            counter.redeem(session, phone, value)
    except (Refused, BadInput):
        pass  # short balance, unknown customer, zero credit: refused, and nothing written


def snapshot(session) -> dict:
    conn = session.conn
    out = {}
    for row in conn.execute("SELECT * FROM customers ORDER BY phone"):
        vouchers = sorted(v["code"] for v in store.open_vouchers(conn, row["id"]))
        out[row["phone"]] = (row["points"], row["credit"], store.punches_of(row), vouchers)
    return out


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(operations)
def test_balances_never_negative_and_always_match_the_ledger(ops):
    with fresh_session() as session:
        for step, op in enumerate(ops):
            tick(step)
            apply(session, op)
            for points, credit, punches, _vouchers in snapshot(session).values():
                assert points >= 0 and credit >= 0 and all(n >= 0 for n in punches.values())
        assert store_doctor.balance_problems(session.conn) == []
        assert store_doctor.voucher_problems(session.conn) == []


@SETTINGS
@given(operations, st.sampled_from(PHONES), amounts, st.integers(0, 4))
def test_void_restores_the_exact_previous_state(ops, phone, amount, items):
    with fresh_session() as session:
        for step, op in enumerate(ops):
            tick(step)
            apply(session, op)
        tick(len(ops))
        counter.record_visit(session, phone, amount_text="0")  # make sure the customer exists
        before = snapshot(session)
        visit = counter.record_visit(session, phone, amount_text=amount, items=items)
        counter.void(session, visit["visit_id"], "property test")
        assert snapshot(session) == before
        assert store_doctor.balance_problems(session.conn) == []


visit_history = st.lists(st.tuples(st.sampled_from(PHONES), amounts, st.integers(0, 4),
                                   st.integers(min_value=1, max_value=24 * 40)), min_size=1, max_size=30)


def replay(history) -> list:
    with fresh_session() as session:
        hours = 0
        for phone, amount, items, gap in history:
            hours += gap
            os.environ["LOYALTY_NOW"] = (START + timedelta(hours=hours)).isoformat()
            counter.record_visit(session, phone, amount_text=amount, items=items)
        rows = session.conn.execute(
            "SELECT c.phone, l.at, l.kind, l.points, l.punches, l.credit, l.rule, l.visit_id, l.reward, l.earned_at "
            "FROM ledger l JOIN customers c ON c.id = l.customer_id ORDER BY l.id").fetchall()
        return [tuple(row) for row in rows]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visit_history)
def test_replaying_a_history_gives_the_same_ledger(history):
    assert replay(history) == replay(history)
