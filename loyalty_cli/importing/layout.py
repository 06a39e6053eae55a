"""Where each field's cells are in a row of a CSV file, worked out once from its header.

The header is read and resolved when the file is opened, before the database is: an unknown
or doubled column stops the import there. The rows are then read against this layout.
"""

from operator import itemgetter

from loyalty_cli.importing.columns import NAME_PARTS, ROW, Columns
from loyalty_cli.importing.sources import csv_stream


class CsvLayout:
    """A header's columns as the importer reads them: ROW[kind] order, name parts joined.

    `pick(cells + [""])` takes a row's cells in ROW order ('' for a field not in the file: the
    extra empty cell at index `width`); `name_parts` are the columns whose text joins into the
    name when the name is split over several (first name, last name).
    """

    def __init__(self, header: list[str], columns: Columns, kind: str):
        pairs = columns.resolve(header)
        self.header_of = {name: header[index] for index, name in pairs}  # field -> the file's column
        self.width = len(header)
        self.unnamed = [index for index, name in enumerate(header) if not name]
        spots = {name: index for index, name in pairs if name not in NAME_PARTS}
        parts = [index for index, name in pairs if name in NAME_PARTS]
        if len(parts) == 1:
            spots["name"], parts = parts[0], []
        self.name_parts = parts
        self.spots = [spots.get(name) for name in ROW[kind]]  # None: not in the file
        absent = self.width  # cells are read from the row plus one empty cell at this index
        self.pick = itemgetter(*(absent if spot is None else spot for spot in self.spots))
        self.name_at = ROW[kind].index("name")


def read_layout(source, columns: Columns, kind: str) -> CsvLayout:
    """The layout of the file's header (read here, once; the rows are read later)."""
    stream = csv_stream(source)
    try:
        _kind, _line, header = next(stream)
    finally:
        stream.close()
    return CsvLayout(header, columns, kind)
