"""The pure rule engine, rule kind by rule kind, and the seed shops."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty_cli.config import load as config_module
from loyalty_cli.domain import model, rules
from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.model import Entry, State, Visit
from tests.conftest import EXAMPLES, SAMPLE

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def conf(text: str) -> model.Config:
    return config_module.parse(text.encode(), "test.toml")


def example(name: str) -> model.Config:
    return config_module.load(EXAMPLES / name)


def run_visits(config, amounts, items=None, start=T0, state=None):
    """Fold visits through the engine as the store would: returns (state, all entries)."""
    state = state or State()
    history = []
    for index, amount in enumerate(amounts):
        at = start + timedelta(days=index)
        visit = Visit(at, amount, 1 if items is None else items[index])
        outcome = rules.apply_visit(config, state, visit)
        history.append(outcome.entries)
        state = state.after(outcome.entries)
        state = State(state.points, state.credit, state.punches, state.year_spend + amount, state.year_visits + 1)
    return state, history


def rewards_in(history):
    return [e.reward for entries in history for e in entries if e.kind == "reward"]


# ---- punch cards -------------------------------------------------------------------------------

def test_ice_cream_free_cone_every_ten_purchases():
    config = example("ice_cream.toml")
    state, history = run_visits(config, [300] * 11)
    assert rewards_in(history[:9]) == []
    assert rewards_in([history[9]]) == ["free-cone"]
    assert state.punches == {"Cone card": 1}  # the 11th visit starts a new card


def test_car_wash_seventh_wash_free_after_six_paid():
    config = example("car_wash.toml")
    paid = 350000  # 3500 HUF in minor units
    state, history = run_visits(config, [paid] * 6)
    assert rewards_in(history) == ["free-wash"]
    assert state.punches == {"Wash card": 0}
    # The free 7th wash (amount 0) redeems the voucher and does not punch.
    outcome = rules.apply_visit(config, state, Visit(T0 + timedelta(days=7), 0))
    assert outcome.entries == []


def test_shoe_shop_discount_every_five_pairs_counts_items():
    config = example("shoe_shop.toml")
    state, history = run_visits(config, [8000, 16000, 12000], items=[1, 2, 3])
    assert rewards_in(history) == ["twenty-off"]  # 1 + 2 + 3 = 6 pairs: one card done
    assert state.punches == {"Pairs card": 1}


def test_items_card_can_complete_twice_in_one_visit():
    config = example("shoe_shop.toml")
    outcome = rules.apply_visit(config, State(punches={"Pairs card": 4}), Visit(T0, 50000, items=7))
    assert [e.kind for e in outcome.entries] == ["punch", "reward", "reward"]
    assert State(punches={"Pairs card": 4}).after(outcome.entries).punches == {"Pairs card": 1}


def test_min_amount_stops_a_punch():
    config = conf("""
