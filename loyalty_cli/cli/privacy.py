"""Privacy requests (issue 12): `loyalty customer export PHONE` (right of access) and
`loyalty forget PHONE` (erasure). What is erased and kept: store/privacy.py."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, PhoneArg, phone_text, run
from loyalty_cli.domain.i18n import Phrase, mark, tr
from loyalty_cli.output import console as render

customer_app = typer.Typer(help="One customer's data: everything held about them, for an access request.",
                           no_args_is_help=True)

ERASED_KINDS = {  # erase()'s counts, as a person reads them
    "details": mark("{count} personal detail(s) (of name, e-mail, birthday, note)"),
    "phone_forms": mark("{count} typed form(s) of the phone"),
    "visit_notes": mark("{count} visit note(s)"), "void_reasons": mark("{count} void reason(s)"),
    "ledger_reasons": mark("{count} void reason(s) in the ledger"),
    "feedback_comments": mark("{count} feedback comment(s)"), "consent_sources": mark("{count} consent source(s)"),
    "imported_cards": mark("{count} imported card phone(s)"),
    "import_summaries": mark("{count} import summary mention(s)"),
}


@customer_app.command("export")
def export(
    ctx: typer.Context,
    phone: PhoneArg,
    output: Annotated[str | None, typer.Option(
        "--output", "-o", help="Write the JSON to this file (owner-only, written whole or not at all) "
        "instead of printing it.", show_default=False)] = None,
):
    """Everything held about one customer, as JSON: details, visits, ledger, vouchers, feedback,
    consents, contacts (for a right-of-access request)."""
    from loyalty_cli.services import privacy

    def work(session):
        data = privacy.export(session, phone_text(phone))
        if output is None:
            render.emit_json(data)
            return
        from loyalty_cli.system import files

        files.write_text(Path(output), render.json_text(data) + "\n")
        render.note(tr("wrote everything held about {phone} to {file}").format(phone=data["customer"]["phone"],
                                                                             file=output))

    run(ctx, work)


def forget(
    ctx: typer.Context,
    phone: PhoneArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Erase without asking (needed when not on a terminal).")]
    = False,
    json: JsonOpt = False,
):
    """Erase a customer's personal data for good, keeping the amounts (for an erasure request)."""
    from loyalty_cli.domain.errors import BadInput, Refused
    from loyalty_cli.services import privacy

    def work(session):
        if not yes and not on_terminal():
            raise BadInput(Phrase("forget erases a customer's personal data for good, and there is no terminal "
                                  "to ask on: give --yes to confirm"))
        row = privacy.customer(session, phone_text(phone))
        if not yes:
            who = f"{row['name']} ({row['phone']})" if row["name"] else row["phone"]
            # on stderr: stdout stays the command's output (--json)
            if not typer.confirm(tr("Erase every personal detail of {who}? This cannot be undone").format(who=who),
                                 default=False, err=True):
                raise Refused(Phrase("nothing erased"))
        result = privacy.forget(session, row)
        if json:
            render.emit_json(result)
            return
        _tell(result)

    run(ctx, work)


def on_terminal() -> bool:
    """Whether there is a person to ask: stdin is a terminal (cron and scripts get no prompt)."""
    return sys.stdin is not None and sys.stdin.isatty()


def _tell(result: dict) -> None:
    erased = [tr(ERASED_KINDS[kind]).format(count=n) for kind, n in result["erased"].items() if n]
    render.message(tr("forgot {phone}: now {pseudonym}; erased {what}; amounts kept").format(
        phone=result["phone"], pseudonym=result["pseudonym"], what=", ".join(erased) if erased else tr("the phone")))
    if result["compacted"]:
        render.note(tr("the database file was rebuilt to drop older copies of the erased data"))
    if not result["wal_emptied"]:
        render.warning(tr("another program kept the database busy: older copies of the erased data stay in its "
                          "-wal file until the last program using the database closes it (SQLite then empties it)"))


COMMANDS = (forget,)
