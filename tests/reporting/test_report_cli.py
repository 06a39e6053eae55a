"""`loyalty report`: periods, formats, files, errors and the cron path."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.reporting.period import Period, exact_period, resolve_period
from loyalty_cli.store import db as store_db
from tests.conftest import ROOT

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

NAMES = ("summary", "customers", "visits", "rewards", "liability", "at-risk", "campaigns", "feedback")
# the CSVs of the reports' other tables, written beside the main one (the summary's per-category
# table for a shop that lists categories, as the sample config does)
EXTRA_CSV = ("summary-{}-timeline.csv", "summary-{}-categories.csv",
             *(f"feedback-{{}}-{table}.csv" for table in ("months", "distribution", "comments", "follow_up")))


@pytest.fixture
def shop(cli):
    """Two customers and three visits in June 2026 (now is 15 June, 14:00 in Rome)."""
    for args in (("333 111 1111", "--amount", "12.50", "--at", "2026-06-14T23:30", "--name", "=cmd|'/C calc'!A0"),
                 ("333 111 1111", "--amount", "7", "--at", "2026-06-01T09:00"),
                 ("333 222 2222", "--amount", "20", "--at", "2026-05-31T10:00", "--name", "Bea, \"the boss\"")):
        result = cli("visit", *args)
        assert result.exit_code == 0, result.output + result.stderr


# ---- periods ---------------------------------------------------------------------------------

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize("since, until, expected", [
    (None, None, ("2026-03-01", "2026-03-10")),
    ("today", None, ("2026-03-10", "2026-03-10")),
    ("yesterday", "yesterday", ("2026-03-09", "2026-03-09")),
    ("last-7-days", None, ("2026-03-04", "2026-03-10")),
    ("last-month", "last-month", ("2026-02-01", "2026-02-28")),
    ("this-month", None, ("2026-03-01", "2026-03-10")),
    ("2025-12-24", "2026-01-06", ("2025-12-24", "2026-01-06")),
    (None, "2026-02-14", ("2026-02-01", "2026-02-14")),
    (" Last-Month ", None, ("2026-02-01", "2026-03-10")),
])
def test_resolve_period(since, until, expected):
    period = resolve_period(since, until, TODAY)
    assert (period.since.isoformat(), period.until.isoformat()) == expected


def test_last_month_in_january():
    period = exact_period("last-month", date(2026, 1, 5))
    assert (period.since, period.until) == (date(2025, 12, 1), date(2025, 12, 31))


@pytest.mark.parametrize("since, until", [("2026-13-01", None), ("tomorrow", None), (None, "01/31/2026"),
                                          ("2026-03-05", "2026-03-04")])
def test_bad_periods(since, until):
    with pytest.raises(BadInput):
        resolve_period(since, until, TODAY)


def test_period_bounds_follow_the_shop_clock_through_dst():
    rome = ZoneInfo("Europe/Rome")
    assert Period(date(2026, 3, 29), date(2026, 3, 29)).bounds(rome) == (
        "2026-03-28T23:00:00.000000Z", "2026-03-29T22:00:00.000000Z")  # a 23-hour day


@pytest.mark.parametrize("since, until, stamp", [
    ("2026-05-01", "2026-05-01", "2026-05-01"),
    ("2026-02-01", "2026-02-28", "2026-02"),
    ("2026-05-01", "2026-05-15", "2026-05-01_2026-05-15"),
])
def test_file_stamps(since, until, stamp):
    assert Period(date.fromisoformat(since), date.fromisoformat(until)).stamp() == stamp


# ---- errors: one line, exit 2, nothing written -----------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("summary", "--since", "yesterdy"), "--since is not a date: 'yesterdy'"),
    (("visits", "--since", "2026-06-10", "--until", "2026-06-01"), "--since 2026-06-10 is after --until 2026-06-01"),
    (("summary", "--format", "pdf"), "--format must be one of"),
    (("summary", "--output", "report.pdf"), "cannot tell the format from 'report.pdf'"),
    (("summary", "--output", "no/such/dir/report.csv"), "--output: no such directory: no/such/dir"),
    (("summary", "--json", "--format", "csv"), "--json and --format csv disagree"),
    (("export", "--dir", "missing"), "--dir: no such directory: missing"),
    (("export", "--dir", ".", "--format", "csv,pdf"), "--format must be one or more of"),
    (("export", "--dir", ".", "--date", "2026-02-30"), "--date is not a date"),
    (("export", "--dir", ".", "--date", "yesterday", "--since", "today"), "give --date, or --since/--until, not both"),
])
def test_bad_options_exit_2_with_one_line(cli, args, message):
    result = cli("report", *args)
    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output + result.stderr
    assert not [p for p in Path(".").iterdir()]


def test_unknown_report_exits_2(cli):
    result = cli("report", "profits")
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_unwritable_directory_exits_2(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):
        pytest.skip("running as root: every directory is writable")
    result = cli("report", "export", "--dir", locked)
    assert result.exit_code == 2 and "cannot write in" in result.stderr


def test_unwritable_directory_even_as_root(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    result = cli("report", "summary", "--output", tmp_path / "summary.csv")
    assert result.exit_code == 2 and f"--output: cannot write in {tmp_path}" in result.stderr


def test_a_file_is_not_a_directory(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    result = cli("report", "export", "--dir", tmp_path / "file")
    assert result.exit_code == 2 and "no such directory" in result.stderr


# ---- output ----------------------------------------------------------------------------------

def test_csv_to_stdout_when_piped(cli, shop):
    result = cli("report", "visits")
    assert result.exit_code == 0, result.stderr
    text = result.stdout_bytes.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["day"], r["amount"]) for r in rows] == [("2026-06-01", "7.00"), ("2026-06-14", "12.50")]
    assert rows[1]["name"] == "'=cmd|'/C calc'!A0" and rows[1]["phone"] == "'+393331111111"
    assert text.count("\r\n") == 3 and text.count("\n") == 3


def test_output_file_by_extension(cli, shop):
    for name in ("out.json", "out.xlsx", "out.html", "out.csv", "out.txt"):
        result = cli("report", "summary", "--output", name)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
    assert json.loads(Path("out.json").read_text())["rows"][0]["visits"] == 2
    assert Path("out.xlsx").read_bytes()[:2] == b"PK"
    assert Path("out.html").read_text().startswith("<!DOCTYPE html>")
    assert Path("out-timeline.csv").exists()  # the summary's other tables beside its CSV
    assert Path("out-categories.csv").read_text().splitlines()[0] == "category,visits,customers,revenue"
    assert "Visits per day" in Path("out.txt").read_text()
    assert sorted(p.name for p in Path(".").iterdir()) == [
        "out-categories.csv", "out-timeline.csv", "out.csv", "out.html", "out.json", "out.txt",
        "out.xlsx"]  # no temporary left


def test_xlsx_to_a_pipe(cli, shop):
    result = cli("report", "customers", "--format", "xlsx")
    assert result.exit_code == 0
    assert result.stdout_bytes[:2] == b"PK"


def test_table_when_piped_is_plain(cli, shop):
    result = cli("report", "customers", "--format", "table")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "333 111 1111" in result.stdout and "€19.50" in result.stdout  # a home number as the region writes it
    csv_out = cli("report", "customers", "--format", "csv").stdout
    assert "+393331111111" in csv_out and "333 111 1111" not in csv_out  # CSV keeps E.164


@pytest.mark.sqlite_only  # a file that is not there
def test_no_database_is_an_error_not_a_new_empty_one(cli, db_path, tmp_path):
    for args in (("summary",), ("export", "--dir", tmp_path)):
        result = cli("report", *args)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: no database at {db_path} (from LOYALTY_DB)")
    assert not db_path.exists()


def test_an_empty_database_reports_zeros(cli, db_path):
    store_db.connect(db_path).close()  # a database with nothing in it yet
    for name in NAMES:
        result = cli("report", name, "--json")
        assert result.exit_code == 0, result.stderr
    assert json.loads(cli("report", "summary", "--json").stdout)["rows"][0]["visits"] == 0


# ---- export ----------------------------------------------------------------------------------

def test_export_writes_every_report_with_dated_names(cli, shop, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = cli("report", "export", "--dir", out, "--date", "2026-06-14", "--format", "csv,json")
    assert result.exit_code == 0, result.stderr
    expected = sorted([f"{name}-2026-06-14.{ext}" for name in NAMES for ext in ("csv", "json")]
                      + [extra.format("2026-06-14") for extra in EXTRA_CSV])
    assert sorted(p.name for p in out.iterdir()) == expected
    assert sorted(Path(line).name for line in result.stdout.splitlines()) == expected
    summary = json.loads((out / "summary-2026-06-14.json").read_text())
    assert summary["rows"][0]["visits"] == 1 and summary["rows"][0]["revenue"] == "12.50"  # 23:30 on the 14th


def test_export_defaults_to_yesterday_csv(cli, shop, tmp_path):
    result = cli("report", "export", "--dir", tmp_path, "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    visits = (tmp_path / "visits-2026-06-14.csv").read_bytes()
    assert visits.count(b"\r\n") == 2 and b"23:30" in visits


def test_export_of_last_month(cli, shop, tmp_path):
    assert cli("report", "export", "--dir", tmp_path, "--date", "last-month", "-q").exit_code == 0
    assert (tmp_path / "summary-2026-05.csv").exists()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "visits-2026-05.csv").read_text(), newline="")))
    assert [r["amount"] for r in rows] == ["20.00"]


def test_export_is_all_or_nothing(cli, shop, tmp_path, monkeypatch):
    from loyalty_cli.output import writers as report_writers

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "visits-2026-06-14.csv").write_text("yesterday's good file\n")
    real = report_writers.write_json

    def fail_on_liability(report, handle):
        if report.name == "liability":
            raise OSError(28, "No space left on device")
        real(report, handle)

    monkeypatch.setattr(report_writers, "write_json", fail_on_liability)
    result = cli("report", "export", "--dir", tmp_path, "--format", "csv,json")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["visits-2026-06-14.csv"]  # no temporary left
    assert (tmp_path / "visits-2026-06-14.csv").read_text() == "yesterday's good file\n"


def test_the_cron_line_as_a_process(shop, tmp_path):
    """No terminal, no colour, nothing on stdout, every file complete."""
    out = tmp_path / "cron"
    out.mkdir()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}  # a terminal type, but no terminal
    done = subprocess.run([sys.executable, "-m", "loyalty_cli", "report", "export", "--dir", str(out),
                           "--date", "yesterday", "--format", "csv,json,xlsx,html,table", "--quiet"],
                          capture_output=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"" and done.stderr == b""
    files = sorted(out.iterdir())
    assert len(files) == len(NAMES) * 5 + len(EXTRA_CSV)
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                data = b"".join(book.read(name) for name in book.namelist())
        assert b"\x1b" not in data, path.name
        assert not path.name.startswith(".")
        if path.suffix == ".json":
            json.loads(data)
        if path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>")


# ---- reading never blocks the counter ------------------------------------------------------------

@pytest.mark.sqlite_only  # SQLite's WAL; on PostgreSQL readers never block writers
def test_a_report_in_progress_does_not_block_a_visit(cli, shop, db_path):
    reader = sqlite3.connect(db_path, isolation_level=None)
    try:
        with store_db.snapshot(reader):
            before = reader.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
            result = cli("visit", "333 111 1111", "--amount", "3")  # the counter writes meanwhile
            assert result.exit_code == 0, result.stderr
            # the report keeps seeing the database as it was when it started
            assert reader.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == before
        assert reader.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == before + 1
    finally:
        reader.close()


def test_help_lists_every_report(cli):
    result = cli("report", "--help")
    for name in (*NAMES, "export"):
        assert name in result.stdout


# ---- every shop in examples/ ------------------------------------------------------------------

@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.toml")))
def test_every_report_in_every_format_for_each_example_shop(cli, tmp_path, monkeypatch, example):
    monkeypatch.setenv("LOYALTY_CONFIG", str(ROOT / "examples" / example))
    phones = ("+36 30 123 4567", "+34 612 345 678") if example == "car_wash.toml" else ("+39 333 111 1111",
                                                                                        "+39 333 222 2222")
    for day in range(1, 13):
        result = cli("visit", phones[day % 2], "--amount", "1500" if example == "car_wash.toml" else "15",
                     "--at", f"2026-06-{day:02d}T12:00")
        assert result.exit_code == 0, result.output + result.stderr
    out = tmp_path / "out"
    out.mkdir()
    result = cli("report", "export", "--dir", out, "--date", "this-month", "--format", "csv,json,xlsx,html,table")
    assert result.exit_code == 0, result.stderr
    listed = example in ("cafe.toml", "pharmacy.toml")  # the shops with [shop] categories get a per-category CSV
    assert len(list(out.iterdir())) == len(NAMES) * 5 + len(EXTRA_CSV) - (0 if listed else 1)
    summary = json.loads((out / "summary-2026-06-01_2026-06-15.json").read_text())
    assert ("categories" in summary) == listed
    assert summary["rows"][0]["visits"] == 12
    assert summary["parameters"]["currency"] == ("HUF" if example == "car_wash.toml" else "EUR")


def test_a_reward_since_removed_from_the_config(cli, tmp_path, monkeypatch):
    from tests.conftest import SAMPLE

    richer = tmp_path / "richer.toml"
    richer.write_text(SAMPLE.read_text(encoding="utf-8") + '\n[[rewards]]\nid = "mug"\nname = "A mug"\n'
                      'kind = "free_item"\nvalue = 8.00\ncost = 3.00\npoints = 20\n', encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(richer))
    assert cli("visit", "333 111 1111", "--amount", "10", "--at", "2026-06-10T10:00").exit_code == 0
    assert cli("redeem", "333 111 1111", "mug").exit_code == 0  # 20 welcome points buy the mug
    monkeypatch.setenv("LOYALTY_CONFIG", str(SAMPLE))  # the shop drops mugs from its catalog
    summary = json.loads(cli("report", "summary", "--json").stdout)
    assert summary["rows"][0]["vouchers_redeemed"] == 1 and summary["rows"][0]["reward_cost"] == "0.00"
    assert summary["notes"] == ["reward cost leaves out rewards no longer in the config: mug"]
    rows = json.loads(cli("report", "rewards", "--json").stdout)["rows"]
    assert [(r["event"], r["reward"], r["reward_name"], r["cost"]) for r in rows] == [
        ("issued", "mug", None, None), ("redeemed", "mug", None, None)]
    for fmt in ("table", "csv", "html", "xlsx"):
        assert cli("report", "summary", "--format", fmt).exit_code == 0