[[rewards]]
id = "r"
kind = "free_item"
value = 1
[[rules]]
kind = "punch_card"
every = 3
min_amount = 5
reward = "r"
""")
    assert rules.apply_visit(config, State(), Visit(T0, 499)).entries == []
    assert [e.punches for e in rules.apply_visit(config, State(), Visit(T0, 500)).entries] == [1]


def test_punch_debt_is_paid_before_a_new_reward():
    config = example("ice_cream.toml")
    outcome = rules.apply_visit(config, State(punches={"Cone card": -1}), Visit(T0, 300))
    assert [e.kind for e in outcome.entries if e.punches] == ["punch"]


# ---- points, cashback and their rounding -------------------------------------------------------

def test_points_are_whole_units_rounded_down():
    config = conf('[[rules]]\nkind = "points"\nper_unit = 1\n')
    outcome = rules.apply_visit(config, State(), Visit(T0, 1299))
    assert [(e.kind, e.points, e.earned) for e in outcome.entries] == [("points", 12, True)]


def test_fractional_per_unit_rounds_down():
    config = conf('[[rules]]\nkind = "points"\nper_unit = 0.3\n')
    # 7 whole units x 0.3 = 2.1 -> 2
    assert rules.apply_visit(config, State(), Visit(T0, 799)).entries[0].points == 2


def test_points_min_amount():
    config = example("pharmacy.toml")
    assert rules.apply_visit(config, State(), Visit(T0, 499)).entries == []
    assert rules.apply_visit(config, State(), Visit(T0, 500)).entries[0].points == 5


def test_cashback_is_exact_in_cents_rounded_down():
    config = example("ice_cream.toml")
    credit = [e.credit for e in rules.apply_visit(config, State(), Visit(T0, 1250)).entries if e.credit]
    assert credit == [62]  # 5% of 12.50 = 0.625 -> 0.62
    credit = [e.credit for e in rules.apply_visit(config, State(), Visit(T0, 1260)).entries if e.credit]
    assert credit == [63]  # exactly 0.63
    assert [e for e in rules.apply_visit(config, State(), Visit(T0, 19)).entries if e.credit] == []


def test_cashback_in_forints():
    config = conf('[shop]\ncurrency = "HUF"\n[[rules]]\nkind = "cashback"\npercent = 3\n')
    # 3% of 1 999 Ft (199 900 minor) = 59.97 Ft -> 59 Ft (5 900 minor units): cash has no fillér
    assert rules.apply_visit(config, State(), Visit(T0, 199900)).entries[0].credit == 5900


# ---- tiers -------------------------------------------------------------------------------------

def test_tier_multiplier_applies_to_points_only():
    config = config_module.load(SAMPLE)
    gold = State(year_spend=29000, year_visits=3)
    outcome = rules.apply_visit(config, gold, Visit(T0, 1000))  # 290 + 10 = 300: Gold
    assert outcome.tier.name == "Gold"
    by_kind = {e.kind: e for e in outcome.entries}
    assert by_kind["points"].points == 15  # 10 x 1.5
    assert by_kind["cashback"].credit == 50  # 5%, no multiplier


def test_highest_tier_met_wins_and_either_threshold_counts():
    config = config_module.load(SAMPLE)
    assert rules.tier_for(config, 0, 11) is None
    assert rules.tier_for(config, 0, 12).name == "Silver"
    assert rules.tier_for(config, 30000, 0).name == "Gold"
    assert rules.tier_for(config, 30000, 50).name == "Gold"


# ---- enrolment, expiry, redemption, reversal ---------------------------------------------------

def test_welcome_and_referral():
    config = config_module.load(SAMPLE)
    mine, theirs = rules.enrolment(config, referred=True)
    assert [(e.kind, e.points) for e in mine] == [("welcome", 20), ("referral", 25)]
    assert [(e.kind, e.points) for e in theirs] == [("referral", 50)]
    mine, theirs = rules.enrolment(config, referred=False)
    assert [(e.kind, e.points) for e in mine] == [("welcome", 20)] and theirs == []


def test_expiry_entries():
    # which points expire, and when, is the lot engine's (tests/domain/test_lots.py)
    entry = rules.points_expiry(70, "2026-03-01")
    assert (entry.kind, entry.points, entry.reason) == ("expire", -70, "points earned on 2026-03-01 expired")
    config = config_module.load(SAMPLE)
    now = datetime(2027, 3, 1, tzinfo=UTC)
    assert rules.voucher_expires_at(config, now) == datetime(2027, 5, 29, 23, tzinfo=UTC)  # 01:00 in Rome, as issued


def test_buying_with_points_refuses_a_short_balance():
    config = config_module.load(SAMPLE)
    assert rules.buy_with_points(config, State(points=100), "free-cone").points == -100
    with pytest.raises(Refused, match="costs 100 points; the customer has 99"):
        rules.buy_with_points(config, State(points=99), "free-cone")
    with pytest.raises(Refused, match="cannot be bought with points"):
        rules.buy_with_points(config, State(points=999), "birthday-10")


def test_spending_credit_refuses_more_than_held():
    config = config_module.load(SAMPLE)
    assert rules.spend_credit(config, State(credit=500), 500).credit == -500
    with pytest.raises(Refused, match="not enough store credit"):
        rules.spend_credit(config, State(credit=499), 500)


def test_reversal_undoes_exactly():
    entry = Entry("points", points=12, punches=1, credit=62, rule="r", earned=True)
    undo = rules.reversal(entry, "void")
    assert State().after([entry, undo]) == State(punches={"r": 0})
    assert (undo.points, undo.punches, undo.credit, undo.earned) == (-12, -1, -62, True)


def test_engine_is_deterministic():
    config = config_module.load(SAMPLE)
    first = run_visits(config, [1250, 300, 4599, 10000] * 5)
    second = run_visits(config, [1250, 300, 4599, 10000] * 5)
    assert first == second


def test_pharmacy_points_toward_partner_gift_card():
    config = example("pharmacy.toml")
    state, _ = run_visits(config, [2500] * 8)  # 8 x 25 points
    assert state.points == 200
    entry = rules.buy_with_points(config, state, "spa-card")
    assert state.after([entry]).points == 0
    assert config.rewards["spa-card"].kind == "gift_card"
    assert config.rewards["spa-card"].face_value("EUR") == 1000


def test_percent_is_decimal_not_float():
    config = config_module.load(SAMPLE)
    assert isinstance(config.rules_of("cashback")[0].percent, Decimal)


# ---- vouchers live rewards_days local days -------------------------------------------------------

def _rome(*args):
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)


@pytest.mark.parametrize("issued, expires", [
    # noon on a winter (CET) day, across the change to summer time: noon CEST, 89 x 24 + 23 hours later
    (_rome(2026, 2, 10, 12), datetime(2026, 5, 11, 10, tzinfo=UTC)),
    # noon in summer, across the change back to winter time: noon CET
    (_rome(2026, 9, 1, 12), datetime(2026, 11, 30, 11, tzinfo=UTC)),
    # 02:30 on a day whose 02:30 the clocks skip (29 March 2026): read as 02:30 CET, i.e. 03:30 CEST
    (_rome(2025, 12, 29, 2, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    # 02:30 on a day that has it twice (25 October 2026): the first of the two, still summer time
    (_rome(2026, 7, 27, 2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
])
def test_a_voucher_expires_rewards_days_local_days_later_at_the_same_local_time(issued, expires):
    config = config_module.load(SAMPLE)  # Europe/Rome, vouchers live 90 days
    assert config.expiry.rewards_days == 90
    assert rules.voucher_expires_at(config, issued) == expires


def test_entry_init_takes_every_field_in_order_with_its_default():
    """Entry's __init__ is written by hand (model.py says why): it must stay the dataclass's."""
    import dataclasses
    import inspect

    parameters = list(inspect.signature(Entry).parameters.values())
    fields = dataclasses.fields(Entry)
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields]
    values = {f.name: f"value of {f.name}" for f in fields}
    entry = Entry(**values)
    assert dataclasses.asdict(entry) == values
    assert entry == Entry(**values) and hash(entry) == hash(Entry(**values))
    assert entry != Entry(**{**values, "card": None})
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.points = 3
