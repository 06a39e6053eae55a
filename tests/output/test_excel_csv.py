"""--format excel-csv: the locale's separator and decimal mark, a BOM, headings, phones as text,
formulas neutralised; read back it gives the JSON's values. And LibreOffice agrees, when it is here."""

import csv
import importlib.util
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty_cli.domain import phones
from loyalty_cli.output import excel_csv

from ..conftest import ROOT
from .test_report_writers import NASTY, make_report

MARIA, LUCA, ROME = "333 123 4567", "347 765 4321", "06 1234 5678"


@pytest.fixture
def shop(cli_json):
    cli_json("visit", MARIA, "--amount", "139,93", "--name", "Maria Rossi; \"la gelataia\"")
    cli_json("visit", MARIA, "--amount", "480")
    cli_json("visit", LUCA, "--amount", "3", "--name", "=cmd|' /C calc'!A0", "--note", "-2+3")
    cli_json("visit", ROME, "--amount", "12,50", "--items", "2", "--name", "Niccolò €")
    cli_json("visit", "+44 20 7946 0958", "--amount", "0,05")


def sheet_rows(data: bytes, locale: str) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
    separator, _decimal = excel_csv.conventions(locale)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=separator))


def number(text: str, locale: str) -> Decimal:
    _separator, decimal = excel_csv.conventions(locale)
    assert "." not in text or decimal == ".", text  # never a decimal point where the comma is the mark
    return Decimal(text.replace(decimal, "."))


# ---- the writer ------------------------------------------------------------------------------

@pytest.mark.parametrize("locale, separator", [("it_IT", ";"), ("es_ES", ";"), ("hu_HU", ";"), ("en", ",")])
def test_separator_decimal_mark_bom_and_headings(locale, separator):
    out = io.StringIO(newline="")
    excel_csv.write_excel_csv(make_report(), make_report().main, out, locale)
    text = out.getvalue()
    assert text.startswith("\ufeffName" + separator + "Visits" + separator)  # the titles it is given
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=separator))
    spend, share, gap = rows[2][3], rows[2][4], rows[2][2]
    if separator == ";":
        assert (spend, share, gap) == ("7,00", "0,2500", "1,5")
        assert rows[1][3] == "-3,00"  # a negative amount is a number, not neutralised
    else:
        assert (spend, share, gap) == ("7.00", "0.2500", "1.5")
    assert rows[1][5:8] == ["2026-05-01", "2026-05-01 00:30", "no"]


@pytest.mark.parametrize("index", range(len(NASTY)))
def test_text_is_neutralised_as_in_csv(index):
    out = io.StringIO(newline="")
    excel_csv.write_excel_csv(make_report(), make_report().main, out, "it_IT")
    cell = list(csv.reader(io.StringIO(out.getvalue()[1:], newline=""), delimiter=";"))[1 + index][0]
    original = NASTY[index]
    assert cell == ("'" + original if original[0] in "=+-@\t\r" else original)


@pytest.mark.parametrize("locale, phone, shown", [
    ("it_IT", "+393331234567", "333 123 4567"),
    ("it_IT", "+390612345678", "06 1234 5678"),
    ("hu_HU", "+36301234567", "06 30 123 4567"),
    ("es_ES", "+34612345678", "612 34 56 78"),
    ("it_IT", "+34612345678", "0034 612 34 56 78"),
    ("en", "+393331234567", "0039 333 123 4567"),
    ("it_IT", "+16502530000", "001 6502530000"),
])
def test_phones_are_text_a_spreadsheet_keeps(locale, phone, shown):
    layout = excel_csv.phone_layout(excel_csv.region_of(locale), lambda v: "fallback")
    assert layout(phone) == shown
    assert layout(phone) == shown  # the second time from the kept layout
    words = shown.split(" ")
    assert len(words) > 1 and shown[0] not in "=+-@"  # never a number, never a formula
    # and the importer reads it back (in the shop's phone_region: '00' is how Europe dials abroad)
    assert phones.normalise(shown, excel_csv.region_of(locale) or "IT") == phone


def test_a_phone_column_value_that_is_no_phone_falls_back_to_neutralised_text():
    layout = excel_csv.phone_layout("IT", lambda v: "'" + v)
    assert layout("+1") == "'+1"
    assert layout("=1+1") == "'=1+1"


