"""What both imports share: options, the run (reading, validating, one transaction), bulk SQL.

`Run.finish` wraps the kind-specific writing in one IMMEDIATE transaction and rolls it back
when rows are invalid (without --skip-invalid), on --dry-run, or when nothing was imported,
so a dry run counts exactly what a real one would do and a re-run leaves no trace.
"""

import itertools
import json
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter

from loyalty_cli.domain import clock, money
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.importing.columns import IGNORED, NAME_PARTS, ROW, Columns
from loyalty_cli.importing.phones import Normaliser
from loyalty_cli.importing.sources import csv_rows, csv_stream, json_text, jsonl_rows, open_source, write_rejects
from loyalty_cli.importing.values import CellError, whole
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db

MAX_LISTED = 20  # problems listed in the summary (all are counted, all go to --rejects)
BATCH = 20_000  # rows per round of bulk SQL (a plain CSV stretch of CHUNK bytes may hold more)
CHUNK = 500  # values per IN (...) lookup
PROGRESS_EVERY = 2000
BULK_ROWS = 20_000  # from this many new rows, indexes are rebuilt once rather than kept up row by row
WRITTEN = ("rows_imported", "customers_created", "customers_updated", "visits_added", "punches", "points",
           "credit", "vouchers_issued")  # the summary's figures of what landed
COUNTS_CACHE = 10_000  # distinct texts of whole numbers remembered per column
CACHE_KIB = 32_768  # SQLite page cache for an import (the default 2 MB thrashes on big indexes)


@dataclass
class Options:
    file: str
    format: str = "auto"
    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict = field(default_factory=dict)
    ignore: list = field(default_factory=list)
    date_format: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: str | None = None
    strict: bool = False
    apply_rules: bool = False  # visits: replay through the rule engine
    card: str | None = None  # cards: which punch card the punches belong to


@dataclass
class Problem:
    line: int
    column: str | None
    value: str | None
    reason: str

    def describe(self, source_name: str) -> str:
        where = f"column {self.column!r}: " if self.column else ""
        return f"{source_name}: line {self.line}: {where}{self.reason}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class Batch:
    """Rows of a file as columns: `columns[k][i]` is field ROW[kind][k] of the row on `lines[i]`."""

    lines: object  # a range or a tuple: the line each row starts on
    columns: list
    raw: object  # index -> the row as it is in the file, for --rejects

    def __len__(self) -> int:
        return len(self.lines)


class InvalidRows(BadInput):
    """Some rows are not valid and --skip-invalid was not given: nothing was imported."""

    def __init__(self, message: str, summary: dict, problems: list):
        super().__init__(message)
        self.summary, self.problems = summary, problems


