"""Marketing consent (issue 12): --marketing yes|no read, written to the append-only log, and
the log shown. No campaign reaches a customer whose newest entry is not a yes (none: no)."""

from datetime import datetime

from loyalty_cli.domain import campaigns, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import consents as store

SOURCE_MAX = 200


def marketing_choice(value: str | None) -> int | None:
    """--marketing as 1 or 0; None when not given."""
    if value is None:
        return None
    found = campaigns.consent_value(value)
    if found is None:
        raise BadInput(Phrase("--marketing must be {words}, got {value}", words=campaigns.CONSENT_HELP,
                              value=repr(value)))
    return found


def consent_source(value: str | None, marketing: int | None) -> str | None:
    if value is None:
        return None
    if marketing is None:
        raise BadInput(Phrase("--consent-source says how consent was given or withdrawn: "
                              "give --marketing yes|no with it"))
    problem = text.field_problem(value.strip(), SOURCE_MAX)
    if problem:
        raise BadInput(Phrase("--consent-source {problem}", problem=problem))
    return value.strip() or None


def record(conn, customer_id: int, at: datetime, marketing: int | None, source: str | None) -> None:
    """Append the customer's consent (inside the caller's transaction), if one was given."""
    if marketing is not None:
        store.append(conn, customer_id, at, marketing, source)


def log(conn, config, customer_id: int) -> list[dict]:
    """The customer's consent log, oldest first, times shop-local: {at, marketing, source}."""
    from loyalty_cli.services.views import local_time

    return [{"at": local_time(row["at"], config), "marketing": bool(row["marketing"]), "source": row["source"]}
            for row in store.log(conn, customer_id)]
