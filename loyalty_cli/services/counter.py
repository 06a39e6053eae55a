"""The counter's operations: each validates its input, then changes the database in exactly one
transaction by way of the rule engine and the lot engine (points lots: store/lots.py, whose
kept book each transaction brings up to date). `loyalty expire` is the exception: short
transactions, so that the till is never kept waiting. Nothing here prints; results are plain
dicts (views.py).
"""

import time
from dataclasses import replace
from datetime import datetime, timedelta

from loyalty_cli.domain import birthdays, clock, locale_format, lots, model, money, rules, text
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services import inputs, views
from loyalty_cli.services.session import Session
from loyalty_cli.services.warnings import birthday_warning
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.store import lots as store_lots


def record_visit(session: Session, phone_text: str, amount_text: str | None = None, items: int | None = None,
                 note: str | None = None, at_text: str | None = None, name: str | None = None,
                 ref: str | None = None, category: str | None = None, location: str | None = None) -> dict:
    """Record one visit in one transaction. location: --location (else the till's, Session.location)."""
    config = session.config
    now = clock.now()
    given = inputs.visit_input(session, now, amount_text=amount_text, items=items, note=note, at_text=at_text,
                               name=name, ref=ref, category=category, location=location)
    phone = session.phone(phone_text)
    conn = session.writable_conn  # only now: a refused visit leaves no new database behind
    for _ in range(2):  # twice: a ref whose visit was erased between the two transactions is free again
        try:
            with store_db.transaction(conn):
                return _record(session, conn, config, now, phone_text, phone, given)
        except _RefTaken:
            pass  # everything rolled back: the visit that has the ref answers instead
        with store_db.transaction(conn):
            done = store.visit_by_ref(conn, ref)
            if done is not None:
                return _seen_before(conn, config, done, given, phone, now)
    raise Refused(Phrase("--ref {ref} could not be recorded: try again", ref=given["ref"]))


class _RefTaken(Exception):
    """The visit's ref is another visit's already: its transaction is rolled back."""


def _seen_before(conn, config, done, given: dict, phone: str, now: datetime) -> dict:
    """The card of the visit a ref names, recorded before (a retry of the same visit records
    nothing); refused when the ref is another customer's or says something else."""
    ref, customer = given["ref"], store.customer_by_id(conn, done["customer_id"])
    if customer["phone"] != phone:
        raise Refused(Phrase("--ref {ref} is already visit #{id} of {other}: nothing recorded", ref=ref,
                             id=done['id'], other=customer["phone"]))
    _same_visit_again(done, ref, given["amount"], given["items"], config)
    card = views.card(conn, config, customer, now)
    return {**card, "visit_id": done["id"], "duplicate": True, "location": done["location"],
            "earned": views.no_earnings(config)}


def _record(session: Session, conn, config, now: datetime, phone_text: str, phone: str, given: dict) -> dict:
    """The visit's transaction. A ref is checked by the visit's INSERT (ON CONFLICT): one
    statement fewer than a lookup first, and a retry, the rare case, costs a rollback."""
    amount, items, at, ref, name, note, category, location = (given[key] for key in (
        "amount", "items", "at", "ref", "name", "note", "category", "location"))
    session.remember(phone_text, phone)
    # The customer's row (locked) and lots are read once here and handed on (on a server each
    # statement is a round trip), and in one more the tier window, the issued vouchers and the
    # card's consent and feedback.
    row = store.customer_by_phone(conn, phone)
    enrolled = row is None
    read = None if enrolled else store.visit_reads(conn, row["id"], at)
    year_before = None if enrolled else (read["year_spend"], read["year_visits"])
    issued = None if enrolled else store.issued_vouchers(read)
    feedback = None if enrolled or read["last_feedback"] is not None else (None, bool(read["consent_marketing"]))
    if enrolled:
        row = _enrol(conn, config, phone, at, name=name)
    elif name and name != row["name"]:
        store.update_customer(conn, row["id"], name=name)
        row = {**dict(zip(row.keys(), row, strict=True)), "name": name}
    start = store_lots.current(conn, row["id"])
    if issued is None:  # read once: the due ones, and the card's if none changes
        issued = store.open_vouchers(conn, row["id"])  # a new customer's: a welcome gift is one
    expired = expire_due(conn, config, row["id"], now, start, fresh=True, issued=issued)
    if expired != NOTHING_EXPIRED:
        row = store.customer_by_id(conn, row["id"])
    state = engine_state(conn, config, row, at, year_before)
    outcome = rules.apply_visit(config, state, model.Visit(at, amount, items, category))
    visit_id = store.insert_visit(conn, row["id"], at, clock.local_day(at, config.tz), amount, items,
                                  note=note, ref=ref, category=category, location=location)
    if visit_id is None:
        raise _RefTaken
    expiry = rules.voucher_expires_at(config, at)
    codes, row = store.write_visit_entries(conn, row, at, amount, outcome.entries, written_at=now,
                                           voucher_expiry=expiry, visit_id=visit_id)
    if _lapsed_already(config, at, codes, expiry, now):
        expire_due(conn, config, row["id"], now, start)
        row = store.customer_by_id(conn, row["id"])
    book = store_lots.keep(conn, row["id"], start)
    # said when the owner can act on it (not at every visit of a shop with no birthdays), and
    # not of the built-in defaults' birthday rule, which a shop with no config never chose
    if enrolled and config.source is not None:
        session.warnings += filter(None, [birthday_warning(config, conn)])
    statuses = {code: store.voucher(conn, code)["status"] for code in codes}
    # the tier window up to now is the one up to the visit, with the visit, unless it was back-dated
    year = (state.year_spend + amount, state.year_visits + 1) if at == now else None
    unchanged = not codes and not expired["vouchers"]
    card = views.card(conn, config, row, now, book, year, vouchers=issued if unchanged else None,
                      feedback=feedback)
    return {**card, "visit_id": visit_id, "duplicate": False, "enrolled": enrolled, "location": location,
            "earned": views.earnings(config, outcome.entries, codes, statuses),
            "promotions": list(outcome.promotions)}


