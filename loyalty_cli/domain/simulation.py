"""What a programme would have cost: the shop's visits replayed through the rule engine. Pure.

`simulate(configs, visits, people, end)` runs every config over the same visits, each from an
empty programme state, and returns one `Totals` per config. The visits come customer by
customer, each customer's in time order: a customer's earnings never depend on another's (a
referral only adds points to the referrer's total), so this is the counter's order as far as
the engine can tell, and each customer's state lives only while their visits are replayed. It is the
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
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter

from loyalty_cli.domain import clock, promotions, rules
from loyalty_cli.domain.model import Config, State, Visit

# (customer id, at as stored: UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ', shop-local day 'YYYY-MM-DD',
#  amount in minor units, items, category or None), by customer, then in time order
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
    """One config's replay: the engine's state for the customer being replayed, the totals."""

    def __init__(self, config: Config, end: datetime, remember: bool):
        self.config, self.end, self.remember = config, end, remember
        self.tz = config.tz
        self.totals = Totals(tiers={tier.name: 0 for tier in config.tiers})
        self.cards = {rule.name: index for index, rule in enumerate(config.rules_of("punch_card"))}
        self.no_punches = (0,) * len(self.cards)
        self.birthday_rules = config.rules_of("birthday")
        self.birthday_names = {rule.name for rule in self.birthday_rules}
        self.tiered = bool(config.tiers)
        self.promotions = config.promotions
        self.promotions_from, self.promotions_until = self._promotion_span()
        self.outcomes: dict[tuple, tuple] = {}
        self.enrolment = {referred: rules.enrolment(config, referred) for referred in (False, True)}
        days = config.expiry.points_days
        # rule 3 of lots.py, nothing ever spent: a lot earned at or before this has expired by `end`
        self.points_expired_by = clock.to_db(end - timedelta(days=days)) if days is not None else ""
        self.voucher_days = config.expiry.rewards_days
        # vouchers issued before this surely lapsed by `end` (a local day is 23 to 25 hours)
        self.surely_lapsed = clock.to_db(end - timedelta(days=self.voucher_days + 1)) if self.voucher_days else ""

    def customer(self, visits: list, person: Person | None, year_end: tuple[int, int]) -> None:
        """One customer's visits, (moment, month, amount, items, category, year figures before it),
        in time order: enrolment at the first, then each through the engine."""
        config, outcomes, remember, tiered = self.config, self.outcomes, self.remember, self.tiered
        totals = self.totals
        birthday = person.birthday if person is not None and self.birthday_rules else None
        punches, issued = self.no_punches, []  # open punches per card; (rule, local day) of birthday vouchers
        rewarded = self._enrol(visits[0][0], totals.month(visits[0][1]), person)
        figures, last_month = None, None
        tier = None
        for moment, month, amount, items, category, year in visits:
            if tiered:
                tier = rules.tier_for(config, year[0] + amount, year[1] + 1)
            if birthday is not None and self._birthday_due(birthday, moment):
                effect = self._apply(moment, amount, items, category, year, punches, birthday, issued)
            else:
                running = ()
                if self.promotions and self.promotions_from <= moment.text < self.promotions_until:
                    running = tuple(map(id, promotions.active(self.promotions, moment.local(self.tz), amount,
                                                              category)))
                key = (amount, items, category, id(tier), running, punches)
                effect = outcomes.get(key) if remember else None
                if effect is None:
                    effect = self._apply(moment, amount, items, category, year, punches, None, issued)
                    if remember:
                        outcomes[key] = effect
            punches = effect[0]
            if effect[1] or effect[2] or effect[3] or effect[4]:
                if month != last_month:
                    figures, last_month = totals.month(month), month
                rewarded |= self._add(moment, figures, *effect[1:])
        totals.customers_rewarded += rewarded
        if tiered:
            tier = rules.tier_for(config, *year_end)
            if tier is not None:
                totals.tiers[tier.name] += 1

    def _birthday_due(self, birthday: date, moment: _Moment) -> bool:
        day = moment.local(self.tz).date()
        return any(promotions.birthday_for(rule, birthday, day) is not None for rule in self.birthday_rules)

    def _apply(self, moment, amount, items, category, year, punches, birthday, issued: list) -> tuple:
        """The engine on this visit: (open punches after, punches given, points, credit, rewards)."""
        state = State(punches=dict(zip(self.cards, punches, strict=True)), year_spend=year[0], year_visits=year[1],
                      birthday=birthday, birthday_vouchers=tuple(issued))
        entries = rules.apply_visit(self.config, state, Visit(moment.aware, amount, items, category)).entries
        if birthday is not None:
            issued += [(e.rule, moment.local(self.tz).date()) for e in entries
                       if e.kind == "reward" and e.rule in self.birthday_names]
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

    def _enrol(self, moment: _Moment, month: Month, person: Person | None) -> bool:
        """The welcome (and a referral's points, for both sides) at the customer's first visit."""
        mine, theirs = self.enrolment[person is not None and person.referred_by is not None]
        rewarded = self._add(moment, month, *self._effect(mine, self.no_punches)[1:])
        if theirs:
            self._add(moment, month, *self._effect(theirs, self.no_punches)[1:])
        return rewarded

    def _add(self, moment: _Moment, figures: Month, given: int, points: int, credit: int, rewards: tuple) -> bool:
        """Adds what an outcome issued to the totals and to its month; True if it issued a voucher."""
        totals = self.totals
        totals.punches += given
        figures.punches += given
        if points:
            totals.points_issued += points
            figures.points_issued += points
            if moment.text <= self.points_expired_by:
                totals.points_expired += points
        if credit:
            totals.credit_issued += credit
            figures.credit_issued += credit
        for reward in rewards:
            totals.vouchers[reward] += 1
            figures.vouchers[reward] += 1
            if self._lapsed(moment):
                totals.vouchers_expired[reward] += 1
        return bool(rewards)

    def _lapsed(self, moment: _Moment) -> bool:
        """Whether a voucher issued at `moment` has expired by `end` (expires_at <= end, as at the counter)."""
        if self.voucher_days is None:
            return False
        if moment.text < self.surely_lapsed:
            return True
        return rules.voucher_expires_at(self.config, moment.aware) <= self.end

    def _promotion_span(self) -> tuple[str, str]:
        """UTC bounds (stored text) outside which no promotion can run: a day before the first
        `from` to two days after the last `until` (a local day is within a day of the UTC one);
        no bounds when a promotion has no dates."""
        starts = [promotion.start for promotion in self.promotions]
        ends = [promotion.until for promotion in self.promotions]
        if not self.promotions or None in starts or None in ends:
            return "", "~"
        first = datetime.combine(min(starts) - timedelta(days=1), time(0), tzinfo=UTC)
        last = datetime.combine(max(ends) + timedelta(days=2), time(0), tzinfo=UTC)
        return clock.to_db(first), clock.to_db(last)

    def finish(self, months: dict, visits: int, customers: int, revenue: int) -> Totals:
        totals = self.totals
        totals.visits, totals.customers, totals.revenue = visits, customers, revenue
        for key, shared in months.items():
            mine = totals.month(key)
            mine.visits, mine.revenue = shared.visits, shared.revenue
        totals.months = dict(sorted(totals.months.items()))
        return totals


def simulate(configs: list[Config], visits: Iterable[VisitRow], people: dict[int, Person], end: datetime,
             remember: bool = True) -> list[Totals]:
    """Every config over the same visits (customer by customer, each in time order), each from an
    empty programme."""
    scenarios = [_Scenario(config, end, remember) for config in configs]
    tiered = any(config.tiers for config in configs)
    shared: dict[str, Month] = {}
    count = revenue = customers = 0
    window, no_year = rules.TIER_WINDOW, (0, 0)
    year_start = end.astimezone(UTC).replace(tzinfo=None) - window
    for customer, rows in groupby(visits, key=itemgetter(0)):
        customers += 1
        prepared = []
        recent, spend, visited = deque(), 0, 0  # the tier window: what store.counter.year_figures reads
        for _customer, at_text, local_day, amount, items, category in rows:
            key = local_day[:7]
            month = shared.get(key)
            if month is None:
                month = shared[key] = Month()
            month.visits += 1
            month.revenue += amount
            count += 1
            revenue += amount
            year = no_year
            if tiered:  # the visits so far whose time is in (at - 365 days, at]
                naive = datetime.fromisoformat(at_text[:-1])  # UTC, without the zone: cheaper to compare
                start = naive - window
                while recent and recent[0][0] <= start:
                    spend, visited = spend - recent.popleft()[1], visited - 1
                year = (spend, visited)
                recent.append((naive, amount))
                spend, visited = spend + amount, visited + 1
            prepared.append((_Moment(at_text), key, amount, items, category, year))
        while recent and recent[0][0] <= year_start:
            spend, visited = spend - recent.popleft()[1], visited - 1
        person = people.get(customer)
        for scenario in scenarios:
            scenario.customer(prepared, person, (spend, visited))
    return [scenario.finish(shared, count, customers, revenue) for scenario in scenarios]
