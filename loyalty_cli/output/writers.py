"""Writers: CSV, JSON, XLSX, and the dispatch to every format (HTML in html.py, tables for
people in terminal.py).

Every writer takes an output.model Report (a report, or a counter list: output/lists.py) and
streams its rows: a writer never holds a table.
Each value is turned into what its format wants in one place per format (`Cells`):
- CSV: RFC 4180 (CRLF, quoted when needed), money as '12.50', and text that a spreadsheet
  would run as a formula (=, +, -, @, tab, CR first) neutralised with a leading apostrophe;
- excel-csv (excel_csv.py): what a double-click in the shop's country's Excel or LibreOffice
  opens right: its list separator and decimal mark, a BOM, headings, phones kept as text;
- JSON: numbers as numbers, money as decimal strings in the shop currency, times as ISO 8601
  with the shop's offset, null for nothing;
- XLSX (xlsx.py): typed cells (numbers, money with its decimals, percentages, dates,
  booleans), text always stored as text, so '=1+1' typed as a customer's name is never a formula.
Files are written through system.files.atomic_writer: they appear whole or not at all.
"""

import csv
import io
import json
import sys
from contextlib import ExitStack, suppress
from pathlib import Path

from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.output import console
from loyalty_cli.output.cells import Cells
from loyalty_cli.output.model import Report, Table
from loyalty_cli.output.people import for_people
from loyalty_cli.output.safe import json_safe
from loyalty_cli.system.files import atomic_writer

FORMATS = ("table", "csv", "excel-csv", "json", "xlsx", "html")
CSV_FORMATS = ("csv", "excel-csv")  # one table a file
EXTENSIONS = {"csv": "csv", "excel-csv": "csv", "json": "json", "xlsx": "xlsx", "html": "html", "table": "txt"}
_BY_SUFFIX = {".csv": "csv", ".json": "json", ".xlsx": "xlsx", ".html": "html", ".htm": "html", ".txt": "table"}


def choose_format(fmt: str | None, output: str | None, terminal: bool, allowed: tuple = FORMATS) -> str:
    """--format if given; else from --output's extension; else a table on a terminal, CSV in a pipe.
    `allowed`: the formats a command offers (the counter's lists: table, csv and json)."""
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in allowed:
            raise BadInput(Phrase("--format must be one of {allowed}, got {fmt}", allowed=', '.join(allowed),
                                  fmt=repr(fmt)))
        return fmt
    if output and output != "-":
        found = _BY_SUFFIX.get(Path(output).suffix.lower())
        if found is None:
            raise BadInput(Phrase("cannot tell the format from {output}: give --format ({FORMATS})",
                                  output=repr(output), FORMATS=', '.join(FORMATS)))
        return found
    return "table" if terminal else "csv"


# ---- CSV -------------------------------------------------------------------------------------

def write_csv(report: Report, table: Table, handle) -> None:
    """RFC 4180: a header, CRLF line ends, fields quoted when they need it. The handle must be
    opened with newline='' (the csv module writes the CRLF itself)."""
    convert = Cells(report).converters(table.columns, "plain")
    out = csv.writer(handle, lineterminator="\r\n")
    out.writerow([c.key for c in table.columns])
    out.writerows([f(v) for f, v in zip(convert, row, strict=True)] for row in table.rows())


# ---- JSON ------------------------------------------------------------------------------------

def write_json(report: Report, handle) -> None:
    """{"report", "title", "parameters", "notes", "rows": [...], other tables: [...]}, one row a line;
    or, for a report that gives its own document, the heading and that document's keys."""
    cells = Cells(report)
    head = {"report": report.name, "title": report.title, "parameters": report.parameters, "notes": report.notes}
    if report.document is not None:
        handle.write(json_safe(json.dumps({**head, **report.document()}, ensure_ascii=False, indent=2)) + "\n")
        return
    handle.write("{\n")
    for key, value in head.items():
        handle.write(f"  {json.dumps(key)}: {json_safe(json.dumps(value, ensure_ascii=False))},\n")
    plain_encode = json.JSONEncoder(ensure_ascii=False).encode

    def encode(item) -> str:
        return json_safe(plain_encode(item))

    for number, table in enumerate(report.tables):
        keys = [c.key for c in table.columns]
        convert = cells.converters(table.columns, "json")
        handle.write(f"  {json.dumps(table.key)}: [")
        first = True
        for row in table.rows():
            item = {key: f(value) for key, f, value in zip(keys, convert, row, strict=True)}
            handle.write(("\n    " if first else ",\n    ") + encode(item))
            first = False
        handle.write("]" if first else "\n  ]")
        handle.write(",\n" if number < len(report.tables) - 1 else "\n")
    handle.write("}\n")


