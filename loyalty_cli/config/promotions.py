"""The checks of issue 11's config: [[promotions]], the birthday rule, categories and [feedback].

A mixin of ConfigValidator (validate.py), which supplies fail() and the typed getters; kept
apart so that each file stays readable.
"""

import re
from datetime import date, time
from decimal import Decimal

from loyalty_cli.domain import promotions
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import FEEDBACK_SCALES, WEEKDAYS, Birthday, Feedback, Promotion

PROMOTION_KEYS = {"name", "points_multiplier", "extra_punches", "bonus_points", "weekdays", "hours", "from",
                  "until", "min_amount", "categories", "exclude_categories"}
FEEDBACK_KEYS = {"scale", "points"}
CATEGORY_KEYS = ("categories", "exclude_categories")
MAX_BIRTHDAY_DAYS = 180  # each side: a window never reaches the next birthday's
MAX_EXTRA_PUNCHES = 100
HOURS = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class PromotionChecks:
    """ConfigValidator's part for promotions, birthdays, categories and feedback."""

    shop_categories: tuple[str, ...] = ()

    # -- categories --

    def category_list(self, table: dict, key: str, path: tuple, listing: bool = False) -> tuple[str, ...]:
        """A list of category names, lower-cased; each one listed in [shop] categories (unless
        this is that `listing`)."""
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self.fail(path + (key,), Phrase("must be a list of category names"))
        names = tuple(dict.fromkeys(item.strip().casefold() for item in value))
        known = self.shop_categories
        for name in () if listing else names:
            if not known:
                self.fail(path + (key,), Phrase("names category {name}: list the shop's categories in [shop] "
                                                "categories", name=repr(name)))
            if name not in known:
                self.fail(path + (key,), Phrase("unknown category {name}{did_you_mean} (categories: {known})",
                                                name=repr(name), did_you_mean=self.did_you_mean(name, known),
                                                known=', '.join(known)))
        return names

    def categories_of(self, table: dict, path: tuple) -> dict:
        """A rule's or promotion's `categories` and `exclude_categories`, which must not share one."""
        found = {key: self.category_list(table, key, path) for key in CATEGORY_KEYS}
        both = set(found["categories"]) & set(found["exclude_categories"])
        if both:
            self.fail(path + ("exclude_categories",),
                      Phrase("{sorted} is both included and excluded: no visit could qualify",
                             sorted=', '.join(sorted(both))))
        return found

    # -- the birthday rule --

    def birthday(self, name: str, table: dict, path: tuple) -> Birthday:
        return Birthday(
            name, self.reward_ref(table, path, required=True),
            self.whole_number(table, "days_before", path, default=0, maximum=MAX_BIRTHDAY_DAYS),
            self.whole_number(table, "days_after", path, default=0, maximum=MAX_BIRTHDAY_DAYS),
            **self.categories_of(table, path))

    # -- [[promotions]] --

    def promotions(self) -> list[Promotion]:
        found, names = [], set()
        for index, table in enumerate(self.attempt(self.array_of_tables, "promotions", default=[])):
            promotion = self.attempt(self.promotion, index, table, names)
            if promotion is not None:
                found.append(promotion)
        return found

    def promotion(self, index: int, table: dict, names: set) -> Promotion:
        path = ("promotions", index)
        self.check_keys(table, PROMOTION_KEYS, path)
        name = self.string(table, "name", path, required=True)
        if name in names:
            self.fail(path + ("name",), Phrase("duplicate promotion name {name}", name=repr(name)))
        names.add(name)
        promotion = Promotion(
            name=name,
            points_multiplier=self.number(table, "points_multiplier", path, default=Decimal(1), maximum=Decimal(100)),
            extra_punches=self.whole_number(table, "extra_punches", path, default=0, maximum=MAX_EXTRA_PUNCHES),
            bonus_points=self.whole_number(table, "bonus_points", path, default=0),
            weekdays=self.weekdays(table, path), hours=self.hours(table, path),
            start=self.day(table, "from", path), until=self.day(table, "until", path),
            min_amount=self.amount(table, "min_amount", path), **self.categories_of(table, path))
        if promotion.points_multiplier < 1:
            self.fail(path + ("points_multiplier",), Phrase("must be at least 1, got {points_multiplier}",
                                                            points_multiplier=promotion.points_multiplier))
        if promotion.points_multiplier == 1 and not (promotion.extra_punches or promotion.bonus_points):
            self.fail(path, Phrase("a promotion needs points_multiplier above 1, extra_punches or bonus_points"))
        if promotion.start and promotion.until and promotion.until < promotion.start:
            self.fail(path + ("until",), Phrase("is before from ({until} < {start})", until=promotion.until,
                                                start=promotion.start))
        if not promotions.ever_open(promotion):
            self.fail(path + ("weekdays",), Phrase("none of these weekdays falls between {start} and {until}: the "
                                                   "promotion would never run", start=promotion.start,
                                                   until=promotion.until))
        return promotion

    def weekdays(self, table: dict, path: tuple) -> tuple[int, ...]:
        if "weekdays" not in table:
            return ()
        value = table["weekdays"]
        if not isinstance(value, list) or not value or not all(isinstance(day, str) for day in value):
            self.fail(path + ("weekdays",), Phrase("must be a non-empty list such as [\"sat\", \"sun\"] "
                                                   "({WEEKDAYS}), got {value}", WEEKDAYS=' '.join(WEEKDAYS),
                                                   value=repr(value)))
        days = []
        for day in value:
            short = day.strip().casefold()[:3]
            if short not in WEEKDAYS or len(day.strip()) < 3:
                self.fail(path + ("weekdays",), Phrase("unknown weekday {day}: one of {WEEKDAYS}", day=repr(day),
                                                       WEEKDAYS=' '.join(WEEKDAYS)))
            days.append(WEEKDAYS.index(short))
        return tuple(sorted(set(days)))

    def hours(self, table: dict, path: tuple) -> tuple[time, time] | None:
        if "hours" not in table:
            return None
        value = table["hours"]
        found = HOURS.fullmatch(value.replace(" ", "")) if isinstance(value, str) else None
        if not found:
            self.fail(path + ("hours",), Phrase("must be \"HH:MM-HH:MM\" such as \"15:00-18:00\", got {value}",
                                                value=repr(value)))
        start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
        if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
            self.fail(path + ("hours",), Phrase("not a time of day: {value}", value=repr(value)))
        start = time(start_h, start_m)
        end = time.max if end_h == 24 else time(end_h, end_m)
        if end <= start:
            self.fail(path + ("hours",), Phrase("{value} ends before it starts: a window across midnight is two "
                                                "promotions (\"22:00-24:00\" and \"00:00-02:00\")",
                                                value=repr(value)))
        return start, end

    def day(self, table: dict, key: str, path: tuple) -> date | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, date) or hasattr(value, "hour"):
            self.fail(path + (key,), Phrase("must be a TOML date such as 2026-12-01 (no quotes, no time), got {value}",
                                            value=repr(value)))
        return value

    # -- [feedback] --

    def feedback(self) -> Feedback:
        path = ("feedback",)
        table = self.table(self.raw, "feedback", path)
        self.attempt(self.check_keys, table, FEEDBACK_KEYS, path)
        scale = self.attempt(self.feedback_scale, table, path)  # each key on its own: both reported
        points = self.attempt(self.whole_number, table, "points", path, 0)
        return Feedback(scale or 10, points or 0)

    def feedback_scale(self, table: dict, path: tuple) -> int:
        scale = self.whole_number(table, "scale", path, default=10)
        if scale not in FEEDBACK_SCALES:
            self.fail(path + ("scale",), Phrase("must be 10 (0-10, with the Net Promoter Score) or 5 (stars), got "
                                                "{scale}", scale=scale))
        return scale
