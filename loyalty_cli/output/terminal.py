"""Every table for people: drawn with rich on a terminal, or as plain text (files, pipes: never
a colour code). The one table drawer: reports and the counter's lists (customers, a ledger,
recent visits) come here as output.model Reports, so they fit a terminal the same way.

A one-row summary reads as 'figure  value' lines; the summary's visits per day are drawn as
horizontal bars rather than listed. Very long or wide tables are cut on the terminal, with a
line saying how to get all of them; plain text keeps every row and column.
"""

import math

from loyalty_cli.domain import locale_format
from loyalty_cli.domain.i18n import tr
from loyalty_cli.output.cells import Cells, chart_points
from loyalty_cli.output.model import Report, Table
from loyalty_cli.output.safe import printable

TERMINAL_ROWS = 500
BLOCKS = " ▏▎▍▌▋▊▉█"
NUMERIC = ("int", "number", "money", "ratio")
# A number, a date or a phone cut short is misread ('+3933…', '143.…'): these keep their width.
UNBROKEN = ("int", "number", "money", "ratio", "date", "moment", "bool")
UNBROKEN_KEYS = {"phone", "code", "item", "at"}
PLAIN_WIDTH = 80  # no terminal to measure (a pipe, --output FILE.txt): a chart fits the classic width
TEXT_ROOM = 30  # what free text claims when columns are picked: a name stays whole, a long note wraps
# A heatmap's ratio cells: no shade for 0 (or nothing), then darker to brighter blue by fifths.
SHADES = ("", "white on color(17)", "white on color(18)", "white on color(19)", "white on color(20)",
          "white on color(21)")


def bar(value: float, top: float, width: int) -> str:
    """A bar of `width` cells at most, in eighths of a cell."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (BLOCKS[part] if part else "")


def chart_lines(report: Report, table: Table, chart, width: int) -> list[str]:
    points = chart_points(report, table, chart)
    if not points:
        return [tr("{title}: nothing to chart").format(title=printable(chart.title))]
    points = [(printable(label), number, shown) for label, number, shown in points]
    label_width = max(len(label) for label, _n, _shown in points)
    shown_width = max(len(shown) for _label, _n, shown in points)
    room = max(10, width - label_width - shown_width - 4)
    top = max(number for _label, number, _shown in points)
    lines = [printable(chart.title)]
    for label, number, shown in points:
        lines.append(f"{label.ljust(label_width)} {shown.rjust(shown_width)} {bar(number, top, room)}".rstrip())
    return lines


def _heading(report: Report) -> str | None:
    """A report's first line: what, which shop, which period. A counter list (no parameters) has
    none: its table's title says it all."""
    p = report.parameters
    if not p:
        return None
    if "since" in p:
        when = tr("{since} to {until}").format(since=locale_format.day(p["since"]), until=locale_format.day(p["until"]))
    else:
        when = tr("as of {moment}").format(moment=locale_format.minute(p["as_of"][:16].replace("T", " ")))
    return printable(f"{report.title} · {p['shop']} · {when}")  # the shop's name is config text


# ---- plain text ------------------------------------------------------------------------------

def write_text(report: Report, handle, width: int = PLAIN_WIDTH) -> None:
    """Every table in full, aligned, then its chart (the summary's series: chart first), for a
    file or a pipe."""
    cells = Cells(report)
    heading = _heading(report)
    if heading:
        handle.write(heading + "\n")
    for note in report.notes:
        handle.write(tr("note") + f": {printable(note)}\n")
    for number, table in enumerate(report.tables):
        if heading or report.notes or number:
            handle.write("\n")
        if table.record:
            _plain_record(table, cells, handle)
            continue
        charts = ["\n".join(chart_lines(report, table, chart, width)) + "\n" for chart in table.charts[:1]]
        if table.chart_instead:  # the chart first, then its figures
            handle.write("".join(chart + "\n" for chart in charts))
        handle.write(printable(table.title) + "\n")
        _plain_table(table, cells, handle)
        if not table.chart_instead:
            handle.write("".join("\n" + chart for chart in charts))


def _plain_record(table: Table, cells: Cells, handle) -> None:
    row = next(iter(table.rows()))
    label_width = max(len(c.heading) for c in table.columns)
    for column, value in zip(table.columns, row, strict=True):
        label = printable(column.heading).ljust(label_width)
        handle.write(f"{label}  {cells.display(column.kind, value)}".rstrip() + "\n")


def _plain_table(table: Table, cells: Cells, handle) -> None:
    """Aligned columns, widths taken from the first rows so a long table still streams."""
    kinds = [c.kind for c in table.columns]
    convert = cells.converters(table.columns, "display")
    rows = table.rows()
    head = []
    for row in rows:
        head.append([f(v) for f, v in zip(convert, row, strict=True)])
        if len(head) >= 1000:
            break
    widths = [max([len(c.heading)] + [len(r[i]) for r in head]) for i, c in enumerate(table.columns)]

    def line(values):
        parts = [v.rjust(w) if k in NUMERIC else v.ljust(w) for v, w, k in zip(values, widths, kinds, strict=True)]
        return "  ".join(parts).rstrip() + "\n"

    handle.write(line([printable(c.heading) for c in table.columns]))
    handle.write(line(["-" * w for w in widths]))
    for values in head:
        handle.write(line(values))
    for row in rows:
        handle.write(line([f(v) for f, v in zip(convert, row, strict=True)]))
    if not head:
        handle.write(f"({table.empty})\n")


