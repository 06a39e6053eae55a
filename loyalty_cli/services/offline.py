"""Offline tills: a visit recorded in the till's outbox while the server cannot be reached, and
the push that records those visits on the server once it can (`loyalty sync`, and the start of
any later command that reaches it).

Every offline visit gets its idempotency key when it is written to the outbox (its --ref, or
off-<uuid>), and the push is services.counter.record_visit with ref = key, one transaction per
visit: a key the server already holds is a visit pushed before a crash, marked done, never
recorded twice. The outbox row is committed, and on disk, before the card is printed.
"""

import sqlite3
import uuid

from loyalty_cli.domain import clock, money, phones
from loyalty_cli.domain.errors import LoyaltyError, Refused, Unreachable
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services import counter, inputs
from loyalty_cli.services.session import Session
from loyalty_cli.store import outbox

# What a visit's result says about that visit, not about the card: an offline card must not show
# the last online visit's earnings as if this one had earned them.
VISIT_ONLY = ("earned", "promotions", "visit_id", "duplicate", "enrolled", "location")


def record(session: Session, phone_text: str, **options) -> dict:
    """Write one visit to the outbox (the server is unreachable); the customer's last known card."""
    config, now = session.config, clock.now()
    given = inputs.visit_input(session, now, **options)
    phone = phones.normalise(phone_text, config.shop.phone_region)
    key = given["ref"] or f"off-{uuid.uuid4()}"
    if session.kept is not None:
        session.kept.write_cards()  # the cards a running till still holds: this visit shows one
    with session.outbox(durable=True) as conn:
        earlier = outbox.known_key(conn, key)
        if earlier is not None:
            if earlier["phone"] != phone or earlier["amount"] != given["amount"]:
                raise Refused(Phrase("--ref {ref} is already in this till's outbox for another visit: "
                                     "nothing recorded", ref=key))
        else:
            outbox.add(conn, {**given, "key": key, "phone": phone, "at": clock.to_db(given["at"]),
                              "recorded_at": clock.to_db(now)})
        last = outbox.last_card(conn, phone)
    return {"offline": True, "ref": key, "phone": phone, "duplicate": earlier is not None,
            "location": given["location"], "amount": money.as_string(given["amount"], config.shop.currency),
            "last_known": last[0] if last else None,
            "last_seen_at": clock.local_iso(last[1], config.tz) if last else None}


def remember_card(session: Session, card: dict) -> None:
    """After a visit recorded on the server, at a till that can go offline (the caller asked
    Session.can_go_offline): keep the card for offline visits to show. A cache: an outbox that cannot be
    written is a warning, since the visit is recorded and its card shown, and an error now would
    have the cashier record it again."""
    path = session.outbox_path
    balances = {key: value for key, value in card.items() if key not in VISIT_ONLY}
    try:
        if session.kept is not None:  # a running till writes them a few at a time (services/kept.py)
            session.kept.remember_card(path, card["phone"], balances, clock.to_db(clock.now()))
            return
        with session.outbox(durable=False) as conn:
            outbox.remember_cards(conn, [(card["phone"], balances, clock.to_db(clock.now()))])
    except (LoyaltyError, sqlite3.Error) as exc:
        session.warnings.append(Phrase("the card was not kept for offline visits: {reason}",
                                       reason=exc.args[0] if exc.args else type(exc).__name__))


def push_if_waiting(session: Session) -> dict | None:
    """Before a command: push the outbox when there is one with visits waiting (a stat, then one
    indexed query; nothing at a till that never went offline). None when there was nothing to do;
    an Unreachable server leaves everything waiting."""
    path = session.outbox_path
    if not path.exists():
        return None
    with session.outbox(durable=True) as conn:
        if not outbox.has_waiting(conn):
            return None
        return _push(session, conn, retry_problems=False)


def push(session: Session) -> dict:
    """`loyalty sync`: every waiting visit, the ones refused before included."""
    path = session.outbox_path
    if not path.exists():
        return {"pushed": 0, "already": 0, "refused": [], "waiting": 0}
    with session.outbox(durable=True) as conn:
        return _push(session, conn, retry_problems=True)


def _push(session: Session, conn, retry_problems: bool) -> dict:
    totals = {"pushed": 0, "already": 0, "refused": [], "waiting": 0}
    currency = session.config.shop.currency
    for row in outbox.waiting(conn):
        if row["problem"] and not retry_problems:
            totals["waiting"] += 1
            continue
        try:
            done = counter.record_visit(
                session, row["phone"], amount_text=money.as_string(row["amount"], currency), items=row["items"],
                note=row["note"], at_text=row["at"], name=row["name"], ref=row["key"], category=row["category"],
                location=row["location"])
        except Unreachable:
            raise
        except LoyaltyError as exc:  # refused by the server (a ref of another visit...): kept, and said
            outbox.mark_problem(conn, row["key"], str(exc))
            # the Phrase itself: English in JSON, the shop's language where a person reads it
            problem = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            totals["refused"].append({"ref": row["key"], "phone": row["phone"], "problem": problem})
            continue
        outbox.mark_pushed(conn, row["key"], clock.to_db(clock.now()), done["visit_id"])
        totals["already" if done["duplicate"] else "pushed"] += 1
    return totals
