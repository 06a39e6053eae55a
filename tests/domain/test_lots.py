"""The lot engine: hand-computed histories, then random ones against a naive model.

The model (`Story`) keeps no lots between questions: it is the list of what happened at the
counter, and every question re-reads it from the start, one point at a time, each point a
thing with an earn time that is open, spent, expired or taken back. The engine reads ledger
lines (with the expiries and voids the counter wrote from its answers) and keeps lots as sums.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_cli.domain import lots
from loyalty_cli.domain.lots import Event, Expiry, Reversal

YEAR = 365
JAN = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)


class Ledger:
    """A customer's ledger lines as the counter would write them, ids in the order written."""

    def __init__(self):
        self.events: list[Event] = []

    def add(self, kind, points, at, visit=None, lot=None) -> int:
        event_id = len(self.events) + 1
        self.events.append(Event(event_id, kind, points, at, visit=visit, lot=lot))
        return event_id

    def earn(self, points, at, visit=None, kind="points") -> int:
        return self.add(kind, points, at, visit=visit)

    def redeem(self, points, at) -> int:
        return self.add("redeem", -points, at)

    def expire(self, now, points_days=YEAR) -> list[Expiry]:
        due = lots.due(self.book, now, points_days)
        for expiry in due:
            self.add("expire", -expiry.points, expiry.due_at, lot=expiry.lot)
        return due

    def void(self, visit) -> list[Reversal]:
        reversals = lots.void(self.book, visit)
        for reversal in reversals:
            self.add("void", reversal.points, reversal.earned_at, visit=visit, lot=reversal.lot)
        return reversals

    @property
    def book(self) -> lots.Book:
        return lots.replay(self.events)

    @property
    def balance(self) -> int:
        assert self.book.balance == sum(event.points for event in self.events)  # what doctor checks
        return self.book.balance


# ---- hand-computed histories -------------------------------------------------------------------

def test_a_back_dated_lot_does_not_rewrite_an_earlier_redemption():
    ledger = Ledger()
    ledger.earn(20, JAN, kind="welcome")
    ledger.earn(100, JAN, visit=1)
    ledger.redeem(100, JAN + timedelta(days=30))  # Feb: the 20 welcome points and 80 of the visit's
    december = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
    back_dated = ledger.earn(200, december, visit=2)  # typed in March with --at 2025-12-01
    now = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    assert lots.points_now(ledger.book, now, YEAR) == 20  # the December lot is whole, and gone
    assert lots.due(ledger.book, now, YEAR) == [Expiry(back_dated, 200, december + timedelta(days=YEAR), december)]
    # the old formula, balance less points earned since the cutoff, kept 220 - 100 = 120: it assumed date order


def test_a_later_redemption_spends_the_back_dated_lot_first():
    ledger = Ledger()
    march = ledger.earn(50, JAN + timedelta(days=60), visit=1)
    january = ledger.earn(30, JAN, visit=2)  # written after, dated before
    assert lots.spend(ledger.book, 40) == [(january, 30), (march, 10)]
    ledger.redeem(40, JAN + timedelta(days=70))
    assert [(lot.id, lot.left) for lot in ledger.book.lots] == [(january, 0), (march, 40)]


def test_partial_consumption_across_lots():
    ledger = Ledger()
    first = ledger.earn(100, JAN)
    second = ledger.earn(60, JAN + timedelta(days=1))
    ledger.redeem(30, JAN + timedelta(days=2))
    assert [lot.left for lot in ledger.book.lots] == [70, 60]
    ledger.redeem(80, JAN + timedelta(days=3))
    assert [(lot.id, lot.left) for lot in ledger.book.lots] == [(first, 0), (second, 50)]
    assert ledger.balance == 50


def test_lots_earned_at_the_same_moment_go_in_the_order_written():
    ledger = Ledger()
    welcome = ledger.earn(20, JAN, kind="welcome")
    visit = ledger.earn(100, JAN, visit=1)
    assert lots.spend(ledger.book, 50) == [(welcome, 20), (visit, 30)]


