"""The database backends, side by side (as httpx keeps its transports): `sqlite` and `postgres`.

Every query in the code base is ONE SQL text, written for SQLite (`?` and `:name` placeholders,
`MAX(a, b)`, `json_group_array`, ...), and run unchanged on SQLite's own connection. The
PostgreSQL backend wraps a psycopg 3 connection in the same small interface the code uses of
sqlite3 (`execute`, `executemany`, `cursor()`, rows read by position or by name, `lastrowid`,
`rowcount`, `in_transaction`, `close`) and translates each SQL text once (`postgres.translate`,
cached): placeholders, `INSERT OR IGNORE`, scalar `MIN/MAX` -> `LEAST/GREATEST`,
`group_concat`, `json_group_array`/`json_array`, `julianday`, `LIKE` (case-insensitive on both),
`COLLATE NOCASE`. Two SQLite JSON functions (`json_each`, `json_extract`) exist on PostgreSQL as
functions the schema creates. What is not a query, db.py decides per backend: BEGIN/COMMIT
and savepoints, the row lock (`BEGIN IMMEDIATE` on SQLite, `SELECT ... FOR UPDATE` on the
customer row on PostgreSQL), the schema version (`PRAGMA user_version` / `schema_version`),
integrity checks, and which errors are transient (retried at the CLI edge).

The SQLite path imports nothing of this package but `is_url` (no psycopg, ever).
"""

from loyalty_cli.system.paths import is_server


def is_url(target) -> bool:
    """A PostgreSQL libpq URL (`postgresql://...` or `postgres://...`) rather than a file path:
    system/paths decides, for every layer alike."""
    return is_server(target)
