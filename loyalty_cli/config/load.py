"""The shop's reward rules: loaded from TOML, validated into frozen dataclasses.

Every problem is one line naming the file, the line (where it can be found) and the key path,
raised as BadInput (exit 2) before anything touches the database.
"""

import re
from decimal import Decimal
from pathlib import Path

from loyalty_cli.domain import clock, money
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.model import (
    REWARD_KINDS,
    RULE_KINDS,
    Cashback,
    Config,
    Expiry,
    PointsRule,
    PunchCard,
    Referral,
    Reward,
    Shop,
    Tier,
    Welcome,
)

PACKAGED_SAMPLE = Path(__file__).with_name("sample.toml")


# ---- loading ---------------------------------------------------------------------------------

def load(path: Path | None, origin: str = "") -> Config:
    """Load and validate a config file; None means the built-in defaults."""
    if path is None:
        return builtin()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: config file not found") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read config: {exc.strerror}") from None
    return parse(data, str(path), source=path, origin=origin or str(path))


def builtin() -> Config:
    """The sample rules, with the shop's region and time zone taken from this machine."""
    from loyalty_cli.domain.phones import region_from_locale

    data = PACKAGED_SAMPLE.read_bytes()
    config = parse(data, "built-in defaults", source=None, origin="built-in defaults")
    shop = Shop(name="My shop", currency=config.shop.currency, phone_region=region_from_locale(),
                timezone=clock.system_zone_name(), max_amount=config.shop.max_amount)
    return Config(shop, config.rewards, config.rules, config.tiers, config.expiry,
                  None, "built-in defaults", config.raw, config.text)


def parse(data: bytes, filename: str, source: Path | None = None, origin: str = "") -> Config:
    import tomllib

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{filename}: config is not UTF-8 text") from None
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(_toml_error(filename, exc)) from None
    return _Validator(raw, text, filename).build(source, origin)


def _toml_error(filename: str, exc: Exception) -> str:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found:
        bare = message[: found.start()].strip()
        return f"{filename}:{found.group(1)}:{found.group(2)}: broken TOML: {bare}"
    return f"{filename}: broken TOML: {message}"


def check_phone_region(text: str, filename: str, region: str | None) -> None:
    """The full check of [shop].phone_region (it needs phonenumbers, so only `config check` runs it)."""
    from loyalty_cli.domain.phones import is_supported_region

    if region and not is_supported_region(region):
        line = _locate(text, ("shop", "phone_region"))
        where = f"{filename}:{line}" if line else filename
        raise BadInput(f"{where}: shop.phone_region: unknown region {region!r}")


# ---- validation ------------------------------------------------------------------------------

_SHOP_KEYS = {"name", "currency", "phone_region", "timezone", "max_amount"}
_REWARD_KEYS = {"id", "name", "kind", "value", "cost", "points"}
_RULE_KEYS = {
    "punch_card": {"kind", "name", "count", "every", "min_amount", "reward"},
    "points": {"kind", "name", "per_unit", "min_amount"},
    "cashback": {"kind", "name", "percent", "min_amount"},
    "welcome": {"kind", "name", "points", "credit", "reward"},
    "referral": {"kind", "name", "referrer_points", "referee_points"},
}
_TIER_KEYS = {"name", "min_spend", "min_visits", "multiplier", "perks"}
_EXPIRY_KEYS = {"points_days", "rewards_days"}
_TOP_KEYS = {"shop", "rewards", "rules", "tiers", "expiry"}


