"""A report as one self-contained HTML page: inline CSS, tables, charts as inline SVG.

No script, font, image or stylesheet is fetched from anywhere: the file opens the same on
the shop's computer offline, attached to an e-mail or years later. Every value is escaped.
A table shows at most MAX_ROWS rows (a 70,000-row page was 17 MB and took a browser half a
minute), with a note pointing to XLSX and CSV, which hold every row.
"""

from datetime import date
from html import escape

from loyalty_cli.domain import locale_format
from loyalty_cli.domain.i18n import language_tag, tr
from loyalty_cli.output.cells import Cells, chart_points
from loyalty_cli.output.model import Report, Table

NUMERIC = ("int", "number", "money", "ratio")
MAX_ROWS = 2000

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
svg .partial { fill-opacity: 0.4; stroke: var(--muted); stroke-dasharray: 3 2; }
/* The table scrolls in its own box, both ways: the header sticks to the box's top, and the
   horizontal scrollbar is at the box's bottom, on screen, not thousands of rows further down. */
.scroll { overflow: auto; max-height: 80vh; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; z-index: 1; background: var(--paper); box-shadow: inset 0 -1px 0 var(--line); }
tbody tr:nth-child(even) { background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { white-space: normal; min-width: 14em; }
footer { padding: 30px 20px; font-size: 13px; }
@media print { th { position: static; } .scroll { overflow: visible; max-height: none; border: 0; } }
"""


def write_html(report: Report, handle, locale: str = "en") -> None:
    p = report.parameters
    when = tr("{since} to {until}").format(since=locale_format.day(p["since"]), until=locale_format.day(p["until"])) \
        if "since" in p else ""
    as_of = locale_format.minute(p["as_of"][:16].replace("T", " "))
    title = f"{report.title} · {p['shop']}" + (f" · {when}" if when else "")
    handle.write(f"<!DOCTYPE html>\n<html lang=\"{language_tag(locale)}\">\n"
                 "<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n"
                 f"<h1>{escape(report.title)}</h1>\n<p class=\"meta\">{escape(p['shop'])}"
                 + (f" · {escape(when)}" if when else "")
                 + " · " + escape(tr("as of {moment} ({zone}) · amounts in {currency}").format(
                     moment=as_of, zone=p["timezone"], currency=p["currency"])) + "</p>\n")
    for note in report.notes:
        handle.write("<p class=\"note\">" + escape(tr("Note:")) + f" {escape(note)}</p>\n")
    handle.write("</header>\n<main>\n")
    cells = Cells(report)
    for table in report.tables:
        if table.record:
            _figures(table, cells, handle)
            continue
        handle.write(f"<h2>{escape(table.title)}</h2>\n")
        for index, chart in enumerate(table.charts):
            _chart(report, table, chart, "bar" if index % 2 == 0 else "bar2", handle)
        if table.chart_instead:  # the chart says it; the exact figures are a click away
            handle.write("<details>\n<summary>" + escape(tr("The figures")) + "</summary>\n")
            _table(table, cells, handle)
            handle.write("</details>\n")
        else:
            _table(table, cells, handle)
    footer = tr("Made by loyalty-cli. Times are local to the shop ({zone}).").format(zone=p["timezone"])
    handle.write(f"</main>\n<footer>{escape(footer)}</footer>\n</body>\n</html>\n")


def _figures(table: Table, cells: Cells, handle) -> None:
    row = next(iter(table.rows()))
    handle.write("<div class=\"figures\">\n")
    for column, value in zip(table.columns, row, strict=True):
        if column.kind == "date":
            continue  # the period is in the heading
        handle.write(f"<div class=\"figure\"><div class=\"label\">{escape(column.full_heading)}</div>"
                     f"<div class=\"value\">{escape(cells.display(column.kind, value)) or '–'}</div></div>\n")
    handle.write("</div>\n")


def _table(table: Table, cells: Cells, handle) -> None:
    kinds = [c.kind for c in table.columns]
    classes = [" class=\"num\"" if k in NUMERIC else (" class=\"wrap\"" if c.key in _WRAP else "")
               for k, c in zip(kinds, table.columns, strict=True)]
    handle.write("<div class=\"scroll\"><table>\n<thead><tr>")
    shown = 0
    for column, cls in zip(table.columns, classes, strict=True):
        handle.write(f"<th{cls}>{escape(column.full_heading)}</th>")
    handle.write("</tr></thead>\n<tbody>\n")
    empty = True
    cells_of = [(f"<td{cls}>", f, table.heatmap and kind == "ratio")
                for cls, f, kind in zip(classes, cells.converters(table.columns, "display"), kinds, strict=True)]
    keys = [c.key for c in table.columns]
    rows = iter(table.rows())
    for row in rows:
        empty = False
        links = table.links(row) if table.links else {}
        cells_html = "".join(f"{_shaded(td, v) if heat else td}{_linked(escape(f(v)), links.get(key))}</td>"
                             for (td, f, heat), v, key in zip(cells_of, row, keys, strict=True))
        handle.write(f"<tr>{cells_html}</tr>\n")
        shown += 1
        if shown == MAX_ROWS:
            break
    if empty:
        handle.write(f"<tr><td colspan=\"{len(kinds)}\">" + escape(tr("Nothing to show.")) + "</td></tr>\n")
    handle.write("</tbody>\n</table></div>\n")
    more = sum(1 for _row in rows)  # counted, not drawn: cheap next to writing them
    if more:
        note = tr("The first {shown} of {total} rows. Every row is in the XLSX and CSV formats (--format xlsx, "
                  "--format excel-csv or csv).").format(shown=locale_format.number(shown),
                                                        total=locale_format.number(shown + more))
        handle.write(f"<p class=\"note rows-cut\">{escape(note)}</p>\n")


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

def _chart(report: Report, table: Table, chart, css: str, handle) -> None:
    """One chart under its table's heading. A caption repeating that heading is left out (the
    summary's 'Visits per week' chart under its 'Visits per week' table read twice)."""
    points = chart_points(report, table, chart)
    keys = [c.key for c in table.columns]
    dated = table.columns[keys.index(chart.label)].kind == "date"
    spans = _spans(table, chart) if dated else []
    svg = vertical_bars(points, css, spans) if dated else horizontal_bars(points)
    caption = "" if chart.title == table.title else f"<figcaption>{escape(chart.title)}</figcaption>\n"
    handle.write(f"<figure aria-label=\"{escape(chart.title)}\">\n{caption}{svg}\n")
    cut = [(first, last, days, full) for first, last, days, full in spans if days < full]
    if cut:
        parts = "; ".join(tr("{first} to {last}, {days} of {full} days").format(
            first=locale_format.day(first), last=locale_format.day(last), days=days, full=full)
            for first, last, days, full in cut)
        said = _partial_note(cut[0][3]).format(parts=parts)
        handle.write(f"<figcaption class=\"note partial-note\">{escape(said)}</figcaption>\n")
    handle.write("</figure>\n")


def _partial_note(full: int) -> str:
    """The note under a chart with cut bars, for weeks (7 days) or months; {parts} to fill in."""
    if full == 7:
        return tr("Lighter bars cover only part of their week ({parts}): not comparable with the others.")
    return tr("Lighter bars cover only part of their month ({parts}): not comparable with the others.")


def _spans(table: Table, chart) -> list[tuple[str, str, int, int]]:
    """(first day, last day, days covered, days of a whole bucket) per bar, for a dated chart whose
    table has an 'end' date beside its 'start' (the summary's weeks and months); [] otherwise.
    The period's first and last week (or month) are usually cut short by its bounds."""
    keys = [c.key for c in table.columns]
    if "end" not in keys or table.columns[keys.index("end")].kind != "date":
        return []
    at, end_at = keys.index(chart.label), keys.index("end")
    rows = [(row[at], row[end_at]) for row in table.rows()
            if not (chart.skip and str(row[0]).startswith(chart.skip)) and row[at] and row[end_at]]
    days = [(date.fromisoformat(last) - date.fromisoformat(first)).days + 1 for first, last in rows]
    if not days or max(days) == 1:
        return []
    weekly = max(days) <= 7
    out = []
    for (first, last), covered in zip(rows, days, strict=True):
        start = date.fromisoformat(first)
        full = 7 if weekly else _month_days(start)
        out.append((first, last, covered, full))
    return out


def _month_days(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - date(day.year, day.month, 1)).days


def nice_axis(peak: float, whole: bool = False) -> tuple[float, float]:
    """(top, step) of a value axis: a step of 1, 2 or 5 times a power of ten giving at most eight
    intervals, and the first multiple of it at or above the peak (3,100 -> 3,500 by 500, not
    5,000). `whole`: counts, whose steps are never fractions."""
    if peak <= 0:
        return 1.0, 1.0 if whole else 0.25
    rough = peak / 8
    magnitude = 10.0 ** _floor_log10(rough)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough * (1 - 1e-9))
    if whole:
        step = max(step, 1.0)
    intervals = -(-peak // step)  # ceiling
    return round(intervals * step, 9), step


def _floor_log10(value: float) -> int:
    exponent = 0
    while value >= 10:
        value, exponent = value / 10, exponent + 1
    while value < 1:
        value, exponent = value * 10, exponent - 1
    return exponent


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.2f}".rstrip("0")


