"""The shop's reward rules read: a TOML file, or the built-in defaults, into a validated Config.

Every problem is raised as BadInput (exit 2) naming the file and, where it can, the line
(validate.py checks the contents, toml_lines.py finds the lines).
"""

import re
from decimal import Decimal
from pathlib import Path

from loyalty_cli.config.validate import ConfigValidator
from loyalty_cli.domain import clock
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import Config, Shop

PACKAGED_SAMPLE = Path(__file__).with_name("sample.toml")
BUILTIN_ORIGIN = "built-in defaults"


def load(path: Path | None, origin: str = "", data: bytes | None = None) -> Config:
    """Load and validate a config file; None means the built-in defaults. data: its bytes, read already."""
    if path is None:
        return builtin()
    return parse(read(path) if data is None else data, str(path), source=path, origin=origin or str(path))


def read(path: Path) -> bytes:
    """A config file's bytes (load parses them; a long-running till compares them, services/kept.py)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(Phrase("{path}: config file not found", path=path)) from None
    except OSError as exc:
        raise BadInput(Phrase("{path}: cannot read config: {strerror}", path=path, strerror=exc.strerror)) from None


def declared_locale(path: Path | None) -> str | None:
    """The [shop] locale a config file names, read even when the file is otherwise broken, so
    that its problems are told in its shop's language; None if it names none we speak."""
    import tomllib

    from loyalty_cli.domain.i18n import LOCALES

    try:
        shop = tomllib.loads(path.read_bytes().decode("utf-8-sig")).get("shop") if path else None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    locale = shop.get("locale") if isinstance(shop, dict) else None
    return locale if locale in LOCALES else None


def builtin() -> Config:
    """The sample rules, with the shop's region and time zone taken from this machine."""
    from loyalty_cli.domain.i18n import system_locale
    from loyalty_cli.domain.phones import region_from_locale

    config = parse(PACKAGED_SAMPLE.read_bytes(), BUILTIN_ORIGIN, source=None, origin=BUILTIN_ORIGIN)
    shop = Shop(name="My shop", currency=config.shop.currency, phone_region=region_from_locale(),
                timezone=clock.system_zone_name(), max_amount=config.shop.max_amount,
                categories=config.shop.categories, locale=system_locale())
    return Config(shop, config.rewards, config.rules, config.tiers, config.expiry,
                  None, BUILTIN_ORIGIN, config.raw, config.text, config.promotions, config.feedback,
                  privacy=config.privacy, campaigns=config.campaigns, outreach=config.outreach)


def parse(data: bytes, filename: str, source: Path | None = None, origin: str = "") -> Config:
    """The bytes of a config file, decoded, parsed and validated; `filename` is for messages."""
    import tomllib

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(Phrase("{filename}: config is not UTF-8 text", filename=filename)) from None
    try:
        raw = tomllib.loads(text, parse_float=Decimal)  # money stays exact
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(_toml_error_message(filename, exc)) from None
    return ConfigValidator(raw, text, filename).validate(source, origin)


def _toml_error_message(filename: str, exc: Exception) -> str:
    """tomllib's "... (at line 1, column 6)" as "file:1:6: broken TOML: ...", the way compilers say it."""
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found:
        bare = message[: found.start()].strip()
        return Phrase("{filename}:{line}:{column}: broken TOML: {message}", filename=filename, line=found.group(1),
                      column=found.group(2), message=bare)
    return Phrase("{filename}: broken TOML: {message}", filename=filename, message=message)
