"""`loyalty import visits`: past visits as history, or replayed through the rules.

The file is read in batches of columns (`ImportJob.batches`). Each column is parsed with
caches (`map(cache.get, column)`: a million visits hold few distinct days, times and amounts,
and each customer's number in a few spellings), so the Python cost is per distinct value, not
per row; a cell not in its cache is read the long way, which fills the cache or says what is
wrong. Rows go in with executemany; a big file is inserted with the visit indexes dropped and
rebuilt once at the end, inside the same transaction.

A visit from a file is identified by what it says: customer, time, amount, items, note and
receipt, and how many identical rows came before it in its file. A re-run finds those among
the visits imported before it and adds none of them again.
"""

from collections import Counter
from itertools import compress

from loyalty_cli.domain import clock, locale_format, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.importing.cells import COUNTS_CACHE, above, not_cached, shortened
from loyalty_cli.importing.job import ImportJob
from loyalty_cli.importing.options import Options, RowError
from loyalty_cli.importing.reader import parsed_batches
from loyalty_cli.importing.replay import Replay
from loyalty_cli.importing.rows import Batch
from loyalty_cli.importing.transaction import import_in_one_transaction
from loyalty_cli.importing.values import CellError, Dates, TimeError
from loyalty_cli.services.inputs import FUTURE_SLACK, MAX_ITEMS, visit_category
from loyalty_cli.store import bulk
from loyalty_cli.store.bulk import DeferredIndexes
from loyalty_cli.store.db import indexes_led_by, unique_indexes_on


def import_visits(session, options: Options, progress=None) -> dict:
    job = ImportJob(session, "visits", options, progress)
    job.summary["apply_rules"] = options.apply_rules
    try:
        return import_in_one_transaction(job, session.writable_conn,
                                         lambda conn, import_id: _write_visits(job, conn, import_id))
    finally:
        job.source.close()


class _Customers:
    """Phones -> customer ids, new customers created with their first visit; the customers'
    cached figures once the visits are in."""

    LOAD_ALL = 250_000  # up to this many customers, every phone is read at once, not batch by batch

    def __init__(self, job: ImportJob, conn):
        self.job, self.conn = job, conn
        self.ids: dict[str, int] = {}  # E.164 -> id
        self.unnamed: set[int] = set()  # existing customers without a name: the file may give one
        self.names: dict[int, str] = {}
        self.unsaved: dict[int, str] = {}  # id -> phone of a new customer not inserted yet
        # Ids for as many new customers as the file has lines: each is one of the import's rows.
        self.new_ids = bulk.IdBlock(conn, "customers", job.source.lines)
        self.all_loaded = bulk.row_count(conn, "customers") <= self.LOAD_ALL
        if self.all_loaded:
            self._remember(bulk.customer_phones(conn))

    def ids_of(self, phones: list) -> list:
        """Each phone's customer id; a phone not yet a customer gets the next id (inserted by
        create() once one of its visits is)."""
        ids = self.ids
        found = list(map(ids.get, phones))
        if None not in found:
            return found
        missing = set(phones).difference(ids)
        if not self.all_loaded:
            self._lookup(missing)
        new = sorted(missing.difference(ids))
        for phone, customer_id in zip(new, self.new_ids.take(len(new)), strict=True):
            ids[phone] = customer_id
            self.unsaved[customer_id] = phone
        return list(map(ids.__getitem__, phones))

    def _lookup(self, phones: set) -> None:
        for chunk in bulk.chunks(phones):
            self._remember(bulk.customer_phones(self.conn, chunk))

    def _remember(self, rows) -> None:
        for customer_id, phone, unnamed in rows:
            self.ids[phone] = customer_id
            if unnamed:
                self.unnamed.add(customer_id)

    def create(self, customer_ids: list, names: list, ats: list) -> None:
        """Insert the new customers among these rows' (their first row gives name and time)."""
        if not self.unsaved:
            return
        new = self.unsaved.keys() & set(customer_ids)
        if new:
            first = dict(zip(reversed(customer_ids), range(len(customer_ids) - 1, -1, -1), strict=True))
            rows = [(cid, self.unsaved.pop(cid), names[first[cid]], ats[first[cid]]) for cid in sorted(new)]
            bulk.insert_new_customers(self.conn, rows)
            self.job.summary["customers_created"] += len(rows)

    def name(self, customer_ids: list, names: list) -> None:
        """Existing customers without a name take the first one the file gives them."""
        if self.unnamed:
            for customer_id, name in zip(customer_ids, names, strict=True):
                if customer_id in self.unnamed and name:
                    self.names.setdefault(customer_id, name)

    def save(self, visit_ids: tuple) -> None:
        """The cached visits/spend/last visit, summed by SQL over the visits just added (ids in
        `visit_ids`, first and last);
        customers this import created are enrolled at their first visit."""
        # Only last_visit_at's index changes here: rebuilt once when many customers are touched.
        indexes = DeferredIndexes(self.conn, "customers", len(self.ids),
                                  keep=unique_indexes_on(self.conn, "customers", "phone"))
        updated = bulk.add_visit_totals(self.conn, self.new_ids.span, visit_ids)
        bulk.name_customers(self.conn, ((name, cid) for cid, name in self.names.items()))
        indexes.restore()
        self.job.summary["customers_updated"] = updated - self.job.summary["customers_created"]


