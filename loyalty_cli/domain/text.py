"""What a person may type into a text field: one rule for each, shared by the counter and the import."""

EMAIL_MAX = 254  # RFC 5321's limit on a forward path


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address we can use, or None when it is one.

    Deliberately loose (real addresses are stranger than any pattern) but never silly: one @,
    something before it, a dotted domain after it, no spaces. The counter and the import used to
    disagree (`a@b` passed one and not the other); this is the one rule for both.
    """
    if len(text) > EMAIL_MAX:
        return f"longer than {EMAIL_MAX} characters"
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or any(c.isspace() for c in text):
        return "not an e-mail address"
    if "." not in domain.strip(".") or domain.startswith(".") or domain.endswith("."):
        return "not an e-mail address (the part after @ needs a dotted domain, e.g. shop.it)"
    return None
