"""Rows refused by an import: counted, listed in the summary, and written to --rejects to be fixed.

A rejected row is kept as it is in the file (a CSV row's cells, a JSON object) with its reason;
rows parsed by the reader process arrive without their cells (raw None), and are read again
from the file, once, when the --rejects file is written.
"""

import csv
import json
from pathlib import Path

from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.options import Problem
from loyalty_cli.importing.sources import csv_rows, jsonl_rows

REASON_COLUMN = "rejected_because"  # added to rejected rows; ignored when they are re-imported


class Rejects:
    """`problems` for the summary, `rows` (line, raw row, reason) for the --rejects file.

    `header_of` (field -> the file's own column name) is the import's, shared and filled as
    the file's columns become known; a problem names the column as the file does.
    """

    def __init__(self, source, summary: dict, header_of: dict):
        self.source, self.summary, self.header_of = source, summary, header_of
        self.problems: list[Problem] = []
        self.rows: list = []

    def reject(self, line: int, raw, field_name, value, reason: str) -> None:
        column = self.header_of.get(field_name, field_name) if field_name else None
        problem = Problem(line, column, None if value is None else str(value), reason)
        self.problems.append(problem)
        self.rows.append((line, raw, problem.describe(self.source.name).split(": ", 1)[1]))
        self.summary["rejected"] += 1

    def keep_valid(self, batch, errors: dict) -> list | None:
        """Report the batch's bad rows (`errors`: row index -> its RowError; a row of empty cells
        is only skipped); the indexes of the rows to keep, None when all are."""
        for i, exc in sorted(errors.items()):
            if exc.field == "phone" and not batch.columns[0][i].strip() and _blank(batch, i):
                self.summary["skipped"] += 1  # a line of empty cells, as spreadsheets write them
            else:
                self.reject(batch.lines[i], batch.raw(i), exc.field, exc.value, exc.reason)
        return [i for i in range(len(batch)) if i not in errors] if errors else None

    def raw_cell(self, raw, field_name: str, default=None):
        """A field's cell in a row as read from the file (a CSV row's list, a JSON object)."""
        key = self.header_of.get(field_name)
        if isinstance(raw, dict):
            return raw.get(key, default)
        if isinstance(raw, list) and key in self.source.header:
            position = self.source.header.index(key)
            return raw[position] if position < len(raw) else default
        return default

    def raw_rows(self, lines: set) -> dict:
        """The rows on these lines, as they are in the file (a second read, for --rejects)."""
        found = {}
        rows = jsonl_rows(self.source) if self.source.format == "jsonl" else csv_rows(self.source)
        if self.source.format == "csv":
            next(rows, None)  # the header
        for line, raw in rows:
            if line in lines:
                found[line] = raw
        return found

    def read_missing_rows(self) -> None:
        """The cells of rows the reader process rejected after parsing them (it sends no cells)."""
        missing = {line for line, raw, _reason in self.rows if raw is None}
        if missing:
            raws = self.raw_rows(missing)
            self.rows = [(line, raws.get(line, []) if raw is None else raw, reason) for line, raw, reason in self.rows]

    def sort(self) -> None:
        self.problems.sort(key=lambda problem: problem.line)
        self.rows.sort(key=lambda rejected: rejected[0])

    def write(self, path: str) -> None:
        """Rejected rows as they came, plus a reason column, ready to fix and import again.

        CSV keeps the source's delimiter and is written as UTF-8 with a BOM (Excel opens it right).
        No rejected row, no file: a file of an earlier run at `path` is removed.
        """
        from loyalty_cli.system.files import atomic_writer

        if not self.rows:  # nothing rejected: no file, and none left from an earlier run to mislead
            Path(path).unlink(missing_ok=True)
            return
        source = self.source
        if source.format == "jsonl":
            with atomic_writer(Path(path), encoding="utf-8", newline="\n") as handle:
                for _line, record, reason in self.rows:
                    if isinstance(record, str):  # a line that is no JSON object: as it was, to fix there
                        handle.write(record + "\n")
                    else:
                        handle.write(json.dumps({**record, REASON_COLUMN: reason}, ensure_ascii=False) + "\n")
            return
        with atomic_writer(Path(path), encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=source.delimiter or ",")
            writer.writerow([*source.header, REASON_COLUMN])
            width = len(source.header)
            for _line, values, reason in self.rows:
                writer.writerow([*_aligned(values, width), _with_extra_cells(reason, values[width:])])


def _aligned(values: list, width: int) -> list:
    """A row's cells under the header's columns: short rows padded, cells beyond the header left
    out (their text goes to the reason), so the reason stays under `rejected_because` and the
    file can be imported again once fixed."""
    return [*values[:width], *[""] * (width - len(values))]


def _with_extra_cells(reason: str, extra: list) -> str:
    kept = [cell for cell in extra if cell.strip()]
    if not kept:
        return reason
    return Phrase("{reason} (cells beyond the header, left out of this row: {cells})", reason=reason,
                  cells=", ".join(map(repr, kept)))


def _blank(batch, index: int) -> bool:
    """Is this row of a plain batch empty in every cell (a ';;;;' line from a spreadsheet)?"""
    return not any(cell.strip() for cell in batch.raw(index))
