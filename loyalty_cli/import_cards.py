"""`loyalty import cards`: paper cards -> customers, 'import' ledger entries and vouchers.

Rows are read and merged by phone first (a cards file is at most a shop's customer list),
then planned against the database (existing customers, cards imported before) and written
with bulk SQL: explicit ids, executemany, indexes rebuilt once for a big file.
"""

import hashlib
import json
from dataclasses import dataclass, field

from . import clock, rules, store
from .errors import BadInput
from .import_run import (MAX_LISTED, PROGRESS_EVERY, Indexes, Options, RowError, Run, chunks, marks,
                         remember_phones, voucher_codes)
from .import_values import CellError, Dates, Rewards, email, text


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
        """What a re-run must find unchanged: the balances carried over (names may be edited)."""
        owed = ",".join(f"{reward}={count}" for reward, count in sorted(self.owed.items())) if self.owed else ""
        content = f"{self.phone}\x1f{card}\x1f{self.punches}\x1f{self.points}\x1f{self.credit}\x1f{owed}"
        return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def import_cards(session, options: Options, progress=None) -> dict:
    run = Run(session, "cards", options, progress)
    rule = _punch_card(run.config, options.card)
    run.summary["card"] = rule.name if rule else None
    rewards = Rewards(run.config.rewards)
    dates = Dates(run.config.tz, options.date_format)
    cards: dict[str, _Card] = {}
    merges = []
    try:
        for line, cells, raw in run.records():
            if line % PROGRESS_EVERY < 1:
                run.tick(line)
            try:
                card = _card(run, cells, line, rule, rewards, dates)
            except RowError as exc:
                run.reject(line, raw, exc.field, exc.value, exc.reason)
                continue
            card.lines = [line]
            earlier = cards.get(card.phone)
            if earlier is None:
                cards[card.phone] = card
            elif options.strict:
                run.reject(line, raw, "phone", cells[0],
                           f"{card.phone} is already on line {earlier.line} (--strict refuses duplicates)")
            else:
                earlier.merge(card)
                run.summary["merged"] += 1
                if len(merges) < MAX_LISTED:
                    merges.append({"phone": card.phone, "line": line, "into_line": earlier.line})
    except BaseException:
        run.source.close()
        raise
    run.tick(run.source.lines)
    run.summary["merges"] = merges
    return run.finish(session.conn, lambda conn, import_id: _write_cards(run, conn, import_id, cards, rule))


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


def _card(run: Run, cells, line, rule, rewards: Rewards, dates: Dates) -> _Card:
    phone_text, name, mail, punches_text, points_text, credit_text, rewards_text, reward_id, last, note = cells
    phone = run.phone_of(phone_text)
    punches = run.count(punches_text, "punches")
    if punches and (rule is None or isinstance(rule, _Ambiguous)):
        why = (f"the config has several punch cards ({rule.names}): choose one with --card" if rule
               else "the config has no punch card to put punches on")
        raise RowError("punches", punches_text, why)
    owed: dict[str, int] = {}
    default_reward = rule.reward if rule is not None else None
    reward_id = reward_id.strip()
    if reward_id:
        try:
            default_reward = rewards.reward_id(reward_id)
        except CellError as exc:
            raise RowError("reward", reward_id, str(exc)) from None
    rewards_text = rewards_text.strip()
    if rewards_text:
        try:
            owed = rewards.parse(rewards_text, default_reward, "rewards")
        except CellError as exc:
            raise RowError("rewards", rewards_text, str(exc)) from None
    elif reward_id:
        owed = {default_reward: 1}
    mail = mail.strip()
    if mail:
        try:
            mail = email(mail)
        except CellError as exc:
            raise RowError("email", mail, str(exc)) from None
    last = last.strip()
    last_visit = None
    if last:
        try:
            last_visit = dates.moment(last)[0]
        except CellError as exc:
            raise RowError("last_visit", last, str(exc)) from None
        if last_visit > run.now_db:
            raise RowError("last_visit", last, f"last visit is in the future: {last!r}")
    return _Card(line, phone, text(name), mail or None, text(note), last_visit, punches,
                 run.count(points_text, "points"), run.amount(credit_text, "credit"), owed)


def _write_cards(run: Run, conn, import_id: int, cards: dict, rule) -> None:
    writer = _CardWriter(run, conn, import_id, cards, rule)
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
    remember_phones(conn, run.phone)


class _CardWriter:
    """Cards -> rows for customers, ledger, vouchers and import_cards, then bulk SQL."""

    def __init__(self, run: Run, conn, import_id: int, cards: dict, rule):
        self.run, self.conn, self.import_id, self.rule = run, conn, import_id, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.at = clock.to_db(run.now)
        expires = rules.voucher_expires_at(run.config, run.now)
        self.expires = clock.to_db(expires) if expires else None
        self.existing, self.prior = {}, {}
        for chunk in chunks(cards):
            for row in conn.execute(f"SELECT * FROM customers WHERE phone IN ({marks(len(chunk))})", chunk):
                self.existing[row["phone"]] = row
            for row in conn.execute(
                    "SELECT c.phone, c.digest, c.line, i.source, i.at FROM import_cards c "
                    "JOIN imports i ON i.id = c.import_id "
                    f"WHERE c.card = ? AND c.phone IN ({marks(len(chunk))})", [self.card_name, *chunk]):
                self.prior[row["phone"]] = row
        self.next_customer = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]
        self.next_ledger = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()[0]
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.punch_json: dict[int, str] = {}  # open punches -> the JSON of a new customer's card

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
        conn = self.conn
        code_of = {}
        for voucher, code in zip(self.vouchers, voucher_codes(conn, len(self.vouchers))):
            voucher[0] = code_of[voucher[7]] = code
        ledger = [(*row[:9], code_of.get(row[0]), *row[10:]) for row in self.ledger]
        # Lookups are done: from here on, indexes are rebuilt once rather than kept up row by row.
        bulk = [Indexes(conn, "customers", len(self.new_rows)), Indexes(conn, "ledger", len(ledger)),
                Indexes(conn, "vouchers", len(self.vouchers))]
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
        for indexes in bulk:
            indexes.restore()
