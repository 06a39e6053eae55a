"""Issue 11 in the pure engine: promotions, birthday windows and categories."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty_cli.config import load as config_module
from loyalty_cli.domain import promotions, rules
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.model import State, Visit

ROME = ZoneInfo("Europe/Rome")
BASE = """
[shop]
currency = "EUR"
timezone = "Europe/Rome"
categories = ["coffee", "food", "prescriptions"]
[[rewards]]
id = "free-coffee"
kind = "free_item"
value = 1.5
[[rewards]]
id = "birthday-10"
kind = "percent_off"
value = 10
[[rules]]
kind = "punch_card"
name = "Coffee card"
every = 3
reward = "free-coffee"
[[rules]]
kind = "points"
name = "Points"
per_unit = 1
"""


def conf(extra: str = ""):
    return config_module.parse((BASE + extra).encode(), "test.toml")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)


def visit(config, at, amount=1000, category=None, state=None):
    return rules.apply_visit(config, state or State(), Visit(at, amount, 1, category))


def kinds(outcome):
    return [(e.kind, e.rule, e.points, e.punches, e.card) for e in outcome.entries]


TUESDAY_AFTERNOON = """
[[promotions]]
name = "Double Tuesday"
points_multiplier = 2
weekdays = ["tue"]
hours = "15:00-18:00"
"""


# ---- promotion windows ---------------------------------------------------------------------------

def test_weekday_and_hours_window_in_shop_time():
    config = conf(TUESDAY_AFTERNOON)
    inside = visit(config, local(2026, 6, 16, 15, 0))  # Tuesday 15:00 in Rome, 13:00 UTC
    assert inside.promotions == ("Double Tuesday",)
    assert ("promotion", "Double Tuesday", 10, 0, None) in kinds(inside)
    assert sum(e.points for e in inside.entries) == 20
    assert visit(config, local(2026, 6, 16, 18, 0)).promotions == ()  # end excluded
    assert visit(config, local(2026, 6, 16, 14, 59)).promotions == ()
    assert visit(config, local(2026, 6, 17, 16, 0)).promotions == ()  # Wednesday


def test_hours_across_midnight_are_refused():
    with pytest.raises(BadInput, match="ends before it starts"):
        conf('[[promotions]]\nname = "Late"\nbonus_points = 5\nhours = "22:00-02:00"\n')


def test_hours_to_midnight_with_24_00():
    config = conf('[[promotions]]\nname = "Late"\nbonus_points = 5\nhours = "22:00-24:00"\n')
    assert visit(config, local(2026, 6, 16, 23, 59)).promotions == ("Late",)
    assert visit(config, local(2026, 6, 17, 0, 0)).promotions == ()


def test_date_window_edges_are_shop_local_days():
    config = conf('[[promotions]]\nname = "December"\nbonus_points = 5\nfrom = 2026-12-01\nuntil = 2026-12-31\n')
    # 00:30 on 1 December in Rome is still 30 November in UTC: the shop's day counts
    assert visit(config, local(2026, 12, 1, 0, 30)).promotions == ("December",)
    assert visit(config, local(2026, 11, 30, 23, 59)).promotions == ()
    assert visit(config, local(2026, 12, 31, 23, 59)).promotions == ("December",)
    assert visit(config, local(2027, 1, 1, 0, 0)).promotions == ()


def test_dst_day_keeps_wall_clock_hours():
    config = conf('[[promotions]]\nname = "Morning"\nbonus_points = 5\nhours = "02:00-04:00"\n')
    # 29 March 2026: clocks go from 02:00 to 03:00 in Rome; 03:30 local is 01:30 UTC
    assert visit(config, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)).promotions == ("Morning",)
    # 25 October 2026: 02:30 happens twice, both are inside
    assert visit(config, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)).promotions == ("Morning",)
    assert visit(config, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)).promotions == ("Morning",)
    assert visit(config, datetime(2026, 10, 25, 3, 0, tzinfo=UTC)).promotions == ()  # 04:00 local


@pytest.mark.parametrize("extra, message", [
    ('hours = "18:00-15:00"', "ends before it starts"),
    ('hours = "25:00-26:00"', "not a time of day"),
    ('hours = "3pm"', "HH:MM-HH:MM"),
    ('weekdays = ["tuesday", "funday"]', "unknown weekday 'funday'"),
    ("weekdays = []", "non-empty list"),
    ("from = 2026-12-31\nuntil = 2026-12-01", "is before from"),
    ('from = 2026-06-15\nuntil = 2026-06-15\nweekdays = ["tue"]', "would never run"),
    ('from = "2026-12-01"', "TOML date"),
    ('categories = ["coffee"]\nexclude_categories = ["coffee"]', "both included and excluded"),
    ('categories = ["cofee"]', "did you mean 'coffee'"),
    ("points_multiplier = 0.5", "at least 1"),
])
def test_config_check_refuses_windows_that_make_no_sense(extra, message):
    with pytest.raises(BadInput, match=message):
        conf(f'[[promotions]]\nname = "P"\nbonus_points = 5\n{extra}\n')


def test_a_promotion_that_gives_nothing_and_duplicate_names_are_refused():
    with pytest.raises(BadInput, match="needs points_multiplier"):
        conf('[[promotions]]\nname = "Nothing"\n')
    with pytest.raises(BadInput, match="duplicate promotion name"):
        conf('[[promotions]]\nname = "A"\nbonus_points = 1\n[[promotions]]\nname = "A"\nbonus_points = 2\n')


def test_stacked_promotions_multipliers_multiply_bonuses_add():
    config = conf("""