def write_tabbed(report: Report, handle) -> None:
    """Each table's title, then its headings and plain values separated by tabs, a row a line:
    the import summary in a pipe, read by scripts as 'Visits added<TAB>5'."""
    cells = Cells(report)
    for table in report.tables:
        convert = cells.converters(table.columns, "plain")
        handle.write(printable(table.title) + "\n")
        handle.write("\t".join(printable(c.heading) for c in table.columns) + "\n")
        for row in table.rows():
            handle.write("\t".join(f(v) for f, v in zip(convert, row, strict=True)) + "\n")


# ---- rich, on a terminal -----------------------------------------------------------------------

def draw(report: Report) -> None:
    from rich.markup import escape

    from loyalty_cli.output.console import console as make_console

    console = make_console()
    cells = Cells(report)
    heading = _heading(report)
    if heading:
        console.print(f"[bold]{escape(heading)}[/]")
    for note in report.notes:
        console.print("[yellow]" + escape(tr("note")) + f": {escape(printable(note))}[/]")
    for number, table in enumerate(report.tables):
        if heading or report.notes or number:
            console.print()
        if table.record:
            _draw_record(console, table, cells)
            continue
        if not table.chart_instead:
            _draw_table(console, table, cells)
        for chart in table.charts[:1]:
            lines = chart_lines(report, table, chart, console.width)
            console.print(f"[bold]{escape(lines[0])}[/]")
            for text in lines[1:]:
                console.print(escape(text), style="cyan", overflow="crop", no_wrap=True)


def _draw_record(console, table: Table, cells: Cells) -> None:
    from rich.markup import escape
    from rich.table import Table as RichTable

    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    row = next(iter(table.rows()))
    for column, value in zip(table.columns, row, strict=True):
        grid.add_row(escape(printable(column.heading)), escape(cells.display(column.kind, value)))
    console.print(grid)


def _draw_table(console, table: Table, cells: Cells) -> None:
    """Numbers, dates, phones and codes keep their whole width and free text wraps at spaces.
    A table too wide for the terminal shows its `brief` columns, as many as fit."""
    from rich.markup import escape

    shown, more, shades = _first_rows(table, cells)
    if not shown:
        console.print(f"[dim]{escape(printable(table.title))}: {escape(printable(table.empty))}[/]")
        return
    widths = [max([len(column.heading)] + [len(values[i]) for values in shown])
              for i, column in enumerate(table.columns)]
    columns = _fit(table, widths, console.width)
    console.print(_rich_table(table, shown, columns, widths, shades))
    hidden = len(table.columns) - len(columns)
    if hidden:
        console.print("[dim]" + escape(tr("{count} more columns on a wider terminal, or with --format csv or json")
                                       .format(count=hidden)) + "[/]")
    if more:
        console.print("[yellow]" + escape(tr("{count} more rows not shown: use --format csv or json for all of them")
                                          .format(count=locale_format.number(more))) + "[/]")


def _first_rows(table: Table, cells: Cells) -> tuple[list[list[str]], int, list[list[str]] | None]:
    """The rows a terminal shows, as text, how many more there are, and (a heatmap) each shown
    cell's style."""
    convert = cells.converters(table.columns, "display")
    heat = [table.heatmap and c.kind == "ratio" for c in table.columns]
    shown, more, shades = [], 0, [] if any(heat) else None
    for row in table.rows():
        if len(shown) < TERMINAL_ROWS:
            shown.append([f(v) for f, v in zip(convert, row, strict=True)])
            if shades is not None:
                shades.append([shade(v) if h else "" for h, v in zip(heat, row, strict=True)])
        else:
            more += 1
    return shown, more, shades


def shade(share: float | None) -> str:
    """A heatmap cell's style: nothing for 0 or no value, then one of five blues by fifths."""
    if not share:
        return ""
    return SHADES[min(len(SHADES) - 1, max(1, math.ceil(share * (len(SHADES) - 1))))]


def _whole(table: Table, i: int) -> bool:
    return table.columns[i].kind in UNBROKEN or table.columns[i].key in UNBROKEN_KEYS


def _fit(table: Table, widths: list[int], width: int) -> list[int]:
    """The columns to draw: all of them if they fit, else the `brief` ones, most useful first,
    as many as fit (at least two), in their usual order."""

    def needed(picked):
        return sum(widths[i] if _whole(table, i) else min(widths[i], TEXT_ROOM) for i in picked) + 2 * len(picked)

    everything = list(range(len(table.columns)))
    if needed(everything) <= width or not table.brief:
        return everything
    keys = [c.key for c in table.columns]
    picked: list[int] = []
    for index in (keys.index(key) for key in table.brief):
        if len(picked) < 2 or needed(picked + [index]) <= width:
            picked.append(index)
    return sorted(picked)


def _rich_table(table: Table, shown: list[list[str]], columns: list[int], widths: list[int], shades=None):
    from rich import box
    from rich.markup import escape
    from rich.table import Table as RichTable

    drawn = RichTable(title=escape(printable(table.title)), title_justify="left", title_style="bold",
                      box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i in columns:
        column, whole = table.columns[i], _whole(table, i)
        drawn.add_column(escape(printable(column.heading)), justify="right" if column.kind in NUMERIC else "left",
                         no_wrap=whole, min_width=widths[i] if whole else min(widths[i], 8), overflow="fold")
    for number, values in enumerate(shown):
        styles = shades[number] if shades else None
        drawn.add_row(*(f"[{styles[i]}]{escape(values[i])}[/]" if styles and styles[i] else escape(values[i])
                        for i in columns))
    return drawn
