"""What a browser showed wrong in the HTML report: the header that did not stick, the scrollbar
thousands of rows down, a title twice, axes without years and up to 5,000 for a peak of 3,100,
a last 2-day week drawn as a collapse, 17 MB pages; and the page's language."""

import io
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from loyalty_cli.output import html as report_html
from loyalty_cli.output.model import Chart, Column, Report, Table

TZ = ZoneInfo("Europe/Rome")
PARAMETERS = {"shop": "Gelateria Roma", "currency": "EUR", "timezone": "Europe/Rome", "since": "2025-01-01",
              "until": "2026-06-16", "as_of": "2026-06-16T14:00:00+02:00"}
WEEKS = [Column("start", "From", "date"), Column("end", "To", "date"), Column("visits", "Visits", "int")]


def weekly_report(weeks: list[tuple[str, str, int]]) -> Report:
    """The summary's shape: a timeline table titled as its first chart."""
    table = Table("timeline", "Visits per week", WEEKS, lambda: iter(weeks),
                  charts=[Chart("start", "visits", "Visits per week")], chart_instead=True)
    return Report("summary", "Summary", PARAMETERS, [table], "EUR", TZ)


def eighteen_months() -> list[tuple[str, str, int]]:
    from datetime import date, timedelta

    weeks, day = [], date(2025, 1, 6)
    while day + timedelta(days=6) <= date(2026, 6, 14):
        weeks.append((day.isoformat(), (day + timedelta(days=6)).isoformat(), 2000 + (day.toordinal() % 1100)))
        day += timedelta(days=7)
    weeks.append(("2026-06-15", "2026-06-16", 450))  # the week so far: two days
    return weeks


def page_of(report: Report, locale: str = "en") -> str:
    out = io.StringIO()
    report_html.write_html(report, out, locale)
    return out.getvalue()


class Page(HTMLParser):
    """Visible text (not <title>, <style>, nor SVG tooltips), and the attributes of every tag."""

    def __init__(self, page: str):
        super().__init__()
        self.text, self.tags, self._hidden = [], [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("title", "style"):
            self._hidden.append(tag)

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data):
        if not self._hidden:
            self.text.append(data)

    def visible(self) -> str:
        return " ".join(self.text)


def test_visits_per_week_is_said_once():
    page = Page(page_of(weekly_report(eighteen_months())))
    assert page.visible().count("Visits per week") == 1


def test_html_lang_follows_the_locale():
    for locale, tag in (("it_IT", "it"), ("es_ES", "es"), ("hu_HU", "hu"), ("en", "en")):
        html_tag = next(attrs for name, attrs in Page(page_of(weekly_report([]), locale)).tags if name == "html")
        assert html_tag["lang"] == tag


def test_header_sticks_inside_a_box_that_scrolls_both_ways():
    css = re.search(r"<style>(.*)</style>", page_of(weekly_report([])), re.S).group(1)
    screen = css.split("@media print")[0]
    rules = dict(re.findall(r"(?m)^([^{}@/\n][^{}\n]*?)\s*\{([^}]*)\}", screen))
    scroll = rules[".scroll"]
    # the box scrolls both ways with a bounded height: the header sticks to it and its
    # horizontal scrollbar is on screen, not after the last row
    assert re.search(r"overflow:\s*auto", scroll) and "overflow-x" not in scroll
    assert re.search(r"max-height:\s*\d+vh", scroll)
    assert re.search(r"position:\s*sticky", rules["th"]) and re.search(r"top:\s*0", rules["th"])
    assert "max-height: none" in css.split("@media print")[1]  # printed whole


def test_a_long_table_is_cut_with_a_note():
    rows = [(f"customer {i}", i) for i in range(2500)]
    table = Table("rows", "Visits", [Column("name", "Name"), Column("visits", "Visits", "int")], lambda: iter(rows))
    page = page_of(Report("visits", "Visits", PARAMETERS, [table], "EUR", TZ))
    assert page.count("<tr>") == 1 + report_html.MAX_ROWS  # the header row and 2,000
    note = re.search(r'<p class="note rows-cut">([^<]*)</p>', page).group(1)
    assert "2,000 of 2,500" in note and "XLSX" in note and "CSV" in note
    short = page_of(Report("visits", "Visits", PARAMETERS, [Table("rows", "Visits", table.columns,
                                                                  lambda: iter(rows[:10]))], "EUR", TZ))
    assert "rows-cut" not in short


def test_axis_tops_just_above_the_peak_in_1_2_5_steps():
    assert report_html.nice_axis(3100, whole=True) == (3500, 500)
    assert report_html.nice_axis(3, whole=True) == (3, 1)
    assert report_html.nice_axis(101) == (120, 20)
    assert report_html.nice_axis(0.7)[0] == 0.7
    svg = report_html.vertical_bars([("2026-06-01", 3100.0, "3,100"), ("2026-06-02", 1200.0, "1,200")])
    assert 'data-axis-top="3500"' in svg
    labels = re.findall(r'text-anchor="end">([^<]*)<', svg)
    assert labels[-1] == "3,500" and "5,000" not in labels


def test_an_eighteen_month_axis_names_the_years():
    page = page_of(weekly_report(eighteen_months()))
    ticks = re.findall(r'text-anchor="middle">([^<]*)<', page)
    assert ticks[0] == "2025-01-06" and any(t.startswith("2026-") for t in ticks)
    assert report_html.tick_labels(["2026-01-05", "2026-01-12"]) == ["01-05", "01-12"]  # one year: no need
    assert report_html.tick_labels(["2024-03-15", "2024-04-01", "2024-05-01"]) == ["2024-03", "2024-04", "2024-05"]


def test_a_partial_last_week_is_marked():
    page = page_of(weekly_report(eighteen_months()))
    rects = re.findall(r'<rect class="([^"]*)"[^>]*><title>([^<]*)</title>', page)
    assert rects[-1][0] == "bar partial" and "2 of 7 days" in rects[-1][1]
    assert all(cls == "bar" for cls, _title in rects[:-1])
    note = re.search(r'class="note partial-note">([^<]*)<', page).group(1)
    assert "2026-06-15 to 2026-06-16, 2 of 7 days" in note
    daily = [("2026-06-15", "2026-06-15", 3), ("2026-06-16", "2026-06-16", 1)]
    assert "partial" not in re.sub(r"<style>.*</style>", "", page_of(weekly_report(daily)), flags=re.S)


def test_the_report_command_writes_the_shops_language(cli, shop_locale):
    assert cli("visit", "333 123 4567", "--amount", "3").exit_code == 0
    shop_locale("it_IT")
    result = cli("report", "summary", "--format", "html")
    assert result.exit_code == 0, result.stderr
    assert '<html lang="it">' in result.stdout
