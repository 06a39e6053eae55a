"""The counter's SQL: customers, visits, ledger lines and vouchers, one statement per function.

The connection and its transactions come from db.py. Balances are cached on the customer row,
always in the same transaction as the ledger lines that change them; `loyalty doctor`
recomputes them from the ledger.
"""

import json
import secrets
from datetime import datetime

from loyalty_cli.domain import clock
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import Entry, State
from loyalty_cli.domain.rules import TIER_WINDOW
from loyalty_cli.store.db import locking
from loyalty_cli.store.feedback import LAST_RESPONSE, NEWEST_CONSENT

VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud
VOUCHER_LENGTH = 6


# ---- phones ----------------------------------------------------------------------------------

def cached_phone(conn, key: str) -> str | None:
    row = conn.execute("SELECT phone FROM phone_keys WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def cached_phone_and_shown(conn, key: str, shown_prefix: str | None) -> tuple[str | None, str | None]:
    """(the E.164 number cached for a typed form's key, how the shop writes it): one statement
    for both, as a visit asks both (the shown form's key is `shown_prefix` + the number)."""
    if shown_prefix is None:
        return cached_phone(conn, key), None
    row = conn.execute("SELECT k.phone, s.phone FROM phone_keys k LEFT JOIN phone_keys s ON s.key = ? || k.phone "
                       "WHERE k.key = ?", (shown_prefix, key)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def remember_phone(conn, key: str, phone: str) -> None:
    conn.execute("INSERT INTO phone_keys (key, phone) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, phone))


# ---- customers -------------------------------------------------------------------------------

# Inside a transaction a customer's row is locked as it is read (db.locking: FOR UPDATE on
# PostgreSQL), so two tills serving one customer take turns and a balance is never spent twice.

def customer_by_phone(conn, phone: str):
    return conn.execute("SELECT * FROM customers WHERE phone = ?" + locking(conn), (phone,)).fetchone()


def visit_reads(conn, customer_id: int, at: datetime):
    """What a visit at `at` and its card read of a customer beside their row, in one statement (on
    a server each statement is a round trip): `year_spend` and `year_visits` (the tier window up
    to `at`: year_figures), `issued_vouchers` (as JSON: read them with issued_vouchers),
    `consent_marketing` (their newest consent row's, or None) and `last_feedback` (the id of
    their last response, or None).
    A statement of its own, after the one that locked the customer's row: on PostgreSQL a
    statement sees the database as it was when it began, so subqueries beside a FOR UPDATE that
    waited for another till would miss what that till had just written for this customer."""
    return conn.execute(_VISIT_READS, {**tier_window(at), "customer": customer_id}).fetchone()


def customer_by_id(conn, customer_id: int):
    return conn.execute("SELECT * FROM customers WHERE id = ?" + locking(conn), (customer_id,)).fetchone()


def create_customer(conn, phone: str, at: datetime, name=None, email=None, birthday=None,
                    referred_by=None, note=None) -> int:
    cursor = conn.execute(
        "INSERT INTO customers (phone, name, email, birthday, referred_by, enrolled_at, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (phone, name, email, birthday, referred_by, clock.to_db(at), note),
    )
    return cursor.lastrowid


EDITABLE = ("name", "email", "birthday", "note", "referred_by")


def update_customer(conn, customer_id: int, **fields) -> None:
    changes = {k: v for k, v in fields.items() if k in EDITABLE}
    if not changes:
        return
    assignments = ", ".join(f"{column} = ?" for column in changes)
    conn.execute(f"UPDATE customers SET {assignments} WHERE id = ?", (*changes.values(), customer_id))


def punches_of(row) -> dict:
    return json.loads(row["punches"]) if row["punches"] else {}


# Tiers are held on the visits of the 365 days up to and including a moment, voided ones left
# out: one text for the counter, the card, the customer list and the reports.
TIER_WINDOW_VISITS = "FROM visits WHERE voided_at IS NULL AND at > :window_start AND at <= :window_end"


# the vouchers table's columns, in order: an issued voucher read by visit_reads (issued_vouchers)
VOUCHER_COLUMNS = ("code", "customer_id", "reward", "rule", "status", "issued_at", "expires_at", "redeemed_at",
                   "ended_at", "visit_id", "ledger_id")
_VISIT_READS = (
    f"SELECT (SELECT COALESCE(SUM(amount), 0) {TIER_WINDOW_VISITS} AND customer_id = :customer) AS year_spend, "
    f"(SELECT COUNT(*) {TIER_WINDOW_VISITS} AND customer_id = :customer) AS year_visits, "
    f"(SELECT json_group_array(json_array({', '.join(VOUCHER_COLUMNS)})) FROM vouchers "
    "WHERE customer_id = :customer AND status = 'issued') AS issued_vouchers, "
    f"{NEWEST_CONSENT} AS consent_marketing, {LAST_RESPONSE} AS last_feedback")


def tier_window(at: datetime) -> dict:
    """The named parameters of TIER_WINDOW_VISITS for the window that ends at `at`."""
    return {"window_start": clock.to_db(at - TIER_WINDOW), "window_end": clock.to_db(at)}


def state(conn, row, at: datetime, year: tuple[int, int] | None = None) -> State:
    """Balances from the customer row; tier figures over the window up to `at` (the visit
    being recorded is not in the table yet, so it is not counted twice), or `year`, those
    figures as the caller read them (visit_reads)."""
    spend, visits = year or year_figures(conn, row["id"], at)
    return State(points=row["points"], credit=row["credit"], punches=punches_of(row),
                 year_spend=spend, year_visits=visits)


def year_figures(conn, customer_id: int, now: datetime) -> tuple[int, int]:
    """Spend and visits in the tier window up to and including now."""
    return tuple(conn.execute(
        f"SELECT COALESCE(SUM(amount), 0), COUNT(*) {TIER_WINDOW_VISITS} AND customer_id = :customer",
        {**tier_window(now), "customer": customer_id},
    ).fetchone())


# ---- visits ----------------------------------------------------------------------------------

def visit_by_ref(conn, ref: str):
    return conn.execute("SELECT * FROM visits WHERE ref = ?", (ref,)).fetchone()


def visit_by_id(conn, visit_id: int):
    return conn.execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone()


def insert_visit(conn, customer_id: int, at: datetime, local_day: str, amount: int, items: int,
                 note=None, ref=None, source="counter", category=None, location=None) -> int | None:
    """The visit's row id; None when its ref is another visit's already (nothing is written).
    The customer's visit counters are not touched here: write_visit_entries counts the visit in
    the same statement that updates the balances."""
    row = conn.execute(
        "INSERT INTO visits (customer_id, at, local_day, amount, items, note, ref, source, category, location) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ref) WHERE ref IS NOT NULL DO NOTHING RETURNING id",
        (customer_id, clock.to_db(at), local_day, amount, items, note, ref, source, category, location),
    ).fetchone()
    return row[0] if row else None


def mark_voided(conn, visit, at: datetime, reason: str | None) -> None:
    conn.execute("UPDATE visits SET voided_at = ?, void_reason = ? WHERE id = ?",
                 (clock.to_db(at), reason, visit["id"]))
    last = conn.execute(
        "SELECT MAX(at) FROM visits WHERE customer_id = ? AND voided_at IS NULL", (visit["customer_id"],)
    ).fetchone()[0]
    conn.execute("UPDATE customers SET visits = visits - 1, spend = spend - ?, last_visit_at = ? WHERE id = ?",
                 (visit["amount"], last, visit["customer_id"]))


def recent_visits(conn, customer_id: int, limit: int = 5) -> list:
    return conn.execute(
        "SELECT * FROM visits WHERE customer_id = ? ORDER BY at DESC, id DESC LIMIT ?", (customer_id, limit)
    ).fetchall()


# ---- the ledger ------------------------------------------------------------------------------

def write_entries(conn, customer_id: int, at: datetime, entries, *, written_at: datetime, voucher_expiry=None,
                  visit_id=None, reverses=None, earned_at=None, moments=None) -> list[str]:
    """Append entries, issue vouchers for 'reward' entries, update the cached balances.

    Each line counts at `at` and says it was written at `written_at`. `reverses` maps an
    entry's position to the ledger id of the lot it takes from (a void's or an expiry's), and
    `earned_at` to that lot's time; `moments` to a time of its own (an expiry's due moment).
    Returns the codes of the vouchers issued.
    """
    punches = punches_of(customer_by_id(conn, customer_id))
    codes, points, credit = _append(conn, customer_id, at, entries, punches, written_at=written_at,
                                    voucher_expiry=voucher_expiry, visit_id=visit_id, reverses=reverses,
                                    earned_at=earned_at, moments=moments)
    conn.execute(
        "UPDATE customers SET points = points + ?, credit = credit + ?, punches = ? WHERE id = ?",
        (points, credit, json.dumps(punches, sort_keys=True), customer_id),
    )
    return codes


def write_visit_entries(conn, row, at: datetime, amount: int, entries, *, written_at: datetime, voucher_expiry,
                        visit_id: int):
    """A visit's entries, as write_entries writes them, and the visit counted on the customer
    (visits, spend, last visit) in the same UPDATE. `row`: the customer's row as it is now in
    this transaction (its punches are added to). Returns (the voucher codes issued, the
    customer's row after it all)."""
    punches = punches_of(row)
    codes, points, credit = _append(conn, row["id"], at, entries, punches, written_at=written_at,
                                    voucher_expiry=voucher_expiry, visit_id=visit_id)
    updated = conn.execute(
        "UPDATE customers SET points = points + ?, credit = credit + ?, punches = ?, visits = visits + 1, "
        "spend = spend + ?, last_visit_at = MAX(COALESCE(last_visit_at, ''), ?) WHERE id = ? RETURNING *",
        (points, credit, json.dumps(punches, sort_keys=True), amount, clock.to_db(at), row["id"]),
    ).fetchall()  # all: SQLite's RETURNING statement then ends here, before the COMMIT
    return codes, updated[0]


def _append(conn, customer_id: int, at: datetime, entries, punches: dict, *, written_at: datetime,
            voucher_expiry=None, visit_id=None, reverses=None, earned_at=None, moments=None) -> tuple[list, int, int]:
    """The ledger lines (and vouchers) of `entries`; adds their punches to `punches`. Returns
    (voucher codes issued, points, credit) for the caller's one UPDATE of the balances."""
    when, written = clock.to_db(at), clock.to_db(written_at)
    codes, waiting = [], []  # lines not yet sent: one executemany (one round trip on PostgreSQL) for them all
    for position, entry in enumerate(entries):
        code = entry.voucher
        if entry.kind == "reward" and entry.reward:
            code = _new_voucher(conn, customer_id, entry, at, voucher_expiry, visit_id)
            codes.append(code)
        lot = (earned_at or {}).get(position) or (when if entry.earned and entry.points > 0 else None)
        moment = (moments or {}).get(position)
        line = (customer_id, clock.to_db(moment) if moment else when, entry.kind, entry.points, entry.punches,
                entry.credit, entry.rule, entry.reason, visit_id, code, entry.reward,
                clock.to_db(lot) if isinstance(lot, datetime) else lot, (reverses or {}).get(position), entry.card,
                written)
        if code and entry.kind == "reward":  # its voucher names its line: this one is written alone, in order
            _insert_lines(conn, waiting)
            waiting = []
            line_id = conn.execute(LEDGER_INSERT, line).lastrowid
            conn.execute("UPDATE vouchers SET ledger_id = ? WHERE code = ?", (line_id, code))
        else:
            waiting.append(line)
        if entry.punches:
            punches[entry.punch_card] = punches.get(entry.punch_card, 0) + entry.punches
    _insert_lines(conn, waiting)
    return codes, sum(e.points for e in entries), sum(e.credit for e in entries)


LEDGER_INSERT = ("INSERT INTO ledger (customer_id, at, kind, points, punches, credit, rule, reason, visit_id, voucher, "
                 "reward, earned_at, reverses, card, written_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _insert_lines(conn, lines: list) -> None:
    if len(lines) == 1:
        conn.execute(LEDGER_INSERT, lines[0])
    elif lines:
        conn.executemany(LEDGER_INSERT, lines)


def _new_voucher(conn, customer_id, entry: Entry, at, expires_at, visit_id) -> str:
    for _ in range(20):
        code = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))
        # ON CONFLICT rather than catching the error: on PostgreSQL an error ends the transaction
        written = conn.execute(
            "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, visit_id) "
            "VALUES (?, ?, ?, ?, 'issued', ?, ?, ?) ON CONFLICT (code) DO NOTHING",
            (code, customer_id, entry.reward, entry.rule, clock.to_db(at),
             clock.to_db(expires_at) if expires_at else None, visit_id),
        ).rowcount
        if written:
            return code
    raise Refused(Phrase("could not find a free voucher code; run `loyalty doctor`"))


def ledger_of_visit(conn, visit_id: int) -> list:
    return conn.execute(
        "SELECT * FROM ledger WHERE visit_id = ? AND reverses IS NULL ORDER BY id", (visit_id,)
    ).fetchall()


def history(conn, customer_id: int, limit: int | None = None) -> list:
    # by time (a back-dated visit sits where it happened), then by the order written
    sql = "SELECT * FROM ledger WHERE customer_id = ? ORDER BY at DESC, id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return conn.execute(sql, (customer_id,)).fetchall()


# ---- vouchers --------------------------------------------------------------------------------

def voucher(conn, code: str):
    return conn.execute("SELECT * FROM vouchers WHERE code = ?", (code.upper(),)).fetchone()


def issued_vouchers(row) -> list[dict]:
    """open_vouchers, as visit_reads read them: each a dict of the voucher's columns, in
    open_vouchers' order."""
    found = [dict(zip(VOUCHER_COLUMNS, values, strict=True)) for values in json.loads(row["issued_vouchers"])]
    return sorted(found, key=lambda voucher: (voucher["issued_at"], voucher["code"]))


def open_vouchers(conn, customer_id: int) -> list:
    return conn.execute(
        "SELECT * FROM vouchers WHERE customer_id = ? AND status = 'issued' ORDER BY issued_at, code",
        (customer_id,),
    ).fetchall()


def due_vouchers(conn, customer_id: int | None, now: datetime) -> list:
    if customer_id is not None:
        return conn.execute(
            "SELECT * FROM vouchers INDEXED BY vouchers_customer_due WHERE customer_id = ? AND status = 'issued' "
            "AND expires_at <= ? ORDER BY expires_at, code", (customer_id, clock.to_db(now))).fetchall()
    return conn.execute(
        "SELECT * FROM vouchers WHERE status = 'issued' AND expires_at IS NOT NULL AND expires_at <= ? "
        "ORDER BY expires_at, code", (clock.to_db(now),)).fetchall()


def set_voucher_status(conn, code: str, status: str, at: datetime) -> None:
    """An issued voucher redeemed, expired or void; from no other status. Every writer reads the
    voucher after locking its customer, so this refusal should never be seen: it is there so that
    a writer that one day does not cannot end a voucher twice (its transaction is rolled back)."""
    column = "redeemed_at" if status == "redeemed" else "ended_at"
    changed = conn.execute(f"UPDATE vouchers SET status = ?, {column} = ? WHERE code = ? AND status = 'issued'",
                           (status, clock.to_db(at), code)).rowcount
    if changed != 1:
        raise Refused(Phrase("voucher {code} is no longer open: nothing was written", code=code))


def record_bought_voucher(conn, customer_id: int, reward: str, at: datetime) -> str:
    """A catalog reward bought with points: issued and redeemed in the same moment."""
    code = _new_voucher(conn, customer_id, Entry("reward", reward=reward), at, None, None)
    set_voucher_status(conn, code, "redeemed", at)
    return code


# ---- listings --------------------------------------------------------------------------------

SORTS = {
    "visits": "c.visits DESC, c.id",
    "spend": "c.spend DESC, c.id",
    "points": "c.points DESC, c.id",
    "last-visit": "c.last_visit_at DESC, c.id",
    "name": "c.name COLLATE NOCASE, c.id",
    "enrolled": "c.enrolled_at, c.id",
}


def _like_literal(text: str) -> str:
    """`text` matched as it is inside a LIKE pattern with ESCAPE '!'."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def list_customers(conn, now: datetime, search: str | None, sort: str, limit: int | None) -> list:
    """Customers with their spend and visits over the last 365 days (for tiers), and the vouchers
    they can still use (a lapsed one that `expire` has not yet written down is not counted)."""
    if sort not in SORTS:
        raise BadInput(Phrase("--sort must be one of {SORTS}, got {sort}", SORTS=', '.join(SORTS), sort=repr(sort)))
    # forgotten customers (`loyalty forget`) are nobody to look up: their pseudonyms stay in the reports
    where, args = "WHERE c.forgotten_at IS NULL", {**tier_window(now), "now": clock.to_db(now)}
    if search:
        # '333 123' finds +39333123...: digits typed with spaces are matched as digits
        digits = "".join(ch for ch in search if ch.isdigit())
        # '%' and '_' typed are themselves, not wildcards; ESCAPE is standard SQL, the same on
        # SQLite and PostgreSQL (where the backend's LIKE -> ILIKE keeps it)
        where += (" AND (c.phone LIKE :phone ESCAPE '!' OR c.name LIKE :text ESCAPE '!' "
                  "OR c.email LIKE :text ESCAPE '!')")
        pattern = f"%{_like_literal(search)}%"
        args["phone"] = f"%{digits}%" if digits and len(digits) * 2 > len(search.replace(" ", "")) else pattern
        args["text"] = pattern
    sql = (
        "SELECT c.*, COALESCE(y.spend, 0) AS year_spend, COALESCE(y.visits, 0) AS year_visits, "
        "(SELECT COUNT(*) FROM vouchers v WHERE v.customer_id = c.id AND v.status = 'issued' "
        "AND (v.expires_at IS NULL OR v.expires_at > :now)) AS open_vouchers "
        "FROM customers c LEFT JOIN (SELECT customer_id, SUM(amount) AS spend, COUNT(*) AS visits "
        f"{TIER_WINDOW_VISITS} GROUP BY customer_id) y "
        f"ON y.customer_id = c.id {where} ORDER BY {SORTS[sort]}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return conn.execute(sql, args).fetchall()


# ---- birthdays -------------------------------------------------------------------------------

def has_birthdays(conn) -> bool:
    """Does any customer have a birthday on file?"""
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM customers WHERE birthday IS NOT NULL)").fetchone()[0])


def birthday_vouchers(conn, customer_id: int, rules: list[str]) -> list[tuple[str, str]]:
    """(rule, issued_at) of the customer's vouchers from birthday rules, voided ones left out (a
    voided visit's birthday voucher is issued again at the next visit in the window)."""
    if not rules:
        return []
    marks = ", ".join("?" for _ in rules)
    return [tuple(row) for row in conn.execute(
        f"SELECT rule, issued_at FROM vouchers WHERE customer_id = ? AND rule IN ({marks}) AND status != 'void'",
        (customer_id, *rules))]