def engine_state(conn, config, row, at: datetime, year: tuple[int, int] | None = None) -> model.State:
    """The customer's state as the engine needs it, with what the birthday rules ask: the
    birthday on file and the shop-local days their birthday vouchers were issued on. `year`:
    the tier window's figures, if the caller read them (store.visit_reads)."""
    state = store.state(conn, row, at, year)
    names = [rule.name for rule in config.rules_of("birthday")]
    if not names or not row["birthday"]:
        return state
    issued = tuple((rule, clock.local(at_text, config.tz).date())
                   for rule, at_text in store.birthday_vouchers(conn, row["id"], names))
    return replace(state, birthday=birthdays.from_stored(row["birthday"]), birthday_vouchers=issued)


def _lapsed_already(config, at: datetime, codes, voucher_expiry, now: datetime) -> bool:
    """A visit back-dated beyond rewards_days earned a voucher that has lapsed since, or beyond
    points_days points that have: written down at once, so the card and the ledger say so."""
    points_days = config.expiry.points_days
    return bool(codes and voucher_expiry is not None and voucher_expiry <= now) or (
        points_days is not None and at + timedelta(days=points_days) <= now)


def _same_visit_again(done, ref: str, amount: int, items: int, config) -> None:
    """A ref seen before is a retry of the same visit, which records nothing; a ref on a visit
    that says something else, or was voided, is a mistake to show rather than swallow."""
    currency = config.shop.currency
    if done["voided_at"]:
        raise Refused(Phrase("--ref {ref} was visit #{id}, voided on {local_time}: nothing recorded (use a new ref)",
                             ref=ref, id=done['id'], local_time=clock.local_minute(done['voided_at'], config.tz)))
    if (done["amount"], done["items"]) != (amount, items):
        raise Refused(Phrase("--ref {ref} is already visit #{id} for {amount} and {items} item(s), not {amount2} "
                             "and {items2}: nothing recorded (a different receipt needs its own ref)", ref=ref,
                             id=done['id'], amount=locale_format.amount(done['amount'], currency), items=done['items'],
                             amount2=locale_format.amount(amount, currency), items2=items))


def enrol(session: Session, phone_text: str, name=None, email=None, birthday=None, referred_by=None,
          marketing: str | None = None, consent_source: str | None = None) -> dict:
    from loyalty_cli.services import consent  # not on the visit's path
    config = session.config
    email, birthday = inputs.email(email), inputs.birthday(birthday)
    consent_given = consent.marketing_choice(marketing)
    source = consent.consent_source(consent_source, consent_given)
    name = inputs.text_option(name, "--name", text.NAME_MAX)
    now = clock.now()
    phone = session.phone(phone_text)
    referrer_phone = session.phone(referred_by) if referred_by else None
    conn = session.writable_conn
    with store_db.transaction(conn):
        if store.customer_by_phone(conn, phone):
            raise Refused(Phrase("{phone} is already enrolled (change details with `loyalty edit`)", phone=phone))
        referrer = None
        if referrer_phone:
            referrer = store.customer_by_phone(conn, referrer_phone)
            if referrer is None:
                raise Refused(Phrase("--referred-by {referrer_phone} is not a customer",
                                     referrer_phone=referrer_phone))
            if referrer_phone == phone:
                raise Refused(Phrase("a customer cannot refer themselves"))
        row = _enrol(conn, config, phone, now, name=name, email=email, birthday=birthday,
                     referrer=referrer)
        consent.record(conn, row["id"], now, consent_given, source)
        session.remember(phone_text, phone)
        return {**views.card(conn, config, row, now), "enrolled": True}


