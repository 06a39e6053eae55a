"""Phone numbers: whatever a person types, one E.164 key per customer.

`phonenumbers` costs ~45 ms to import, so it is imported only when a number has to be
parsed; the counter path first looks the typed form up in the store's cache.
"""

import os

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.text import ascii_digits


def region_from_locale() -> str | None:
    """'es_ES.UTF-8' -> 'ES'; None under the C/POSIX locale."""
    for var in ("LC_ALL", "LC_TELEPHONE", "LANG"):
        value = os.environ.get(var, "")
        if value:
            lang = value.split(".")[0].split("@")[0]
            if "_" in lang:
                region = lang.split("_")[1].upper()
                if len(region) == 2 and region.isalpha():
                    return region
            return None
    return None


PHONE_CHARS = frozenset("0123456789+-()./ ")


def join_words(words: list[str]) -> str:
    """The words of a phone typed with spaces, refusing a stray word that is not part of it:
    `visit 333 123 4567 12,50` (a forgotten --amount) must not become another customer."""
    import re

    words = [ascii_digits(word) for word in words]
    for word in words:
        if re.fullmatch(r"\d+[.,]\d{1,2}", word.strip()):
            raise BadInput(Phrase("{word} is not part of a phone number (did you mean --amount {word2}?)",
                                  word=repr(word), word2=word))
        if not word.strip() or set(word) - PHONE_CHARS:
            raise BadInput(Phrase("{word} is not part of a phone number", word=repr(word)))
    return " ".join(words)


def cache_key(text: str, region: str | None) -> str:
    """The typed number reduced to what matters for parsing it: '612-34-56-78' -> 'ES:612345678'."""
    digits = "".join(ch for ch in ascii_digits(text) if ch.isdigit() or ch == "+")
    return f"{region or '-'}:{digits}"


def shown_key(e164: str, region: str) -> str:
    """The phone cache's key for how the shop writes a number: 'shown:IT:+393331234567' (a typed
    form's key, cache_key, never starts with a letter)."""
    return shown_prefix(region) + e164


def shown_prefix(region: str) -> str:
    """What every shown_key of a region starts with."""
    return f"shown:{region}:"


def normalise(text: str, region: str | None) -> str:
    """'+34 612 345 678', '612345678', '612-34-56-78' (region ES) -> '+34612345678'."""
    raw = " ".join(ascii_digits(str(text)).split())
    if not raw:
        raise BadInput(Phrase("phone number is empty"))
    if region is None and not raw.startswith(("+", "00")):
        raise BadInput(
            Phrase("cannot tell which country {raw} is in: type it as +<country code>..., or set phone_region in the "
                   "[shop] table of your config (`loyalty config init` writes one)", raw=repr(raw))
        )
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise BadInput(Phrase("not a phone number: {raw}", raw=repr(raw))) from None
    if not phonenumbers.is_valid_number(number):
        if region and not raw.startswith("+"):
            raise BadInput(Phrase("not a valid phone number in region {region}: {raw}", region=region, raw=repr(raw)))
        raise BadInput(Phrase("not a valid phone number: {raw}", raw=repr(raw)))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_supported_region(region: str) -> bool:
    import phonenumbers

    return region.upper() in phonenumbers.SUPPORTED_REGIONS
