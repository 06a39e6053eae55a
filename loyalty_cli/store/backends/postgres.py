"""PostgreSQL through psycopg 3, behind the small part of sqlite3's interface the code uses.

`connect(url)` returns a `Connection` whose `execute`/`executemany`/`cursor` take the very SQL
texts written for SQLite and translate them once each (`translate`, cached): the one dialect
layer. Rows are read by position or by name like sqlite3.Row; an INSERT into a table with an
`id` gets `RETURNING id`, which `lastrowid` reads. The connection is in autocommit mode, so
db.py drives BEGIN/COMMIT/SAVEPOINT itself, as it does on SQLite.

The schema is SQLite's, translated, created or upgraded on open: postgres_schema.py.
"""

import re
import time
from functools import lru_cache
from urllib.parse import urlsplit

from loyalty_cli.domain.errors import NoDatabase, Refused, Unreachable
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store.backends.postgres_link import link_options

# Reserving a block of ids waits for tills' open transactions on that sequence, and tills queue
# behind it meanwhile: it gives up after RESERVE_WAIT_MS (so a till never waits longer for it)
# and tries again, RESERVE_TRIES times before saying the database is busy.
RESERVE_WAIT_MS = 100
RESERVE_TRIES = 60
# Tables whose rows get their id from an identity column (INSERT ... RETURNING id).
ID_TABLES = ("customers", "visits", "ledger", "imports", "feedback", "consents", "contacts", "config_versions")


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise Refused(Phrase("a PostgreSQL database needs psycopg: install loyalty-cli[postgres]")) from None
    return psycopg


def connect(url: str, version_wanted: int, create: bool = True):
    psycopg = _psycopg()
    try:
        if urlsplit(url).password:
            raise Refused(Phrase("a password in the database URL is refused: use PGPASSWORD or ~/.pgpass"))
        raw = psycopg.connect(url, autocommit=True, **link_options(url))
    except psycopg.OperationalError as exc:
        raise _connect_error(url, exc) from None
    except (psycopg.ProgrammingError, ValueError) as exc:  # a malformed URL (urlsplit: '[' with no ']')
        raise Refused(Phrase("cannot use database URL {url}: {reason}", url=safe_url(url),
                             reason=str(exc).strip())) from None
    _register_loaders(raw, psycopg)
    conn = Connection(raw, url)
    from loyalty_cli.store.backends import postgres_schema as schema

    version = schema.schema_version(conn)
    if version is None:
        if not create:
            raise NoDatabase(Phrase("no loyalty database at {url}: nothing recorded there yet", url=safe_url(url)))
        schema.create_schema(conn, version_wanted)
    elif version > version_wanted:
        raise Refused(Phrase("{url} was written by a newer loyalty-cli (schema {version}); upgrade to use it",
                             url=safe_url(url), version=version))
    elif version < version_wanted:
        schema.upgrade_schema(conn, version, version_wanted)
    return conn


def safe_url(url: str) -> str:
    return str(url)


def _connect_error(url: str, exc) -> Exception:
    """Unreachable (a till may then work offline) when no server answered; Refused when one did
    and said no (no such database or role, authentication)."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    answered = ("does not exist", "authentication", "password", "permission denied", "no pg_hba.conf")
    if any(word in str(exc) for word in answered):
        return Refused(Phrase("cannot open database {path}: {exc}", path=safe_url(url), exc=text))
    return Unreachable(Phrase("the database server cannot be reached ({url}): {reason}", url=safe_url(url),
                              reason=text))


def _register_loaders(raw, psycopg) -> None:
    """Sums of BIGINTs are NUMERIC in PostgreSQL: read them as int (as SQLite returns), and a
    fraction as float; JSON comes back as its text, as SQLite's JSON functions return it."""
    from psycopg.adapt import Loader

    class NumericLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEN") else int(text)

    class TextLoader(Loader):
        def load(self, data):
            return bytes(data).decode()

    raw.adapters.register_loader("numeric", NumericLoader)
    raw.adapters.register_loader("json", TextLoader)


# ---- the connection ----------------------------------------------------------------------------

class Connection:
    """What the code uses of sqlite3.Connection, over a psycopg connection in autocommit mode."""

    dialect = "postgresql"

    def __init__(self, raw, url: str):
        self.raw, self.url = raw, url
        self.writing = False  # inside db.transaction: customer reads lock their row
        self.explicit_ids = False  # rows were written with ids of their own: move the sequences on
        self.idle: list = []  # psycopg cursors no Cursor holds any more: the next statements reuse them
        self.sound_prepared = False  # still_sound's statement, prepared on this connection

    def execute(self, sql: str, params=()):
        return Cursor(self).execute(sql, params)

    def executemany(self, sql: str, seq):
        return Cursor(self).executemany(sql, seq)

    def cursor(self):
        return Cursor(self)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


IDLE_CURSORS = 4
SMALL_RESULT = 100  # rows an idle cursor may keep until it is reused


