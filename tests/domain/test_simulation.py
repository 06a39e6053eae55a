"""domain/simulation.py on hand-computed histories: punch cards, rounding, tiers, expiry, no rules."""

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_cli.config import load
from loyalty_cli.domain import clock, lots
from loyalty_cli.domain.simulation import Person, simulate
from tests.conftest import EXAMPLES, SAMPLE

ROME = clock.zone("Europe/Rome")
START = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
END = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

HEAD = """[shop]
name = "Test"
currency = "EUR"
phone_region = "IT"
timezone = "Europe/Rome"

[[rewards]]
id = "free"
name = "Free coffee"
kind = "free_item"
value = 2.00
cost = 0.50
points = 100
"""


def config(body: str = ""):
    return load.parse((HEAD + body).encode(), "test.toml")


def row(customer: int, at: datetime, amount: int, items: int = 1, category=None) -> tuple:
    return customer, clock.to_db(at), clock.local_day(at, ROME), amount, items, category


def history(counts: dict[int, int], amount: int = 1000, step=timedelta(days=1)) -> list[tuple]:
    rows = [row(customer, START + step * n + timedelta(minutes=customer), amount)
            for customer, count in counts.items() for n in range(count)]
    return sorted(rows, key=lambda r: r[:2])


PUNCH = """
[[rules]]
kind = "punch_card"
name = "Card"
every = 10
reward = "free"
"""


