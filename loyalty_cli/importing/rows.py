"""A file's rows as `Batch`es of cells, in ROW[kind] order ('' where a field is absent).

Blank rows are counted as skipped, and a value under no header is a rejected row. A stretch
of plain CSV (no quotes) becomes columns by slicing, with no Python step per row; other rows
are read one by one, and JSON Lines object by object.
"""

import itertools
from dataclasses import dataclass

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.columns import IGNORED, NAME_PARTS, ROW
from loyalty_cli.importing.layout import name_columns
from loyalty_cli.importing.options import RowError
from loyalty_cli.importing.sources import NotAnObject, csv_stream, json_text, jsonl_rows

BATCH = 20_000  # rows per batch (a plain CSV stretch of sources.CHUNK bytes may hold more)


@dataclass
class Batch:
    """Rows of a file as columns: `columns[k][i]` is field ROW[kind][k] of the row on `lines[i]`."""

    lines: object  # a range or a tuple: the line each row starts on
    columns: list
    raw: object  # index -> the row as it is in the file, for --rejects

    def __len__(self) -> int:
        return len(self.lines)


class RowReader:
    """Reads the source into batches; counts rows read and skipped, rejects rows it cannot place."""

    def __init__(self, job, layout):
        self.source, self.kind, self.columns = job.source, job.kind, job.columns
        self.summary, self.rejects, self.header_of = job.summary, job.rejects, job.header_of
        self.layout = layout  # CSV only

    def batches(self):
        if self.source.format == "jsonl":
            yield from self._batched(self._json_records())
            return
        stream = csv_stream(self.source)
        next(stream)  # the header, already read into the layout
        pending = []
        for kind, line, data in stream:
            if kind == "lines":
                if pending:
                    yield self._batch(pending)
                    pending = []
                fast = self._plain_batch(line, data)
                if fast is not None:
                    yield fast
                    continue
                rows = ((line + offset, text.split(self.source.delimiter)) for offset, text in enumerate(data))
                yield from self._batched(self._records(rows))
                continue
            self.summary["rows_read"] += 1
            cells = self._cells(line, data)
            if cells is not None:
                pending.append((line, cells, data))
                if len(pending) >= BATCH:
                    yield self._batch(pending)
                    pending = []
        if pending:
            yield self._batch(pending)

    def _plain_batch(self, line: int, lines: list[str]) -> "Batch | None":
        """A stretch of plain lines as columns, when every line has the header's width."""
        layout = self.layout
        delimiter, width = self.source.delimiter, layout.width
        if layout.unnamed or set(map(str.count, lines, itertools.repeat(delimiter))) != {width - 1}:
            return None  # short, long or blank lines: read row by row
        self.summary["rows_read"] += len(lines)
        flat = delimiter.join(lines).split(delimiter)
        file_columns = [flat[index::width] for index in range(width)]
        count = len(lines)
        blank = [""] * count
        columns = [blank if spot is None else file_columns[spot] for spot in layout.spots]
        if layout.name_parts:
            joined = [" ".join(part for part in parts if part.strip())
                      for parts in zip(*(file_columns[i] for i in layout.name_parts), strict=True)]
            if layout.name_fills_in:
                joined = [name if name.strip() else parts for name, parts in zip(columns[layout.name_at], joined,
                                                                                   strict=True)]
            columns[layout.name_at] = joined
        return Batch(range(line, line + count), columns, lambda i: [column[i] for column in file_columns])

    def _records(self, rows):
        """(line, cells, raw) for each row of (line, values) that is neither blank nor rejected."""
        for line, values in rows:
            self.summary["rows_read"] += 1
            cells = self._cells(line, values)
            if cells is not None:
                yield line, cells, values

    def _cells(self, line: int, values: list[str]):
        """A row's cells in ROW order, or None when it is blank (skipped) or rejected."""
        layout = self.layout
        width, unnamed = layout.width, layout.unnamed
        if len(values) != width or unnamed:
            if not any(cell.strip() for cell in values):
                self.summary["skipped"] += 1
                return None
            stray = [i for i, cell in enumerate(values) if cell.strip() and (i >= width or i in unnamed)]
            if stray:
                self.rejects.reject(line, values, None, values[stray[0]],
                                    f"a value in column {stray[0] + 1}, which has no header")
                return None
            cells = layout.pick((values + [""] * (width + 1))[:width + 1])
        else:
            cells = layout.pick(values + [""])
            if not "".join(cells).strip() and not any(cell.strip() for cell in values):
                self.summary["skipped"] += 1
                return None
        if layout.name_parts and not (layout.name_fills_in and cells[layout.name_at].strip()):
            cells = list(cells)
            cells[layout.name_at] = " ".join(values[i] for i in layout.name_parts
                                             if i < len(values) and values[i].strip())
        return cells

    def _batched(self, records):
        pending = []
        for record in records:
            pending.append(record)
            if len(pending) >= BATCH:
                yield self._batch(pending)
                pending = []
        if pending:
            yield self._batch(pending)

    @staticmethod
    def _batch(records: list) -> "Batch":
        lines, cells, raws = zip(*records, strict=True)
        return Batch(lines, [list(column) for column in zip(*cells, strict=True)], raws.__getitem__)

    # -- JSON Lines: each object's keys are its columns, resolved as they first come --

    def _json_records(self):
        fields: dict[str, str] = {}  # key -> field, or IGNORED
        order = {name: position for position, name in enumerate(ROW[self.kind])}
        for line, obj in jsonl_rows(self.source):
            self.summary["rows_read"] += 1
            if isinstance(obj, NotAnObject):
                self.rejects.reject(line, obj, None, None, obj.reason)
                continue
            try:
                cells = self._json_cells(line, obj, fields, order)
            except RowError as exc:
                self.rejects.reject(line, obj, exc.field, exc.value, exc.reason)
                continue
            if not "".join(cells).strip():
                self.summary["skipped"] += 1
                continue
            yield line, tuple(cells), obj

    def _json_cells(self, line: int, obj: dict, fields: dict, order: dict) -> list:
        """An object's cells in ROW order; RowError for a value that is no cell (true, a list)."""
        cells, name_fields, name_cells = [""] * len(order), [], []  # name parts in key order
        for key, value in obj.items():
            name = fields.get(key)
            if name is None:
                name = fields[key] = self._json_field(line, key)
            if name == IGNORED:
                continue
            try:
                # a JSON true/false says yes or no to marketing; anywhere else it is no cell
                consent_flag = name == "marketing" and isinstance(value, bool)
                cell = str(value).lower() if consent_flag else json_text(value, key) or ""
            except ValueError as exc:
                raise RowError(name, value, str(exc)) from None
            if name in NAME_PARTS:
                name_fields.append((len(name_fields), name))
                name_cells.append(cell)
            else:
                cells[order[name]] = cell
        if name_fields:
            full, joined = name_columns(name_fields)  # as for a CSV header: see layout.name_columns
            name = name_cells[full] if full is not None else ""
            if joined and not name.strip():
                name = " ".join(name_cells[i] for i in joined if name_cells[i].strip())
            cells[order["name"]] = name
        return cells

    def _json_field(self, line: int, key: str) -> str:
        """The field a JSON key feeds (or IGNORED), learnt the first time the key comes."""
        name = self.columns.field_of(key)
        if name is None:
            self.columns.refuse_ambiguous(key, f"{self.source.name}: line {line}: key")
            raise BadInput(Phrase("{name}: line {line}: key {key} not recognised; map it with --map {key2}=FIELD or "
                                  "drop it with --ignore {key2}", name=self.source.name, line=line, key=repr(key),
                                  key2=key))
        if name != IGNORED:
            self.header_of.setdefault(name, key)
        return name
