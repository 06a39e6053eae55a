"""An import running while tills record visits: on PostgreSQL the tills never wait for it.

The import runs in a child process (as `loyalty import` would on the back-office machine) and
this process is the till, recording visits through services.counter while it runs. On
PostgreSQL each visit of a customer who is not in the file must finish within TILL_BOUND_S while
the import is still going (the import locks rows, not tables); on SQLite the till may wait for
the import's write lock (and, past the busy timeout, try again), so only correctness is checked.
Either way, afterwards: every till visit there once, the import's figures and replay equal to the
same import into an empty database with no till beside it, and `doctor` clean.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from loyalty_cli.domain.errors import Refused
from loyalty_cli.services import counter
from loyalty_cli.services.session import Session
from tests.importing.conftest import query

pytestmark = pytest.mark.backends

ROWS = 5_000  # on PostgreSQL the import lasts a few seconds: long enough for the tills to visit during it
FILE_CUSTOMERS = 500
TILL_BOUND_S = 2.0
TILL_PHONES = ["+393470000001", "+393470000002", "+393470000003"]  # not in the file
FILE_PHONE_AT_TILL = "+39 3331000007"  # in the file: its visit may wait for the import's rows of it


def _file_phone(i: int) -> str:
    return f"+39 333{1_000_000 + i:07d}"


def _visits_file(path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("Cellulare;Data;Importo;Articoli\n")
        for row in range(ROWS):
            day = 1 + row % 28
            month = 1 + (row // 28) % 12
            out.write(f"{_file_phone(row % FILE_CUSTOMERS)};{day:02d}/{month:02d}/2025 {9 + row % 9}:{row % 60:02d};"
                      f"{3 + row % 40},{row % 100:02d};{1 + row % 3}\n")


def _start_import(path, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "loyalty_cli", "import", "visits", str(path), "--apply-rules",
                             "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _visit(session, phone: str, ref: str) -> float:
    """One till visit; seconds it took (SQLite's busy database tried again, same receipt)."""
    started = time.monotonic()
    while True:
        try:
            counter.record_visit(session, phone, "5", ref=ref)
            return time.monotonic() - started
        except Refused as exc:
            if "busy" not in str(exc) and "locked" not in str(exc):
                raise


def _till_while(importing: subprocess.Popen, session) -> tuple[list, list]:
    """Visits until the import ends: ([seconds of each visit finished while it ran], [refs])."""
    during, refs = [], []
    while importing.poll() is None:
        ref = f"T-{len(refs)}"
        phone = TILL_PHONES[len(refs) % len(TILL_PHONES)]
        if len(refs) == 5:
            phone = FILE_PHONE_AT_TILL
        took = _visit(session, phone, ref)
        refs.append(ref)
        if importing.poll() is None:
            during.append(took)
        time.sleep(0.05)
    return during, refs


def _run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loyalty_cli", *args], env=env, capture_output=True, text=True)


def _balances(db) -> dict:
    rows = query(db, "SELECT phone, points, credit, punches, visits, spend FROM customers")
    return {row["phone"]: row for row in rows}


def test_tills_record_visits_while_an_import_runs(backend, db_path, tmp_path, cli_json):
    path = tmp_path / "visits.csv"
    _visits_file(path)
    for i, phone in enumerate(TILL_PHONES):
        cli_json("visit", phone, "5", "--ref", f"before-{i}")  # the tills' customers, and the database
    env = dict(os.environ)
    reference_env = {**env, "LOYALTY_DB": str(tmp_path / "reference.db")}
    reference = _run(["import", "visits", str(path), "--apply-rules", "--json"], reference_env)
    assert reference.returncode == 0, reference.stderr

    session = Session(str(db_path))
    importing = _start_import(path, env)
    try:
        during, refs = _till_while(importing, session)
    finally:
        importing.wait(timeout=600)
    out, err = importing.communicate()
    assert importing.returncode == 0, err
    if backend == "postgres":
        assert len(during) >= 3, f"the import ended before the tills got going ({len(refs)} visits)"
        till_only = [took for took, ref in zip(during, refs, strict=False) if ref != "T-5"]
        assert max(till_only) < TILL_BOUND_S, f"a till waited {max(till_only):.2f} s for the import"
    longest = max(during, default=0)
    print(f"{backend}: {len(refs)} till visits, {len(during)} during the import, longest {longest:.3f} s")

    summary, expected = json.loads(out), json.loads(reference.stdout)
    for key in ("visits_added", "points", "punches", "credit", "vouchers_issued"):
        assert summary[key] == expected[key], key
    # The till's visit may have enrolled the customer of the file before the import met it.
    assert summary["customers_created"] + summary["customers_updated"] == expected["customers_created"]
    counted = query(db_path, "SELECT ref, COUNT(*) AS n FROM visits WHERE ref LIKE 'T-%' GROUP BY ref")
    assert {row["ref"]: row["n"] for row in counted} == dict.fromkeys(refs, 1)
    got, want = _balances(db_path), _balances(tmp_path / "reference.db")
    at_till = session.phone(FILE_PHONE_AT_TILL)
    for phone, row in want.items():
        if phone != at_till:
            assert dict(got[phone]) == dict(row), phone
    assert got[at_till]["visits"] == want[at_till]["visits"] + refs.count("T-5")
    doctor = _run(["doctor", "--json"], env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_two_imports_of_one_file_at_once_add_its_visits_once(db_path, tmp_path):
    """Neither import sees the other's rows before it commits: they take turns (an advisory lock
    on PostgreSQL, the write lock on SQLite), and the second finds the file imported."""
    env = dict(os.environ)
    first = tmp_path / "customers.csv"  # the customers are there: nothing else makes the imports wait
    first.write_text("Cellulare;Data;Importo\n" + "".join(f"{_file_phone(i)};01/02/2025 10:00;5,00\n"
                                                          for i in range(50)), encoding="utf-8")
    assert _run(["import", "visits", str(first)], env).returncode == 0
    path = tmp_path / "visits.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("Cellulare;Data;Importo\n")
        out.writelines(f"{_file_phone(row % 50)};{1 + row % 28:02d}/03/2025 10:{row % 60:02d};{4 + row % 9},00\n"
                       for row in range(4000))
    both = [_start_import(path, env) for _ in range(2)]
    summaries = []
    for importing in both:
        out, err = importing.communicate(timeout=300)
        assert importing.returncode == 0, err
        summaries.append(json.loads(out))
    assert sorted(summary["visits_added"] for summary in summaries) == [0, 4000]
    assert query(db_path, "SELECT COUNT(*) AS n FROM visits WHERE source = 'import'") == [{"n": 4050}]
    doctor = _run(["doctor", "--json"], env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_tills_record_visits_while_points_expire(backend, db_path, tmp_path, monkeypatch):
    """`loyalty expire` writes a batch per short transaction: on PostgreSQL a till waits for one
    batch at most, even for a customer being expired; on both, nothing is lost or doubled."""
    path = tmp_path / "visits.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("Cellulare;Data;Importo\n")
        out.writelines(f"{_file_phone(row)};{1 + row % 28:02d}/0{1 + row % 5}/2025 10:00;{10 + row % 30},00\n"
                       for row in range(1500))
    env = {**os.environ, "LOYALTY_NOW": "2025-12-01T12:00:00+00:00"}  # the points are not due yet
    imported = _run(["import", "visits", str(path), "--apply-rules", "--json"], env)
    assert imported.returncode == 0, imported.stderr
    session = Session(str(db_path))
    for i, phone in enumerate(TILL_PHONES):
        _visit(session, phone, f"before-{i}")
    env = dict(os.environ)  # a year and a half later: every imported visit's points are due
    expiring = subprocess.Popen([sys.executable, "-m", "loyalty_cli", "expire", "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    waits, refs = [], []
    while expiring.poll() is None:
        ref = f"T-{len(refs)}"
        phone = TILL_PHONES[len(refs) % 3] if len(refs) % 4 else _file_phone(len(refs) * 37 % 1500)
        waits.append(_visit(session, phone, ref))
        refs.append(ref)
        if backend == "sqlite":  # one writer at a time: a till writing back to back, retrying at once when
            time.sleep(0.01)     # busy, would starve expire's batches past their busy timeout
    out, err = expiring.communicate()
    assert expiring.returncode == 0, err
    if backend == "postgres":
        assert refs, "expire ended before the till got going"
        assert max(waits) < TILL_BOUND_S, f"a till waited {max(waits):.2f} s for expire"
    counted = query(db_path, "SELECT ref, COUNT(*) AS n FROM visits WHERE ref LIKE 'T-%' GROUP BY ref")
    assert {row["ref"]: row["n"] for row in counted} == dict.fromkeys(refs, 1)
    assert json.loads(out)["customers"] > 1000
    again = _run(["expire", "--json"], env)
    assert json.loads(again.stdout)["points"] == 0  # nothing left due, nothing expired twice
    doctor = _run(["doctor", "--json"], env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
