"""`loyalty import ...`: bulk import of old punch cards and visit history (issue 3).

Thin: parse the options, call `importer`, render the summary. The importer and rich are
imported inside the commands, so `loyalty --help` and the counter never pay for them.
"""

from typing import Annotated, Optional

import typer

import_app = typer.Typer(help="Import old punch cards and visit history from CSV or JSON Lines.",
                         no_args_is_help=True)

FileArg = Annotated[str, typer.Argument(metavar="FILE", help="CSV or JSON Lines file; - reads standard input.",
                                        show_default=False)]
FormatOpt = Annotated[str, typer.Option("--format", help="auto | csv | jsonl (auto: .jsonl/.ndjson or a first "
                                        "line starting with { is JSON Lines).")]
EncodingOpt = Annotated[Optional[str], typer.Option(
    "--encoding", help="Force the encoding (default: UTF-8 with or without BOM, UTF-16 with BOM, else CP1252).",
    show_default=False)]
DelimiterOpt = Annotated[Optional[str], typer.Option(
    "--delimiter", help="Force the CSV delimiter: , ; tab | (default: sniffed).", show_default=False)]
MapOpt = Annotated[Optional[list[str]], typer.Option(
    "--map", metavar="COLUMN=FIELD", help="Read a column as a field, e.g. --map 'Tessera=phone'. Repeatable.",
    show_default=False)]
IgnoreOpt = Annotated[Optional[list[str]], typer.Option(
    "--ignore", metavar="COLUMN", help="Drop a column knowingly. Repeatable.", show_default=False)]
DateFormatOpt = Annotated[Optional[str], typer.Option(
    "--date-format", help="Force how dates are written: dd/mm/yyyy, mm/dd/yyyy, yyyy.mm.dd, or a strftime "
    "pattern such as %m/%d/%y.", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Validate and report; write nothing to the database.")]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; send the others to --rejects.")]
RejectsOpt = Annotated[Optional[str], typer.Option(
    "--rejects", metavar="FILE", help="Write rejected rows here, with a reason column, to fix and import again.",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]


@import_app.command("cards")
def cards(
    ctx: typer.Context,
    file: FileArg,
    card: Annotated[Optional[str], typer.Option(
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
    from . import render
    from .entry import guarded

    session = ctx.obj

    def work():
        from contextlib import ExitStack

        from . import importer

        values["mapping"] = _pairs(values["mapping"] or [])
        values["ignore"] = list(values["ignore"] or [])
        options = importer.Options(**values)
        run = importer.import_cards if kind == "cards" else importer.import_visits
        try:
            with ExitStack() as stack:
                if options.dry_run and not session.db_path.exists():
                    stack.enter_context(importer.scratch_database(session))
                progress = stack.enter_context(_Progress())
                summary = run(session, options, progress)
        except importer.InvalidRows as exc:
            _list_problems(exc.summary["errors"], exc.summary, "error")
            if as_json:
                render.emit_json({**exc.summary, "ok": False})
            raise
        _list_problems(summary["errors"], summary, "rejected")
        if as_json:
            render.emit_json({**summary, "ok": True})
        else:
            _show(summary)

    code = guarded(session, work)
    if code:
        raise typer.Exit(code)


def _pairs(items: list[str]) -> dict[str, str]:
    from .errors import BadInput

    mapping = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise BadInput(f"--map wants COLUMN=FIELD, got {item!r}")
        mapping[column.strip()] = target.strip()
    return mapping


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


class _Progress:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""

    def __enter__(self):
        self.bar = None
        if not _stderr_is_terminal():
            return lambda description, done, total: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from .render import console

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console(stderr=True), transient=True)
        self.bar.start()
        self.tasks = {}

        def update(description, done, total):
            task = self.tasks.get(description)
            if task is None:
                task = self.tasks[description] = self.bar.add_task(description, total=total)
            self.bar.update(task, completed=min(done, total), total=total)

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _list_problems(problems: list, summary: dict, label: str) -> None:
    import sys

    name = summary["file"]
    for problem in problems:
        column = f"column {problem['column']!r}: " if problem["column"] else ""
        sys.stderr.write(f"{label}: {name}: line {problem['line']}: {column}{problem['reason']}\n")
    more = summary["rejected"] - len(problems)
    if more > 0:
        where = f"; all are in {summary['rejects_file']}" if summary.get("rejects_file") else ""
        sys.stderr.write(f"{label}: ... and {more} more row{'s' if more != 1 else ''}{where}\n")


LABELS = [
    ("rows_read", "Rows read"), ("rows_imported", "Rows imported"), ("customers_created", "Customers created"),
    ("customers_updated", "Customers updated"), ("visits_added", "Visits added"), ("punches", "Punches"),
    ("points", "Points"), ("credit", "Credit"), ("vouchers_issued", "Vouchers issued"),
    ("merged", "Merged (same phone)"), ("skipped", "Skipped (blank)"), ("rejected", "Rejected"),
    ("already_imported", "Already imported"),
]
BALANCES = ("punches", "points", "credit", "vouchers_issued")


def _show(summary: dict) -> None:
    from . import render

    cards = summary["kind"] == "cards"
    rows = []
    for key, label in LABELS:
        if (key == "visits_added" and cards) or (key == "merged" and not cards):
            continue
        if key in BALANCES:
            if not cards and not summary.get("apply_rules"):
                continue  # history only: nothing is earned
            if key != "vouchers_issued":
                label += " carried over" if cards else " earned"
        rows.append({"what": label, "count": summary[key]})
    title = f"Import of {summary['kind']} from {summary['file']}" + (" (dry run: nothing written)"
                                                                     if summary["dry_run"] else "")
    if not render.is_terminal():
        print(title)
    render.table(rows, [("what", "What"), ("count", "Count")], title=title)
    if summary.get("rejects_file"):
        render.message(f"rejected rows written to {summary['rejects_file']}")
