"""The shop's rules checked: parsed TOML tables into the frozen dataclasses of domain.model.

Every problem is one line naming the file, the line (where it can be found) and the key path. The
validator notes a problem and checks on, so `config check` can list them all; any other command
stops at the first (ConfigError is a BadInput: exit 2) before anything touches the database.
"""

from decimal import Decimal

from loyalty_cli.config.campaigns import CampaignChecks
from loyalty_cli.config.promotions import PromotionChecks
from loyalty_cli.config.shop import ShopChecks
from loyalty_cli.config.toml_lines import dotted, place
from loyalty_cli.domain import money
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import (
    REWARD_KINDS,
    RULE_KINDS,
    Cashback,
    Config,
    Expiry,
    Feedback,
    PointsRule,
    Privacy,
    PunchCard,
    Referral,
    Reward,
    Shop,
    Tier,
    Welcome,
)

TOP_KEYS = {"shop", "rewards", "rules", "tiers", "expiry", "promotions", "feedback", "privacy", "campaigns",
            "outreach"}
REWARD_KEYS = {"id", "name", "kind", "value", "cost", "points"}
CATEGORIES = {"categories", "exclude_categories"}  # any rule a visit goes through may take them
RULE_KEYS = {
    "punch_card": {"kind", "name", "count", "every", "min_amount", "reward", *CATEGORIES},
    "points": {"kind", "name", "per_unit", "min_amount", *CATEGORIES},
    "cashback": {"kind", "name", "percent", "min_amount", *CATEGORIES},
    "welcome": {"kind", "name", "points", "credit", "reward"},
    "referral": {"kind", "name", "referrer_points", "referee_points"},
    "birthday": {"kind", "name", "reward", "days_before", "days_after", *CATEGORIES},
}
TIER_KEYS = {"name", "min_spend", "min_visits", "multiplier", "perks"}
EXPIRY_KEYS = {"points_days", "rewards_days"}
PRIVACY_KEYS = {"forget_inactive_days"}


# Every number in a config has a bound: far above any real programme, far below what overflows
# a 64-bit ledger after years of visits at the largest amount a till accepts (money.MAX_MINOR).
MAX_COUNT = 10_000_000  # points prices, bonuses, visits
MAX_FACTOR = Decimal(1000)  # points per currency unit
# A tier multiplies the points of every visit: gold programmes give x1.5 to x3; ten times is
# already generous, anything beyond is a typo (1e9 for 1.9) that would flood the ledger.
MAX_TIER_MULTIPLIER = Decimal(10)
MAX_MONEY_UNITS = Decimal(1_000_000)  # any amount in a config, in whole currency units
MAX_PUNCHES = 1000  # a punch card's size: a paper card holds a few dozen
MAX_DAYS = 3650  # expiry windows: ten years
# Forgetting is irreversible: a typo ('10' for '1000') must not erase regulars back from a
# summer away, so the shortest silence that forgets is a season's.
MIN_FORGET_DAYS = 90


