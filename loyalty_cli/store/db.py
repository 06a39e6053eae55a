"""The database connection: opening, migrating, transactions, savepoints and pragmas.

The only module that says BEGIN, COMMIT, ROLLBACK, SAVEPOINT or PRAGMA (migrations.py aside,
which versions the schema): every other module asks for a transaction, a snapshot, a savepoint
or bulk-writing settings here, so how the database is driven is decided in one place.
The counter path uses the standard library's sqlite3 directly (sqlite-utils costs ~0.13 s to
import); sqlite-utils builds the schema in migrations.py.

A `postgresql://` URL opens PostgreSQL instead (store/backends/postgres.py, which says how one
SQL text serves both): each function here does the same on either connection, deciding by
`is_postgres(conn)`, so no caller knows which backend it runs on. Nothing of psycopg is imported
on the SQLite path.
"""

import os
import sqlite3
from contextlib import contextmanager, suppress
from pathlib import Path

from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store.backends import is_url

SCHEMA_VERSION = 13
BUSY_TIMEOUT_S = 5.0


def is_postgres(conn) -> bool:
    return not isinstance(conn, sqlite3.Connection)


def exists(target) -> bool:
    """Whether the database is there: a file, or (a server's, known only once connected) a URL."""
    return is_url(target) or Path(target).exists()


