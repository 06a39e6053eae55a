"""--category on the reports: the visits of one category, and the per-category breakdown."""

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.reporting.context import visit_figures_per
from loyalty_cli.reporting.period import Period
from loyalty_cli.services.inputs import visit_category


def chosen_category(config, text: str | None) -> str | None:
    """--category as the counter reads it (a typo is refused with a did-you-mean)."""
    if text is None:
        return None
    category = visit_category(config, text, "--category")
    if category is None:
        raise BadInput(Phrase("--category must not be empty"))
    return category


def asked(category: str | None) -> dict:
    """The report's parameters for --category: {'category': name} when given (a report without
    it keeps the parameters it always had)."""
    return {"category": category} if category is not None else {}


def category_filter(category: str | None, column: str = "category") -> tuple[str, tuple]:
    """(' AND category = ?', (category,)) for a query over visits, or ('', ()) without one."""
    return (f" AND {column} = ?", (category,)) if category is not None else ("", ())


def category_breakdown(conn, config, period: Period, category: str | None) -> list[tuple] | None:
    """(category, visits, customers, revenue) per category over the period's visits, voided ones
    left out: every category the shop lists (none visited: zeros), then any other met, then the
    visits without one (category None). None when the shop neither lists nor meets categories."""
    where, args = category_filter(category)
    found = visit_figures_per(conn, "category", period.local_days(), where, args)
    listed = [category] if category is not None else list(config.shop.categories)
    if not listed and not any(found):
        return None
    names = listed + sorted(name for name in found if name is not None and name not in listed)
    rows = [(name, *found.get(name, (0, 0, 0))) for name in names]
    if None in found:
        rows.append((None, *found[None]))
    return rows
