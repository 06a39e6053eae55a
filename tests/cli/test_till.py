"""`loyalty till` (cli/till.py): visits read on stdin, one a line, recorded as `loyalty visit`
records them, with the database kept open between them (services/kept.py)."""

import json
import os
import shlex
import shutil
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_cli.cli.till import run_till
from loyalty_cli.domain.errors import Unreachable
from loyalty_cli.services import session as session_module
from tests.conftest import SAMPLE, db_query, nothing_recorded

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

LINES = """\
333 111 2222 --amount 12,50 --ref T-1

# a comment, and a blank line above: no output for either
333 111 2222 --amount -3
612 345 678 --amount 4
333 111 2222 --amount 12,50 --ref T-1
333 444 5555 --amount 7 --name "Ana Ruiz" --location Mare
333 111 2222 --amount "unclosed
--amount 3
333 111 2222 --amount 1 --json
"""


def test_one_line_out_per_visit_line_in_and_the_worst_exit_code(cli, db_path):
    result = cli("till", "--json", "--location", "Centro", input=LINES)
    assert result.exit_code == 2, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 8  # 10 lines read, the blank one and the comment skipped
    errors = {answer["line"]: answer for answer in out if "error" in answer}
    assert sorted(errors) == [4, 5, 8, 9]
    assert errors[4] == {"line": 4, "error": "--amount must not be negative: '-3'", "exit_code": 2}
    assert "not a valid phone number" in errors[5]["error"]
    assert "closing quotation" in errors[8]["error"] and "not a visit" in errors[9]["error"]
    first, again, ana, last = (answer for answer in out if "error" not in answer)
    assert (first["duplicate"], first["enrolled"], first["location"]) == (False, True, "Centro")
    assert again["duplicate"] is True and again["visit_id"] == first["visit_id"]
    assert (ana["name"], ana["location"]) == ("Ana Ruiz", "Mare")  # a line's own option wins
    assert last["visits"] == 2
    assert "error: line 4: --amount must not be negative" in result.stderr
    recorded = db_query(db_path, "SELECT c.phone, v.amount, v.location FROM visits v "
                                 "JOIN customers c ON c.id = v.customer_id ORDER BY v.id")
    assert recorded == [("+393331112222", 1250, "Centro"), ("+393334445555", 700, "Mare"),
                        ("+393331112222", 100, "Centro")]


def test_a_till_gives_the_cards_loyalty_visit_gives(cli, cli_json, isolated):
    visits = [("333 111 2222", "12,50"), ("333 111 2222", "40"), ("333 999 0000", "3"), ("333 111 2222", "9")]
    result = cli("till", "--json", input="".join(f"{phone} --amount {amount}\n" for phone, amount in visits))
    assert result.exit_code == 0, result.stderr
    by_till = [json.loads(line) for line in result.stdout.splitlines()]
    other = str(isolated / "by-command.db")
    by_command = [cli_json("--db", other, "visit", phone, "--amount", amount) for phone, amount in visits]
    assert by_till == by_command


def test_text_mode_prints_the_cards_and_says_each_warning_once(cli):
    result = cli("till", input="333 111 2222 --amount 5\n333 999 0000 --amount 5\n333 111 2222 --amount 5\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("new customer enrolled") == 2 and "visit #3 recorded" in result.stdout
    assert result.stderr.count("no customer has a birthday on file") == 1  # the sample's birthday rule


def test_a_refused_line_alone_records_nothing(cli, db_path):
    result = cli("till", input="612 345 678 --amount 4\n")
    assert result.exit_code == 2
    assert "error: line 1: not a valid phone number" in result.stderr
    assert nothing_recorded(db_path)


def test_an_edited_config_counts_from_the_next_visit(isolated, capsys):
    config = isolated / "shop.toml"
    shutil.copy(SAMPLE, config)

    def lines():
        yield "333 111 2222 --amount 5\n"
        config.write_text(SAMPLE.read_text().replace('# location = "Centro"', 'location = "Porto"'))
        yield "333 111 2222 --amount 5\n"

    assert run_till(config=str(config), as_json=True, lines=lines()) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["location"], second["location"]) == (None, "Porto")


