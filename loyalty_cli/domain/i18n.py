"""The shop's language for people: one translation function, `tr`, and the locale in force.

English is the source language: until `use()` names another locale, `tr` returns its text as it
is, and nothing here imports gettext or reads a catalog (the counter's start-up is measured).
The catalogs are loyalty_cli/locale/<lang>/LC_MESSAGES/loyalty.mo, compiled from the .po files
beside them (CONTRIBUTING.md: `python tools/catalogs.py`).

Machine output (JSON, --format csv, exit codes) never goes through `tr`.
"""

import os
from pathlib import Path

# The locales a shop may choose ([shop] locale), and the catalog language of each.
LOCALES = {"en": "en", "es_ES": "es", "it_IT": "it", "hu_HU": "hu"}
DEFAULT = "en"
CATALOG_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "loyalty"

_active = DEFAULT
_catalog = None  # a gettext.GNUTranslations, or None for English


def tr(message: str) -> str:
    """The message in the shop's language (English when there is no catalog entry)."""
    return message if _catalog is None else _catalog.gettext(message)


def tr_n(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, in the shop's language."""
    if _catalog is None:
        return singular if count == 1 else plural
    return _catalog.ngettext(singular, plural, count)


def mark(message: str) -> str:
    """Marks a message for the catalogs where it is defined (a table of labels); `tr` it where shown."""
    return message


def current() -> str:
    """The locale in force: 'en', 'es_ES', 'it_IT' or 'hu_HU'."""
    return _active


def use(locale: str | None) -> None:
    """Speak `locale` from now on (None or 'en': English, the source text)."""
    global _active, _catalog
    locale = locale if locale in LOCALES else DEFAULT
    if locale == _active:
        return
    if locale == DEFAULT:
        _active, _catalog = DEFAULT, None
        return
    import gettext

    # The one file we know we want, opened directly: gettext.translation()'s search through
    # language variants costs the counter more than reading the catalog itself.
    try:
        with (CATALOG_DIR / LOCALES[locale] / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
            _catalog = gettext.GNUTranslations(handle)
    except OSError:  # a catalog missing from a broken install: English rather than a traceback
        _catalog = None
    _active = locale


def system_locale() -> str:
    """The supported locale this machine speaks (LC_ALL, LC_MESSAGES, LANG), else English.

    'it_IT.UTF-8' and 'it_CH' are Italian, 'es_MX' Spanish: the language decides (the shop's
    region is phone_region's business); 'C', 'POSIX' and other languages are English.
    """
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            language = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return next((code for code, lang in LOCALES.items() if lang == language), DEFAULT)
    return DEFAULT


def language_tag(locale: str | None = None) -> str:
    """'it' for it_IT: what <html lang> and Babel's short forms want."""
    return LOCALES.get(locale or _active, "en")


class Phrase(str):
    """English text that remembers how to say itself in the shop's language.

    It *is* the English string (what JSON, --format csv, a rejects file and the logs get, the
    same in every locale); `say()` gives the translation where a person reads it (the error
    edge, a warning line). Parameters that are Phrases are translated too.
    """

    def __new__(cls, message: str, /, **params):
        english = message.format(**params) if params else message
        self = super().__new__(cls, english)
        self.message, self.params = message, params
        return self

    def __getnewargs_ex__(self):  # pickled across the importer's worker processes
        return (self.message,), self.params

    def translated(self) -> str:
        params = {key: say(value) for key, value in self.params.items()}
        return tr(self.message).format(**params) if params else tr(self.message)


def say(text) -> str:
    """The text for a person: a Phrase in the shop's language, anything else as it is."""
    return text.translated() if isinstance(text, Phrase) else str(text)
