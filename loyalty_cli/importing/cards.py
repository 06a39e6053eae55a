"""`loyalty import cards`: paper cards -> customers, 'import' ledger entries and vouchers.

Rows are read and merged by phone first (a cards file is at most a shop's customer list),
then planned against the database (existing customers, cards imported before) and written
with bulk SQL: explicit ids, executemany, indexes rebuilt once for a big file.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat

from loyalty_cli.domain import clock, rules
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.importing.reader import parsed_batches
from loyalty_cli.importing.run import (
    MAX_LISTED,
    Indexes,
    Options,
    RowError,
    Run,
    chunks,
    marks,
    voucher_codes,
)
from loyalty_cli.importing.values import CellError, Dates, Rewards, email, texts
from loyalty_cli.store import counter as store
from loyalty_cli.store.db import savepoint, unique_indexes_on


@dataclass(slots=True)
class _Card:
    line: int
    phone: str
    name: str | None
    email: str | None
    note: str | None
    last_visit: str | None  # as stored (UTC)
    punches: int
    points: int
    credit: int
    owed: dict  # reward id -> count
    lines: list = field(default_factory=list)  # every line merged into this card

    def merge(self, other: "_Card") -> None:
        self.punches += other.punches
        self.points += other.points
        self.credit += other.credit
        for reward, count in other.owed.items():
            self.owed[reward] = self.owed.get(reward, 0) + count
        self.name = self.name or other.name
        self.email = self.email or other.email
        if other.note and other.note != self.note:
            self.note = f"{self.note} / {other.note}" if self.note else other.note
        if other.last_visit and (not self.last_visit or other.last_visit > self.last_visit):
            self.last_visit = other.last_visit
        self.lines += other.lines

    def digest(self, card: str) -> str:
        return _digest(self.phone, card, self.punches, self.points, self.credit, self.owed)


def _digest(phone: str, card: str, punches: int, points: int, credit: int, owed: dict | None = None) -> str:
    """What a re-run must find unchanged: the balances carried over (names may be edited)."""
    owed = ",".join(f"{reward}={count}" for reward, count in sorted(owed.items())) if owed else ""
    content = f"{phone}\x1f{card}\x1f{punches}\x1f{points}\x1f{credit}\x1f{owed}"
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def import_cards(session, options: Options, progress=None) -> dict:
    run = Run(session, "cards", options, progress)
    rule = _punch_card(run.config, options.card)
    run.summary["card"] = rule.name if rule else None
    return run.finish(session.writable_conn, lambda conn, import_id: _import(run, conn, import_id, rule))


PLANNING = ("customers_created", "customers_updated", "rows_imported", "already_imported", "punches", "points",
            "credit", "vouchers_issued")  # the summary's figures that writing cards sets


def _import(run: Run, conn, import_id: int, rule) -> None:
    """Read, parse and write the cards; those of new customers are written as they are read.

    A big file is parsed by a reader process (import_reader), and meanwhile this one writes
    each batch's cards for phones that are not customers yet, have no card imported before and
    were not seen before in the file. Duplicates are only known at the end: if one is to be merged into a card
    already written, everything written is rolled back to the savepoint and the file's cards
    are written as merged, as if none had been written early.
    """
    every = rule.every if rule is not None and not isinstance(rule, _Ambiguous) and rule.every else 0
    rows = _Columns()
    writer = _CardWriter(run, conn, import_id, rule)
    # Lookups by phone need its index, unless the database has no customer to look up.
    keep = set() if writer.empty else unique_indexes_on(conn, "customers", "phone")
    bulk = [Indexes(conn, "customers", run.source.lines, keep), Indexes(conn, "ledger", run.source.lines),
            Indexes(conn, "vouchers", run.source.lines)]
    with savepoint(conn, "cards_as_read") as roll_back_cards:
        planned = {key: run.summary[key] for key in PLANNING}
        early, seen = [], set()
        for parsed in parsed_batches(run, _Parser(run, rule), _Columns.pack, _Columns.unpack):
            start = len(rows.phone)
            rows.extend(parsed)
            if not run.problems or run.options.skip_invalid:  # else: validating only, to be rolled back
                plain, other = writer.new_cards(rows, start, seen, every)
                writer.plan_plain(rows, plain)
                for i in other:
                    writer.plan(rows.card(i))
                writer.flush()
                early += plain + other
            run.tick(parsed.last_line)
        run.tick(run.source.lines)
        cards = _merged(run, rows)
        if any(rows.phone[i] in cards for i in early) and not run.options.strict:
            roll_back_cards()  # a card written early is to take a merge
            run.summary.update(planned)
            writer = _CardWriter(run, conn, import_id, rule)
            early = []
    written = {rows.phone[i] for i in early}
    for phone in written.intersection(cards):
        del cards[phone]  # --strict refused its later rows; its first is written already
    done = {i for i, phone in enumerate(rows.phone) if phone in written} if early else set()
    _write_cards(run, writer, rows, cards, done, every)
    for indexes in bulk:
        indexes.restore()


class _Columns:
    """Valid card rows as columns (FIELDS order), with each row's line."""

    FIELDS = ("line", "phone", "name", "email", "note", "last_visit", "punches", "points", "credit", "owed", "digest")

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, [])
        self.last_line = 0  # of the batch, rejected rows included

    def pack(self) -> tuple:
        return self.last_line, [list(getattr(self, name)) for name in self.FIELDS]

    @classmethod
    def unpack(cls, packed: tuple) -> "_Columns":
        columns = cls()
        columns.last_line, values = packed
        for name, value in zip(cls.FIELDS, values, strict=True):
            setattr(columns, name, value)
        return columns

    def extend(self, other: "_Columns") -> None:
        for name in self.FIELDS:
            getattr(self, name).extend(getattr(other, name))

    def card(self, i: int) -> _Card:
        return _Card(self.line[i], self.phone[i], self.name[i], self.email[i], self.note[i], self.last_visit[i],
                     self.punches[i], self.points[i], self.credit[i], dict(self.owed[i] or {}), [self.line[i]])