def _backends(url: str) -> set:
    """The server processes connected to the test's database, other than the one asking."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid()")}


def _end_backends(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid != pg_backend_pid()")


def test_the_connection_is_kept_and_replaced_when_the_server_ends_it(backend, db_path, isolated, capsys,
                                                                     monkeypatch):
    if backend != "postgres":
        pytest.skip("a server connection: PostgreSQL only")
    seen = []
    real_open = session_module.open_database

    def refuse(path, **options):
        raise Unreachable("cannot reach the database server (connection refused)")

    def lines():
        yield "333 111 2222 --amount 5 --ref K-1\n"
        seen.append(_backends(db_path))
        yield "333 111 2222 --amount 5 --ref K-2\n"
        seen.append(_backends(db_path))
        _end_backends(db_path)  # a server restart, as the till sees it
        yield "333 111 2222 --amount 5 --ref K-3\n"
        seen.append(_backends(db_path))
        _end_backends(db_path)
        monkeypatch.setattr(session_module, "open_database", refuse)  # and now no server at all
        yield "333 111 2222 --amount 5 --ref K-4\n"
        monkeypatch.setattr(session_module, "open_database", real_open)
        yield "333 111 2222 --amount 5 --ref K-5\n"

    assert run_till(as_json=True, lines=lines()) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(seen[0]) == 1 and seen[1] == seen[0]  # one connection, kept for the second visit
    assert len(seen[2]) == 1 and seen[2] != seen[1]  # a new one once the server had ended it
    assert answers[3]["offline"] is True and answers[3]["ref"] == "K-4"
    assert answers[3]["last_known"]["visits"] == 3  # the card K-3 left, which the till still held
    assert answers[4]["visits"] == 5  # K-4 pushed from the outbox before K-5
    import sqlite3

    with sqlite3.connect(isolated / "outbox.db") as outbox:  # and the last card, written as the till ended
        (card,) = outbox.execute("SELECT card FROM cards").fetchone()
    assert json.loads(card)["visits"] == 5
    refs = db_query(db_path, "SELECT ref FROM visits ORDER BY id")
    assert refs == [("K-1",), ("K-2",), ("K-3",), ("K-4",), ("K-5",)]
    assert os.path.exists(isolated / "outbox.db")


def test_a_database_file_moved_away_is_not_written_to_again(backend, db_path, isolated, capsys):
    if backend != "sqlite":
        pytest.skip("a database file: SQLite only")
    moved = isolated / "moved"
    moved.mkdir()

    def lines():
        yield "333 111 2222 --amount 5 --ref M-1\n"
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{db_path}{suffix}"):
                os.replace(f"{db_path}{suffix}", moved / f"loyalty.db{suffix}")
        yield "333 111 2222 --amount 5 --ref M-2\n"

    assert run_till(as_json=True, lines=lines()) == 0
    assert db_query(db_path, "SELECT ref FROM visits") == [("M-2",)]  # in the file now at the path
    assert db_query(moved / "loyalty.db", "SELECT ref FROM visits") == [("M-1",)]
    assert "created a new database" in capsys.readouterr().err


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\r\nab1-,.#=\u00a0\u2003\x1c\"'\\", max_size=30))
def test_a_line_splits_into_the_words_shlex_gives(line):
    from loyalty_cli.cli import till

    words = line.strip()
    try:
        expected = shlex.split(words)
    except ValueError:
        return  # an open quote: shlex is asked, and its error is the line's
    if words and till._PLAIN.fullmatch(words):  # an empty line is skipped before it is split
        assert till._BLANKS.split(words) == expected


def test_rules_published_meanwhile_count_from_the_next_visit(cli_json, isolated, tmp_path, capsys):
    """The till learns of a newer published version from the statement that checks its kept
    connection (services/kept.py), and reads the version itself only then."""
    def rules(name: str, per_unit: int):
        path = tmp_path / name
        path.write_text(SAMPLE.read_text().replace("per_unit = 1\n", f"per_unit = {per_unit}\n", 1))
        return path

    cli_json("config", "publish", rules("v1.toml", 3), "--author", "ana")

    def lines():
        yield "333 111 2222 --amount 10\n"
        yield "333 111 2222 --amount 10\n"
        cli_json("config", "publish", rules("v2.toml", 5), "--author", "ana")
        yield "333 111 2222 --amount 10\n"
        yield "333 111 2222 --amount 10\n"

    assert run_till(config=str(SAMPLE), as_json=True, lines=lines()) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [answer["earned"]["points"] for answer in answers] == [30, 30, 50, 50]


class _FreezableProxy:
    """A TCP port in front of the test server's Unix socket that can stop passing bytes while it
    keeps every connection open: a server the till can no longer hear, as when a link drops
    without a word. The kernel still acknowledges what the till sends, so only a time limit of
    the till's own ends the wait. It thaws by itself after THAW_S, so that a till without that
    limit fails the test instead of hanging it."""

    THAW_S = 20

    def __init__(self, url: str):
        import socket
        import threading
        from urllib.parse import parse_qs, urlsplit, urlunsplit

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        port = query.get("port", [parts.port or 5432])[0]
        self.socket_path = f"{query['host'][0]}/.s.PGSQL.{port}"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.listener.getsockname()[1]}",
                                             query=""))
        self.peers, self.frozen_until, self.running = {}, 0.0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def freeze(self) -> None:
        self.frozen_until = time.monotonic() + self.THAW_S

    def thaw(self) -> None:
        self.frozen_until = 0.0

    def _serve(self) -> None:
        import select
        import socket

        while self.running:
            frozen = time.monotonic() < self.frozen_until
            readable, _, _ = select.select([self.listener, *([] if frozen else self.peers)], [], [], 0.02)
            for sock in readable:
                if sock is self.listener:
                    client, _ = self.listener.accept()
                    server = socket.socket(socket.AF_UNIX)
                    try:
                        server.connect(self.socket_path)
                    except OSError:
                        client.close()
                        server.close()
                        continue
                    self.peers[client], self.peers[server] = server, client
                elif sock in self.peers:
                    try:
                        data = sock.recv(65536)
                        if data:
                            self.peers[sock].sendall(data)
                            continue
                    except OSError:  # a side reset: end the pair, keep serving the others
                        pass
                    other = self.peers.pop(sock)
                    self.peers.pop(other, None)
                    sock.close()
                    other.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), "the proxy's thread did not stop"
        for sock in [*self.peers, self.listener]:
            sock.close()


def test_a_server_that_stops_answering_sends_the_visit_offline_within_seconds(backend, db_path, isolated, capsys):
    if backend != "postgres":
        pytest.skip("a server connection: PostgreSQL only")
    from loyalty_cli.store.backends.postgres_link import ANSWER_TIMEOUT_S

    proxy, waited = _FreezableProxy(db_path), []

    def lines():
        yield "333 111 2222 --amount 5 --ref Q-1\n"
        proxy.freeze()  # the kept connection now goes unanswered
        started = time.monotonic()
        yield "333 111 2222 --amount 5 --ref Q-2\n"
        waited.append(time.monotonic() - started)
        proxy.thaw()
        yield "333 111 2222 --amount 5 --ref Q-3\n"

    try:
        assert run_till(db=proxy.url, as_json=True, lines=lines()) == 0
    finally:
        proxy.close()
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answers[1]["offline"] is True and answers[1]["ref"] == "Q-2"
    assert ANSWER_TIMEOUT_S <= waited[0] < ANSWER_TIMEOUT_S + 2  # not TCP's quarter of an hour
    assert answers[2]["visits"] == 3  # Q-2 pushed from the outbox before Q-3, on a new connection
    assert db_query(db_path, "SELECT ref FROM visits ORDER BY id") == [("Q-1",), ("Q-2",), ("Q-3",)]