def test_expiry_falls_due_at_earn_time_plus_points_days():
    ledger = Ledger()
    lot = ledger.earn(40, JAN)
    ledger.redeem(15, JAN + timedelta(days=10))
    due_at = JAN + timedelta(days=YEAR)
    assert lots.due(ledger.book, due_at - timedelta(seconds=1), YEAR) == []
    assert lots.due(ledger.book, due_at, YEAR) == [Expiry(lot, 25, due_at, JAN)]  # at that very moment
    assert lots.points_now(ledger.book, due_at - timedelta(seconds=1), YEAR) == 25
    assert lots.points_now(ledger.book, due_at, YEAR) == 0  # shown gone before it is written
    written = ledger.expire(due_at + timedelta(days=40))  # the job ran weeks later ...
    assert written == [Expiry(lot, 25, due_at, JAN)]  # ... the entry says when the points fell due
    assert ledger.events[-1].at == due_at
    assert ledger.balance == 0 and lots.due(ledger.book, due_at + timedelta(days=900), YEAR) == []


def test_no_expiry_without_points_days():
    ledger = Ledger()
    ledger.earn(40, JAN)
    far = JAN + timedelta(days=10 * YEAR)
    assert lots.due(ledger.book, far, None) == [] and lots.expiring_by(ledger.book, far, None) == 0
    assert lots.points_now(ledger.book, far, None) == 40


def test_expiring_by_the_end_of_a_day_counts_what_is_due_but_unwritten():
    ledger = Ledger()
    ledger.earn(10, JAN)  # due 2027-01-10 11:00
    ledger.earn(5, JAN + timedelta(days=20))  # due 2027-01-30 11:00
    end_of_jan_10 = datetime(2027, 1, 10, 23, 0, tzinfo=UTC)  # midnight in Rome
    assert lots.expiring_by(ledger.book, end_of_jan_10, YEAR) == 10
    assert lots.expiring_by(ledger.book, end_of_jan_10 + timedelta(days=30), YEAR) == 15
    assert lots.expiring_by(ledger.book, datetime(2027, 1, 10, 10, 59, tzinfo=UTC), YEAR) == 0


def test_void_of_a_middle_visit_takes_back_only_its_lot():
    ledger = Ledger()
    for visit, points in enumerate((10, 20, 30), start=1):
        ledger.earn(points, JAN + timedelta(days=visit), visit=visit)
    [undo] = ledger.void(2)
    assert (undo.points, undo.expired) == (-20, 0)
    assert [(lot.visit, lot.left, lot.voided) for lot in ledger.book.lots] == [(1, 10, 0), (2, 0, 20), (3, 30, 0)]
    assert ledger.balance == 40


def test_void_after_a_partial_spend_takes_the_spent_part_from_other_lots_then_owes_it():
    ledger = Ledger()
    ledger.earn(50, JAN, visit=1)
    ledger.earn(50, JAN + timedelta(days=30), visit=2)
    ledger.redeem(70, JAN + timedelta(days=40))  # visit 1's lot and 20 of visit 2's
    [undo] = ledger.void(1)
    assert undo.points == -50  # all of it: spent points are owed, not forgiven
    assert ledger.balance == -20 and ledger.book.owed == 20
    assert lots.due(ledger.book, JAN + timedelta(days=5 * YEAR), YEAR) == []  # a debt does not expire
    later = ledger.earn(30, JAN + timedelta(days=60), visit=3)
    assert ledger.book.owed == 0 and {lot.id: lot.left for lot in ledger.book.lots}[later] == 10
    assert ledger.expire(JAN + timedelta(days=60 + YEAR)) == [
        Expiry(later, 10, JAN + timedelta(days=60 + YEAR), JAN + timedelta(days=60))]


