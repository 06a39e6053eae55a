"""Offline tills (issue 14): visits kept in the till's outbox while the server is unreachable,
pushed by `loyalty sync` (or the next command that reaches it) without doubling any.

The server's unreachability is made by the session's database opener (services.session.open_database),
the one seam: the outbox, its file and the push are the real ones. tests/services/test_offline_postgres.py
does the same against a real PostgreSQL server that is stopped and started again.
"""

import json
import sqlite3

import pytest

from loyalty_cli.domain.errors import Unreachable
from loyalty_cli.services import session as session_module
from tests.conftest import db_content, db_query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def server(monkeypatch):
    """server.down() / server.up(): whether the session can open the shop's database."""
    real = session_module.open_database

    class Switch:
        def down(self):
            def refuse(path, **options):
                raise Unreachable("cannot reach the database server at db.example:5432 (connection refused)")

            monkeypatch.setattr(session_module, "open_database", refuse)

        def up(self):
            monkeypatch.setattr(session_module, "open_database", real)

    return Switch()


def _visits(db_path) -> list:
    return db_query(db_path, "SELECT c.phone, v.amount, v.ref, v.location, v.at FROM visits v "
                             "JOIN customers c ON c.id = v.customer_id ORDER BY v.id")


def _pending(outbox) -> list:
    with sqlite3.connect(outbox) as conn:
        return conn.execute("SELECT key, phone, amount, pushed_at IS NOT NULL FROM pending ORDER BY id"
                            ).fetchall()


def test_offline_visit_goes_to_the_outbox_and_exits_0(cli, cli_json, server, isolated, db_path):
    cli_json("visit", "333 111 2222", "--amount", "10")
    before = db_content(db_path)
    server.down()
    result = cli("visit", "333 111 2222", "--amount", "5", "--ref", "R-1")
    assert result.exit_code == 0, result.stderr
    assert "OFFLINE: visit saved on this till as R-1" in result.stdout
    assert "connection refused" in result.stderr
    assert _pending(isolated / "outbox.db") == [("R-1", "+393331112222", 500, 0)]
    assert db_content(db_path) == before


def test_new_number_offline_gets_a_generated_key(cli_json, server, isolated):
    server.down()
    data = cli_json("visit", "333 999 0000", "--amount", "3")
    assert data["offline"] is True and data["ref"].startswith("off-") and data["last_known"] is None
    assert _pending(isolated / "outbox.db")[0][:3] == (data["ref"], "+393339990000", 300)


def test_sync_records_each_visit_once_even_when_repeated(cli, cli_json, server, isolated, db_path, at):
    cli_json("visit", "333 111 2222", "--amount", "10")
    server.down()
    at("2026-06-15T13:00:00+00:00")
    first = cli_json("visit", "333 111 2222", "--amount", "5", "--location", "Nord")["ref"]
    cli_json("visit", "333 999 0000", "--amount", "7", "--ref", "T-9")
    at("2026-06-15T14:00:00+00:00")
    server.up()
    assert cli_json("sync") == {"pushed": 2, "already": 0, "refused": [], "waiting": 0}
    visits = _visits(db_path)
    assert [(phone, amount, ref, location) for phone, amount, ref, location, _ in visits] == [
        ("+393331112222", 1000, None, None), ("+393331112222", 500, first, "Nord"),
        ("+393339990000", 700, "T-9", None)]
    assert visits[1][4].startswith("2026-06-15T13:00")  # when it happened, not when it was pushed
    # a crash after recording but before the outbox was marked: the push finds the refs recorded
    with sqlite3.connect(isolated / "outbox.db") as conn:
        conn.execute("UPDATE pending SET pushed_at = NULL, visit_id = NULL")
    assert cli_json("sync") == {"pushed": 0, "already": 2, "refused": [], "waiting": 0}
    assert len(_visits(db_path)) == 3
    assert cli("doctor").exit_code == 0


def test_next_command_pushes_first(cli, cli_json, server, db_path):
    cli_json("visit", "333 111 2222", "--amount", "10")
    server.down()
    cli_json("visit", "333 111 2222", "--amount", "5")
    server.up()
    result = cli("show", "333 111 2222", "--json")
    assert result.exit_code == 0 and "pushed 1 visit(s) recorded offline" in result.stderr
    assert json.loads(result.stdout)["visits"] == 2


