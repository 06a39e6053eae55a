"""A new user's findings in the importer: Hungarian birthdays, malformed JSON Lines rows, the
rejects file, --date-format and the progress count."""

import csv
import io
import json

import pytest

from tests.importing.conftest import query


@pytest.mark.parametrize("cell", ["1985. 06. 15.", "1985. 6. 15.", "1985.06.15.", "1985.06.15", "15. 06. 1985"])
def test_hungarian_birthdays_read_as_the_date_reader_reads_dates(cli_json, db_path, tmp_path, cell):
    file = tmp_path / "kartyak.csv"
    file.write_text(f"telefon;születésnap\n333 000 0001;{cell}\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert summary["birthdays"] == 1
    assert query(db_path, "SELECT birthday FROM customers") == [{"birthday": "1985-06-15"}]


def test_a_malformed_json_line_is_a_rejected_row(reader, cli, cli_json, db_path, tmp_path):
    file = tmp_path / "v.jsonl"
    file.write_text('{"phone": "333 000 0001", "date": "2026-06-01", "amount": "5"}\n'
                    '{"phone": "333 000 0002", "date": "2026-06-01"}\n'
                    '{bad json\n'
                    '[1, 2]\n'
                    '{"phone": "333 000 0003", "date": "2026-06-02"}\n', encoding="utf-8")
    strict = cli("import", "visits", file)
    assert strict.exit_code == 2 and not db_path.exists()
    assert f"{file}: line 3: not valid JSON" in strict.stderr
    rejects = tmp_path / "rj.jsonl"
    summary = cli_json("import", "visits", file, "--skip-invalid", "--rejects", rejects)
    assert (summary["visits_added"], summary["rejected"]) == (3, 2)
    assert [p["line"] for p in summary["errors"]] == [3, 4]
    assert "expected a JSON object" in summary["errors"][1]["reason"]
    assert rejects.read_text(encoding="utf-8") == "{bad json\n[1, 2]\n"  # as they were, to be fixed there


def test_no_rejected_row_no_rejects_file(cli, db_path, tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone,date\n333 000 0001,2026-06-01\n", encoding="utf-8")
    rejects = tmp_path / "rj.csv"
    rejects.write_text("phone,date,rejected_because\n333,x,from an earlier run\n", encoding="utf-8")
    result = cli("import", "visits", file, "--skip-invalid", "--rejects", rejects)
    assert result.exit_code == 0, result.output
    assert "rejected rows written" not in result.stdout + result.stderr
    assert not rejects.exists()  # the earlier run's rows are no longer what this import rejected
    file.write_text("phone,date\n333 000 0002,2026-06-01\n", encoding="utf-8")
    summary = cli("import", "visits", file, "--skip-invalid", "--rejects", rejects, "--json")
    assert json.loads(summary.stdout)["rejects_file"] is None and not rejects.exists()


def test_a_rejected_row_with_an_extra_cell_stays_aligned_and_can_be_imported_again(reader, cli_json, db_path,
                                                                                    tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone;date;amount\n333 000 0001;2026-06-01;5\n333 000 0002;2026-06-01;6;;extra\n",
                    encoding="utf-8")
    rejects = tmp_path / "rj.csv"
    summary = cli_json("import", "visits", file, "--skip-invalid", "--rejects", rejects)
    assert (summary["visits_added"], summary["rejected"]) == (1, 1)
    rows = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0] == ["phone", "date", "amount", "rejected_because"]
    assert rows[1][:3] == ["333 000 0002", "2026-06-01", "6"] and len(rows[1]) == 4
    assert "column 5, which has no header" in rows[1][3] and "'extra'" in rows[1][3]
    again = cli_json("import", "visits", rejects)  # the reason column is ignored, the row is whole
    assert again["visits_added"] == 1
    assert len(query(db_path, "SELECT id FROM visits")) == 2


@pytest.mark.parametrize("pattern", ["%Q", "%Y/%m", "%H:%M", "hh:mm", "%Y-%m-%d %"])
def test_a_date_format_that_reads_no_date_is_refused_up_front(cli, db_path, tmp_path, pattern):
    file = tmp_path / "v.csv"
    file.write_text("phone,date\n333 000 0001,2026-06-01\n", encoding="utf-8")
    result = cli("import", "visits", file, "--date-format", pattern)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--date-format" in result.stderr
    assert "does not match" not in result.stderr and not db_path.exists()


@pytest.mark.parametrize("pattern", ["%d.%m.%Y", "mm/dd/yyyy", "dd.mm.yy", "%m/%d/%Y %H:%M", "%Y-%j"])
def test_date_formats_that_read_a_date_are_taken(cli, tmp_path, pattern):
    from datetime import datetime

    from loyalty_cli.importing.values import friendly_format

    file = tmp_path / "v.csv"
    day = datetime(2026, 6, 1, 10, 0).strftime(friendly_format(pattern))
    file.write_text(f"phone,date\n333 000 0001,{day}\n", encoding="utf-8")
    result = cli("import", "visits", file, "--date-format", pattern)
    assert result.exit_code == 0, result.output


def test_a_date_format_without_the_year_still_reads_month_first_birthdays(cli_json, db_path, tmp_path):
    file = tmp_path / "us.csv"
    file.write_text("phone,birthday\n333 000 0001,12/25\n", encoding="utf-8")
    assert cli_json("import", "cards", file, "--date-format", "mm/dd")["birthdays"] == 1
    assert query(db_path, "SELECT birthday FROM customers") == [{"birthday": "--12-25"}]


class _Recorder:
    """Stands in for the CLI's progress bar: every (description, done, total) it is told."""

    calls: list = []

    def __enter__(self):
        return lambda description, done, total: self.calls.append((description, done, total))

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(("name", "header", "row"), [
    ("v.csv", "sep=;\nphone;date\n", "333 000 {:04d};2026-06-01\n"),
    ("v.jsonl", "", '{{"phone": "333 000 {:04d}", "date": "2026-06-01"}}\n'),
])
def test_the_progress_bar_counts_rows_not_the_header(cli_json, tmp_path, monkeypatch, name, header, row):
    from loyalty_cli.cli import import_command

    monkeypatch.setattr(import_command, "_Progress", _Recorder)
    monkeypatch.setattr(_Recorder, "calls", [])
    file = tmp_path / name
    file.write_text(header + "".join(row.format(i) for i in range(1, 1001)), encoding="utf-8")
    assert cli_json("import", "visits", file)["visits_added"] == 1000
    reading = [(done, total) for description, done, total in _Recorder.calls if description != "indexing"]
    assert reading and reading[-1] == (1000, 1000)
    assert all(total == 1000 and 0 <= done <= 1000 for done, total in reading)
