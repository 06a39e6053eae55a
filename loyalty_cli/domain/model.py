"""The domain's model: the shop's configuration and the ledger's entries and states.

Frozen dataclasses and nothing else: the config loader builds the first kind, the rule engine
(rules.py) and the lot engine work on the second. Nothing here reads a file or a clock.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from loyalty_cli.domain import clock, money

REWARD_KINDS = ("free_item", "discount", "percent_off", "gift_card")
RULE_KINDS = ("punch_card", "points", "cashback", "welcome", "referral", "birthday")
VISIT_RULE_KINDS = ("punch_card", "points", "cashback", "birthday")  # each has categories, exclude_categories
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
FEEDBACK_SCALES = (5, 10)
AUDIENCES = ("at_risk", "near_reward", "birthday", "inactive", "tier", "all")
CHANNELS = ("email", "sms", "whatsapp")

@dataclass(frozen=True)
class Shop:
    name: str
    currency: str
    phone_region: str | None
    timezone: str
    max_amount: int | None = None  # minor units: a visit above it is refused as a likely typo
    categories: tuple[str, ...] = ()  # the known visit categories; empty: any is accepted
    location: str | None = None  # this till's shop in a chain, recorded on every visit (per till)
    locale: str = "en"  # the language people read: en, es_ES, it_IT, hu_HU (domain/i18n.LOCALES)


@dataclass(frozen=True)
class Reward:
    id: str
    name: str
    kind: str
    value: Decimal  # money for most kinds, a percent for percent_off
    cost: int  # minor units
    points: int | None  # price in points, if it can be bought with points

    def face_value(self, currency: str) -> int | None:
        """Face value in minor units, or None for percent_off (it depends on the order)."""
        if self.kind == "percent_off":
            return None
        return money.decimal_to_minor(self.value, currency, f"rewards.{self.id}.value")


@dataclass(frozen=True)
class PunchCard:
    name: str
    count: str  # "visits" | "items"
    every: int
    min_amount: int
    reward: str
    kind: str = "punch_card"
    categories: tuple[str, ...] = ()  # only visits of these categories qualify (empty: any)
    exclude_categories: tuple[str, ...] = ()  # visits of these never qualify


@dataclass(frozen=True)
class PointsRule:
    name: str
    per_unit: Decimal
    min_amount: int
    kind: str = "points"
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cashback:
    name: str
    percent: Decimal
    min_amount: int
    kind: str = "cashback"
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Welcome:
    name: str
    points: int
    credit: int
    reward: str | None
    kind: str = "welcome"


@dataclass(frozen=True)
class Referral:
    name: str
    referrer_points: int
    referee_points: int
    kind: str = "referral"


@dataclass(frozen=True)
class Birthday:
    """A voucher at the first visit in the window around a customer's birthday, once per birthday."""

    name: str
    reward: str
    days_before: int
    days_after: int
    kind: str = "birthday"
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Promotion:
    """Extra points or punches for visits inside a window of dates, weekdays and hours (shop-local)."""

    name: str
    points_multiplier: Decimal = Decimal(1)  # on the points earned from spend, after the tier's
    extra_punches: int = 0  # per qualifying visit, on every punch card the visit punches
    bonus_points: int = 0  # flat, per qualifying visit
    weekdays: tuple[int, ...] = ()  # 0 = Monday; empty: every day
    hours: tuple[time, time] | None = None  # start inclusive, end exclusive (end time.max: midnight)
    start: date | None = None  # `from`, inclusive
    until: date | None = None  # inclusive
    min_amount: int = 0
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feedback:
    scale: int = 10  # 10: the 0-10 'would you recommend us' question; 5: one to five stars
    points: int = 0  # for a response, at most once per customer per day


@dataclass(frozen=True)
class Campaign:
    """A message to an audience ([[campaigns]]); the template's placeholders are checked
    (domain/campaigns.py) before a Campaign exists."""

    id: str
    audience: str  # one of AUDIENCES
    channel: str  # one of CHANNELS
    template: str
    subject: str | None = None  # e-mail only
    cooldown_days: int = 30  # never the same customer twice within this (this campaign)
    inactive_days: int | None = None  # audience "inactive"
    tier: str | None = None  # audience "tier"


