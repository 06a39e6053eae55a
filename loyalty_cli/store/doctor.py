"""`loyalty doctor`'s checks: every invariant the engine relies on, one line per problem.

Each line names the table and the row (customer phone, voucher code, visit or ledger line id)
and what is wrong. Each check is one aggregate query, or a walk of an index through the few
rows it concerns (voids, vouchers): on 1M visits they take a few seconds together, far less
than SQLite's own integrity check that comes first.

The ledger is the truth: the customer row caches its sums (points, credit, open punches) and
the visits table's (visits, spend, last visit); a voucher's status is told by its ledger lines.
A balance below zero is a debt only a void can leave (a visit voided after the points, credit
or full card it brought were spent), and never more than the voids took back.
"""

import json

from loyalty_cli.domain import money
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import lots as store_lots
from loyalty_cli.store import privacy as store_privacy
from loyalty_cli.store.db import integrity_problems, ledger_triggers

LEDGER_KINDS = ("welcome", "referral", "punch", "reward", "points", "cashback", "redeem", "expire", "void", "import",
                "promotion", "feedback")
VOUCHER_STATUSES = ("issued", "redeemed", "expired", "void")
# What a voucher's ledger lines (besides the 'reward' line that issued it) are, by status. An
# expired voucher whose visit is voided later gets the reversal of its reward line too.
VOUCHER_EVENTS = {"issued": {()}, "redeemed": {("redeem",)}, "expired": {("expire",), ("expire", "void")},
                  "void": {("void",)}}
# The signs of (points, punches, credit) each kind of line is written with; 'void' mirrors
# the line it reverses (checked with the reversals).
SIGNS = {
    "welcome": ("0+", "0", "0+"), "referral": ("+", "0", "0"), "punch": ("0", "+", "0"),
    "reward": ("0", "0-", "0"), "points": ("+", "0", "0"), "cashback": ("0", "0", "+"),
    "redeem": ("0-", "0", "0-"), "expire": ("0-", "0", "0"), "import": ("0+", "0+", "0+"),
    "promotion": ("0+", "0+", "0"), "feedback": ("+", "0", "0"),
}
_SIGN_SQL = {"0": "{} = 0", "+": "{} > 0", "-": "{} < 0", "0+": "{} >= 0", "0-": "{} <= 0"}
TRIGGERS = {"ledger_no_update": "UPDATE", "ledger_no_delete": "DELETE"}
MAX_LINES = 100  # per check: a table tampered wholesale says so without a million lines


def problems(conn, config=None, full: bool = False) -> list[str]:
    """Every problem found, one line each; an empty list when all is well.

    `config` gives the punch cards' sizes and the currency money is shown in; without it those
    checks that need it are skipped. `full` runs SQLite's full integrity check (slow).
    """
    currency = config.shop.currency if config is not None else None
    every = {rule.name: rule.every for rule in config.rules_of("punch_card")} if config is not None else {}
    return (integrity_problems(conn, full) + trigger_problems(conn) + ledger_line_problems(conn, currency)
            + reversal_problems(conn, currency) + voided_visit_problems(conn) + visit_cache_problems(conn, currency)
            + balance_problems(conn, currency) + debt_problems(conn, every, currency)
            + voucher_problems(conn) + voucher_reference_problems(conn) + store_lots.problems(conn)
            + store_privacy.problems(conn))


def _capped(lines) -> list[str]:
    """The first MAX_LINES lines of an iterable, and how many more there were."""
    out, more = [], 0
    for line in lines:
        if len(out) < MAX_LINES:
            out.append(line)
        else:
            more += 1
    if more:
        out.append(Phrase("... and {more} more like the line above", more=more))
    return out


def _money(minor: int, currency: str | None) -> str:
    return money.display(minor, currency) if currency else money.as_string(minor, "")


# ---- the ledger's own rules --------------------------------------------------------------------

def trigger_problems(conn) -> list[str]:
    """The triggers that make the ledger append-only are there, and still refuse."""
    found = {name: sql.upper().replace(" ", "") for name, sql in ledger_triggers(conn).items()}
    out = []
    for name, event in TRIGGERS.items():
        sql = found.get(name)
        if sql is None:
            out.append(Phrase("ledger: trigger {name} is missing, so the ledger accepts {event}s "
                              "(it must be append-only)", name=name, event=event))
        elif f"BEFORE{event}ONLEDGER" not in sql or "RAISE(ABORT" not in sql:
            out.append(Phrase("ledger: trigger {name} no longer refuses {event}s (it must be append-only)", name=name,
                              event=event))
    return out


