"""What a programme would have cost: the shop's visits replayed through the rule engine. Pure.

`simulate(configs, visits, people, end)` runs every config over the same visits, given in time
order, each from an empty programme state, and returns one `Totals` per config. It is the
engine itself: each visit goes through rules.apply_visit, each customer's first visit in the
replay through rules.enrolment first, each voucher gets rules.voucher_expires_at. So replaying
the config in force over a history typed at the counter gives the ledger's own totals.

What a replay cannot know, and so leaves out: redemptions (nobody spends anything: what is
issued is costed under a redemption assumption by the report), feedback points, and customers
who enrolled but never visited. The welcome bonus and a referral's points are part of what a
programme costs: they are given at the customer's first visit in the replay (with its time),
the referral when the customer row names a referrer.

Points expire as domain/lots.py says (rule 3): what is left of a lot expires points_days after
its earn time. Nothing is spent in a replay, so nothing is left but whole lots, and a lot's
fate is known when it is earned: it has expired by `end` exactly when earned_at + points_days
<= end (tests/domain/test_simulation.py checks this against lots.replay and lots.due).

Speed: apply_visit is a pure function, so its outcome is remembered per scenario under a key
made of everything it reads: the visit's amount, items and category, the tier the visit is
earned at, the promotions running, the open punches of each card. Only a visit that a birthday
rule could reward (a birthday on file, the day in its window) reads more, and it is never
remembered. `remember=False` replays without it (the tests compare the two).
"""

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from loyalty_cli.domain import clock, promotions, rules
from loyalty_cli.domain.model import Config, State, Visit

# (customer id, at as stored: UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ', shop-local day 'YYYY-MM-DD',
#  amount in minor units, items, category or None), in time order
VisitRow = tuple[int, str, str, int, int, str | None]


@dataclass(frozen=True)
class Person:
    """What the replay needs to know of a customer beyond their visits."""

    birthday: date | None = None
    referred_by: int | None = None


@dataclass
class Month:
    visits: int = 0
    revenue: int = 0
    punches: int = 0
    points_issued: int = 0
    credit_issued: int = 0
    vouchers: Counter = field(default_factory=Counter)  # reward id -> issued


@dataclass
class Totals:
    """One scenario's figures over the replay; money in minor units."""

    visits: int = 0
    customers: int = 0
    revenue: int = 0
    punches: int = 0
    points_issued: int = 0
    points_expired: int = 0  # fell due by `end`
    credit_issued: int = 0
    vouchers: Counter = field(default_factory=Counter)  # reward id -> issued
    vouchers_expired: Counter = field(default_factory=Counter)  # reward id -> lapsed by `end`
    customers_rewarded: int = 0  # issued at least one voucher
    tiers: dict = field(default_factory=dict)  # tier name -> customers holding it at `end`
    months: dict = field(default_factory=dict)  # 'YYYY-MM' (shop-local) -> Month

    @property
    def points_outstanding(self) -> int:
        return self.points_issued - self.points_expired

    @property
    def vouchers_open(self) -> Counter:
        return self.vouchers - self.vouchers_expired

    def month(self, key: str) -> Month:
        found = self.months.get(key)
        if found is None:
            found = self.months[key] = Month()
        return found


class _Moment:
    """A visit's time, parsed only when a scenario asks (most remembered visits never do)."""

    __slots__ = ("text", "_aware", "_local")

    def __init__(self, text: str):
        self.text, self._aware, self._local = text, None, {}

    @property
    def aware(self) -> datetime:
        if self._aware is None:
            self._aware = clock.from_db(self.text)
        return self._aware

    def local(self, tz) -> datetime:
        found = self._local.get(tz)
        if found is None:
            found = self._local[tz] = self.aware.astimezone(tz)
        return found


