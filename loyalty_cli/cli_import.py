"""`loyalty import ...`: bulk import of old punch cards and visit history (issue 3)."""

import typer

import_app = typer.Typer(help="Import old punch cards and visit history from CSV or JSON Lines.",
                         no_args_is_help=True)
