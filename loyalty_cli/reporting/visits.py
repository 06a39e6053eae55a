"""The visits report: every visit of the period, voided ones marked."""

from loyalty_cli.domain.i18n import mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting.categories import asked, category_filter, chosen_category
from loyalty_cli.reporting.context import Context, producer
from loyalty_cli.reporting.period import Period

NAME, TITLE = "visits", mark("Visits")

VISIT_COLUMNS = [
    Column("visit", mark("Visit"), "int"),
    Column("day", mark("Day"), "date"),
    Column("at", mark("At"), "moment"),
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("amount", mark("Amount"), "money"),
    Column("items", mark("Items"), "int"),
    Column("source", mark("Source")),
    Column("ref", mark("Ref")),
    Column("note", mark("Note")),
    Column("voided", mark("Voided"), "bool"),
    Column("voided_at", mark("Voided at"), "moment"),
    Column("void_reason", mark("Void reason")),
    Column("category", mark("Category")),  # added at the end: a CSV read by column position keeps its columns
    Column("location", mark("Location")),  # a chain's shop (visits.location); empty for a single shop
]
VISIT_BRIEF = ("at", "phone", "amount", "name", "voided", "visit", "items", "note")

_VISITS_SQL = (
    "SELECT v.id, v.local_day, v.at, c.phone, c.name, v.amount, v.items, v.source, v.ref, v.note, "
    "v.voided_at IS NOT NULL, v.voided_at, v.void_reason, v.category, v.location FROM visits v "
    "JOIN customers c ON c.id = v.customer_id WHERE v.local_day BETWEEN ? AND ?{where} "
    "ORDER BY v.local_day, v.at, v.id"
)


def build(ctx: Context, period: Period, category: str | None = None) -> Report:
    """Every visit of the period; with `category`, those of that category."""
    category = chosen_category(ctx.config, category)
    where, args = category_filter(category, "v.category")
    produce = producer(ctx.conn, _VISITS_SQL.format(where=where), (*period.local_days(), *args))
    return ctx.report(NAME, TITLE, period, [Table("rows", mark("Visits"), VISIT_COLUMNS, produce, brief=VISIT_BRIEF)],
                      **asked(category))
