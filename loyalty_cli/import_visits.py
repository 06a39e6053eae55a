"""`loyalty import visits`: past visits as history, or replayed through the rules.

The file is streamed in batches of BATCH rows: parsed, checked against what is already in
the database, inserted with executemany. A big file is inserted with the visit indexes
dropped and rebuilt once at the end, inside the same transaction.
"""

import hashlib
import json
from datetime import datetime, timezone

from . import clock, rules
from .counter import FUTURE_SLACK
from .import_run import (BATCH, PROGRESS_EVERY, Indexes, Options, RowError, Run, chunks, marks,
                         remember_phones, unique_indexes_on, voucher_codes)
from .import_values import CellError, Dates, text


def import_visits(session, options: Options, progress=None) -> dict:
    run = Run(session, "visits", options, progress)
    run.summary["apply_rules"] = options.apply_rules
    try:
        return run.finish(session.conn, lambda conn, import_id: _write_visits(run, conn))
    finally:
        run.source.close()


class _Customers:
    """phone -> customer id, created on first sight; their cached figures once the visits are in."""

    def __init__(self, run: Run, conn):
        self.run, self.conn = run, conn
        self.ids: dict[str, int] = {}  # every customer given a visit by this import
        self.unnamed: set[int] = set()  # existing customers without a name: the file may give one
        self.names: dict[int, str] = {}
        self.first_new = self.next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]

    def resolve(self, rows) -> None:
        """Give every row's phone an id: look the new ones up, create those still missing."""
        wanted = {row[1] for row in rows} - self.ids.keys()
        for chunk in chunks(wanted):
            for found in self.conn.execute(
                    f"SELECT id, phone, name FROM customers WHERE phone IN ({marks(len(chunk))})", chunk):
                self.ids[found[1]] = found[0]
                if found[2] is None:
                    self.unnamed.add(found[0])
        fresh = []
        for row in rows:
            phone = row[1]
            if phone not in self.ids:
                self.ids[phone] = self.next_id
                fresh.append((self.next_id, phone, row[8], row[2]))
                self.next_id += 1
            elif self.unnamed and row[8]:
                customer_id = self.ids[phone]
                if customer_id in self.unnamed:
                    self.names.setdefault(customer_id, row[8])
        if fresh:
            self.conn.executemany("INSERT INTO customers (id, phone, name, enrolled_at) VALUES (?, ?, ?, ?)", fresh)
            self.run.summary["customers_created"] += len(fresh)

    def save(self, before: int) -> None:
        """The cached visits/spend/last visit, summed by SQLite over the visits just added;
        customers this import created are enrolled at their first visit."""
        # Only last_visit_at's index changes here: rebuilt once when many customers are touched.
        indexes = Indexes(self.conn, "customers", len(self.ids),
                          keep=unique_indexes_on(self.conn, "customers", "phone"))
        self.conn.execute(
            "UPDATE customers SET visits = customers.visits + t.n, spend = customers.spend + t.s, "
            "last_visit_at = MAX(COALESCE(customers.last_visit_at, ''), t.last), "
            "enrolled_at = CASE WHEN customers.id >= ? THEN MIN(customers.enrolled_at, t.first) "
            "ELSE customers.enrolled_at END "
            "FROM (SELECT customer_id, COUNT(*) AS n, SUM(amount) AS s, MIN(at) AS first, MAX(at) AS last "
            "FROM visits WHERE id > ? GROUP BY customer_id) AS t WHERE customers.id = t.customer_id",
            (self.first_new, before))
        self.conn.executemany("UPDATE customers SET name = ? WHERE id = ? AND name IS NULL",
                              ((name, cid) for cid, name in self.names.items()))
        indexes.restore()
        self.run.summary["customers_updated"] = len(self.ids) - (self.next_id - self.first_new)


def _write_visits(run: Run, conn) -> None:
    options = run.options
    dates = Dates(run.config.tz, options.date_format)
    writer = _VisitWriter(run, conn)
    now = clock.to_db(run.now + FUTURE_SLACK)
    seen = _SeenKeys()  # digest prefix -> identical rows so far in this file

    for batch, line in _parsed_batches(run, _visit_parser(run, dates, now, seen)):
        writer.add(batch)
        run.tick(line, "importing visits")
    if run.problems and not options.skip_invalid:
        return  # rolled back: nothing more worth doing
    if writer.indexes is not None and writer.indexes.dropped:
        run.progress("indexing", 0, 1)
        writer.indexes.restore()
        run.progress("indexing", 1, 1)
    writer.customers.save(writer.before)
    remember_phones(conn, run.phone)
    if options.apply_rules:
        _replay(run, conn, writer.before)


