"""The counter's commands: visit, enroll, edit, show, customers, redeem, void, history.

Plain functions with Typer's annotations; cli/app.py registers them. Each parses, calls one
service and hands the result to output: a card, JSON, or (customers, history, show's visits)
a table through output/lists.py and the writers the reports use.
"""

import inspect
from typing import Annotated

import typer

from loyalty_cli.cli.common import (
    JsonOpt,
    PhoneArg,
    format_asked,
    joining_phone_words,
    phone_text,
    refusing_repeats,
    run,
    shop_locale,
)
from loyalty_cli.cli.visit import VISIT_OPTIONS, OptionSpec, run_visit
from loyalty_cli.domain.i18n import Phrase, tr
from loyalty_cli.output import console as render
from loyalty_cli.output import lists, writers
from loyalty_cli.services.session import Session

# ---- the lists' formats: the reports' rules, through the reports' writers ---------------------

LIST_FORMATS = ("table", "csv", "excel-csv", "json")
FormatOpt = Annotated[str | None, typer.Option(
    "--format", "-f", help="table | csv | excel-csv | json (default: a table on a terminal, CSV in a pipe, "
    "as reports do).",
    show_default=False)]


MarketingOpt = Annotated[str | None, typer.Option(
    "--marketing", metavar="yes|no", help="Marketing consent given (yes) or withdrawn (no); added to the "
    "customer's consent log.", show_default=False)]
ConsentSourceOpt = Annotated[str | None, typer.Option(
    "--consent-source", metavar="TEXT", help='How consent was given or withdrawn ("paper form", "told at the '
    'counter").', show_default=False)]


def _chosen(fmt: str | None, as_json: bool, card: bool = False) -> str:
    """--format, or --json (the same as --format json); else a table on a terminal and CSV in a
    pipe, as for reports. A card (show) is for people: a table, in a pipe too, unless asked."""
    return writers.choose_format(format_asked(fmt, as_json), None, card or render.is_terminal(), LIST_FORMATS)


def _with_options(specs):
    """Give a command taking **options one keyword parameter per spec: Typer reads inspect.signature."""

    def decorate(command):
        signature = inspect.signature(command)
        fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        options = [inspect.Parameter(spec.dest, inspect.Parameter.KEYWORD_ONLY, default=spec.default,
                                     annotation=_option_annotation(spec)) for spec in specs]
        command.__signature__ = signature.replace(parameters=[*fixed, *options])
        return command

    return decorate


def _option_annotation(spec: OptionSpec):
    value_type = spec.type if spec.default is not None else spec.type | None
    # A metavar, even "" for a flag, replaces Typer's <str>/<bool> type tags in --help.
    return Annotated[value_type, typer.Option(spec.flag, help=spec.help, metavar=spec.metavar)]


@_with_options(VISIT_OPTIONS)
def visit(ctx: typer.Context, phone: PhoneArg, **options):
    """Record a visit, apply the rules and show the customer's card."""
    session: Session = ctx.obj
    code = run_visit(session.db_option, session.config_option, phone, **options)
    if code:
        raise typer.Exit(code)


def till(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="One JSON document per line for each visit line read.")] = False,
    location: Annotated[str | None, typer.Option(
        "--location", help="The shop or till recording the visits (a line's own --location wins).",
        show_default=False)] = None,
):
    """Record the visits read on stdin, one a line, as `loyalty visit` would (the words after
    `loyalty visit`: PHONE... and its options), keeping the database open between them. For a
    point-of-sale program or a script that records many visits: one line out per visit in."""
    from loyalty_cli.cli.till import run_till

    session: Session = ctx.obj
    code = run_till(session.db_option, session.config_option, as_json=json, location=location)
    if code:
        raise typer.Exit(code)