class Cursor:
    """A statement's cursor, as sqlite3's. Its psycopg cursor goes back to the connection when
    no one holds this one any more (its rows read, or it was dropped), and a later statement
    reuses it: a new psycopg cursor (its own adapters map and transformer) cost a running till
    about 25 us of CPU a statement, 15 statements a visit. Iterating keeps this Cursor alive,
    so rows are never read from a psycopg cursor that a later statement reused."""

    def __init__(self, conn: Connection):
        self.conn = conn
        if conn.idle:
            self.raw = conn.idle.pop()
        else:
            self.raw = conn.raw.cursor()
            self.raw.row_factory = _named_rows
        self.lastrowid = None

    def __del__(self):
        raw, idle = getattr(self, "raw", None), self.conn.idle
        if raw is None or raw.closed or len(idle) >= IDLE_CURSORS:
            return
        result = raw.pgresult
        if result is None or result.ntuples <= SMALL_RESULT:  # a large one is freed now, as before
            if raw.row_factory is not _named_rows:
                raw.row_factory = _named_rows
            idle.append(raw)

    @property
    def row_factory(self):
        return self.raw.row_factory

    @row_factory.setter
    def row_factory(self, factory) -> None:
        from psycopg.rows import tuple_row

        self.raw.row_factory = tuple_row if factory is None else factory

    @property
    def description(self):
        return self.raw.description

    def _has_rows(self) -> bool:
        """Whether the statement returned rows (psycopg's `description` is not None), without
        building `description`: psycopg makes a Column object per column at each reading, ~200
        a visit, a fifth of a visit's CPU at the till."""
        return _returned_rows(self.raw.pgresult)

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount

    def execute(self, sql: str, params=()):
        text, returning = translate(sql, many=False)
        self.raw.execute(text, _params(params))
        if returning:
            row = self.raw.fetchone()
            self.lastrowid = row[0] if row else None
        return self

    def executemany(self, sql: str, seq):
        text, _ = translate(sql, many=True)
        self.raw.executemany(text, [_params(p) for p in seq])
        return self

    def fetchone(self):
        return self.raw.fetchone() if self._has_rows() else None

    def fetchall(self) -> list:
        return self.raw.fetchall() if self._has_rows() else []

    def fetchmany(self, size: int) -> list:
        return self.raw.fetchmany(size) if self._has_rows() else []

    def __iter__(self):
        if self._has_rows():
            yield from self.raw  # a generator: it holds this Cursor (see the class) until the last row

    def close(self) -> None:
        self.raw.close()


def _params(params):
    if params is None:
        return ()
    return params if isinstance(params, dict) else tuple(params)


@lru_cache(maxsize=64)
def _row_class(names: tuple):
    index = {name: i for i, name in enumerate(names)}

    class Row(tuple):
        """A row read by position or by column name, like sqlite3.Row."""

        __slots__ = ()

        def __getitem__(self, key):
            return tuple.__getitem__(self, index[key] if isinstance(key, str) else key)

        def keys(self):
            return list(names)

    return Row


def _returned_rows(result) -> bool:
    from psycopg.pq import ExecStatus

    return result is not None and (result.nfields > 0 or result.status in (ExecStatus.TUPLES_OK,
                                                                           ExecStatus.SINGLE_TUPLE))


def _named_rows(cursor):
    result = cursor.pgresult
    if not _returned_rows(result):
        return tuple
    return _row_class(tuple(result.fname(i).decode() for i in range(result.nfields)))


