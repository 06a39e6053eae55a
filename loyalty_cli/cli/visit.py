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
    OptionSpec("--category", "category", str, None, "What the visit was for (one of \\[shop] categories).",
               "NAME"),
    OptionSpec("--location", "location", str, None, "The shop or till recording it (default: LOYALTY_LOCATION, "
               "else [shop] location).", "NAME"),
    OptionSpec("--json", "as_json", bool, False, "Print JSON for scripts instead of a card or table."),
)


def run_visit(db=None, config=None, phone=(), amount=None, items=None, note=None, at=None, name=None,
              ref=None, category=None, location=None, as_json=False, kept=None) -> int:
    """Record a visit and show the card; returns the exit code. kept: the services.kept.Kept of a
    long-running till (cli/till.py), which keeps the connection between visits."""
    from loyalty_cli.cli.edge import guarded
    from loyalty_cli.output import console as render
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    session = Session(db, config, on_created=render.database_created, on_note=render.note, kept=kept)

    def work():
        from loyalty_cli.domain.errors import Unreachable
        from loyalty_cli.domain.i18n import Phrase
        from loyalty_cli.domain.phones import join_words

        words = [phone] if isinstance(phone, str) else list(phone)
        options = {"amount_text": amount, "items": items, "note": note, "at_text": at, "name": name, "ref": ref,
                   "category": category, "location": location}
        try:
            result = counter.record_visit(session, join_words(words), **options)
        except Unreachable as exc:
            offline, why = _offline_visit(session, join_words(words), options), exc
            _show_recorded(lambda: _show_offline(offline, why, as_json),
                           Phrase("visit {ref} was saved on this till", ref=offline["ref"]))
            return
        _remember_card(session, result)
        _show_recorded(lambda: _show_card(result), Phrase("visit #{visit} was recorded", visit=result["visit_id"]))

    def _show_card(result):
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

    code = guarded(session, work)
    said = kept.said if kept is not None else set()  # each once; at a long-running till, once a run
    for warning in dict.fromkeys(session.warnings):
        if warning not in said:
            said.add(warning)
            render.warning(warning)
    return code


def _show_recorded(show, done) -> None:
    """show() the card of a visit recorded; if stdout cannot take it (a full disk, `>&-`), the one
    error line says the visit was recorded all the same: a script must not record it twice (a
    rerun with the same --ref is a no-op)."""
    from loyalty_cli.domain.errors import OutputLost
    from loyalty_cli.domain.i18n import Phrase
    from loyalty_cli.output import console as render

    try:
        show()
        render.flush_stdout()
    except OutputLost as exc:
        raise OutputLost(Phrase("{done}, but its card could not be written: {why}", done=done,
                                why=exc.args[0].params["why"])) from None


def _remember_card(session, result: dict) -> None:
    """Keep the card for offline visits, at a till that can go offline (services/offline.py)."""
    from loyalty_cli.system import paths

    if paths.is_server(session.db_path) or session.outbox_path.exists():
        from loyalty_cli.services import offline

        offline.remember_card(session, result)


def _offline_visit(session, phone_text: str, options: dict) -> dict:
    """The server is unreachable: the visit goes to the till's outbox (on disk before anything is
    printed)."""
    from loyalty_cli.services import offline

    return offline.record(session, phone_text, **options)


def _show_offline(result: dict, why, as_json: bool) -> None:
    """The visit saved offline, and the balances last seen, before this visit."""
    from loyalty_cli.output import console as render

    if as_json:
        render.emit_json(result)
        return
    from loyalty_cli.domain import clock
    from loyalty_cli.domain import locale_format as shown
    from loyalty_cli.domain.i18n import say, tr

    render.note(tr("offline: {reason}").format(reason=say(why.args[0]) if why.args else why))
    saved = tr("OFFLINE: visit saved on this till as {ref}; `loyalty sync` records it when the server is back").format(
        ref=result["ref"])
    if result["last_known"] is None:
        render.lines(saved, result["phone"], "  " + tr("Balances: not known on this till (shown again once online)"))
        return
    render.card(result["last_known"], saved + ". " + tr("Balances as last seen {when}, before this visit").format(
        when=shown.minute(clock.minute_of(result["last_seen_at"]))))
