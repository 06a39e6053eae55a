"""What every output shows: a report of tables, each with typed columns and rows it produces.

A table knows its columns (with a kind: money, date, ...) and can produce its rows, as many
times as a writer asks, as an iterator: writers stream, nothing holds a million visits. Row
values are raw: money in integer minor units, days as 'YYYY-MM-DD', moments as the stored UTC
text; the writers (cells.py) turn them into what each format wants. Reports build these, and
so do the counter's read commands (customers, history, show), so every table on screen or in
a file goes through the same writers.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from loyalty_cli.domain.i18n import mark

KINDS = ("text", "int", "number", "money", "ratio", "date", "moment", "bool")


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: str = "text"  # one of KINDS; 'moment' is a stored UTC time shown in the shop's zone
    full: str = ""  # the heading in full where room is no object (excel-csv, xlsx, HTML), when `heading`
    #                 is abbreviated for an 80-column terminal ('Pts' -> 'Points')

    @property
    def full_heading(self) -> str:
        return self.full or self.heading


@dataclass(frozen=True)
class Chart:
    """A bar chart of one numeric column against a label column of the same table."""

    label: str
    value: str
    title: str
    skip: tuple = ()  # rows whose first column starts with one of these stay out (totals)


@dataclass
class Table:
    key: str  # 'rows' for a report's main table; the key of its list in JSON
    title: str
    columns: list[Column]
    produce: Callable[[], Iterator[tuple]]
    record: bool = False  # a single row best read as 'figure: value' lines
    charts: list[Chart] = field(default_factory=list)
    chart_instead: bool = False  # on a terminal its first chart says it all (visits per day)
    brief: tuple = ()  # the columns a narrow terminal shows (keys); every format has them all
    empty: str = mark("nothing to show")  # what a table for people says when it has no rows
    heatmap: bool = False  # a grid of shares: its ratio cells shaded by value on a terminal and in HTML
    # HTML only: row -> {column key: [(href, label or None for the cell's own text)]}, links a
    # cell stands for (at-risk's tel:, wa.me and mailto:); every other format keeps the plain value
    links: Callable[[tuple], dict] | None = None

    def rows(self) -> Iterator[tuple]:
        return self.produce()


@dataclass
class Report:
    name: str
    title: str
    parameters: dict
    tables: list[Table]
    currency: str
    tz: object
    notes: list[str] = field(default_factory=list)
    # A report's parameters (shop, period) make its heading line; a counter list has none.
    # JSON that is not one list per table (simulate's nested scenarios): the report's own
    # document, plain JSON values (money already as decimal strings), written after the heading.
    document: Callable[[], dict] | None = None
    # The shop's phone region: tables for people show its numbers as people there write them
    # ('333 123 4567'; output/people.py); JSON and CSV keep E.164.
    region: str | None = None

    @property
    def main(self) -> Table:
        return self.tables[0]
