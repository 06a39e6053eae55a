"""What both imports share: options, the run (reading, validating, one transaction), bulk SQL.

`Run.finish` wraps the kind-specific writing in one IMMEDIATE transaction and rolls it back
when rows are invalid (without --skip-invalid), on --dry-run, or when nothing was imported,
so a dry run counts exactly what a real one would do and a re-run leaves no trace.
"""

import json
import re
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter

from . import clock, money, store
from .errors import BadInput, Refused
from .import_columns import IGNORED, NAME_PARTS, ROW, Columns
from .import_formats import csv_rows, json_text, jsonl_rows, open_source, write_rejects
from .import_phones import Normaliser
from .import_values import CellError, whole

MAX_LISTED = 20  # problems listed in the summary (all are counted, all go to --rejects)
BATCH = 5000  # visit rows per round of bulk SQL
CHUNK = 500  # values per IN (...) lookup
PROGRESS_EVERY = 2000
BULK_ROWS = 20_000  # from this many new rows, indexes are rebuilt once rather than kept up row by row
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

    def records(self):
        """(line, cells, raw) for every non-blank row: cells in ROW[kind] order, '' where absent.

        Blank rows are counted as skipped; a value under no header is a rejected row.
        """
        if self.source.format == "jsonl":
            yield from self._json_records()
            return
        rows = csv_rows(self.source)
        if next(rows, None) is None:
            raise BadInput(f"{self.source.name}: no header row (the first line must name the columns)")
        header = self.source.header
        pairs = self.columns.resolve(header)
        self.header_of = {name: header[index] for index, name in pairs}
        width = len(header)
        unnamed = [index for index, name in enumerate(header) if not name]
        absent = width  # cells are read from the row plus one empty cell at this index
        spots = {name: index for index, name in pairs if name not in NAME_PARTS}
        parts = [index for index, name in pairs if name in NAME_PARTS]
        if len(parts) == 1:
            spots["name"], parts = parts[0], []
        pick = itemgetter(*(spots.get(name, absent) for name in ROW[self.kind]))
        name_at = ROW[self.kind].index("name")
        summary = self.summary
        for line, values in rows:
            summary["rows_read"] += 1
            if len(values) != width or unnamed:
                if not any(cell.strip() for cell in values):
                    summary["skipped"] += 1
                    continue
                stray = [i for i, cell in enumerate(values) if cell.strip() and (i >= width or i in unnamed)]
                if stray:
                    self.reject(line, values, None, values[stray[0]],
                                f"a value in column {stray[0] + 1}, which has no header")
                    continue
                cells = pick((values + [""] * (width + 1))[:width + 1])
            else:
                cells = pick(values + [""])
                if not any(cells) or not "".join(cells).strip():
                    if not any(cell.strip() for cell in values):
                        summary["skipped"] += 1
                        continue
            if parts:
                cells = list(cells)
                cells[name_at] = " ".join(values[i] for i in parts if i < len(values) and values[i].strip())
                cells = tuple(cells)
            yield line, cells, values

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
        if value.isdecimal():
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
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA threads = 2")  # CREATE INDEX may sort with a helper thread (~10% faster)
        try:
            with store.transaction(conn):
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
            self.source.close()
        self._finish_summary()
        if self.options.rejects:
            write_rejects(self.options.rejects, self.source, self.rejected)
        if self.problems and not self.options.skip_invalid:
            count = summary["rejected"]
            raise InvalidRows(
                f"{self.source.name}: {count} row{'s' if count != 1 else ''} not valid; nothing was imported "
                "(fix them, or import the rest with --skip-invalid --rejects FILE)", summary, self.problems)
        return summary

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
        path.touch(mode=0o600)  # existing, so no "created a new database" note for it
        conn = store.connect(path)
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


def unique_indexes_on(conn, table: str, column: str) -> set[str]:
    names = set()
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        if index["unique"] and any(info["name"] == column for info in conn.execute(f"PRAGMA index_info({index['name']})")):
            names.add(index["name"])
    return names


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


def remember_phones(conn, normaliser: Normaliser) -> None:
    """Teach the counter's phone cache every form of number in the file: no parsing at the till."""
    from .phones import cache_key

    region = normaliser.region
    prefix = f"{region or '-'}:"
    keys = {}
    for typed, e164 in normaliser.cache.items():
        if isinstance(e164, str):
            # phones.cache_key, with a regex for the usual ASCII text (same result, 5x faster)
            key = prefix + _NOT_KEY.sub("", typed) if typed.isascii() else cache_key(typed, region)
            keys[key] = e164
    conn.executemany("INSERT OR IGNORE INTO phone_keys (key, phone) VALUES (?, ?)", sorted(keys.items()))


_NOT_KEY = re.compile(r"[^0-9+]")