class ConfigError(BadInput):
    """Every problem of a config file; the message is the first, `problems` holds them all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = len(problems) - 1
        super().__init__(problems[0] + (f" (and {more} more: run `loyalty config check`)" if more else ""))


class _Validator:
    def __init__(self, raw: dict, text: str, filename: str):
        self.raw, self.text, self.filename = raw, text, filename

    # -- errors with a place --
    def fail(self, path: tuple, message: str):
        line = _locate(self.text, path)
        where = f"{self.filename}:{line}" if line else self.filename
        raise BadInput(f"{where}: {_dotted(path)}: {message}")

    def check_keys(self, table: dict, allowed: set, path: tuple):
        for key in table:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(path + (key,), f"unknown key{hint}")

    # -- typed getters --
    def table(self, parent: dict, key: str, path: tuple) -> dict:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            self.fail(path, "must be a table")
        return value

    def array(self, key: str) -> list:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail((key,), f"must be an array of tables ([[{key}]])")
        return value

    def text_value(self, table: dict, key: str, path: tuple, default=None, required=False):
        if key not in table:
            if required:
                self.fail(path, f"missing required key {key!r}")
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(path + (key,), f"must be a non-empty string, got {value!r}")
        return value.strip()

    def whole(self, table: dict, key: str, path: tuple, default=None, required=False, minimum=0):
        if key not in table:
            if required:
                self.fail(path, f"missing required key {key!r}")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path + (key,), f"must be a whole number, got {value!r}")
        if value < minimum:
            self.fail(path + (key,), f"must be at least {minimum}, got {value}")
        return value

    def number(self, table: dict, key: str, path: tuple, default=None, required=False, positive=False):
        if key not in table:
            if required:
                self.fail(path, f"missing required key {key!r}")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            self.fail(path + (key,), f"must be a number, got {value!r}")
        value = Decimal(value)
        if value < 0 or (positive and value == 0):
            self.fail(path + (key,), f"must be {'above' if positive else 'at least'} 0, got {value}")
        return value

    def amount(self, table: dict, key: str, path: tuple, currency: str, default=0):
        value = self.number(table, key, path, default=None)
        if value is None:
            return default
        try:
            return money.decimal_to_minor(value, currency, key)
        except BadInput:
            self.fail(path + (key,), f"has more decimals than {currency} allows: {value}")

    # -- the whole config --
    def attempt(self, work, *args, default=None):
        """Run one part of the validation; a problem is noted and the rest still checked."""
        try:
            return work(*args)
        except BadInput as exc:
            self.problems.append(str(exc))
            return default

    def build(self, source, origin) -> Config:
        self.problems: list[str] = []
        self.reward_ids: set[str] = set()
        self.attempt(self.check_keys, self.raw, _TOP_KEYS, ())
        shop = self.attempt(self.shop) or Shop("My shop", "EUR", None, "UTC")
        rewards = self.rewards(shop.currency)
        rules = self.rules(rewards, shop.currency)
        tiers = self.tiers(shop.currency)
        expiry = self.attempt(self.expiry) or Expiry()
        if self.problems:
            raise ConfigError(self.problems)
        return Config(shop, rewards, tuple(rules), tuple(tiers), expiry, source, origin, self.raw, self.text)

    def expiry(self) -> Expiry:
        table = self.table(self.raw, "expiry", ("expiry",))
        self.check_keys(table, _EXPIRY_KEYS, ("expiry",))
        return Expiry(points_days=self.whole(table, "points_days", ("expiry",), minimum=1),
                      rewards_days=self.whole(table, "rewards_days", ("expiry",), minimum=1))

    def shop(self) -> Shop:
        table = self.table(self.raw, "shop", ("shop",))
        self.check_keys(table, _SHOP_KEYS, ("shop",))
        currency = self.text_value(table, "currency", ("shop",), default="EUR").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.fail(("shop", "currency"), f"must be a 3-letter ISO 4217 code, got {currency!r}")
        region = self.text_value(table, "phone_region", ("shop",))
        if region is not None:
            region = region.upper()
            if not re.fullmatch(r"[A-Z]{2}", region):
                self.fail(("shop", "phone_region"), f"must be a 2-letter region code such as ES, got {region!r}")
        tz_name = self.text_value(table, "timezone", ("shop",), default=None)
        if tz_name is None:
            tz_name = clock.system_zone_name()
        else:
            try:
                clock.zone(tz_name)
            except BadInput as exc:
                self.fail(("shop", "timezone"), str(exc))
        name = self.text_value(table, "name", ("shop",), default="My shop")
        max_amount = self.amount(table, "max_amount", ("shop",), currency, default=None)
        if max_amount == 0:
            self.fail(("shop", "max_amount"), "must be above 0")
        return Shop(name, currency, region, tz_name, max_amount)

    def rewards(self, currency: str) -> dict[str, Reward]:
        rewards: dict[str, Reward] = {}
        for index, table in enumerate(self.attempt(self.array, "rewards", default=[])):
            reward = self.attempt(self.reward, index, table, currency, rewards)
            if reward is not None:
                rewards[reward.id] = reward
        return rewards

    def reward(self, index, table, currency, rewards) -> Reward:
        path = ("rewards", index)
        reward_id = self.text_value(table, "id", path, required=True)
        if reward_id in self.reward_ids:
            self.fail(path + ("id",), f"duplicate reward id {reward_id!r}")
        self.reward_ids.add(reward_id)  # known even if the rest is broken: no knock-on errors
        self.check_keys(table, _REWARD_KEYS, path)
        kind = self.text_value(table, "kind", path, required=True)
        if kind not in REWARD_KINDS:
            self.fail(path + ("kind",), f"must be one of {', '.join(REWARD_KINDS)}, got {kind!r}")
        value = self.number(table, "value", path, required=True)
        if kind != "percent_off":
            self.amount(table, "value", path, currency)  # checks the decimals
        elif value > 100:
            self.fail(path + ("value",), f"a percent cannot be above 100, got {value}")
        return Reward(
            id=reward_id,
            name=self.text_value(table, "name", path, default=reward_id),
            kind=kind,
            value=value,
            cost=self.amount(table, "cost", path, currency, default=0),
            points=self.whole(table, "points", path, minimum=1),
        )

    def rules(self, rewards: dict, currency: str) -> list:
        rules, names = [], set()
        for index, table in enumerate(self.attempt(self.array, "rules", default=[])):
            rule = self.attempt(self.one_rule, index, table, rewards, currency, names)
            if rule is not None:
                rules.append(rule)
        for kind in ("welcome", "referral"):
            if sum(1 for rule in rules if rule.kind == kind) > 1:
                self.attempt(self.fail, ("rules",), f"more than one {kind!r} rule")
        return rules

    def one_rule(self, index, table, rewards, currency, names):
        path = ("rules", index)
        kind = self.text_value(table, "kind", path, required=True)
        if kind not in RULE_KINDS:
            import difflib

            close = difflib.get_close_matches(kind, RULE_KINDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(path + ("kind",), f"unknown rule kind {kind!r}{hint}; one of {', '.join(RULE_KINDS)}")
        self.check_keys(table, _RULE_KEYS[kind], path)
        rule = self.rule(kind, table, path, rewards, currency)
        if rule.name in names:
            self.fail(path + ("name",), f"duplicate rule name {rule.name!r}: give each rule its own name")
        names.add(rule.name)
        return rule

    def reward_ref(self, table, path, rewards, required):
        reward = self.text_value(table, "reward", path, required=required)
        if reward is not None and reward not in self.reward_ids:
            known = ", ".join(sorted(self.reward_ids)) or "none defined"
            self.fail(path + ("reward",), f"names reward {reward!r}, which does not exist (rewards: {known})")
        return reward

    def rule(self, kind, table, path, rewards, currency):
        name = self.text_value(table, "name", path, default=kind)
        if kind == "punch_card":
            count = self.text_value(table, "count", path, default="visits")
            if count not in ("visits", "items"):
                self.fail(path + ("count",), f'must be "visits" or "items", got {count!r}')
            return PunchCard(
                name=name, count=count,
                every=self.whole(table, "every", path, required=True, minimum=1),
                min_amount=self.amount(table, "min_amount", path, currency),
                reward=self.reward_ref(table, path, rewards, required=True),
            )
        if kind == "points":
            return PointsRule(name, self.number(table, "per_unit", path, required=True, positive=True),
                              self.amount(table, "min_amount", path, currency))
        if kind == "cashback":
            percent = self.number(table, "percent", path, required=True, positive=True)
            if percent > 100:
                self.fail(path + ("percent",), f"cannot be above 100, got {percent}")
            return Cashback(name, percent, self.amount(table, "min_amount", path, currency))
        if kind == "welcome":
            welcome = Welcome(name, self.whole(table, "points", path, default=0),
                              self.amount(table, "credit", path, currency),
                              self.reward_ref(table, path, rewards, required=False))
            if not (welcome.points or welcome.credit or welcome.reward):
                self.fail(path, "a welcome rule needs points, credit or a reward")
            return welcome
        referral = Referral(name, self.whole(table, "referrer_points", path, default=0),
                            self.whole(table, "referee_points", path, default=0))
        if not (referral.referrer_points or referral.referee_points):
            self.fail(path, "a referral rule needs referrer_points or referee_points")
        return referral

    def tiers(self, currency: str) -> list[Tier]:
        tiers, names = [], set()
        for index, table in enumerate(self.attempt(self.array, "tiers", default=[])):
            tier = self.attempt(self.tier, index, table, currency, names)
            if tier is not None:
                for lower in tiers:
                    self.attempt(self.tier_order, lower, tier, index)
                tiers.append(tier)
        return tiers

    def tier_order(self, lower: Tier, tier: Tier, index: int) -> None:
        """Tiers rank in the order written: a later one must not ask for less."""
        for key in ("min_spend", "min_visits"):
            below, here = getattr(lower, key), getattr(tier, key)
            if below is not None and here is not None and here <= below:
                self.fail(("tiers", index, key), f"must be above {lower.name}'s {key}: list tiers lowest first")

    def tier(self, index, table, currency, names) -> Tier:
        path = ("tiers", index)
        self.check_keys(table, _TIER_KEYS, path)
        name = self.text_value(table, "name", path, required=True)
        if name in names:
            self.fail(path + ("name",), f"duplicate tier name {name!r}")
        names.add(name)
        min_spend = self.amount(table, "min_spend", path, currency, default=None)
        min_visits = self.whole(table, "min_visits", path, minimum=1)
        if min_spend is None and min_visits is None:
            self.fail(path, "a tier needs min_spend or min_visits")
        perks = table.get("perks", [])
        if not isinstance(perks, list) or not all(isinstance(p, str) for p in perks):
            self.fail(path + ("perks",), "must be a list of strings")
        multiplier = self.number(table, "multiplier", path, default=Decimal(1), positive=True)
        return Tier(name, min_spend, min_visits, multiplier, tuple(perks))


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _locate(text: str, path: tuple) -> int | None:
    """The line of a key path in the TOML text (1-based), or None: best effort for messages."""
    if not path:
        return None
    table = path[0]
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else None
    key = next((p for p in path[1:] if isinstance(p, str)), None)
    if len(path) == 1:
        for number, line in enumerate(text.splitlines(), start=1):
            if re.match(rf"^\s*(\[\[?\s*{re.escape(table)}\s*\]|{re.escape(table)}\s*=)", line):
                return number
        return None
    seen, inside, header_line = -1, table is None, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?", stripped)
        if header:
            name = header.group(1)
            if table is None:
                inside = False
                continue
            if name == table:
                seen += 1
                inside = index is None or seen == index
                if inside:
                    header_line = number
            else:
                inside = False
            continue
        if inside and key and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return number
    return header_line


def warnings(config: Config) -> list[str]:
    """Things that are valid but probably not meant: an empty or truncated file, say."""
    found = []
    if not config.rules:
        found.append("no [[rules]]: customers will earn nothing")
    if not config.shop.phone_region:
        found.append("no [shop] phone_region: numbers must be typed with +country code")
    used = {r.reward for r in config.rules if getattr(r, "reward", None)}
    for reward in config.rewards.values():
        if reward.id not in used and reward.points is None:
            found.append(f"reward {reward.id!r} is neither issued by a rule nor priced in points")
    return found


def sample_text() -> str:
    return PACKAGED_SAMPLE.read_text(encoding="utf-8")


# ---- writing ---------------------------------------------------------------------------------

def as_dict(config: Config) -> dict:
    """The effective config, defaults filled in, with money back in currency units."""
    currency = config.shop.currency

    def major(minor):
        return None if minor is None else money.to_decimal(minor, currency)

    rules = []
    for rule in config.rules:
        data = {key: getattr(rule, key) for key in rule.__dataclass_fields__}
        for key in ("min_amount", "credit"):
            if key in data:
                data[key] = major(data[key])
        rules.append({"kind": data.pop("kind"), **data})
    return {
        "shop": {"name": config.shop.name, "currency": currency, "phone_region": config.shop.phone_region,
                 "timezone": config.shop.timezone, "max_amount": major(config.shop.max_amount)},
        "rewards": [{"id": r.id, "name": r.name, "kind": r.kind, "value": r.value, "cost": major(r.cost),
                     "points": r.points} for r in config.rewards.values()],
        "rules": rules,
        "tiers": [{"name": t.name, "min_spend": major(t.min_spend), "min_visits": t.min_visits,
                   "multiplier": t.multiplier, "perks": list(t.perks)} for t in config.tiers],
        "expiry": {"points_days": config.expiry.points_days, "rewards_days": config.expiry.rewards_days},
    }


def toml_ready(value):
    """tomli-w cannot write None: leave such keys out."""
    if isinstance(value, dict):
        return {k: toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [toml_ready(v) for v in value]
    return value


def write_sample(path: Path, force: bool = False) -> Path:
    import tomli_w

    from loyalty_cli.system.files import write_text

    if path.exists() and not force:
        raise BadInput(f"{path} already exists (use --force to overwrite it)")
    sample = parse(PACKAGED_SAMPLE.read_bytes(), "sample")
    header = ("# loyalty-cli configuration: the sample rules, to edit for your shop.\n"
              "# Every key is explained under 'How the rules work' and 'The config' in the README.\n"
              "# Check this file with `loyalty config check`; see what is in force with `loyalty config show`.\n\n")
    write_text(path, header + tomli_w.dumps(toml_ready(sample.raw)))
    return path
