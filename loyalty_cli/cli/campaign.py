"""`loyalty campaign run|list`: messages to consenting customers ([[campaigns]] in the config).

Thin: the run is reporting/outreach.py's (it needs the at-risk report's audiences); this parses
the options and says what happened, or prints it as JSON.
"""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, format_asked, run
from loyalty_cli.output import console as render

campaign_app = typer.Typer(help="Campaigns: messages to customers who agreed to marketing ([[campaigns]]).",
                           no_args_is_help=True)


@campaign_app.command("run")
def campaign_run(
    ctx: typer.Context,
    campaign_id: Annotated[str, typer.Argument(metavar="ID", help="The campaign's id in the config.",
                                               show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; record nothing "
                                          "(with --export, the file is still written).")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send the e-mails through the SMTP server of \\[outreach] "
                                       "(password: $LOYALTY_SMTP_PASSWORD).")] = False,
    export: Annotated[str | None, typer.Option("--export", metavar="FILE", help="Write the messages to a .csv or "
                                               ".json file for your own SMS or WhatsApp tool (logged as contacts).",
                                               show_default=False)] = None,
    json: JsonOpt = False,
):
    """Run a campaign: consenting customers of its audience, once per cooldown."""
    from loyalty_cli.reporting import outreach

    def work(session):
        done = outreach.run(session, campaign_id, dry_run=dry_run, send=send, export=export)
        if json:
            render.emit_json(done)
            return
        _say(done)

    run(ctx, work)


def _say(done: dict) -> None:
    """What a run did, for people: each message (a preview shows them all), then one summary line."""
    from loyalty_cli.domain.i18n import tr

    preview = done["dry_run"] or done["action"] == "preview"
    if preview:
        for one in done["recipients"]:
            to = one["email"] if done["channel"] == "email" else one["phone"]
            subject = f" [{one['subject']}]" if one["subject"] else ""
            render.lines(f"{to}{subject}: {one['message']}")
    left_out = tr("{in_audience} in the audience; left out: {no_consent} without consent, {no_contact} without "
                  "{contact}, {in_cooldown} contacted within the cooldown").format(
        in_audience=done["in_audience"], no_consent=done["no_consent"], no_contact=done["no_contact"],
        contact=tr("an e-mail") if done["channel"] == "email" else tr("a phone"), in_cooldown=done["in_cooldown"])
    if not done["reached"]:
        said = tr("campaign {campaign}: nobody to reach ({left_out})").format(campaign=done["campaign"],
                                                                              left_out=left_out)
        if done["file"]:
            said += tr("; wrote an empty {file}").format(file=done["file"])
        render.message(said)
        return
    render.message(_summary(done).format(campaign=done["campaign"], count=done["reached"], file=done["file"],
                                         left_out=left_out))


def _summary(done: dict) -> str:
    """The run's one line, with {campaign}, {count}, {file} and {left_out} to fill in."""
    from loyalty_cli.domain.i18n import tr

    if done["action"] == "preview":
        return tr("campaign {campaign}: would reach {count} message(s) ({left_out})")
    if done["dry_run"] and done["action"] == "send":
        return tr("campaign {campaign}: would send {count} message(s) ({left_out})")
    if done["dry_run"]:
        return tr("campaign {campaign}: would export {count} message(s) to {file} (file written, nothing logged) "
                  "({left_out})")
    if done["action"] == "send":
        return tr("campaign {campaign}: sent {count} message(s) ({left_out})")
    return tr("campaign {campaign}: exported {count} message(s) to {file} ({left_out})")


@campaign_app.command("list")
def campaign_list(
    ctx: typer.Context,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="table | csv | json.", show_default=False)] = None,
    json: JsonOpt = False,
):
    """The campaigns in the config, with their contacts and how many of those customers came back."""

    def work(session):
        from loyalty_cli.domain import clock
        from loyalty_cli.output import writers
        from loyalty_cli.reporting import campaigns
        from loyalty_cli.reporting.context import Context
        from loyalty_cli.store import db as store_db

        chosen = writers.choose_format(format_asked(fmt, json), None, render.is_terminal(), ("table", "csv", "json"))
        with store_db.snapshot(session.conn):
            writers.emit(campaigns.listing(Context(session.conn, session.config, clock.now())), chosen)

    run(ctx, work)