def _enrol(conn, config, phone, at, name=None, email=None, birthday=None, referrer=None):
    referrer_id = referrer["id"] if referrer else None
    customer_id = store.create_customer(conn, phone, at, name=name, email=email, birthday=birthday,
                                        referred_by=referrer_id)
    mine, theirs = rules.enrolment(config, referred=referrer is not None)
    expiry, written = rules.voucher_expires_at(config, at), clock.now()
    store.write_entries(conn, customer_id, at, mine, written_at=written, voucher_expiry=expiry)
    store_lots.keep(conn, customer_id)
    if theirs:
        store.write_entries(conn, referrer_id, at, theirs, written_at=written, voucher_expiry=expiry)
        store_lots.keep(conn, referrer_id)
    return store.customer_by_id(conn, customer_id)


def edit(session: Session, phone_text: str, name=None, email=None, birthday=None, note=None,
         marketing: str | None = None, consent_source: str | None = None) -> dict:
    from loyalty_cli.services import consent  # not on the visit's path
    consent_given = consent.marketing_choice(marketing)
    source = consent.consent_source(consent_source, consent_given)
    changes = {}
    if name is not None:
        changes["name"] = inputs.text_option(name, "--name", text.NAME_MAX)
    if email is not None:
        changes["email"] = inputs.email(email) if email.strip() else None
    if birthday is not None:
        changes["birthday"] = inputs.birthday(birthday) if birthday.strip() else None
    if note is not None:
        changes["note"] = inputs.text_option(note, "--note", text.NOTE_MAX)
    if not changes and consent_given is None:
        raise BadInput(Phrase("nothing to change: give --name, --email, --birthday, --note or --marketing"))
    conn = session.conn
    row = customer(session, phone_text)
    with store_db.transaction(conn):
        if changes:
            store.update_customer(conn, row["id"], **changes)
        consent.record(conn, row["id"], clock.now(), consent_given, source)
        return views.card(conn, session.config, store.customer_by_id(conn, row["id"]), clock.now())


def redeem(session: Session, phone_text: str, target: str | None, credit_text: str | None = None) -> dict:
    config = session.config
    if (target is None) == (credit_text is None):
        raise BadInput(Phrase("give a voucher code or reward id, or --credit AMOUNT (not both)"))
    credit = money.parse_amount(credit_text, config.shop.currency, "--credit") if credit_text is not None else None
    if credit == 0:
        raise BadInput(Phrase("--credit must be more than zero"))
    now = clock.now()
    conn = session.conn
    row = customer(session, phone_text)
    with store_db.transaction(conn):
        row = store.customer_by_id(conn, row["id"])  # locked before anything of theirs is read: see void
        start = store_lots.current(conn, row["id"])
        if expire_due(conn, config, row["id"], now, start, fresh=True) != NOTHING_EXPIRED:
            row = store.customer_by_id(conn, row["id"])
        state = store.state(conn, row, now)
        if credit is not None:
            entry = rules.spend_credit(config, state, credit)
            store.write_entries(conn, row["id"], now, [entry], written_at=now)
            redeemed = {"credit": money.as_string(credit, config.shop.currency)}
        else:
            redeemed = _redeem_voucher_or_reward(conn, config, row, state, target.strip(), now)
        book = store_lots.keep(conn, row["id"], start)
        return {**views.card(conn, config, store.customer_by_id(conn, row["id"]), now, book), "redeemed": redeemed}


