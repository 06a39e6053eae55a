"""Offline tills against a real PostgreSQL server (issue 14): stop it mid-run, keep recording,
start it again, `loyalty sync`: every visit there once.

The server is a throw-away cluster of this test's own (Debian's `pg_createcluster`, as root, on
a free port), stopped and started with `pg_ctlcluster` and dropped afterwards: stopping the
shared one would fail every other test (and every other run) using it at that moment. Runs with
LOYALTY_TEST_POSTGRES set, as the other PostgreSQL tests; skips where no cluster can be made.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.conftest import free_port

VERSION = os.environ.get("LOYALTY_TEST_POSTGRES_VERSION", "15")
SOCKETS = "/var/run/postgresql"

pytestmark = pytest.mark.skipif(
    not os.environ.get("LOYALTY_TEST_POSTGRES") or not shutil.which("pg_createcluster") or os.geteuid() != 0,
    reason="set LOYALTY_TEST_POSTGRES, as root on a machine with Debian's postgresql-common, to run against a "
           "PostgreSQL server this test stops and starts")


def _run(*command: str) -> None:
    subprocess.run(command, check=True, timeout=120, capture_output=True)


@pytest.fixture
def cluster():
    """(url, stop, start) of a new cluster with a `loyalty` database and a role for root."""
    name, port = f"loyalty_offline_{uuid.uuid4().hex[:8]}", str(free_port())
    _run("pg_createcluster", VERSION, name, "-p", port)
    try:
        _run("pg_ctlcluster", VERSION, name, "start")
        _run("runuser", "-u", "postgres", "--", "createuser", "-s", "-p", port, "root")
        _run("createdb", "-h", SOCKETS, "-p", port, "loyalty")
        url = f"postgresql://root@/loyalty?host={SOCKETS}&port={port}"
        yield url, (lambda: _run("pg_ctlcluster", VERSION, name, "stop")), \
            (lambda: _run("pg_ctlcluster", VERSION, name, "start"))
    finally:
        subprocess.run(["pg_dropcluster", VERSION, name, "--stop"], timeout=120, capture_output=True)


def _loyalty(url, *args, check=True):
    done = subprocess.run([sys.executable, "-m", "loyalty_cli", "--db", url, *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_stop_record_restart_sync(cluster, isolated):
    url, stop, start = cluster
    regular, newcomer = "+393331234567", "+393347654321"
    _loyalty(url, "visit", regular, "--amount", "10", "--ref", "on-1")
    stop()
    offline = [_loyalty(url, "visit", regular, "--amount", "2", "--json") for _ in range(3)]
    offline.append(_loyalty(url, "visit", newcomer, "--amount", "5", "--ref", "new-1", "--json"))
    assert all(json.loads(done.stdout)["offline"] for done in offline)
    assert len({json.loads(done.stdout)["ref"] for done in offline}) == 4  # each its own key
    redeem = _loyalty(url, "redeem", regular, "--credit", "0.10", check=False)
    assert redeem.returncode == 1 and "offline" in redeem.stderr
    start()
    pushed = json.loads(_loyalty(url, "sync", "--json").stdout)
    assert (pushed["pushed"], pushed["refused"]) == (4, [])
    assert json.loads(_loyalty(url, "sync", "--json").stdout)["pushed"] == 0  # again: nothing twice
    assert json.loads(_loyalty(url, "show", regular, "--json").stdout)["visits"] == 4
    assert json.loads(_loyalty(url, "show", newcomer, "--json").stdout)["visits"] == 1
    visits = json.loads(_loyalty(url, "report", "visits", "--since", "2000-01-01", "--json").stdout)["rows"]
    assert len(visits) == 5
    assert _loyalty(url, "doctor").returncode == 0
