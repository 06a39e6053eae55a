"""Shared fixtures: every test gets its own database, config and clock, never the user's.

Tests marked `backends` run twice: on a SQLite file and on a fresh PostgreSQL database of the
server LOYALTY_TEST_POSTGRES names (a libpq URL of a server where the tests may create
databases; each test gets `loyalty_test_<random>`, dropped after it). Without that variable the
PostgreSQL runs skip, saying why.
"""

import json
import os
import secrets
import shutil
import socket
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from loyalty_cli.cli.app import app
from loyalty_cli.domain import i18n

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "loyalty_cli" / "config" / "sample.toml"
EXAMPLES = ROOT / "examples"


BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc):
    marked = metafunc.definition.get_closest_marker
    if marked("backends") and not marked("sqlite_only") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request):
    return getattr(request, "param", "sqlite")


def database_url(server: str, name: str) -> str:
    """The server's URL with another database name."""
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


class _Databases:
    """Test databases made from the template one ahead, and dropped in the background: each
    CREATE or DROP DATABASE waits for a checkpoint, a second or two on a busy disk."""

    def __init__(self, server: str, template: str):
        from concurrent.futures import ThreadPoolExecutor

        self.server, self.template = server, template
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pg-test-dbs")
        self.next = self.pool.submit(self._create)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(sql)

    def _create(self) -> str:
        name = f"loyalty_test_{secrets.token_hex(6)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {self.template} STRATEGY WAL_LOG")  # FILE_COPY checkpoints
        self._admin(f"ALTER DATABASE {name} SET synchronous_commit = off")  # a test's database need not survive
        return name

    def take(self) -> str:
        name, self.next = self.next.result(), self.pool.submit(self._create)
        return name

    def drop(self, name: str) -> None:
        self.pool.submit(self._admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self.drop(self.next.result())
        self.pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres_template():
    """A database with the schema, which each test's database copies (much faster than building
    the schema each time); dropped at the end of the session."""
    server = os.environ.get("LOYALTY_TEST_POSTGRES")
    if not server:
        pytest.skip("PostgreSQL tests need LOYALTY_TEST_POSTGRES (a libpq URL of a server where tests may "
                    "create databases, e.g. postgresql://root@/postgres?host=/var/run/postgresql)")
    import psycopg

    from loyalty_cli.store import db as store_db

    name = f"loyalty_test_template_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    store_db.connect(database_url(server, name)).close()
    databases = _Databases(server, name)
    yield databases
    databases.close()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_template):
    """A fresh loyalty database (the schema, no rows) on the test server, dropped after the test."""
    name = postgres_template.take()
    yield database_url(postgres_template.server, name)
    postgres_template.drop(name)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request, backend):
    """A temp database, the sample config (region IT, Europe/Rome), a fixed clock, a temp cwd."""
    if backend == "postgres":
        monkeypatch.setenv("LOYALTY_DB", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.setenv("LOYALTY_DB", str(tmp_path / "loyalty.db"))
    monkeypatch.setenv("LOYALTY_CONFIG", str(SAMPLE))
    monkeypatch.setenv("LOYALTY_OUTBOX", str(tmp_path / "outbox.db"))  # never beside the packaged sample
    monkeypatch.delenv("LOYALTY_LOCATION", raising=False)
    monkeypatch.setenv("LOYALTY_NOW", "2026-06-15T12:00:00+00:00")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    # English unless a test names a locale: the developer's own LANG must not translate the suite
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    i18n.use("en")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


@pytest.fixture
def db_path(isolated) -> Path | str:
    """The test's database: a file path, or a PostgreSQL URL under the `backends` marker."""
    target = os.environ["LOYALTY_DB"]
    return target if target.startswith("postgresql://") else Path(target)


@pytest.fixture
def cli():
    """cli("visit", "333 123 4567", "--amount", "12.50") -> Result (stdout and stderr kept apart)."""
    runner = CliRunner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


@pytest.fixture
def cli_json(cli):
    """Run a command with --json, assert it succeeded, return the parsed output."""

    def invoke(*args, env=None):
        result = cli(*args, "--json", env=env)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def at(monkeypatch):
    """at("2026-06-01T10:00:00+02:00") moves the clock."""

    def move(moment: str):
        monkeypatch.setenv("LOYALTY_NOW", moment)

    return move


def db_content(path: Path | str) -> dict:
    """Every row of every table: for 'nothing changed' assertions."""
    if str(path).startswith("postgresql://"):
        return _postgres_content(str(path))
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        # sorted rather than ORDER BY rowid: some tables are WITHOUT ROWID
        return {t: sorted(conn.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copy(EXAMPLES / name, target)
    return target


def _postgres_content(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                             "AND tablename != 'schema_version' ORDER BY tablename")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def nothing_recorded(target) -> bool:
    """A command that failed left no database behind: on SQLite no file; on PostgreSQL (the
    test's database starts with the schema and nothing else) not one row in any table."""
    if str(target).startswith("postgresql://"):
        return all(rows == [] for rows in _postgres_content(str(target)).values())
    return not Path(target).exists()


def db_query(target, sql: str, params=()) -> list:
    """Rows of one query on the test's database, either backend (SQLite's SQL text; the
    PostgreSQL connection translates it as the code's own queries are)."""
    from loyalty_cli.store import db as store_db

    conn = store_db.connect(target, create=False)
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def db_execute(target, sql: str, params=()) -> None:
    """One statement, committed, on the test's database (either backend): to tamper with it."""
    from loyalty_cli.store import db as store_db

    conn = store_db.connect(target, create=False)
    try:
        conn.execute(sql, params)
        conn.commit() if hasattr(conn, "commit") and conn.in_transaction else None
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port nothing listens on now, for a real server a test starts (SMTP, PostgreSQL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
