"""Privacy requests (issue 12): a customer's data for a right-of-access request (`customer
export`), their erasure (`forget`), and the erasure of customers gone silent for longer than
[privacy] forget_inactive_days (`loyalty expire`).

What is erased and what is kept, and why: store/privacy.py. An erasure is one transaction with
SQLite's secure_delete on (the erased bytes are zeroed, not just unlinked), then a checkpoint
that empties the WAL; then the file itself is searched for the customer's phone, name and
e-mail, and rebuilt (VACUUM) only if a copy is still found, left in free space by a release
that did not zero it.
"""

import time
from datetime import datetime, timedelta

from loyalty_cli.domain import clock, money
from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services.session import Session
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.store import privacy as privacy_store

TIMES = {"at", "written_at", "earned_at", "voided_at", "issued_at", "expires_at", "redeemed_at", "ended_at",
         "enrolled_at", "last_visit_at", "forgotten_at"}
MONEY = {"amount", "credit", "spend"}
# `loyalty expire` forgets inactive customers this many per transaction, and lets go of the
# write lock between them (as it does for expiries), so a till never waits long.
FORGET_BATCH = 50
FORGET_GAP_S = 0.12


# ---- right of access ---------------------------------------------------------------------------

def export(session: Session, phone_text: str) -> dict:
    """Everything held about one customer, JSON-ready: times ISO 8601 with the shop's offset,
    money as decimal strings, the phone in E.164."""
    config, conn = session.config, session.conn
    with store_db.snapshot(conn):
        row = customer(session, phone_text)
        held = privacy_store.held_about(conn, row["id"], row["phone"])
    currency = config.shop.currency

    def record(line, drop=()) -> dict:
        columns = line.keys()  # a sqlite3.Row iterates over its values
        return {key: _value(key, line[key], config, currency) for key in columns if key not in drop}

    details = record(row, drop=("referred_by", "punches", "forgotten_at"))
    details["punches"] = store.punches_of(row)
    details["referred"] = row["referred_by"] is not None  # by whom is another customer's data
    return {
        "shop": config.shop.name,
        "currency": currency,
        "exported_at": clock.now().astimezone(config.tz).isoformat(),
        "customer": details,
        "phone_typed_as": [key.partition(":")[2] for (key,) in held["phone_keys"]],
        "visits": [record(line, drop=("customer_id", "import_key")) for line in held["visits"]],
        "ledger": [record(line, drop=("customer_id",)) for line in held["ledger"]],
        "vouchers": [record(line, drop=("customer_id", "ledger_id")) for line in held["vouchers"]],
        "feedback": [record(line, drop=("customer_id",)) for line in held["feedback"]],
        "consents": [{**record(line, drop=("customer_id",)), "marketing": bool(line["marketing"])}
                     for line in held["consents"]],
        "contacts": [record(line, drop=("customer_id",)) for line in held["contacts"]],
        "imported_cards": [{"card": line["card"], "file": line["source"], "line": line["line"],
                            "imported_at": _value("at", line["at"], config, currency)}
                           for line in held["import_cards"]],
    }


def _value(key: str, value, config, currency: str):
    if value is None:
        return None
    if key in TIMES and isinstance(value, str):
        try:
            return clock.local(value, config.tz).isoformat()
        except ValueError:
            return value
    if key in MONEY and isinstance(value, int):
        return money.as_string(value, currency)
    return value


# ---- erasure -------------------------------------------------------------------------------------

def customer(session: Session, phone_text: str):
    row = store.customer_by_phone(session.conn, session.phone(phone_text))
    if row is None:
        raise Refused(Phrase("no customer with phone {phone}", phone=repr(phone_text.strip())))
    return row


def forget(session: Session, row) -> dict:
    """Erase one customer's personal data (the row found by customer()); what was erased."""
    conn, now = session.conn, clock.now()
    texts = _identifying_texts(conn, row)
    with store_db.erasing(conn):
        row = store.customer_by_id(conn, row["id"])  # as it is now, under the write lock
        erased = privacy_store.erase(conn, [row], now)
    wal_emptied, compacted = _scrub_file(session, texts, {row["phone"]})
    return {"phone": row["phone"], "pseudonym": privacy_store.pseudonym(row["id"]),
            "forgotten_at": now.astimezone(session.config.tz).isoformat(), "erased": erased,
            "wal_emptied": wal_emptied, "compacted": compacted}


def _identifying_texts(conn, row) -> list[str]:
    """What must not be found in the file afterwards: name, e-mail, the typed forms of the
    phone, feedback comments (texts of four characters or more: shorter ones are everywhere)."""
    held = privacy_store.held_about(conn, row["id"], row["phone"])
    texts = [row["name"], row["email"], *(key.partition(":")[2] for (key,) in held["phone_keys"])]
    texts += [line["comment"] for line in held["feedback"]]
    return [text for text in texts if text and len(text) >= 4]


def _scrub_file(session: Session, texts: list[str], phones: set[str]) -> tuple[bool, bool]:
    """Empty the WAL; rebuild the file if a copy of what was erased is still in it.
    Returns (the WAL was emptied, the file was rebuilt)."""
    conn = session.conn
    emptied = store_db.empty_wal(conn)
    if emptied and privacy_store.copies_left(session.db_path, texts, phones):
        store_db.compact(conn)
        return True, True
    return emptied, False


def forget_inactive(session: Session, now: datetime) -> int:
    """For `loyalty expire`: forget every customer with no visit (or, if none, no enrolment) in
    the last [privacy] forget_inactive_days, a batch per short transaction. How many."""
    days = session.config.privacy.forget_inactive_days
    if days is None:
        return 0
    conn, before = session.conn, clock.to_db(now - timedelta(days=days))
    phones, count = set(), 0
    while ids := privacy_store.inactive_customers(conn, before, FORGET_BATCH):
        with store_db.erasing(conn):
            rows = [store.customer_by_id(conn, customer_id) for customer_id in ids]
            phones |= {row["phone"] for row in rows}
            privacy_store.erase(conn, rows, now)
        count += len(ids)
        if len(ids) == FORGET_BATCH:  # more may follow: let a waiting till have the lock first
            time.sleep(FORGET_GAP_S)  # longer than SQLite's busy handler sleeps
    if count:
        _scrub_file(session, [], phones)
    return count
