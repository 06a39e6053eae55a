"""`loyalty import cards|visits`, the command's work without its parser.

Shared by the Typer command (cli_import) and entry.py's standard-library parser, which spares
an import the ~0.25 s Typer takes to start: options in, summary out (a table, tab-separated
text or JSON, through output), problems on stderr, an exit code back.
"""

from loyalty_cli.domain.i18n import Phrase, mark, say, tr, tr_n


def run_import(session, kind: str, as_json: bool, values: dict) -> int:
    """Import a file as the options say, report on stdout/stderr; returns the exit code."""
    from loyalty_cli.cli.edge import guarded
    from loyalty_cli.output import console as render

    def work():
        from contextlib import ExitStack

        from loyalty_cli import importing as importer
        from loyalty_cli.store import db as store_db

        values["mapping"] = _pairs(values["mapping"] or [])
        values["ignore"] = list(values["ignore"] or [])
        options = importer.Options(**values)
        run = importer.import_cards if kind == "cards" else importer.import_visits
        try:
            with ExitStack() as stack:
                if options.dry_run and not store_db.exists(session.db_path):
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

    return guarded(session, work)


def _pairs(items: list[str]) -> dict[str, str]:
    from loyalty_cli.domain.errors import BadInput

    mapping = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise BadInput(Phrase("--map wants COLUMN=FIELD, got {item}", item=repr(item)))
        mapping[column.strip()] = target.strip()
    return mapping


def _stderr_is_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


REDRAW_S = 0.1  # the progress bar is redrawn at most this often


class _Progress:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise.

    Drawn when the import reports progress, never by a thread of its own: the importer forks its
    reader and helper processes, and forking while rich's refresh thread runs (auto_refresh) can
    deadlock the child (Python 3.12 warns of it). Reports come every batch, often enough to watch.
    """

    def __enter__(self):
        self.bar = None
        if not _stderr_is_terminal():
            return lambda description, done, total: None
        import time

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from loyalty_cli.output.console import console

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console(stderr=True), transient=True,
                            auto_refresh=False)
        self.bar.start()
        self.tasks = {}
        self.drawn = 0.0  # time.monotonic() of the last redraw

        def update(description, done, total):
            task = self.tasks.get(description)
            if task is None:
                task = self.tasks[description] = self.bar.add_task(description, total=total)
            self.bar.update(task, completed=min(done, total), total=total)
            now = time.monotonic()
            if now - self.drawn >= REDRAW_S or done >= total:
                self.bar.refresh()
                self.drawn = now

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _list_problems(problems: list, summary: dict, label: str) -> None:
    from loyalty_cli.output import console as render

    name = summary["file"]
    for problem in problems:
        column = tr("column {column}: ").format(column=repr(problem["column"])) if problem["column"] else ""
        render.remark(label, tr("{file}: line {line}: {column}{reason}").format(
            file=name, line=problem["line"], column=column, reason=say(problem["reason"])))
    more = summary["rejected"] - len(problems)
    if more > 0:
        where = tr("; all are in {file}").format(file=summary["rejects_file"]) if summary.get("rejects_file") else ""
        render.remark(label, tr_n("... and {count} more row{where}", "... and {count} more rows{where}", more).format(
            count=more, where=where))


LABELS = [
    ("rows_read", mark("Rows read")), ("rows_imported", mark("Rows imported")),
    ("customers_created", mark("Customers created")), ("customers_updated", mark("Customers updated")),
    ("visits_added", mark("Visits added")), ("punches", mark("Punches")), ("points", mark("Points")),
    ("credit", mark("Credit")), ("vouchers_issued", mark("Vouchers issued")),
    ("merged", mark("Merged (same phone)")), ("skipped", mark("Skipped (blank)")), ("rejected", mark("Rejected")),
    ("already_imported", mark("Already imported")), ("names_repaired", mark("Names repaired")),
    ("birthdays", mark("Birthdays filed")),
    ("consents_recorded", mark("Consents recorded")),
]
BALANCES = ("punches", "points", "credit", "vouchers_issued")
# A balance's label says whether the import carried it over (cards) or the rules earned it (visits).
CARRIED = {"punches": mark("Punches carried over"), "points": mark("Points carried over"),
           "credit": mark("Credit carried over")}
EARNED = {"punches": mark("Punches earned"), "points": mark("Points earned"), "credit": mark("Credit earned")}


def _show(summary: dict) -> None:
    from loyalty_cli.output import console as render
    from loyalty_cli.output import lists, writers

    cards = summary["kind"] == "cards"
    pairs = []
    for key, label in LABELS:
        if (key == "visits_added" and cards) or (key == "merged" and not cards) or key not in summary:
            continue
        if key in BALANCES:
            if not cards and not summary.get("apply_rules"):
                continue  # history only: nothing is earned
            if key != "vouchers_issued":
                label = CARRIED[key] if cards else EARNED[key]
        pairs.append((label, summary[key]))
    if summary["dry_run"]:
        title = Phrase("Import of {kind} from {file} (dry run: nothing written)", kind=summary["kind"],
                       file=summary["file"])
    else:
        title = Phrase("Import of {kind} from {file}", kind=summary["kind"], file=summary["file"])
    writers.emit(lists.figures(title, pairs), "table" if render.is_terminal() else "tabbed")
    if summary.get("rejects_file"):
        render.message(tr("rejected rows written to {file}").format(file=summary["rejects_file"]))
