"""Rules published to a shared database, combined with the till's own settings.

A chain runs one programme: what a visit earns, what a reward costs and what the reports count
in must be the same at every till, so these come from the published version. What belongs to
the till itself stays in its local config:

- chain-wide (published): [[rewards]], [[rules]], [[tiers]], [[promotions]], [expiry],
  [feedback], and in [shop]: name, currency, timezone (one calendar for the chain's days and
  periods), max_amount and categories (the rules name them);
- per till (local): [shop] location (where its visits are recorded), phone_region (how its
  staff type numbers) and locale (the language its staff read), and which database it uses
  (--db / LOYALTY_DB, never in a config).
"""

from dataclasses import replace

from loyalty_cli.config.load import parse
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import Config

PER_TILL_SHOP_KEYS = ("location", "phone_region", "locale")


def combine(version, local: Config) -> Config:
    """The rules of published `version` (a config_versions row) with the till's own settings."""
    label = describe(version)
    if local.text == version["toml"]:  # the till's file is the published one: no second parse (~3 ms)
        return replace(local, source=None, origin=label, published=version["id"])
    published = parse(version["toml"].encode("utf-8"), f"published config version {version['id']}",
                      source=None, origin=label)
    shop = replace(published.shop, **{key: getattr(local.shop, key) for key in PER_TILL_SHOP_KEYS})
    return replace(published, shop=shop, published=version["id"])


def describe(version) -> str:
    """'published version 3, by ana, 2026-11-30'."""
    return Phrase("published version {version}, by {author}, {date}", version=version["id"],
                  author=version["author"], date=version["at"][:10])


def differs(local: Config, in_force: Config) -> bool:
    """Whether a till's local file says other rules than the published ones (a local file only:
    a till with no config file of its own has nothing to disagree with)."""
    return local.source is not None and chain_part(local.raw) != chain_part(in_force.raw)


def chain_part(raw: dict) -> dict:
    """The chain-wide part of a parsed config: everything but the per-till [shop] keys."""
    shop = {key: value for key, value in raw.get("shop", {}).items() if key not in PER_TILL_SHOP_KEYS}
    return {**{key: value for key, value in raw.items() if key != "shop"}, "shop": shop}