def _shape_sql() -> str:
    """SQL true for a ledger line `l` whose kind and signs are ones the engine writes."""
    columns = ("l.points", "l.punches", "l.credit")
    cases = " ".join(
        f"WHEN '{kind}' THEN ({' AND '.join(_SIGN_SQL[s].format(c) for s, c in zip(signs, columns, strict=True))})"
        for kind, signs in SIGNS.items())
    return f"(CASE l.kind {cases} WHEN 'void' THEN 1 = 1 ELSE 1 = 0 END)"  # booleans on both backends


def ledger_line_problems(conn, currency: str | None = None) -> list[str]:
    """One pass over the ledger: known kinds, the signs each kind is written with, reversals
    only as 'void' lines, and a voucher on every 'reward' line."""
    rows = conn.execute(
        "SELECT l.id, l.kind, l.points, l.punches, l.credit, l.reverses, l.voucher, c.phone "
        "FROM ledger l LEFT JOIN customers c ON c.id = l.customer_id "
        f"WHERE NOT {_shape_sql()} OR (l.kind = 'void' AND l.reverses IS NULL) "
        "OR (l.kind NOT IN ('void', 'expire') AND l.reverses IS NOT NULL) "
        "OR (l.kind = 'reward' AND l.voucher IS NULL) ORDER BY l.id")
    return _capped(_line_problem(row, currency) for row in rows)


def _line_problem(row, currency) -> str:
    where = _line_where(row)
    if row["kind"] not in LEDGER_KINDS:
        return Phrase("{where}: kind {kind!r} is not one of {kinds}", where=where, kind=row["kind"],
                      kinds=", ".join(LEDGER_KINDS))
    if row["kind"] == "void" and row["reverses"] is None:
        return Phrase("{where}: a void line that reverses no line", where=where)
    if row["kind"] not in ("void", "expire") and row["reverses"] is not None:
        # a void line names the line it undoes; an expire line the points lot that fell due
        return Phrase("{where}: a {kind} line that reverses line #{reverses} "
                      "(only void lines do, and expire lines name their lot)", where=where, kind=row["kind"],
                      reverses=row["reverses"])
    if row["kind"] == "reward" and row["voucher"] is None:
        return Phrase("{where}: a reward line that issued no voucher", where=where)
    return Phrase("{where}: a {kind} line of {points} points, {punches} punches and {credit} credit: "
                  "not what the engine writes for {kind}", where=where, kind=row["kind"], points=row["points"],
                  punches=row["punches"], credit=_money(row["credit"], currency))


def _line_where(row) -> Phrase:
    return Phrase("ledger line #{id} ({phone})", id=row["id"], phone=row["phone"])


def reversal_problems(conn, currency: str | None = None) -> list[str]:
    """Each void line undoes one line of the same customer's same visit, once, exactly (points
    of it that had expired aside), and that visit is marked voided."""
    rows = conn.execute(
        "SELECT r.id, r.customer_id, r.visit_id, r.points, r.punches, r.credit, r.reverses, c.phone, "
        "t.id AS t_id, t.customer_id AS t_customer, t.visit_id AS t_visit, t.kind AS t_kind, t.points AS t_points, "
        "t.punches AS t_punches, t.credit AS t_credit, t.reverses AS t_reverses, vo.status AS t_status, "
        "v.voided_at, (SELECT MIN(o.id) FROM ledger o WHERE o.visit_id = r.visit_id AND o.reverses = r.reverses "
        "AND o.id < r.id) AS earlier FROM ledger r LEFT JOIN customers c ON c.id = r.customer_id "
        "LEFT JOIN ledger t ON t.id = r.reverses LEFT JOIN visits v ON v.id = r.visit_id "
        "LEFT JOIN vouchers vo ON vo.code = t.voucher AND t.kind = 'reward' "
        # the first term is the partial index's: it holds the few void lines among millions
        "WHERE r.kind IN ('redeem', 'expire', 'reward', 'void') AND r.kind = 'void' ORDER BY r.id")
    return _capped(filter(None, (_reversal_problem(row, currency) for row in rows)))