class _SeenKeys:
    """How many times each 64-bit row digest has come up in this file, in 8 bytes a row.

    A dict of a million ints takes ~90 MB; this open-addressing table of unsigned 64-bit
    slots takes 16-32 MB. Repeats (identical rows) are rare and counted in a small dict.
    """

    def __init__(self, size: int = 1 << 16):
        from array import array

        self._array = array
        self.slots = array("Q", bytes(8 * size))
        self.mask, self.used = size - 1, 0
        self.repeats: dict[int, int] = {}

    def count(self, key: int) -> int:
        """Times `key` was seen before this call (and remember this one)."""
        key |= 1  # 0 marks an empty slot
        slots, mask = self.slots, self.mask
        i = key & mask
        while True:
            found = slots[i]
            if found == key:
                seen = self.repeats.get(key, 1)
                self.repeats[key] = seen + 1
                return seen
            if not found:
                break
            i = (i + 1) & mask
        slots[i] = key
        self.used += 1
        if self.used * 2 > len(slots):
            self._grow()
        return 0

    def _grow(self) -> None:
        old = self.slots
        size = len(old) * 2
        self.slots, self.mask = self._array("Q", bytes(8 * size)), size - 1
        slots, mask = self.slots, self.mask
        for key in old:
            if key:
                i = key & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = key


def _parsed_batches(run: Run, parse):
    """(parsed rows, last line) in batches of BATCH; rows that do not parse are rejected.

    (A parser thread was tried: SQLite lets go of the GIL while it works, but getting it back
    from a busy parser thread costs more than the overlap saves.)
    """
    batch = []
    for line, cells, raw in run.records():
        try:
            batch.append(parse(cells, line, raw))
        except RowError as exc:
            run.reject(line, raw, exc.field, exc.value, exc.reason)
        if len(batch) >= BATCH:
            yield batch, line
            batch = []
    yield batch, run.source.lines


def _visit_parser(run: Run, dates: Dates, now: str, seen: "_SeenKeys"):
    """parse(cells, line, raw) -> the row as inserted (plus line, key and raw), or RowError.

    It runs once per row of files a million rows long, so the caches' lookups are bound to
    local names and the general (slower, error-wording) paths are taken only on a miss.
    """
    phones, amounts, moment = run.phone.cache, run.amounts, dates.moment
    blake2b, from_bytes, count_seen, strict = hashlib.blake2b, int.from_bytes, seen.count, run.options.strict

    def parse(cells, line, raw):
        phone_text, name, date_text, time_text, amount_text, items_text, note, ref = cells
        phone = phones.get(phone_text)
        if type(phone) is not str:
            phone = run.phone_of(phone_text)
        try:
            at, day = moment(date_text, time_text or None)
        except CellError as exc:
            if time_text and str(exc).startswith("not a time of day"):
                raise RowError("time", time_text, str(exc)) from None
            raise RowError("date", date_text, str(exc)) from None
        if at > now:
            raise RowError("date", date_text, f"visit is in the future: {date_text.strip()!r}")
        amount = amounts.get(amount_text) if amount_text else 0
        if amount is None:
            amount = run.amount(amount_text, "amount")
        items = int(items_text) if items_text.isdecimal() else run.count(items_text, "items", default=1)
        note = (" ".join(note.split()) or None) if note else None
        ref = (" ".join(ref.split()) or None) if ref else None
        key = blake2b(f"{phone}\x1f{at}\x1f{amount}\x1f{items}\x1f{note or ''}\x1f{ref or ''}".encode(),
                      digest_size=16).digest()
        repeat = count_seen(from_bytes(key[:8], "big"))
        if repeat:
            if strict:
                raise RowError(None, None, "the same visit as an earlier row (--strict refuses duplicates)")
            key = blake2b(key + repeat.to_bytes(4, "big"), digest_size=16).digest()
        return (line, phone, at, day, amount, items, note, ref, text(name), key, raw)

    return parse