[[promotions]]
name = "Double"
points_multiplier = 2
bonus_points = 3
[[promotions]]
name = "Triple"
points_multiplier = 1.5
extra_punches = 1
[[promotions]]
name = "More punches"
extra_punches = 2
""")
    outcome = visit(config, local(2026, 6, 16, 12, 0), amount=1000)  # 10 points from spend
    promo = {e.rule: e for e in outcome.entries if e.kind == "promotion" and e.points}
    assert promo["Double"].points == 10 + 3  # x2: +10, and the flat bonus is not multiplied
    assert promo["Triple"].points == 10  # x2 x1.5 = 30 in all: +10 more
    assert sum(e.points for e in outcome.entries) == 33
    punches = [(e.rule, e.card, e.punches) for e in outcome.entries if e.kind == "promotion" and e.punches]
    assert punches == [("Triple", "Coffee card", 1), ("More punches", "Coffee card", 2)]
    # 1 + 3 extra = 4 punches on a card of 3: a reward, one punch left open
    state = State().after(outcome.entries)
    assert state.punches == {"Coffee card": 1}
    assert [e.reward for e in outcome.entries if e.kind == "reward"] == ["free-coffee"]


def test_promotion_min_amount():
    config = conf('[[promotions]]\nname = "Big"\nbonus_points = 5\nmin_amount = 20\n')
    assert visit(config, local(2026, 6, 16, 12, 0), amount=1999).promotions == ()
    assert visit(config, local(2026, 6, 16, 12, 0), amount=2000).promotions == ("Big",)


# ---- categories ----------------------------------------------------------------------------------

def test_categories_include_and_exclude():
    config = config_module.parse(BASE.replace(
        'reward = "free-coffee"\n', 'reward = "free-coffee"\ncategories = ["coffee"]\n').replace(
        "per_unit = 1\n", 'per_unit = 1\nexclude_categories = ["prescriptions"]\n').encode(), "test.toml")
    at = local(2026, 6, 16, 12, 0)
    assert [e.kind for e in visit(config, at, category="coffee").entries] == ["punch", "points"]
    assert [e.kind for e in visit(config, at, category="food").entries] == ["points"]
    assert [e.kind for e in visit(config, at, category=None).entries] == ["points"]
    assert visit(config, at, category="prescriptions").entries == []


def test_categories_need_the_shop_list():
    text = BASE.replace('categories = ["coffee", "food", "prescriptions"]\n', "").replace(
        "per_unit = 1\n", 'per_unit = 1\ncategories = ["coffee"]\n')
    with pytest.raises(BadInput, match=r"list the shop's categories in \[shop\] categories"):
        config_module.parse(text.encode(), "test.toml")


def test_promotion_on_a_category_only():
    config = conf('[[promotions]]\nname = "Coffee hour"\nextra_punches = 1\ncategories = ["coffee"]\n')
    at = local(2026, 6, 16, 12, 0)
    assert visit(config, at, category="coffee").promotions == ("Coffee hour",)
    assert visit(config, at, category="food").promotions == ()


# ---- birthdays -----------------------------------------------------------------------------------

BIRTHDAY = '[[rules]]\nkind = "birthday"\nreward = "birthday-10"\ndays_before = 7\ndays_after = 7\n'


def birthday_state(born: date, issued=()):
    return State(birthday=born, birthday_vouchers=tuple(("birthday", day) for day in issued))


def vouchers(outcome):
    return [(e.reward, e.reason) for e in outcome.entries if e.kind == "reward"]


def test_birthday_window_across_the_year_boundary():
    config = conf(BIRTHDAY)
    born = date(1990, 1, 2)
    # 27 December 2026 is 6 days before 2 January 2027: inside
    assert vouchers(visit(config, local(2026, 12, 27, 12, 0), state=birthday_state(born))) == [
        ("birthday-10", "birthday 2027-01-02")]
    assert vouchers(visit(config, local(2026, 12, 26, 12, 0), state=birthday_state(born))) == [
        ("birthday-10", "birthday 2027-01-02")]  # the 7th day before: edges included
    assert vouchers(visit(config, local(2026, 12, 25, 12, 0), state=birthday_state(born))) == []
    assert vouchers(visit(config, local(2027, 1, 9, 23, 0), state=birthday_state(born))) == [
        ("birthday-10", "birthday 2027-01-02")]
    assert vouchers(visit(config, local(2027, 1, 10, 0, 0), state=birthday_state(born))) == []


def test_birthday_once_per_birthday():
    config = conf(BIRTHDAY)
    born = date(1990, 1, 2)
    # issued on 28 December 2026 for the 2027 birthday: nothing more in that window...
    done = birthday_state(born, issued=[date(2026, 12, 28)])
    assert vouchers(visit(config, local(2027, 1, 3, 12, 0), state=done)) == []
    # ...but the next year's birthday is a new one
    assert vouchers(visit(config, local(2028, 1, 1, 12, 0), state=done)) == [("birthday-10", "birthday 2028-01-02")]


def test_birthday_on_29_february():
    config = conf('[[rules]]\nkind = "birthday"\nreward = "birthday-10"\n')  # days 0 and 0: the day only
    born = date(2000, 2, 29)
    assert vouchers(visit(config, local(2027, 2, 28, 12, 0), state=birthday_state(born))) == [
        ("birthday-10", "birthday 2027-02-28")]
    assert vouchers(visit(config, local(2027, 3, 1, 12, 0), state=birthday_state(born))) == []
    assert vouchers(visit(config, local(2028, 2, 29, 12, 0), state=birthday_state(born))) == [
        ("birthday-10", "birthday 2028-02-29")]
    assert vouchers(visit(config, local(2028, 2, 28, 12, 0), state=birthday_state(born))) == []


def test_no_birthday_on_file_no_voucher():
    assert vouchers(visit(conf(BIRTHDAY), local(2027, 1, 2, 12, 0))) == []


def test_birthday_for_is_pure_window_arithmetic():
    rule = conf(BIRTHDAY).rules_of("birthday")[0]
    assert promotions.birthday_for(rule, date(1990, 12, 30), date(2027, 1, 5)) == date(2026, 12, 30)
    assert promotions.birthday_for(rule, date(1990, 6, 1), date(2027, 1, 5)) is None


def test_sample_and_examples_show_each_feature():
    from tests.conftest import EXAMPLES, SAMPLE

    sample = config_module.load(SAMPLE)
    assert sample.promotions and sample.rules_of("birthday") and sample.shop.categories
    cafe = config_module.load(EXAMPLES / "cafe.toml")
    assert cafe.rules_of("punch_card")[0].categories == ("coffee",)
    assert cafe.promotions[0].points_multiplier == 2 and cafe.promotions[0].hours is not None
    pharmacy = config_module.load(EXAMPLES / "pharmacy.toml")
    assert pharmacy.rules_of("points")[0].exclude_categories == ("prescriptions",)
