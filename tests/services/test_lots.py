"""Points lots at the counter (issue 9): one engine (domain/lots.py) behind the card, `expire`,
void, redemptions and the reports; expiries dated when they fell due; `loyalty expire` in short
transactions. The random histories are in test_lot_properties.py."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from loyalty_cli.store import db as store_db
from loyalty_cli.store import lots as store_lots
from tests.conftest import ROOT, SAMPLE

MARIA = "333 123 4567"


def points_lines(db_path, kind):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT at, points, reverses, earned_at, written_at FROM ledger "
                            "WHERE kind = ? AND points != 0 "
                            "ORDER BY id", (kind,)).fetchall()
    finally:
        conn.close()


def test_a_lot_written_after_a_redemption_but_dated_before_it(cli_json, at, db_path):
    # Jan: earn 100 (+20 welcome); Feb: redeem 100; Mar: `visit --at 2025-12-01` earns 200.
    at("2026-01-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "100")
    at("2026-02-10T12:00:00+00:00")
    assert cli_json("redeem", MARIA, "free-cone")["points"] == 20  # the welcome 20 and 80 of January's
    at("2026-03-10T12:00:00+00:00")
    assert cli_json("visit", MARIA, "--amount", "200", "--at", "2025-12-01")["points"] == 220
    at("2026-12-15T12:00:00+00:00")
    assert cli_json("show", MARIA)["points"] == 20  # December's 200 fell due on 1 December; 20 of January's left
    assert cli_json("expire") == {"customers": 1, "points": 200, "vouchers": 0}
    [(due_at, points, lot, earned_at, written_at)] = points_lines(db_path, "expire")
    assert (due_at, points, written_at) == ("2026-12-01T11:00:00.000000Z", -200, "2026-12-15T12:00:00.000000Z")
    assert earned_at == "2025-12-01T11:00:00.000000Z"  # noon in Rome: the lot's time
    line = cli_json("history", MARIA)[0]  # newest first: the expiry sits at the moment it fell due
    assert (line["kind"], line["at"], line["reverses"]) == ("expire", "2026-12-01T12:00:00+01:00", lot)
    assert line["reason"] == "points earned on 2025-12-01 expired"
    assert cli_json("show", MARIA)["points"] == 20


def test_void_of_a_middle_visit(cli_json, at, db_path):
    at("2026-01-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "10")  # 20 welcome + 10
    at("2026-02-10T12:00:00+00:00")
    middle = cli_json("visit", MARIA, "--amount", "20")
    at("2026-03-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "30")
    at("2026-04-10T12:00:00+00:00")
    assert cli_json("void", str(middle["visit_id"]))["points"] == 60
    [(_, points, lot, earned_at, _)] = points_lines(db_path, "void")
    assert (points, earned_at) == (-20, "2026-02-10T12:00:00.000000Z")
    assert [line["id"] for line in cli_json("history", MARIA) if line["kind"] == "points" and line["points"] == 20] \
        == [lot]
    at("2027-02-15T12:00:00+00:00")  # the January lots are due, February's was taken back
    assert cli_json("show", MARIA)["points"] == 30
    assert cli_json("expire")["points"] == 30
    assert [(at_, points) for at_, points, *_ in points_lines(db_path, "expire")] == [
        ("2027-01-10T12:00:00.000000Z", -20), ("2027-01-10T12:00:00.000000Z", -10)]


def test_expiries_belong_to_the_period_they_fell_due_in(cli, cli_json, at, db_path):
    at("2025-05-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "40")  # 20 + 40 points, due 10 May 2026
    at("2026-02-01T12:00:00+00:00")
    for _ in range(10):
        cli_json("visit", MARIA)  # the tenth punch: a voucher due 2 May 2026
    at("2026-06-15T12:00:00+00:00")
    assert cli_json("expire") == {"customers": 1, "points": 60, "vouchers": 1}

    def summary(since, until):
        result = cli("report", "summary", "--since", since, "--until", until, "--json")
        assert result.exit_code == 0, result.stderr
        [row] = json.loads(result.stdout)["rows"]
        return row["points_expired"], row["vouchers_expired"]

    assert summary("2026-05-01", "2026-05-31") == (60, 1)  # when they fell due ...
    assert summary("2026-06-01", "2026-06-30") == (0, 0)  # ... not when the job wrote them down
    conn = sqlite3.connect(db_path)
    voucher = conn.execute("SELECT expires_at, ended_at FROM vouchers WHERE status = 'expired'").fetchone()
    assert voucher[0] == voucher[1] == "2026-05-02T11:00:00.000000Z"  # 13:00 in Rome, as issued
    written = {row[0] for row in conn.execute("SELECT written_at FROM ledger WHERE kind = 'expire'")}
    assert written == {"2026-06-15T12:00:00.000000Z"}
    conn.close()


def test_a_visit_back_dated_beyond_points_days_writes_its_expiry_at_once(cli_json, db_path):
    card = cli_json("visit", MARIA, "--amount", "50", "--at", "2024-06-01")  # now is 2026-06-15
    assert card["earned"]["points"] == 50 and card["points"] == 0  # enrolled then too: all due on 1 June 2025
    assert [(line[0], line[1]) for line in points_lines(db_path, "expire")] == [
        ("2025-06-01T10:00:00.000000Z", -20), ("2025-06-01T10:00:00.000000Z", -50)]
    assert cli_json("expire") == {"customers": 0, "points": 0, "vouchers": 0}


# ---- `loyalty expire` and the till ---------------------------------------------------------------

CUSTOMERS, LOTS_EACH = 2000, 6
LONG_AGO = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def bulk_history(path) -> None:
    """CUSTOMERS customers, each with LOTS_EACH lots long past due, in a few statements."""
    conn = store_db.connect(path)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO customers (id, phone, enrolled_at, points) VALUES (?, ?, ?, ?)",
                     [(i, f"+39333{i:07d}", "2024-01-01T10:00:00.000000Z", 10 * LOTS_EACH)
                      for i in range(1, CUSTOMERS + 1)])
    lines = []
    for lot in range(LOTS_EACH):
        when = (LONG_AGO + timedelta(days=lot)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines += [(i, when, "import", 10, when) for i in range(1, CUSTOMERS + 1)]
    conn.executemany("INSERT INTO ledger (customer_id, at, kind, points, earned_at) VALUES (?, ?, ?, ?, ?)", lines)
    conn.execute("COMMIT")
    conn.close()


def loyalty(db, *args, **popen):
    env = {**os.environ, "LOYALTY_NOW": "2026-06-15T12:00:00+00:00"}
    return subprocess.Popen([sys.executable, "-m", "loyalty_cli", "--db", str(db), "--config", str(SAMPLE), *args],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)


def test_a_visit_during_a_long_expire_run_waits_and_succeeds(db_path):
    bulk_history(db_path)
    expire = loyalty(db_path, "expire")
    waits = []
    while expire.poll() is None:
        started = time.monotonic()
        visit = loyalty(db_path, "visit", f"333 {len(waits):07d}", "--amount", "5")
        _, errors = visit.communicate(timeout=60)
        waits.append(time.monotonic() - started)
        assert visit.returncode == 0, errors.decode()
    assert expire.wait() == 0, expire.stderr.read().decode()
    assert len(waits) >= 2  # the run was long enough for the till to come in during it
    conn = store_db.connect(db_path)
    expired = conn.execute("SELECT COUNT(*), -SUM(points) FROM ledger WHERE kind = 'expire'").fetchone()
    assert tuple(expired) == (CUSTOMERS * LOTS_EACH, CUSTOMERS * LOTS_EACH * 10)
    assert store_lots.problems(conn) == []
    conn.close()