def _write_visits(job: ImportJob, conn, import_id: int) -> None:
    options = job.options
    writer = _VisitWriter(job, conn, import_id)
    for rows in parsed_batches(job, _VisitParser(job), _Parsed.pack, _Parsed.unpack):
        writer.add(rows)
        job.progress_at(rows.last_line, "importing visits")
    if job.rejects.problems and not options.skip_invalid:
        return  # rolled back: nothing more worth doing
    if writer.indexes is not None and writer.indexes.dropped:
        job.progress("indexing", 0, 1)
        writer.indexes.restore()
        job.progress("indexing", 1, 1)
    writer.customers.save(writer.ids.span)
    if options.apply_rules:
        Replay(job, conn, writer.ids.span).replay()


class _SeenKeys:
    """How many times each 64-bit row key has come up in this file, in 8 bytes a row.

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
        key = (key | 1) & 0xFFFF_FFFF_FFFF_FFFF  # 0 marks an empty slot; Python's hash() may be negative
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


class _Parsed:
    """The valid rows of a batch, as columns ready for SQL: phones, names, ats, days, amounts,
    items, notes, refs, categories; `lines` and `raw(i)` (None when the rows came from the reader process)."""

    COLUMNS = ("phones", "names", "ats", "days", "amounts", "items", "notes", "refs", "categories")

    def __init__(self, lines, last_line: int, raw, columns: dict):
        self.lines, self.last_line, self.raw = lines, last_line, raw
        self.__dict__.update(columns)

    @classmethod
    def of(cls, batch: Batch, keep: list | None, columns: dict) -> "_Parsed":
        if keep is None:
            return cls(batch.lines, batch.lines[-1], batch.raw, columns)
        pick = lambda column: list(map(column.__getitem__, keep))  # noqa: E731
        return cls(pick(batch.lines), batch.lines[-1], lambda i: batch.raw(keep[i]),
                   {k: pick(v) for k, v in columns.items()})

    def pack(self) -> tuple:
        """For the pipe from the reader process (raw rows stay there: --rejects reads them again)."""
        return list(self.lines), self.last_line, [getattr(self, name) for name in self.COLUMNS]

    @classmethod
    def unpack(cls, packed: tuple) -> "_Parsed":
        lines, last_line, columns = packed
        return cls(lines, last_line, lambda i: None, dict(zip(cls.COLUMNS, columns, strict=True)))

    def __len__(self) -> int:
        return len(self.phones)


class _VisitParser:
    """batch -> _Parsed: every column through its cache; a cell not in it is read on its own.

    A row's error is its first bad cell in the order phone, date and time, amount, items, name,
    note, ref, category.
    """

    def __init__(self, job: ImportJob):
        self.job = job
        self.dates = Dates(job.config.tz, job.options.date_format)
        self.items = {"": 1}
        job.cells.amounts.setdefault("", 0)
        self.now = clock.to_db(job.now + FUTURE_SLACK)
        self.categories: dict[str, object] = {"": None}  # cell -> category, or the RowError it is

    def __call__(self, batch: Batch) -> _Parsed:
        job = self.job
        (phone_text, names, date_text, time_text, amount_text, items_text, note_text, ref_text,
         category_text) = batch.columns
        errors: dict[int, RowError] = {}
        phones = job.cells.phones_of(phone_text, errors)
        ats, days = self._moments(date_text, time_text, errors)
        amounts = self._amounts(amount_text, errors)
        items = job.cells.counts_of(items_text, "items", errors, self.items, default=1)
        for i in above(items, MAX_ITEMS, errors):
            errors[i] = RowError("items", items_text[i], f"items is too large: {items[i]} (at most {MAX_ITEMS:,})")
        names = job.cells.texts_of(names, "name", text.NAME_MAX, errors)
        notes = job.cells.texts_of(note_text, "note", text.NOTE_MAX, errors)
        refs = job.cells.texts_of(ref_text, "ref", text.REF_MAX, errors)
        categories = self._categories(category_text, errors)
        keep = job.rejects.keep_valid(batch, errors)
        return _Parsed.of(batch, keep, {"phones": phones, "names": names, "ats": ats, "days": days,
                                     "amounts": amounts, "items": items, "notes": notes, "refs": refs,
                                     "categories": categories})

    def _categories(self, cells: list, errors: dict) -> list:
        """Categories as the counter's --category stores them (services.inputs.visit_category):
        tidied, lower-cased, one of [shop] categories when the shop lists them. A file holds few
        distinct ones: each is read once."""
        cache = self.categories
        if len(cache) > COUNTS_CACHE:
            cache.clear()
            cache[""] = None
        for cell in set(cells).difference(cache):
            try:
                cache[cell] = visit_category(self.job.config, cell, "category")
            except BadInput as exc:
                cache[cell] = RowError("category", shortened(cell.strip()), str(exc))
        categories = list(map(cache.__getitem__, cells))
        for i, category in enumerate(categories):
            if isinstance(category, RowError):
                errors.setdefault(i, category)
                categories[i] = None
        return categories

    def _amounts(self, cells: list, errors: dict) -> list:
        """Amounts, none above the shop's max_amount (as `loyalty visit` refuses it)."""
        amounts = self.job.cells.amounts_of(cells, "amount", errors)
        limit = self.job.config.shop.max_amount
        if limit is not None:
            shown = locale_format.amount(limit, self.job.currency)
            for i in above(amounts, limit, errors):
                errors[i] = RowError("amount", cells[i], f"amount {cells[i].strip()} is above the shop's max_amount "
                                     f"of {shown} (a typo? raise max_amount in [shop] of the config)")
        return amounts

    def _moments(self, date_text: list, time_text: list, errors: dict) -> tuple[list, list]:
        """UTC times and local days; the cells Dates.columns leaves out go through Dates.moment."""
        # Without a time column, a date cell may hold the time too: columns() splits it.
        timed = "time" in self.job.header_of or self.job.source.format == "jsonl"
        ats, days = self.dates.columns(date_text, time_text if timed else None)
        for i in not_cached(ats, errors):
            try:
                ats[i], days[i] = self.dates.moment(date_text[i], time_text[i] or None)
            except CellError as exc:
                wrong_time = time_text[i] and isinstance(exc, TimeError)
                errors[i] = (RowError("time", time_text[i], str(exc)) if wrong_time
                             else RowError("date", date_text[i], str(exc)))
        if max(filter(None, ats), default="") > self.now:
            for i, at in enumerate(ats):
                if at is not None and at > self.now and i not in errors:
                    errors[i] = RowError("date", date_text[i], f"visit is in the future: {date_text[i].strip()!r}")
        return ats, days