class _VisitWriter:
    """Batches of parsed visit rows -> already imported, rejected, or inserted."""

    def __init__(self, run: Run, conn):
        self.run, self.conn = run, conn
        self.customers = _Customers(run, conn)
        self.before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM visits").fetchone()[0]
        # With no visit imported before, nothing in the file can be 'already imported' by key.
        self.prior_keys = conn.execute("SELECT EXISTS (SELECT 1 FROM visits WHERE import_key IS NOT NULL)").fetchone()[0]
        self.indexes = None

    def _bulk(self) -> None:
        """Decided at the first insert, once the header says whether receipts (refs) come."""
        keep = set()
        if self.prior_keys:
            keep |= unique_indexes_on(self.conn, "visits", "import_key")
        if "ref" in self.run.header_of:
            keep |= unique_indexes_on(self.conn, "visits", "ref")
        self.indexes = Indexes(self.conn, "visits", self.run.source.lines, keep)

    def _new_rows(self, batch: list, done: set, refs: dict) -> list:
        """The rows not imported before, nor recorded at the counter under the same receipt."""
        run, summary = self.run, self.run.summary
        fresh, batch_refs = [], set()
        for row in batch:
            if row[9] in done:
                summary["already_imported"] += 1
                continue
            ref = row[7]
            if ref:
                if ref in refs and refs[ref] <= self.before:
                    summary["already_imported"] += 1  # recorded at the counter, or by an earlier import
                    continue
                if ref in refs or ref in batch_refs:
                    run.reject(row[0], row[10], "ref", ref,
                               f"receipt {ref!r} appears on an earlier row of this file with a different visit")
                    continue
                batch_refs.add(ref)
            fresh.append(row)
        return fresh

    def add(self, batch: list) -> None:
        run, conn, summary = self.run, self.conn, self.run.summary
        done = set()
        if self.prior_keys:
            for chunk in chunks(sorted(row[9] for row in batch)):  # in index order: fewer pages read
                done.update(r[0] for r in conn.execute(
                    f"SELECT import_key FROM visits WHERE import_key IN ({marks(len(chunk))})", chunk))
        refs = {}
        wanted_refs = [row[7] for row in batch if row[7]]
        for chunk in chunks(wanted_refs):
            refs.update((r[0], r[1]) for r in conn.execute(
                f"SELECT ref, id FROM visits WHERE ref IN ({marks(len(chunk))})", chunk))
        # The usual first import has neither imported keys nor receipts: every row is new.
        fresh = self._new_rows(batch, done, refs) if done or wanted_refs else batch
        if run.problems and not run.options.skip_invalid:
            return  # validating only: this run will be rolled back
        if self.indexes is None:
            self._bulk()
        customers = self.customers
        customers.resolve(fresh)
        ids = customers.ids
        conn.executemany(
            "INSERT INTO visits (customer_id, at, local_day, amount, items, note, ref, source, import_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'import', ?)",
            [(ids[row[1]], row[2], row[3], row[4], row[5], row[6], row[7], row[9]) for row in fresh])
        summary["visits_added"] += len(fresh)
        summary["rows_imported"] += len(fresh)


def _replay(run: Run, conn, before: int) -> None:
    """--apply-rules: the visits just added, in time order, through the engine.

    Each visit gets exactly the entries `loyalty visit --at` would have written at its time
    (tests/test_import.py compares the two), but balances are kept in memory and entries and
    vouchers go in with bulk SQL, not three statements a visit.
    """
    _Replay(run, conn, before).replay()


