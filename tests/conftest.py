"""Shared fixtures: every test gets its own database, config and clock, never the user's."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loyalty_cli.cli.app import app
from loyalty_cli.domain import i18n

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "loyalty_cli" / "config" / "sample.toml"
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A temp database, the sample config (region IT, Europe/Rome), a fixed clock, a temp cwd."""
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
def db_path(isolated) -> Path:
    return isolated / "loyalty.db"


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


def db_content(path: Path) -> dict:
    """Every row of every table: for 'nothing changed' assertions."""
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
