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
earned at, the promotions running; and the open punches of each card, which only
rules.cards_filled reads, so the outcome is remembered in two steps: the engine's outcome with
no punch open under the visit's key, and the cards that fills in each punch state under (that,
the state) (_base, _fill). Only a visit that a birthday rule could reward (a birthday on file,
the day in its window) reads more, and it is never remembered. `remember=False` replays with
the engine at every visit (the tests compare the two).
Promotion windows are judged once per UTC hour where they cannot change within it (promotion_hours.Windows);
what each scenario issues is tallied per (month, outcome) and multiplied out at the end, an
outcome's gains named by a small integer (hashing the nested tuple at every visit cost 5-10%).
Scenarios are independent: `shares` splits them among processes (reporting/simulate.py forks).
"""

from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby, repeat
from operator import add, itemgetter, or_

from loyalty_cli.domain import clock, promotion_hours, promotions, rules
from loyalty_cli.domain.model import Config, State, Visit

# (customer id, at as stored: UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ', shop-local day 'YYYY-MM-DD',
#  amount in minor units, items, category or None), by customer, then in time order
VisitRow = tuple[int, str, str, int, int, str | None]

# A scenario's tally key is an integer: the month's index times MONTH, plus a gains code (_code:
# a multiple of 4, plus VOUCHER when it issued one), plus 1 when its points expired by `end`.
MONTH, VOUCHER = 1 << 40, 2


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


class _Scenario:
    """One config's replay: the engine's state for the customer being replayed, the totals."""

    def __init__(self, config: Config, end: datetime, remember: bool):
        self.config, self.end, self.remember = config, end, remember
        self.tz = config.tz
        self.totals = Totals(tiers={tier.name: 0 for tier in config.tiers})
        self.card_rules = config.rules_of("punch_card")
        self.cards = {rule.name: index for index, rule in enumerate(self.card_rules)}
        self.no_punches = (0,) * len(self.cards)
        # a punch-card state (open punches per card) is named by its index here, a small integer to hash
        self.states, self.state_ids = [self.no_punches], {self.no_punches: 0}
        self.birthday_rules = config.rules_of("birthday")
        self.birthday_names = {rule.name for rule in self.birthday_rules}
        self.tiered = bool(config.tiers)
        self.promotions = config.promotions
        self.promotions_from, self.promotions_until = self._promotion_span()
        self.windows = promotion_hours.Windows(config.promotions, self.tz, by_hour=remember)
        # a visit's key -> what it earns whatever its cards hold (its index in bases), or with no
        # punch card in the config its effect (punch state, gains code) outright
        self.outcomes: dict[tuple, int | tuple] = {}
        self.bases: list[tuple] = []  # a visit's effect from no punch open: (punch state left, gains code)
        self.filled: dict = {}  # (base, punch state) -> (punch state after, gains code): see _fill
        # tally key (a month's key plus a gains code, plus 1 when its points expired by `end`: see MONTH)
        # -> visits, added up at the end; code 0 (nothing gained) is counted too, and skipped there.
        # `lapsed` moves there the visits whose voucher lapsed by `end`.
        self.tally: Counter = Counter()
        self.lapsed: Counter = Counter()
        self.gains: list[tuple | None] = [None]  # gains code // 4 -> (punches given, points, credit, rewards)
        self.gain_codes: dict[tuple, int] = {}
        self.enrolment = {referred: rules.enrolment(config, referred) for referred in (False, True)}
        days = config.expiry.points_days
        # rule 3 of lots.py, nothing ever spent: a lot earned at or before this has expired by `end`
        self.points_expired_by = clock.to_db(end - timedelta(days=days)) if days is not None else ""
        self.voucher_days = config.expiry.rewards_days
        # vouchers issued before this surely lapsed by `end` (a local day is 23 to 25 hours)
        self.surely_lapsed = clock.to_db(end - timedelta(days=self.voucher_days + 1)) if self.voucher_days else ""

    def customer(self, visits: list, columns: tuple[list, list], person: Person | None,
                 year_end: tuple[int, int]) -> None:
        """One customer's visits, (at, month, amount, items, category, year figures before it), in
        time order, and their (ats, months) as lists: enrolment at the first, then each through the
        engine (or its remembered outcome). The loop only finds each visit's gains code; the
        counting is done after it, mostly by Counter's C loop (_tally)."""
        config, outcomes, remember, tiered = self.config, self.outcomes, self.remember, self.tiered
        birthday = person.birthday if person is not None and self.birthday_rules else None
        state, issued = 0, []  # open punches (an index into self.states); (rule, local day) of birthday vouchers
        rewarded = self._enrol(visits[0][0], visits[0][1], person)
        promoted, span_from, span_until = bool(self.promotions), self.promotions_from, self.promotions_until
        tier_for, running_at, get, filled = rules.tier_for, self.windows.running, outcomes.get, self.filled.get
        carded = bool(self.cards)
        fixed = self.windows.fixed.get  # what every visit of an hour gets, where that is known
        codes, tier = [], None
        append = codes.append
        for at, _month, amount, items, category, year in visits:
            if tiered:
                tier = tier_for(config, year[0] + amount, year[1] + 1)
            if birthday is not None and self._birthday_due(birthday, at):
                effect = self._apply(at, amount, items, category, year, state, birthday, issued)
            else:
                running = ()
                if promoted and span_from <= at < span_until:
                    running = fixed(at[:13])  # a call saved a visit: 5% of a promoted replay
                    if running is None:
                        running = running_at(at, amount, category)
                if remember:
                    key = (amount, items, category, id(tier), running)
                    effect = get(key)
                    if effect is None:
                        effect = outcomes[key] = self._base(at, amount, items, category, year)
                    if carded:  # the cards' part: `effect` is the index of what the visit adds to them
                        effect = filled((effect, state)) or self._fill(effect, state)
                else:
                    effect = self._apply(at, amount, items, category, year, state, None, issued)
            state, code = effect
            append(code)
        rewarded |= self._tally(columns, codes)
        self.totals.customers_rewarded += rewarded
        if tiered:
            tier = rules.tier_for(config, *year_end)
            if tier is not None:
                self.totals.tiers[tier.name] += 1

    def _tally(self, columns: tuple[list, list], codes: list[int]) -> bool:
        """Counts each visit's gains by (month, code, points expired by `end`, voucher lapsed by
        `end`), as integer keys (their tuples cost 9% of the replay to build and hash); whether any
        visit issued a voucher. Only those visits are looked at one by one."""
        ats, months = columns
        cut = bisect_right(ats, self.points_expired_by)  # the first `cut` visits' points have expired by `end`
        keys = list(map(add, months, codes))
        if cut:
            keys[:cut] = map(or_, keys[:cut], repeat(1))
        self.tally.update(keys)
        vouchers = [index for index, code in enumerate(codes) if code & VOUCHER]
        for index in vouchers:
            if self._lapsed(ats[index]):
                self.tally[keys[index]] -= 1
                self.lapsed[keys[index]] += 1
        return bool(vouchers)

    def _birthday_due(self, birthday: date, at: str) -> bool:
        day = clock.local(at, self.tz).date()
        return any(promotions.birthday_for(rule, birthday, day) is not None for rule in self.birthday_rules)

    def _apply(self, at: str, amount, items, category, year, state: int, birthday, issued: list) -> tuple:
        """The engine on this visit in this state: (state after, gains code: see _effect)."""
        punches = self.states[state]
        before = State(punches=dict(zip(self.cards, punches, strict=True)), year_spend=year[0], year_visits=year[1],
                       birthday=birthday, birthday_vouchers=tuple(issued))
        entries = rules.apply_visit(self.config, before, Visit(clock.from_db(at), amount, items, category)).entries
        if birthday is not None:
            issued += [(e.rule, clock.local(at, self.tz).date()) for e in entries
                       if e.kind == "reward" and e.rule in self.birthday_names]
        return self._effect(entries, punches)

    def _base(self, at: str, amount, items, category, year) -> int | tuple:
        """What the engine gives this visit with no punch open. Its cards' open punches are read
        by rules.cards_filled alone, which _fill applies to each punch state from this: cards of
        `every` filled from s + c punches (s < every open) are those filled from c, then from s
        plus what c left. So the engine runs once per visit key, not once per punch state too
        (on the bench's sample config 10,000 calls instead of 101,000). Without punch cards, the
        visit's effect outright; else its index in self.bases."""
        effect = self._apply(at, amount, items, category, year, 0, None, [])
        if not self.cards:
            return effect
        self.bases.append(effect)
        return len(self.bases) - 1

    def _fill(self, base: int, state: int) -> tuple:
        """A remembered visit in a punch state: (state after, gains code), what _base found plus
        the cards rules.cards_filled fills from the state's open punches and what the visit left."""
        left, code = self.bases[base]
        given, points, credit, rewards = self.gains[code // 4] if code else (0, 0, 0, ())
        punches, after, rewards = self.states[state], list(self.states[left]), list(rewards)
        for index, open_punches in enumerate(punches):
            if open_punches and after[index]:
                full = rules.cards_filled(self.card_rules[index], open_punches + after[index])
                after[index] += open_punches + sum(entry.punches for entry in full)
                rewards += [entry.reward for entry in full if entry.reward]
            else:
                after[index] += open_punches
        effect = self.filled[base, state] = (self._state(after), self._code((given, points, credit, tuple(rewards))))
        return effect

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
        return self._state(after), self._code((given, points, credit, tuple(rewards)))

    def _state(self, punches: list) -> int:
        """The index of a punch state (open punches per card), named here the first time it is seen."""
        punches = tuple(punches)
        found = self.state_ids.get(punches)
        if found is None:
            found = self.state_ids[punches] = len(self.states)
            self.states.append(punches)
        return found

    def _code(self, gains: tuple) -> int:
        """0 for nothing gained, else the gains' index in self.gains times four, plus VOUCHER when a
        voucher is among them (bit 0 is left for the tally's "points expired"): the tally keys on
        integers, not on nested tuples to hash."""
        if not any(gains):
            return 0
        index = self.gain_codes.get(gains)
        if index is None:
            index = self.gain_codes[gains] = len(self.gains)
            self.gains.append(gains)
        return index * 4 + VOUCHER * bool(gains[3])

    def _enrol(self, at: str, month: str, person: Person | None) -> bool:
        """The welcome (and a referral's points, for both sides) at the customer's first visit."""
        mine, theirs = self.enrolment[person is not None and person.referred_by is not None]
        rewarded = False
        for entries in (mine, theirs):
            code = self._effect(entries, self.no_punches)[1]
            if code:
                vouchers = bool(code & VOUCHER)
                rewarded |= vouchers and entries is mine
                key = month + code + (at <= self.points_expired_by)
                (self.lapsed if vouchers and self._lapsed(at) else self.tally)[key] += 1
        return rewarded

    def _lapsed(self, at: str) -> bool:
        """Whether a voucher issued at `at` has expired by `end` (expires_at <= end, as at the counter)."""
        if self.voucher_days is None:
            return False
        if at < self.surely_lapsed:
            return True
        return rules.voucher_expires_at(self.config, clock.from_db(at)) <= self.end

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
        """The totals: what the tally counted, multiplied out, and the visits and revenue of every month
        (months: 'YYYY-MM' -> Month, in the order of their keys' indexes)."""
        totals = self.totals
        totals.visits, totals.customers, totals.revenue = visits, customers, revenue
        names = list(months)
        counted = [(key, False, times) for key, times in self.tally.items()]
        for key, lapsed, times in counted + [(key, True, times) for key, times in self.lapsed.items()]:
            code, expired = key & (MONTH - 2), key & 1
            if not code or not times:
                continue
            given, points, credit, rewards = self.gains[code // 4]
            figures = totals.month(names[key // MONTH])
            totals.punches += given * times
            figures.punches += given * times
            totals.points_issued += points * times
            figures.points_issued += points * times
            totals.points_expired += points * times if expired else 0
            totals.credit_issued += credit * times
            figures.credit_issued += credit * times
            for reward in rewards:
                totals.vouchers[reward] += times
                figures.vouchers[reward] += times
                if lapsed:
                    totals.vouchers_expired[reward] += times
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
    seen: dict[str, tuple[Month, int]] = {}  # 'YYYY-MM' -> (its Month, its tally key: MONTH)
    customers = 0
    window, no_year = rules.TIER_WINDOW, (0, 0)
    year_start = clock.to_db(end - window)
    # the tier window compares stored texts (fixed width: text order is time order); a day's text
    # -> the text of the day `window` before it, where a visit's window starts at the same time
    # of day (parsing every visit's time cost 6% of a tiered replay)
    year_before: dict[str, str] = {}
    for customer, rows in groupby(visits, key=itemgetter(0)):
        customers += 1
        prepared, ats, months, key, month, code = [], [], [], None, None, 0
        recent, spend, visited = deque(), 0, 0  # the tier window: what store.counter.year_figures reads
        for _customer, at, local_day, amount, items, category in rows:
            if not local_day.startswith(key or "~"):  # a customer's visits stay in a month for a while
                key = local_day[:7]
                found = seen.get(key)
                if found is None:
                    found = seen[key] = (Month(), len(seen) * MONTH)
                month, code = found
            month.visits += 1
            month.revenue += amount
            year = no_year
            if tiered:  # the visits so far whose time is in (at - 365 days, at]
                day = at[:10]
                start = year_before.get(day)
                if start is None:
                    start = year_before[day] = (date.fromisoformat(day) - window).isoformat()
                start += at[10:]
                while recent and recent[0][0] <= start:
                    spend, visited = spend - recent.popleft()[1], visited - 1
                year = (spend, visited)
                recent.append((at, amount))
                spend, visited = spend + amount, visited + 1
            prepared.append((at, code, amount, items, category, year))
            ats.append(at)
            months.append(code)
        while recent and recent[0][0] <= year_start:
            spend, visited = spend - recent.popleft()[1], visited - 1
        person = people.get(customer)
        for scenario in scenarios:
            scenario.customer(prepared, (ats, months), person, (spend, visited))
    shared = {key: month for key, (month, _) in seen.items()}  # in the order of their keys, as finish reads them
    count, revenue = sum(month.visits for month in shared.values()), sum(month.revenue for month in shared.values())
    return [scenario.finish(shared, count, customers, revenue) for scenario in scenarios]
