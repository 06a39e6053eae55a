"""The Typer application: global options, and every command group registered in one place.

Only the visit fast path in entry.py bypasses it (Typer costs ~0.25 s to start, more than a
whole visit; an import takes seconds, so it goes through Typer like everything else).
"""

from typing import Annotated

import typer

from loyalty_cli import __version__
from loyalty_cli.cli import admin, counter
from loyalty_cli.cli.config import config_app
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
for command in counter.COMMANDS + admin.COMMANDS:
    app.command()(command)
app.add_typer(config_app, name="config")
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")


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
    ctx.obj = Session(db, config, on_created=render.database_created)
