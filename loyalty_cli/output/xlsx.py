"""XLSX written directly: a zip of SpreadsheetML parts, the rows streamed into it.

openpyxl's write-only mode (without lxml, and barely faster with it) spends about 30 µs on
every cell: ten seconds for a month of visits on a busy shop, half a minute for a monthly
export in every format. The parts a report needs are few and fixed (a workbook, one sheet per
table, one stylesheet), so they are written here, at about a microsecond a cell, and read back
with openpyxl by the tests. Cells are typed: numbers, money with the currency's decimals,
percentages, dates and date-times as Excel serials with their formats, booleans, and text as
inline strings, which no spreadsheet runs as a formula whatever they start with.
"""

import re
import zipfile
from datetime import date, datetime
from xml.sax.saxutils import escape

from loyalty_cli.domain import money
from loyalty_cli.domain.i18n import tr
from loyalty_cli.output.cells import Cells
from loyalty_cli.output.model import Report, Table

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
EPOCH = datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system (as every reader takes it)
# Styles (cellXfs index): 0 plain, 1 bold heading, 2 money, 3 percent, 4 date, 5 date-time.
HEADER, MONEY, RATIO, DAY, MOMENT = 1, 2, 3, 4, 5
WIDTHS = {"text": 18, "int": 10, "number": 10, "money": 12, "ratio": 10, "date": 12, "moment": 17, "bool": 8}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # not allowed in XML 1.0


def write_xlsx(report: Report, handle) -> None:
    """One sheet per table (a one-row summary reads down, as figure and value), then 'About'."""
    cells = Cells(report)
    sheets = []  # (title, last cell of its autofilter or None)
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as book:
        for number, table in enumerate(report.tables, start=1):
            title = _unique(_sheet_title(table.title), [t for t, _f in sheets])
            with book.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                last = _record_sheet(part, table, cells) if table.record else _table_sheet(part, table, cells)
            sheets.append((title, last))
        with book.open(f"xl/worksheets/sheet{len(sheets) + 1}.xml", "w") as part:
            _about_sheet(part, report)
        sheets.append(("About", None))
        _package(book, sheets, money.exponent(report.currency))


# ---- sheets ----------------------------------------------------------------------------------

MAX_CELL = 32767  # characters Excel holds in a cell; a longer one makes it "repair" the file


def _text(value) -> str:
    text = _NOT_XML.sub("\ufffd", value if isinstance(value, str) else str(value))
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL - 1] + "…"
    return f'<is><t xml:space="preserve">{escape(text)}</t></is>'


def _converters(columns, cells: Cells) -> list:
    """Per column: value -> (attributes, inner XML) of its <c>, or None for an empty cell."""
    amount = cells.converter("money", "plain")
    local = cells.local

    def convert(kind):
        if kind == "money":
            return lambda v: None if v is None else (f' s="{MONEY}"', f"<v>{amount(v)}</v>")
        if kind == "ratio":
            return lambda v: None if v is None else (f' s="{RATIO}"', f"<v>{v!r}</v>")
        if kind == "date":
            return lambda v: None if v is None else (f' s="{DAY}"', f"<v>{_serial_day(v)}</v>")
        if kind == "moment":
            return lambda v: None if v is None else (f' s="{MOMENT}"', f"<v>{_serial(local(v)[0])}</v>")
        if kind == "bool":
            return lambda v: None if v is None else (' t="b"', f"<v>{1 if v else 0}</v>")
        if kind in ("int", "number"):
            return lambda v: None if v is None else ("", f"<v>{v!r}</v>")
        return lambda v: None if v is None else (' t="inlineStr"', _text(v))

    return [convert(c.kind) for c in columns]


def _serial_day(text: str) -> int:
    return (date.fromisoformat(text) - EPOCH.date()).days


def _serial(moment: datetime) -> str:
    delta = moment - EPOCH
    return f"{delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6:.10f}".rstrip("0").rstrip(".")


def _letters(count: int) -> list[str]:
    out = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