class _VisitWriter:
    """Batches of parsed visit rows -> already imported, rejected, or inserted."""

    def __init__(self, job: ImportJob, conn, import_id: int):
        self.job, self.conn = job, conn
        self.customers = _Customers(job, conn)
        # Every row may be a visit: ids for them all, so this import's visits are those in one range.
        self.ids = bulk.IdBlock(conn, "visits", job.source.lines)
        # With no visit imported before, nothing in the file can be 'already imported'.
        self.prior = bulk.imported_visits_before(conn, import_id)
        self.seen = _SeenKeys() if self.prior or job.options.strict else None
        self.file_refs: set[str] = set()  # receipts met in the file so far
        self.indexes = None

    def _bulk(self) -> None:
        """Decided at the first insert, once the header says whether receipts (refs) come."""
        keep = set()
        if self.prior:
            keep |= indexes_led_by(self.conn, "visits", ("customer_id", "at"))
        if "ref" in self.job.header_of:
            keep |= unique_indexes_on(self.conn, "visits", "ref")
        self.indexes = DeferredIndexes(self.conn, "visits", self.job.source.lines, keep)

    def add(self, rows: _Parsed) -> None:
        job, summary = self.job, self.job.summary
        if not len(rows):
            return
        rows.customers = self.customers.ids_of(rows.phones)
        keep = self._new_rows(rows)
        if job.rejects.problems and not job.options.skip_invalid:
            return  # validating only: this import will be rolled back
        columns = (rows.customers, rows.names, rows.ats, rows.days, rows.amounts, rows.items, rows.notes, rows.refs,
                   rows.categories)
        if keep is not None:
            columns = [list(compress(column, keep)) for column in columns]
        customer_ids, names, ats, days, amounts, items, notes, refs, categories = columns
        if not customer_ids:
            return
        if self.indexes is None:
            self._bulk()
        self.customers.create(customer_ids, names, ats)
        self.customers.name(customer_ids, names)
        bulk.insert_visits(self.conn, zip(self.ids.take(len(customer_ids)), customer_ids, ats, days, amounts, items,
                                          notes, refs, categories, strict=True))
        summary["visits_added"] += len(customer_ids)
        summary["rows_imported"] += len(customer_ids)

    def _new_rows(self, rows: _Parsed) -> list | None:
        """Which rows to insert (None: all): not imported before, not a repeat --strict refuses,
        not recorded at the counter under the same receipt."""
        job, summary = self.job, self.job.summary
        keep = None
        if self.seen is not None:
            keep = [True] * len(rows)
            known = self._imported_before(rows.customers, rows.ats)
            count_seen, strict = self.seen.count, job.options.strict
            keys = zip(rows.customers, rows.ats, rows.amounts, rows.items, rows.notes, rows.refs, strict=True)
            for i, key in enumerate(keys):
                repeat = count_seen(hash(key))  # 64 bits: a false repeat is ~1 in 10^7 for a million rows
                if repeat and strict:
                    keep[i] = False
                    job.rejects.reject(rows.lines[i], rows.raw(i), None, None,
                               "the same visit as an earlier row (--strict refuses duplicates)")
                elif known and repeat < known.get(key, 0):
                    keep[i] = False
                    summary["already_imported"] += 1
        if any(rows.refs):
            keep = self._receipts(rows, keep)
        return keep

    def _imported_before(self, customer_ids: list, ats: list) -> Counter:
        """How many visits imported before this import have each (customer, time, amount, items,
        note, receipt) of this batch's rows."""
        created = self.customers.new_ids.mine
        pairs = sorted({pair for pair in zip(customer_ids, ats, strict=True) if not created(pair[0])})
        if not self.prior or not pairs:
            return Counter()
        return Counter(map(tuple, bulk.imported_visits_at(self.conn, pairs, self.ids.span)))

    def _receipts(self, rows: _Parsed, keep: list | None) -> list:
        """A receipt already in the database is the same visit, recorded at the counter or by an
        earlier import; one that comes twice in this file is two visits claiming one receipt."""
        job, summary = self.job, self.job.summary
        keep = keep or [True] * len(rows)
        wanted = [ref for ref, kept in zip(rows.refs, keep, strict=True) if ref and kept]
        refs = {}
        for chunk in bulk.chunks(wanted):
            refs.update((r[0], r[1]) for r in bulk.visits_with_refs(self.conn, chunk))
        file_refs = self.file_refs  # every batch's, inserted or not (an import that only validates inserts none)
        for i, ref in enumerate(rows.refs):
            if not ref or not keep[i]:
                continue
            if ref in refs and not self.ids.mine(refs[ref]):
                summary["already_imported"] += 1
                keep[i] = False
            elif ref in file_refs:
                job.rejects.reject(rows.lines[i], rows.raw(i), "ref", ref,
                           f"receipt {ref!r} appears on an earlier row of this file with a different visit")
                keep[i] = False
            else:
                file_refs.add(ref)
        return keep