def _reversal_problem(row, currency) -> str | None:
    where = _line_where(row)
    if row["t_id"] is None:
        return None  # the foreign key check reports the missing line
    if row["t_customer"] != row["customer_id"] or row["t_visit"] != row["visit_id"] or row["visit_id"] is None:
        return Phrase("{where}: reverses line #{reverses}, which is not of the same customer's same visit",
                      where=where, reverses=row["reverses"])
    if row["t_reverses"] is not None:
        return Phrase("{where}: reverses line #{reverses}, itself a reversal", where=where, reverses=row["reverses"])
    if row["voided_at"] is None:
        return Phrase("visit #{visit} ({phone}) is not voided, yet ledger line #{id} reverses its line #{reverses}",
                      visit=row["visit_id"], phone=row["phone"], id=row["id"], reverses=row["reverses"])
    if row["earlier"] is not None:
        return Phrase("{where}: reverses line #{reverses} again (line #{earlier} did)", where=where,
                      reverses=row["reverses"], earlier=row["earlier"])
    # points of a lot that had already expired are not taken back a second time
    points_ok = (-row["t_points"] <= row["points"] <= 0) if row["t_points"] > 0 else row["points"] == -row["t_points"]
    if not points_ok or row["punches"] != -row["t_punches"] or row["credit"] != -row["t_credit"]:
        mine = _amounts(row["points"], row["punches"], _money(row["credit"], currency))
        theirs = _amounts(row["t_points"], row["t_punches"], _money(row["t_credit"], currency))
        return Phrase("{where}: does not undo line #{reverses} ({mine} against {theirs})", where=where,
                      reverses=row["reverses"], mine=mine, theirs=theirs)
    if row["t_kind"] == "reward" and row["t_status"] not in (None, "void", "expired"):
        return Phrase("{where}: reverses the reward line #{reverses}, yet its voucher is {status}", where=where,
                      reverses=row["reverses"], status=row["t_status"])
    return None


def _amounts(points, punches, credit) -> Phrase:
    return Phrase("{points} points, {punches} punches, {credit}", points=points, punches=punches, credit=credit)


def voided_visit_problems(conn) -> list[str]:
    """A voided visit has a reversal for each of its lines, but a reward whose voucher had been
    redeemed before the void (those punches stay taken: the customer owes them)."""
    rows = conn.execute(
        "SELECT v.id AS visit_id, l.id, l.kind, l.voucher, c.phone FROM visits v "
        "JOIN ledger l ON l.visit_id = v.id AND l.reverses IS NULL "
        "LEFT JOIN vouchers vo ON vo.code = l.voucher LEFT JOIN customers c ON c.id = v.customer_id "
        "WHERE v.voided_at IS NOT NULL AND l.kind != 'void' "
        "AND NOT EXISTS (SELECT 1 FROM ledger r WHERE r.visit_id = v.id AND r.reverses = l.id) "
        "AND NOT (l.kind = 'reward' AND COALESCE(vo.status, '') = 'redeemed') ORDER BY v.id, l.id")
    return _capped(Phrase("visit #{visit} ({phone}) is voided, but its ledger line #{id} ({kind}) was never reversed",
                          visit=row["visit_id"], phone=row["phone"], id=row["id"], kind=row["kind"]) for row in rows)


# ---- what the customer row caches ------------------------------------------------------------

def visit_cache_problems(conn, currency: str | None = None) -> list[str]:
    """Cached visits, spend and last visit against the visits not voided. A customer with an
    imported card may have a later last visit than any recorded: the card's."""
    rows = conn.execute(
        "SELECT c.phone, c.visits, c.spend, NULLIF(c.last_visit_at, '') AS last_visit_at, "
        "COALESCE(t.n, 0) AS n, COALESCE(t.s, 0) AS s, t.last, "
        "c.id IN (SELECT customer_id FROM import_cards) AS carded "
        "FROM customers c LEFT JOIN (SELECT customer_id, COUNT(*) AS n, SUM(amount) AS s, MAX(at) AS last "
        "FROM visits WHERE voided_at IS NULL GROUP BY customer_id) t ON t.customer_id = c.id ORDER BY c.id")
    return _capped(line for row in rows for line in _visit_cache_problem(row, currency))


def _visit_cache_problem(row, currency):
    where = _customer_where(row)
    if row["visits"] != row["n"]:
        yield Phrase("{where}: cached visits {cached} but the visits table has {found}", where=where,
                     cached=row["visits"], found=row["n"])
    if row["spend"] != row["s"]:
        yield Phrase("{where}: cached spend {cached} but the visits table says {found}", where=where,
                     cached=_money(row["spend"], currency), found=_money(row["s"], currency))
    cached, last = row["last_visit_at"], row["last"]
    fine = cached == last or (row["carded"] and (last is None or (cached or "") >= last))
    if not fine:
        none = Phrase("none")
        yield Phrase("{where}: cached last visit {cached} but the newest visit is {last}", where=where,
                     cached=cached or none, last=last or none)