class ConfigError(BadInput):
    """Every problem of a config file; the message is the first, `problems` holds them all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = len(problems) - 1
        super().__init__(Phrase("{problem} (and {count} more: run `loyalty config check`)", problem=problems[0],
                                count=more) if more else problems[0])


def check_phone_region(text: str, filename: str, region: str | None) -> None:
    """The full check of [shop].phone_region (it needs phonenumbers, so only `config check` runs it)."""
    from loyalty_cli.domain.phones import is_supported_region

    if region and not is_supported_region(region):
        raise BadInput(Phrase("{place}: shop.phone_region: unknown region {region}",
                              place=place(filename, text, ('shop', 'phone_region')), region=repr(region)))


def notes(config: Config) -> list[str]:
    """Modes worth saying out loud that are not mistakes."""
    if not config.rules:
        return [Phrase("no [[rules]]: the shop records visits and customers earn nothing yet (collecting data "
                       "before launch; `loyalty simulate` shows what candidate programmes would have cost)")]
    return []


def warnings(config: Config) -> list[str]:
    """Things that are valid but probably not meant: a reward nothing issues, say."""
    found = []
    if not config.shop.phone_region:
        found.append(Phrase("no [shop] phone_region: numbers must be typed with +country code"))
    issued = {rule.reward for rule in config.rules if getattr(rule, "reward", None)}
    for reward in config.rewards.values():
        if reward.id not in issued and reward.points is None:
            found.append(Phrase("reward {reward} is neither issued by a rule nor priced in points",
                                reward=repr(reward.id)))
    if config.outreach is None and any(c.channel == "email" for c in config.campaigns):
        found.append(Phrase("e-mail campaigns but no [outreach] (host, sender): `campaign run --send` needs it; "
                            "--export works without"))
    return found


def _did_you_mean(word: str, choices) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return Phrase(" (did you mean {word}?)", word=repr(close[0])) if close else ""


class ConfigValidator(ShopChecks, PromotionChecks, CampaignChecks):
    """Walks the parsed TOML of one file and builds its Config, noting every problem on the way."""

    did_you_mean = staticmethod(_did_you_mean)

    def __init__(self, raw: dict, text: str, filename: str):
        self.raw, self.text, self.filename = raw, text, filename
        self.problems: list[str] = []
        self.reward_ids: set[str] = set()
        self.currency = "EUR"

    def validate(self, source, origin) -> Config:
        """The Config, or ConfigError with every problem found."""
        self.attempt(self.check_keys, self.raw, TOP_KEYS, ())
        shop = self.attempt(self.shop) or Shop("My shop", "EUR", None, "UTC")
        self.currency, self.shop_categories = shop.currency, shop.categories
        rewards = self.rewards()
        rules = self.rules()
        tiers = self.tiers()
        expiry = self.attempt(self.expiry) or Expiry()
        promotions = self.promotions()
        feedback = self.attempt(self.feedback) or Feedback()
        privacy = self.attempt(self.privacy) or Privacy()
        campaigns = self.campaigns(tiers)
        outreach = self.attempt(self.outreach)
        if self.problems:
            raise ConfigError(self.problems)
        return Config(shop, rewards, tuple(rules), tuple(tiers), expiry, source, origin, self.raw, self.text,
                      tuple(promotions), feedback, privacy=privacy, campaigns=tuple(campaigns), outreach=outreach)

    def attempt(self, work, *args, default=None):
        """Run one part of the validation; a problem is noted and the rest still checked."""
        try:
            return work(*args)
        except BadInput as exc:
            self.problems.append(exc.args[0] if len(exc.args) == 1 else str(exc))  # a Phrase stays one
            return default

    # -- errors with a place --

    def fail(self, path: tuple, message: str):
        raise BadInput(Phrase("{place}: {dotted}: {message}", place=place(self.filename, self.text, path),
                              dotted=dotted(path), message=message))

    def check_keys(self, table: dict, allowed: set, path: tuple):
        for key in table:
            if key not in allowed:
                self.fail(path + (key,), Phrase("unknown key{hint}", hint=_did_you_mean(key, allowed)))

    # -- typed getters: the value of a key, checked --

    def table(self, parent: dict, key: str, path: tuple) -> dict:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            self.fail(path, Phrase("must be a table"))
        return value

    def array_of_tables(self, key: str) -> list:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail((key,), Phrase("must be an array of tables ([[{key}]])", key=key))
        return value

    def string(self, table: dict, key: str, path: tuple, default=None, required=False):
        if key not in table:
            if required:
                self.fail(path, Phrase("missing required key {key}", key=repr(key)))
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(path + (key,), Phrase("must be a non-empty string, got {value}", value=repr(value)))
        return value.strip()

    def whole_number(self, table: dict, key: str, path: tuple, default=None, required=False, minimum=0,
                     maximum=MAX_COUNT):
        if key not in table:
            if required:
                self.fail(path, Phrase("missing required key {key}", key=repr(key)))
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path + (key,), Phrase("must be a whole number, got {value}", value=repr(value)))
        if value < minimum:
            self.fail(path + (key,), Phrase("must be at least {minimum}, got {value}", minimum=minimum, value=value))
        if value > maximum:
            self.fail(path + (key,), Phrase("must be at most {maximum}, got {value}", maximum=format(maximum, ','),
                                            value=format(value, ',')))
        return value

    def number(self, table: dict, key: str, path: tuple, default=None, required=False, positive=False,
               maximum=MAX_FACTOR):
        if key not in table:
            if required:
                self.fail(path, Phrase("missing required key {key}", key=repr(key)))
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            self.fail(path + (key,), Phrase("must be a number, got {value}", value=repr(value)))
        value = Decimal(value)
        if not value.is_finite():
            self.fail(path + (key,), Phrase("must be a finite number, got {value}", value=table[key]))
        if value < 0 or (positive and value == 0):
            self.fail(path + (key,), Phrase("must be above 0, got {value}", value=value) if positive
                      else Phrase("must be at least 0, got {value}", value=value))
        if value > maximum:
            self.fail(path + (key,), Phrase("must be at most {maximum}, got {value}", maximum=format(maximum, ','),
                                            value=format(value, ',f')))  # ',f': 1e9 as 1,000,000,000
        return value

    def amount(self, table: dict, key: str, path: tuple, default=0):
        """A money value in the shop currency, as integer minor units."""
        value = self.number(table, key, path, default=None, maximum=MAX_MONEY_UNITS)
        if value is None:
            return default
        try:
            return money.decimal_to_minor(value, self.currency, key)
        except BadInput:
            self.fail(path + (key,), Phrase("has more decimals than {currency} allows: {value}",
                                            currency=self.currency, value=value))

    # -- [expiry] and [privacy] --

    def expiry(self) -> Expiry:
        path = ("expiry",)
        table = self.table(self.raw, "expiry", path)
        self.attempt(self.check_keys, table, EXPIRY_KEYS, path)
        days = {key: self.attempt(self.whole_number, table, key, path, None, False, 1, MAX_DAYS)
                for key in ("points_days", "rewards_days")}  # each on its own: both reported
        return Expiry(**days)

    def privacy(self) -> Privacy:
        path = ("privacy",)
        table = self.table(self.raw, "privacy", path)
        self.check_keys(table, PRIVACY_KEYS, path)
        return Privacy(self.whole_number(table, "forget_inactive_days", path, minimum=MIN_FORGET_DAYS,
                                         maximum=MAX_DAYS))

    # -- [[rewards]] --

    def rewards(self) -> dict[str, Reward]:
        rewards: dict[str, Reward] = {}
        for index, table in enumerate(self.attempt(self.array_of_tables, "rewards", default=[])):
            reward = self.attempt(self.reward, index, table)
            if reward is not None:
                rewards[reward.id] = reward
        return rewards

    def reward(self, index: int, table: dict) -> Reward:
        path = ("rewards", index)
        reward_id = self.string(table, "id", path, required=True)
        if reward_id in self.reward_ids:
            self.fail(path + ("id",), Phrase("duplicate reward id {reward_id}", reward_id=repr(reward_id)))
        self.reward_ids.add(reward_id)  # known even if the rest is broken: no knock-on errors
        self.check_keys(table, REWARD_KEYS, path)
        kind = self.string(table, "kind", path, required=True)
        if kind not in REWARD_KINDS:
            self.fail(path + ("kind",), Phrase("must be one of {REWARD_KINDS}, got {kind}",
                                               REWARD_KINDS=', '.join(REWARD_KINDS), kind=repr(kind)))
        if kind != "percent_off":
            value = self.number(table, "value", path, required=True, maximum=MAX_MONEY_UNITS)
            self.amount(table, "value", path)  # checks the decimals; the value stays a Decimal
        else:
            value = self.number(table, "value", path, required=True, maximum=Decimal(100))
        return Reward(
            id=reward_id,
            name=self.string(table, "name", path, default=reward_id),
            kind=kind,
            value=value,
            cost=self.amount(table, "cost", path, default=0),
            points=self.whole_number(table, "points", path, minimum=1),
        )

    def reward_ref(self, table: dict, path: tuple, required: bool) -> str | None:
        """A rule's `reward`, which must name one of the [[rewards]]."""
        reward = self.string(table, "reward", path, required=required)
        if reward is not None and reward not in self.reward_ids:
            known = ", ".join(sorted(self.reward_ids)) or Phrase("none defined")
            self.fail(path + ("reward",), Phrase("names reward {reward}, which does not exist (rewards: {known})",
                                                 reward=repr(reward), known=known))
        return reward

    # -- [[rules]] --

    def rules(self) -> list:
        rules, names = [], set()
        for index, table in enumerate(self.attempt(self.array_of_tables, "rules", default=[])):
            rule = self.attempt(self.rule, index, table, names)
            if rule is not None:
                rules.append(rule)
        for kind in ("welcome", "referral", "birthday"):
            if sum(1 for rule in rules if rule.kind == kind) > 1:
                self.attempt(self.fail, ("rules",), Phrase("more than one {kind} rule", kind=repr(kind)))
        return rules

    def rule(self, index: int, table: dict, names: set):
        path = ("rules", index)
        kind = self.string(table, "kind", path, required=True)
        if kind not in RULE_KINDS:
            self.fail(path + ("kind",),
                      Phrase("unknown rule kind {kind}{hint}; one of {RULE_KINDS}", kind=repr(kind),
                             hint=_did_you_mean(kind, RULE_KINDS), RULE_KINDS=', '.join(RULE_KINDS)))
        self.check_keys(table, RULE_KEYS[kind], path)
        name = self.string(table, "name", path, default=kind)
        of_kind = {"punch_card": self.punch_card, "points": self.points_rule, "cashback": self.cashback,
                   "welcome": self.welcome, "referral": self.referral, "birthday": self.birthday}[kind]
        rule = of_kind(name, table, path)
        if rule.name in names:
            self.fail(path + ("name",), Phrase("duplicate rule name {name}: give each rule its own name",
                                               name=repr(rule.name)))
        names.add(rule.name)
        return rule

    def punch_card(self, name: str, table: dict, path: tuple) -> PunchCard:
        count = self.string(table, "count", path, default="visits")
        if count not in ("visits", "items"):
            self.fail(path + ("count",), Phrase("must be \"visits\" or \"items\", got {count}", count=repr(count)))
        return PunchCard(
            name=name, count=count,
            every=self.whole_number(table, "every", path, required=True, minimum=1, maximum=MAX_PUNCHES),
            min_amount=self.amount(table, "min_amount", path),
            reward=self.reward_ref(table, path, required=True),
            **self.categories_of(table, path),
        )

    def points_rule(self, name: str, table: dict, path: tuple) -> PointsRule:
        return PointsRule(name, self.number(table, "per_unit", path, required=True, positive=True),
                          self.amount(table, "min_amount", path), **self.categories_of(table, path))

    def cashback(self, name: str, table: dict, path: tuple) -> Cashback:
        percent = self.number(table, "percent", path, required=True, positive=True, maximum=Decimal(100))
        return Cashback(name, percent, self.amount(table, "min_amount", path), **self.categories_of(table, path))

    def welcome(self, name: str, table: dict, path: tuple) -> Welcome:
        welcome = Welcome(name, self.whole_number(table, "points", path, default=0),
                          self.amount(table, "credit", path),
                          self.reward_ref(table, path, required=False))
        if not (welcome.points or welcome.credit or welcome.reward):
            self.fail(path, Phrase("a welcome rule needs points, credit or a reward"))
        return welcome

    def referral(self, name: str, table: dict, path: tuple) -> Referral:
        referral = Referral(name, self.whole_number(table, "referrer_points", path, default=0),
                            self.whole_number(table, "referee_points", path, default=0))
        if not (referral.referrer_points or referral.referee_points):
            self.fail(path, Phrase("a referral rule needs referrer_points or referee_points"))
        return referral

    # -- [[tiers]] --

    def tiers(self) -> list[Tier]:
        tiers, names = [], set()
        for index, table in enumerate(self.attempt(self.array_of_tables, "tiers", default=[])):
            tier = self.attempt(self.tier, index, table, names)
            if tier is not None:
                for lower in tiers:
                    self.attempt(self.tier_order, lower, tier, index)
                tiers.append(tier)
        return tiers

    def tier(self, index: int, table: dict, names: set) -> Tier:
        """Each key checked on its own, so `config check` lists every problem of the tier; a tier
        with a broken key is still ranked against the others (tier_order)."""
        path = ("tiers", index)
        self.attempt(self.check_keys, table, TIER_KEYS, path)
        name = self.attempt(self.tier_name, table, path, names) or f"tiers[{index}]"
        min_spend = self.attempt(self.amount, table, "min_spend", path, None)
        min_visits = self.attempt(self.whole_number, table, "min_visits", path, None, False, 1)
        if "min_spend" not in table and "min_visits" not in table:
            self.attempt(self.fail, path, Phrase("a tier needs min_spend or min_visits"))
        perks = table.get("perks", [])
        if not isinstance(perks, list) or not all(isinstance(perk, str) for perk in perks):
            self.attempt(self.fail, path + ("perks",), Phrase("must be a list of strings"))
            perks = []
        multiplier = self.attempt(self.number, table, "multiplier", path, Decimal(1), False, True, MAX_TIER_MULTIPLIER)
        return Tier(name, min_spend, min_visits, multiplier or Decimal(1), tuple(perks))

    def tier_name(self, table: dict, path: tuple, names: set) -> str:
        name = self.string(table, "name", path, required=True)
        if name in names:
            self.fail(path + ("name",), Phrase("duplicate tier name {name}", name=repr(name)))
        names.add(name)
        return name

    def tier_order(self, lower: Tier, tier: Tier, index: int) -> None:
        """Tiers rank in the order written: a later one must not ask for less."""
        for key in ("min_spend", "min_visits"):
            below, here = getattr(lower, key), getattr(tier, key)
            if below is not None and here is not None and here <= below:
                self.fail(("tiers", index, key), Phrase("must be above {name}'s {key}: list tiers lowest first",
                                                        name=lower.name, key=key))
