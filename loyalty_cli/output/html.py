"""A report as one self-contained HTML page: inline CSS, tables, charts as inline SVG.

No script, font, image or stylesheet is fetched from anywhere: the file opens the same on
the shop's computer offline, attached to an e-mail or years later. Every value is escaped.
"""

from html import escape

from loyalty_cli.output.cells import Cells, chart_points
from loyalty_cli.output.model import Report, Table

NUMERIC = ("int", "number", "money", "ratio")

CSS = """
:root { color-scheme: light dark; --ink: #1d232a; --muted: #5f6b76; --line: #d9dee3; --bar: #2f7d6d;
        --bar2: #c0713a; --paper: #ffffff; --band: #f4f6f8; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e6e9ec; --muted: #a3adb7; --line: #39424b; --bar: #5cc3ab; --bar2: #e39a63;
          --paper: #15191d; --band: #1d2227; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: var(--paper); }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; }
.meta, footer, .note { color: var(--muted); }
.note { margin: 6px 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin: 20px 0; }
.figure { background: var(--band); border-radius: 8px; padding: 10px 14px; }
.figure .label { color: var(--muted); font-size: 13px; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
figure { margin: 18px 0; }
details { margin: 8px 0 18px; }
summary { cursor: pointer; color: var(--muted); }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg { max-width: 100%; height: auto; display: block; }
svg text { fill: var(--muted); font: 11px system-ui, sans-serif; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .bar { fill: var(--bar); }
svg .bar2 { fill: var(--bar2); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: var(--paper); }
tbody tr:nth-child(even) { background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; min-width: 14em; }
footer { padding: 30px 20px; font-size: 13px; }
@media print { th { position: static; } .scroll { overflow: visible; } }
"""


def write_html(report: Report, handle) -> None:
    p = report.parameters
    when = (f"{p['since']} to {p['until']}" if "since" in p else "")
    as_of = p["as_of"][:16].replace("T", " ")
    title = f"{report.title} · {p['shop']}" + (f" · {when}" if when else "")
    handle.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n"
                 f"<h1>{escape(report.title)}</h1>\n<p class=\"meta\">{escape(p['shop'])}"
                 + (f" · {escape(when)}" if when else "")
                 + f" · as of {escape(as_of)} ({escape(p['timezone'])}) · amounts in {escape(p['currency'])}</p>\n")
    for note in report.notes:
        handle.write(f"<p class=\"note\">Note: {escape(note)}</p>\n")
    handle.write("</header>\n<main>\n")
    cells = Cells(report)
    for table in report.tables:
        if table.record:
            _figures(table, cells, handle)
            continue
        handle.write(f"<h2>{escape(table.title)}</h2>\n")
        for index, chart in enumerate(table.charts):
            points = chart_points(report, table, chart)
            dated = table.columns[[c.key for c in table.columns].index(chart.label)].kind == "date"
            svg = vertical_bars(points, "bar" if index % 2 == 0 else "bar2") if dated else horizontal_bars(points)
            handle.write(f"<figure>\n<figcaption>{escape(chart.title)}</figcaption>\n{svg}\n</figure>\n")
        if table.chart_instead:  # the chart says it; the exact figures are a click away
            handle.write("<details>\n<summary>The figures</summary>\n")
            _table(table, cells, handle)
            handle.write("</details>\n")
        else:
            _table(table, cells, handle)
    handle.write("</main>\n<footer>Made by loyalty-cli. Times are local to the shop "
                 f"({escape(p['timezone'])}).</footer>\n</body>\n</html>\n")


def _figures(table: Table, cells: Cells, handle) -> None:
    row = next(iter(table.rows()))
    handle.write("<div class=\"figures\">\n")
    for column, value in zip(table.columns, row, strict=True):
        if column.kind == "date":
            continue  # the period is in the heading
        handle.write(f"<div class=\"figure\"><div class=\"label\">{escape(column.heading)}</div>"
                     f"<div class=\"value\">{escape(cells.display(column.kind, value)) or '–'}</div></div>\n")
    handle.write("</div>\n")