class _Parser:
    """A batch of cells -> _Columns of its valid rows; each row's error is its first bad cell in
    the order phone, punches, reward, rewards, e-mail, last visit, points, credit."""

    def __init__(self, run: Run, rule):
        self.run, self.rule = run, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.rewards = Rewards(run.config.rewards)
        self.dates = Dates(run.config.tz, run.options.date_format)
        self.counts = {"": 0, **{str(n): n for n in range(1000)}}
        run.amounts.setdefault("", 0)

    def __call__(self, batch) -> _Columns:
        run, rule = self.run, self.rule
        (phone_text, names, mails, punches_text, points_text, credit_text, rewards_text, reward_text, last_text,
         notes) = batch.columns
        count = len(batch)
        errors: dict[int, RowError] = {}
        phones = run.phones_of(phone_text, errors)
        punches = run.counts_of(punches_text, "punches", errors, self.counts)
        if rule is None or isinstance(rule, _Ambiguous):
            why = (f"the config has several punch cards ({rule.names}): choose one with --card" if rule
                   else "the config has no punch card to put punches on")
            for i, value in enumerate(punches):
                if value and i not in errors:
                    errors[i] = RowError("punches", punches_text[i], why)
        owed = self._owed(reward_text, rewards_text, errors) if any(reward_text) or any(rewards_text) else [None] * count
        emails = [None] * count
        for i, mail in enumerate(mails):
            if mail and i not in errors:
                try:
                    emails[i] = email(mail) if mail.strip() else None
                except CellError as exc:
                    errors[i] = RowError("email", mail.strip(), str(exc))
        last_visits = self._last_visits(last_text, errors) if any(last_text) else [None] * count
        points = run.counts_of(points_text, "points", errors, self.counts)
        credits = run.amounts_of(credit_text, "credit", errors)
        out = _Columns()
        out.last_line = batch.lines[-1]
        keep = run.settle(batch, errors)
        pick = list if keep is None else (lambda column: list(map(column.__getitem__, keep)))  # noqa: E731
        out.line, out.phone, out.punches, out.points, out.credit = (
            pick(batch.lines), pick(phones), pick(punches), pick(points), pick(credits))
        out.name, out.note = texts(pick(names)), texts(pick(notes))
        out.email, out.last_visit, out.owed = pick(emails), pick(last_visits), pick(owed)
        # The row's digest as a card on its own (plan_plain's case), worked out on the reader's core.
        out.digest = list(map(_digest, out.phone, repeat(self.card_name), out.punches, out.points, out.credit))
        return out

    def _owed(self, reward_text: list, rewards_text: list, errors: dict) -> list:
        """_card's reward and rewards cells: {reward id: count} or None, row by row (they are few)."""
        rule, rewards = self.rule, self.rewards
        owed = [None] * len(reward_text)
        for i, (reward_id, listed) in enumerate(zip(reward_text, rewards_text, strict=True)):
            reward_id, listed = reward_id.strip(), listed.strip()
            if (not reward_id and not listed) or i in errors:
                continue
            default = rule.reward if rule is not None else None
            try:
                if reward_id:
                    default = rewards.reward_id(reward_id)
            except CellError as exc:
                errors[i] = RowError("reward", reward_id, str(exc))
                continue
            try:
                owed[i] = rewards.parse(listed, default, "rewards") if listed else {default: 1}
            except CellError as exc:
                errors[i] = RowError("rewards", listed, str(exc))
        return owed

    def _last_visits(self, cells: list, errors: dict) -> list:
        run = self.run
        moments, _days = self.dates.columns(cells, None)
        for i, cell in enumerate(cells):
            if i in errors:
                continue
            if moments[i] is None and cell.strip():
                try:
                    moments[i] = self.dates.moment(cell.strip())[0]
                except CellError as exc:
                    errors[i] = RowError("last_visit", cell.strip(), str(exc))
                    continue
            elif not cell.strip():
                moments[i] = None
            if moments[i] is not None and moments[i] > run.now_db:
                errors[i] = RowError("last_visit", cell.strip(), f"last visit is in the future: {cell.strip()!r}")
        return moments


