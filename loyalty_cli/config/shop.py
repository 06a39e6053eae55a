"""[shop]'s checks, a part of config/validate.ConfigValidator (as promotions.py and campaigns.py
are): each key checked on its own, so that `config check` lists every problem of the table."""

import re

from loyalty_cli.domain import clock, i18n, money, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import Shop

SHOP_KEYS = {"name", "currency", "phone_region", "timezone", "max_amount", "categories", "location", "locale"}


class ShopChecks:
    """Mixed into ConfigValidator, whose raw, attempt, fail, string, amount, table, check_keys and
    category_list these use."""

    def shop(self) -> Shop:
        """Each key checked on its own (a problem noted, a default in its place) so that
        `config check` lists every problem of the table, not the first."""
        path = ("shop",)
        table = self.table(self.raw, "shop", path)
        self.attempt(self.check_keys, table, SHOP_KEYS, path)
        self.currency = self.attempt(self.currency_code, table) or "EUR"  # max_amount below is in it
        region = self.attempt(self.phone_region, table)
        timezone = self.attempt(self.timezone, table) or "UTC"
        name = self.attempt(self.string, table, "name", path, "My shop") or "My shop"
        max_amount = self.attempt(self.max_amount, table)
        categories = self.attempt(self.category_list, table, "categories", path, True) if "categories" in table else ()
        locale = self.attempt(self.shop_locale, table)  # else the system's, when it is one we speak
        return Shop(name, self.currency, region, timezone, max_amount, categories or (),
                    self.attempt(self.location, table), locale or i18n.system_locale())

    def currency_code(self, shop: dict) -> str:
        currency = self.string(shop, "currency", ("shop",), default="EUR")
        if currency not in money.ISO_4217:
            hint = Phrase(" (write it in capitals: {upper})", upper=repr(currency.upper())) \
                if currency.upper() in money.ISO_4217 else ""
            self.fail(("shop", "currency"), Phrase("must be an ISO 4217 currency code such as EUR, got "
                                                   "{currency}{hint}", currency=repr(currency), hint=hint))
        return currency

    def max_amount(self, shop: dict) -> int | None:
        max_amount = self.amount(shop, "max_amount", ("shop",), default=None)
        if max_amount == 0:
            self.fail(("shop", "max_amount"), Phrase("must be above 0"))
        return max_amount

    def shop_locale(self, shop: dict) -> str | None:
        locale = self.string(shop, "locale", ("shop",))
        if locale is not None and locale not in i18n.LOCALES:
            self.fail(("shop", "locale"), Phrase("must be one of {LOCALES}, got {locale}",
                                                 LOCALES=", ".join(i18n.LOCALES), locale=repr(locale)))
        return locale

    def location(self, shop: dict) -> str | None:
        """[shop] location: the name this till's visits are recorded under, tidied and bounded."""
        location = text.tidy(self.string(shop, "location", ("shop",)))
        problem = location and text.field_problem(location, text.LOCATION_MAX)
        if problem:
            self.fail(("shop", "location"), problem)
        return location

    def phone_region(self, shop: dict) -> str | None:
        """The format only: the full check needs phonenumbers (check_phone_region)."""
        region = self.string(shop, "phone_region", ("shop",))
        if region is None:
            return None
        region = region.upper()
        if not re.fullmatch(r"[A-Z]{2}", region):
            self.fail(("shop", "phone_region"), Phrase("must be a 2-letter region code such as ES, got {region}",
                                                       region=repr(region)))
        return region

    def timezone(self, shop: dict) -> str:
        name = self.string(shop, "timezone", ("shop",))
        if name is None:
            return clock.system_zone_name()
        try:
            clock.zone(name)
        except BadInput as exc:
            self.fail(("shop", "timezone"), str(exc))
        return name
