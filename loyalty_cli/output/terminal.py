"""Reports for people at a terminal (rich) and as plain text (files, pipes: never a colour code).

A one-row summary reads as 'figure  value' lines; the summary's visits per day are drawn as
horizontal bars rather than listed. Very long or wide tables are cut on the terminal, with a
line saying how to get all of them; plain text keeps every row and column.
"""

from loyalty_cli.output.cells import Cells, chart_points
from loyalty_cli.output.model import Report, Table

TERMINAL_ROWS = 500
BLOCKS = " ▏▎▍▌▋▊▉█"
NUMERIC = ("int", "number", "money", "ratio")


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
        return [f"{chart.title}: nothing to chart"]
    label_width = max(len(label) for label, _n, _shown in points)
    shown_width = max(len(shown) for _label, _n, shown in points)
    room = max(10, width - label_width - shown_width - 4)
    top = max(number for _label, number, _shown in points)
    lines = [chart.title]
    for label, number, shown in points:
        lines.append(f"{label.ljust(label_width)} {shown.rjust(shown_width)} {bar(number, top, room)}".rstrip())
    return lines


def _heading(report: Report) -> str:
    p = report.parameters
    when = f"{p['since']} to {p['until']}" if "since" in p else f"as of {p['as_of'][:16].replace('T', ' ')}"
    return f"{report.title} · {p['shop']} · {when}"


# ---- plain text ------------------------------------------------------------------------------

def write_text(report: Report, handle, width: int = 100) -> None:
    """Every table in full, aligned, then its chart (the summary's series: chart first), for a
    file or a pipe."""
    cells = Cells(report)
    handle.write(_heading(report) + "\n")
    for note in report.notes:
        handle.write(f"note: {note}\n")
    for table in report.tables:
        handle.write("\n")
        if table.record:
            row = next(iter(table.rows()))
            label_width = max(len(c.heading) for c in table.columns)
            for column, value in zip(table.columns, row, strict=True):
                shown = cells.display(column.kind, value)
                handle.write(f"{column.heading.ljust(label_width)}  {shown}".rstrip() + "\n")
            continue
        charts = ["\n".join(chart_lines(report, table, chart, width)) + "\n" for chart in table.charts[:1]]
        if table.chart_instead:  # the chart first, then its figures
            handle.write("".join(chart + "\n" for chart in charts))
        handle.write(table.title + "\n")
        _plain_table(table, cells, handle)
        if not table.chart_instead:
            handle.write("".join("\n" + chart for chart in charts))


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

    handle.write(line([c.heading for c in table.columns]))
    handle.write(line(["-" * w for w in widths]))
    for values in head:
        handle.write(line(values))
    for row in rows:
        handle.write(line([f(v) for f, v in zip(convert, row, strict=True)]))
    if not head:
        handle.write("(nothing to show)\n")


# ---- rich, on a terminal -----------------------------------------------------------------------

def draw(report: Report) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    console = Console(highlight=False)
    cells = Cells(report)
    console.print(f"[bold]{escape(_heading(report))}[/]")
    for note in report.notes:
        console.print(f"[yellow]note: {escape(note)}[/]")
    for table in report.tables:
        console.print()
        if table.record:
            grid = RichTable.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column(justify="right")
            row = next(iter(table.rows()))
            for column, value in zip(table.columns, row, strict=True):
                grid.add_row(escape(column.heading), escape(cells.display(column.kind, value)))
            console.print(grid)
            continue
        if not table.chart_instead:
            _draw_table(console, table, cells)
        for chart in table.charts[:1]:
            lines = chart_lines(report, table, chart, console.width)
            console.print(f"[bold]{escape(lines[0])}[/]")
            for text in lines[1:]:
                console.print(escape(text), style="cyan", overflow="crop", no_wrap=True)


UNBROKEN = ("int", "number", "money", "ratio", "date", "moment", "bool")
UNBROKEN_KEYS = {"phone", "code", "item"}  # a phone number or a code cut short is misread


def _draw_table(console, table: Table, cells: Cells) -> None:
    """Numbers, dates, phones and codes keep their whole width (a cut '+3933…' or '143.…' is
    misread) and free text wraps. A table too wide for the terminal shows its `brief` columns."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table as RichTable

    convert = cells.converters(table.columns, "display")
    shown, more = [], 0
    for row in table.rows():
        if len(shown) >= TERMINAL_ROWS:
            more += 1
            continue
        shown.append([f(v) for f, v in zip(convert, row, strict=True)])
    if not shown:
        console.print(f"[dim]{escape(table.title)}: nothing to show[/]")
        return
    columns = list(range(len(table.columns)))
    widths = [max([len(table.columns[i].heading)] + [len(r[i]) for r in shown]) for i in columns]

    def whole(i):
        return table.columns[i].kind in UNBROKEN or table.columns[i].key in UNBROKEN_KEYS

    def needed(picked):
        return sum(widths[i] if whole(i) else min(widths[i], 10) for i in picked) + 2 * len(picked)

    hidden = 0
    if needed(columns) > console.width and table.brief:
        # the most useful columns first, as many as fit, shown in their usual order
        keys = [c.key for c in table.columns]
        picked: list[int] = []
        for key in table.brief:
            if len(picked) < 2 or needed(picked + [keys.index(key)]) <= console.width:
                picked.append(keys.index(key))
        hidden, columns = len(columns) - len(picked), sorted(picked)
    drawn = RichTable(title=escape(table.title), title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                      pad_edge=False, collapse_padding=True)
    for i in columns:
        column = table.columns[i]
        drawn.add_column(escape(column.heading), justify="right" if column.kind in NUMERIC else "left",
                         no_wrap=whole(i), min_width=widths[i] if whole(i) else min(widths[i], 8), overflow="fold")
    for values in shown:
        drawn.add_row(*(escape(values[i]) for i in columns))
    console.print(drawn)
    if hidden:
        console.print(f"[dim]{hidden} more columns on a wider terminal, or with --format html, xlsx or csv[/]")
    if more:
        console.print(f"[yellow]{more:,} more rows not shown: use --output FILE or --format csv for all of them[/]")
