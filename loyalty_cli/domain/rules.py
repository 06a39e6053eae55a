"""The rule engine: a pure function of (config, customer state, event) -> ledger entries.

No I/O and no clock: the caller hands in the time. The same history replayed through it
gives the same entries, which is what audits and what-if simulations rely on.

Rounding (stated once, tested in tests/test_rules.py):
- points: floor(whole currency units spent x per_unit x tier multiplier); 12.99 EUR at 1 per
  unit is 12 points, at 1.5x it is 18.
- cashback: percent of the amount, rounded down to the minor unit; 5% of 12.50 EUR is 0.62.
"""

from datetime import datetime, timedelta

from loyalty_cli.domain import clock, locale_format, money, promotions
from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import Config, Entry, Outcome, State, Tier, Visit

TIER_WINDOW = timedelta(days=365)


def tier_for(config: Config, spend: int, visits: int) -> Tier | None:
    """The highest tier (tiers are listed lowest first) whose threshold is met."""
    held = None
    for tier in config.tiers:
        by_spend = tier.min_spend is not None and spend >= tier.min_spend
        by_visits = tier.min_visits is not None and visits >= tier.min_visits
        if by_spend or by_visits:
            held = tier
    return held


def apply_visit(config: Config, state: State, visit: Visit) -> Outcome:
    """What one visit earns. The visit itself counts towards the tier it is earned at.

    Promotions and birthdays are judged at the visit's shop-local time; each promotion's extra
    points and punches are entries of their own (kind 'promotion', rule = its name).
    """
    tier = tier_for(config, state.year_spend + visit.amount, state.year_visits + 1)
    multiplier = tier.multiplier if tier else 1
    local = visit.at.astimezone(config.tz)
    running = promotions.active(config.promotions, local, visit.amount, visit.category)
    entries, spend_points = [], 0
    for rule in config.visit_rules:
        if not promotions.qualifies(rule, visit.category):
            continue
        if rule.kind == "punch_card":
            entries += _punch(rule, state, visit, running)
        elif rule.kind == "points" and visit.amount >= rule.min_amount:
            units = money.whole_units(visit.amount, config.shop.currency)
            points = money.round_toward_zero(units * rule.per_unit * multiplier)
            if points > 0:
                reason = f"{units} x {rule.per_unit}" + (f" x {multiplier} ({tier.name})" if tier else "")
                entries.append(Entry("points", points=points, rule=rule.name, reason=reason, earned=True))
                spend_points += points
        elif rule.kind == "cashback" and visit.amount >= rule.min_amount:
            credit = money.percent_of(visit.amount, rule.percent, config.shop.currency)
            if credit > 0:
                entries.append(Entry("cashback", credit=credit, rule=rule.name, reason=f"{rule.percent}%"))
        elif rule.kind == "birthday":
            entries += _birthday(rule, state, local.date())
    entries += _promotion_points(running, spend_points)
    return Outcome(entries, tier, tuple(promotion.name for promotion in running))


def _punch(rule, state: State, visit: Visit, running=()) -> list:
    entries = punched(rule, visit, running)
    if entries:
        entries += cards_filled(rule, state.punches.get(rule.name, 0) + sum(entry.punches for entry in entries))
    return entries


def punched(rule, visit: Visit, running=()) -> list:
    """A punch card's punches at this visit, its own and the running promotions' extra ones: what
    the card's open punches do not change (cards_filled is what they do)."""
    if visit.amount < rule.min_amount:
        return []
    count = 1 if rule.count == "visits" else visit.items
    if count <= 0:
        return []
    entries = [Entry("punch", punches=count, rule=rule.name)]
    for promotion in running:
        if promotion.extra_punches:
            entries.append(Entry("promotion", punches=promotion.extra_punches, rule=promotion.name,
                                 card=rule.name, reason=f"{promotion.extra_punches} extra on {rule.name}"))
    return entries


def cards_filled(rule, open_punches: int) -> list:
    """A voucher for each full card in `open_punches` (the card's open punches with this visit's):
    each takes `every` punches off the card."""
    entries = []
    while open_punches >= rule.every:
        entries.append(Entry("reward", punches=-rule.every, rule=rule.name, reward=rule.reward,
                             reason=f"card of {rule.every} complete"))
        open_punches -= rule.every
    return entries


