"""What the owner asked for (`Options`), and how a row's problem is told (`RowError`, `Problem`).

`check_options` refuses contradictory options before any file is opened: a --rejects file that
would overwrite the input, --skip-invalid with nowhere to put what it skips, or a --rejects
path that cannot be written once the import has committed.
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
