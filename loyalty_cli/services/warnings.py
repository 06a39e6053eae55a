"""What is valid but probably not meant, in the config and the shop's data together: said as a
warning (once, on stderr), never an error."""

from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import counter as store

BIRTHDAY_WARNING = Phrase("the config has a birthday rule but no customer has a birthday on file: it rewards no "
                          "one until they do (enroll/edit --birthday, or a birthday column in `import cards`)")


def birthday_warning(config, conn) -> str | None:
    """BIRTHDAY_WARNING when the config has a birthday rule and no customer has a birthday."""
    if not config.rules_of("birthday") or store.has_birthdays(conn):
        return None
    return BIRTHDAY_WARNING
