"""The SQL of privacy requests (issue 12): everything held about one customer, and its erasure.

What `loyalty forget` erases, and why the rest stays:
- the customer row's name, e-mail, birthday and note; its phone becomes `forgotten-<id>`, which
  no normalised phone (E.164, '+' and digits) can equal, so the same number enrols anew;
- every typed form of the phone (`phone_keys`) and the phone of its imported cards;
- free text a person typed about them: visit notes, void reasons (on the visit and in the
  void's ledger line), feedback comments, consent sources, and import summaries' mentions;
- kept: amounts, times, counts, vouchers, consents' dates and answers, contacts, receipts
  (`ref`: the shop's own till numbering), so the accounts and reports still add up.

The ledger is append-only, and its triggers refuse any UPDATE. A void's line carries the
reason typed with `loyalty void` ("void of visit #12: wrong customer, Maria"): the one free
text a person writes into the ledger. Erasure is the one change the law requires of a record
otherwise kept as written, so the erase lifts the update guard for the statement that cuts
those reasons back to "void of visit #12" (store.db.ledger_reasons_editable), inside the same
transaction (no other connection ever sees the ledger unguarded), and puts it back before it
commits; `loyalty doctor` checks the trigger is there. No amount, kind or link of any line changes.
"""

import json
import mmap
import re
from contextlib import suppress
from pathlib import Path

from loyalty_cli.domain import clock
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import db as store_db

PSEUDONYM_PREFIX = "forgotten-"
VOID_REASON = re.compile(r"^(void of visit #\d+): .*$", re.DOTALL)
ERASED = "(erased at the customer's request)"


def pseudonym(customer_id: int) -> str:
    return f"{PSEUDONYM_PREFIX}{customer_id}"


# ---- what is held ------------------------------------------------------------------------------

def held_about(conn, customer_id: int, phone: str) -> dict[str, list]:
    """Every row about the customer, table by table, oldest first."""
    one = (customer_id,)
    return {
        "phone_keys": conn.execute("SELECT key FROM phone_keys WHERE phone = ? ORDER BY key", (phone,)).fetchall(),
        "visits": conn.execute("SELECT * FROM visits WHERE customer_id = ? ORDER BY at, id", one).fetchall(),
        "ledger": conn.execute("SELECT * FROM ledger WHERE customer_id = ? ORDER BY at, id", one).fetchall(),
        "vouchers": conn.execute("SELECT * FROM vouchers WHERE customer_id = ? ORDER BY issued_at, code",
                                 one).fetchall(),
        "feedback": conn.execute("SELECT * FROM feedback WHERE customer_id = ? ORDER BY at, id", one).fetchall(),
        "consents": conn.execute("SELECT * FROM consents WHERE customer_id = ? ORDER BY id", one).fetchall(),
        "contacts": conn.execute("SELECT * FROM contacts WHERE customer_id = ? ORDER BY at, id", one).fetchall(),
        "import_cards": conn.execute(
            "SELECT c.card, c.line, i.source, i.at FROM import_cards c JOIN imports i ON i.id = c.import_id "
            "WHERE c.customer_id = ? ORDER BY i.at, c.card", one).fetchall(),
    }


def inactive_customers(conn, before: str, limit: int) -> list[int]:
    """Customers not yet forgotten whose last visit (or enrolment, if none) is before `before`."""
    return [row[0] for row in conn.execute(
        "SELECT id FROM customers WHERE forgotten_at IS NULL "
        "AND COALESCE(NULLIF(last_visit_at, ''), enrolled_at) < ? ORDER BY id LIMIT ?", (before, limit))]


# ---- the erasure -------------------------------------------------------------------------------

def erase(conn, rows: list, at) -> dict[str, int]:
    """Erase the personal data of the customers `rows` (see the module's docstring); call it
    inside store.db.erasing(). Returns how many of each kind were erased, all customers together.

    Per customer, each statement follows an index led by the customer (or, for imported cards,
    by the phone); the two tables without one, phone_keys (by typed form) and imports, are read
    once for the whole batch."""
    phones = {row["phone"]: row for row in rows}
    marks = ", ".join("?" for _ in phones)
    typed = conn.execute(f"SELECT key, phone FROM phone_keys WHERE phone IN ({marks})", tuple(phones)).fetchall()
    erased = {"details": 0}
    for row in rows:
        for kind, count in _erase_one(conn, row, at).items():
            erased[kind] = erased.get(kind, 0) + count
    erased["phone_forms"] = conn.execute(f"DELETE FROM phone_keys WHERE phone IN ({marks})", tuple(phones)).rowcount
    # how the shop writes each number ('shown:IT:+39...' -> '333 123 4567', domain/phones.shown_key)
    erased["phone_forms"] += sum(conn.execute("DELETE FROM phone_keys WHERE key LIKE ?",
                                              (f"shown:%:{phone}",)).rowcount for phone in phones)
    aliases = {phone: pseudonym(row["id"]) for phone, row in phones.items()}
    digits = {phone.lstrip("+") for phone in phones} | {key.partition(":")[2].lstrip("+") for key, _phone in typed}
    texts = [text for row in rows for text in (row["name"], row["email"]) if text]
    erased["import_summaries"] = _erase_from_import_summaries(conn, aliases, digits, texts)
    return erased