def enroll(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[str | None, typer.Option("--name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    birthday: Annotated[str | None, typer.Option("--birthday", help="YYYY-MM-DD, or MM-DD without the year.")] = None,
    referred_by: Annotated[str | None, typer.Option("--referred-by",
                                                    help="Phone of the customer who sent them.")] = None,
    marketing: MarketingOpt = None,
    consent_source: ConsentSourceOpt = None,
    json: JsonOpt = False,
):
    """Enrol a customer (with the welcome and referral bonuses)."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.enrol(session, phone_text(phone), name=name, email=email, birthday=birthday,
                             referred_by=referred_by, marketing=marketing, consent_source=consent_source)
        render.emit_json(data) if json else render.card(data, tr("customer enrolled") + _consent_note(data, marketing),
                                                        _phone(session, data))

    run(ctx, work)


def edit(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[str | None, typer.Option("--name")] = None,
    email: Annotated[str | None, typer.Option("--email", help="An empty string clears it.")] = None,
    birthday: Annotated[str | None, typer.Option(
        "--birthday", help="YYYY-MM-DD, or MM-DD without the year; an empty string clears it.")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    marketing: MarketingOpt = None,
    consent_source: ConsentSourceOpt = None,
    json: JsonOpt = False,
):
    """Change a customer's details, or record their marketing consent."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.edit(session, phone_text(phone), name=name, email=email, birthday=birthday, note=note,
                            marketing=marketing, consent_source=consent_source)
        render.emit_json(data) if json else render.card(data, tr("details saved") + _consent_note(data, marketing),
                                                        _phone(session, data))

    run(ctx, work)


def _consent_note(data: dict, marketing: str | None) -> str:
    if marketing is None:
        return ""
    return tr("; marketing consent given") if data["marketing"] else tr("; marketing consent withdrawn")


def show(
    ctx: typer.Context,
    phone: PhoneArg,
    last: Annotated[int, typer.Option("--last", min=0, max=1000, help="How many recent visits to list.")] = 5,
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", help="table: the card and its last visits (the default, in a pipe too); "
        "csv or excel-csv: the last visits; json: the card with its last visits.", show_default=False)] = None,
    json: JsonOpt = False,
):
    """Show a customer's card and their last visits (writes nothing)."""
    from loyalty_cli.domain import clock
    from loyalty_cli.services import consent, counter, views

    def work(session):
        chosen = _chosen(fmt, json, card=True)
        row = counter.customer(session, phone_text(phone))
        data = views.card(session.conn, session.config, row, clock.now())
        data["recent_visits"] = views.visits(session.conn, session.config, row, last)
        data["consents"] = consent.log(session.conn, session.config, row["id"])
        if chosen == "json":
            render.emit_json(data)
            return
        if chosen == "table":
            render.card(data, phone=_phone(session, data))
            if not last:
                return
        writers.emit(lists.visits(data["recent_visits"], session.config.shop.currency, session.config.tz), chosen,
                     shop_locale(session.config))

    run(ctx, work)


def customers(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option("--search", help="Part of a phone, name or e-mail.")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Only customers holding this tier.")] = None,
    sort: Annotated[str, typer.Option("--sort",
                                      help="visits | spend | points | last-visit | name | enrolled")] = "last-visit",
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=10**9)] = 50,
    fmt: FormatOpt = None,
    json: JsonOpt = False,
):
    """List customers."""
    from loyalty_cli.domain import clock
    from loyalty_cli.services import views

    def work(session):
        chosen = _chosen(fmt, json)
        rows = views.customer_list(session.conn, session.config, clock.now(), search, tier, sort, limit)
        if chosen == "json":
            render.emit_json(rows)
            return
        writers.emit(lists.customers(rows, session.config.shop.currency, session.config.tz,
                                     session.config.shop.phone_region), chosen, shop_locale(session.config))

    run(ctx, work)


def _online_only(work, what: str):
    """Run work(); an unreachable server refuses it in plain words: offline, a balance cannot be
    checked, so nothing can be spent (a visit, which only adds, goes to the outbox instead)."""
    from loyalty_cli.domain.errors import Unreachable

    try:
        return work()
    except Unreachable as exc:
        raise Unreachable(Phrase("{what} refused: this till is offline ({reason}) and a balance cannot be checked "
                                 "offline; try again when the server is back", what=what,
                                 reason=exc.args[0] if exc.args else str(exc))) from None


