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
from loyalty_cli.importing.job import ImportJob
from loyalty_cli.importing.options import Options, RowError
from loyalty_cli.importing.reader import parsed_batches
from loyalty_cli.importing.summary import MAX_LISTED
from loyalty_cli.importing.transaction import import_in_one_transaction
from loyalty_cli.importing.values import CellError, Dates, Rewards, email, texts
from loyalty_cli.store import bulk
from loyalty_cli.store import counter as store
from loyalty_cli.store.bulk import DeferredIndexes
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
    job = ImportJob(session, "cards", options, progress)
    rule = _punch_card(job.config, options.card)
    job.summary["card"] = rule.name if rule else None
    return import_in_one_transaction(job, session.conn, lambda conn, import_id: _import(job, conn, import_id, rule))


PLANNING = ("customers_created", "customers_updated", "rows_imported", "already_imported", "punches", "points",
            "credit", "vouchers_issued")  # the summary's figures that writing cards sets


def _import(job: ImportJob, conn, import_id: int, rule) -> None:
    """Read, parse and write the cards; those of new customers are written as they are read.

    A big file is parsed by a reader process (reader.py), and meanwhile this one writes each
    batch's cards for phones that are not customers yet, have no card imported before and were
    not seen before in the file. Duplicates are only known at the end: if one is to be merged
    into a card already written, everything written is rolled back to the savepoint and the
    file's cards are written as merged, as if none had been written as they were read.
    """
    every = rule.every if rule is not None and not isinstance(rule, _Ambiguous) and rule.every else 0
    rows = _CardRows()
    writer = _CardWriter(job, conn, import_id, rule)
    # Lookups by phone need its index, unless the database has no customer to look up.
    keep = set() if writer.empty else unique_indexes_on(conn, "customers", "phone")
    deferred = [DeferredIndexes(conn, "customers", job.source.lines, keep),
                DeferredIndexes(conn, "ledger", job.source.lines), DeferredIndexes(conn, "vouchers", job.source.lines)]
    with savepoint(conn, "cards_as_read") as roll_back_cards:
        planned = {key: job.summary[key] for key in PLANNING}
        written_as_read, seen = [], set()  # row indexes; phones
        for parsed in parsed_batches(job, _CardParser(job, rule), _CardRows.pack, _CardRows.unpack):
            start = len(rows.phone)
            rows.extend(parsed)
            if not job.rejects.problems or job.options.skip_invalid:  # else: validating only, to be rolled back
                without_vouchers, with_vouchers = writer.new_cards(rows, start, seen, every)
                writer.plan_new_customers(rows, without_vouchers)
                for i in with_vouchers:
                    writer.plan_card(rows.card(i))
                writer.flush()
                written_as_read += without_vouchers + with_vouchers
            job.progress_at(parsed.last_line)
        job.progress_at(job.source.lines)
        cards = _merged(job, rows)
        if any(rows.phone[i] in cards for i in written_as_read) and not job.options.strict:
            roll_back_cards()  # a card written as read is to take a merge
            job.summary.update(planned)
            writer = _CardWriter(job, conn, import_id, rule)
            written_as_read = []
    written_phones = {rows.phone[i] for i in written_as_read}
    for phone in written_phones.intersection(cards):
        del cards[phone]  # --strict refused its later rows; its first is written already
    written = {i for i, phone in enumerate(rows.phone) if phone in written_phones} if written_as_read else set()
    _write_cards(job, writer, rows, cards, written, every)
    for indexes in deferred:
        indexes.restore()


class _CardRows:
    """Valid card rows as columns (FIELDS order), with each row's line."""

    FIELDS = ("line", "phone", "name", "email", "note", "last_visit", "punches", "points", "credit", "owed", "digest")

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, [])
        self.last_line = 0  # of the batch, rejected rows included

    def pack(self) -> tuple:
        return self.last_line, [list(getattr(self, name)) for name in self.FIELDS]

    @classmethod
    def unpack(cls, packed: tuple) -> "_CardRows":
        columns = cls()
        columns.last_line, values = packed
        for name, value in zip(cls.FIELDS, values, strict=True):
            setattr(columns, name, value)
        return columns

    def extend(self, other: "_CardRows") -> None:
        for name in self.FIELDS:
            getattr(self, name).extend(getattr(other, name))

    def card(self, i: int) -> _Card:
        return _Card(self.line[i], self.phone[i], self.name[i], self.email[i], self.note[i], self.last_visit[i],
                     self.punches[i], self.points[i], self.credit[i], dict(self.owed[i] or {}), [self.line[i]])


