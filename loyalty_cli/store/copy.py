"""`loyalty db copy SRC DST`: a whole database into an empty one, SQLite <-> PostgreSQL, exactly.

Every row of every table, ids included, in one transaction on the destination (foreign keys
are checked at its end: deferred on PostgreSQL, `doctor` on SQLite), read from one snapshot of
the source, so a till recording meanwhile never leaves half a visit in the copy. PostgreSQL's
identity sequences then continue after the copied ids (db.bulk_writing).
"""

from loyalty_cli.domain.errors import Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import db as store_db

# Parents before children, so SQLite's immediate checks would pass too.
TABLES = ("customers", "imports", "visits", "ledger", "vouchers", "import_cards", "phone_keys", "lot_books",
          "feedback", "consents", "contacts", "config_versions")
CHUNK = 5_000


def copy_database(source, target, describe_target: str) -> dict[str, int]:
    """Copy every table of `source` into `target`, which must hold no row; rows per table."""
    missing = set(_tables(source)) - set(TABLES)
    if missing:
        raise Refused(Phrase("db copy does not know the tables {tables}: upgrade loyalty-cli",
                             tables=", ".join(sorted(missing))))
    held = [table for table in TABLES if not _empty(target, table)]
    if held:
        raise Refused(Phrase("{target} is not empty ({tables} hold rows): copy into an empty database",
                             target=describe_target, tables=", ".join(held)))
    counts = {}
    with store_db.snapshot(source), store_db.bulk_writing(target, 32_768), store_db.transaction(target):
        for table in TABLES:
            counts[table] = _copy_table(source, target, table)
    return counts


def _tables(conn) -> list[str]:
    if store_db.is_postgres(conn):
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                            "AND tablename != 'schema_version'")
    else:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [row[0] for row in rows]


def _empty(conn, table: str) -> bool:
    return conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) one").fetchone()[0] == 0


def _copy_table(source, target, table: str) -> int:
    cursor = source.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
    columns = [d[0] for d in cursor.description]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    count = 0
    while rows := cursor.fetchmany(CHUNK):
        target.executemany(insert, rows)
        count += len(rows)
    return count
