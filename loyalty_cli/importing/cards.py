"""`loyalty import cards`: paper cards -> customers, 'import' ledger entries and vouchers.

Rows are read and merged by phone first (a cards file is at most a shop's customer list),
then planned against the database (existing customers, cards imported before) and written
with bulk SQL (card_writer.py): explicit ids, executemany, indexes rebuilt once for a big file.
"""

from collections import Counter
from itertools import repeat

from loyalty_cli.domain import text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.birthdays import Birthdays
from loyalty_cli.importing.card_consents import consent_cells, write_consents
from loyalty_cli.importing.card_rows import Card, CardRows, card_digest
from loyalty_cli.importing.card_writer import CardWriter
from loyalty_cli.importing.cells import above, shortened
from loyalty_cli.importing.job import ImportJob
from loyalty_cli.importing.options import Options, RowError
from loyalty_cli.importing.reader import parsed_batches
from loyalty_cli.importing.summary import MAX_LISTED
from loyalty_cli.importing.transaction import import_in_one_transaction
from loyalty_cli.importing.values import CellError, Dates, Rewards, email
from loyalty_cli.store.bulk import DeferredIndexes
from loyalty_cli.store.db import savepoint, unique_indexes_on


def import_cards(session, options: Options, progress=None) -> dict:
    job = ImportJob(session, "cards", options, progress)
    rule = _punch_card(job.config, options.card)
    job.summary["card"] = rule.name if rule else None
    return import_in_one_transaction(job, session.writable_conn,
                                     lambda conn, import_id: _import(job, conn, import_id, rule))


# What one row of a cards file may carry: a paper card holds `every` punches, and an old till's
# count may include full cards not yet swapped for their reward, but not a hundred of them.
# Far beyond any real customer, far below a runaway number that would issue a million vouchers.
PUNCH_CARDS_MAX = 100  # punches at most this many full cards' worth (1,000 on a card of 10)
REWARDS_OWED_MAX = 100  # rewards owed on one row

PLANNING = ("customers_created", "customers_updated", "rows_imported", "already_imported", "punches", "points",
            "credit", "vouchers_issued", "names_repaired", "birthdays")  # the summary's figures that writing cards sets


def _import(job: ImportJob, conn, import_id: int, rule) -> None:
    """Read, parse and write the cards; those of new customers are written as they are read.

    A big file is parsed by a reader process (reader.py), and meanwhile this one writes each
    batch's cards for phones that are not customers yet, have no card imported before and were
    not seen before in the file. Duplicates are only known at the end: if one is to be merged
    into a card already written, everything written is rolled back to the savepoint and the
    file's cards are written as merged, as if none had been written as they were read.
    """
    every = rule.every if rule is not None and not isinstance(rule, _Ambiguous) and rule.every else 0
    rows = CardRows()
    writer = CardWriter(job, conn, import_id, rule)
    # Lookups by phone need its index, unless the database has no customer to look up.
    keep = set() if writer.empty else unique_indexes_on(conn, "customers", "phone")
    deferred = [DeferredIndexes(conn, "customers", job.source.lines, keep),
                DeferredIndexes(conn, "ledger", job.source.lines), DeferredIndexes(conn, "vouchers", job.source.lines)]
    with savepoint(conn, "cards_as_read") as roll_back_cards:
        planned = {key: job.summary[key] for key in PLANNING}
        written_as_read, seen = [], set()  # row indexes; phones
        for parsed in parsed_batches(job, _CardParser(job, rule), CardRows.pack, CardRows.unpack):
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
            writer = CardWriter(job, conn, import_id, rule, (writer.customer_ids, writer.ledger_ids))
            written_as_read = []
    written_phones = {rows.phone[i] for i in written_as_read}
    for phone in written_phones.intersection(cards):
        del cards[phone]  # --strict refused its later rows; its first is written already
    written = {i for i, phone in enumerate(rows.phone) if phone in written_phones} if written_as_read else set()
    _write_cards(job, writer, rows, cards, written, every)
    for indexes in deferred:
        indexes.restore()
    write_consents(job, conn, rows)