# ---- through the CLI: read back, it is the JSON ------------------------------------------------

@pytest.mark.parametrize("locale", ["it_IT", "hu_HU", "en"])
def test_report_round_trip_equals_json(cli, cli_json, shop, shop_locale, locale):
    shop_locale(locale)
    result = cli("report", "visits", "--since", "2026-06-01", "--format", "excel-csv")
    assert result.exit_code == 0, result.stderr
    rows = sheet_rows(result.stdout_bytes, locale)
    as_json = cli_json("report", "visits", "--since", "2026-06-01")
    columns = {row: index for index, row in enumerate(rows[0])}
    assert len(rows) - 1 == len(as_json["rows"]) == 5
    region = excel_csv.region_of(locale) or "IT"
    for line, item in zip(rows[1:], as_json["rows"], strict=True):
        assert phones.normalise(line[columns["Phone"]], region) == item["phone"]
        assert number(line[columns["Amount"]], locale) == Decimal(item["amount"])
        assert int(line[columns["Items"]]) == item["items"]
        assert int(line[columns["Visit"]]) == item["visit"]
        assert line[columns["Day"]] == item["day"]
        name = line[columns["Name"]]
        assert (name[1:] if name.startswith("'=") else name) == (item["name"] or "")


def test_lists_take_excel_csv(cli, cli_json, shop, shop_locale):
    shop_locale("es_ES")
    rows = sheet_rows(cli("customers", "--format", "excel-csv").stdout_bytes, "es_ES")
    assert rows[0][:2] == ["Phone", "Name"]
    spend = {row[0]: row[4] for row in rows[1:]}
    assert spend["0039 333 123 4567"] == "619,93"  # a shop in Spain: an Italian number, internationally
    history = sheet_rows(cli("history", MARIA, "--format", "excel-csv").stdout_bytes, "es_ES")
    assert history[0][0] == "Entry" and len(history) > 2
    shown = sheet_rows(cli("show", MARIA, "--format", "excel-csv").stdout_bytes, "es_ES")
    assert [row[2] for row in shown[1:]] == ["480,00", "139,93"]


def test_export_default_follows_the_locale(cli, shop, shop_locale, isolated):
    out = isolated / "out"
    out.mkdir()
    shop_locale("it_IT")
    result = cli("report", "export", "--dir", out, "--date", "2026-06-15", "--quiet")
    assert result.exit_code == 0, result.stderr
    visits = (out / "visits-2026-06-15.csv").read_bytes()
    assert visits.startswith("\ufeffVisita;".encode())  # the headings in the shop's language
    assert (out / "summary-2026-06-15-timeline.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    # --format csv is always RFC 4180
    assert cli("report", "export", "--dir", out, "--date", "2026-06-15", "--format", "csv", "--quiet").exit_code == 0
    assert (out / "visits-2026-06-15.csv").read_bytes().startswith(b"visit,day,")
    both = cli("report", "export", "--dir", out, "--format", "csv,excel-csv")
    assert both.exit_code == 2 and "NAME-STAMP.csv" in both.stderr  # said in Italian here
    shop_locale("en")
    assert cli("report", "export", "--dir", out, "--date", "2026-06-15", "--quiet").exit_code == 0
    assert (out / "visits-2026-06-15.csv").read_bytes().startswith(b"visit,day,")


def test_output_file_and_simulate(cli, shop, shop_locale, isolated):
    shop_locale("it_IT")
    target = isolated / "summary.csv"
    assert cli("report", "summary", "--format", "excel-csv", "--output", target).exit_code == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (isolated / "summary-timeline.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    result = cli("simulate", "--format", "excel-csv")
    assert result.exit_code == 0, result.stderr
    assert ";" in result.stdout_bytes.decode("utf-8-sig").splitlines()[0]


# ---- LibreOffice itself -----------------------------------------------------------------------

def _check_script():
    spec = importlib.util.spec_from_file_location("check_excel_csv", ROOT / "scripts" / "check_excel_csv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice not installed")
def test_libreoffice_reads_numbers_as_numbers_and_phones_as_text(tmp_path: Path):
    assert _check_script().check_sample("it_IT", tmp_path) == []
