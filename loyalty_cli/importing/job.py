"""`ImportJob`: one file being imported, and the parts that read, parse and account for it.

cards.py and visits.py read the job's batches (`rows`), parse their columns with its cell
parsers (`cells`), report bad rows to its rejects (`rejects`) and count what they write in its
summary; transaction.py wraps their writing in one transaction.
"""

from loyalty_cli.domain import clock
from loyalty_cli.importing.cells import CellParsers
from loyalty_cli.importing.columns import Columns
from loyalty_cli.importing.layout import read_layout
from loyalty_cli.importing.options import Options, check_options
from loyalty_cli.importing.rejects import Rejects
from loyalty_cli.importing.rows import RowReader
from loyalty_cli.importing.sources import open_source
from loyalty_cli.importing.summary import new_summary


class ImportJob:
    def __init__(self, session, kind: str, options: Options, progress=None):
        check_options(options)
        self.session, self.kind, self.options = session, kind, options
        self.config = session.config
        self.currency = self.config.shop.currency
        self.progress = progress or (lambda description, done, total: None)
        self.source = open_source(options.file, options.encoding, options.format, options.delimiter,
                                  self.config.shop.phone_region)
        try:
            self.columns = Columns(kind, options.mapping, options.ignore, self.source.name)
            # A CSV header is checked now: unknown or doubled columns stop the import before the
            # database is even opened.
            layout = read_layout(self.source, self.columns, kind) if self.source.format == "csv" else None
        except BaseException:
            self.source.close()
            raise
        self.header_of: dict[str, str] = dict(layout.header_of) if layout else {}  # field -> the file's column
        self.now = clock.now()
        self.now_db = clock.to_db(self.now)
        self.summary = new_summary(self.source, kind, options.dry_run)
        self.rejects = Rejects(self.source, self.summary, self.header_of)
        self.cells = CellParsers(self.config.shop.phone_region, self.currency)
        self.rows = RowReader(self, layout)

    def batches(self):
        """The file's rows as `rows.Batch`es of cells."""
        return self.rows.batches()

    def progress_at(self, line: int, description: str = "reading") -> None:
        """Progress in rows: the lines after the header (a 20,000-row CSV file counts to 20,000)."""
        before = self.rows.layout.header_line if self.rows.layout else 0
        total = max(self.source.lines - before, 0)
        self.progress(description, min(max(line - before, 0), total), total)