def test_void_spends_other_open_lots_before_owing():
    ledger = Ledger()
    ledger.earn(100, JAN, visit=1)
    other = ledger.earn(100, JAN + timedelta(days=30), visit=2)
    ledger.redeem(100, JAN + timedelta(days=40))  # all of visit 1's lot
    ledger.void(1)
    assert ledger.balance == 0 and ledger.book.owed == 0
    assert {lot.id: lot.left for lot in ledger.book.lots}[other] == 0  # nothing left there to expire
    assert lots.due(ledger.book, JAN + timedelta(days=2 * YEAR), YEAR) == []


def test_void_after_the_points_expired_takes_back_nothing_twice():
    # tests/test_counter.py: 20 welcome + 100 on 2025-01-01, all expired, then the visit voided
    ledger = Ledger()
    start = datetime(2025, 1, 1, 11, 0, tzinfo=UTC)
    ledger.earn(20, start, kind="welcome")
    ledger.earn(100, start, visit=1)
    assert sum(e.points for e in ledger.expire(datetime(2026, 1, 10, 11, 0, tzinfo=UTC))) == 120
    assert ledger.void(1) == [Reversal(2, 0, 100, start)]
    assert ledger.balance == 0


def test_void_after_points_were_spent_and_the_rest_expired():
    # tests/test_counter.py: 20 + 200, 100 spent (20 + 80), 120 lapsed, then the visit voided: -80 owed
    ledger = Ledger()
    start = datetime(2025, 1, 1, 11, 0, tzinfo=UTC)
    ledger.earn(20, start, kind="welcome")
    ledger.earn(200, start, visit=1)
    ledger.redeem(100, start)
    assert [e.points for e in ledger.expire(datetime(2026, 1, 10, 11, 0, tzinfo=UTC))] == [120]
    assert ledger.void(1) == [Reversal(2, -80, 120, start)]
    assert ledger.balance == -80


def test_a_visit_with_two_lots_is_voided_lot_by_lot():
    ledger = Ledger()
    points = ledger.earn(30, JAN, visit=1)
    bonus = ledger.earn(5, JAN, visit=1, kind="referral")
    ledger.earn(7, JAN, kind="welcome")  # the enrolment's: stays
    assert [(r.lot, r.points) for r in ledger.void(1)] == [(points, -30), (bonus, -5)]
    assert ledger.balance == 7


def test_old_expiry_lines_without_a_lot_take_the_oldest_points():
    ledger = Ledger()
    old = ledger.earn(30, JAN)
    new = ledger.earn(30, JAN + timedelta(days=200))
    ledger.add("expire", -40, JAN + timedelta(days=YEAR + 5))  # written by the balance formula
    assert {lot.id: (lot.left, lot.expired) for lot in ledger.book.lots} == {old: (0, 30), new: (20, 10)}


def test_several_years_of_lots():
    ledger = Ledger()
    for half_year in range(6):  # 10 points every 182 days for three years
        ledger.earn(10, JAN + timedelta(days=182 * half_year), visit=half_year)
    ledger.redeem(15, JAN + timedelta(days=200))  # the first lot and 5 of the second
    now = JAN + timedelta(days=3 * YEAR)
    written = ledger.expire(now)
    assert [(e.points, e.due_at) for e in written] == [
        (5, JAN + timedelta(days=182 + YEAR)), (10, JAN + timedelta(days=364 + YEAR)),
        (10, JAN + timedelta(days=546 + YEAR)), (10, JAN + timedelta(days=728 + YEAR))]
    assert ledger.balance == 10 and lots.points_now(ledger.book, now, YEAR) == 10
    assert lots.expiring_by(ledger.book, JAN + timedelta(days=910 + YEAR), YEAR) == 10


# ---- random histories against the naive model ---------------------------------------------------

@dataclass
class Point:
    lot: int
    at: datetime
    visit: int | None
    state: str = "open"  # open | spent | expired | back (taken back by a void)


