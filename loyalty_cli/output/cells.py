"""How a value reads in each format: one converter per column kind and output style.

Styles: plain (CSV and plain text: what a person or a spreadsheet reads back exactly), json
(numbers as numbers, money as decimal strings, times ISO 8601 with the shop's offset), display
(tables for people: money with its symbol, shares in percent). Every writer takes its cells
from here, so money, times and phones read the same in every output.
"""

from datetime import datetime, timedelta

from loyalty_cli.domain import i18n, locale_format, money
from loyalty_cli.domain.i18n import tr
from loyalty_cli.output.model import Report, Table
from loyalty_cli.output.safe import PRINTABLE, PRINTABLE_CSV

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
            return lambda v: "" if v is None else ("yes" if v else "no")  # CSV: the same in every locale
        if kind == "ratio":
            return lambda v: "" if v is None else f"{v:.4f}"
        if kind == "text":
            first = _FORMULA_FIRST

            def text(v):
                if v is None:
                    return ""
                if not isinstance(v, str):
                    return neutralise(str(v))
                v = "'" + v if v[:1] in first else v
                # isprintable() is one C pass; translate() looks each character up: only when needed
                return v if v.isprintable() else v.translate(PRINTABLE_CSV)

            return text
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
        if kind != "text" and i18n.current() != "en":
            return self._display_in_locale(kind)
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
        if kind == "int":  # grouped as money is, so one output groups every number alike
            return lambda v: "" if v is None else f"{v:,}"
        if kind == "text":
            def shown(v):
                if v is None:
                    return ""
                v = str(v)
                return v if v.isprintable() else v.translate(PRINTABLE)

            return shown
        return lambda v: "" if v is None else str(v)

    def _display_in_locale(self, kind: str):
        """Tables for people in es, it, hu: money, numbers, shares and dates as the locale writes
        them (domain/locale_format.py, CLDR's forms)."""
        currency = self.currency
        if kind == "money":
            return lambda v: "" if v is None else locale_format.amount(v, currency)
        if kind == "int":
            return lambda v: "" if v is None else locale_format.number(v)
        if kind == "number":
            return lambda v: "" if v is None else (locale_format.number(v) if isinstance(v, int)
                                                   else locale_format.decimal(v, 2) if isinstance(v, float) else str(v))
        if kind == "ratio":
            return lambda v: "" if v is None else locale_format.percent(v)
        if kind == "bool":
            yes = tr("yes")
            return lambda v: yes if v else ""
        if kind == "date":
            return lambda v: "" if v is None else locale_format.day(v) if _iso_day(v) else str(v)
        if kind == "moment":
            minutes = self._minutes()
            return lambda v: "" if v is None else locale_format.minute(minutes(v))
        return lambda v: "" if v is None else str(v)

    def number(self, kind: str, value) -> float:
        """The numeric value of a cell, for charts: money in currency units."""
        if value is None:
            return 0.0
        if kind == "money":
            return float(money.to_decimal(value, self.currency))
        return float(value)


def _iso_day(value) -> bool:
    """'2026-03-15' (a day column may also hold a week's or a month's label)."""
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"


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