class _Scenario:
    """One config's replay: the engine's per-customer state and the totals it adds up."""

    def __init__(self, config: Config, end: datetime, remember: bool):
        self.config, self.end, self.remember = config, end, remember
        self.tz = config.tz
        self.totals = Totals(tiers={tier.name: 0 for tier in config.tiers})
        self.cards = {rule.name: index for index, rule in enumerate(config.rules_of("punch_card"))}
        self.no_punches = (0,) * len(self.cards)
        self.birthday_rules = config.rules_of("birthday")
        self.tiered = bool(config.tiers)
        self.punches: dict[int, tuple] = {}  # customer id -> open punches per card
        self.birthday_vouchers: dict[int, tuple] = {}  # customer id -> (rule, local day) issued
        self.rewarded: set[int] = set()
        self.outcomes: dict[tuple, tuple] = {}
        self.enrolment = {referred: rules.enrolment(config, referred) for referred in (False, True)}
        days = config.expiry.points_days
        # rule 3 of lots.py, nothing ever spent: a lot earned at or before this has expired by `end`
        self.points_expired_by = clock.to_db(end - timedelta(days=days)) if days is not None else ""
        self.voucher_days = config.expiry.rewards_days
        # vouchers issued before this surely lapsed by `end` (a local day is 23 to 25 hours)
        self.surely_lapsed = clock.to_db(end - timedelta(days=self.voucher_days + 1)) if self.voucher_days else ""

    def visit(self, customer: int, moment: _Moment, month: Month, amount: int, items: int, category,
              year: tuple[int, int], person: Person | None, first: bool) -> None:
        if first:
            self._enrol(customer, moment, month, person)
        punches = self.punches.get(customer, self.no_punches)
        tier = rules.tier_for(self.config, year[0] + amount, year[1] + 1) if self.tiered else None
        if self.birthday_rules and person is not None and person.birthday is not None \
                and self._birthday_due(person.birthday, moment):
            effect = self._apply(customer, moment, amount, items, category, year, punches, person.birthday)
        else:
            running = ()
            if self.config.promotions:
                running = tuple(map(id, promotions.active(self.config.promotions, moment.local(self.tz),
                                                           amount, category)))
            key = (amount, items, category, tier, running, punches)
            effect = self.outcomes.get(key) if self.remember else None
            if effect is None:
                effect = self._apply(customer, moment, amount, items, category, year, punches, None)
                if self.remember:
                    self.outcomes[key] = effect
        self._add(customer, moment, month, *effect)

    def _birthday_due(self, birthday: date, moment: _Moment) -> bool:
        day = moment.local(self.tz).date()
        return any(promotions.birthday_for(rule, birthday, day) is not None for rule in self.birthday_rules)

    def _apply(self, customer, moment, amount, items, category, year, punches, birthday) -> tuple:
        """The engine on this visit: (open punches after, punches given, points, credit, rewards)."""
        state = State(punches=dict(zip(self.cards, punches, strict=True)), year_spend=year[0], year_visits=year[1],
                      birthday=birthday, birthday_vouchers=self.birthday_vouchers.get(customer, ()))
        entries = rules.apply_visit(self.config, state, Visit(moment.aware, amount, items, category)).entries
        if birthday is not None:
            names = {rule.name for rule in self.birthday_rules}
            issued = tuple((e.rule, moment.local(self.tz).date()) for e in entries
                           if e.kind == "reward" and e.rule in names)
            if issued:
                self.birthday_vouchers[customer] = self.birthday_vouchers.get(customer, ()) + issued
        return self._effect(entries, punches)

    def _effect(self, entries, punches: tuple) -> tuple:
        after, given, points, credit, rewards = list(punches), 0, 0, 0, []
        for entry in entries:
            if entry.punches:
                after[self.cards[entry.punch_card]] += entry.punches
                given += max(entry.punches, 0)
            points += max(entry.points, 0)
            credit += max(entry.credit, 0)
            if entry.kind == "reward" and entry.reward:
                rewards.append(entry.reward)
        return tuple(after), given, points, credit, tuple(rewards)

    def _enrol(self, customer: int, moment: _Moment, month: Month, person: Person | None) -> None:
        referrer = person.referred_by if person is not None else None
        mine, theirs = self.enrolment[referrer is not None]
        punches = self.punches.get(customer, self.no_punches)
        self._add(customer, moment, month, *self._effect(mine, punches))
        if theirs:
            self._add(referrer, moment, month, *self._effect(theirs, self.punches.get(referrer, self.no_punches)))

    def _add(self, customer, moment, month, punches, given, points, credit, rewards) -> None:
        totals = self.totals
        if punches:
            self.punches[customer] = punches
        totals.punches += given
        month.punches += given
        if points:
            totals.points_issued += points
            month.points_issued += points
            if moment.text <= self.points_expired_by:
                totals.points_expired += points
        if credit:
            totals.credit_issued += credit
            month.credit_issued += credit
        for reward in rewards:
            totals.vouchers[reward] += 1
            month.vouchers[reward] += 1
            self.rewarded.add(customer)
            if self._lapsed(moment):
                totals.vouchers_expired[reward] += 1

    def _lapsed(self, moment: _Moment) -> bool:
        """Whether a voucher issued at `moment` has expired by `end` (expires_at <= end, as at the counter)."""
        if self.voucher_days is None:
            return False
        if moment.text < self.surely_lapsed:
            return True
        expires = rules.voucher_expires_at(self.config, moment.aware)
        return expires <= self.end

    def finish(self, months: dict, visits: int, customers: int, revenue: int, years: dict) -> Totals:
        totals = self.totals
        totals.visits, totals.customers, totals.revenue = visits, customers, revenue
        totals.customers_rewarded = len(self.rewarded)
        for key, shared in months.items():
            mine = totals.month(key)
            mine.visits, mine.revenue = shared.visits, shared.revenue
        if self.tiered:
            for spend, count in years.values():
                tier = rules.tier_for(self.config, spend, count)
                if tier is not None:
                    totals.tiers[tier.name] += 1
        totals.months = dict(sorted(totals.months.items()))
        return totals


