"""The config going out: the sample file for `config init`, the effective config for `config show`."""

from pathlib import Path

from loyalty_cli.config.load import PACKAGED_SAMPLE
from loyalty_cli.domain import money
from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase, system_locale
from loyalty_cli.domain.model import WEEKDAYS, Config
from loyalty_cli.system.files import atomic_writer

SAMPLE_LOCALE_LINE = '# locale = "it_IT"'  # the sample's [shop] locale, made the detected one


def write_sample(path: Path, force: bool = False) -> Path:
    """The packaged sample (its comments explain every key), written atomically, with the locale
    this machine speaks in place of the sample's own: `config init` asks nothing."""
    if path.exists() and not force:
        raise Refused(Phrase("{path} already exists (use --force to overwrite it)", path=path))
    text = PACKAGED_SAMPLE.read_text(encoding="utf-8")
    text = text.replace(SAMPLE_LOCALE_LINE, f'locale = "{system_locale()}"'.ljust(len(SAMPLE_LOCALE_LINE)), 1)
    with atomic_writer(path, mode="wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


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
        rules.append(_without_empty_categories({"kind": data.pop("kind"), **data}))
    return {
        "shop": {"name": config.shop.name, "currency": currency, "phone_region": config.shop.phone_region,
                 "timezone": config.shop.timezone, "locale": config.shop.locale,
                 "max_amount": major(config.shop.max_amount), "categories": list(config.shop.categories) or None},
        "rewards": [{"id": r.id, "name": r.name, "kind": r.kind, "value": r.value, "cost": major(r.cost),
                     "points": r.points} for r in config.rewards.values()],
        "rules": rules,
        "tiers": [{"name": t.name, "min_spend": major(t.min_spend), "min_visits": t.min_visits,
                   "multiplier": t.multiplier, "perks": list(t.perks)} for t in config.tiers],
        "expiry": {"points_days": config.expiry.points_days, "rewards_days": config.expiry.rewards_days},
        "promotions": [_promotion(p, major) for p in config.promotions],
        "feedback": {"scale": config.feedback.scale, "points": config.feedback.points},
        # only when set: without it nobody is forgotten unasked, and there is nothing to show
        **({"privacy": {"forget_inactive_days": config.privacy.forget_inactive_days}}
           if config.privacy.forget_inactive_days is not None else {}),
        "campaigns": [{key: getattr(c, key) for key in c.__dataclass_fields__} for c in config.campaigns],
        # the password is never in the config: LOYALTY_SMTP_PASSWORD, when a campaign is sent
        "outreach": ({key: getattr(config.outreach, key) for key in config.outreach.__dataclass_fields__}
                     if config.outreach else None),
    }


# Said by `config show` above the promotions, and in the README.
PROMOTIONS_STACK = ("several promotions at once: their points multipliers multiply (on the points earned "
                    "from spend), their bonus points and extra punches add")


def _promotion(promotion, major) -> dict:
    hours = None
    if promotion.hours:
        start, end = promotion.hours
        hours = f"{start:%H:%M}-" + ("24:00" if end.hour == 23 and end.minute == 59 and end.second else f"{end:%H:%M}")
    return _without_empty_categories({
        "name": promotion.name, "points_multiplier": promotion.points_multiplier,
        "extra_punches": promotion.extra_punches, "bonus_points": promotion.bonus_points,
        "weekdays": [WEEKDAYS[day] for day in promotion.weekdays] or None, "hours": hours,
        "from": promotion.start, "until": promotion.until, "min_amount": major(promotion.min_amount),
        "categories": list(promotion.categories), "exclude_categories": list(promotion.exclude_categories)})


def _without_empty_categories(data: dict) -> dict:
    for key in ("categories", "exclude_categories"):
        if key in data:
            data[key] = list(data[key]) or None
    return data


def toml_ready(value):
    """tomli-w cannot write None: leave such keys out."""
    if isinstance(value, dict):
        return {k: toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [toml_ready(v) for v in value]
    return value