class _CardParser:
    """A batch of cells -> CardRows of its valid rows; each row's error is its first bad cell in
    the order phone, punches, reward, rewards, e-mail, last visit, points, credit, name, note, birthday."""

    def __init__(self, job: ImportJob, rule):
        self.job, self.rule = job, rule
        self.card_name = rule.name if rule is not None and rule.name else ""
        self.rewards = Rewards(job.config.rewards)
        self.dates = Dates(job.config.tz, job.options.date_format)
        self.birthdays = Birthdays(job.options.date_format, job.now.astimezone(job.config.tz).date())
        self.counts = {"": 0, **{str(n): n for n in range(1000)}}
        job.cells.amounts.setdefault("", 0)

    def __call__(self, batch) -> CardRows:
        job = self.job
        (phone_text, names, mails, punches_text, points_text, credit_text, rewards_text, reward_text, last_text,
         notes, birthday_text, marketing_text) = batch.columns
        count = len(batch)
        errors: dict[int, RowError] = {}
        phones = job.cells.phones_of(phone_text, errors)
        punches = self._punches(punches_text, errors)
        owed = (self._owed(reward_text, rewards_text, errors) if any(reward_text) or any(rewards_text)
                else [None] * count)
        emails = self._emails(mails, errors) if any(mails) else [None] * count
        last_visits = self._last_visits(last_text, errors) if any(last_text) else [None] * count
        points = job.cells.counts_of(points_text, "points", errors, self.counts)
        credits = job.cells.amounts_of(credit_text, "credit", errors)
        names = job.cells.texts_of(names, "name", text.NAME_MAX, errors)
        notes = job.cells.texts_of(notes, "note", text.NOTE_MAX, errors)
        birthdays = self.birthdays.column(birthday_text, errors) if any(birthday_text) else [None] * count
        marketing = consent_cells(marketing_text, errors) if any(marketing_text) else [None] * count
        out = CardRows()
        out.last_line = batch.lines[-1]
        keep = job.rejects.keep_valid(batch, errors)
        pick = list if keep is None else (lambda column: list(map(column.__getitem__, keep)))  # noqa: E731
        out.line, out.phone, out.punches, out.points, out.credit = (
            pick(batch.lines), pick(phones), pick(punches), pick(points), pick(credits))
        out.name, out.note = pick(names), pick(notes)
        out.email, out.last_visit, out.owed, out.birthday = pick(emails), pick(last_visits), pick(owed), pick(birthdays)
        out.marketing = pick(marketing)
        # The row's digest as a card on its own (plan_new_customers' case), worked out on the reader's core.
        out.digest = list(map(card_digest, out.phone, repeat(self.card_name), out.punches, out.points, out.credit))
        return out

    def _punches(self, cells: list, errors: dict) -> list:
        """Open punches, at most PUNCH_CARDS_MAX cards' worth; none without one punch card to hold them."""
        rule = self.rule
        punches = self.job.cells.counts_of(cells, "punches", errors, self.counts)
        if rule is None or isinstance(rule, _Ambiguous):
            why = (f"the config has several punch cards ({rule.names}): choose one with --card" if rule
                   else "the config has no punch card to put punches on")
            for i, value in enumerate(punches):
                if value and i not in errors:
                    errors[i] = RowError("punches", cells[i], why)
        elif rule.every:
            limit = PUNCH_CARDS_MAX * rule.every
            for i in above(punches, limit, errors):
                errors[i] = RowError("punches", cells[i], f"punches {punches[i]} is more than {PUNCH_CARDS_MAX} full "
                                     f"cards of {rule.every} ({limit}): a typo? (the rest can go on as rewards owed)")
        return punches

    @staticmethod
    def _emails(cells: list, errors: dict) -> list:
        """E-mail addresses by the counter's rule (domain/text.email_problem); few rows have one."""
        emails = [None] * len(cells)
        for i, mail in enumerate(cells):
            if mail and i not in errors:
                try:
                    emails[i] = email(mail) if mail.strip() else None
                except CellError as exc:
                    errors[i] = RowError("email", shortened(mail.strip()), str(exc))
        return emails

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
                errors[i] = RowError("rewards", shortened(listed), str(exc))
                continue
            if sum(owed[i].values()) > REWARDS_OWED_MAX:
                errors[i] = RowError("rewards", shortened(listed), f"more than {REWARDS_OWED_MAX} rewards owed on one "
                                     f"card: {listed!r} (a typo?)")
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


def _merged(job: ImportJob, rows: CardRows) -> dict:
    """Rows sharing a phone, merged into one Card each (or refused, --strict); {} if none."""
    counts = Counter(rows.phone)
    job.summary["merges"] = []
    if len(counts) == len(rows.phone):
        return {}
    shared = {phone for phone, count in counts.items() if count > 1}
    cards: dict[str, Card] = {}
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
        raise BadInput(Phrase("--card: no punch card called {wanted} (punch cards: {names})", wanted=repr(wanted),
                              names=names))
    return cards[0] if len(cards) == 1 else None if not cards else _Ambiguous(cards)


class _Ambiguous:
    """Several punch cards and no --card: fine until a row has punches."""

    def __init__(self, cards):
        self.name, self.reward, self.every = None, None, None
        self.names = ", ".join(repr(r.name) for r in cards)


def _write_cards(job: ImportJob, writer: "CardWriter", rows: CardRows, cards: dict, written: set,
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