def _redeem_voucher_or_reward(conn, config, row, state, target, now) -> dict:
    found = store.voucher(conn, target)
    if found is None and target in config.rewards:
        held = [v for v in store.open_vouchers(conn, row["id"]) if v["reward"] == target]
        if held:  # the customer already holds one: use it before spending points
            found = min(held, key=lambda v: (v["expires_at"] or "~", v["code"]))
        else:
            entry = rules.buy_with_points(config, state, target)
            code = store.record_bought_voucher(conn, row["id"], target, now)
            store.write_entries(conn, row["id"], now, [model.Entry(
                "redeem", points=entry.points, reward=target, reason=entry.reason, voucher=code)], written_at=now)
            return {"voucher": code, "reward": target, "points": -entry.points}
    if found is None:
        raise Refused(Phrase("no voucher or reward called {target}", target=repr(target)))
    if found["customer_id"] != row["id"]:
        raise Refused(Phrase("voucher {code} belongs to another customer", code=found['code']))
    if found["status"] != "issued":
        when = found["expires_at"] if found["status"] == "expired" else found["redeemed_at"] or found["ended_at"]
        raise Refused(f"voucher {found['code']} is {found['status']}"
                      + (f" (since {clock.local_minute(when, config.tz)})" if when else ""))
    store.set_voucher_status(conn, found["code"], "redeemed", now)
    reward = config.rewards.get(found["reward"])
    store.write_entries(conn, row["id"], now, [model.Entry(
        "redeem", reward=found["reward"], voucher=found["code"],
        reason=f"redeemed {reward.name if reward else found['reward']}")], written_at=now)
    return {"voucher": found["code"], "reward": found["reward"], "points": 0}


def void(session: Session, visit_id: int, reason: str | None = None) -> dict:
    config = session.config
    reason = inputs.text_option(reason, "--reason", text.NOTE_MAX)
    now = clock.now()
    conn = session.conn
    with store_db.transaction(conn):
        visit = store.visit_by_id(conn, visit_id) if 0 < visit_id < 2**62 else None
        if visit is None:
            raise Refused(Phrase("no visit #{visit_id}", visit_id=visit_id))
        store.customer_by_id(conn, visit["customer_id"])  # locked, read again: two voids at once undo it twice
        visit = store.visit_by_id(conn, visit_id)
        if visit["voided_at"]:
            raise Refused(Phrase("visit #{visit_id} was already voided on {local_time}", visit_id=visit_id,
                                 local_time=clock.local_minute(visit['voided_at'], config.tz)))
        start = store_lots.current(conn, visit["customer_id"])
        expire_due(conn, config, visit["customer_id"], now, start)
        why = f"void of visit #{visit_id}" + (f": {reason}" if reason else "")
        # what each of the visit's lots gives back: the whole ledger, as the void needs closed lots too
        taken_back = {r.lot: r for r in lots.void(store_lots.whole_book(conn, visit["customer_id"]), visit_id)}
        reversals, reverses, lot_times, kept = [], {}, {}, []
        for line in store.ledger_of_visit(conn, visit_id):
            if line["kind"] == "reward" and line["voucher"]:
                issued = store.voucher(conn, line["voucher"])
                if issued["status"] == "redeemed":
                    kept.append(line["voucher"])  # already used: the punches it took stay taken
                    continue
                if issued["status"] == "issued":
                    store.set_voucher_status(conn, line["voucher"], "void", now)
            lot = taken_back.get(line["id"])
            reverses[len(reversals)], lot_times[len(reversals)] = line["id"], line["earned_at"]
            reversals.append(rules.reversal(_entry(line), why, lot.expired if lot else 0))
        store.write_entries(conn, visit["customer_id"], now, reversals, written_at=now, visit_id=visit_id,
                            reverses=reverses, earned_at=lot_times)
        store.mark_voided(conn, visit, now, reason)
        book = store_lots.keep(conn, visit["customer_id"], start)
        card = views.card(conn, config, store.customer_by_id(conn, visit["customer_id"]), now, book)
    return {**card, "voided_visit": visit_id, "kept_vouchers": kept}


def _entry(line) -> model.Entry:
    return model.Entry(line["kind"], points=line["points"], punches=line["punches"], credit=line["credit"],
                       rule=line["rule"], earned=line["earned_at"] is not None, voucher=line["voucher"],
                       card=line["card"])


NOTHING_EXPIRED = {"points": 0, "vouchers": []}