def _customer_where(row) -> Phrase:
    return Phrase("customer {phone}", phone=row["phone"])


def _ledger_sums(conn) -> dict:
    """customer id -> [points, credit, {card: punches}], summed over the whole ledger.

    NOT INDEXED: one pass over the table and a sort beats visiting millions of lines in
    customer order through idx_ledger_customer_id_id, a lookup each (~2x on 3M lines)."""
    sums: dict = {}
    for customer_id, points, credit in conn.execute(
            "SELECT customer_id, SUM(points), SUM(credit) FROM ledger NOT INDEXED "
            "WHERE points != 0 OR credit != 0 GROUP BY customer_id"):
        sums[customer_id] = [points, credit, {}]
    for customer_id, card, punches in conn.execute(
            # a promotion's extra punches name their card in `card` (their rule is the promotion)
            "SELECT customer_id, COALESCE(card, rule), SUM(punches) FROM ledger NOT INDEXED WHERE punches != 0 "
            "GROUP BY customer_id, COALESCE(card, rule)"):
        if punches:
            sums.setdefault(customer_id, [0, 0, {}])[2][card] = punches
    return sums


def _cached_punches(row) -> dict | None:
    """The customer row's punches, or None when they are not a JSON object of whole numbers."""
    try:
        punches = json.loads(row["punches"]) if row["punches"] else {}
    except ValueError:
        return None
    if not isinstance(punches, dict) or not all(type(n) is int for n in punches.values()):
        return None
    return {card: n for card, n in punches.items() if n}


def balance_problems(conn, currency: str | None = None) -> list[str]:
    """Cached points, credit and open punches against the ledger's sums."""
    sums = _ledger_sums(conn)
    return _capped(line for row in conn.execute(
        "SELECT id, phone, points, credit, punches FROM customers ORDER BY id")
        for line in _balance_problem(row, sums.get(row["id"], [0, 0, {}]), currency))


def _balance_problem(row, sums, currency):
    where = _customer_where(row)
    points, credit, punches = sums
    if (points, credit) != (row["points"], row["credit"]):
        yield Phrase("{where}: cached points/credit {points}/{credit} "
                     "but the ledger says {found_points}/{found_credit}",
                     where=where, points=row["points"], credit=_money(row["credit"], currency), found_points=points,
                     found_credit=_money(credit, currency))
    cached = _cached_punches(row)
    if cached is None:
        yield Phrase("{where}: cached punches {punches!r} are not a card -> count object", where=where,
                     punches=row["punches"])
    elif cached != {card: n for card, n in punches.items() if n}:
        yield Phrase("{where}: cached punches {cached} but the ledger says {found}", where=where, cached=cached,
                     found=punches)


def debt_problems(conn, every: dict, currency: str | None = None) -> list[str]:
    """Balances within what the engine can leave. Nothing but a void lowers a balance below zero,
    and then by no more than it took back. A card holds fewer than `every` open punches, unless
    a void gave back the punches of a reward (the next visit issues it) or an imported card was
    added to open punches (the same): beyond that, a reward the engine never issued."""
    owed: dict = {}
    for customer_id, kind, card, points, credit, taken, given in conn.execute(
            "SELECT customer_id, kind, COALESCE(card, rule), SUM(MIN(points, 0)), SUM(MIN(credit, 0)), "
            "SUM(MIN(punches, 0)), SUM(MAX(punches, 0)) FROM ledger NOT INDEXED WHERE kind IN ('void', 'import') "
            "GROUP BY customer_id, kind, COALESCE(card, rule)"):
        debts = owed.setdefault(customer_id, {"points": 0, "credit": 0, "taken": {}, "slack": {}})
        if kind == "void":
            debts["points"] += points
            debts["credit"] += credit
            debts["taken"][card] = debts["taken"].get(card, 0) + taken
        debts["slack"][card] = debts["slack"].get(card, 0) + given
    rows = conn.execute("SELECT id, phone, points, credit, punches FROM customers ORDER BY id")
    empty = {"points": 0, "credit": 0, "taken": {}, "slack": {}}
    return _capped(line for row in rows
                   for line in _debt_problem(row, owed.get(row["id"], empty), every, currency))


