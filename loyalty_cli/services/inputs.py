"""What the counter's commands accept: each option checked and tidied before anything is written
(online, or in a till's offline outbox), with one clear line naming what is wrong."""

from datetime import datetime, timedelta

from loyalty_cli.domain import birthdays, clock, locale_format, money, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services.session import Session

FUTURE_SLACK = timedelta(minutes=5)  # a till clock a little ahead is not an error
MAX_ITEMS = 10_000


def visit_input(session: Session, now: datetime, amount_text=None, items=None, note=None, at_text=None, name=None,
                ref=None, category=None, location=None) -> dict:
    """A visit's options checked and tidied, before anything is written (online or in the outbox)."""
    config = session.config
    category = visit_category(config, category)
    location = session.location(location)
    amount = money.parse_amount(amount_text, config.shop.currency, "--amount") if amount_text is not None else 0
    if config.shop.max_amount is not None and amount > config.shop.max_amount:
        limit = locale_format.amount(config.shop.max_amount, config.shop.currency)
        raise BadInput(Phrase("--amount {amount_text} is above the shop's max_amount of {limit} (a typo? raise "
                              "max_amount in [shop] of the config)", amount_text=amount_text, limit=limit))
    if items is not None and items < 0:
        raise BadInput(Phrase("--items must not be negative, got {items}", items=items))
    if items is not None and items > MAX_ITEMS:
        raise BadInput(Phrase("--items is too large: {items}", items=items))
    return {"amount": amount, "items": 1 if items is None else items, "at": moment(at_text, config, now),
            "ref": text_option(ref, "--ref", text.REF_MAX), "name": text_option(name, "--name", text.NAME_MAX),
            "note": text_option(note, "--note", text.NOTE_MAX), "category": category, "location": location}


def visit_category(config, text_value: str | None, what: str = "--category") -> str | None:
    """--category tidied; one of [shop] categories when the shop lists them (a typo is refused).
    The importer reads a `category` cell with it too (`what` names the cell), so a file's visits
    carry exactly the categories the counter would have stored."""
    if text_value is None or not text_value.strip():
        return None
    category = text_value.strip().casefold()
    known = config.shop.categories
    if known and category not in known:
        import difflib

        close = difflib.get_close_matches(category, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInput(Phrase("{what} {name} is not one of the shop's categories{hint}: {known}", what=what,
                              name=repr(text_value.strip()), hint=hint, known=', '.join(known)))
    problem = text.field_problem(category, text.NAME_MAX)
    if problem:
        raise BadInput(Phrase("{what} {problem}", what=what, problem=problem))
    return category


def moment(at_text, config, now):
    if not at_text:
        return now
    at = clock.parse_moment(at_text, config.tz)
    if at > now + FUTURE_SLACK:
        raise BadInput(Phrase("--at is in the future: {at_text}", at_text=repr(at_text)))
    return at


def text_option(value: str | None, what: str, limit: int) -> str | None:
    """A free-text option tidied and checked: one line naming the option when it cannot be stored."""
    value = text.tidy(value)
    if value is not None:
        problem = text.field_problem(value, limit)
        if problem:
            raise BadInput(Phrase("{what} {problem}", what=what, problem=problem))
    return value


def email(value):
    if value is None:
        return None
    value = value.strip()
    problem = text.email_problem(value)
    if problem:
        raise BadInput(Phrase("--email is {problem}: {value}", problem=problem, value=repr(value)))
    return value


def birthday(text):
    if text is None:
        return None
    return birthdays.parse_option(text, "--birthday", clock.now().date())