class _Replay:
    # store.state's tier window, for a visit already in the table: the 365 days up to its time,
    # counting visits recorded before it (same time, smaller id) but not itself or later ones.
    WINDOW = ("SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM visits WHERE customer_id = ? AND at > ? "
              "AND (at < ? OR (at = ? AND id < ?)) AND voided_at IS NULL")
    FLUSH = 20_000  # ledger rows held before they are written
    IN_MEMORY = 200_000  # up to this many visits are read at once; more are read in slices
    SLICE = 50_000

    def __init__(self, run: Run, conn, before: int):
        self.job, self.conn, self.before = run, conn, before
        self.config = run.config
        self.balances: dict[int, list] = {}  # customer id -> [points, credit, punches]
        self.ledger, self.vouchers = [], []
        self.next_ledger = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()[0]

    def replay(self) -> None:
        config, conn = self.config, self.conn
        total = conn.execute("SELECT COUNT(*) FROM visits WHERE id > ?", (self.before,)).fetchone()[0]
        indexes = [Indexes(conn, "ledger", total * 2), Indexes(conn, "vouchers", total // 10)]
        tiers = bool(config.tiers)  # without tiers the engine never looks at the year's figures
        window = clock.days(365)
        visits = conn.execute("SELECT id, customer_id, at, amount, items FROM visits WHERE id > ? ORDER BY at, id",
                              (self.before,)).fetchall() if total <= self.IN_MEMORY else None
        rows = visits if visits is not None else self._stream()
        utc = timezone.utc
        for done, (visit_id, customer_id, when, amount, items) in enumerate(rows, start=1):
            naive = datetime.fromisoformat(when[:-1])  # clock.from_db, without strptime's cost
            at = naive.replace(tzinfo=utc)
            balance = self._balance(customer_id)
            spend = count = 0
            if tiers:
                since = (naive - window).isoformat(timespec="microseconds") + "Z"  # clock.to_db
                spend, count = conn.execute(self.WINDOW, (customer_id, since, when, when, visit_id)).fetchone()
            state = rules.State(points=balance[0], credit=balance[1], punches=balance[2],
                                year_spend=spend, year_visits=count)
            entries = rules.apply_visit(config, state, rules.Visit(at, amount, items)).entries
            if entries:
                self._record(customer_id, visit_id, at, when, entries, balance)
            if len(self.ledger) >= self.FLUSH:
                self._flush()
            if done % PROGRESS_EVERY == 0:
                self.job.progress("applying rules", done, total)
        self._flush()
        conn.executemany("UPDATE customers SET points = ?, credit = ?, punches = ? WHERE id = ?",
                         ((p, c, json.dumps(n, sort_keys=True), cid) for cid, (p, c, n) in self.balances.items()))
        for bulk in indexes:
            bulk.restore()
        self.job.progress("applying rules", total, total)

    def _stream(self):
        """Many visits in time order without holding them all: slices, each after the last one read."""
        last = ("", 0)
        while True:
            chunk = self.conn.execute(
                "SELECT id, customer_id, at, amount, items FROM visits WHERE id > ? AND (at > ? OR (at = ? AND id > ?)) "
                "ORDER BY at, id LIMIT ?", (self.before, last[0], last[0], last[1], self.SLICE)).fetchall()
            if not chunk:
                return
            yield from chunk
            last = (chunk[-1][2], chunk[-1][0])

    def _balance(self, customer_id: int) -> list:
        balance = self.balances.get(customer_id)
        if balance is None:
            row = self.conn.execute("SELECT points, credit, punches FROM customers WHERE id = ?",
                                    (customer_id,)).fetchone()
            balance = self.balances[customer_id] = [row[0], row[1], json.loads(row[2]) if row[2] else {}]
        return balance

    def _record(self, customer_id, visit_id, at, when, entries, balance) -> None:
        """store.write_entries, into memory."""
        summary = self.job.summary
        expires = None
        for entry in entries:
            ledger_id, self.next_ledger = self.next_ledger, self.next_ledger + 1
            lot = when if entry.earned and entry.points > 0 else None
            code = entry.voucher
            if entry.kind == "reward" and entry.reward:
                if expires is None:  # as at the counter: a back-dated reward lasts from today
                    expiry = rules.voucher_expires_at(self.config, at)
                    expires = clock.to_db(expiry) if expiry else ""
                self.vouchers.append([None, customer_id, entry.reward, entry.rule, "issued", when, expires or None,
                                      visit_id, ledger_id])
                code = len(self.vouchers) - 1  # replaced by the code when flushed
                summary["vouchers_issued"] += 1
            self.ledger.append([ledger_id, customer_id, when, entry.kind, entry.points, entry.punches, entry.credit,
                                entry.rule, entry.reason, visit_id, code, entry.reward, lot])
            if entry.punches:
                balance[2][entry.rule] = balance[2].get(entry.rule, 0) + entry.punches
            balance[0] += entry.points
            balance[1] += entry.credit
            if entry.kind == "punch":
                summary["punches"] += entry.punches
            if entry.points > 0:
                summary["points"] += entry.points
            if entry.credit > 0:
                summary["credit"] += entry.credit

    def _flush(self) -> None:
        codes = voucher_codes(self.conn, len(self.vouchers))
        for voucher, code in zip(self.vouchers, codes):
            voucher[0] = code
        for line in self.ledger:
            if line[3] == "reward" and isinstance(line[10], int):
                line[10] = codes[line[10]]
        self.conn.executemany(
            "INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, reason, visit_id, voucher, "
            "reward, earned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.ledger)
        self.conn.executemany(
            "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, visit_id, ledger_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.vouchers)
        self.ledger, self.vouchers = [], []