class _Years:
    """Each customer's spend and visits over the tier window (the 365 days up to a moment), kept
    as the visits go by: what store.counter.year_figures reads at the counter."""

    def __init__(self):
        self.recent: dict[int, deque] = {}
        self.sums: dict[int, list] = {}

    def before(self, customer: int, at: datetime) -> tuple[int, int]:
        """The figures of the visits so far whose time is in (at - 365 days, at]."""
        return self._trim(customer, at - rules.TIER_WINDOW)

    def add(self, customer: int, at: datetime, amount: int) -> None:
        self.recent.setdefault(customer, deque()).append((at, amount))
        sums = self.sums.setdefault(customer, [0, 0])
        sums[0] += amount
        sums[1] += 1

    def _trim(self, customer: int, start: datetime) -> tuple[int, int]:
        recent = self.recent.get(customer)
        if not recent:
            return 0, 0
        sums = self.sums[customer]
        while recent and recent[0][0] <= start:
            sums[0] -= recent.popleft()[1]
            sums[1] -= 1
        return sums[0], sums[1]

    def at(self, end: datetime) -> dict[int, tuple[int, int]]:
        start = end - rules.TIER_WINDOW
        return {customer: self._trim(customer, start) for customer in self.recent}


def simulate(configs: list[Config], visits: Iterable[VisitRow], people: dict[int, Person], end: datetime,
             remember: bool = True) -> list[Totals]:
    """Every config over the same visits (in time order), each from an empty programme."""
    scenarios = [_Scenario(config, end, remember) for config in configs]
    years = _Years() if any(config.tiers for config in configs) else None
    shared: dict[str, Month] = {}
    seen: set[int] = set()
    count = revenue = 0
    no_year = (0, 0)
    for customer, at_text, local_day, amount, items, category in visits:
        moment = _Moment(at_text)
        key = local_day[:7]
        month = shared.get(key)
        if month is None:
            month = shared[key] = Month()
        month.visits += 1
        month.revenue += amount
        count += 1
        revenue += amount
        first = customer not in seen
        if first:
            seen.add(customer)
        year = no_year
        if years is not None:
            naive = datetime.fromisoformat(at_text[:-1])  # UTC, without the zone: cheaper to compare
            year = years.before(customer, naive)
        person = people.get(customer)
        for scenario in scenarios:
            scenario.visit(customer, moment, scenario.totals.month(key), amount, items, category, year, person, first)
        if years is not None:
            years.add(customer, naive, amount)
    year_end = years.at(end.astimezone(UTC).replace(tzinfo=None)) if years is not None else {}
    return [scenario.finish(shared, count, len(seen), revenue, year_end) for scenario in scenarios]
