"""Bytes that are not UTF-8 on the command line or a till's stdin (a Latin-1 terminal, a broken
script): Python hands them on as lone surrogates, which no database can store or look up. They
are refused as bad input, one line and exit 2, before anything is written, never a traceback
mid-transaction: on the command line by the executable (cli/entry.py), on a till's line by the
check every stored text goes through (domain/text.control_problem)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import nothing_recorded

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)


def _loyalty(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loyalty_cli", *args], input=stdin, capture_output=True,
                          env={**os.environ, "LC_ALL": "C.UTF-8"}, timeout=60)


@pytest.mark.parametrize("args, shown", [
    (["visit", "333 123 4567", "--amount", "5", "--name", b"Ana\xff"], "'Ana\\xff'"),
    (["visit", "333 123 4567", "--amount", "5", "--note", b"n\xe9"], "'n\\xe9'"),
    (["enroll", "333 123 4567", "--email", b"a\xff@shop.it"], "'a\\xff@shop.it'"),
    (["redeem", "333 123 4567", b"free\xff"], "'free\\xff'"),  # a lookup, not only what is stored
    (["customers", "--search", b"\xc1na"], "'\\xc1na'"),
])
def test_a_byte_of_the_command_line_that_is_not_utf8_is_bad_input(db_path, args, shown):
    done = _loyalty(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode() == f"error: {shown} holds a byte that is not UTF-8 text: type it again in UTF-8\n"
    assert nothing_recorded(db_path)


def test_a_till_line_with_such_a_byte_is_refused_and_the_next_recorded(db_path):
    done = _loyalty("till", "--json", stdin=b'333 123 4567 --amount 5 --name "Ana\xff"\n333 123 4567 --amount 5\n')
    assert done.returncode == 2, done.stderr
    first, second = done.stdout.decode().splitlines()
    assert '"line": 1' in first and "--name holds a byte that is not UTF-8 text (0xFF)" in first
    assert '"visits": 1' in second


def test_an_email_with_an_escape_sequence_is_not_an_address(cli, db_path):
    result = cli("enroll", "333 123 4567", "--email", "a\x1b[2J@shop.it")
    assert result.exit_code == 2
    assert "not an e-mail address: it holds a control character (U+001B)" in result.stderr
    assert nothing_recorded(db_path)
