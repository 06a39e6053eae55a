"""Open `--format excel-csv` files in LibreOffice as a double-click in that country would, and check
what it made of each cell: numbers are numbers, phones and names are text, nothing is a formula.

    python scripts/check_excel_csv.py                          # a sample table in it_IT, es_ES, hu_HU, en
    python scripts/check_excel_csv.py FILE.csv --locale it_IT  # an export of yours: each column's types

LibreOffice (`soffice`, e.g. Debian's libreoffice-calc-nogui) converts the CSV headless to XLSX with
the locale's separator, UTF-8 and the locale's language (which sets the decimal mark), and openpyxl
reads the result (`pip install openpyxl`; the test extra has it). The CSV filter options are
`SEPARATOR,34,76,1,,LANGUAGE`: the field separator's code (59 ';', 44 ','), '"' quotes, character
set 76 (UTF-8), from line 1, standard column types, and the Windows language id (1040 Italian,
3082 Spanish, 1038 Hungarian, 1033 English US); the tokens left out keep LibreOffice's defaults
(quoted fields are not forced to text, special numbers such as dates are detected, formulas are
evaluated), as in its import dialog. Exit 0 when every check passes, 1 otherwise.
"""

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty_cli.output.excel_csv import conventions, write_excel_csv
from loyalty_cli.output.model import Column, Report, Table

LANGUAGE_IDS = {"it": 1040, "es": 3082, "hu": 1038, "en": 1033}
LOCALES = ("it_IT", "es_ES", "hu_HU", "en")

COLUMNS = [Column("phone", "Phone"), Column("name", "Name"), Column("visits", "Visits", "int"),
           Column("spend", "Spend", "money"), Column("share", "Share", "ratio"), Column("day", "Day", "date"),
           Column("at", "At", "moment"), Column("gap", "Gap", "number")]
ROWS = [
    ("+393331234567", "Niccolò €", 12, 1399093, 0.25, "2026-05-01", "2026-05-01T16:30:00.000000Z", 1.5),
    ("+34612345678", "=HYPERLINK(\"http://x\")", 0, -300, 1.0, "2026-05-02", "2026-05-02T07:05:00.000000Z", 3),
    ("+36301234567", "-2+3", 1234567, 5, 0.0, None, None, None),
    ("+442079460958", "@SUM(A1)", 7, 0, None, "2026-12-31", "2026-12-31T22:59:00.000000Z", 0.125),
]
# what each sample cell must come back as: (type, value) per column; phones are checked by locale
EXPECTED = [
    (12, 13990.93, 0.25, datetime(2026, 5, 1), datetime(2026, 5, 1, 18, 30), 1.5),
    (0, -3.0, 1.0, datetime(2026, 5, 2), datetime(2026, 5, 2, 9, 5), 3),
    (1234567, 0.05, 0.0, None, None, None),
    (7, 0.0, None, datetime(2026, 12, 31), datetime(2026, 12, 31, 23, 59), 0.125),
]


def sample_csv(locale: str) -> str:
    report = Report("sample", "Sample", {}, [Table("rows", "Sample", COLUMNS, lambda: iter(ROWS))], "EUR",
                    ZoneInfo("Europe/Rome"))
    out = io.StringIO(newline="")
    write_excel_csv(report, report.main, out, locale)
    return out.getvalue()


def filter_options(locale: str) -> str:
    separator, _decimal = conventions(locale)
    language = LANGUAGE_IDS.get(locale.split("_")[0].lower(), 1033)
    return f"{ord(separator)},34,76,1,,{language}"


def open_in_libreoffice(csv_path: Path, locale: str, work: Path) -> list[list]:
    """The cells LibreOffice made of the file: [[cell, ...], ...] (openpyxl cells)."""
    import openpyxl

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("soffice not found: install LibreOffice (Debian: apt-get install libreoffice-calc-nogui)")
    command = [soffice, f"-env:UserInstallation=file://{work}/profile", "--headless",
               f"--infilter=CSV:{filter_options(locale)}", "--convert-to", "xlsx", "--outdir", str(work),
               str(csv_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    book = openpyxl.load_workbook(work / (csv_path.stem + ".xlsx"))
    return [list(row) for row in book.active.iter_rows()]


def check_sample(locale: str, work: Path) -> list[str]:
    path = work / f"sample-{locale}.csv"
    path.write_text(sample_csv(locale), encoding="utf-8", newline="")
    rows = open_in_libreoffice(path, locale, work)
    problems = []
    if [c.value for c in rows[0]] != [c.heading for c in COLUMNS]:
        problems.append(f"{locale}: headings read as {[c.value for c in rows[0]]}")
    written = [line.split(conventions(locale)[0])[0] for line in path.read_text(encoding="utf-8-sig").splitlines()]
    for number, (cells, expected) in enumerate(zip(rows[1:], EXPECTED, strict=True), start=1):
        phone, name = cells[0], cells[1]
        if phone.data_type != "s" or phone.value != written[number]:
            problems.append(f"{locale}: row {number}: phone {written[number]!r} became {phone.value!r}")
        if name.data_type != "s" or name.value.lstrip("'") != ROWS[number - 1][1]:
            problems.append(f"{locale}: row {number}: name {ROWS[number - 1][1]!r} became {name.value!r}")
        for column, cell, want in zip(COLUMNS[2:], cells[2:], expected, strict=True):
            got = cell.value
            if want is None:
                if got is not None:
                    problems.append(f"{locale}: row {number}: {column.key}: expected empty, got {got!r}")
            elif isinstance(want, datetime):
                if not isinstance(got, datetime) or got != want:
                    problems.append(f"{locale}: row {number}: {column.key}: expected {want}, got {got!r}")
            elif cell.data_type != "n" or abs(got - want) > 1e-9:
                problems.append(f"{locale}: row {number}: {column.key}: expected the number {want}, got {got!r}")
    return problems


def describe(path: Path, locale: str, work: Path) -> None:
    rows = open_in_libreoffice(path, locale, work)
    for index, heading in enumerate(rows[0]):
        kinds = sorted({type(row[index].value).__name__ for row in rows[1:] if row[index].value is not None})
        first = next((row[index].value for row in rows[1:] if row[index].value is not None), None)
        print(f"{heading.value}: {', '.join(kinds) or 'empty'} (first: {first!r})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="an excel-csv file to describe")
    parser.add_argument("--locale", default="it_IT", help="the shop's locale the file was written for")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        if args.file is not None:
            describe(args.file, args.locale, work)
            return 0
        problems = [problem for locale in LOCALES for problem in check_sample(locale, work)]
    for problem in problems:
        print(problem)
    print("every check passed" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