def _promotion_points(running, spend_points: int) -> list:
    """Each promotion's points: what its multiplier adds to the points from spend (multipliers
    multiply, in the config's order, each product rounded down) and its flat bonus."""
    entries, factor, so_far = [], 1, spend_points
    for promotion in running:
        factor *= promotion.points_multiplier
        multiplied = money.round_toward_zero(spend_points * factor)
        extra, so_far = multiplied - so_far, multiplied
        points = extra + promotion.bonus_points
        if points > 0:
            parts = ([f"x{promotion.points_multiplier} on {spend_points} points"] if extra else []) + (
                [f"+{promotion.bonus_points} bonus"] if promotion.bonus_points else [])
            entries.append(Entry("promotion", points=points, rule=promotion.name, reason=", ".join(parts),
                                 earned=True))
    return entries


def _birthday(rule, state: State, day) -> list:
    """The birthday voucher, at the first visit in the window of a birthday not yet rewarded."""
    if state.birthday is None:
        return []
    celebrated = promotions.birthday_for(rule, state.birthday, day)
    if celebrated is None:
        return []
    for name, issued_on in state.birthday_vouchers:
        if name == rule.name and promotions.birthday_for(rule, state.birthday, issued_on) == celebrated:
            return []
    return [Entry("reward", rule=rule.name, reward=rule.reward, reason=f"birthday {celebrated.isoformat()}")]


def enrolment(config: Config, referred: bool) -> tuple[list, list]:
    """(entries for the new customer, entries for the referrer) when a customer enrols."""
    mine, referrer = [], []
    for rule in config.rules:
        if rule.kind == "welcome":
            if rule.points or rule.credit:
                mine.append(Entry("welcome", points=rule.points, credit=rule.credit, rule=rule.name,
                                  reason="welcome bonus", earned=rule.points > 0))
            if rule.reward:
                mine.append(Entry("reward", rule=rule.name, reward=rule.reward, reason="welcome gift"))
        elif rule.kind == "referral" and referred:
            if rule.referee_points:
                mine.append(Entry("referral", points=rule.referee_points, rule=rule.name,
                                  reason="referred by a customer", earned=True))
            if rule.referrer_points:
                referrer.append(Entry("referral", points=rule.referrer_points, rule=rule.name,
                                      reason="referred a new customer", earned=True))
    return mine, referrer


def points_expiry(points: int, earned_on: str) -> Entry:
    """The entry that ends what was left of a lot (its ledger line and due moment are the lot
    engine's, domain/lots.py): it names the day the points were earned."""
    return Entry("expire", points=-points, reason=f"points earned on {earned_on} expired")


def voucher_expires_at(config: Config, issued_at: datetime) -> datetime | None:
    """`rewards_days` local days after issue, at the same shop-local time: a voucher issued at 12:00
    in winter expires at 12:00 in summer, not at 13:00 (clock.add_local_days says what happens to
    a time the clocks skip or repeat)."""
    days = config.expiry.rewards_days
    return None if days is None else clock.add_local_days(issued_at, days, config.tz)


def buy_with_points(config: Config, state: State, reward_id: str) -> Entry:
    reward = config.rewards.get(reward_id)
    if reward is None:
        raise Refused(Phrase("no voucher or reward called {reward_id}", reward_id=repr(reward_id)))
    if reward.points is None:
        raise Refused(Phrase("reward {reward_id} cannot be bought with points", reward_id=repr(reward_id)))
    if state.points < reward.points:
        raise Refused(Phrase("{name} costs {points} points; the customer has {points2}", name=reward.name,
                             points=reward.points, points2=state.points))
    return Entry("redeem", points=-reward.points, reward=reward_id, reason=f"bought {reward.name}")


def spend_credit(config: Config, state: State, amount: int) -> Entry:
    if amount <= 0:
        raise Refused(Phrase("credit to spend must be more than zero"))
    if state.credit < amount:
        have = locale_format.amount(state.credit, config.shop.currency)
        want = locale_format.amount(amount, config.shop.currency)
        raise Refused(Phrase("not enough store credit: {want} asked, the customer has {have}", want=want, have=have))
    return Entry("redeem", credit=-amount, reason="store credit spent")


def reversal(entry: Entry, why: str, expired_points: int = 0) -> Entry:
    """The entry that undoes `entry`, except for points of it that already expired: those the
    customer has lost once, and taking them back again would be a debt that never existed."""
    points = -(entry.points - expired_points) if entry.points > 0 else -entry.points
    if expired_points:
        why += f" ({expired_points} of its points had already expired)"
    return Entry("void", points=points, punches=-entry.punches, credit=-entry.credit,
                 rule=entry.rule, reason=why, earned=entry.earned, voucher=entry.voucher, card=entry.card)