def tick_labels(labels: list[str]) -> list[str]:
    """Bar labels as the time axis shows them: months 'YYYY-MM'; days and weeks 'MM-DD' within one
    year, the whole date when the chart spans more than one (an 18-month chart's '01-26' said
    nothing of which January)."""
    dates = [label for label in labels if len(label) == 10 and label[4] == "-" and label[7] == "-"]
    if len(dates) != len(labels) or not labels:
        return labels
    months = {label[:7] for label in labels}
    if len(labels) > 1 and len(months) == len(labels) and all(label.endswith("-01") for label in labels[1:]):
        return [label[:7] for label in labels]  # a bar a month (the first may start mid-month)
    if labels[0][:4] != labels[-1][:4]:
        return labels
    return [label[5:] for label in labels]


def vertical_bars(points: list[tuple[str, float, str]], css: str = "bar", spans=()) -> str:
    """Bars along a time axis: a bar per day, week or month, a tooltip with each exact value.
    `spans` (from _spans): a bar covering part of its week or month is drawn lighter, dashed."""
    width, height, left, bottom, top_pad = 900, 260, 64, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    numbers = [n for _l, n, _s in points]
    top, step = nice_axis(max(numbers, default=0), all(float(n).is_integer() for n in numbers))
    out = [f"<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" "
           f"data-axis-top=\"{top:g}\">"]
    intervals = round(top / step)
    for i in range(intervals + 1):
        value = step * i
        y = top_pad + plot_h - plot_h * i / intervals
        out.append(f"<line class=\"grid\" x1=\"{left}\" x2=\"{width - 10}\" y1=\"{y:.1f}\" y2=\"{y:.1f}\"/>"
                   f"<text x=\"{left - 6}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{_axis_label(value)}</text>")
    count = max(1, len(points))
    slot = plot_w / count
    gap = min(4.0, slot * 0.2)
    every = max(1, round(count / 12))  # about a dozen labels, whatever the number of bars
    ticks = tick_labels([label for label, _n, _s in points])
    for index, (label, number, shown) in enumerate(points):
        h = plot_h * number / top
        x = left + index * slot + gap / 2
        y = top_pad + plot_h - h
        span = spans[index] if index < len(spans) else None
        partial = span is not None and span[2] < span[3]
        note = " " + tr("(partial: {days} of {full} days)").format(days=span[2], full=span[3]) if partial else ""
        out.append(f"<rect class=\"{css}{' partial' if partial else ''}\" x=\"{x:.1f}\" y=\"{y:.1f}\" "
                   f"width=\"{max(slot - gap, 1):.1f}\" height=\"{h:.1f}\">"
                   f"<title>{escape(label)}: {escape(shown)}{escape(note)}</title></rect>")
        if index % every == 0:
            cx = left + index * slot + slot / 2
            out.append(f"<text x=\"{cx:.1f}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">"
                       f"{escape(ticks[index])}</text>")
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
