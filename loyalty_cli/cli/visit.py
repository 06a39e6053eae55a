"""`loyalty visit`: its options, once, and `run_visit`, the one function both parsers call.

VISIT_OPTIONS is plain data so that the standard-library parser below (parse_fast_visit: the
executable's fast path in entry.py, and each line of `loyalty till`) can read it without
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
        _show_recorded(lambda: _show_card(result), Phrase("visit #{visit} was recorded", visit=result["visit_id"]))
        _remember_card(session, result)  # after the card: the customer is not kept waiting for a cache

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
    if session.can_go_offline():  # asked here: a till on a local file never imports offline
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


# ---- the standard-library parser of a visit's words (cli/entry.py, cli/till.py) ----------------

# The app's own options (cli/app.py), which may come before the command.
GLOBAL_OPTIONS = (OptionSpec("--db", "db", str, None, "Database file."),
                  OptionSpec("--config", "config", str, None, "Config file."))
GLOBAL_TABLE = {option.flag: option for option in GLOBAL_OPTIONS}
VISIT_TABLE = {option.flag: option for option in VISIT_OPTIONS}


def parse_fast_visit(argv: list[str]) -> dict | None:
    """run_visit's arguments for a plain `visit` command line, or None to leave it to Typer."""
    tokens = list(argv)
    given: dict = {}
    while tokens and tokens[0] != "visit":
        if not _take_option(tokens, GLOBAL_TABLE, given):
            return None
    if not tokens:
        return None
    tokens.pop(0)
    phone: list[str] = []
    while tokens:
        if tokens[0].startswith("-") and tokens[0] != "-":
            if not _take_option(tokens, VISIT_TABLE, given):
                return None
        else:
            phone.append(tokens.pop(0))
    if not phone:
        return None
    defaults = {option.dest: option.default for option in GLOBAL_OPTIONS + VISIT_OPTIONS}
    return {**defaults, "phone": phone, **given}


def _take_option(tokens: list[str], table: dict[str, OptionSpec], into: dict) -> bool:
    """Move the option at the front of tokens, converted to its type, into `into`.

    False for anything Typer should decide: an unknown or repeated option, a missing value,
    a value given to a flag, a number that is not plainly written.
    """
    flag, has_value, value = tokens.pop(0).partition("=")
    option = table.get(flag)
    if option is None or option.dest in into:
        return False
    if option.type is bool:
        into[option.dest] = True
        return not has_value
    if not has_value:
        if not tokens:
            return False
        value = tokens.pop(0)
    if option.type is int and not _plain_integer(value):
        return False
    into[option.dest] = option.type(value)
    return True


def _plain_integer(text: str) -> bool:
    """Digits with an optional sign: what int() and Typer both read, and read alike.

    int() also takes "1_000" and other scripts' digits, Typer "3.0"; such values go to Typer.
    """
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()