def test_offline_card_shows_the_last_known_balances(cli, cli_json, server):
    server.down()
    cli_json("visit", "333 111 2222", "--amount", "1")  # the till now has an outbox: it can go offline
    server.up()
    online = cli_json("visit", "333 111 2222", "--amount", "30")
    server.down()
    data = cli_json("visit", "333 111 2222", "--amount", "5")
    assert data["last_known"]["points"] == online["points"] and data["last_known"]["visits"] == online["visits"]
    result = cli("visit", "333 111 2222", "--amount", "5")
    assert result.exit_code == 0 and f"Points: {online['points']}" in result.stdout
    assert "Earned" not in result.stdout  # the last online visit's earnings are not this visit's


def test_redemption_is_refused_offline(cli, cli_json, server):
    cli_json("visit", "333 111 2222", "--amount", "10")
    server.down()
    result = cli("redeem", "333 111 2222", "--credit", "0.10")
    assert result.exit_code == 1
    assert "redemption refused: this till is offline" in result.stderr
    assert "a balance cannot be checked offline" in result.stderr


def test_bad_input_offline_writes_nothing(cli, server, isolated):
    server.down()
    result = cli("visit", "333 111 2222", "--amount", "abc")
    assert result.exit_code == 2
    assert not (isolated / "outbox.db").exists()


def test_sync_with_no_outbox_is_fine(cli_json):
    assert cli_json("sync")["pushed"] == 0


def test_offline_visit_survives_a_kill_right_after_the_card(tmp_path, isolated):
    """The row is committed before the card is printed: a till process killed as soon as it has
    printed the card has the visit on disk (a real process, a real SIGKILL)."""
    import os
    import signal
    import subprocess
    import sys

    script = (
        "import sys, os, signal\n"
        "from loyalty_cli.domain.errors import Unreachable\n"
        "from loyalty_cli.services import session\n"
        "def down(path, **o): raise Unreachable('server down')\n"
        "session.open_database = down\n"
        "from loyalty_cli.output import console\n"
        "real = console.lines\n"
        "def then_die(*a):\n"
        "    real(*a); sys.stdout.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "console.lines = then_die\n"
        "from loyalty_cli.cli.entry import main\n"
        "main(['visit', '333 444 5555', '--amount', '2', '--ref', 'K-1'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == -signal.SIGKILL and "OFFLINE" in done.stdout
    assert _pending(isolated / "outbox.db") == [("K-1", "+393334445555", 200, 0)]


def test_a_push_the_server_refuses_stays_waiting_and_sync_says_so(cli, cli_json, server, isolated, db_path):
    cli_json("visit", "333 111 2222", "--amount", "10", "--ref", "R-7")
    server.down()
    cli_json("visit", "333 555 6666", "--amount", "4", "--ref", "R-7")  # the same receipt number, another customer
    cli_json("visit", "333 555 6666", "--amount", "3")
    server.up()
    result = cli("sync")
    assert result.exit_code == 1
    assert "pushed 1 offline visit(s)" in result.stdout
    assert "offline visit R-7 of +393335556666: --ref R-7 is already visit #1" in result.stderr
    assert [row[0] for row in _pending(isolated / "outbox.db") if not row[3]] == ["R-7"]
    assert len(_visits(db_path)) == 2
    again = cli("show", "333 555 6666")  # other commands are not held up by it, nor retry it each time
    assert again.exit_code == 0 and "refused" not in again.stderr


def test_a_card_the_outbox_cannot_keep_is_a_warning_after_a_recorded_visit(cli, cli_json, tmp_path, monkeypatch,
                                                                          db_path):
    # an outbox that is there (the till can go offline) but cannot be opened: a folder in its place
    folder = tmp_path / "outbox-is-a-folder"
    folder.mkdir()
    monkeypatch.setenv("LOYALTY_OUTBOX", str(folder))
    result = cli("visit", "333 111 2222", "--amount", "4", "--json")
    assert result.exit_code == 0, result.stderr  # recorded and shown: an error would have it typed again
    assert json.loads(result.stdout)["visit_id"] == 1
    assert "warning: the card was not kept for offline visits" in result.stderr
    assert [row[1] for row in _visits(db_path)] == [400]