def _sheet_start(part, widths, frozen: bool) -> None:
    pane = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft"/>' if frozen else "")
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, start=1))
    part.write((f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
                f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
                f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>').encode())


def _row(number: int, letters, parts) -> str:
    return f'<row r="{number}">' + "".join(
        f'<c r="{letter}{number}"{attrs}>{inner}</c>'
        for letter, cell in zip(letters, parts, strict=True) if cell is not None for attrs, inner in (cell,)) + "</row>"


def _table_sheet(part, table: Table, cells: Cells) -> str:
    columns = table.columns
    letters = _letters(len(columns))
    _sheet_start(part, [min(max(WIDTHS[c.kind], len(c.full_heading) + 2), 40) for c in columns], frozen=True)
    heading = [(f' t="inlineStr" s="{HEADER}"', _text(c.full_heading)) for c in columns]
    chunk = [_row(1, letters, heading)]
    convert = _converters(columns, cells)
    number = 1
    for row in table.rows():
        number += 1
        chunk.append(_row(number, letters, [f(v) for f, v in zip(convert, row, strict=True)]))
        if len(chunk) >= 500:
            part.write("".join(chunk).encode())
            chunk = []
    last = f"{letters[-1]}{number}"
    chunk.append(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>')
    part.write("".join(chunk).encode())
    return last


def _record_sheet(part, table: Table, cells: Cells) -> None:
    _sheet_start(part, [30, 16], frozen=False)
    rows = [_row(1, "AB", [(f' t="inlineStr" s="{HEADER}"', _text("Figure")),
                           (f' t="inlineStr" s="{HEADER}"', _text("Value"))])]
    convert = _converters(table.columns, cells)
    for row in table.rows():
        for index, (column, f, value) in enumerate(zip(table.columns, convert, row, strict=True), start=2):
            rows.append(_row(index, "AB", [(' t="inlineStr"', _text(column.full_heading)), f(value)]))
    part.write(("".join(rows) + "</sheetData></worksheet>").encode())
    return None


def _about_sheet(part, report: Report) -> None:
    import json

    _sheet_start(part, [18, 60], frozen=False)
    pairs = [(tr("Report"), report.title)]
    for key, value in report.parameters.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        pairs.append((key, "" if shown is None else str(shown)))
    pairs += [(tr("note"), note) for note in report.notes]
    rows = [_row(i, "AB", [(' t="inlineStr"' + (f' s="{HEADER}"' if i == 1 else ""), _text(key)),
                           (' t="inlineStr"', _text(value))])
            for i, (key, value) in enumerate(pairs, start=1)]
    part.write(("".join(rows) + "</sheetData></worksheet>").encode())


def _sheet_title(title: str) -> str:
    cleaned = "".join("-" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return cleaned[:31] or "Sheet"


def _unique(title: str, taken: list[str]) -> str:
    candidate, n = title, 2
    while candidate.lower() in (t.lower() for t in taken + ["About"]):
        candidate, n = f"{title[:28]} {n}", n + 1
    return candidate


# ---- the package around the sheets -------------------------------------------------------------

def _package(book: zipfile.ZipFile, sheets: list[tuple[str, str | None]], exponent: int) -> None:
    count = len(sheets)
    book.writestr("[Content_Types].xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
                  for i in range(1, count + 1))
        + "</Types>"))
    book.writestr("_rels/.rels", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
    book.writestr("xl/_rels/workbook.xml.rels", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, count + 1))
        + f'<Relationship Id="rId{count + 1}" Type="{REL}/styles" Target="styles.xml"/></Relationships>'))
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted(title))}!$A$1:{_absolute(last)}</definedName>"
        for i, (title, last) in enumerate(sheets) if last)
    book.writestr("xl/workbook.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        "<bookViews><workbookView/></bookViews><sheets>"
        + "".join(f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                  for i, (title, _last) in enumerate(sheets, start=1))
        + "</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>"))
    book.writestr("xl/styles.xml", _styles(exponent))


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(cell: str) -> str:
    letters = cell.rstrip("0123456789")
    return f"${letters}${cell[len(letters):]}"


def _styles(exponent: int) -> str:
    money_format = "#,##0" + ("." + "0" * exponent if exponent else "")
    formats = [(164, money_format), (165, "0.0%"), (166, "yyyy-mm-dd"), (167, "yyyy-mm-dd hh:mm")]
    xf = '<xf numFmtId="{}" fontId="{}" fillId="0" borderId="0" xfId="0"{}/>'
    cell_xfs = [xf.format(0, 0, ""), xf.format(0, 1, ' applyFont="1"')] + [
        xf.format(number, 0, ' applyNumberFormat="1"') for number, _code in formats]
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}">'
        f'<numFmts count="{len(formats)}">'
        + "".join(f'<numFmt numFmtId="{n}" formatCode="{escape(code)}"/>' for n, code in formats)
        + '</numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(cell_xfs)}">' + "".join(cell_xfs) + "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>")
