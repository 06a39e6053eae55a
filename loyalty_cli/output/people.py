"""A report for the outputs people read (terminal tables, HTML, XLSX): its words in the shop's
language (titles, column headings, chart titles, notes, what an empty table says) and its
customers' phones as the shop's region writes them.

The reports build their Report with English text (marked for the catalogs with `mark`, or a
Phrase when it has values in it); JSON and --format csv keep that English, the same in every
locale. `for_people` is applied once, where writers.py dispatches to a format for people, so no
writer translates anything itself.
"""

from dataclasses import replace

from loyalty_cli.domain import locale_format
from loyalty_cli.domain.i18n import Phrase, current, tr
from loyalty_cli.output.model import Report, Table


def words(text):
    """A report's text in the shop's language: a Phrase translates itself, a plain text is looked
    up as it is (a name or other data that no catalog holds comes back unchanged)."""
    if text is None:
        return None
    return text.translated() if isinstance(text, Phrase) else tr(text)


def for_people(report: Report, phones: bool = True) -> Report:
    """The report with its words translated and (unless phones is False: excel-csv lays them out
    for a spreadsheet itself) its phones written the shop's way."""
    if phones and report.region is not None:
        report = replace(report, tables=[_national_phones(table, report.region) for table in report.tables])
    if current() == "en":
        return report
    tables = [replace(_translated_cells(table), title=words(table.title), empty=words(table.empty),
                      columns=[replace(column, heading=words(column.heading), full=words(column.full) if column.full
                                               else "") for column in table.columns],
                      charts=[replace(chart, title=words(chart.title)) for chart in table.charts])
              for table in report.tables]
    return replace(report, title=words(report.title), tables=tables, notes=[words(note) for note in report.notes])


def _translated_cells(table: Table) -> Table:
    """The table with the Phrases in its text columns (a report's row labels) translated; other
    cells (names, rewards, any data) are shown as stored."""
    at = [i for i, column in enumerate(table.columns) if column.kind == "text"]
    if not at:
        return table

    def produce():
        for row in table.produce():
            if any(isinstance(row[i], Phrase) for i in at):
                row = tuple(value.translated() if isinstance(value, Phrase) else value for value in row)
            yield row

    return replace(table, produce=produce)


PHONE_KEYS = ("phone",)  # the columns that hold a customer's E.164 number


def _national_phones(table: Table, region: str) -> Table:
    """The table with its phone columns as the region writes them ('333 123 4567'), row by row
    as the writer asks (a long table still streams); each number is formatted once."""
    at = [i for i, column in enumerate(table.columns) if column.key in PHONE_KEYS]
    if not at:
        return table
    shown: dict[str, str] = {}
    as_given: dict[str, str] = {}  # national form -> E.164: a table's links (tel:, wa.me) are of the number stored

    def national(value):
        if not isinstance(value, str) or not value.startswith("+"):
            return value
        if value not in shown:
            shown[value] = locale_format.phone(value, region)
            as_given[shown[value]] = value
        return shown[value]

    def produce():
        for row in table.produce():
            row = list(row)
            for i in at:
                row[i] = national(row[i])
            yield tuple(row)

    if table.links is None:
        return replace(table, produce=produce)

    def links(row):
        return table.links(tuple(as_given.get(v, v) if i in at else v for i, v in enumerate(row)))

    return replace(table, produce=produce, links=links)