def _merged(run: Run, rows: _Columns) -> dict:
    """Rows sharing a phone, merged into one _Card each (or refused, --strict); {} if none."""
    counts = Counter(rows.phone)
    run.summary["merges"] = []
    if len(counts) == len(rows.phone):
        return {}
    shared = {phone for phone, count in counts.items() if count > 1}
    cards: dict[str, _Card] = {}
    merges, refused = [], []
    for i, phone in enumerate(rows.phone):
        if phone not in shared:
            continue
        card = rows.card(i)
        earlier = cards.get(phone)
        if earlier is None:
            cards[phone] = card
        elif run.options.strict:
            refused.append((card.line, phone, earlier.line))
        else:
            earlier.merge(card)
            run.summary["merged"] += 1
            if len(merges) < MAX_LISTED:
                merges.append({"phone": phone, "line": card.line, "into_line": earlier.line})
    run.summary["merges"] = merges
    if refused:  # rare: read those rows again rather than keep every row in memory
        raws = run.raw_rows({line for line, _phone, _earlier in refused})
        for line, phone, earlier in refused:
            raw = raws.get(line)
            run.reject(line, raw, "phone", run.cell(raw, "phone", phone),
                       f"{phone} is already on line {earlier} (--strict refuses duplicates)")
    return cards


def _punch_card(config, wanted: str | None):
    cards = config.rules_of("punch_card")
    if wanted:
        for rule in cards:
            if rule.name.casefold() == wanted.strip().casefold():
                return rule
        names = ", ".join(repr(r.name) for r in cards) or "none in the config"
        raise BadInput(f"--card: no punch card called {wanted!r} (punch cards: {names})")
    return cards[0] if len(cards) == 1 else None if not cards else _Ambiguous(cards)


class _Ambiguous:
    """Several punch cards and no --card: fine until a row has punches."""

    def __init__(self, cards):
        self.name, self.reward, self.every = None, None, None
        self.names = ", ".join(repr(r.name) for r in cards)


def _write_cards(run: Run, writer: "_CardWriter", rows: _Columns, cards: dict, done: set, every: int) -> None:
    """The cards not written yet: plain new ones in bulk; merged rows, existing customers, cards
    imported before and cards that owe rewards card by card (`_CardWriter.plan`)."""
    writer.look_up(rows.phone)
    special = writer.existing.keys() | writer.prior.keys() | cards.keys()
    plain = [i for i, (phone, punches, owed) in enumerate(zip(rows.phone, rows.punches, rows.owed, strict=True))
             if not owed and (not punches or punches < every) and phone not in special and i not in done]
    writer.plan_plain(rows, plain)
    done = done | set(plain)
    if len(done) < len(rows.phone):
        for i, phone in enumerate(rows.phone):
            if i not in done and phone not in cards:
                cards[phone] = rows.card(i)
    conflicts = []
    for card in sorted(cards.values(), key=lambda c: c.line):
        conflict = writer.plan(card)
        if conflict:
            conflicts.append((card, conflict))
    if conflicts:  # rare: read those rows again rather than keep every row in memory
        raws = run.raw_rows({line for card, _reason in conflicts for line in card.lines})
        for card, reason in conflicts:
            for line in card.lines:
                run.reject(line, raws.get(line), "phone", card.phone, reason)
    writer.write()


