"""A batch's columns of cells -> values, through caches; `errors[i]` keeps row i's first bad cell.

A column is looked up in its cache with map() (a big file holds few distinct amounts and
counts), and only the cells the cache lacks are parsed one by one: the long way fills the
cache, or says what is wrong with the cell. Bounds and free text are checked a column at a
time too (a max(), one isprintable() over the joined column): only a column that fails looks
at its rows one by one, with the counter's own rules (domain/text.py).
"""

from loyalty_cli.domain import money, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.options import RowError
from loyalty_cli.importing.phones import Normaliser
from loyalty_cli.importing.values import CellError, texts, whole

COUNTS_CACHE = 10_000  # distinct texts of whole numbers remembered per column
AMOUNTS_CACHE = 100_000  # distinct amount texts remembered


class CellParsers:
    """Phones, amounts and whole numbers, a column at a time."""

    def __init__(self, phone_region: str | None, currency: str):
        self.normaliser = Normaliser(phone_region)
        self.currency = currency
        self.amounts: dict[str, int] = {}  # each distinct amount text parsed once

    def phones_of(self, cells: list, errors: dict) -> list:
        phones = self.normaliser.column(cells)
        if set(map(type, phones)) != {str}:
            for i, phone in enumerate(phones):
                if type(phone) is not str and i not in errors:
                    errors[i] = RowError("phone", cells[i], str(phone) if cells[i].strip() else "phone is missing")
        return phones

    def amounts_of(self, cells: list, name: str, errors: dict) -> list:
        amounts = list(map(self.amounts.get, cells))
        for i in not_cached(amounts, errors):
            try:
                amounts[i] = self.amount(cells[i], name)
            except RowError as exc:
                errors[i] = exc
        return amounts

    def counts_of(self, cells: list, name: str, errors: dict, cache: dict, default: int = 0) -> list:
        """Whole numbers; `cache` (text -> number) is the caller's, and learns each new text."""
        counts = list(map(cache.get, cells))
        for i in not_cached(counts, errors):
            try:
                counts[i] = self.count(cells[i], name, default)
            except RowError as exc:
                errors[i] = exc
                continue
            if len(cache) < COUNTS_CACHE:
                cache[cells[i]] = counts[i]
        return counts

    def amount(self, value: str, name: str) -> int:
        if not value:
            return 0
        found = self.amounts.get(value)
        if found is None:
            if not value.strip():
                return 0
            try:
                found = money.parse_amount(value, self.currency, name)
            except BadInput as exc:
                raise RowError(name, value, str(exc)) from None
            if len(self.amounts) > AMOUNTS_CACHE:
                self.amounts.clear()
            self.amounts[value] = found
        return found

    @staticmethod
    def texts_of(cells: list, name: str, limit: int, errors: dict) -> list:
        """Free text (a name, a note, a receipt) tidied as the counter tidies it; a row whose text
        is longer than `limit` or holds a control character is an error, as at the counter."""
        values = texts(cells)
        if max(map(len, cells), default=0) <= limit and " ".join(filter(None, values)).isprintable():
            return values  # isprintable() is False for every control character field_problem names
        for i, value in enumerate(values):
            if value is not None and i not in errors:
                problem = text.field_problem(value, limit)
                if problem:
                    errors[i] = RowError(name, shortened(value), Phrase("{what} {problem}", what=name, problem=problem))
        return values

    @staticmethod
    def count(value: str, name: str, default: int = 0) -> int:
        if not value:
            return default
        if value.isdecimal() and len(value) < 12:
            return int(value)
        if not value.strip():
            return default
        try:
            return whole(value, name)
        except CellError as exc:
            raise RowError(name, value, str(exc)) from None


def above(values: list, limit: int, errors: dict) -> list:
    """The rows whose number is over `limit`, less those already wrong (None: a wrong cell)."""
    if max(filter(None, values), default=0) <= limit:
        return []
    return [i for i, value in enumerate(values) if value is not None and value > limit and i not in errors]


def shortened(value: str, keep: int = 60) -> str:
    """A refused cell as the summary quotes it: a 1 MB note is not copied into every report."""
    return value if len(value) <= keep else value[:keep] + "…"


def not_cached(values: list, errors: dict) -> list:
    """The rows where a cache had no value (None), less those already wrong."""
    if None not in values:
        return []
    return [i for i, value in enumerate(values) if value is None and i not in errors]
