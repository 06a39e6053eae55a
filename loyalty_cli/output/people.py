"""A report's words in the shop's language, for the outputs people read (terminal tables, HTML,
XLSX): titles, column headings, chart titles, notes and what an empty table says.

The reports build their Report with English text (marked for the catalogs with `mark`, or a
Phrase when it has values in it); JSON and --format csv keep that English, the same in every
locale. `for_people` is applied once, where writers.py dispatches to a format for people, so no
writer translates anything itself.
"""

from dataclasses import replace

from loyalty_cli.domain.i18n import Phrase, current, tr
from loyalty_cli.output.model import Report


def words(text):
    """A report's text in the shop's language: a Phrase translates itself, a plain text is looked
    up as it is (a name or other data that no catalog holds comes back unchanged)."""
    if text is None:
        return None
    return text.translated() if isinstance(text, Phrase) else tr(text)


def for_people(report: Report) -> Report:
    """The report with its words translated (the same report in English: nothing to do)."""
    if current() == "en":
        return report
    tables = [replace(table, title=words(table.title), empty=words(table.empty),
                      columns=[replace(column, heading=words(column.heading)) for column in table.columns],
                      charts=[replace(chart, title=words(chart.title)) for chart in table.charts])
              for table in report.tables]
    return replace(report, title=words(report.title), tables=tables, notes=[words(note) for note in report.notes])