def _table(table: Table, cells: Cells, handle) -> None:
    kinds = [c.kind for c in table.columns]
    classes = [" class=\"num\"" if k in NUMERIC else (" class=\"wrap\"" if c.key in _WRAP else "")
               for k, c in zip(kinds, table.columns, strict=True)]
    handle.write("<div class=\"scroll\"><table>\n<thead><tr>")
    for column, cls in zip(table.columns, classes, strict=True):
        handle.write(f"<th{cls}>{escape(column.heading)}</th>")
    handle.write("</tr></thead>\n<tbody>\n")
    empty = True
    cells_of = [(f"<td{cls}>", f, table.heatmap and kind == "ratio")
                for cls, f, kind in zip(classes, cells.converters(table.columns, "display"), kinds, strict=True)]
    keys = [c.key for c in table.columns]
    for row in table.rows():
        empty = False
        links = table.links(row) if table.links else {}
        cells_html = "".join(f"{_shaded(td, v) if heat else td}{_linked(escape(f(v)), links.get(key))}</td>"
                             for (td, f, heat), v, key in zip(cells_of, row, keys, strict=True))
        handle.write(f"<tr>{cells_html}</tr>\n")
    if empty:
        handle.write(f"<tr><td colspan=\"{len(kinds)}\">Nothing to show.</td></tr>\n")
    handle.write("</tbody>\n</table></div>\n")


def _linked(text: str, links: list | None) -> str:
    """The cell's text as its first link, then any further links (label or the text), joined by ' · '."""
    if not links or not text:
        return text
    return " · ".join(f"<a href=\"{escape(href)}\">{escape(label) if label else text}</a>" for href, label in links)


_WRAP = {"description", "note", "next_reward", "void_reason"}


def _shaded(td: str, share: float | None) -> str:
    """A heatmap cell: the bar colour, as strong as the share (none for 0 or no value)."""
    if not share:
        return td
    strength = min(1.0, max(0.0, share)) * 0.8  # the strongest still lets the figure be read
    return f"{td[:-1]} style=\"background: rgba(47, 125, 109, {strength:.2f})\">"


# ---- charts ----------------------------------------------------------------------------------

def _nice_top(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above the largest bar."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


def vertical_bars(points: list[tuple[str, float, str]], css: str = "bar") -> str:
    """Bars along a time axis: a bar per day, week or month, a tooltip with each exact value."""
    width, height, left, bottom, top_pad = 900, 260, 56, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = _nice_top(max((n for _l, n, _s in points), default=0))
    out = [f"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">"]
    for i in range(5):
        value = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        out.append(f"<line class=\"grid\" x1=\"{left}\" x2=\"{width - 10}\" y1=\"{y:.1f}\" y2=\"{y:.1f}\"/>"
                   f"<text x=\"{left - 6}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{_axis_label(value)}</text>")
    count = max(1, len(points))
    slot = plot_w / count
    gap = min(4.0, slot * 0.2)
    every = max(1, round(count / 12))  # about a dozen labels, whatever the number of bars
    for index, (label, number, shown) in enumerate(points):
        h = plot_h * number / top
        x = left + index * slot + gap / 2
        y = top_pad + plot_h - h
        out.append(f"<rect class=\"{css}\" x=\"{x:.1f}\" y=\"{y:.1f}\" width=\"{max(slot - gap, 1):.1f}\" "
                   f"height=\"{h:.1f}\"><title>{escape(label)}: {escape(shown)}</title></rect>")
        if index % every == 0:
            cx = left + index * slot + slot / 2
            out.append(f"<text x=\"{cx:.1f}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">"
                       f"{escape(label[5:] if len(label) == 10 else label)}</text>")
    out.append("</svg>")
    return "".join(out)


def horizontal_bars(points: list[tuple[str, float, str]]) -> str:
    """Few bars with long labels (what the shop owes, item by item)."""
    row_h, left, width, value_w = 28, 260, 900, 110
    height = row_h * max(1, len(points)) + 10
    top = max((n for _l, n, _s in points), default=0) or 1
    plot_w = width - left - value_w
    out = [f"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\">"]
    for index, (label, number, shown) in enumerate(points):
        y = 5 + index * row_h
        w = plot_w * max(number, 0) / top
        out.append(f"<text x=\"{left - 8}\" y=\"{y + 17}\" text-anchor=\"end\">{escape(label)}</text>"
                   f"<rect class=\"bar\" x=\"{left}\" y=\"{y + 4}\" width=\"{w:.1f}\" height=\"{row_h - 10}\">"
                   f"<title>{escape(label)}: {escape(shown)}</title></rect>"
                   f"<text x=\"{left + w + 6:.1f}\" y=\"{y + 17}\">{escape(shown)}</text>")
    out.append("</svg>")
    return "".join(out)
