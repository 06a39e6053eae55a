"""PostgreSQL's schema: SQLite's, translated, created at this release's version or upgraded to it.

The tables and indexes are built from the very migrations (store/migrations.py) on a scratch
in-memory SQLite database (`schema_statements`), so both backends have the same tables, columns
and indexes at the same version, recorded in a `schema_version` table. Integers are BIGINT
(money too), `INTEGER PRIMARY KEY` an identity column, foreign keys deferred to the commit (a
copy or an import may write rows in any order), and the ledger is append-only by a trigger.

An existing database at an older version is upgraded step by step (`upgrade_schema`), each step
in its own transaction as on SQLite: the SQL a step runs is what the SQLite step itself executes
(traced on a scratch database at the step before), translated. So a new step in migrations.py
needs nothing here, unless it does what PostgreSQL cannot be told in SQLite's words.
"""

import re

from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase

SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('loyalty-cli schema'))"
FIRST_VERSION = 10  # the PostgreSQL backend was born at schema 10: no database of it is older

# The ledger is append-only: this refuses every UPDATE, DELETE and TRUNCATE, with one exception,
# the one change the law requires of a record otherwise kept as written (`loyalty forget`,
# store/privacy.py): inside a transaction that has said `SET LOCAL loyalty.erasing = 'on'`, an
# UPDATE that changes nothing of a line but its `reason` text. A setting local to the one
# transaction, not ALTER TABLE ... DISABLE TRIGGER: that takes an ACCESS EXCLUSIVE lock on the
# ledger (every till would wait for the erase, even to read) and lifts the guard for the
# transaction's every statement; this lifts it for the reason column only, and no other
# connection ever sees the ledger unguarded.
LEDGER_FUNCTION = """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('loyalty.erasing', true) = 'on'
       AND (to_jsonb(NEW) - 'reason') = (to_jsonb(OLD) - 'reason') THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only';
  END $$"""

_COMPAT_FUNCTIONS = r"""
CREATE FUNCTION json_extract(doc text, path text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_path_query_first(doc::jsonb, path::jsonpath) #>> '{}' $$;
CREATE FUNCTION json_each(doc text, path text DEFAULT '$') RETURNS TABLE (key text, value text)
LANGUAGE sql IMMUTABLE AS $$
  WITH node AS (SELECT jsonb_path_query_first(doc::jsonb, path::jsonpath) AS j)
  SELECT e.key, e.value #>> '{}' FROM node,
         jsonb_each(CASE WHEN jsonb_typeof(node.j) = 'object' THEN node.j ELSE '{}'::jsonb END) e
  UNION ALL
  SELECT (e.n - 1)::text, e.value #>> '{}' FROM node,
         jsonb_array_elements(CASE WHEN jsonb_typeof(node.j) = 'array' THEN node.j ELSE '[]'::jsonb END)
         WITH ORDINALITY e(value, n) $$;
{LEDGER_FUNCTION};
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
""".replace("{LEDGER_FUNCTION}", LEDGER_FUNCTION)


# What a step does on PostgreSQL beyond SQLite's own (migrations.py), by schema version.
SERVER_ONLY = {
    # a lot book (3.3 kB for 45 lots) stays in its row, uncompressed, up to a page: compressing it
    # into the TOAST table at every visit cost the server 0.35 ms of 3.5 a visit (one till, 3 x 1,500
    # visits alternating with and without); a larger book is compressed as before
    13: ["ALTER TABLE lot_books SET (toast_tuple_target = 8160)"],
}


def schema_version(conn) -> int | None:
    """The schema version, None for a database without our tables (a new one).

    Every command asks this as it connects: one statement for a loyalty database (the common
    case); only when it has no schema_version table, a second look at what else it holds."""
    import psycopg.errors

    try:
        return conn.raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        pass  # autocommit: the failed statement ended nothing but itself
    others = conn.raw.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0]
    if others:
        raise Refused(Phrase("{url} holds other tables: not a loyalty database", url=conn.url))
    return None