def _erase_one(conn, row, at) -> dict[str, int]:
    customer_id, phone = row["id"], row["phone"]
    one = (customer_id,)
    erased = {"details": sum(1 for key in ("name", "email", "birthday", "note") if row[key])}
    conn.execute("UPDATE customers SET phone = ?, name = NULL, email = NULL, birthday = NULL, note = NULL, "
                 "forgotten_at = ? WHERE id = ?", (pseudonym(customer_id), clock.to_db(at), customer_id))
    erased["visit_notes"] = conn.execute(
        "UPDATE visits SET note = NULL WHERE customer_id = ? AND note IS NOT NULL", one).rowcount
    erased["void_reasons"] = conn.execute(
        "UPDATE visits SET void_reason = NULL WHERE customer_id = ? AND void_reason IS NOT NULL", one).rowcount
    erased["ledger_reasons"] = _erase_ledger_reasons(conn, customer_id)
    erased["feedback_comments"] = conn.execute(
        "UPDATE feedback SET comment = NULL WHERE customer_id = ? AND comment IS NOT NULL", one).rowcount
    erased["consent_sources"] = conn.execute(
        "UPDATE consents SET source = NULL WHERE customer_id = ? AND source IS NOT NULL", one).rowcount
    erased["imported_cards"] = conn.execute(  # the card's phone is the customer's (the key leads with it)
        "UPDATE import_cards SET phone = ? WHERE phone = ?", (pseudonym(customer_id), phone)).rowcount
    return erased


def _erase_ledger_reasons(conn, customer_id: int) -> int:
    """Cut the text typed with `loyalty void` from the customer's void lines (why the trigger is
    lifted for it: the module's docstring)."""
    lines = [(VOID_REASON.sub(r"\1", reason), line_id) for line_id, reason in conn.execute(
        "SELECT id, reason FROM ledger WHERE customer_id = ? AND kind = 'void' AND reason LIKE 'void of visit #%: %'",
        (customer_id,)) if VOID_REASON.match(reason)]
    if not lines:
        return 0
    with store_db.ledger_reasons_editable(conn):
        conn.executemany("UPDATE ledger SET reason = ? WHERE id = ?", lines)
    return len(lines)


def _erase_from_import_summaries(conn, aliases: dict[str, str], digits: set[str], texts: list[str]) -> int:
    """The import summaries kept in `imports` list merged rows by phone and rejected cells by
    value: a phone of `aliases` becomes its pseudonym, and a rejected cell that names one of the
    customers is erased. Returns how many summaries changed."""
    changed = 0
    folded = [text.casefold() for text in texts if len(text) >= 4]  # 'Al' is in 'invalid'...
    for import_id, text in conn.execute("SELECT id, summary FROM imports").fetchall():
        summary = json.loads(text or "{}")
        before = json.dumps(summary, sort_keys=True)
        for merge in summary.get("merges") or []:
            merge["phone"] = aliases.get(merge.get("phone"), merge.get("phone"))
        for problem in summary.get("errors") or []:
            said = f"{problem.get('value') or ''} {problem.get('reason') or ''}"
            said_digits = "".join(ch for ch in said if ch.isdigit())
            if any(d and d in said_digits for d in digits) or any(t in said.casefold() for t in folded):
                problem["value"], problem["reason"] = None, ERASED
        if json.dumps(summary, sort_keys=True) != before:
            conn.execute("UPDATE imports SET summary = ? WHERE id = ?", (json.dumps(summary), import_id))
            changed += 1
    return changed


# ---- doctor ------------------------------------------------------------------------------------

_LEFT_BEHIND_SQL = """
SELECT c.id, c.phone, 'still has a name, e-mail, birthday, note or a phone other than its pseudonym'
  FROM customers c WHERE c.forgotten_at IS NOT NULL AND (c.name IS NOT NULL OR c.email IS NOT NULL
  OR c.birthday IS NOT NULL OR c.note IS NOT NULL OR c.phone != :prefix || c.id)
UNION ALL
SELECT c.id, c.phone, 'visit #' || v.id || ' still has a note or a void reason'
  FROM customers c JOIN visits v ON v.customer_id = c.id
  WHERE c.forgotten_at IS NOT NULL AND (v.note IS NOT NULL OR v.void_reason IS NOT NULL)
UNION ALL
SELECT c.id, c.phone, 'feedback #' || f.id || ' still has a comment'
  FROM customers c JOIN feedback f ON f.customer_id = c.id WHERE c.forgotten_at IS NOT NULL AND f.comment IS NOT NULL
UNION ALL
SELECT c.id, c.phone, 'consent #' || k.id || ' still has a source'
  FROM customers c JOIN consents k ON k.customer_id = c.id WHERE c.forgotten_at IS NOT NULL AND k.source IS NOT NULL
ORDER BY 1, 3
LIMIT 100
"""


def problems(conn) -> list[str]:
    """For `loyalty doctor`: personal data left on a customer `loyalty forget` erased."""
    return [Phrase("forgotten customer #{id} ({phone}): {what}", id=customer_id, phone=phone, what=what)
            for customer_id, phone, what in conn.execute(_LEFT_BEHIND_SQL, {"prefix": PSEUDONYM_PREFIX})]


# ---- checking the file itself ------------------------------------------------------------------

_PHONE_BYTES = re.compile(rb"\+[0-9]{7,15}")


def copies_left(path: Path, texts: list[str], phones: set[str]) -> bool:
    """Whether the database file or its WAL still holds any of `texts` or `phones` (UTF-8, as
    SQLite stores text): in free space a release before secure_delete left, say. Phones are
    found in one pass however many there are (each '+' and the digits after it). A PostgreSQL
    database is no file of ours to search."""
    if "://" in str(path):
        return False
    wanted = [text.encode() for text in texts if text]
    lengths = {len(p) for p in phones}
    encoded = {p.encode() for p in phones}
    for name in (str(path), f"{path}-wal"):
        with suppress(FileNotFoundError, ValueError), open(name, "rb") as handle, \
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:  # ValueError: an empty file
            if any(data.find(text) >= 0 for text in wanted):
                return True
            for match in _PHONE_BYTES.finditer(data):
                found = match.group()
                if any(found[:n] in encoded for n in lengths):
                    return True
    return False
