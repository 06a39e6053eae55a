"""The counter's lists (customers, a customer's ledger, recent visits, an import's figures) as
output tables, so they go through the writers the reports go through: the same 80-column
fitting, '€12.50' for people and '12.50' in CSV.

services/views.py hands these over as JSON-ready dicts with money as decimal strings (that JSON
is the commands' contract and is emitted as it is); here money goes back to minor units, the
raw value every writer takes. Times arrive already in the shop's zone, 'YYYY-MM-DD HH:MM'.
"""

from loyalty_cli.domain import money
from loyalty_cli.output.model import Column, Report, Table

CUSTOMERS = [
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("tier", "Tier"),
    Column("visits", "Visits", "int"),
    Column("spend", "Spend", "money"),
    Column("last_visit", "Last visit", "date"),  # the day is enough in a list; JSON has the time
    Column("punches", "Punch", "int"),
    Column("points", "Pts", "int"),
    Column("credit", "Credit", "money"),
    Column("open_vouchers", "Vouch", "int"),
]
CUSTOMERS_BRIEF = ("phone", "name", "visits", "spend", "last_visit", "points", "credit", "tier", "open_vouchers")

HISTORY = [
    Column("id", "#", "int"),
    Column("at", "When"),
    Column("kind", "Kind"),
    Column("points", "Pts", "int"),
    Column("punches", "Punch", "int"),
    Column("credit", "Credit", "money"),
    Column("rule", "Rule"),
    Column("voucher", "Voucher"),
    Column("visit_id", "Visit", "int"),
    Column("reverses", "Undoes", "int"),
    Column("reason", "Why"),
]
HISTORY_BRIEF = ("at", "kind", "points", "punches", "credit", "reason", "voucher", "visit_id")

VISITS = [
    Column("visit_id", "Visit", "int"),
    Column("at", "When"),
    Column("amount", "Amount", "money"),
    Column("items", "Items", "int"),
    Column("note", "Note"),
    Column("ref", "Ref"),
    Column("voided", "Voided", "bool"),
]
VISITS_BRIEF = ("visit_id", "at", "amount", "items", "voided", "note")


def customers(rows: list[dict], currency: str, tz) -> Report:
    days = [{**row, "last_visit": row["last_visit"] and row["last_visit"][:10]} for row in rows]
    return _listing("customers", f"Customers ({len(rows)})", CUSTOMERS, days, currency, tz,
                    brief=CUSTOMERS_BRIEF, empty="no customers match")


def history(rows: list[dict], phone: str, currency: str, tz) -> Report:
    return _listing("history", f"Ledger of {phone}", HISTORY, rows, currency, tz, brief=HISTORY_BRIEF,
                    empty="no entries")


def visits(rows: list[dict], currency: str, tz) -> Report:
    return _listing("visits", "Last visits", VISITS, rows, currency, tz, brief=VISITS_BRIEF, empty="no visits yet")


def figures(title: str, pairs: list[tuple[str, object]]) -> Report:
    """(label, value) pairs as a two-column table: an import's summary. Its values are shown as
    they come, so it has no currency (ISO 4217's 'XXX') and no time zone."""
    columns = [Column("what", "What"), Column("count", "Count", "number")]
    rows = [{"what": label, "count": value} for label, value in pairs]
    return _listing("figures", title, columns, rows, "XXX", None)


def _listing(name: str, title: str, columns: list[Column], rows: list[dict], currency: str, tz,
             brief: tuple = (), empty: str = "nothing to show") -> Report:
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