def redeem(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(
        metavar="PHONE [VOUCHER_CODE_OR_REWARD_ID]",
        help="The phone, then a voucher code or a reward id (omit with --credit).", show_default=False)],
    credit: Annotated[str | None, typer.Option("--credit", help="Spend this much store credit instead.")] = None,
    json: JsonOpt = False,
):
    """Redeem a voucher, buy a reward with points, or spend store credit."""
    from loyalty_cli.services import counter

    def work(session):
        if credit is None and len(words) < 2:
            from loyalty_cli.domain.errors import BadInput

            raise BadInput(Phrase("give the phone and then a voucher code or reward id, or use --credit AMOUNT"))
        if credit is not None and len(words) > 1 and any(ch.isalpha() for ch in words[-1]):
            from loyalty_cli.domain.errors import BadInput

            raise BadInput(Phrase("give a voucher code or reward id ({word}), or --credit AMOUNT, not both",
                word=repr(words[-1])))
        if credit is None and _all_one_phone(words, session.config.shop.phone_region):
            from loyalty_cli.domain.errors import BadInput

            raise BadInput(Phrase("{phone} is the whole phone number: give a voucher code, a reward id or --credit "
                                  "AMOUNT after it", phone=repr(phone_text(words))))
        phone, target = (words, None) if credit is not None else (words[:-1], words[-1])
        data = _online_only(lambda: counter.redeem(session, phone_text(phone), target, credit), "redemption")
        if json:
            render.emit_json(data)
            return
        done = data["redeemed"]
        if "credit" in done:
            from loyalty_cli.domain import locale_format, money

            spent = locale_format.amount(money.parse_signed(done["credit"], data["currency"]), data["currency"])
            note = tr("spent {amount} of store credit").format(amount=spent)
        elif done["points"]:
            note = tr("redeemed {reward} (voucher {voucher}) for {points} points").format(
                reward=done["reward"], voucher=done["voucher"], points=done["points"])
        else:
            note = tr("redeemed {reward} (voucher {voucher})").format(reward=done["reward"], voucher=done["voucher"])
        render.card(data, note, _phone(session, data))

    run(ctx, work)


def _all_one_phone(words: list[str], region: str | None) -> bool:
    """`redeem 655 444 333`, the voucher forgotten: the words before the last are no phone, all of
    them are one. (Said as such, rather than "not a valid phone number: '655 444'".)"""
    from loyalty_cli.domain.errors import BadInput
    from loyalty_cli.domain.phones import normalise

    for candidate, wanted in ((words[:-1], False), (words, True)):
        try:
            normalise(phone_text(candidate), region)
        except BadInput:
            continue
        return wanted
    return False


def void(
    ctx: typer.Context,
    visit_id: Annotated[int, typer.Argument(metavar="VISIT_ID", help="The visit number shown when it was recorded.",
                                            show_default=False)],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    json: JsonOpt = False,
):
    """Undo a visit with reversing ledger entries (nothing is deleted)."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.void(session, visit_id, reason)
        if json:
            render.emit_json(data)
            return
        note = tr("visit #{visit} voided").format(visit=visit_id)
        if data["kept_vouchers"]:
            note += tr("; voucher(s) {codes} were already redeemed and stay so").format(
                codes=", ".join(data["kept_vouchers"]))
        render.card(data, note, _phone(session, data))

    run(ctx, work)


def history(
    ctx: typer.Context,
    phone: PhoneArg,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=10**9)] = None,
    fmt: FormatOpt = None,
    json: JsonOpt = False,
):
    """A customer's ledger, newest first."""
    from loyalty_cli.services import counter, views

    def work(session):
        chosen = _chosen(fmt, json)
        row = counter.customer(session, phone_text(phone))
        rows = views.history(session.conn, session.config, row, limit)
        if chosen == "json":
            render.emit_json(rows)
            return
        writers.emit(lists.history(rows, session.shown_phone(row["phone"]), session.config.shop.currency,
                                   session.config.tz), chosen, shop_locale(session.config))

    run(ctx, work)


def _phone(session, data: dict) -> str:
    """The card's number as people in the shop's region write it ('333 123 4567')."""
    return session.shown_phone(data["phone"])


COMMANDS = (visit, till, enroll, edit, show, customers, redeem, void, history)
# The counter's visit is typed fast and often: an option typed twice is refused, not the last kept.
COMMAND_CLASSES = {"visit": refusing_repeats(tuple(spec.flag for spec in VISIT_OPTIONS if spec.type is not bool)),
                   "enroll": joining_phone_words("--referred-by")}
