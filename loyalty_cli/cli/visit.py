"""`loyalty visit`: its options, once, and `run_visit`, the one function both parsers call.

VISIT_OPTIONS is plain data so that entry.py's standard-library parser can read it without
importing Typer; cli/counter.py builds the Typer command's signature from the same tuple.
"""

from typing import NamedTuple


class OptionSpec(NamedTuple):
    """One option, as both parsers see it."""

    flag: str  # as typed: --amount
    dest: str  # run_visit's keyword, and the Typer parameter's name
    type: type  # int or str for an option that takes a value; bool for a flag
    default: object
    help: str
    metavar: str = ""  # the placeholder in --help ("" for a flag, which takes no value)


VISIT_OPTIONS = (
    OptionSpec("--amount", "amount", str, None, "Amount spent: 12.50 or 12,50.", "AMOUNT"),
    OptionSpec("--items", "items", int, None, "Items bought (for punch cards that count items).", "N"),
    OptionSpec("--note", "note", str, None, "A note kept with the visit.", "TEXT"),
    OptionSpec("--at", "at", str, None, "Back-date: ISO date-time, shop-local unless it has an offset.", "WHEN"),
    OptionSpec("--name", "name", str, None, "Customer's name (enrols or renames).", "NAME"),
    OptionSpec("--ref", "ref", str, None, "Receipt number or row id: the same ref is never recorded twice.", "REF"),
    OptionSpec("--category", "category", str, None, "What the visit was for (one of [shop] categories).",
               "NAME"),
    OptionSpec("--json", "as_json", bool, False, "Print JSON for scripts instead of a card or table."),
)


def run_visit(db=None, config=None, phone=(), amount=None, items=None, note=None, at=None, name=None,
              ref=None, category=None, as_json=False) -> int:
    """Record a visit and show the card; returns the exit code."""
    from loyalty_cli.cli.edge import guarded
    from loyalty_cli.output import console as render
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    session = Session(db, config, on_created=render.database_created)

    def work():
        from loyalty_cli.domain.phones import join_words

        words = [phone] if isinstance(phone, str) else list(phone)
        result = counter.record_visit(session, join_words(words), amount_text=amount, items=items, note=note,
                                      at_text=at, name=name, ref=ref, category=category)
        if as_json:
            render.emit_json(result)
            return
        from loyalty_cli.domain.i18n import tr

        if result["duplicate"]:
            notice = tr("ref {ref} was already recorded as visit #{visit}: nothing recorded")
        elif result.get("enrolled"):
            notice = tr("new customer enrolled; visit #{visit} recorded")
        else:
            notice = tr("visit #{visit} recorded")
        render.card(result, notice.format(ref=ref, visit=result["visit_id"]), session.shown_phone(result["phone"]))

    return guarded(session, work)
