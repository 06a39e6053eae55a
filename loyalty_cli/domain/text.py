"""What a person may type into a text field: one rule for each, shared by the counter and the import."""

from loyalty_cli.domain.i18n import Phrase

EMAIL_MAX = 254  # RFC 5321's limit on a forward path


def ascii_digits(text: str) -> str:
    """Any script's decimal digits as ASCII ('١٢' and full-width '１２' -> '12'), the rest as is.

    Amounts and phone numbers both go through this, so a digit a keyboard in another script
    types means the same in both (Decimal accepted them in amounts while phones refused them).
    """
    if text.isascii():
        return text
    import unicodedata

    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address we can use, or None when it is one.

    Deliberately loose (real addresses are stranger than any pattern) but never silly: one @,
    something before it, a dotted domain after it, no spaces. The counter and the import used to
    disagree (`a@b` passed one and not the other); this is the one rule for both.
    """
    if len(text) > EMAIL_MAX:
        return Phrase("longer than {limit} characters", limit=EMAIL_MAX)
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or any(c.isspace() for c in text):
        return Phrase("not an e-mail address")
    if "." not in domain.strip(".") or domain.startswith(".") or domain.endswith("."):
        return Phrase("not an e-mail address (the part after @ needs a dotted domain, e.g. shop.it)")
    unreadable = control_problem(text)  # an escape sequence, or a byte that is not UTF-8
    return Phrase("not an e-mail address: it {problem}", problem=unreadable) if unreadable else None


# Bounds on free text: a paper card's name, a note, a receipt number. Far above any real one,
# far below what a runaway script or a pasted file would send.
NAME_MAX = 200
NOTE_MAX = 1000
REF_MAX = 100
LOCATION_MAX = 100  # a shop's or till's name in a chain

# Bidirectional overrides reorder what a terminal shows (a 'Trojan Source' trick); they are
# format characters, not control characters, so they are named here.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_problem(text: str) -> str | None:
    """Why `text` cannot be stored for people to read later, or None.

    A name holding ESC sequences cleared the screen and retitled the window of whoever listed
    the customers, so control characters are refused at every entry (tabs and line breaks are
    folded into spaces before this is asked).
    """
    for char in text:
        if (char < " " or "\x7f" <= char <= "\x9f") or char in _BIDI_CONTROLS:
            code = f"U+{ord(char):04X}"
            return Phrase("holds a control character ({code})", code=code)
        if "\ud800" <= char <= "\udfff":  # a byte of the command line or stdin that is not UTF-8 (Python's
            # surrogateescape): it cannot be stored as text, and the database would refuse it mid-transaction
            return Phrase("holds a byte that is not UTF-8 text (0x{byte})", byte=format(ord(char) & 0xFF, "02X"))
    return None


def tidy(text: str | None) -> str | None:
    """Runs of whitespace (tabs and line breaks included) as one space, trimmed; '' is None."""
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text or None


def field_problem(text: str, limit: int) -> str | None:
    """Why a tidied free-text field cannot be stored, or None: too long or a control character."""
    if len(text) > limit:
        return Phrase("is longer than {limit} characters ({length})", limit=limit, length=len(text))
    return control_problem(text)
