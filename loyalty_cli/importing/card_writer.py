"""Cards -> rows for customers, ledger, vouchers and import_cards, then in with bulk SQL.

Ids are given here (from blocks set aside for the import: bulk.IdBlock), so that a customer's
ledger entries and vouchers can point at it before anything is inserted; `flush` inserts what
is planned, a table at a time.
"""

import json
from itertools import repeat

from loyalty_cli.domain import clock, rules
from loyalty_cli.domain.text import tidy
from loyalty_cli.importing.card_rows import Card, CardRows
from loyalty_cli.importing.job import ImportJob
from loyalty_cli.store import bulk
from loyalty_cli.store import counter as store
from loyalty_cli.store.bulk import DeferredIndexes


class CardWriter:
    """Cards -> rows for customers, ledger, vouchers and import_cards, then bulk SQL."""

    def __init__(self, job: ImportJob, conn, import_id: int, rule, ids: tuple | None = None):
        """`ids`: the (customers, ledger) IdBlocks of a writer whose rows were rolled back, to use again."""
        self.job, self.conn, self.import_id, self.rule = job, conn, import_id, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.at = clock.to_db(job.now)
        expires = rules.voucher_expires_at(job.config, job.now)
        self.expires = clock.to_db(expires) if expires else None
        self.existing, self.prior, self.looked_up = {}, {}, set()
        # A first import into a new database has no customers to look up (the usual case).
        self.empty = bulk.is_empty(conn, "customers")
        if ids is None:  # a card is one new customer at most, and one entry or more (more blocks then)
            ids = (bulk.IdBlock(conn, "customers", job.source.lines), bulk.IdBlock(conn, "ledger", job.source.lines))
        else:
            for block in ids:
                block.restart()
        self.customer_ids, self.ledger_ids = ids
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.renames = []  # (name, customer id): names an earlier import misread, read right
        self.birthdays = []  # (birthday, customer id): for customers of cards imported before
        self.punch_json: dict[int, str] = {}  # open punches -> the JSON of a new customer's card

    def look_up(self, phones: list) -> None:
        """The customers, and the cards imported before, for these phones (each looked up once)."""
        wanted = set() if self.empty else set(phones).difference(self.looked_up)
        self.looked_up |= wanted
        for chunk in bulk.chunks(wanted):
            for row in bulk.customers_with_phones(self.conn, chunk, lock=True):  # balances are added to
                self.existing[row["phone"]] = row
            for row in bulk.cards_imported_before(self.conn, self.card_name, chunk):
                self.prior[row["phone"]] = row

    def new_cards(self, rows: CardRows, start: int, seen: set, every: int) -> tuple[list, list]:
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
        ledger = self.ledger
        if code_of:  # a voucher's entry gets its code
            for i, row in enumerate(ledger):
                code = code_of.get(row[0])
                if code is not None:
                    ledger[i] = (*row[:9], code, *row[10:])
        bulk.insert_customers(conn, self.new_rows)
        bulk.add_to_customers(conn, self.updates)
        bulk.rename_customers(conn, self.renames)
        bulk.file_birthdays(conn, self.birthdays)
        bulk.insert_ledger(conn, ledger)
        bulk.insert_vouchers(conn, sorted(self.vouchers))
        self.keys.sort()  # in key order: appended to the B-tree, not scattered through it
        bulk.insert_import_cards(conn, self.keys)
        self.new_rows, self.updates, self.ledger, self.vouchers, self.keys = [], [], [], [], []
        self.renames, self.birthdays = [], []

    def plan_new_customers(self, rows: CardRows, chosen: list) -> None:
        """plan_card() for these rows, all new customers owed no reward and with no full card, in bulk."""
        if not chosen:
            return
        pick = (lambda column: list(map(column.__getitem__, chosen))) if len(chosen) < len(rows.phone) else list  # noqa: E731
        phones, lines, punches, points, credits = (pick(rows.phone), pick(rows.line), pick(rows.punches),
                                                   pick(rows.points), pick(rows.credit))
        ids = self.customer_ids.take(len(phones))
        ledger_ids = self.ledger_ids
        ledger_ids.room(len(phones))
        for value in set(punches).difference(self.punch_json):
            self.punch_json[value] = json.dumps({self.card_name: value} if value else {})
        at, card, source = self.at, self.card_name, self.job.source.name
        birthdays = pick(rows.birthday)
        self.new_rows += zip(ids, phones, pick(rows.name), pick(rows.email), repeat(at), pick(rows.note), points,
                             credits, map(self.punch_json.__getitem__, punches), pick(rows.last_visit), birthdays)
        for customer_id, line, punch, point, credit in zip(ids, lines, punches, points, credits, strict=True):
            if punch or point or credit:
                self.ledger.append((ledger_ids.next, customer_id, at, "import", point, punch, credit,
                                    card if punch else None, f"imported from paper card ({source}, line {line})",
                                    None, None, at if point > 0 else None))
                ledger_ids.next += 1
        self.keys += zip(phones, repeat(card), ids, repeat(self.import_id), lines,
                         pick(rows.digest))
        summary = self.job.summary
        summary["customers_created"] += len(phones)
        summary["rows_imported"] += len(phones)
        summary["birthdays"] += len(phones) - birthdays.count(None)
        summary["punches"] += sum(punches)
        summary["points"] += sum(points)
        summary["credit"] += sum(credits)

    def plan_card(self, card: Card) -> str | None:
        """Rows for one card; the reason it conflicts with a card imported before, if it does."""
        summary, rule = self.job.summary, self.rule
        digest = card.digest(self.card_name)
        earlier = self.prior.get(card.phone)
        if earlier is not None:
            if earlier["digest"] == digest:
                summary["already_imported"] += len(card.lines)
                self._repair_name(card, earlier["encoding"])
                self._add_birthday(card)
                return None
            return (f"a card with other balances was imported for {card.phone} on {earlier['at'][:10]} "
                    f"({earlier['source']}, line {earlier['line']}); change it at the counter instead")
        full, open_punches = self._completed(card)
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

    def _repair_name(self, card: Card, encoding_then: str | None) -> None:
        """A card imported before from this file read in another encoding ('Szûcs' read as
        cp1252, now 'Szűcs' with --encoding cp1250): the customer's name as read then is
        replaced. Only a name that is exactly the earlier misreading of this one: a name
        changed at the counter since stays as it is."""
        row = self.existing.get(card.phone)
        encoding_now = self.job.source.encoding
        if (row is None or not card.name or not row["name"] or row["name"] == card.name or not encoding_then
                or encoding_then == encoding_now):
            return
        try:  # the file's bytes, as this import read them, read as the earlier import did
            misread = card.name.encode(encoding_now.removesuffix("-sig")).decode(encoding_then)
        except (UnicodeError, LookupError):
            return
        if tidy(misread) == row["name"]:
            self.renames.append((card.name, row["id"]))
            self.job.summary["names_repaired"] += 1

    def _add_birthday(self, card: Card) -> None:
        """A card imported before, now from a file with a birthday column: the birthday is filed
        for a customer who has none (one given at the counter since stays)."""
        row = self.existing.get(card.phone)
        if card.birthday and row is not None and not row["birthday"]:
            self.birthdays.append((card.birthday, row["id"]))
            self.job.summary["birthdays"] += 1

    def _completed(self, card: Card) -> tuple[int, int]:
        """(full cards, open punches) once the card's punches join those the customer holds.

        As at the counter: every `every` punches complete a card and issue its reward, so 8 held
        and 5 imported on a card of 10 is one voucher and 3 open punches, never 13/10.
        """
        rule = self.rule
        if not card.punches or rule is None or not rule.every:
            return 0, card.punches
        row = self.existing.get(card.phone)
        held = store.punches_of(row).get(self.card_name, 0) if row is not None else 0
        return divmod(held + card.punches, rule.every)

    def _customer(self, card: Card, open_punches: int) -> int:
        """The customer's id: a new row with the card's balances, or an update adding them."""
        row = self.existing.get(card.phone)
        if row is None:
            customer_id = self.customer_ids.take(1)[0]
            punches = self.punch_json.get(open_punches)
            if punches is None:
                punches = json.dumps({self.card_name: open_punches} if open_punches else {})
                self.punch_json[open_punches] = punches
            self.new_rows.append((customer_id, card.phone, card.name, card.email, self.at, card.note, card.points,
                                  card.credit, punches, card.last_visit, card.birthday))
            self.job.summary["customers_created"] += 1
            self.job.summary["birthdays"] += card.birthday is not None
            return customer_id
        punches = store.punches_of(row)
        if card.punches:
            punches[self.card_name] = open_punches  # what it held is counted in: see _completed
        last = row["last_visit_at"]
        if card.last_visit and (not last or card.last_visit > last):
            last = card.last_visit
        self.updates.append((card.name, card.email, card.note, card.birthday, card.points, card.credit,
                             json.dumps(punches, sort_keys=True), last, row["id"]))
        self.job.summary["birthdays"] += bool(card.birthday and not row["birthday"])
        self.job.summary["customers_updated"] += 1
        return row["id"]

    def _entry(self, customer_id, kind, points, punches, credit, rule, reason, reward, earned_at) -> int:
        self.ledger_ids.room(1)
        ledger_id = self.ledger_ids.next
        self.ledger_ids.next += 1
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
