"""`loyalty import ...`: bulk import of old punch cards and visit history.

Thin: parse the options, call `import_command.run_import`. The importer and rich are imported
inside the commands, so `loyalty --help` and the counter never pay for them.
"""

from typing import Annotated

import typer

import_app = typer.Typer(help="Import old punch cards and visit history from CSV or JSON Lines.",
                         no_args_is_help=True)

FileArg = Annotated[str, typer.Argument(metavar="FILE", help="CSV or JSON Lines file; - reads standard input.",
                                        show_default=False)]
FormatOpt = Annotated[str, typer.Option("--format", help="auto | csv | jsonl (auto: .jsonl/.ndjson or a first "
                                        "line starting with { is JSON Lines).")]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", help="Force the encoding (default: UTF-8 with or without BOM, UTF-16 with BOM, else CP1252).",
    show_default=False)]
DelimiterOpt = Annotated[str | None, typer.Option(
    "--delimiter", help="Force the CSV delimiter: , ; tab | (default: sniffed).", show_default=False)]
MapOpt = Annotated[list[str] | None, typer.Option(
    "--map", metavar="COLUMN=FIELD", help="Read a column as a field, e.g. --map 'Tessera=phone'. Repeatable.",
    show_default=False)]
IgnoreOpt = Annotated[list[str] | None, typer.Option(
    "--ignore", metavar="COLUMN", help="Drop a column knowingly. Repeatable.", show_default=False)]
DateFormatOpt = Annotated[str | None, typer.Option(
    "--date-format", help="Force how dates are written: dd/mm/yyyy, mm/dd/yyyy, yyyy.mm.dd, or a strftime "
    "pattern such as %m/%d/%y.", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing to the database.")]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; send the others to --rejects.")]
RejectsOpt = Annotated[str | None, typer.Option(
    "--rejects", metavar="FILE", help="Write rejected rows here, with a reason column, to fix and import again.",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]


@import_app.command("cards")
def cards(
    ctx: typer.Context,
    file: FileArg,
    card: Annotated[str | None, typer.Option(
        "--card", help="The punch card the punches belong to (default: the config's only punch card).",
        show_default=False)] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse a second row for the same phone instead of merging it.")] = False,
    format: FormatOpt = "auto",
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    map: MapOpt = None,
    ignore: IgnoreOpt = None,
    date_format: DateFormatOpt = None,
    dry_run: DryRunOpt = False,
    skip_invalid: SkipOpt = False,
    rejects: RejectsOpt = None,
    json: JsonOpt = False,
):
    """Import paper cards: one row per customer with punches, points, credit and rewards owed.

    Balances become ledger entries of kind 'import'; owed rewards (and full cards) become vouchers.
    """
    _import(ctx, "cards", json, dict(
        file=file, card=card, strict=strict, format=format, encoding=encoding, delimiter=delimiter,
        mapping=map, ignore=ignore, date_format=date_format, dry_run=dry_run, skip_invalid=skip_invalid,
        rejects=rejects))


@import_app.command("visits")
def visits(
    ctx: typer.Context,
    file: FileArg,
    apply_rules: Annotated[bool, typer.Option(
        "--apply-rules", help="Replay the visits through the rules in time order (punches, points, vouchers). "
        "Default: record them as history only, as the old cards already count them.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse a row identical to an earlier one instead of recording both.")] = False,
    format: FormatOpt = "auto",
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    map: MapOpt = None,
    ignore: IgnoreOpt = None,
    date_format: DateFormatOpt = None,
    dry_run: DryRunOpt = False,
    skip_invalid: SkipOpt = False,
    rejects: RejectsOpt = None,
    json: JsonOpt = False,
):
    """Import past visits: one row per visit with phone, date (and time), amount, items, note."""
    _import(ctx, "visits", json, dict(
        file=file, apply_rules=apply_rules, strict=strict, format=format, encoding=encoding,
        delimiter=delimiter, mapping=map, ignore=ignore, date_format=date_format, dry_run=dry_run,
        skip_invalid=skip_invalid, rejects=rejects))


def _import(ctx: typer.Context, kind: str, as_json: bool, values: dict) -> None:
    from loyalty_cli.cli.import_command import run_import

    code = run_import(ctx.obj, kind, as_json, values)
    if code:
        raise typer.Exit(code)