# ---- XLSX ------------------------------------------------------------------------------------

def write_xlsx(report: Report, handle) -> None:
    """Typed cells, one sheet per table and an 'About' sheet: see xlsx.py."""
    from loyalty_cli.output.xlsx import write_xlsx as write

    write(report, handle)


def write_excel_csv(report: Report, table: Table, handle, locale: str = "en") -> None:
    """CSV for the shop's spreadsheet: see excel_csv.py."""
    from loyalty_cli.output.excel_csv import write_excel_csv as write

    write(report, table, handle, locale)


# ---- writing to files and to stdout ------------------------------------------------------------

# The formats people read: their words in the shop's language (excel-csv: its headings). JSON, CSV
# and the import's tabbed summary (read by scripts as 'Visits added<TAB>5') stay as they are in
# every locale.
PEOPLE_FORMATS = ("table", "xlsx", "html", "excel-csv")


def _for_people(report: Report, table: Table | None, fmt: str) -> tuple[Report, Table | None]:
    translated = for_people(report, phones=fmt != "excel-csv")
    if table is None or translated is report:
        return translated, table
    return translated, translated.tables[report.tables.index(table)]


def _render(report: Report, fmt: str, handle, table: Table | None = None, locale: str = "en") -> None:
    if fmt in PEOPLE_FORMATS:
        report, table = _for_people(report, table, fmt)
    if fmt == "csv":
        write_csv(report, table or report.main, handle)
    elif fmt == "excel-csv":
        write_excel_csv(report, table or report.main, handle, locale)
    elif fmt == "json":
        write_json(report, handle)
    elif fmt == "xlsx":
        write_xlsx(report, handle)
    elif fmt == "html":
        from loyalty_cli.output.html import write_html

        write_html(report, handle, locale)
    elif fmt == "tabbed":  # not a --format: the import summary in a pipe
        from loyalty_cli.output.terminal import write_tabbed

        write_tabbed(report, handle)
    else:
        from loyalty_cli.output.terminal import write_text

        write_text(report, handle)


def _open(stack: ExitStack, path: Path, fmt: str):
    if fmt == "xlsx":
        return stack.enter_context(atomic_writer(path, "wb"))
    return stack.enter_context(atomic_writer(path, "w", newline="" if fmt in CSV_FORMATS else None))


def files_for(report: Report, fmt: str, path: Path) -> list[tuple[Path, Table | None]]:
    """The files one report makes in a format: CSV holds one table, so a report with more than
    one (the summary's timeline) gets a sibling file per extra table: NAME-timeline.csv."""
    if fmt not in CSV_FORMATS:
        return [(path, None)]
    out = [(path, report.main)]
    for table in report.tables[1:]:
        out.append((path.with_name(f"{path.stem}-{table.key}{path.suffix}"), table))
    return out


def save(reports_and_paths, locale: str = "en") -> list[Path]:
    """Write every file to a temporary name, then rename them all into place: a failure part way
    leaves no file half-written and none of the set replaced. `reports_and_paths` yields
    (report, format, path) and may be a generator, so a report is built only when its turn comes.
    `locale` ('it_IT'): the shop's, for excel-csv's separators and HTML's language."""
    written, target = [], None
    try:
        with ExitStack() as stack:
            for report, fmt, path in reports_and_paths:
                for target, table in files_for(report, fmt, path):
                    _render(report, fmt, _open(stack, target, fmt), table, locale)
                    written.append(target)
    except OSError as exc:
        raise Refused(Phrase("cannot write {value}: {value2}", value=exc.filename or target,
                             value2=exc.strerror or exc)) from None
    return written


def emit(report: Report, fmt: str, locale: str = "en") -> None:
    """To stdout. A table on a terminal is drawn with rich; everything else is plain bytes."""
    if fmt == "xlsx":
        if console.is_terminal():
            raise BadInput(Phrase("xlsx is a binary file: give --output FILE.xlsx (or redirect to a file)"))
        sys.stdout.flush()
        write_xlsx(for_people(report), sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    if fmt == "table" and console.is_terminal():
        from loyalty_cli.output.terminal import draw

        draw(for_people(report))
        return
    if fmt == "excel-csv":  # UTF-8 whatever the terminal's encoding: the BOM says so
        sys.stdout.flush()
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            write_excel_csv(report, report.main, out, locale)
            out.flush()
        finally:
            out.detach()
        return
    if fmt == "csv":
        # The csv module writes CRLF itself: keep the text layer from translating it again.
        with suppress(AttributeError, ValueError):
            sys.stdout.reconfigure(newline="")
    _render(report, fmt, sys.stdout, locale=locale)
    sys.stdout.flush()