def connect(path, create: bool = True, make_folder: bool = True):
    """Open (and on first use create, owner-only) the database, migrated to this release.

    make_folder=False (a path the user named) refuses a missing folder: a typo in --db must
    not quietly start an empty database somewhere else. A postgresql:// URL opens PostgreSQL
    (creating the schema in an empty database when `create`).
    """
    if is_url(path):
        from loyalty_cli.store.backends import postgres

        return postgres.connect(str(path), SCHEMA_VERSION, create=create)
    path = Path(path)
    if path.is_dir():
        raise BadInput(Phrase("{path} is a folder, not a database file", path=path))
    if not path.exists():
        if not create:
            raise Refused(Phrase("no database at {path}", path=path))
        if not make_folder and not path.parent.is_dir():
            raise BadInput(Phrase("no such folder for the database: {parent}", parent=path.parent))
        create_private(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise Refused(Phrase("cannot open database {path}: {exc}", path=path, exc=exc)) from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Zero the bytes of a row as it is changed or deleted, where that costs no extra write
        # (FAST: inside the b-tree pages being written anyway): a customer's old name, or the
        # row as it stood before each visit updated it, does not linger in the page's free space
        # until `loyalty forget` needs it gone (see erasing()).
        conn.execute("PRAGMA secure_delete = FAST")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise Refused(Phrase("{path} is not a loyalty database: {exc}", path=path, exc=exc)) from None
        raise Refused(Phrase("cannot open database {path}: {exc}", path=path, exc=exc)) from None
    if version != SCHEMA_VERSION:
        from loyalty_cli.store.migrations import migrate

        migrate(conn, version, SCHEMA_VERSION, path)
    return conn


def still_sound(conn) -> int | None:
    """Whether a connection kept open since an earlier visit (services/kept.py) can serve the next:
    it answers, it is in no transaction, and its database is still at this release's schema (a
    newer release may have migrated it meanwhile). None when it cannot; else the id of the newest
    published config (0: none), which the same statement reads, so that a till learns whether the
    rules in force changed without a statement of its own (config_versions.latest)."""
    if is_postgres(conn):
        from loyalty_cli.store.backends import postgres_link

        return postgres_link.still_sound(conn, SCHEMA_VERSION)
    try:
        if conn.in_transaction:
            return None
        version, published = conn.execute(_SOUND).fetchone()
    except sqlite3.Error:
        return None
    return published if version == SCHEMA_VERSION else None


_SOUND = "SELECT (SELECT user_version FROM pragma_user_version), (SELECT COALESCE(MAX(id), 0) FROM config_versions)"


def create_private(path: Path) -> None:
    """An empty file readable by its owner only: it holds phone numbers (SQLite's -wal and
    -shm files copy these permissions)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise Refused(Phrase("cannot create database {path}: {strerror}", path=path, strerror=exc.strerror)) from None


def remove_if_empty(path: Path) -> None:
    """Delete a database file (and its WAL files) that holds no customer, visit or ledger line:
    what a refused command created. Anything recorded in it since, by another till, keeps it."""
    if is_url(path):
        return  # a server's database is not a file a command leaves behind
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            held = conn.execute("SELECT (SELECT COUNT(*) FROM customers) + (SELECT COUNT(*) FROM visits) "
                                "+ (SELECT COUNT(*) FROM ledger)").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return  # not ours to judge: leave it
    if held == 0:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")


@contextmanager
def transaction(conn):
    """One IMMEDIATE transaction: it takes the write lock up front, so two tills never
    interleave a read-modify-write; anything raised inside rolls everything back.

    On PostgreSQL a READ COMMITTED transaction in which every read of a customer row locks that
    row (`locking`): tills serving different customers never wait for each other."""
    if is_postgres(conn):
        yield from _pg_transaction(conn)
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise Refused(Phrase("database is busy ({exc}); try again in a moment", exc=exc)) from None
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _pg_transaction(conn):
    conn.execute("BEGIN")
    conn.writing = True
    try:
        yield conn
        if conn.explicit_ids:
            from loyalty_cli.store.backends.postgres import reset_sequences

            reset_sequences(conn)
    except BaseException:
        conn.writing = conn.explicit_ids = False
        conn.execute("ROLLBACK")
        raise
    conn.writing = conn.explicit_ids = False
    conn.execute("COMMIT")


def main_schema(conn) -> str:
    """The schema that holds the database's tables, to name them past same-named temporary views:
    SQLite's `main`; on PostgreSQL the first schema of the search path (a quoted identifier)."""
    if not is_postgres(conn):
        return "main"
    name = conn.execute("SELECT current_schema()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'


def locking(conn) -> str:
    """The clause that locks the customer row a read returns, for the rest of the transaction:
    `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose BEGIN IMMEDIATE holds the whole file."""
    return " FOR UPDATE" if getattr(conn, "writing", False) else ""


def wrote_explicit_ids(conn) -> None:
    """Rows were inserted with ids of their own (a copy): PostgreSQL's identity sequences
    move past them at commit."""
    if is_postgres(conn):
        conn.explicit_ids = True


def reserve_ids(conn, table: str, count: int, after: int = 0) -> int:
    """The first of `count` consecutive ids of `table` set aside for rows this connection is to
    insert with explicit ids (an import), which no other writer gets meanwhile.

    SQLite: the ids after the largest there (and after `after`: ids planned but not inserted
    yet); the open IMMEDIATE transaction holds the file, so nobody else can take them.
    PostgreSQL: taken from the table's identity sequence at once, in a short transaction of
    another connection (backends/postgres.reserve_ids): the import locks no table, so a till
    adds its visits meanwhile, with ids outside the import's block.
    """
    if is_postgres(conn):
        from loyalty_cli.store.backends.postgres import reserve_ids as pg_reserve_ids

        return pg_reserve_ids(conn, table, count)
    largest = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    return max(largest, after) + 1


IMPORT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('loyalty-cli import'))"  # one import at a time (PostgreSQL)


def one_import_at_a_time(conn) -> None:
    """Until the transaction ends, no other import runs (two imports of one file, each unable to
    see the other's rows, would both add them). Tills never ask for this lock, so they do not
    wait for it: they wait only for rows the import has locked. SQLite's IMMEDIATE transaction
    already holds the file."""
    if is_postgres(conn):
        conn.execute(IMPORT_LOCK)


def is_transient(exc) -> bool:
    """A conflict between tills that running the command's work again resolves (PostgreSQL
    only: SQLite's IMMEDIATE transactions wait for each other instead)."""
    if isinstance(exc, sqlite3.Error) or "psycopg" not in type(exc).__module__:
        return False
    from loyalty_cli.store.backends.postgres import is_transient as pg_transient

    return pg_transient(exc)


def is_database_error(exc) -> bool:
    """An error of either database engine (locked, disk full, damaged, connection lost)."""
    if isinstance(exc, sqlite3.DatabaseError):
        return True
    return type(exc).__module__.startswith("psycopg") and isinstance(exc, Exception)


@contextmanager
def savepoint(conn, name: str):
    """A savepoint inside the open transaction; yields a function that rolls back to it."""
    conn.execute(f"SAVEPOINT {name}")

    def roll_back() -> None:
        conn.execute(f"ROLLBACK TO {name}")

    yield roll_back
    conn.execute(f"RELEASE {name}")


@contextmanager
def bulk_writing(conn, cache_kib: int, own_ids: bool = True):
    """Settings for an import's one big transaction, restored after it.

    A bigger page cache, and a helper thread to sort when indexes are rebuilt (~10% faster).
    Foreign keys are off: every id the import writes comes from the database in this same
    transaction, or is one it has just created, and checking each row's references again cost
    ~1.7 s a million visits; `loyalty doctor` runs the full foreign key check.
    On PostgreSQL (foreign keys checked at commit) nothing changes, but for `own_ids` (a copy:
    rows with the ids they had) the identity sequences are moved past the largest ids at commit.
    An import passes own_ids=False: its ids come from blocks reserved in the sequences
    (reserve_ids), which are already past them while tills go on taking ids.
    """
    if is_postgres(conn):
        conn.explicit_ids = own_ids
        yield conn
        return
    conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    conn.execute("PRAGMA threads = 2")
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield conn
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


@contextmanager
def snapshot(conn):
    """One read transaction: every query of a run sees the same database, while the counter
    keeps recording visits (WAL: readers never block the writer, nor it them; on PostgreSQL a
    REPEATABLE READ transaction)."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if is_postgres(conn) else "BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:  # an error inside SQLite may have ended it already
            conn.execute("COMMIT")


@contextmanager
def erasing(conn):
    """One write transaction whose deleted and overwritten bytes are zeroed, freed pages too
    (PRAGMA secure_delete = ON): what `loyalty forget` erases must be gone from the file, not
    just unlinked from it. Follow it with empty_wal(): the WAL still holds earlier copies.
    On PostgreSQL a plain transaction: the server's files and their old row versions are the
    server's to recycle (VACUUM), out of a client's reach."""
    if is_postgres(conn):
        with transaction(conn):
            yield conn
        return
    conn.execute("PRAGMA secure_delete = ON")
    try:
        with transaction(conn):
            yield conn
    finally:
        conn.execute("PRAGMA secure_delete = FAST")


@contextmanager
def ledger_reasons_editable(conn):
    """Inside erasing(): the ledger's guard against UPDATE lifted for the reason text of lines,
    until the block ends, within the one transaction (no other connection ever sees the ledger
    unguarded; a rollback puts it back). SQLite drops the trigger and creates it again;
    PostgreSQL's trigger function lets through an UPDATE of `reason` alone while this
    transaction's `loyalty.erasing` setting is on (why not DISABLE TRIGGER:
    backends/postgres_schema.py)."""
    if is_postgres(conn):
        from loyalty_cli.store.backends.postgres_schema import allow_reason_edits

        allow_reason_edits(conn)
        conn.execute("SET LOCAL loyalty.erasing = 'on'")
        yield conn
        conn.execute("SET LOCAL loyalty.erasing = 'off'")
        return
    from loyalty_cli.store.migrations import LEDGER_TRIGGERS

    conn.execute("DROP TRIGGER ledger_no_update")
    yield conn
    conn.execute(LEDGER_TRIGGERS["ledger_no_update"])


def empty_wal(conn) -> bool:
    """Copy the WAL into the database and truncate it to nothing, so no earlier version of a
    page stays in it; False when a reader kept it busy past the busy timeout (the WAL then
    empties at a later checkpoint). PostgreSQL: nothing a client can do (see erasing())."""
    if is_postgres(conn):
        return True
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return busy == 0


def compact(conn) -> None:
    """Rebuild the file (VACUUM) with secure_delete on, then empty the WAL: the only way to drop
    copies of rows left in free space by a release that did not zero them. It holds the write
    lock for as long as copying the whole file takes, so it is run only when such a copy is found."""
    conn.execute("PRAGMA secure_delete = ON")
    try:
        conn.execute("VACUUM")
    finally:
        conn.execute("PRAGMA secure_delete = FAST")
    empty_wal(conn)


def unique_indexes_on(conn, table: str, column: str) -> set[str]:
    if is_postgres(conn):
        return set()  # only bulk.DeferredIndexes asks, and on PostgreSQL it keeps every index
    names = set()
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        columns = conn.execute(f"PRAGMA index_info({index['name']})")
        if index["unique"] and any(info["name"] == column for info in columns):
            names.add(index["name"])
    return names


def indexes_led_by(conn, table: str, columns: tuple) -> set[str]:
    """The indexes of `table` whose first columns are `columns`, in that order."""
    if is_postgres(conn):
        return set()
    names = set()
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        leading = tuple(info["name"] for info in conn.execute(f"PRAGMA index_info({index['name']})"))[:len(columns)]
        if leading == tuple(columns):
            names.add(index["name"])
    return names


def integrity_problems(conn, full: bool = False) -> list[str]:
    """SQLite's own checks: the file's structure and every foreign key.

    quick_check reads every page but does not match each index against its table: 2.8 s of CPU
    on a million visits where integrity_check takes 31 s. `doctor --full` runs the full one.
    PostgreSQL checks its pages and foreign keys itself: nothing to add there.
    """
    if is_postgres(conn):
        return []
    problems = []
    check = "integrity_check" if full else "quick_check"
    result = [row[0] for row in conn.execute(f"PRAGMA {check}").fetchall()]
    if result != ["ok"]:
        problems += [Phrase("sqlite integrity: {line}", line=line) for line in result]
    for row in conn.execute("PRAGMA foreign_key_check").fetchall():
        problems.append(Phrase("foreign key: {table} row {row} points at a missing {parent}", table=row[0], row=row[1],
                               parent=row[2]))
    return problems


def ledger_triggers(conn) -> dict[str, str]:
    """The ledger's triggers: name -> definition (doctor checks they refuse changes)."""
    if is_postgres(conn):
        from loyalty_cli.store.backends.postgres import ledger_triggers as pg_triggers

        return pg_triggers(conn)
    return {row[0]: row[1] or "" for row in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger'")}
