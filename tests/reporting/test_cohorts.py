"""`loyalty report cohorts` on a hand-built history: who came back, month by month."""

import json
from datetime import UTC, date, datetime

import pytest

from loyalty_cli.output.terminal import SHADES, shade


@pytest.fixture
def history(cli):
    """Now is 15 June 2026 (conftest). Visits, shop-local times in Rome:
    - Anna:  10 Jan (first), 20 Jan, 5 Feb, 1 Apr                  cohort 2026-01: months 0, 1, 3
    - Bruno: 31 Jan 23:30 (still January in Rome), 2 Mar          cohort 2026-01: months 0, 2
    - Carla: 14 Feb; 3 Mar voided                                   cohort 2026-02: month 0 only
    - Dario: 1 Feb, then 1 Jun (after --until 2026-05-31)           cohort 2026-02: month 0 only
    - Elsa:  3 May                                                   cohort 2026-05
    - Fede:  20 Dec 2025, 15 Jan                                     cohort 2025-12: before --since
    """
    def visit(phone, when):
        args = ["visit", phone, "--amount", "10", "--at", when, "--json"]
        result = cli(*args)
        assert result.exit_code == 0, result.output + result.stderr
        return json.loads(result.stdout)["visit_id"]

    for when in ("2026-01-10T10:00", "2026-01-20T10:00", "2026-02-05T10:00", "2026-04-01T10:00"):
        visit("333 000 0001", when)
    for when in ("2026-01-31T23:30", "2026-03-02T10:00"):
        visit("333 000 0002", when)
    visit("333 000 0003", "2026-02-14T10:00")
    voided = visit("333 000 0003", "2026-03-03T10:00")
    assert cli("void", voided, "--reason", "wrong customer").exit_code == 0
    for when in ("2026-02-01T10:00", "2026-06-01T10:00"):
        visit("333 000 0004", when)
    visit("333 000 0005", "2026-05-03T10:00")
    for when in ("2025-12-20T10:00", "2026-01-15T10:00"):
        visit("333 000 0006", when)


def test_cohorts(cli_json, history):
    data = cli_json("report", "cohorts", "--since", "2026-01-15", "--until", "2026-05-31")
    rows = [(r["cohort"], r["customers"], [r[f"retention_{k}"] for k in range(5)]) for r in data["rows"]]
    assert rows == [
        ("2026-01", 2, [1.0, 0.5, 0.5, 0.5, 0.0]),  # --since picks its whole month: Anna's 10 Jan counts
        ("2026-02", 2, [1.0, 0.0, 0.0, 0.0, None]),  # June is after --until: null, not 0
        ("2026-03", 0, [None] * 5),
        ("2026-04", 0, [None] * 5),
        ("2026-05", 1, [1.0, None, None, None, None]),
    ]
    assert list(data["rows"][0]) == ["cohort", "customers", *(f"retention_{k}" for k in range(5))]
    assert (data["parameters"]["since"], data["parameters"]["until"]) == ("2026-01-15", "2026-05-31")


def test_default_is_twelve_cohorts_up_to_until(cli_json, history):
    rows = cli_json("report", "cohorts", "--until", "2026-05-31")["rows"]
    assert [r["cohort"] for r in rows] == [f"2025-{m:02d}" for m in range(6, 13)] + [f"2026-{m:02d}"
                                                                                     for m in range(1, 6)]
    december = rows[6]
    assert (december["cohort"], december["customers"], december["retention_1"]) == ("2025-12", 1, 1.0)
    assert len(rows[0]) == 2 + 12


def test_until_mid_month_counts_that_month_so_far(cli_json, history):
    rows = cli_json("report", "cohorts", "--since", "2026-02-01", "--until", "2026-06-15")["rows"]
    february = rows[0]
    assert [february[f"retention_{k}"] for k in range(5)] == [1.0, 0.0, 0.0, 0.0, 0.5]  # Dario on 1 June


def test_months_to_come_are_null_whatever_until_says(cli_json, history):
    rows = cli_json("report", "cohorts", "--since", "2026-05-01", "--until", "2026-08-31")["rows"]  # now: 15 June
    assert [r["retention_1"] for r in rows] == [0.0, None, None, None]


def test_formats(cli, history, tmp_path):
    for ext in ("csv", "xlsx", "html", "txt"):
        target = tmp_path / f"cohorts.{ext}"
        result = cli("report", "cohorts", "--since", "2026-01-01", "--until", "2026-05-31", "--output", target)
        assert result.exit_code == 0, result.output + result.stderr
    csv_lines = (tmp_path / "cohorts.csv").read_text().splitlines()
    assert csv_lines[1] == "2026-01,2,1.0000,0.5000,0.5000,0.5000,0.0000"
    assert csv_lines[2].endswith(",0.0000,")  # a month not reached: empty, not 0
    html = (tmp_path / "cohorts.html").read_text()
    assert 'style="background: rgba(47, 125, 109, 0.80)">100.0%' in html
    assert 'style="background: rgba(47, 125, 109, 0.40)">50.0%' in html
    assert "<td class=\"num\">0.0%</td>" in html  # no shade for nobody


def test_shades():
    assert [shade(v) for v in (None, 0, 0.01, 0.2, 0.21, 0.5, 1.0)] == [
        "", "", SHADES[1], SHADES[1], SHADES[2], SHADES[3], SHADES[5]]


def test_the_terminal_draws_a_shaded_grid(history, db_path, monkeypatch):
    from rich.console import Console

    from loyalty_cli.config import load as config
    from loyalty_cli.output import console as output_console
    from loyalty_cli.output.terminal import draw
    from loyalty_cli.reporting import cohorts
    from loyalty_cli.reporting.context import Context
    from loyalty_cli.reporting.period import Period
    from loyalty_cli.store import db as store_db
    from tests.conftest import SAMPLE

    screen = Console(record=True, width=120, force_terminal=True, color_system="256")
    monkeypatch.setattr(output_console, "console", lambda stderr=False: screen)
    conn = store_db.connect(db_path)
    try:
        ctx = Context(conn, config.load(SAMPLE), datetime(2026, 6, 15, 12, tzinfo=UTC))
        draw(cohorts.build(ctx, Period(date(2026, 1, 1), date(2026, 5, 31))))
    finally:
        conn.close()
    text = screen.export_text(styles=True)
    assert "100.0%" in text and "48;5;21m" in text  # the brightest blue behind 100%
    assert "48;5;19m" in text  # a middling one behind 50%


def test_no_visits_at_all(cli, cli_json):
    assert cli("enroll", "333 000 0009").exit_code == 0  # a customer, but no visit: in no cohort
    rows = cli_json("report", "cohorts", "--since", "2026-05-01", "--until", "2026-06-15")["rows"]
    assert [(r["cohort"], r["customers"], r["retention_0"]) for r in rows] == [("2026-05", 0, None),
                                                                                ("2026-06", 0, None)]