def create_schema(conn, version: int) -> None:
    """The schema at `version` in one transaction; two tills creating it at once take turns."""
    raw = conn.raw
    with raw.transaction():
        raw.execute(SCHEMA_LOCK)
        if raw.execute("SELECT to_regclass('schema_version')").fetchone()[0] is not None:
            return
        for statement in schema_statements(version):
            raw.execute(statement)
        for step in range(FIRST_VERSION, version + 1):
            for statement in SERVER_ONLY.get(step, ()):
                raw.execute(statement)
        raw.execute(_COMPAT_FUNCTIONS)
        raw.execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (%s)", (version,))


def schema_statements(version: int) -> list[str]:
    """SQLite's schema at `version`, from the migrations themselves, as PostgreSQL DDL: tables
    in creation order, then their indexes."""
    import sqlite3
    from pathlib import Path

    from loyalty_cli.store.migrations import migrate

    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(scratch, 0, version, Path(":memory:"))
        rows = scratch.execute("SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN "
                               "('table', 'index') AND name NOT LIKE 'sqlite_%' "
                               "ORDER BY type = 'index', rowid").fetchall()
    finally:
        scratch.close()
    return [_ddl(sql) for _, sql in rows]


def _ddl(sql: str) -> str:
    text = re.sub(r"\[(\w+)\]", r'"\1"', sql)
    text = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", text)
    text = re.sub(r"\bINTEGER\b", "BIGINT", text)
    text = re.sub(r"\bBLOB\b", "BYTEA", text)
    text = re.sub(r"\b(REAL|FLOAT)\b", "DOUBLE PRECISION", text)
    text = re.sub(r"(REFERENCES\s+\"?\w+\"?\s*\(\s*\"?\w+\"?\s*\))", r"\1 DEFERRABLE INITIALLY DEFERRED", text)
    text = re.sub(r"\)\s*STRICT\s*(,\s*WITHOUT ROWID)?\s*$", ")", text.strip())
    return text


def upgrade_schema(conn, current: int, target: int) -> None:
    """Bring a database at schema `current` to `target`, one step per transaction (a step that
    fails leaves the database at the step before, as on SQLite). Two tills upgrading at once
    take turns, and the second finds the step done."""
    if current < FIRST_VERSION:
        raise Refused(Phrase("{url} has schema {version}, older than any PostgreSQL database of loyalty-cli",
                             url=conn.url, version=current))
    raw = conn.raw
    for version in range(current + 1, target + 1):
        statements = step_statements(version)
        with raw.transaction():
            raw.execute(SCHEMA_LOCK)
            if raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] >= version:
                continue
            for statement in statements:
                if _DDL.match(statement):
                    raw.execute(_ddl(statement))
                else:
                    conn.execute(statement)  # rows: through the connection's dialect layer
            for statement in SERVER_ONLY.get(version, ()):
                raw.execute(statement)
            raw.execute("UPDATE schema_version SET version = %s", (version,))


_WRITES = re.compile(r"^\s*(CREATE|DROP|ALTER|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_DDL = re.compile(r"^\s*(CREATE|DROP|ALTER)\b", re.IGNORECASE)


def step_statements(version: int) -> list[str]:
    """What migration step `version` executes on SQLite, in SQLite's words: traced on a scratch
    database at the step before (the values are in the traced text)."""
    import sqlite3
    from pathlib import Path

    from loyalty_cli.store.migrations import migrate

    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(scratch, 0, version - 1, Path(":memory:"))
        executed: list[str] = []
        scratch.set_trace_callback(executed.append)
        migrate(scratch, version - 1, version, Path(":memory:"))
    finally:
        scratch.close()
    return [sql for sql in executed if _WRITES.match(sql)]


def allow_reason_edits(conn) -> None:
    """Make sure the ledger's trigger function is this release's, which lets `loyalty forget` cut
    a void's reason (a database created before it refused every UPDATE): replaced, in the
    erase's own transaction, only when it is not."""
    body = conn.raw.execute("SELECT prosrc FROM pg_proc WHERE proname = 'ledger_append_only'").fetchone()
    if body is None or "loyalty.erasing" not in body[0]:
        conn.raw.execute(LEDGER_FUNCTION)

