"""The counter's lists (customers, a customer's ledger, recent visits, an import's figures) as
output tables, so they go through the writers the reports go through: the same 80-column
fitting, '€12.50' for people and '12.50' in CSV.

services/views.py hands these over as JSON-ready dicts with money as decimal strings (that JSON
is the commands' contract and is emitted as it is); here money goes back to minor units, the
raw value every writer takes. Times arrive as ISO 8601 with the shop's offset (the JSON's form):
the 'moment' columns show them on the shop's clock, 'YYYY-MM-DD HH:MM', in a table and in CSV.
"""

from loyalty_cli.domain import money
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Column, Report, Table

CUSTOMERS = [
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("tier", mark("Tier")),
    Column("visits", mark("Visits"), "int"),
    Column("spend", mark("Spend"), "money"),
    Column("last_visit", mark("Last visit"), "date"),  # the day is enough in a list; JSON has the time
    Column("punches", mark("Punch"), "int", mark("Punches")),
    Column("points", mark("Pts"), "int", mark("Points")),
    Column("credit", mark("Credit"), "money"),
    Column("open_vouchers", mark("Vouch"), "int", mark("Open vouchers")),
]
CUSTOMERS_BRIEF = ("phone", "name", "visits", "spend", "last_visit", "points", "credit", "tier", "open_vouchers")

HISTORY = [
    Column("id", mark("#"), "int", mark("Entry")),
    Column("at", mark("When"), "moment", mark("Date and time")),
    Column("kind", mark("Kind")),
    Column("points", mark("Pts"), "int", mark("Points")),
    Column("punches", mark("Punch"), "int", mark("Punches")),
    Column("credit", mark("Credit"), "money"),
    Column("rule", mark("Rule")),
    Column("voucher", mark("Voucher")),
    Column("visit_id", mark("Visit"), "int"),
    Column("reverses", mark("Undoes"), "int", mark("Reverses entry")),
    Column("reason", mark("Why"), full=mark("Reason")),
]
HISTORY_BRIEF = ("at", "kind", "points", "punches", "credit", "reason", "voucher", "visit_id")

VISITS = [
    Column("visit_id", mark("Visit"), "int"),
    Column("at", mark("When"), "moment", mark("Date and time")),
    Column("amount", mark("Amount"), "money"),
    Column("items", mark("Items"), "int"),
    Column("note", mark("Note")),
    Column("ref", mark("Ref")),
    Column("voided", mark("Voided"), "bool"),
]
VISITS_BRIEF = ("visit_id", "at", "amount", "items", "voided", "note")


def customers(rows: list[dict], currency: str, tz, region: str | None = None) -> Report:
    """`region`: the shop's phone region, whose numbers people read nationally (output/people.py)."""
    # the local day of the ISO time: its first ten characters, as it carries the shop's offset
    days = [{**row, "last_visit": row["last_visit"] and row["last_visit"][:10]} for row in rows]
    report = _listing("customers", Phrase("Customers ({count})", count=len(rows)), CUSTOMERS, days, currency, tz,
                      brief=CUSTOMERS_BRIEF, empty=mark("no customers match"))
    report.region = region
    return report


def history(rows: list[dict], phone: str, currency: str, tz) -> Report:
    return _listing("history", Phrase("Ledger of {phone}", phone=phone), HISTORY, rows, currency, tz,
                    brief=HISTORY_BRIEF, empty=mark("no entries"))


def visits(rows: list[dict], currency: str, tz) -> Report:
    return _listing("visits", mark("Last visits"), VISITS, rows, currency, tz, brief=VISITS_BRIEF,
                    empty=mark("no visits yet"))


def figures(title: str, pairs: list[tuple[str, object]]) -> Report:
    """(label, value) pairs as a two-column table: an import's summary. Its values are shown as
    they come, so it has no currency (ISO 4217's 'XXX') and no time zone."""
    columns = [Column("what", mark("What")), Column("count", mark("Count"), "number")]
    rows = [{"what": label, "count": value} for label, value in pairs]
    return _listing("figures", title, columns, rows, "XXX", None)


def _listing(name: str, title: str, columns: list[Column], rows: list[dict], currency: str, tz,
             brief: tuple = (), empty: str = mark("nothing to show")) -> Report:
    """One table of dicts; a column's key is the dict key it shows."""
    raw = [_raw(column.kind, currency) for column in columns]
    values = [tuple(f(row.get(c.key)) for f, c in zip(raw, columns, strict=True)) for row in rows]
    table = Table("rows", title, columns, lambda: iter(values), brief=brief, empty=empty)
    return Report(name, title, {}, [table], currency, tz)


def _raw(kind: str, currency: str):
    """A view's value -> the writers' raw value: money '12.50' -> 1250 minor units."""
    if kind == "money":
        return lambda v: None if v is None else money.parse_signed(v, currency)
    return lambda v: v