# ---- the dialect: SQLite's SQL text, as PostgreSQL reads it ------------------------------------

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_INSERT_ID = re.compile(rf"^\s*INSERT INTO ({'|'.join(ID_TABLES)})\b[^;]*\bVALUES\b", re.IGNORECASE | re.DOTALL)
_SIMPLE = [
    (re.compile(r"\bINSERT OR IGNORE INTO\b", re.I), "INSERT INTO"),
    (re.compile(r"\bNOT INDEXED\b", re.I), ""),
    (re.compile(r"\bINDEXED BY \w+", re.I), ""),
    (re.compile(r"\browid\b", re.I), "id"),
    (re.compile(r"\bAS INTEGER\)", re.I), "AS BIGINT)"),
    (re.compile(r"\bAS REAL\)", re.I), "AS DOUBLE PRECISION)"),
    (re.compile(r"\bIS NOT (?!NULL\b)", re.I), "IS DISTINCT FROM "),
    (re.compile(r"\bIS (?!NOT\b|NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.I), "IS NOT DISTINCT FROM "),
    (re.compile(r"\bNOT LIKE\b", re.I), "NOT ILIKE"),
    (re.compile(r"(?<!NOT )\bLIKE\b", re.I), "ILIKE"),
    (re.compile(r"([\w.]+) COLLATE NOCASE", re.I), r"lower(\1)"),
    (re.compile(r"\bjson_array\(", re.I), "json_build_array("),
    (re.compile(r"(?<=[\s(,])\+(?=[A-Za-z_])"), ""),  # SQLite's `+column`: use no index for it
]
_CALL = re.compile(r"\b(MIN|MAX|group_concat|julianday|json_group_array)\(", re.I)


@lru_cache(maxsize=1024)
def translate(sql: str, many: bool = False) -> tuple[str, bool]:
    """(the PostgreSQL text of a SQLite query, whether it ends RETURNING id)."""
    literals: list[str] = []

    def hide(match) -> str:
        literals.append(match.group(0))
        return f"\x00{len(literals) - 1}\x00"

    text = _LITERAL.sub(hide, sql).replace("%", "%%")
    ignore = bool(re.search(r"\bINSERT OR IGNORE\b", text, re.I))
    for pattern, replacement in _SIMPLE:
        text = pattern.sub(replacement, text)
    text = _rewrite_calls(text)
    text = _NAMED.sub(r"%(\1)s", text).replace("?", "%s")
    if ignore:
        text = text.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    returning = not many and not ignore and bool(_INSERT_ID.match(text)) and "RETURNING" not in text.upper()
    if returning:
        text = text.rstrip().rstrip(";") + " RETURNING id"
    text = re.sub("\x00(\\d+)\x00", lambda m: literals[int(m.group(1))].replace("%", "%%"), text)
    return text, returning


def _rewrite_calls(text: str) -> str:
    """Scalar MIN/MAX of two values -> LEAST/GREATEST; group_concat -> string_agg; julianday
    -> a Julian day number from the ISO text."""
    out, pos = [], 0
    for match in _CALL.finditer(text):
        if match.start() < pos:
            continue
        start = match.end()
        end = _closing(text, start)
        args = _rewrite_calls(text[start:end])
        name = match.group(1).lower()
        if name in ("min", "max") and _top_level_comma(args):
            call = f"{'LEAST' if name == 'min' else 'GREATEST'}({args})"
        elif name == "group_concat":
            call = f"string_agg({args}, ',')"
        elif name == "json_group_array":  # SQLite's is [] over no rows, json_agg's NULL
            call = f"COALESCE(json_agg({args}), '[]')"
        elif name == "julianday":
            call = f"(EXTRACT(EPOCH FROM CAST({args} AS TIMESTAMP)) / 86400.0 + 2440587.5)"
        else:
            call = f"{match.group(1)}({args})"
        out.append(text[pos:match.start()] + call)
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def _closing(text: str, start: int) -> int:
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced parentheses in SQL: {text!r}")


def _top_level_comma(args: str) -> bool:
    depth = 0
    for ch in args:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            return True
    return False


def reset_sequences(conn) -> None:
    """After rows written with their own ids (an import, a copy): each identity continues
    after the largest id."""
    for table in ID_TABLES:
        conn.raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"GREATEST((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def reserve_ids(conn, table: str, count: int) -> int:
    """The first of `count` consecutive ids taken at once from `table`'s identity sequence.

    nextval and setval alone would race with a till's nextval in between; ALTER SEQUENCE (a
    no-op here) takes the lock that every nextval on the sequence waits for, so inside its
    transaction nextval-then-setval is one step. It runs on a connection of its own and commits
    at once: the import's transaction never holds that lock (it inserts with the ids reserved,
    never calling nextval on these sequences), and the tills wait a few milliseconds at most.
    """
    psycopg = _psycopg()
    with psycopg.connect(conn.url, autocommit=True, **link_options(conn.url)) as side:
        side.execute(f"SET lock_timeout = {int(RESERVE_WAIT_MS)}")
        sequence = side.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
        for attempt in range(RESERVE_TRIES):
            try:
                with side.transaction():
                    side.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
                    first = side.execute("SELECT nextval(%s)", (sequence,)).fetchone()[0]
                    side.execute("SELECT setval(%s, %s)", (sequence, first + count - 1))
                return first
            except psycopg.errors.LockNotAvailable:
                time.sleep(min(0.02 * (attempt + 1), 0.5))  # let the queued tills through first
    raise Refused(Phrase("database is busy ({exc}); try again in a moment",  # db.transaction's words
                         exc=f"no block of {count} {table} ids could be set aside"))


def ledger_triggers(conn) -> dict[str, str]:
    """name -> its definition, in the words doctor looks for (BEFORE event ON ledger, raising)."""
    rows = conn.raw.execute(
        "SELECT t.tgname, pg_get_triggerdef(t.oid), p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE t.tgrelid = 'ledger'::regclass AND NOT t.tgisinternal AND t.tgenabled != 'D'").fetchall()
    out = {}
    for name, definition, body in rows:
        event = re.search(r"BEFORE (\w+) ON", definition)
        refuses = "RAISE EXCEPTION" in body.upper()
        out[name] = f"BEFORE {event.group(1) if event else '?'} ON ledger" + (" RAISE(ABORT" if refuses else "")
    return out


def is_transient(exc) -> bool:
    """A conflict with another till that a fresh attempt resolves: a serialization failure, a
    deadlock, or a unique key (a phone enrolled or a ref recorded meanwhile) that the retry finds."""
    import psycopg.errors as errors

    return isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected | errors.UniqueViolation)
