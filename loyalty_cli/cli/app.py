"""The Typer application: global options, and every command group registered in one place.

Only the visit fast path in entry.py bypasses it (Typer costs ~0.25 s to start, more than a
whole visit; an import takes seconds, so it goes through Typer like everything else).
"""

from typing import Annotated

import typer

from loyalty_cli import __version__
from loyalty_cli.cli import admin, counter, feedback, privacy, simulate
from loyalty_cli.cli.campaign import campaign_app
from loyalty_cli.cli.config import config_app
from loyalty_cli.cli.database import db_app
from loyalty_cli.cli.imports import import_app
from loyalty_cli.cli.reports import report_app
from loyalty_cli.output import console as render
from loyalty_cli.services.session import Session

app = typer.Typer(
    name="loyalty",
    help="A loyalty programme for small shops: punch cards, points, store credit, tiers and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
for command in counter.COMMANDS + feedback.COMMANDS + privacy.COMMANDS + admin.COMMANDS + simulate.COMMANDS:
    app.command(cls=counter.COMMAND_CLASSES.get(command.__name__))(command)
app.add_typer(config_app, name="config")
app.add_typer(privacy.customer_app, name="customer")
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")
app.add_typer(campaign_app, name="campaign")
app.add_typer(db_app, name="db")


def _version(value: bool):
    if value:
        typer.echo(f"loyalty-cli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", help="Database file (default: $LOYALTY_DB, else the user data dir).", show_default=False)] = None,
    config: Annotated[str | None, typer.Option(
        "--config", help="Config file (default: $LOYALTY_CONFIG, ./loyalty.toml, the user config dir, built-in rules).",
        show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
):
    ctx.obj = Session(db, config, on_created=render.database_created, on_note=render.note)


def command():
    """The app as the click command Typer builds, with plain help placeholders: Typer 0.29 shows
    `<bool>` after a flag and `<str>` after a value, which read as if flags took values. A flag
    gets none; a value option its name in capitals, unless it named its own."""
    from typer.main import get_command

    root = get_command(app)
    _plain_placeholders(root)
    return root


def _plain_placeholders(command) -> None:
    for param in command.params:
        if param.param_type_name == "option" and param.metavar is None:
            param.metavar = "" if param.is_flag else param.name.upper().replace("_", "-")
        elif param.param_type_name == "argument":
            # The argument's own name (PHONE) is already in the row: no `<list[str]>` beside it.
            param.display_type_rich = _no_type
    command.get_help_option = _plain_help_option(command.get_help_option)
    for sub in getattr(command, "commands", {}).values():
        _plain_placeholders(sub)


def _no_type(ctx) -> None:
    return None


def _plain_help_option(make_option):
    """--help is built when help is asked for, after the params above were seen."""

    def get_help_option(ctx):
        option = make_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    return get_help_option