def test_a_punch_card_every_ten_visits_gives_floor_of_visits_over_ten_per_customer():
    counts = {1: 7, 2: 10, 3: 23, 4: 40}
    [totals] = simulate([config(PUNCH)], history(counts), {}, END)
    assert totals.vouchers == {"free": sum(n // 10 for n in counts.values())} == {"free": 7}
    assert totals.punches == 80 and totals.visits == 80 and totals.customers == 4
    assert totals.customers_rewarded == 3
    assert totals.points_issued == totals.credit_issued == 0


def test_points_and_cashback_round_down():
    body = """
[[rules]]
kind = "points"
name = "Points"
per_unit = 1.5

[[rules]]
kind = "cashback"
name = "Back"
percent = 5
"""
    visits = [row(1, START, 1299), row(1, START + timedelta(hours=1), 1250), row(2, START + timedelta(hours=2), 19)]
    [totals] = simulate([config(body)], visits, {}, END)
    # floor(12 x 1.5) + floor(12 x 1.5) + 0 points; 5% of 12.99 = 0.64, of 12.50 = 0.62, of 0.19 = 0
    assert totals.points_issued == 18 + 18
    assert totals.credit_issued == 64 + 62


def test_a_tier_reached_mid_history_multiplies_from_that_visit_and_lapses_after_a_year():
    body = """
[[rules]]
kind = "points"
name = "Points"
per_unit = 1

[[tiers]]
name = "Silver"
min_visits = 3
multiplier = 2
perks = []
"""
    visits = history({1: 5}, amount=1000, step=timedelta(days=10))
    later = START + timedelta(days=40 + 400)
    visits.append(row(1, later, 1000))  # more than a year after the others: no tier again
    [totals] = simulate([config(body)], visits, {}, later + timedelta(days=1))
    assert totals.points_issued == 10 + 10 + 20 + 20 + 20 + 10
    assert totals.tiers == {"Silver": 0}
    [totals] = simulate([config(body)], visits[:5], {}, START + timedelta(days=41))
    assert totals.tiers == {"Silver": 1}


def test_a_config_with_no_rules_costs_nothing():
    [totals] = simulate([config()], history({1: 30, 2: 12}), {1: Person(date(1990, 1, 10), None)}, END)
    assert (totals.visits, totals.customers, totals.revenue) == (42, 2, 42_000)
    assert totals.punches == totals.points_issued == totals.credit_issued == totals.customers_rewarded == 0
    assert not totals.vouchers


def test_points_expire_as_the_lot_engine_says():
    body = """
[[rules]]
kind = "points"
name = "Points"
per_unit = 1

[expiry]
points_days = 30
"""
    rng = random.Random(3)
    visits = sorted((row(rng.randint(1, 4), START + timedelta(hours=rng.randint(0, 24 * 90)), rng.randint(100, 5000))
                     for _ in range(200)), key=lambda r: r[:2])
    end = START + timedelta(days=75)
    [totals] = simulate([config(body)], visits, {}, end)
    expired = 0
    for customer in range(1, 5):
        events = [lots.Event(n, "points", amount // 100, clock.from_db(at))
                  for n, (who, at, _day, amount, _items, _cat) in enumerate(visits)
                  if who == customer and amount >= 100]
        expired += sum(expiry.points for expiry in lots.due(lots.replay(events), end, 30))
    assert totals.points_expired == expired > 0
    assert totals.points_outstanding == totals.points_issued - expired


def test_remembered_outcomes_are_the_engines_own():
    """The sample has every kind of rule, a promotion, tiers, birthdays and a referral: replaying
    with and without the remembered outcomes gives the same figures."""
    sample = load.load(SAMPLE)
    rng = random.Random(11)
    visits = sorted((row(rng.randint(1, 30), START + timedelta(minutes=rng.randint(0, 60 * 24 * 700)),
                         rng.choice([150, 250, 999, 1250, 3000]), rng.choice([1, 1, 2]),
                         rng.choice([None, "gelato", "coffee"])) for _ in range(3000)), key=lambda r: r[:2])
    people = {n: Person(date(1990, rng.randint(1, 12), rng.randint(1, 28)), 1 if n % 7 == 0 else None)
              for n in range(1, 31) if n % 3}
    fast = simulate([sample], visits, people, END)[0]
    slow = simulate([sample], visits, people, END, remember=False)[0]
    assert fast == slow
    assert fast.vouchers["birthday-10"] > 0 and fast.vouchers["free-cone"] > 0 and fast.points_expired > 0


def test_promotion_windows_judged_per_hour_are_the_engines_own():
    """promotion_hours.Windows judges an hour once only where no bound, midnight or change of offset falls inside it:
    half-hour bounds, a +05:30 zone and the DST nights give what promotions.active gives visit by visit."""
    from loyalty_cli.domain import promotions
    from loyalty_cli.domain.promotion_hours import Windows

    body = """
[[promotions]]
name = "Afternoon"
points_multiplier = 2
weekdays = ["mon", "sat"]
hours = "14:30-17:00"

[[promotions]]
name = "Late"
bonus_points = 5
hours = "22:00-24:00"
from = 2025-03-01
until = 2025-11-30
min_amount = 500
"""
    rng = random.Random(5)
    for zone in ("Europe/Rome", "Asia/Kolkata", "America/St_Johns"):
        listed = config(body).promotions
        tz = clock.zone(zone)
        windows = Windows(listed, tz)
        moments = [datetime(2025, 3, 29, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 220))
                   for _ in range(4000)]
        moments += [datetime(2025, 3, 30, 0, tzinfo=UTC) + timedelta(minutes=n) for n in range(0, 240, 7)]
        for moment in moments:
            amount = rng.choice([100, 500, 900])
            expected = tuple(map(id, promotions.active(listed, moment.astimezone(tz), amount, None)))
            assert windows.running(clock.to_db(moment), amount, None) == expected, (zone, moment)
        assert any(judged is None for judged in windows.hours.values())  # some hours are judged visit by visit


def test_shares_give_every_config_to_exactly_one_process():
    from loyalty_cli.domain.replay_shares import shares

    configs = [load.load(SAMPLE), config(PUNCH), config(), config(PUNCH), config(), config(PUNCH)]
    for count in range(1, len(configs) + 1):
        for processes in range(1, 5):
            split = shares(configs[:count], processes)
            assert sorted(index for share in split for index in share) == list(range(count))
            assert len(split) <= processes and split[0], (count, processes, split)
    assert shares(configs[:4], 2)[0] != [0, 1, 2, 3]  # two processes do share four configs


def test_shares_find_the_split_greedy_misses():
    from loyalty_cli.domain.replay_shares import _best_owners, _greedy_owners

    def busiest(weights, starts, owners):
        loads = list(starts)
        for weight, owner in zip(weights, owners, strict=True):
            loads[owner] += weight
        return max(loads)

    weights, starts = [3, 3, 2, 2, 2], [0, 0]
    assert busiest(weights, starts, _greedy_owners(weights, starts)) == 7  # 3+2+2 | 3+2
    assert busiest(weights, starts, _best_owners(weights, starts)) == 6  # 3+3 | 2+2+2


def test_the_bench_scenarios_split_the_sample_from_the_three_examples():
    from loyalty_cli.domain.replay_shares import shares

    configs = [load.load(SAMPLE), *(load.load(EXAMPLES / f"{name}.toml") for name in ("cafe", "pharmacy", "ice_cream"))]
    # measured alone on the bench history: 4.8 s, 2.7 s, 1.5 s, 2.2 s, and the parent reads for 3.8 s
    assert shares(configs, 2) == [[0], [1, 2, 3]]


CARD = """
[[rules]]
kind = "punch_card"
name = "{name}"
count = "{count}"
every = {every}
min_amount = {min_amount}
reward = "free"
{categories}
"""


@st.composite
def _punch_programmes(draw) -> str:
    """One or two punch cards (by visits or items, small or large, some for one category), maybe
    points, a tier and a promotion with extra punches: what the remembered cards' part reads."""
    body = ""
    for name in draw(st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=2, unique=True)):
        body += CARD.format(name=name, count=draw(st.sampled_from(["visits", "items"])),
                            every=draw(st.integers(1, 12)), min_amount=draw(st.sampled_from([0, 5])),
                            categories=draw(st.sampled_from(["", 'categories = ["coffee"]'])))
    if draw(st.booleans()):
        body += '\n[[rules]]\nkind = "points"\nname = "Points"\nper_unit = 1\n'
    if draw(st.booleans()):
        body += '\n[[tiers]]\nname = "Silver"\nmin_visits = 5\nmultiplier = 2\n'
    if draw(st.booleans()):
        body += (f'\n[[promotions]]\nname = "Extra"\nextra_punches = {draw(st.integers(1, 3))}\n'
                 f'weekdays = ["{draw(st.sampled_from(["mon", "sat"]))}"]\n')
    return body


@settings(max_examples=60, deadline=None)
@given(_punch_programmes(), st.lists(st.tuples(st.integers(1, 3), st.integers(0, 60 * 24 * 40),
                                               st.sampled_from([300, 1000, 2500]), st.integers(1, 14),
                                               st.sampled_from([None, "coffee"])), min_size=1, max_size=80))
def test_cards_filled_from_remembered_visits_are_the_engines_own(body, drawn):
    """A remembered visit's cards are filled from the punch state at hand (_Scenario._fill), not
    remembered per state: every punch card, promotion and tier drawn gives what the engine gives
    visit by visit."""
    programme = load.parse((HEAD.replace("[shop]\n", '[shop]\ncategories = ["coffee", "tea"]\n') + body).encode(),
                           "test.toml")
    visits = sorted((row(customer, START + timedelta(minutes=minute), amount, items, category)
                     for customer, minute, amount, items, category in drawn), key=lambda r: r[:2])
    fast = simulate([programme], visits, {}, END)[0]
    assert fast == simulate([programme], visits, {}, END, remember=False)[0]