def expire_due(conn, config, customer_id: int, now: datetime, start=None, fresh: bool = False, issued=None) -> dict:
    """Write down what has fallen due by `now`: what is left of each points lot past
    points_days (lots.due) and each voucher past its expiry. Every line is dated when the
    points or the voucher fell due, and says it was written now. `start`: the customer's book
    as read before the transaction (store_lots.current), to replay only what came after it;
    `fresh`: read in this transaction, after the customer's row was locked, so nothing came after;
    `issued`: their issued vouchers, read likewise (store.open_vouchers), of which the due ones expire."""
    expired = {"points": 0, "vouchers": []}
    book = start[0] if fresh else store_lots.current(conn, customer_id, start)[0]
    due = lots.due(book, now, config.expiry.points_days)
    if due:
        entries = [rules.points_expiry(lot.points, clock.local_day(lot.earned_at, config.tz)) for lot in due]
        store.write_entries(conn, customer_id, now, entries, written_at=now,
                            moments=dict(enumerate(lot.due_at for lot in due)),
                            reverses=dict(enumerate(lot.lot for lot in due)),
                            earned_at=dict(enumerate(lot.earned_at for lot in due)))
        expired["points"] = sum(lot.points for lot in due)
    for voucher in store.due_vouchers(conn, customer_id, now) if issued is None else _due(issued, now):
        fell_due = clock.from_db(voucher["expires_at"])
        store.set_voucher_status(conn, voucher["code"], "expired", fell_due)
        store.write_entries(conn, customer_id, fell_due, [model.Entry(
            "expire", voucher=voucher["code"], reward=voucher["reward"], reason="voucher expired")], written_at=now)
        expired["vouchers"].append(voucher["code"])
    return expired


def _due(issued, now: datetime) -> list:
    """store.due_vouchers of the customer's issued vouchers already read, in its order."""
    now_db = clock.to_db(now)
    return sorted((v for v in issued if v["expires_at"] and v["expires_at"] <= now_db),
                  key=lambda v: (v["expires_at"], v["code"]))


# `loyalty expire` holds the write lock for at most about EXPIRE_HOLD_S at a time, then lets
# go of it for EXPIRE_GAP_S: longer than the longest sleep of SQLite's busy handler (100 ms), so a
# till waiting for the lock (up to store_db.BUSY_TIMEOUT_S) takes it in the first gap.
EXPIRE_BATCH = 300  # customers read ahead of each transaction
EXPIRE_HOLD_S = 0.3
EXPIRE_GAP_S = 0.12


def expire_all(session: Session) -> dict:
    """For cron: write every due expiry, a few hundred customers per transaction, so that a
    visit recorded meanwhile waits a fraction of a second at most. Running it twice is harmless."""
    config, conn, now = session.config, session.conn, clock.now()
    waiting = _due_customers(conn, config, now)
    totals = {"customers": 0, "points": 0, "vouchers": 0}
    books: dict = {}
    while waiting:
        paused = time.monotonic()
        batch = waiting[:EXPIRE_BATCH]
        for customer_id in batch:  # read and replayed outside the lock: inside, only what was written since
            if customer_id not in books:
                books[customer_id] = store_lots.current(conn, customer_id)
        time.sleep(max(0.0, EXPIRE_GAP_S - (time.monotonic() - paused)))
        done = _expire_some(conn, config, batch, books, now, totals)
        waiting = waiting[done:]
    return totals


def _due_customers(conn, config, now: datetime) -> list[int]:
    """Everyone with points or a voucher due by now."""
    ids = {row["customer_id"] for row in store.due_vouchers(conn, None, now)}
    if config.expiry.points_days is not None:
        ids |= set(store_lots.due_by(conn, (now, now), config.expiry.points_days))
    return sorted(ids)


def _expire_some(conn, config, batch: list[int], books: dict, now: datetime, totals: dict) -> int:
    """Expire the customers of `batch` in one transaction, in order, until EXPIRE_HOLD_S has
    passed; returns how many were done. `books`: id -> their book read before (taken out when done)."""
    done = 0
    with store_db.transaction(conn):
        held = time.monotonic()
        for customer_id in batch:
            start = books.pop(customer_id)
            # lock the row before reading what was written since `start`: on PostgreSQL a till's visit
            # may have expired the same lots meanwhile, and both writing them would make a debt
            store.customer_by_id(conn, customer_id)
            expired = expire_due(conn, config, customer_id, now, start)
            store_lots.keep(conn, customer_id, start)
            done += 1
            if expired["points"] or expired["vouchers"]:
                totals["customers"] += 1
                totals["points"] += expired["points"]
                totals["vouchers"] += len(expired["vouchers"])
            if time.monotonic() - held > EXPIRE_HOLD_S:
                break
    return done


def customer(session: Session, phone_text: str):
    row = store.customer_by_phone(session.conn, session.phone(phone_text))
    if row is None:
        raise Refused(Phrase("no customer with phone {phone}", phone=repr(phone_text.strip())))
    return row