class _CardParser:
    """A batch of cells -> _CardRows of its valid rows; each row's error is its first bad cell in
    the order phone, punches, reward, rewards, e-mail, last visit, points, credit."""

    def __init__(self, job: ImportJob, rule):
        self.job, self.rule = job, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.rewards = Rewards(job.config.rewards)
        self.dates = Dates(job.config.tz, job.options.date_format)
        self.counts = {"": 0, **{str(n): n for n in range(1000)}}
        job.cells.amounts.setdefault("", 0)

    def __call__(self, batch) -> _CardRows:
        job, rule = self.job, self.rule
        (phone_text, names, mails, punches_text, points_text, credit_text, rewards_text, reward_text, last_text,
         notes) = batch.columns
        count = len(batch)
        errors: dict[int, RowError] = {}
        phones = job.cells.phones_of(phone_text, errors)
        punches = job.cells.counts_of(punches_text, "punches", errors, self.counts)
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
        points = job.cells.counts_of(points_text, "points", errors, self.counts)
        credits = job.cells.amounts_of(credit_text, "credit", errors)
        out = _CardRows()
        out.last_line = batch.lines[-1]
        keep = job.rejects.keep_valid(batch, errors)
        pick = list if keep is None else (lambda column: list(map(column.__getitem__, keep)))  # noqa: E731
        out.line, out.phone, out.punches, out.points, out.credit = (
            pick(batch.lines), pick(phones), pick(punches), pick(points), pick(credits))
        out.name, out.note = texts(pick(names)), texts(pick(notes))
        out.email, out.last_visit, out.owed = pick(emails), pick(last_visits), pick(owed)
        # The row's digest as a card on its own (plan_new_customers' case), worked out on the reader's core.
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
        job = self.job
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
            if moments[i] is not None and moments[i] > job.now_db:
                errors[i] = RowError("last_visit", cell.strip(), f"last visit is in the future: {cell.strip()!r}")
        return moments


