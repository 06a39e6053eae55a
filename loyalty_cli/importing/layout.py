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
    name when the name is split over several (first name, last name; or 'Nombre' and
    'Apellidos'). When `name_fills_in`, the name has a column of its own and the parts only
    fill in a row where it is empty (see `name_columns`).
    """

    header_line = 1  # the line the header is on: the rows come after it

    def __init__(self, header: list[str], columns: Columns, kind: str):
        pairs = columns.resolve(header)
        self.header_of = {name: header[index] for index, name in pairs}  # field -> the file's column
        self.width = len(header)
        self.unnamed = [index for index, name in enumerate(header) if not name]
        spots = {name: index for index, name in pairs if name not in NAME_PARTS}
        full, parts = name_columns(pairs)
        self.name_fills_in = full is not None and bool(parts)
        if full is not None:
            spots["name"] = full
        self.name_parts = parts
        self.spots = [spots.get(name) for name in ROW[kind]]  # None: not in the file
        absent = self.width  # cells are read from the row plus one empty cell at this index
        self.pick = itemgetter(*(absent if spot is None else spot for spot in self.spots))
        self.name_at = ROW[kind].index("name")


def name_columns(pairs: list) -> tuple:
    """(the column holding the whole name or None, the columns whose text joins into it) of
    (column, field) pairs in file order.

    A file with a name and both a first and a last name column holds the whole name twice
    ('Maria Rossi Maria Rossi' when all three were joined): the name wins, the parts fill in a
    row that has none. Refusing the file instead would make the owner --ignore two columns to
    import what is plainly there. A name with one other part ('Nombre' and 'Apellidos': the
    given name and the surnames) or several name columns still join, as they always did.
    """
    fields = [name for _index, name in pairs]
    named = [index for index, name in pairs if name == "name"]
    parts = [index for index, name in pairs if name in NAME_PARTS]
    if len(named) == 1 and "first_name" in fields and "last_name" in fields:
        return named[0], [index for index in parts if index != named[0]]
    if len(parts) == 1:
        return parts[0], []
    return None, parts


def read_layout(source, columns: Columns, kind: str) -> CsvLayout:
    """The layout of the file's header (read here, once; the rows are read later)."""
    stream = csv_stream(source)
    try:
        _kind, header_line, header = next(stream)
    finally:
        stream.close()
    layout = CsvLayout(header, columns, kind)
    layout.header_line = header_line
    return layout
