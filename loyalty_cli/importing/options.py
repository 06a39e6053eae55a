"""What the owner asked for (`Options`), and how a row's problem is told (`RowError`, `Problem`).

`check_options` refuses contradictory options before any file is opened: a --rejects file that
would overwrite the input, --skip-invalid with nowhere to put what it skips, a --rejects
path that cannot be written once the import has committed, or a --date-format that reads no date.
"""

from dataclasses import dataclass, field

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase


@dataclass
class Options:
    file: str
    format: str = "auto"
    encoding: str | None = None
    delimiter: str | None = None
    mapping: dict = field(default_factory=dict)
    ignore: list = field(default_factory=list)
    date_format: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: str | None = None
    strict: bool = False
    apply_rules: bool = False  # visits: replay through the rule engine
    card: str | None = None  # cards: which punch card the punches belong to


@dataclass
class Problem:
    """A rejected row as the summary lists it: where, which column, what it held, why."""

    line: int
    column: str | None
    value: str | None
    reason: str

    def describe(self, source_name: str) -> str:
        where = f"column {self.column!r}: " if self.column else ""
        return f"{source_name}: line {self.line}: {where}{self.reason}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


class RowError(Exception):
    """A row's first bad cell: the field it feeds, the value, and why it is refused."""

    def __init__(self, field_name: str | None, value, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


class InvalidRows(BadInput):
    """Some rows are not valid and --skip-invalid was not given: nothing was imported."""

    def __init__(self, message: str, summary: dict, problems: list):
        super().__init__(message)
        self.summary, self.problems = summary, problems


def check_options(options: Options) -> None:
    if options.rejects and options.rejects == options.file:
        raise BadInput(Phrase("--rejects must not be the file being imported"))
    if options.skip_invalid and not options.rejects and not options.dry_run:
        raise BadInput(Phrase("--skip-invalid needs --rejects FILE, where the rejected rows go to be fixed"))
    if options.rejects:
        _check_writable(options.rejects)
    if options.date_format:
        check_date_format(options.date_format)


def check_date_format(pattern: str) -> None:
    """A --date-format that cannot read a date ('%Q', 'hh:mm') is refused before any row is read,
    not found out as every row's 'does not match --date-format'."""
    from datetime import datetime

    from loyalty_cli.importing.values import CellError, friendly_format

    try:
        code = friendly_format(pattern)
    except CellError as exc:
        raise BadInput(str(exc)) from None
    sample = datetime(2001, 2, 3, 4, 5, 6)  # each field different: a date read back names them all
    try:
        read_back = datetime.strptime(sample.strftime(code), code)
    except ValueError:
        read_back = None
    # the year may be left out: 'mm/dd' says how a cards file writes birthdays without one
    if read_back is None or (read_back.month, read_back.day) != (sample.month, sample.day):
        raise BadInput(Phrase("--date-format {pattern}: not a pattern of a date with its day and month "
                              "(write e.g. dd/mm/yyyy, mm/dd/yyyy, yyyy.mm.dd, or a strftime pattern such as "
                              "%m/%d/%Y %H:%M)", pattern=repr(pattern)))


def _check_writable(path: str) -> None:
    """--rejects is written after the import commits: make sure now that it can be."""
    import os
    from pathlib import Path

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise BadInput(Phrase("--rejects {path}: is a directory", path=path))
    if not folder.is_dir():
        raise BadInput(Phrase("--rejects {path}: no such directory {folder}", path=path, folder=folder))
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInput(Phrase("--rejects {path}: not writable", path=path))