class RowError(Exception):
    def __init__(self, field_name: str | None, value, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


class _Rollback(Exception):
    pass


# ---- the run, shared by both kinds -----------------------------------------------------------

class Run:
    def __init__(self, session, kind: str, options: Options, progress=None):
        self.session, self.kind, self.options = session, kind, options
        self.config = session.config
        self.currency = self.config.shop.currency
        self.progress = progress or (lambda description, done, total: None)
        if options.rejects and options.rejects == options.file:
            raise BadInput("--rejects must not be the file being imported")
        if options.skip_invalid and not options.rejects and not options.dry_run:
            raise BadInput("--skip-invalid needs --rejects FILE, where the rejected rows go to be fixed")
        if options.rejects:
            _check_writable(options.rejects)
        self.source = open_source(options.file, options.encoding, options.format, options.delimiter)
        try:
            self.columns = Columns(kind, options.mapping, options.ignore, self.source.name)
            if self.source.format == "csv":
                self._check_header()
        except BaseException:
            self.source.close()
            raise
        self.header_of: dict[str, str] = {}
        self.phone = Normaliser(self.config.shop.phone_region)
        self.now = clock.now()
        self.now_db = clock.to_db(self.now)
        self.amounts: dict[str, int] = {}  # each distinct amount text parsed once
        self.problems: list[Problem] = []
        self.rejected: list = []  # (line, raw, reason) for --rejects
        self.summary = {
            "file": self.source.name, "kind": kind, "format": self.source.format,
            "encoding": self.source.encoding, "delimiter": self.source.delimiter, "dry_run": options.dry_run,
            "rows_read": 0, "rows_imported": 0, "customers_created": 0, "customers_updated": 0,
            "visits_added": 0, "punches": 0, "points": 0, "credit": 0, "vouchers_issued": 0,
            "merged": 0, "skipped": 0, "rejected": 0, "already_imported": 0,
        }

    # -- reading --

    def _check_header(self) -> None:
        """Unknown or doubled columns stop the import before the database is even opened."""
        stream = csv_stream(self.source)
        try:
            self.columns.resolve(next(stream)[2])
        finally:
            stream.close()

    def batches(self):
        """The file's rows as `Batch`es of columns, in ROW[kind] order ('' where absent).

        Blank rows are counted as skipped; a value under no header is a rejected row. A
        stretch of plain CSV becomes columns by slicing, with no Python step per row.
        """
        if self.source.format == "jsonl":
            yield from self._batched(self._json_records())
            return
        stream = csv_stream(self.source)
        _kind, _line, header = next(stream)
        self._layout(header)
        pending = []
        for kind, line, data in stream:
            if kind == "lines":
                if pending:
                    yield self._batch(pending)
                    pending = []
                fast = self._plain_batch(line, data)
                if fast is not None:
                    yield fast
                    continue
                rows = ((line + offset, text.split(self.source.delimiter)) for offset, text in enumerate(data))
                yield from self._batched(self._records(rows))
                continue
            self.summary["rows_read"] += 1
            cells = self._cells(line, data)
            if cells is not None:
                pending.append((line, cells, data))
                if len(pending) >= BATCH:
                    yield self._batch(pending)
                    pending = []
        if pending:
            yield self._batch(pending)

    def _layout(self, header: list[str]) -> None:
        """Where each field's cells are in a row of this header."""
        pairs = self.columns.resolve(header)
        self.header_of = {name: header[index] for index, name in pairs}
        self.width = len(header)
        self.unnamed = [index for index, name in enumerate(header) if not name]
        spots = {name: index for index, name in pairs if name not in NAME_PARTS}
        parts = [index for index, name in pairs if name in NAME_PARTS]
        if len(parts) == 1:
            spots["name"], parts = parts[0], []
        self.name_parts = parts
        self.spots = [spots.get(name) for name in ROW[self.kind]]  # None: not in the file
        absent = self.width  # cells are read from the row plus one empty cell at this index
        self.pick = itemgetter(*(absent if spot is None else spot for spot in self.spots))
        self.name_at = ROW[self.kind].index("name")

    def _plain_batch(self, line: int, lines: list[str]) -> "Batch | None":
        """A stretch of plain lines as columns, when every line has the header's width."""
        delimiter, width = self.source.delimiter, self.width
        if self.unnamed or set(map(str.count, lines, itertools.repeat(delimiter))) != {width - 1}:
            return None  # short, long or blank lines: read row by row
        self.summary["rows_read"] += len(lines)
        flat = delimiter.join(lines).split(delimiter)
        file_columns = [flat[index::width] for index in range(width)]
        count = len(lines)
        blank = [""] * count
        columns = [blank if spot is None else file_columns[spot] for spot in self.spots]
        if self.name_parts:
            columns[self.name_at] = [" ".join(part for part in parts if part.strip())
                                     for parts in zip(*(file_columns[i] for i in self.name_parts), strict=True)]
        return Batch(range(line, line + count), columns, lambda i: [column[i] for column in file_columns])

    def _records(self, rows):
        """(line, cells, raw) for each row of (line, values) that is neither blank nor rejected."""
        for line, values in rows:
            self.summary["rows_read"] += 1
            cells = self._cells(line, values)
            if cells is not None:
                yield line, cells, values

    def _cells(self, line: int, values: list[str]):
        """A row's cells in ROW order, or None when it is blank (skipped) or rejected."""
        width = self.width
        if len(values) != width or self.unnamed:
            if not any(cell.strip() for cell in values):
                self.summary["skipped"] += 1
                return None
            stray = [i for i, cell in enumerate(values) if cell.strip() and (i >= width or i in self.unnamed)]
            if stray:
                self.reject(line, values, None, values[stray[0]], f"a value in column {stray[0] + 1}, which has no header")
                return None
            cells = self.pick((values + [""] * (width + 1))[:width + 1])
        else:
            cells = self.pick(values + [""])
            if not "".join(cells).strip() and not any(cell.strip() for cell in values):
                self.summary["skipped"] += 1
                return None
        if self.name_parts:
            cells = list(cells)
            cells[self.name_at] = " ".join(values[i] for i in self.name_parts if i < len(values) and values[i].strip())
        return cells

    def _batched(self, records):
        pending = []
        for record in records:
            pending.append(record)
            if len(pending) >= BATCH:
                yield self._batch(pending)
                pending = []
        if pending:
            yield self._batch(pending)

    @staticmethod
    def _batch(records: list) -> "Batch":
        lines, cells, raws = zip(*records, strict=True)
        return Batch(lines, [list(column) for column in zip(*cells, strict=True)], raws.__getitem__)

    def cell(self, raw, field_name: str, default=None):
        """A field's cell in a row as read from the file (a CSV row's list, a JSON object)."""
        key = self.header_of.get(field_name)
        if isinstance(raw, dict):
            return raw.get(key, default)
        if isinstance(raw, list) and key in self.source.header:
            position = self.source.header.index(key)
            return raw[position] if position < len(raw) else default
        return default

    # -- a batch's columns through the caches; errors[i] keeps row i's first bad cell --

    def phones_of(self, cells: list, errors: dict) -> list:
        phones = self.phone.column(cells)
        if set(map(type, phones)) != {str}:
            for i, phone in enumerate(phones):
                if type(phone) is not str and i not in errors:
                    errors[i] = RowError("phone", cells[i], str(phone) if cells[i].strip() else "phone is missing")
        return phones

    def amounts_of(self, cells: list, name: str, errors: dict) -> list:
        amounts = list(map(self.amounts.get, cells))
        for i in misses(amounts, errors):
            try:
                amounts[i] = self.amount(cells[i], name)
            except RowError as exc:
                errors[i] = exc
        return amounts

    def counts_of(self, cells: list, name: str, errors: dict, cache: dict, default: int = 0) -> list:
        """Whole numbers; `cache` (text -> number) is the caller's, and learns each new text."""
        counts = list(map(cache.get, cells))
        for i in misses(counts, errors):
            try:
                counts[i] = self.count(cells[i], name, default)
            except RowError as exc:
                errors[i] = exc
                continue
            if len(cache) < COUNTS_CACHE:
                cache[cells[i]] = counts[i]
        return counts

    def settle(self, batch: "Batch", errors: dict) -> list | None:
        """Report the batch's bad rows (a row of empty cells is only skipped); the indexes of the
        rows to keep, None when all are."""
        for i, exc in sorted(errors.items()):
            if exc.field == "phone" and not batch.columns[0][i].strip() and self._blank(batch, i):
                self.summary["skipped"] += 1  # a line of empty cells, as spreadsheets write them
            else:
                self.reject(batch.lines[i], batch.raw(i), exc.field, exc.value, exc.reason)
        return [i for i in range(len(batch)) if i not in errors] if errors else None

    @staticmethod
    def _blank(batch: "Batch", index: int) -> bool:
        """Is this row of a plain batch empty in every cell (a ';;;;' line from a spreadsheet)?"""
        return not any(cell.strip() for cell in batch.raw(index))

    def _json_records(self):
        fields: dict[str, str] = {}
        order = {name: position for position, name in enumerate(ROW[self.kind])}
        name_at = order["name"]
        for line, obj in jsonl_rows(self.source):
            self.summary["rows_read"] += 1
            cells, parts = [""] * len(order), []
            try:
                for key, value in obj.items():
                    name = fields.get(key)
                    if name is None:
                        name = self.columns.field_of(key)
                        if name is None:
                            raise BadInput(f"{self.source.name}: line {line}: key {key!r} not recognised; map it with "
                                           f"--map {key}=FIELD or drop it with --ignore {key}")
                        fields[key] = name
                        if name != IGNORED:
                            self.header_of.setdefault(name, key)
                    if name == IGNORED:
                        continue
                    try:
                        cell = json_text(value, key) or ""
                    except ValueError as exc:
                        raise RowError(name, value, str(exc)) from None
                    if name in NAME_PARTS:
                        if cell.strip():
                            parts.append(cell)
                    else:
                        cells[order[name]] = cell
            except RowError as exc:
                self.reject(line, obj, exc.field, exc.value, exc.reason)
                continue
            if parts:
                cells[name_at] = " ".join(parts)
            if not "".join(cells).strip():
                self.summary["skipped"] += 1
                continue
            yield line, tuple(cells), obj

    def reject(self, line: int, raw, field_name, value, reason: str, rows: int = 1) -> None:
        column = self.header_of.get(field_name, field_name) if field_name else None
        problem = Problem(line, column, None if value is None else str(value), reason)
        self.problems.append(problem)
        self.rejected.append((line, raw, problem.describe(self.source.name).split(": ", 1)[1]))
        self.summary["rejected"] += rows

    def raw_rows(self, lines: set) -> dict:
        """The rows on these lines, as they are in the file (a second read, for --rejects)."""
        found = {}
        rows = jsonl_rows(self.source) if self.source.format == "jsonl" else csv_rows(self.source)
        if self.source.format == "csv":
            next(rows, None)  # the header
        for line, raw in rows:
            if line in lines:
                found[line] = raw
        return found

    def tick(self, line: int, description: str = "reading") -> None:
        self.progress(description, line, self.source.lines)

    # -- cells --

    def phone_of(self, value: str) -> str:
        if not value or not value.strip():
            raise RowError("phone", value, "phone is missing")
        try:
            return self.phone(value)
        except BadInput as exc:
            raise RowError("phone", value, str(exc)) from None

    def amount(self, value: str, name: str) -> int:
        if not value:
            return 0
        found = self.amounts.get(value)
        if found is None:
            if not value.strip():
                return 0
            try:
                found = money.parse_amount(value, self.currency, name)
            except BadInput as exc:
                raise RowError(name, value, str(exc)) from None
            if len(self.amounts) > 100_000:
                self.amounts.clear()
            self.amounts[value] = found
        return found

    def count(self, value: str, name: str, default: int = 0) -> int:
        if not value:
            return default
        if value.isdecimal() and len(value) < 12:
            return int(value)
        if not value.strip():
            return default
        try:
            return whole(value, name)
        except CellError as exc:
            raise RowError(name, value, str(exc)) from None

    # -- the end --

    def finish(self, conn, write) -> dict:
        """Run write(conn) in one transaction; roll back on problems (unless skipped) or dry run."""
        summary = self.summary
        summary["import_id"] = None
        try:
            with store_db.bulk_writing(conn, CACHE_KIB), store_db.transaction(conn):
                import_id = conn.execute(
                    "INSERT INTO imports (kind, source, sha256, at, summary) VALUES (?, ?, ?, ?, '{}')",
                    (self.kind, self.source.name, self.source.sha256, clock.to_db(self.now))).lastrowid
                write(conn, import_id)
                self._unused_options()
                if self.problems and not self.options.skip_invalid:
                    raise _Rollback
                if self.options.dry_run or not summary["rows_imported"]:
                    raise _Rollback  # a re-run that finds everything imported leaves no trace
                summary["import_id"] = import_id
                self._finish_summary()
                conn.execute("UPDATE imports SET summary = ? WHERE id = ?",
                             (json.dumps(summary, ensure_ascii=False), import_id))
        except _Rollback:
            pass
        finally:
            try:
                self._reread_rejected()
            finally:
                self.source.close()
        self._finish_summary()
        if self.options.rejects:
            write_rejects(self.options.rejects, self.source, self.rejected)
        if self.problems and not self.options.skip_invalid:
            for key in WRITTEN:  # whatever was written before the first bad row was rolled back
                summary[key] = money.as_string(0, self.currency) if key == "credit" else 0
            count = summary["rejected"]
            raise InvalidRows(
                f"{self.source.name}: {count} row{'s' if count != 1 else ''} not valid; nothing was imported "
                "(fix them, or import the rest with --skip-invalid --rejects FILE)", summary, self.problems)
        return summary

    def _reread_rejected(self) -> None:
        """Rows rejected here after the reader process parsed them: their cells, for --rejects."""
        missing = {line for line, raw, _reason in self.rejected if raw is None}
        if missing and self.options.rejects:
            raws = self.raw_rows(missing)
            self.rejected = [(line, raws.get(line, []) if raw is None else raw, reason)
                             for line, raw, reason in self.rejected]

    def _finish_summary(self) -> None:
        self.problems.sort(key=lambda problem: problem.line)
        self.rejected.sort(key=lambda rejected: rejected[0])
        summary = self.summary
        summary["rejects_file"] = self.options.rejects
        summary["errors"] = [p.as_dict() for p in self.problems[:MAX_LISTED]]
        if isinstance(summary["credit"], int):
            summary["credit"] = money.as_string(summary["credit"], self.currency)

    def _unused_options(self) -> None:
        if self.source.format != "jsonl":
            return  # CSV headers were checked against --map/--ignore up front
        for key in list(self.columns.mapping) + list(self.columns.ignore):
            if key not in self.columns.used_options:
                raise BadInput(f"--map/--ignore: no line of {self.source.name} has a key "
                               f"{self.columns.written[key]!r}")


@contextmanager
def scratch_database(session):
    """--dry-run before there is a database: run against an empty one in a temporary folder,
    so that a dry run creates nothing where the real database will be."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="loyalty-dry-run-") as folder:
        path = Path(folder) / "dry-run.db"
        conn = store_db.connect(path)
        session.__dict__["conn"] = conn
        try:
            yield
        finally:
            conn.close()
            session.__dict__.pop("conn", None)


def _check_writable(path: str) -> None:
    """--rejects is written after the import commits: make sure now that it can be."""
    import os
    from pathlib import Path

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise BadInput(f"--rejects {path}: is a directory")
    if not folder.is_dir():
        raise BadInput(f"--rejects {path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInput(f"--rejects {path}: not writable")


def misses(values: list, errors: dict) -> list:
    """The rows where a cache had no value (None), less those already wrong."""
    if None not in values:
        return []
    return [i for i, value in enumerate(values) if value is None and i not in errors]


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Indexes:
    """A table's indexes dropped for a bulk insert and rebuilt after it, in the same transaction.

    Keeping seven indexes up to date row by row costs several times more than building each
    once from the finished table. The schema change is part of the import's transaction: a
    failed import rolls it back with everything else, and no other connection ever sees it.
    """

    def __init__(self, conn, table: str, adding: int, keep=()):
        self.conn, self.dropped = conn, []
        existing = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]
        if adding < BULK_ROWS or adding < existing // 2:
            return  # a few rows into a big table: cheaper to keep the indexes
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                      "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall():
            if name not in keep:
                conn.execute(f'DROP INDEX "{name}"')
                self.dropped.append((name, sql))

    def restore(self) -> None:
        for name, sql in self.dropped:
            try:
                self.conn.execute(sql)
            except sqlite3.IntegrityError as exc:
                raise Refused(f"the import would break the unique index {name} ({exc}); nothing was imported") from None
        self.dropped = []


def marks(count: int) -> str:
    return ",".join("?" * count)


def voucher_codes(conn, count: int) -> list[str]:
    """`count` fresh voucher codes, unused in the database and among themselves."""
    alphabet = store.VOUCHER_ALPHABET  # 32 letters: a byte's low 5 bits pick one without bias
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        raw = secrets.token_bytes(wanted * store.VOUCHER_LENGTH)
        fresh = {"".join(alphabet[b & 31] for b in raw[i:i + store.VOUCHER_LENGTH])
                 for i in range(0, len(raw), store.VOUCHER_LENGTH)} - codes
        for chunk in chunks(fresh):
            taken = conn.execute(f"SELECT code FROM vouchers WHERE code IN ({marks(len(chunk))})", chunk)
            fresh -= {row[0] for row in taken}
        codes |= fresh
    return list(codes)