@dataclass(frozen=True)
class Outreach:
    """[outreach]: the SMTP server `campaign run --send` hands e-mail to. The password is never
    here: it comes from the environment (LOYALTY_SMTP_PASSWORD) at the moment of sending."""

    host: str
    sender: str
    port: int = 25
    user: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: int | None
    min_visits: int | None
    multiplier: Decimal
    perks: tuple[str, ...]


@dataclass(frozen=True)
class Expiry:
    points_days: int | None = None
    rewards_days: int | None = None


@dataclass(frozen=True)
class Privacy:
    forget_inactive_days: int | None = None  # `loyalty expire` forgets customers silent this long


@dataclass(frozen=True)
class Config:
    shop: Shop
    rewards: dict[str, Reward]
    rules: tuple
    tiers: tuple[Tier, ...]
    expiry: Expiry
    source: Path | None = None  # None: built-in defaults
    origin: str = "built-in defaults"
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    text: str = field(default="", compare=False, repr=False)
    promotions: tuple[Promotion, ...] = ()
    feedback: Feedback = Feedback()
    privacy: Privacy = Privacy()
    published: int | None = None  # the version of rules published to the database, when they are in force
    campaigns: tuple[Campaign, ...] = ()
    outreach: Outreach | None = None

    def rules_of(self, kind: str) -> list:
        return [rule for rule in self.rules if rule.kind == kind]

    @cached_property
    def visit_rules(self) -> tuple:
        """The rules a visit goes through, in the config's order: welcome and referral rules act
        at enrolment only (a replay asks at every visit it cannot remember)."""
        return tuple(rule for rule in self.rules if rule.kind in VISIT_RULE_KINDS)

    @cached_property
    def tz(self):
        # once per config, not once per visit: a replay of a million visits asks a million times
        return clock.zone(self.shop.timezone)


# ---- the ledger ------------------------------------------------------------------------------

@dataclass(frozen=True, init=False)
class Entry:
    """One ledger line to write. Deltas are signed; `reward` on a 'reward' entry issues a voucher."""

    kind: str
    points: int = 0
    punches: int = 0
    credit: int = 0
    rule: str | None = None
    reason: str = ""
    reward: str | None = None
    earned: bool = False  # positive points that start a lot and later expire
    voucher: str | None = None  # the voucher an entry is about (redeem, expire, void)
    card: str | None = None  # the punch card of a promotion's extra punches (its rule is the promotion)

    def __init__(self, kind: str, points: int = 0, punches: int = 0, credit: int = 0, rule: str | None = None,
                 reason: str = "", reward: str | None = None, earned: bool = False, voucher: str | None = None,
                 card: str | None = None):
        # The fields written straight into the instance's dict: 1.0 us against 2.3 us for the
        # frozen dataclass's own __init__ (object.__setattr__ per field), and the engine makes
        # about three entries at every visit a replay's memo misses (100,000 in the bench's
        # simulate). tests/domain/test_rules.py checks this signature against the fields.
        fields = self.__dict__
        fields["kind"] = kind
        fields["points"] = points
        fields["punches"] = punches
        fields["credit"] = credit
        fields["rule"] = rule
        fields["reason"] = reason
        fields["reward"] = reward
        fields["earned"] = earned
        fields["voucher"] = voucher
        fields["card"] = card

    @property
    def punch_card(self) -> str | None:
        """The card whose open punches this entry moves."""
        return self.card or self.rule


@dataclass(frozen=True)
class State:
    """A customer's balances, plus what tiers and expiry need to know about their past."""

    points: int = 0
    credit: int = 0
    punches: dict = field(default_factory=dict)  # punch-card rule name -> open punches
    year_spend: int = 0  # over the 365 days before the event, voided visits excluded
    year_visits: int = 0
    birthday: date | None = None  # the customer's, if on file
    birthday_vouchers: tuple = ()  # (rule name, shop-local day issued) of birthday vouchers not voided

    def after(self, entries) -> "State":
        punches = dict(self.punches)
        for entry in entries:
            if entry.punches:
                punches[entry.punch_card] = punches.get(entry.punch_card, 0) + entry.punches
        return replace(self, points=self.points + sum(e.points for e in entries),
                       credit=self.credit + sum(e.credit for e in entries), punches=punches)


@dataclass(frozen=True)
class Visit:
    at: datetime
    amount: int  # minor units
    items: int = 1
    category: str | None = None


@dataclass(frozen=True)
class Outcome:
    entries: list
    tier: Tier | None
    promotions: tuple[str, ...] = ()  # the names of the promotions the visit got
