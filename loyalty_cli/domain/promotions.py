"""Promotions, birthdays and categories: which visits they apply to. Pure: no clock, no I/O.

Everything is decided at the visit's shop-local time (`local`): a back-dated visit gets the
promotion that ran then, and a window's dates and hours mean the shop's wall clock, DST days
included (a 15:00-18:00 window is three wall-clock hours whatever the UTC offset).
"""

from datetime import date, datetime, time, timedelta

from loyalty_cli.domain.model import Birthday, Promotion


def qualifies(rule, category: str | None) -> bool:
    """A visit's category against a rule's or promotion's `categories` / `exclude_categories`
    (model.VISIT_RULE_KINDS: the rules a visit goes through have both)."""
    included = rule.categories
    if included and category not in included:
        return False
    return category is None or category not in rule.exclude_categories


def in_window(promotion: Promotion, local: datetime) -> bool:
    """Whether a shop-local moment is inside the promotion's dates, weekdays and hours."""
    day = local.date()
    if promotion.start is not None and day < promotion.start:
        return False
    if promotion.until is not None and day > promotion.until:
        return False
    if promotion.weekdays and day.weekday() not in promotion.weekdays:
        return False
    if promotion.hours is not None:
        start, end = promotion.hours
        moment = local.time().replace(tzinfo=None)
        if not (start <= moment and (moment < end or end == time.max)):
            return False
    return True


def active(promotions, local: datetime, amount: int, category: str | None) -> list[Promotion]:
    """The promotions a visit gets, in the order the config lists them."""
    return [promotion for promotion in promotions
            if amount >= promotion.min_amount and qualifies(promotion, category) and in_window(promotion, local)]


def ever_open(promotion: Promotion) -> bool:
    """False for a window no visit can ever be in: its dates hold none of its weekdays."""
    if promotion.start is None or promotion.until is None or not promotion.weekdays:
        return promotion.start is None or promotion.until is None or promotion.start <= promotion.until
    span = (promotion.until - promotion.start).days + 1
    days = {(promotion.start + timedelta(days=offset)).weekday() for offset in range(min(span, 7))}
    return bool(days & set(promotion.weekdays))


# ---- birthdays -------------------------------------------------------------------------------

def birthday_in(birthday: date, year: int) -> date:
    """The day a birthday is celebrated in `year`: 29 February is 28 February in other years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthday_for(rule: Birthday, birthday: date, day: date) -> date | None:
    """The birthday whose window holds the shop-local `day`, or None. A window belongs to the
    birthday it surrounds: 27 December is in the window of a 2 January birthday (next year's)."""
    for year in (day.year - 1, day.year, day.year + 1):
        celebrated = birthday_in(birthday, year)
        if celebrated - timedelta(days=rule.days_before) <= day <= celebrated + timedelta(days=rule.days_after):
            return celebrated
    return None
