"""Bulk import of old punch cards and visit history (`loyalty import cards|visits`).

The whole file is one transaction: every accepted row lands or none does, and --dry-run runs
the very same code and rolls back, so its counts are exact. Rows go in with bulk SQL (explicit
ids, executemany) rather than one `store.write_entries` call per row, which would take minutes
for a large file; the cached balances written here equal the ledger sums, as `loyalty doctor`
checks. Nothing here prints: results are plain dicts, problems are `Problem`s.

Re-running is harmless:
- a card is identified by phone and punch card (`import_cards`); the same card again counts as
  already imported, a card with different balances is refused (it would double or lose them);
- a visit carries `import_key`, a digest of its normalised row and of how many identical rows
  came before it in its file, so a re-run, or a later export overlapping an earlier one,
  adds only the visits not yet there, while two identical visits in one file stay two.
"""

import hashlib
import json
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter

from . import clock, money, rules, store
from .counter import FUTURE_SLACK
from .errors import BadInput, Refused
from .import_columns import IGNORED, NAME_PARTS, ROW, Columns
from .import_formats import csv_rows, json_text, jsonl_rows, open_source, write_rejects
from .import_phones import Normaliser
from .import_values import CellError, Dates, Rewards, email, text, whole

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


class _RowError(Exception):
    def __init__(self, field_name: str | None, value, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


class _Rollback(Exception):
    pass


# ---- the run, shared by both kinds -----------------------------------------------------------

class _Run:
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
                        raise _RowError(name, value, str(exc)) from None
                    if name in NAME_PARTS:
                        if cell.strip():
                            parts.append(cell)
                    else:
                        cells[order[name]] = cell
            except _RowError as exc:
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
            raise _RowError("phone", value, "phone is missing")
        try:
            return self.phone(value)
        except BadInput as exc:
            raise _RowError("phone", value, str(exc)) from None

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
                raise _RowError(name, value, str(exc)) from None
            if len(self.amounts) > 100_000:
                self.amounts.clear()
            self.amounts[value] = found
        return found

    def count(self, value: str, name: str, default: int = 0) -> int:
        if not value:
            return default
        if value.isdigit():
            return int(value)
        if not value.strip():
            return default
        try:
            return whole(value, name)
        except CellError as exc:
            raise _RowError(name, value, str(exc)) from None

    # -- the end --

    def finish(self, conn, write) -> dict:
        """Run write(conn) in one transaction; roll back on problems (unless skipped) or dry run."""
        summary = self.summary
        summary["import_id"] = None
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
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


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Indexes:
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


def _unique_indexes_on(conn, table: str, column: str) -> set[str]:
    names = set()
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        if index["unique"] and any(info["name"] == column for info in conn.execute(f"PRAGMA index_info({index['name']})")):
            names.add(index["name"])
    return names


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _voucher_codes(conn, count: int) -> list[str]:
    """`count` fresh voucher codes, unused in the database and among themselves."""
    alphabet = store.VOUCHER_ALPHABET  # 32 letters: a byte's low 5 bits pick one without bias
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        raw = secrets.token_bytes(wanted * store.VOUCHER_LENGTH)
        fresh = {"".join(alphabet[b & 31] for b in raw[i:i + store.VOUCHER_LENGTH])
                 for i in range(0, len(raw), store.VOUCHER_LENGTH)} - codes
        for chunk in _chunks(fresh):
            taken = conn.execute(f"SELECT code FROM vouchers WHERE code IN ({_marks(len(chunk))})", chunk)
            fresh -= {row[0] for row in taken}
        codes |= fresh
    return list(codes)


def _remember_phones(conn, normaliser: Normaliser) -> None:
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


# ---- cards -----------------------------------------------------------------------------------

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
    run = _Run(session, "cards", options, progress)
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
            except _RowError as exc:
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


def _card(run: _Run, cells, line, rule, rewards: Rewards, dates: Dates) -> _Card:
    phone_text, name, mail, punches_text, points_text, credit_text, rewards_text, reward_id, last, note = cells
    phone = run.phone_of(phone_text)
    punches = run.count(punches_text, "punches")
    if punches and (rule is None or isinstance(rule, _Ambiguous)):
        why = (f"the config has several punch cards ({rule.names}): choose one with --card" if rule
               else "the config has no punch card to put punches on")
        raise _RowError("punches", punches_text, why)
    owed: dict[str, int] = {}
    default_reward = rule.reward if rule is not None else None
    reward_id = reward_id.strip()
    if reward_id:
        try:
            default_reward = rewards.reward_id(reward_id)
        except CellError as exc:
            raise _RowError("reward", reward_id, str(exc)) from None
    rewards_text = rewards_text.strip()
    if rewards_text:
        try:
            owed = rewards.parse(rewards_text, default_reward, "rewards")
        except CellError as exc:
            raise _RowError("rewards", rewards_text, str(exc)) from None
    elif reward_id:
        owed = {default_reward: 1}
    mail = mail.strip()
    if mail:
        try:
            mail = email(mail)
        except CellError as exc:
            raise _RowError("email", mail, str(exc)) from None
    last = last.strip()
    last_visit = None
    if last:
        try:
            last_visit = dates.moment(last)[0]
        except CellError as exc:
            raise _RowError("last_visit", last, str(exc)) from None
        if last_visit > run.now_db:
            raise _RowError("last_visit", last, f"last visit is in the future: {last!r}")
    return _Card(line, phone, text(name), mail or None, text(note), last_visit, punches,
                 run.count(points_text, "points"), run.amount(credit_text, "credit"), owed)


def _write_cards(run: _Run, conn, import_id: int, cards: dict, rule) -> None:
    summary, config = run.summary, run.config
    card_name = rule.name if rule is not None and rule.name else ""
    at = clock.to_db(run.now)
    expires = rules.voucher_expires_at(config, run.now)
    expires = clock.to_db(expires) if expires else None
    existing, prior = {}, {}
    for chunk in _chunks(cards):
        for row in conn.execute(f"SELECT * FROM customers WHERE phone IN ({_marks(len(chunk))})", chunk):
            existing[row["phone"]] = row
        for row in conn.execute(
                "SELECT c.phone, c.digest, c.line, i.source, i.at FROM import_cards c JOIN imports i ON i.id = c.import_id "
                f"WHERE c.card = ? AND c.phone IN ({_marks(len(chunk))})", [card_name, *chunk]):
            prior[row["phone"]] = row
    next_customer = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]
    next_ledger = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()[0]
    new_rows, updates, ledger, vouchers, keys = [], [], [], [], []
    punch_json: dict[int, str] = {}  # open punches -> the JSON of a new customer's card
    conflicts = []
    for card in sorted(cards.values(), key=lambda c: c.line):
        digest = card.digest(card_name)
        earlier = prior.get(card.phone)
        if earlier is not None:
            if earlier["digest"] == digest:
                summary["already_imported"] += len(card.lines)
                continue
            when = earlier["at"][:10]
            reason = (f"a card with other balances was imported for {card.phone} on {when} "
                      f"({earlier['source']}, line {earlier['line']}); change it at the counter instead")
            conflicts.append((card, reason))
            continue
        full = card.punches // rule.every if card.punches and rule is not None and rule.every else 0
        open_punches = card.punches - full * (rule.every if full else 0)
        row = existing.get(card.phone)
        if row is None:
            customer_id, next_customer = next_customer, next_customer + 1
            punches = punch_json.get(open_punches)
            if punches is None:
                punches = punch_json[open_punches] = json.dumps({card_name: open_punches} if open_punches else {})
            new_rows.append((customer_id, card.phone, card.name, card.email, at, card.note, card.points,
                             card.credit, punches, card.last_visit))
            summary["customers_created"] += 1
        else:
            customer_id = row["id"]
            punches = store.punches_of(row)
            if card.punches:
                punches[card_name] = punches.get(card_name, 0) + open_punches
            last = row["last_visit_at"]
            if card.last_visit and (not last or card.last_visit > last):
                last = card.last_visit
            updates.append((card.name, card.email, card.note, card.points, card.credit,
                            json.dumps(punches, sort_keys=True), last, customer_id))
            summary["customers_updated"] += 1
        reason = f"imported from paper card ({run.source.name}, line {card.line})"
        if card.punches or card.points or card.credit:
            ledger.append((next_ledger, customer_id, at, "import", card.points, card.punches, card.credit,
                           card_name if card.punches else None, reason, None, None,
                           at if card.points > 0 else None))
            next_ledger += 1
        issued = [(rule.reward, -rule.every, f"card of {rule.every} complete ({run.source.name}, line {card.line})")
                  for _ in range(full)]
        for reward, count in card.owed.items():
            issued += [(reward, 0, reason)] * count
        for reward, punch_delta, why in issued:
            ledger.append((next_ledger, customer_id, at, "reward", 0, punch_delta, 0, card_name or None, why,
                           "", reward, None))  # the voucher code is filled in below
            vouchers.append([None, customer_id, reward, card_name or None, "issued", at, expires, next_ledger])
            next_ledger += 1
        keys.append((card.phone, card_name, customer_id, import_id, card.line, digest))
        summary["rows_imported"] += len(card.lines)
        summary["punches"] += card.punches
        summary["points"] += card.points
        summary["credit"] += card.credit
        summary["vouchers_issued"] += len(issued)
    if conflicts:  # rare: read those rows again rather than keep every row in memory
        raws = run.raw_rows({line for card, _reason in conflicts for line in card.lines})
        for card, reason in conflicts:
            for line in card.lines:
                run.reject(line, raws.get(line), "phone", card.phone, reason)
    codes = iter(_voucher_codes(conn, len(vouchers)))
    code_of = {}
    for voucher in vouchers:
        voucher[0] = next(codes)
        code_of[voucher[7]] = voucher[0]
    ledger = [(*row[:9], code_of.get(row[0]), *row[10:]) for row in ledger]
    # Lookups are done: from here on, indexes are rebuilt once rather than kept up row by row.
    bulk = [_Indexes(conn, "customers", len(new_rows)), _Indexes(conn, "ledger", len(ledger)),
            _Indexes(conn, "vouchers", len(vouchers))]
    conn.executemany(
        "INSERT INTO customers (id, phone, name, email, enrolled_at, note, points, credit, punches, last_visit_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new_rows)
    conn.executemany(
        "UPDATE customers SET name = COALESCE(name, ?), email = COALESCE(email, ?), note = COALESCE(note, ?), "
        "points = points + ?, credit = credit + ?, punches = ?, last_visit_at = ? WHERE id = ?", updates)
    conn.executemany(
        "INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, reason, voucher, reward, "
        "earned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger)
    conn.executemany(
        "INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, ledger_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sorted(vouchers))
    keys.sort()  # in key order: appended to the B-tree, not scattered through it
    conn.executemany(
        "INSERT INTO import_cards (phone, card, customer_id, import_id, line, digest) VALUES (?, ?, ?, ?, ?, ?)", keys)
    for indexes in bulk:
        indexes.restore()
    _remember_phones(conn, run.phone)


# ---- visits ----------------------------------------------------------------------------------

def import_visits(session, options: Options, progress=None) -> dict:
    run = _Run(session, "visits", options, progress)
    run.summary["apply_rules"] = options.apply_rules
    try:
        return run.finish(session.conn, lambda conn, import_id: _write_visits(run, conn))
    finally:
        run.source.close()


class _Customers:
    """phone -> customer id, created on first sight; per-customer totals of the visits added."""

    def __init__(self, run: _Run, conn):
        self.run, self.conn = run, conn
        self.ids: dict[str, int] = {}
        self.unnamed: set[int] = set()  # existing customers without a name: the file may give one
        self.created: set[int] = set()
        self.totals: dict[int, list] = {}  # id -> [visits, spend, first at, last at]
        self.names: dict[int, str] = {}
        self.next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers").fetchone()[0]

    def resolve(self, rows) -> None:
        """Give every row's phone an id: look the new ones up, create those still missing."""
        wanted = {row[1] for row in rows} - self.ids.keys()
        for chunk in _chunks(wanted):
            for found in self.conn.execute(
                    f"SELECT id, phone, name FROM customers WHERE phone IN ({_marks(len(chunk))})", chunk):
                self.ids[found[1]] = found[0]
                if found[2] is None:
                    self.unnamed.add(found[0])
        fresh = []
        for row in rows:
            phone = row[1]
            if phone not in self.ids:
                self.ids[phone] = self.next_id
                self.created.add(self.next_id)
                fresh.append((self.next_id, phone, row[8], row[2]))
                self.next_id += 1
        if fresh:
            self.conn.executemany("INSERT INTO customers (id, phone, name, enrolled_at) VALUES (?, ?, ?, ?)", fresh)
            self.run.summary["customers_created"] += len(fresh)

    def add(self, customer_id: int, at: str, amount: int, name) -> None:
        totals = self.totals.get(customer_id)
        if totals is None:
            self.totals[customer_id] = [1, amount, at, at]
        else:
            totals[0] += 1
            totals[1] += amount
            if at < totals[2]:
                totals[2] = at
            if at > totals[3]:
                totals[3] = at
        if name and customer_id in self.unnamed and customer_id not in self.names:
            self.names[customer_id] = name

    def save(self) -> None:
        """The cached visits/spend/last visit; imported customers enrolled at their first visit."""
        # Only last_visit_at's index changes here: rebuilt once when many customers are touched.
        indexes = _Indexes(self.conn, "customers", len(self.totals),
                           keep=_unique_indexes_on(self.conn, "customers", "phone"))
        self.conn.executemany(
            "UPDATE customers SET visits = visits + ?, spend = spend + ?, "
            "last_visit_at = MAX(COALESCE(last_visit_at, ''), ?), "
            "enrolled_at = CASE WHEN ? THEN MIN(enrolled_at, ?) ELSE enrolled_at END WHERE id = ?",
            ((v, s, last, cid in self.created, first, cid) for cid, (v, s, first, last) in self.totals.items()))
        self.conn.executemany("UPDATE customers SET name = ? WHERE id = ? AND name IS NULL",
                              ((name, cid) for cid, name in self.names.items()))
        indexes.restore()
        self.run.summary["customers_updated"] = len(self.totals.keys() - self.created)


def _write_visits(run: _Run, conn) -> None:
    options = run.options
    dates = Dates(run.config.tz, options.date_format)
    writer = _VisitWriter(run, conn)
    now = clock.to_db(run.now + FUTURE_SLACK)
    seen = _SeenKeys()  # digest prefix -> identical rows so far in this file

    def parse(cells, line, raw):
        return _visit(run, cells, line, raw, dates, now, seen)

    for batch, line in _parsed_batches(run, parse):
        writer.add(batch)
        run.tick(line, "importing visits")
    if run.problems and not options.skip_invalid:
        return  # rolled back: nothing more worth doing
    if writer.indexes is not None:
        run.progress("indexing", 0, 1)
        writer.indexes.restore()
        run.progress("indexing", 1, 1)
    writer.customers.save()
    _remember_phones(conn, run.phone)
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


def _parsed_batches(run: _Run, parse):
    """(parsed rows, last line) in batches of BATCH; rows that do not parse are rejected.

    (A parser thread was tried: SQLite lets go of the GIL while it works, but getting it back
    from a busy parser thread costs more than the overlap saves.)
    """
    batch = []
    for line, cells, raw in run.records():
        try:
            batch.append(parse(cells, line, raw))
        except _RowError as exc:
            run.reject(line, raw, exc.field, exc.value, exc.reason)
        if len(batch) >= BATCH:
            yield batch, line
            batch = []
    yield batch, run.source.lines


def _visit(run: _Run, cells, line, raw, dates: Dates, now: str, seen: "_SeenKeys") -> tuple:
    phone_text, name, date_text, time_text, amount_text, items_text, note, ref = cells
    phone = run.phone_of(phone_text)
    try:
        at, day = dates.moment(date_text, time_text or None)
    except CellError as exc:
        if time_text and str(exc).startswith("not a time of day"):
            raise _RowError("time", time_text, str(exc)) from None
        raise _RowError("date", date_text, str(exc)) from None
    if at > now:
        raise _RowError("date", date_text, f"visit is in the future: {date_text.strip()!r}")
    amount = run.amount(amount_text, "amount")
    items = run.count(items_text, "items", default=1)
    note = text(note)
    ref = text(ref)
    key = hashlib.blake2b(f"{phone}\x1f{at}\x1f{amount}\x1f{items}\x1f{note or ''}\x1f{ref or ''}".encode(),
                          digest_size=16).digest()
    repeat = seen.count(int.from_bytes(key[:8], "big"))
    if repeat:
        if run.options.strict:
            raise _RowError(None, None, "the same visit as an earlier row (--strict refuses duplicates)")
        key = hashlib.blake2b(key + repeat.to_bytes(4, "big"), digest_size=16).digest()
    return (line, phone, at, day, amount, items, note, ref, text(name), key, raw)


class _VisitWriter:
    """Batches of parsed visit rows -> already imported, rejected, or inserted."""

    def __init__(self, run: _Run, conn):
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
            keep |= _unique_indexes_on(self.conn, "visits", "import_key")
        if "ref" in self.run.header_of:
            keep |= _unique_indexes_on(self.conn, "visits", "ref")
        self.indexes = _Indexes(self.conn, "visits", self.run.source.lines, keep)

    def add(self, batch: list) -> None:
        run, conn, summary = self.run, self.conn, self.run.summary
        done = set()
        if self.prior_keys:
            for chunk in _chunks([row[9] for row in batch]):
                done.update(r[0] for r in conn.execute(
                    f"SELECT import_key FROM visits WHERE import_key IN ({_marks(len(chunk))})", chunk))
        refs = {}
        for chunk in _chunks([row[7] for row in batch if row[7]]):
            refs.update((r[0], r[1]) for r in conn.execute(
                f"SELECT ref, id FROM visits WHERE ref IN ({_marks(len(chunk))})", chunk))
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
        for row in fresh:
            customers.add(ids[row[1]], row[2], row[4], row[8])
        summary["visits_added"] += len(fresh)
        summary["rows_imported"] += len(fresh)


def _replay(run: _Run, conn, before: int) -> None:
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

    def __init__(self, run: _Run, conn, before: int):
        self.job, self.conn, self.before = run, conn, before
        self.config = run.config
        self.balances: dict[int, list] = {}  # customer id -> [points, credit, punches]
        self.ledger, self.vouchers = [], []
        self.next_ledger = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger").fetchone()[0]

    def replay(self) -> None:
        config, conn = self.config, self.conn
        total = conn.execute("SELECT COUNT(*) FROM visits WHERE id > ?", (self.before,)).fetchone()[0]
        indexes = [_Indexes(conn, "ledger", total * 2), _Indexes(conn, "vouchers", total // 10)]
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
                    expiry = rules.voucher_expires_at(self.config, max(at, self.job.now))
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
        codes = _voucher_codes(self.conn, len(self.vouchers))
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