def _merged(job: ImportJob, rows: _CardRows) -> dict:
    """Rows sharing a phone, merged into one _Card each (or refused, --strict); {} if none."""
    counts = Counter(rows.phone)
    job.summary["merges"] = []
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
        elif job.options.strict:
            refused.append((card.line, phone, earlier.line))
        else:
            earlier.merge(card)
            job.summary["merged"] += 1
            if len(merges) < MAX_LISTED:
                merges.append({"phone": phone, "line": card.line, "into_line": earlier.line})
    job.summary["merges"] = merges
    if refused:  # rare: read those rows again rather than keep every row in memory
        raws = job.rejects.raw_rows({line for line, _phone, _earlier in refused})
        for line, phone, earlier in refused:
            raw = raws.get(line)
            job.rejects.reject(line, raw, "phone", job.rejects.raw_cell(raw, "phone", phone),
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


def _write_cards(job: ImportJob, writer: "_CardWriter", rows: _CardRows, cards: dict, written: set,
                 every: int) -> None:
    """The cards not `written` yet: new customers owed no voucher in bulk; merged rows, existing
    customers, cards imported before and cards that owe vouchers card by card (`plan_card`)."""
    writer.look_up(rows.phone)
    card_by_card = writer.existing.keys() | writer.prior.keys() | cards.keys()
    without_vouchers = [
        i for i, (phone, punches, owed) in enumerate(zip(rows.phone, rows.punches, rows.owed, strict=True))
        if not owed and (not punches or punches < every) and phone not in card_by_card and i not in written]
    writer.plan_new_customers(rows, without_vouchers)
    written = written | set(without_vouchers)
    if len(written) < len(rows.phone):
        for i, phone in enumerate(rows.phone):
            if i not in written and phone not in cards:
                cards[phone] = rows.card(i)
    conflicts = []
    for card in sorted(cards.values(), key=lambda c: c.line):
        conflict = writer.plan_card(card)
        if conflict:
            conflicts.append((card, conflict))
    if conflicts:  # rare: read those rows again rather than keep every row in memory
        raws = job.rejects.raw_rows({line for card, _reason in conflicts for line in card.lines})
        for card, reason in conflicts:
            for line in card.lines:
                job.rejects.reject(line, raws.get(line), "phone", card.phone, reason)
    writer.write()


class _CardWriter:
    """Cards -> rows for customers, ledger, vouchers and import_cards, then bulk SQL."""

    def __init__(self, job: ImportJob, conn, import_id: int, rule):
        self.job, self.conn, self.import_id, self.rule = job, conn, import_id, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.at = clock.to_db(job.now)
        expires = rules.voucher_expires_at(job.config, job.now)
        self.expires = clock.to_db(expires) if expires else None
        self.existing, self.prior, self.looked_up = {}, {}, set()
        # A first import into a new database has no customers to look up (the usual case).
        self.empty = bulk.is_empty(conn, "customers")
        self.next_customer = bulk.last_id(conn, "customers") + 1
        self.next_ledger = bulk.last_id(conn, "ledger") + 1
        self.first_ledger = self.next_ledger
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.punch_json: dict[int, str] = {}  # open punches -> the JSON of a new customer's card

    def look_up(self, phones: list) -> None:
        """The customers, and the cards imported before, for these phones (each looked up once)."""
        wanted = set() if self.empty else set(phones).difference(self.looked_up)
        self.looked_up |= wanted
        for chunk in bulk.chunks(wanted):
            for row in bulk.customers_with_phones(self.conn, chunk):
                self.existing[row["phone"]] = row
            for row in bulk.cards_imported_before(self.conn, self.card_name, chunk):
                self.prior[row["phone"]] = row

    def new_cards(self, rows: _CardRows, start: int, seen: set, every: int) -> tuple[list, list]:
        """The rows from `start` on whose phone is not seen before in the file, not a customer and
        has no card imported before: (those owed no voucher, for plan_new_customers; those owed
        rewards or with a full card, for plan_card)."""
        self.look_up(rows.phone[start:])
        existing, prior = self.existing, self.prior
        without_vouchers, with_vouchers = [], []
        for i in range(start, len(rows.phone)):
            phone = rows.phone[i]
            if phone in seen:
                continue
            seen.add(phone)
            if phone in existing or phone in prior:
                continue
            punches = rows.punches[i]
            (with_vouchers if rows.owed[i] or (punches and punches >= every) else without_vouchers).append(i)
        return without_vouchers, with_vouchers

    def flush(self) -> None:
        """Insert everything planned so far: vouchers with fresh codes, customers new and
        updated, ledger entries, and the import records."""
        conn = self.conn
        code_of = {}
        for voucher, code in zip(self.vouchers, bulk.voucher_codes(conn, len(self.vouchers)), strict=True):
            voucher[0] = code_of[voucher[7]] = code
        ledger = self.ledger  # in id order: a voucher's entry is found by its id
        for ledger_id, code in code_of.items():
            row = ledger[ledger_id - self.first_ledger]
            ledger[ledger_id - self.first_ledger] = (*row[:9], code, *row[10:])
        bulk.insert_customers(conn, self.new_rows)
        bulk.add_to_customers(conn, self.updates)
        bulk.insert_ledger(conn, ledger)
        bulk.insert_vouchers(conn, sorted(self.vouchers))
        self.keys.sort()  # in key order: appended to the B-tree, not scattered through it
        bulk.insert_import_cards(conn, self.keys)
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.first_ledger = self.next_ledger

    def plan_new_customers(self, rows: _CardRows, chosen: list) -> None:
        """plan_card() for these rows, all new customers owed no reward and with no full card, in bulk."""
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
        at, card, source = self.at, self.card_name, self.job.source.name
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
        summary = self.job.summary
        summary["customers_created"] += len(phones)
        summary["rows_imported"] += len(phones)
        summary["punches"] += sum(punches)
        summary["points"] += sum(points)
        summary["credit"] += sum(credits)

    def plan_card(self, card: _Card) -> str | None:
        """Rows for one card; the reason it conflicts with a card imported before, if it does."""
        summary, rule = self.job.summary, self.rule
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
        source = self.job.source.name
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
            self.job.summary["customers_created"] += 1
            return customer_id
        punches = store.punches_of(row)
        if card.punches:
            punches[self.card_name] = punches.get(self.card_name, 0) + open_punches
        last = row["last_visit_at"]
        if card.last_visit and (not last or card.last_visit > last):
            last = card.last_visit
        self.updates.append((card.name, card.email, card.note, card.points, card.credit,
                             json.dumps(punches, sort_keys=True), last, row["id"]))
        self.job.summary["customers_updated"] += 1
        return row["id"]

    def _entry(self, customer_id, kind, points, punches, credit, rule, reason, reward, earned_at) -> int:
        ledger_id, self.next_ledger = self.next_ledger, self.next_ledger + 1
        # The voucher column is filled in by write(), once the codes are drawn.
        self.ledger.append((ledger_id, customer_id, self.at, kind, points, punches, credit, rule, reason, None,
                            reward, earned_at))
        return ledger_id

    def write(self) -> None:
        """flush(), with the tables' indexes rebuilt once after it when it is big."""
        deferred = [DeferredIndexes(self.conn, "customers", len(self.new_rows)),
                    DeferredIndexes(self.conn, "ledger", len(self.ledger)),
                    DeferredIndexes(self.conn, "vouchers", len(self.vouchers))]
        self.flush()
        for indexes in deferred:
            indexes.restore()
