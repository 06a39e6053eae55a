"""A throw-away database on a PostgreSQL server for one benchmark run (bench_tills.py,
bench_import_tills.py): created at the start, dropped at the end whatever happens. The role
needs CREATEDB; DROP ... WITH (FORCE) needs PostgreSQL 13 or later."""

import contextlib
import os
from urllib.parse import urlsplit, urlunsplit


@contextlib.contextmanager
def scratch_database(server: str, prefix: str):
    """A new database `<prefix>_<pid>` on the server's URL: its URL, the server's with the new
    name in place of its own (a ?dbname= in it would name the server's own, and is dropped)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        parts = urlsplit(server)
        query = "&".join(part for part in parts.query.split("&") if part and not part.startswith("dbname="))
        yield urlunsplit(parts._replace(path=f"/{name}", query=query))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
