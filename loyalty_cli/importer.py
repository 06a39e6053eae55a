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
import secrets
from dataclasses import dataclass, field

from . import clock, money, rules, store
from .counter import FUTURE_SLACK
from .errors import BadInput
from .import_columns import IGNORED, NAME_PARTS, Columns
from .import_formats import csv_rows, json_text, jsonl_rows, open_source, write_rejects
from .import_phones import Normaliser
from .import_values import CellError, Dates, Rewards, email, text, whole

MAX_LISTED = 20  # problems listed in the summary (all are counted, all go to --rejects)
BATCH = 5000  # visit rows per round of bulk SQL
CHUNK = 500  # values per IN (...) lookup
PROGRESS_EVERY = 2000


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
        self.source = open_source(options.file, options.encoding, options.format, options.delimiter)
        try:
            self.columns = Columns(kind, options.mapping, options.ignore, self.source.name)
        except BaseException:
            self.source.close()
            raise
        self.header_of: dict[str, str] = {}
        self.phone = Normaliser(self.config.shop.phone_region)
        self.now = clock.now()
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
        """(line, {field: text}, raw) for every non-blank row; blank rows are counted as skipped."""
        if self.source.format == "jsonl":
            yield from self._json_records()
            return
        rows = csv_rows(self.source)
        first = next(rows, None)
        if first is None:
            raise BadInput(f"{self.source.name}: no header row (the first line must name the columns)")
        header = self.source.header
        pairs = self.columns.resolve(header)
        self.header_of = {name: header[index] for index, name in pairs}
        named = {index for index, name in enumerate(header) if name}
        width = len(header)
        plain = [(index, name) for index, name in pairs if name not in NAME_PARTS]
        names = [index for index, name in pairs if name in NAME_PARTS]
        for line, values in rows:
            self.summary["rows_read"] += 1
            if not any(values) or not any(cell.strip() for cell in values):
                self.summary["skipped"] += 1
                continue
            if len(values) > width or len(named) < width:
                stray = [i for i, cell in enumerate(values) if cell.strip() and (i >= width or i not in named)]
                if stray:
                    self.reject(line, values, None, values[stray[0]],
                                f"a value in column {stray[0] + 1}, which has no header")
                    continue
            record = {name: (values[index] if index < len(values) else "") for index, name in plain}
            if names:
                record["name"] = " ".join(values[i] for i in names if i < len(values) and values[i].strip())
            yield line, record, values

    def _json_records(self):
        fields: dict[str, str] = {}
        for line, obj in jsonl_rows(self.source):
            self.summary["rows_read"] += 1
            record, parts = {}, []
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
                        record[name] = cell
            except _RowError as exc:
                self.reject(line, obj, exc.field, exc.value, exc.reason)
                continue
            if parts:
                record["name"] = " ".join(parts)
            if not any(str(v).strip() for v in record.values()):
                self.summary["skipped"] += 1
                continue
            yield line, record, obj

    def reject(self, line: int, raw, field_name, value, reason: str, rows: int = 1) -> None:
        column = self.header_of.get(field_name, field_name) if field_name else None
        problem = Problem(line, column, None if value is None else str(value), reason)
        self.problems.append(problem)
        self.rejected.append((line, raw, problem.describe(self.source.name).split(": ", 1)[1]))
        self.summary["rejected"] += rows

    def tick(self, line: int, description: str = "reading") -> None:
        self.progress(description, line, self.source.lines)

    # -- cells --

    def phone_of(self, record) -> str:
        value = record.get("phone") or ""
        if not value.strip():
            raise _RowError("phone", value, "phone is missing")
        try:
            return self.phone(value)
        except BadInput as exc:
            raise _RowError("phone", value, str(exc)) from None

    def amount(self, record, name: str) -> int:
        value = record.get(name) or ""
        if not value.strip():
            return 0
        try:
            return money.parse_amount(value, self.currency, name)
        except BadInput as exc:
            raise _RowError(name, value, str(exc)) from None

    def count(self, record, name: str, default: int = 0) -> int:
        value = record.get(name) or ""
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
                raise BadInput(f"--map/--ignore: no line of {self.source.name} has a key {key!r}")


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


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
    conn.executemany("INSERT OR IGNORE INTO phone_keys (key, phone) VALUES (?, ?)",
                     ((cache_key(typed, region), e164) for typed, e164 in normaliser.cache.items()
                      if isinstance(e164, str)))


# ---- cards -----------------------------------------------------------------------------------

@dataclass
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
    lines: list = field(default_factory=list)
    raws: list = field(default_factory=list)

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
        self.raws += other.raws

    def digest(self, card: str) -> str:
        """What a re-run must find unchanged: the balances carried over (names may be edited)."""
        content = json.dumps([self.phone, card, self.punches, self.points, self.credit, sorted(self.owed.items())])
        return hashlib.sha256(content.encode()).hexdigest()[:32]


