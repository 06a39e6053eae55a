"""Campaign messages and marketing consent, pure: the template's placeholders, a message rendered
from a customer's figures, the wa.me link, and the words a consent may be written in.

Templates use Python's brace syntax ("Ciao {name}") without its extras: only the names in
PLACEHOLDERS, no attribute, index, conversion or format spec, so that a template can neither
reach into an object nor fail at sending time. `{{` and `}}` write a literal brace.
"""

from loyalty_cli.domain.i18n import Phrase, mark

PLACEHOLDERS = ("name", "points", "credit", "punches_left", "reward_name", "voucher_code", "tier", "shop")

# How a marketing column (import cards) or --marketing may say yes and no: English, Spanish,
# Italian, Hungarian, and the machine forms. Compared case-insensitively, accents kept.
CONSENT_WORDS = {
    "yes": 1, "y": 1, "no": 0, "n": 0, "true": 1, "false": 0, "1": 1, "0": 0,
    "sí": 1, "si": 1, "sì": 1, "igen": 1, "nem": 0,
}

# Every e-mail says how to stop them (and carries a List-Unsubscribe header to the sender).
STOP_LINE = mark("You receive this because you agreed to hear from {shop}. "
                 "To stop, reply STOP or tell us at the counter.")


def template_problem(template: str) -> str | None:
    """Why a template cannot be rendered (an unknown placeholder, a stray brace), or None."""
    from string import Formatter  # string and urllib stay out of the counter's start-up

    try:
        parts = list(Formatter().parse(template))
    except ValueError as exc:  # "Single '}' encountered in format string", ...
        return Phrase("{reason} (write {{{{ or }}}} for a literal brace)", reason=str(exc))
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            shown = "{" + field + "}"
            shown = shown if shown.isprintable() else repr(shown)  # a problem is one line
            return Phrase("unknown placeholder {shown}: use {placeholders}", shown=shown,
                          placeholders=", ".join("{" + p + "}" for p in PLACEHOLDERS))
        if spec or conversion:
            return Phrase("placeholder {field} takes no format or conversion", field="{" + field + "}")
    return None


def render(template: str, figures: dict) -> str:
    """The template with the customer's figures; a missing figure (no voucher, no tier) is empty."""
    values = {key: "" if figures.get(key) is None else str(figures[key]) for key in PLACEHOLDERS}
    return template.format_map(values)


def whatsapp_link(phone_e164: str, message: str) -> str:
    """https://wa.me/<digits>?text=<the message, percent-encoded>: WhatsApp's click-to-chat."""
    from urllib.parse import quote

    base = f"https://wa.me/{phone_e164.lstrip('+')}"
    return f"{base}?text={quote(message, safe='')}" if message else base


def consent_value(text: str) -> int | None:
    """1 for yes, 0 for no, None when the word is neither."""
    return CONSENT_WORDS.get(text.strip().casefold())


CONSENT_HELP = "yes/no, sí/no, sì/no, igen/nem, 1/0 or true/false"
