"""Offline tills against a real PostgreSQL server (issue 14): stop it mid-run, keep recording,
start it again, `loyalty sync`: every visit there once.

Needs LOYALTY_TEST_POSTGRES (a URL to a throw-away database, e.g. postgresql://root@localhost/loyalty_test)
and a server this test may stop and start: `pg_ctlcluster` on the cluster named by
LOYALTY_TEST_POSTGRES_CLUSTER (default "15 main"), as .ci/run sets up. Skips without them.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

URL = os.environ.get("LOYALTY_TEST_POSTGRES")
CLUSTER = os.environ.get("LOYALTY_TEST_POSTGRES_CLUSTER", "15 main").split()

pytestmark = pytest.mark.skipif(not URL or not shutil.which("pg_ctlcluster"),
                                reason="set LOYALTY_TEST_POSTGRES (and have pg_ctlcluster) to run against PostgreSQL")


def _loyalty(*args, check=True):
    done = subprocess.run([sys.executable, "-m", "loyalty_cli", "--db", URL, *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _cluster(action: str) -> None:
    subprocess.run(["pg_ctlcluster", *CLUSTER, action], check=True, timeout=120)


@pytest.fixture
def server():
    yield
    _cluster("start")  # never leave the server down for the tests after this one


def test_stop_record_restart_sync(server, isolated):
    mark = uuid.uuid4().hex[:7]
    regular, newcomer = f"+39333{int(mark, 16) % 10**7:07d}", f"+39334{int(mark, 16) % 10**7:07d}"
    _loyalty("visit", regular, "--amount", "10", "--ref", f"on-{mark}")
    _cluster("stop")
    offline = [_loyalty("visit", regular, "--amount", "2", "--json") for _ in range(3)]
    offline.append(_loyalty("visit", newcomer, "--amount", "5", "--ref", f"new-{mark}", "--json"))
    assert all(json.loads(done.stdout)["offline"] for done in offline)
    redeem = _loyalty("redeem", regular, "--credit", "0.10", check=False)
    assert redeem.returncode == 1 and "offline" in redeem.stderr
    _cluster("start")
    pushed = json.loads(_loyalty("sync", "--json").stdout)
    assert (pushed["pushed"], pushed["refused"]) == (4, [])
    assert json.loads(_loyalty("sync", "--json").stdout)["pushed"] == 0  # again: nothing twice
    assert json.loads(_loyalty("show", regular, "--json").stdout)["visits"] == 4
    assert json.loads(_loyalty("show", newcomer, "--json").stdout)["visits"] == 1
    assert _loyalty("doctor").returncode == 0