class Story:
    """What happened at the counter, re-read from the start for every question."""

    def __init__(self, points_days: int):
        self.days = timedelta(days=points_days)
        self.happened: list[tuple] = []

    def points(self) -> tuple[list[Point], int]:
        """Every point ever earned, in its state now, and how many are owed."""
        points, owed = [], 0
        for what, *args in self.happened:
            if what == "earn":
                lot, at, visit, count = args
                for _ in range(count):
                    points.append(Point(lot, at, visit, "spent" if owed else "open"))  # a debt is paid first
                    owed -= 1 if owed else 0
            elif what == "expire":
                for point in points:
                    if point.state == "open" and point.at + self.days <= args[0]:
                        point.state = "expired"
            elif what == "redeem":
                owed += self.take(points, args[0], "spent")
            else:  # void: every point of the visit's lots not expired is taken back, each lot its own first
                for lot in sorted({p.lot for p in points if p.visit == args[0]}):
                    owed += self.take(points, sum(p.lot == lot and p.state != "expired" for p in points), "back", lot)
        return points, owed

    @staticmethod
    def take(points, count, state, lot=None) -> int:
        """Mark `count` open points (the lot's own, then the oldest); returns how many were missing."""
        open_ = sorted((p for p in points if p.state == "open"), key=lambda p: (p.lot != lot, p.at, p.lot))
        for point in open_[:count]:
            point.state = state
        return max(0, count - len(open_))

    def balance(self) -> int:
        points, owed = self.points()
        return sum(p.state == "open" for p in points) - owed

    def due(self, now) -> list[Expiry]:
        by_lot: dict[int, list[Point]] = {}
        for point in self.points()[0]:
            if point.state == "open" and point.at + self.days <= now:
                by_lot.setdefault(point.lot, []).append(point)
        found = [Expiry(lot, len(ps), ps[0].at + self.days, ps[0].at) for lot, ps in by_lot.items()]
        return sorted(found, key=lambda e: (e.due_at, e.lot))

    def expiring_by(self, *moments) -> list[int]:
        points = self.points()[0]
        return [sum(p.state == "open" and p.at + self.days <= moment for p in points) for moment in moments]

    def void(self, visit) -> list[Reversal]:
        by_lot: dict[int, list[Point]] = {}
        for point in self.points()[0]:
            if point.visit == visit:
                by_lot.setdefault(point.lot, []).append(point)
        return [Reversal(lot, -sum(p.state != "expired" for p in ps), sum(p.state == "expired" for p in ps),
                         ps[0].at) for lot, ps in sorted(by_lot.items())]


START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
# Gaps and back-dating are shares of points_days, so that lots are spent, voided and expired in
# every order whatever the expiry; a back-dating beyond 1 writes a lot that is due at once.
gaps = st.floats(min_value=0.0, max_value=0.4)
back_dating = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=2.0))
earn_op = st.tuples(st.just("earn"), gaps, back_dating, st.lists(st.integers(1, 25), min_size=1, max_size=2),
                    st.booleans())
redeem_op = st.tuples(st.just("redeem"), gaps, st.floats(0.01, 1.0))
void_op = st.tuples(st.just("void"), gaps, st.integers(0, 1000))
expire_op = st.tuples(st.just("expire"), gaps)
cron_op = st.tuples(st.just("cron"), gaps)
look_op = st.tuples(st.just("look"), gaps, st.floats(0.0, 1.5))
histories = st.lists(st.one_of(earn_op, earn_op, redeem_op, void_op, expire_op, cron_op, look_op),
                     min_size=12, max_size=40)


