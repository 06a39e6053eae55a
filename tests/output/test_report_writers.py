"""Every report writer on a hand-made report: CSV, JSON, XLSX, HTML, plain text and rich."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.output import cells as output_cells
from loyalty_cli.output import html as report_html
from loyalty_cli.output import terminal as report_terminal
from loyalty_cli.output import writers as report_writers
from loyalty_cli.output.model import Chart, Column, Report, Table

TZ = ZoneInfo("Europe/Rome")
NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+39 333", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "a,b \"q\"\nline"]

COLUMNS = [
    Column("name", "Name"),
    Column("visits", "Visits", "int"),
    Column("gap", "Gap", "number"),
    Column("spend", "Spend", "money"),
    Column("share", "Share", "ratio"),
    Column("day", "Day", "date"),
    Column("at", "At", "moment"),
    Column("voided", "Voided", "bool"),
]


def make_report(names=NASTY) -> Report:
    rows = [(name, index, 1.5, -300 + index * 1000, 0.25, "2026-05-01", "2026-04-30T22:30:00.000000Z", index % 2 == 1)
            for index, name in enumerate(names)]
    rows.append(("<script>alert(1)</script> & Niccolò", None, None, None, None, None, None, None))
    series = [("2026-05-01", 3, 1250), ("2026-05-02", 0, 0), ("2026-05-03", 7, 4000)]
    tables = [
        Table("rows", "People", COLUMNS, lambda: iter(rows)),
        Table("timeline", "Visits per day", [Column("start", "From", "date"), Column("visits", "Visits", "int"),
                                             Column("revenue", "Revenue", "money")],
              lambda: iter(series), charts=[Chart("start", "visits", "Visits per day")], chart_instead=True),
    ]
    parameters = {"shop": "Gelateria <Roma>", "currency": "EUR", "timezone": "Europe/Rome", "since": "2026-05-01",
                  "until": "2026-05-31", "as_of": "2026-06-15T14:00:00+02:00"}
    return Report("test", "Test report", parameters, tables, "EUR", TZ, ["a note"])


# ---- CSV -------------------------------------------------------------------------------------

def csv_text(report) -> str:
    out = io.StringIO(newline="")
    report_writers.write_csv(report, report.main, out)
    return out.getvalue()


def test_csv_is_rfc4180_with_a_header():
    text = csv_text(make_report())
    assert text.startswith("name,visits,gap,spend,share,day,at,voided\r\n")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(NASTY) + 1
    assert all(len(row) == 8 for row in rows)
    assert rows[1][1:] == ["0", "1.5", "-3.00", "0.2500", "2026-05-01", "2026-05-01 00:30", "no"]
    assert rows[2][7] == "yes"
    assert rows[-1][1:] == [""] * 7  # nothing is an empty cell, not 'None'


@pytest.mark.parametrize("index", range(len(NASTY)))
def test_csv_neutralises_formulas(index):
    rows = list(csv.reader(io.StringIO(csv_text(make_report()), newline="")))
    cell = rows[1 + index][0]
    original = NASTY[index]
    if original[0] in "=+-@\t\r":
        assert cell == "'" + original
    else:
        assert cell == original  # commas, quotes and new lines survive, quoted
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_keeps_negative_money_a_number():
    rows = list(csv.reader(io.StringIO(csv_text(make_report()), newline="")))
    assert rows[1][3] == "-3.00"  # a number the shop wrote, not a formula a customer typed


def test_neutralise():
    assert output_cells.neutralise("=1+1") == "'=1+1"
    assert output_cells.neutralise("Anna") == "Anna"
    assert output_cells.neutralise("") == ""


# ---- JSON ------------------------------------------------------------------------------------

def test_json_shape_and_types():
    out = io.StringIO()
    report_writers.write_json(make_report(), out)
    data = json.loads(out.getvalue())
    assert list(data) == ["report", "title", "parameters", "notes", "rows", "timeline"]
    assert data["parameters"]["since"] == "2026-05-01" and data["notes"] == ["a note"]
    first = data["rows"][0]
    assert first == {"name": NASTY[0], "visits": 0, "gap": 1.5, "spend": "-3.00", "share": 0.25,
                     "day": "2026-05-01", "at": "2026-05-01T00:30:00+02:00", "voided": False}
    assert data["rows"][-1]["spend"] is None and data["rows"][-1]["visits"] is None
    assert data["timeline"] == [{"start": "2026-05-01", "visits": 3, "revenue": "12.50"},
                                {"start": "2026-05-02", "visits": 0, "revenue": "0.00"},
                                {"start": "2026-05-03", "visits": 7, "revenue": "40.00"}]


def test_json_with_no_rows_is_valid():
    report = make_report(names=[])
    report.tables[0].produce = lambda: iter([])
    out = io.StringIO()
    report_writers.write_json(report, out)
    assert json.loads(out.getvalue())["rows"] == []


# ---- XLSX ------------------------------------------------------------------------------------

def read_xlsx(report):
    from openpyxl import load_workbook

    out = io.BytesIO()
    report_writers.write_xlsx(report, out)
    out.seek(0)
    return load_workbook(out)


def test_xlsx_reads_back_with_typed_cells():
    book = read_xlsx(make_report())
    assert book.sheetnames == ["People", "Visits per day", "About"]
    sheet = book["People"]
    assert [c.value for c in sheet[1]] == [c.heading for c in COLUMNS]
    row = [c for c in sheet[2]]
    assert row[0].value == NASTY[0] and row[0].data_type == "s"  # text, never a formula
    assert row[1].value == 0
    assert row[3].value == pytest.approx(-3.0) and row[3].number_format == "#,##0.00"
    assert row[4].value == 0.25 and row[4].number_format == "0.0%"
    assert row[5].value == datetime(2026, 5, 1)
    assert row[6].value == datetime(2026, 5, 1, 0, 30)  # local time, as the shop reads it
    assert row[7].value is False
    assert sheet.max_row == 1 + len(NASTY) + 1
    assert sheet.freeze_panes == "A2"
    about = {r[0].value: r[1].value for r in book["About"].iter_rows()}
    assert about["since"] == "2026-05-01" and about["note"] == "a note"


def test_xlsx_formula_text_stays_text():
    book = read_xlsx(make_report(names=["=1+1", "=cmd|' /C calc'!A0"]))
    cells = [row[0] for row in book["People"].iter_rows(min_row=2, max_row=3)]
    assert [c.value for c in cells] == ["=1+1", "=cmd|' /C calc'!A0"]
    assert all(c.data_type == "s" for c in cells)


def test_xlsx_money_without_decimals():
    report = make_report()
    report.currency = "JPY"
    book = read_xlsx(report)
    cell = book["People"]["D3"]
    assert cell.value == 700 and cell.number_format == "#,##0"


# ---- HTML ------------------------------------------------------------------------------------

class Checker(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "line"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with {self.stack[-3:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def html_of(report) -> str:
    out = io.StringIO()
    report_html.write_html(report, out)
    return out.getvalue()


def test_html_is_well_formed_and_self_contained():
    page = html_of(make_report())
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert not checker.errors and not checker.stack
    names = [tag for tag, _attrs in checker.tags]
    assert names.count("table") == 2 and names.count("svg") == 1
    assert names.count("details") == 1  # the timeline is a chart, its figures folded away
    assert "script" not in names and "link" not in names and "img" not in names
    for _tag, attrs in checker.tags:
        assert not {"src", "href"} & set(attrs)
    assert "url(" not in page and "@import" not in page and "http" not in page.replace("http://evil", "")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page


def test_html_escapes_everything():
    page = html_of(make_report())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Niccolò" in page
    assert "Gelateria &lt;Roma&gt;" in page


def test_html_chart_has_a_bar_per_day_with_exact_values():
    page = html_of(make_report())
    titles = re.findall(r"<title>([^<]*)</title>", page)
    assert "2026-05-01: 3" in titles and "2026-05-03: 7" in titles
    assert page.count('<rect class="bar"') == 3


def test_html_charts_for_one_bar_and_for_none():
    assert "<svg" in report_html.vertical_bars([("2026-05-01", 0.0, "0")])
    assert "<svg" in report_html.horizontal_bars([])


# ---- text ------------------------------------------------------------------------------------

def test_plain_text_has_no_escape_codes():
    out = io.StringIO()
    report_terminal.write_text(make_report(), out)
    text = out.getvalue()
    assert "\x1b" not in text
    assert "Test report · Gelateria <Roma> · 2026-05-01 to 2026-05-31" in text
    assert "2026-05-03 7 " in text and "█" in text
    assert "-€3.00" in text


def test_rich_drawing(capsys):
    report_terminal.draw(make_report())
    out = capsys.readouterr().out
    assert "Visits per day" in out and "People" in out
    assert "\x1b" not in out  # not a terminal under pytest: rich draws no colour


def test_bar_uses_eighths():
    assert report_terminal.bar(1, 1, 4) == "████"
    assert report_terminal.bar(1, 8, 1) == "▏"
    assert report_terminal.bar(0, 8, 4) == ""


# ---- choosing the format ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt, output, terminal, expected", [
    (None, None, True, "table"),
    (None, None, False, "csv"),
    (None, "out.xlsx", True, "xlsx"),
    (None, "out.HTML", False, "html"),
    (None, "out.htm", False, "html"),
    (None, "out.json", False, "json"),
    (None, "out.txt", False, "table"),
    ("JSON", "out.csv", True, "json"),
])
def test_choose_format(fmt, output, terminal, expected):
    assert report_writers.choose_format(fmt, output, terminal) == expected


@pytest.mark.parametrize("fmt, output", [("pdf", None), (None, "report.pdf"), (None, "report")])
def test_choose_format_refuses(fmt, output):
    with pytest.raises(BadInput):
        report_writers.choose_format(fmt, output, True)


def test_dates_in_rows_are_real_dates_in_xlsx():
    book = read_xlsx(make_report())
    assert isinstance(book["Visits per day"]["A2"].value, datetime)
    assert book["Visits per day"]["A2"].value.date() == date(2026, 5, 1)


# ---- the fast paths agree with the slow, obvious ones ---------------------------------------------

@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "HUF", "CHF", "XYZ"])
def test_fast_money_matches_money_module(currency):
    from loyalty_cli.domain import money

    report = make_report()
    report.currency = currency
    cells = output_cells.Cells(report)
    for minor in (0, 1, -1, 5, -5, 99, 100, 101, -250, 123456789, -100000):
        assert cells.plain("money", minor) == money.as_string(minor, currency)
        assert cells.json("money", minor) == money.as_string(minor, currency)
        assert cells.display("money", minor) == money.display(minor, currency)


@pytest.mark.parametrize("zone", ["Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_fast_local_times_match_zoneinfo(zone):
    from datetime import timedelta

    report = make_report()
    report.tz = ZoneInfo(zone)
    cells = output_cells.Cells(report)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year < 2027:  # every 7h13m through a year: both DST changes, every hour of the day
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        exact = moment.astimezone(report.tz)
        assert cells.json("moment", text) == exact.isoformat(timespec="seconds")
        assert cells.plain("moment", text) == exact.strftime("%Y-%m-%d %H:%M")
        moment += timedelta(hours=7, minutes=13, microseconds=1)


def test_xlsx_survives_what_xml_cannot_hold():
    book = read_xlsx(make_report(names=["bell\x07 and nul\x00", "x" * 40000, "a & b < c > d \"e\" 'f'"]))
    cells = [row[0].value for row in book["People"].iter_rows(min_row=2, max_row=4)]
    assert cells[0] == "bell\ufffd and nul\ufffd"
    assert len(cells[1]) == 32767 and cells[1].endswith("…")
    assert cells[2] == "a & b < c > d \"e\" 'f'"


def test_xlsx_is_a_valid_package():
    import zipfile
    from xml.dom import minidom

    out = io.BytesIO()
    report_writers.write_xlsx(make_report(), out)
    with zipfile.ZipFile(out) as book:
        names = set(book.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                "xl/worksheets/sheet3.xml"} == names
        for name in names:
            minidom.parseString(book.read(name))  # every part is well-formed XML
        workbook = book.read("xl/workbook.xml").decode()
        assert "'People'!$A$1:$H$9" in workbook  # the autofilter's range, as Excel wants it named


def test_a_wide_table_on_a_narrow_terminal_shows_what_fits(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    columns = [Column("phone", "Phone"), Column("name", "Name")] + [
        Column(f"figure_{n}", f"Figure number {n}", "money") for n in range(12)]
    rows = [("+393331234567", "Anna Maria", *range(100000, 100012))]
    report = make_report()
    report.tables = [Table("rows", "Wide", columns, lambda: iter(rows),
                           brief=("phone", "name", "figure_3", "figure_1"))]
    report_terminal.draw(report)
    out = capsys.readouterr().out
    assert "+393331234567" in out and "Anna Maria" in out  # never cut short
    assert "Figure number 1" in out and "Figure number 3" in out and "Figure number 2" not in out
    assert "10 more columns" in out
    assert max(len(line) for line in out.splitlines()) <= 80