def _debt_problem(row, debts, every, currency):
    where = _customer_where(row)
    if row["points"] < debts["points"]:
        yield Phrase("{where}: {points} points, a debt beyond the {owed} that voided visits took back", where=where,
                     points=row["points"], owed=-debts["points"])
    if row["credit"] < debts["credit"]:
        yield Phrase("{where}: credit {credit}, a debt beyond the {owed} that voided visits took back", where=where,
                     credit=_money(row["credit"], currency), owed=_money(-debts["credit"], currency))
    for card, count in (_cached_punches(row) or {}).items():
        floor = debts["taken"].get(card, 0)
        if count < floor:
            yield Phrase("{where}: {count} open punches on {card!r}, a debt beyond the {owed} that voided visits "
                         "took back", where=where, count=count, card=card, owed=-floor)
        size = every.get(card)
        if size is not None and count >= size + debts["slack"].get(card, 0):
            yield Phrase("{where}: {count} open punches on {card!r}, a full card of {size} whose reward was never "
                         "issued", where=where, count=count, card=card, size=size)


# ---- vouchers --------------------------------------------------------------------------------

def voucher_problems(conn) -> list[str]:
    """Each voucher: a known status, the times that go with it, the reward line that issued it
    (one bought with points has none: it is redeemed at once), and ledger lines saying the
    status."""
    rows = conn.execute(
        "SELECT v.code, v.customer_id, v.status, v.ledger_id, v.visit_id, v.redeemed_at, v.ended_at, "
        "l.id AS line, l.kind AS line_kind, l.voucher AS line_voucher, l.customer_id AS line_customer, "
        "l.visit_id AS line_visit, (SELECT GROUP_CONCAT(kind) FROM ledger e WHERE e.voucher = v.code "
        "AND e.kind != 'reward') AS events "
        "FROM vouchers v LEFT JOIN ledger l ON l.id = v.ledger_id ORDER BY v.code")
    return _capped(line for row in rows for line in _voucher_problem(row))


def _voucher_problem(row):
    code, status = row["code"], row["status"]
    if status not in VOUCHER_STATUSES:
        yield Phrase("voucher {code}: status {status!r} is not one of {statuses}", code=code, status=status,
                     statuses=", ".join(VOUCHER_STATUSES))
        return
    events = tuple(sorted(row["events"].split(","))) if row["events"] else ()
    if events not in VOUCHER_EVENTS[status]:
        said = (Phrase("the ledger has {events} for it", events=", ".join(events)) if events
                else Phrase("no ledger entry says so"))
        yield Phrase("voucher {code} is {status} but {said}", code=code, said=said,
                     status="open" if status == "issued" else status)
    stamped = (row["redeemed_at"] is not None, row["ended_at"] is not None)
    if stamped != (status == "redeemed", status in ("expired", "void")):
        yield Phrase("voucher {code} is {status} but its redeemed_at/ended_at are {redeemed_at}/{ended_at}",
                     code=code, status=status, redeemed_at=row["redeemed_at"], ended_at=row["ended_at"])
    if row["ledger_id"] is None:
        if status != "redeemed" or events != ("redeem",):
            yield Phrase("voucher {code}: no reward ledger line issued it (only one bought with points has none)",
                         code=code)
    elif (row["line"] is None or row["line_kind"] != "reward" or row["line_voucher"] != code
          or row["line_customer"] != row["customer_id"] or row["line_visit"] != row["visit_id"]):
        yield Phrase("voucher {code}: ledger line #{line} is not the reward line that issued it", code=code,
                     line=row["ledger_id"])


def voucher_reference_problems(conn) -> list[str]:
    """Every ledger line about a voucher finds it, of the same customer; each reward line is
    the one its voucher names (a deleted voucher row shows here)."""
    rows = conn.execute(
        "SELECT l.id, l.kind, l.voucher, c.phone, v.code, v.customer_id, v.ledger_id, l.customer_id AS owner "
        "FROM ledger l LEFT JOIN vouchers v ON v.code = l.voucher LEFT JOIN customers c ON c.id = l.customer_id "
        "WHERE l.voucher IS NOT NULL AND (v.code IS NULL OR v.customer_id != l.customer_id "
        "OR (l.kind = 'reward' AND v.ledger_id IS NOT l.id)) ORDER BY l.id")
    return _capped(_reference_problem(row) for row in rows)


def _reference_problem(row) -> str:
    where = Phrase("ledger line #{id} ({kind}, {phone})", id=row["id"], kind=row["kind"], phone=row["phone"])
    if row["code"] is None:
        return Phrase("{where}: voucher {voucher} is missing from the vouchers table", where=where,
                      voucher=row["voucher"])
    if row["customer_id"] != row["owner"]:
        return Phrase("{where}: voucher {voucher} belongs to another customer", where=where, voucher=row["voucher"])
    return Phrase("{where}: voucher {voucher} names ledger line #{line} as the one that issued it", where=where,
                  voucher=row["voucher"], line=row["ledger_id"])