def import_cards(session, options: Options, progress=None) -> dict:
    run = _Run(session, "cards", options, progress)
    rule = _punch_card(run.config, options.card)
    run.summary["card"] = rule.name if rule else None
    rewards = Rewards(run.config.rewards)
    dates = Dates(run.config.tz, options.date_format)
    cards: dict[str, _Card] = {}
    merges = []
    try:
        for line, record, raw in run.records():
            if line % PROGRESS_EVERY < 1:
                run.tick(line)
            try:
                card = _card(run, record, line, rule, rewards, dates)
            except _RowError as exc:
                run.reject(line, raw, exc.field, exc.value, exc.reason)
                continue
            card.lines, card.raws = [line], [raw]
            earlier = cards.get(card.phone)
            if earlier is None:
                cards[card.phone] = card
            elif options.strict:
                run.reject(line, raw, "phone", record.get("phone"),
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


def _card(run: _Run, record, line, rule, rewards: Rewards, dates: Dates) -> _Card:
    phone = run.phone_of(record)
    punches = run.count(record, "punches")
    if punches and (rule is None or isinstance(rule, _Ambiguous)):
        why = (f"the config has several punch cards ({rule.names}): choose one with --card" if rule
               else "the config has no punch card to put punches on")
        raise _RowError("punches", record.get("punches"), why)
    owed: dict[str, int] = {}
    default_reward = rule.reward if rule is not None else None
    reward_id = (record.get("reward") or "").strip()
    if reward_id:
        try:
            default_reward = rewards.reward_id(reward_id)
        except CellError as exc:
            raise _RowError("reward", reward_id, str(exc)) from None
    rewards_text = (record.get("rewards") or "").strip()
    if rewards_text:
        try:
            owed = rewards.parse(rewards_text, default_reward, "rewards")
        except CellError as exc:
            raise _RowError("rewards", rewards_text, str(exc)) from None
    elif reward_id:
        owed = {default_reward: 1}
    mail = (record.get("email") or "").strip()
    if mail:
        try:
            mail = email(mail)
        except CellError as exc:
            raise _RowError("email", mail, str(exc)) from None
    last = (record.get("last_visit") or "").strip()
    last_visit = None
    if last:
        try:
            last_visit = dates.moment(last)[0]
        except CellError as exc:
            raise _RowError("last_visit", last, str(exc)) from None
        if last_visit > clock.to_db(run.now):
            raise _RowError("last_visit", last, f"last visit is in the future: {last!r}")
    return _Card(line, phone, text(record.get("name")), mail or None, text(record.get("note")), last_visit,
                 punches, run.count(record, "points"), run.amount(record, "credit"), owed)


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
            for line, raw in zip(card.lines, card.raws):
                run.reject(line, raw, "phone", card.phone, reason)
            continue
        full = card.punches // rule.every if card.punches and rule is not None and rule.every else 0
        open_punches = card.punches - full * (rule.every if full else 0)
        row = existing.get(card.phone)
        if row is None:
            customer_id, next_customer = next_customer, next_customer + 1
            punches = {card_name: open_punches} if open_punches else {}
            new_rows.append((customer_id, card.phone, card.name, card.email, at, card.note, card.points,
                             card.credit, json.dumps(punches, sort_keys=True), card.last_visit))
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
    codes = iter(_voucher_codes(conn, len(vouchers)))
    code_of = {}
    for voucher in vouchers:
        voucher[0] = next(codes)
        code_of[voucher[7]] = voucher[0]
    ledger = [(*row[:9], code_of.get(row[0]), *row[10:]) for row in ledger]
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
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", vouchers)
    conn.executemany(
        "INSERT INTO import_cards (phone, card, customer_id, import_id, line, digest) VALUES (?, ?, ?, ?, ?, ?)", keys)
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
        self.conn.executemany(
            "UPDATE customers SET visits = visits + ?, spend = spend + ?, "
            "last_visit_at = MAX(COALESCE(last_visit_at, ''), ?), "
            "enrolled_at = CASE WHEN ? THEN MIN(enrolled_at, ?) ELSE enrolled_at END WHERE id = ?",
            ((v, s, last, cid in self.created, first, cid) for cid, (v, s, first, last) in self.totals.items()))
        self.conn.executemany("UPDATE customers SET name = ? WHERE id = ? AND name IS NULL",
                              ((name, cid) for cid, name in self.names.items()))
        self.run.summary["customers_updated"] = len(self.totals.keys() - self.created)


def _write_visits(run: _Run, conn) -> None:
    options = run.options
    dates = Dates(run.config.tz, options.date_format)
    customers = _Customers(run, conn)
    before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM visits").fetchone()[0]
    now = clock.to_db(run.now + FUTURE_SLACK)
    seen: dict[int, int] = {}  # digest prefix -> identical rows so far in this file
    batch = []
    for line, record, raw in run.records():
        try:
            batch.append(_visit(run, record, line, raw, dates, now, seen))
        except _RowError as exc:
            run.reject(line, raw, exc.field, exc.value, exc.reason)
        if len(batch) >= BATCH:
            _visit_batch(run, conn, customers, batch, before)
            batch = []
            run.tick(line, "importing visits")
    if batch:
        _visit_batch(run, conn, customers, batch, before)
    run.tick(run.source.lines, "importing visits")
    if run.problems and not options.skip_invalid:
        return  # rolled back: nothing more worth doing
    customers.save()
    _remember_phones(conn, run.phone)
    if options.apply_rules:
        _replay(run, conn, before)


def _visit(run: _Run, record, line, raw, dates: Dates, now: str, seen: dict) -> tuple:
    phone = run.phone_of(record)
    value = record.get("date") or ""
    try:
        at, day = dates.moment(value, record.get("time"))
    except CellError as exc:
        raise _RowError("date", value, str(exc)) from None
    if at > now:
        raise _RowError("date", value, f"visit is in the future: {value.strip()!r}")
    amount = run.amount(record, "amount")
    items = run.count(record, "items", default=1)
    note = text(record.get("note"))
    ref = text(record.get("ref"))
    content = f"{phone}\x1f{at}\x1f{amount}\x1f{items}\x1f{note or ''}\x1f{ref or ''}".encode()
    key = hashlib.blake2b(content, digest_size=16).digest()
    short = int.from_bytes(key[:8], "big")
    repeat = seen.get(short, 0)
    seen[short] = repeat + 1
    if repeat:
        if run.options.strict:
            raise _RowError(None, None, "the same visit as an earlier row (--strict refuses duplicates)")
        key = hashlib.blake2b(key + repeat.to_bytes(4, "big"), digest_size=16).digest()
    return (line, phone, at, day, amount, items, note, ref, text(record.get("name")), key, raw)


def _visit_batch(run: _Run, conn, customers: _Customers, batch: list, before: int) -> None:
    summary = run.summary
    keys = [row[9] for row in batch]
    done = set()
    for chunk in _chunks(keys):
        done.update(r[0] for r in conn.execute(
            f"SELECT import_key FROM visits WHERE import_key IN ({_marks(len(chunk))})", chunk))
    refs = {}
    wanted_refs = [row[7] for row in batch if row[7]]
    for chunk in _chunks(wanted_refs):
        refs.update((r[0], r[1]) for r in conn.execute(
            f"SELECT ref, id FROM visits WHERE ref IN ({_marks(len(chunk))})", chunk))
    fresh, batch_refs = [], {}
    for row in batch:
        if row[9] in done:
            summary["already_imported"] += 1
            continue
        ref = row[7]
        if ref:
            if ref in refs and refs[ref] <= before:
                summary["already_imported"] += 1  # recorded at the counter, or by an earlier import
                continue
            if ref in refs or ref in batch_refs:
                run.reject(row[0], row[10], "ref", ref, f"receipt {ref!r} appears on an earlier row of this file "
                                                        "with a different visit")
                continue
            batch_refs[ref] = row[0]
        fresh.append(row)
    if run.problems and not run.options.skip_invalid:
        return  # validating only: this run will be rolled back
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
    """--apply-rules: the visits just added, in time order, through the engine, as the counter would."""
    config, summary = run.config, run.summary
    total = conn.execute("SELECT COUNT(*) FROM visits WHERE id > ?", (before,)).fetchone()[0]
    visits = conn.execute("SELECT id, customer_id, at, amount, items FROM visits WHERE id > ? ORDER BY at, id",
                          (before,))
    for done, (visit_id, customer_id, at_text, amount, items) in enumerate(visits, start=1):
        at = clock.from_db(at_text)
        row = store.customer_by_id(conn, customer_id)
        outcome = rules.apply_visit(config, store.state(conn, row, at), rules.Visit(at, amount, items))
        if outcome.entries:
            codes = store.write_entries(conn, customer_id, at, outcome.entries,
                                        voucher_expiry=rules.voucher_expires_at(config, at), visit_id=visit_id)
            summary["vouchers_issued"] += len(codes)
            summary["punches"] += sum(e.punches for e in outcome.entries if e.kind == "punch")
            summary["points"] += sum(e.points for e in outcome.entries if e.points > 0)
            summary["credit"] += sum(e.credit for e in outcome.entries if e.credit > 0)
        if done % PROGRESS_EVERY == 0:
            run.progress("applying rules", done, total)
    run.progress("applying rules", total, total)