class _CardWriter:
    """Cards -> rows for customers, ledger, vouchers and import_cards, then bulk SQL."""

    def __init__(self, run: Run, conn, import_id: int, rule):
        self.run, self.conn, self.import_id, self.rule = run, conn, import_id, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.at = clock.to_db(run.now)
        expires = rules.voucher_expires_at(run.config, run.now)
        self.expires = clock.to_db(expires) if expires else None
        self.existing, self.prior, self.looked_up = {}, {}, set()
        # A first import into a new database has no customers to look up (the usual case).
        self.empty = not conn.execute("SELECT EXISTS (SELECT 1 FROM customers)").fetchone()[0]
        self.next_customer = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]
        self.next_ledger = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()[0]
        self.first_ledger = self.next_ledger
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.punch_json: dict[int, str] = {}  # open punches -> the JSON of a new customer's card

    def look_up(self, phones: list) -> None:
        """The customers, and the cards imported before, for these phones (each looked up once)."""
        wanted = set() if self.empty else set(phones).difference(self.looked_up)
        self.looked_up |= wanted
        for chunk in chunks(wanted):
            for row in self.conn.execute(f"SELECT * FROM customers WHERE phone IN ({marks(len(chunk))})", chunk):
                self.existing[row["phone"]] = row
            for row in self.conn.execute(
                    "SELECT c.phone, c.digest, c.line, i.source, i.at FROM import_cards c "
                    "JOIN imports i ON i.id = c.import_id "
                    f"WHERE c.card = ? AND c.phone IN ({marks(len(chunk))})", [self.card_name, *chunk]):
                self.prior[row["phone"]] = row

    def new_cards(self, rows: _Columns, start: int, seen: set, every: int) -> tuple[list, list]:
        """The rows from `start` on whose phone is not seen before in the file, not a customer and
        has no card imported before: (plain ones for plan_plain, ones owing rewards for plan)."""
        self.look_up(rows.phone[start:])
        existing, prior = self.existing, self.prior
        plain, other = [], []
        for i in range(start, len(rows.phone)):
            phone = rows.phone[i]
            if phone in seen:
                continue
            seen.add(phone)
            if phone in existing or phone in prior:
                continue
            punches = rows.punches[i]
            (other if rows.owed[i] or (punches and punches >= every) else plain).append(i)
        return plain, other

    def flush(self) -> None:
        """Insert everything planned so far: vouchers with fresh codes, customers new and
        updated, ledger entries, and the import records."""
        conn = self.conn
        code_of = {}
        for voucher, code in zip(self.vouchers, voucher_codes(conn, len(self.vouchers)), strict=True):
            voucher[0] = code_of[voucher[7]] = code
        ledger = self.ledger  # in id order: a voucher's entry is found by its id
        for ledger_id, code in code_of.items():
            row = ledger[ledger_id - self.first_ledger]
            ledger[ledger_id - self.first_ledger] = (*row[:9], code, *row[10:])
        conn.executemany(
            "INSERT INTO customers (id, phone, name, email, enrolled_at, note, points, credit, punches, "
            "last_visit_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.new_rows)
        conn.executemany(
            "UPDATE customers SET name = COALESCE(name, ?), email = COALESCE(email, ?), note = COALESCE(note, ?), "
            "points = points + ?, credit = credit + ?, punches = ?, last_visit_at = ? WHERE id = ?", self.updates)
        conn.executemany(
            "INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, reason, voucher, reward, "
            "earned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger)
        conn.executemany(
            "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, ledger_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sorted(self.vouchers))
        self.keys.sort()  # in key order: appended to the B-tree, not scattered through it
        conn.executemany(
            "INSERT INTO import_cards (phone, card, customer_id, import_id, line, digest) VALUES (?, ?, ?, ?, ?, ?)",
            self.keys)
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.first_ledger = self.next_ledger

    def plan_plain(self, rows: _Columns, chosen: list) -> None:
        """plan() for these rows, all new customers with no reward owed and no full card, in bulk."""
        if not chosen:
            return
        pick = (lambda column: list(map(column.__getitem__, chosen))) if len(chosen) < len(rows.phone) else list  # noqa: E731
        phones, lines, punches, points, credits = (pick(rows.phone), pick(rows.line), pick(rows.punches),
                                                   pick(rows.points), pick(rows.credit))
        first = self.next_customer
        self.next_customer += len(phones)
        ids = range(first, self.next_customer)
        for value in set(punches).difference(self.punch_json):
            self.punch_json[value] = json.dumps({self.card_name: value} if value else {})
        at, card, source = self.at, self.card_name, self.run.source.name
        self.new_rows += zip(ids, phones, pick(rows.name), pick(rows.email), repeat(at), pick(rows.note), points,
                             credits, map(self.punch_json.__getitem__, punches), pick(rows.last_visit))
        for customer_id, line, punch, point, credit in zip(ids, lines, punches, points, credits, strict=True):
            if punch or point or credit:
                self.ledger.append((self.next_ledger, customer_id, at, "import", point, punch, credit,
                                    card if punch else None, f"imported from paper card ({source}, line {line})",
                                    None, None, at if point > 0 else None))
                self.next_ledger += 1
        self.keys += zip(phones, repeat(card), ids, repeat(self.import_id), lines,
                         pick(rows.digest))
        summary = self.run.summary
        summary["customers_created"] += len(phones)
        summary["rows_imported"] += len(phones)
        summary["punches"] += sum(punches)
        summary["points"] += sum(points)
        summary["credit"] += sum(credits)

    def plan(self, card: _Card) -> str | None:
        """Rows for one card; the reason it conflicts with a card imported before, if it does."""
        summary, rule = self.run.summary, self.rule
        digest = card.digest(self.card_name)
        earlier = self.prior.get(card.phone)
        if earlier is not None:
            if earlier["digest"] == digest:
                summary["already_imported"] += len(card.lines)
                return None
            return (f"a card with other balances was imported for {card.phone} on {earlier['at'][:10]} "
                    f"({earlier['source']}, line {earlier['line']}); change it at the counter instead")
        full = card.punches // rule.every if card.punches and rule is not None and rule.every else 0
        open_punches = card.punches - full * (rule.every if full else 0)
        customer_id = self._customer(card, open_punches)
        source = self.run.source.name
        reason = f"imported from paper card ({source}, line {card.line})"
        if card.punches or card.points or card.credit:
            self._entry(customer_id, "import", card.points, card.punches, card.credit,
                        self.card_name if card.punches else None, reason, None,
                        self.at if card.points > 0 else None)
        issued = [(rule.reward, -rule.every, f"card of {rule.every} complete ({source}, line {card.line})")
                  for _ in range(full)]
        for reward, count in card.owed.items():
            issued += [(reward, 0, reason)] * count
        for reward, punch_delta, why in issued:
            ledger_id = self._entry(customer_id, "reward", 0, punch_delta, 0, self.card_name or None, why, reward, None)
            self.vouchers.append([None, customer_id, reward, self.card_name or None, "issued", self.at, self.expires,
                                  ledger_id])
        self.keys.append((card.phone, self.card_name, customer_id, self.import_id, card.line, digest))
        summary["rows_imported"] += len(card.lines)
        summary["punches"] += card.punches
        summary["points"] += card.points
        summary["credit"] += card.credit
        summary["vouchers_issued"] += len(issued)
        return None

    def _customer(self, card: _Card, open_punches: int) -> int:
        """The customer's id: a new row with the card's balances, or an update adding them."""
        row = self.existing.get(card.phone)
        if row is None:
            customer_id, self.next_customer = self.next_customer, self.next_customer + 1
            punches = self.punch_json.get(open_punches)
            if punches is None:
                punches = json.dumps({self.card_name: open_punches} if open_punches else {})
                self.punch_json[open_punches] = punches
            self.new_rows.append((customer_id, card.phone, card.name, card.email, self.at, card.note, card.points,
                                  card.credit, punches, card.last_visit))
            self.run.summary["customers_created"] += 1
            return customer_id
        punches = store.punches_of(row)
        if card.punches:
            punches[self.card_name] = punches.get(self.card_name, 0) + open_punches
        last = row["last_visit_at"]
        if card.last_visit and (not last or card.last_visit > last):
            last = card.last_visit
        self.updates.append((card.name, card.email, card.note, card.points, card.credit,
                             json.dumps(punches, sort_keys=True), last, row["id"]))
        self.run.summary["customers_updated"] += 1
        return row["id"]

    def _entry(self, customer_id, kind, points, punches, credit, rule, reason, reward, earned_at) -> int:
        ledger_id, self.next_ledger = self.next_ledger, self.next_ledger + 1
        # The voucher column is filled in by write(), once the codes are drawn.
        self.ledger.append((ledger_id, customer_id, self.at, kind, points, punches, credit, rule, reason, None,
                            reward, earned_at))
        return ledger_id

    def write(self) -> None:
        """flush(), with the tables' indexes rebuilt once after it when it is big."""
        bulk = [Indexes(self.conn, "customers", len(self.new_rows)), Indexes(self.conn, "ledger", len(self.ledger)),
                Indexes(self.conn, "vouchers", len(self.vouchers))]
        self.flush()
        for indexes in bulk:
            indexes.restore()