class Counter:
    """Drives both: writes the engine's answers into the ledger, after checking them against the
    model's; as at the real counter, due expiries are written before every change."""

    def __init__(self, points_days):
        self.days, self.ledger, self.story = points_days, Ledger(), Story(points_days)
        self.now, self.visits, self.voided = START, 0, set()

    def later(self, share) -> timedelta:
        return timedelta(hours=int(share * self.days * 24))

    def expire(self):
        assert lots.due(self.ledger.book, self.now, self.days) == self.story.due(self.now)
        self.ledger.expire(self.now, self.days)
        self.story.happened.append(("expire", self.now))

    def earn(self, back, amounts, in_a_visit):
        at = self.now - self.later(back)
        visit = None
        if in_a_visit:
            self.visits += 1
            visit = self.visits
        for points in amounts:
            lot = self.ledger.earn(points, at, visit=visit)
            self.story.happened.append(("earn", lot, at, visit, points))

    def redeem(self, share):
        balance = self.story.balance()
        if balance > 0:
            points = max(1, int(balance * share))
            self.ledger.redeem(points, self.now)
            self.story.happened.append(("redeem", points))

    def void(self, pick):
        left = [visit for visit in range(1, self.visits + 1) if visit not in self.voided]
        if left:
            visit = left[pick % len(left)]
            assert lots.void(self.ledger.book, visit) == self.story.void(visit)
            self.ledger.void(visit)
            self.story.happened.append(("void", visit))
            self.voided.add(visit)

    def cron(self):
        """An expiry run at the very moment the next points fall due."""
        dues = [p.at + self.story.days for p in self.story.points()[0] if p.state == "open"]
        if [due for due in dues if due > self.now]:
            self.now = min(due for due in dues if due > self.now)
            self.expire()

    def check(self):
        """What the ledger sums to, and what the card shows."""
        book, balance = self.ledger.book, self.story.balance()
        assert book.balance == balance == sum(e.points for e in self.ledger.events)
        assert lots.points_now(book, self.now, self.days) == balance - self.story.expiring_by(self.now)[0]
        assert book.owed == 0 or all(lot.left == 0 for lot in book.lots)  # owed only when nothing is open

    def look(self, ahead):
        """What the liability report asks, writing nothing: due now, and by a horizon; and by
        every lot's due moment and the second before it."""
        book = self.ledger.book
        assert lots.due(book, self.now, self.days) == self.story.due(self.now)
        horizons = [self.now + self.later(ahead)]
        horizons += [edge for lot in book.lots for edge in (lot.due_at(self.days) - timedelta(seconds=1),
                                                              lot.due_at(self.days))]
        assert [lots.expiring_by(book, horizon, self.days) for horizon in horizons] == \
            self.story.expiring_by(*horizons)


    def split(self):
        """A book kept after any line, closed lots dropped, then the later lines replayed on it:
        the same open lots as replaying the whole ledger (what a visit reads, store/lots.py)."""
        events, whole = self.ledger.events, self.ledger.book.open()
        for cut in range(len(events) + 1):
            assert lots.replay(events[cut:], lots.replay(events[:cut]).open()).open() == whole


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, points_days=st.sampled_from([30, 90, 365]))
def test_the_engine_agrees_with_the_naive_model(history, points_days):
    counter = Counter(points_days)
    for what, gap, *args in history:
        counter.now += counter.later(gap)
        if what != "look":
            counter.expire()  # the counter writes what is due before it changes anything
        if what != "expire":
            getattr(counter, what)(*args)
        counter.check()
    counter.look(0.1)
    counter.split()


@given(earnings=st.lists(st.tuples(st.integers(1, 40), st.integers(-3, 3), st.booleans()), min_size=1, max_size=12),
       cut=st.integers(0, 12), owed=st.integers(0, 30))
def test_new_lots_on_a_kept_book_are_what_the_whole_replay_gives(earnings, cut, owed):
    """A visit's usual lines, only earnings, on top of a kept book (replay's shortcut for them),
    in and out of earn-time order and with points owed: what the fold over every line gives."""
    debt = [Event(1, "redeem", -owed, START)] if owed else []
    events = debt + [Event(2 + index, "visit", points, START + timedelta(days=shift), index if visit else None)
                     for index, (points, shift, visit) in enumerate(earnings)]
    cut = min(cut, len(events))
    assert lots.replay(events[cut:], lots.replay(events[:cut])) == lots.replay(events)
