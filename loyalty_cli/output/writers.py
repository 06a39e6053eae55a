"""Report writers: CSV, JSON, XLSX (HTML and the terminal live in report_html / report_terminal).

Every writer takes a `reports.Report` and streams its rows: a writer never holds a table.
Each value is turned into what its format wants in one place per format (`Cells`):
- CSV: RFC 4180 (CRLF, quoted when needed), money as '12.50', and text that a spreadsheet
  would run as a formula (=, +, -, @, tab, CR first) neutralised with a leading apostrophe;
- JSON: numbers as numbers, money as decimal strings in the shop currency, times as ISO 8601
  with the shop's offset, null for nothing;
- XLSX (report_xlsx): typed cells (numbers, money with its decimals, percentages, dates,
  booleans), text always stored as text, so '=1+1' typed as a customer's name is never a formula.
Files are written through fileio.atomic_writer: they appear whole or not at all.
"""

import csv
import json
import sys
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

from loyalty_cli.domain import money
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.system.files import atomic_writer
from loyalty_cli.reporting.reports import Report, Table

FORMATS = ("table", "csv", "json", "xlsx", "html")
EXTENSIONS = {"csv": "csv", "json": "json", "xlsx": "xlsx", "html": "html", "table": "txt"}
_BY_SUFFIX = {".csv": "csv", ".json": "json", ".xlsx": "xlsx", ".html": "html", ".htm": "html", ".txt": "table"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def choose_format(fmt: str | None, output: str | None, terminal: bool) -> str:
    """--format if given; else from --output's extension; else a table on a terminal, CSV in a pipe."""
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise BadInput(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    if output and output != "-":
        found = _BY_SUFFIX.get(Path(output).suffix.lower())
        if found is None:
            raise BadInput(f"cannot tell the format from {output!r}: give --format ({', '.join(FORMATS)})")
        return found
    return "table" if terminal else "csv"


# ---- values ----------------------------------------------------------------------------------

class Cells:
    """How a report's raw values (reports.Column kinds) read in each format.

    `converter(kind, style)` gives one function per column, chosen once, so writing a row is a
    call per cell and nothing more: a month of visits is tens of thousands of rows. Styles:
    - plain: CSV and plain text, what a person or a spreadsheet reads back exactly;
    - json: JSON values (money as strings, times ISO 8601 with the shop's offset);
    - display: tables for people (terminal, HTML): money with its symbol, shares in percent.
    """

    def __init__(self, report: Report):
        self.currency = report.currency
        self.tz = report.tz
        self.exponent = money.exponent(report.currency)
        self._offsets: dict[str, tuple | None] = {}
        self._made: dict[tuple[str, str], object] = {}

    # -- moments: stored UTC text -> the shop's local time ----------------------------------------

    def moment(self, text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(self.tz)

    def local(self, text: str) -> tuple[datetime, str]:
        """(naive local time, '+02:00') of a stored UTC time, fast: the zone's offset is looked up
        once per UTC day, or once per hour on the days the clocks change, and trusted only when
        it is the same at both ends of that day or hour."""
        if len(text) == 27 and text[26] == "Z":
            offset = self._offset(text[:10], "T00:00:00+00:00", timedelta(days=1))
            if offset is None:
                offset = self._offset(text[:13], ":00:00+00:00", timedelta(hours=1))
            if offset is not None:
                return datetime.fromisoformat(text[:26]) + offset[0], offset[1]
        moment = self.moment(text)
        return moment.replace(tzinfo=None), _offset_text(moment.utcoffset())

    def _offset(self, key: str, rest: str, span: timedelta):
        known = self._offsets.get(key, False)
        if known is False:
            start = datetime.fromisoformat(key + rest)
            first = start.astimezone(self.tz).utcoffset()
            last = (start + span - timedelta(microseconds=1)).astimezone(self.tz).utcoffset()
            known = (first, _offset_text(first)) if first == last else None
            self._offsets[key] = known
        return known

    def _minutes(self):
        """value -> shop-local 'YYYY-MM-DD HH:MM', the usual case (a day whose offset is known)
        inline: a month of visits is tens of thousands of these."""
        offsets, local, parse = self._offsets, self.local, datetime.fromisoformat

        def minutes(v):
            if v is None:
                return ""
            known = offsets.get(v[:10])
            if known and len(v) == 27 and v[26] == "Z":
                return (parse(v[:26]) + known[0]).isoformat(" ", "minutes")
            return local(v)[0].isoformat(" ", "minutes")

        return minutes

    # -- converters --------------------------------------------------------------------------------

    def converter(self, kind: str, style: str):
        key = (kind, style)
        if key not in self._made:
            self._made[key] = getattr(self, f"_{style}")(kind)
        return self._made[key]

    def converters(self, columns, style: str) -> list:
        return [self.converter(c.kind, style) for c in columns]

    def plain(self, kind: str, value) -> str:
        return self.converter(kind, "plain")(value)

    def json(self, kind: str, value):
        return self.converter(kind, "json")(value)

    def display(self, kind: str, value) -> str:
        return self.converter(kind, "display")(value)

    def _plain(self, kind: str):
        if kind == "money":
            amount = _money_text(self.exponent)
            return lambda v: "" if v is None else amount(v)
        if kind == "moment":
            return self._minutes()
        if kind == "bool":
            return lambda v: "" if v is None else ("yes" if v else "no")
        if kind == "ratio":
            return lambda v: "" if v is None else f"{v:.4f}"
        if kind == "text":
            first = _FORMULA_FIRST
            return lambda v: "" if v is None else ("'" + v if v[:1] in first else v) if isinstance(v, str) \
                else neutralise(str(v))
        return lambda v: "" if v is None else str(v)

    def _json(self, kind: str):
        if kind == "money":
            amount = _money_text(self.exponent)
            return lambda v: None if v is None else amount(v)
        if kind == "moment":
            local = self.local

            def moment(v):
                if v is None:
                    return None
                naive, offset = local(v)
                return naive.isoformat(timespec="seconds") + offset

            return moment
        if kind == "bool":
            return lambda v: None if v is None else bool(v)
        return lambda v: v

    def _display(self, kind: str):
        if kind == "money":
            amount = _money_text(self.exponent)
            # money.display's own layout ('€{}', '{} Ft'), found once, filled in per cell
            layout = money.display(1, self.currency).replace(money.as_string(1, self.currency), "{}", 1)

            def grouped(minor: int) -> str:  # thousands grouped, as money.display does
                whole, dot, fraction = amount(minor).partition(".")
                return f"{int(whole):,}{dot}{fraction}"

            return lambda v: "" if v is None else ("-" if v < 0 else "") + layout.format(grouped(abs(v)))
        if kind == "ratio":
            return lambda v: "" if v is None else f"{v * 100:.1f}%"
        if kind == "bool":
            return lambda v: "yes" if v else ""
        if kind == "moment":
            return self._minutes()
        if kind == "int":
            return lambda v: "" if v is None else (f"{v:,}".replace(",", "\u202f") if abs(v) >= 10000 else str(v))
        return lambda v: "" if v is None else str(v)

    def number(self, kind: str, value) -> float:
        """The numeric value of a cell, for charts: money in currency units."""
        if value is None:
            return 0.0
        if kind == "money":
            return float(money.to_decimal(value, self.currency))
        return float(value)


def _money_text(exponent: int):
    """money.as_string without Decimal, for speed: -5 -> '-0.05' (tests hold them equal)."""
    if exponent == 0:
        return str
    scale = 10 ** exponent

    def text(minor: int) -> str:
        whole, part = divmod(-minor if minor < 0 else minor, scale)
        return f"{'-' if minor < 0 else ''}{whole}.{part:0{exponent}d}"

    return text


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def chart_points(report: Report, table: Table, chart) -> list[tuple[str, float, str]]:
    """(label, number, shown value) for each bar of a chart; tables with charts are small."""
    cells = Cells(report)
    keys = [c.key for c in table.columns]
    label_at, value_at = keys.index(chart.label), keys.index(chart.value)
    kinds = table.columns[label_at].kind, table.columns[value_at].kind
    points = []
    for row in table.rows():
        if chart.skip and str(row[0]).startswith(chart.skip):
            continue
        label = cells.display(kinds[0], row[label_at])
        label = label if len(label) <= CHART_LABEL else label[:CHART_LABEL - 1] + "…"
        points.append((label, cells.number(kinds[1], row[value_at]), cells.display(kinds[1], row[value_at])))
    return points


CHART_LABEL = 40  # characters of a bar's label; the table beside the chart has the whole text


# ---- CSV -------------------------------------------------------------------------------------

def write_csv(report: Report, table: Table, handle) -> None:
    """RFC 4180: a header, CRLF line ends, fields quoted when they need it. The handle must be
    opened with newline='' (the csv module writes the CRLF itself)."""
    convert = Cells(report).converters(table.columns, "plain")
    out = csv.writer(handle, lineterminator="\r\n")
    out.writerow([c.key for c in table.columns])
    out.writerows([f(v) for f, v in zip(convert, row)] for row in table.rows())


# ---- JSON ------------------------------------------------------------------------------------

def write_json(report: Report, handle) -> None:
    """{"report", "title", "parameters", "notes", "rows": [...], other tables: [...]}, one row a line."""
    cells = Cells(report)
    head = {"report": report.name, "title": report.title, "parameters": report.parameters, "notes": report.notes}
    handle.write("{\n")
    for key, value in head.items():
        handle.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
    encode = json.JSONEncoder(ensure_ascii=False).encode
    for number, table in enumerate(report.tables):
        keys = [c.key for c in table.columns]
        convert = cells.converters(table.columns, "json")
        handle.write(f"  {json.dumps(table.key)}: [")
        first = True
        for row in table.rows():
            item = {key: f(value) for key, f, value in zip(keys, convert, row)}
            handle.write(("\n    " if first else ",\n    ") + encode(item))
            first = False
        handle.write("]" if first else "\n  ]")
        handle.write(",\n" if number < len(report.tables) - 1 else "\n")
    handle.write("}\n")


# ---- XLSX ------------------------------------------------------------------------------------

def write_xlsx(report: Report, handle) -> None:
    """Typed cells, one sheet per table and an 'About' sheet: see report_xlsx."""
    from loyalty_cli.output.xlsx import write_xlsx as write

    write(report, handle)


# ---- writing to files and to stdout ------------------------------------------------------------

def _render(report: Report, fmt: str, handle, table: Table | None = None) -> None:
    if fmt == "csv":
        write_csv(report, table or report.main, handle)
    elif fmt == "json":
        write_json(report, handle)
    elif fmt == "xlsx":
        write_xlsx(report, handle)
    elif fmt == "html":
        from loyalty_cli.output.html import write_html

        write_html(report, handle)
    else:
        from loyalty_cli.output.terminal import write_text

        write_text(report, handle)


def _open(stack: ExitStack, path: Path, fmt: str):
    if fmt == "xlsx":
        return stack.enter_context(atomic_writer(path, "wb"))
    return stack.enter_context(atomic_writer(path, "w", newline="" if fmt == "csv" else None))


def files_for(report: Report, fmt: str, path: Path) -> list[tuple[Path, Table | None]]:
    """The files one report makes in a format: CSV holds one table, so a report with more than
    one (the summary's timeline) gets a sibling file per extra table: NAME-timeline.csv."""
    if fmt != "csv":
        return [(path, None)]
    out = [(path, report.main)]
    for table in report.tables[1:]:
        out.append((path.with_name(f"{path.stem}-{table.key}{path.suffix}"), table))
    return out


def save(reports_and_paths) -> list[Path]:
    """Write every file to a temporary name, then rename them all into place: a failure part way
    leaves no file half-written and none of the set replaced. `reports_and_paths` yields
    (report, format, path) and may be a generator, so a report is built only when its turn comes."""
    written, target = [], None
    try:
        with ExitStack() as stack:
            for report, fmt, path in reports_and_paths:
                for target, table in files_for(report, fmt, path):
                    _render(report, fmt, _open(stack, target, fmt), table)
                    written.append(target)
    except OSError as exc:
        raise Refused(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from None
    return written


def emit(report: Report, fmt: str) -> None:
    """To stdout. A table on a terminal is drawn with rich; everything else is plain bytes."""
    if fmt == "xlsx":
        if sys.stdout.isatty():
            raise BadInput("xlsx is a binary file: give --output FILE.xlsx (or redirect to a file)")
        sys.stdout.flush()
        write_xlsx(report, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    if fmt == "table" and sys.stdout.isatty():
        from loyalty_cli.output.terminal import draw

        draw(report)
        return
    if fmt == "csv":
        # The csv module writes CRLF itself: keep the text layer from translating it again.
        try:
            sys.stdout.reconfigure(newline="")
        except (AttributeError, ValueError):
            pass
    _render(report, fmt, sys.stdout)
    sys.stdout.flush()
