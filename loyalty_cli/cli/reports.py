"""`loyalty report ...`: reports for the owner and for cron (issue 4).

Thin: parse the options, build the report (reports.py), hand it to a writer. Heavy imports
(rich) happen inside the writers that need them.
"""

from typing import Annotated

import typer

from loyalty_cli.cli.common import run
from loyalty_cli.store import db as store_db

report_app = typer.Typer(help="Reports: summary, customers, visits, rewards, liability, at-risk; export for cron.",
                         no_args_is_help=True)

_PERIOD_HELP = "today, yesterday, last-7-days, last-month, this-month or YYYY-MM-DD (shop's time zone)."
SinceOpt = Annotated[str | None, typer.Option("--since", help="First day: " + _PERIOD_HELP, show_default=False)]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last day, included (default: today): " + _PERIOD_HELP,
                                                 show_default=False)]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", "-f", help="table | csv | json | xlsx | html (default: from --output's extension; "
    "a table on a terminal, CSV in a pipe).", show_default=False)]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (atomically) "
                                                  "instead of the screen.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


def _show(ctx: typer.Context, name: str, since=None, until=None, fmt=None, output=None, json=False) -> None:
    """Build one report and write it to --output or to stdout."""

    def work(session):
        from loyalty_cli.domain.errors import BadInput

        if json and fmt not in (None, "json"):
            raise BadInput(f"--json and --format {fmt} disagree: give one of them")
        from pathlib import Path

        from loyalty_cli.domain import clock
        from loyalty_cli.output import console as render
        from loyalty_cli.output import writers
        from loyalty_cli.reporting import reports

        chosen = writers.choose_format("json" if json else fmt, output, render.is_terminal())
        target = Path(output) if output and output != "-" else None
        if target is not None:
            _check_directory(target.parent if str(target.parent) else Path("."), "--output")
        now = clock.now()
        today = now.astimezone(session.config.tz).date()
        period = reports.resolve_period(since, until, today) if name in reports.PERIODIC else None
        context = reports.Context(_database(session), session.config, now)
        with store_db.snapshot(session.conn):
            report = reports.build(name, context, period)
            if target is not None:
                writers.save([(report, chosen, target)])
            else:
                _to_stdout(lambda: writers.emit(report, chosen))

    run(ctx, work)


def _database(session):
    """The session's connection, but never a new empty database: a report on a mistyped --db,
    or from a cron job whose user has no database, would report zeros every night."""
    from loyalty_cli.domain.errors import Refused
    from loyalty_cli.system import paths

    path, origin = paths.db_path(session.db_option)
    if not path.exists():
        raise Refused(f"no database at {path} (from {origin}): nothing recorded there yet; "
                      "give --db or LOYALTY_DB for the shop's database")
    return session.conn


def _to_stdout(write) -> None:
    """`loyalty report visits | head` is not an error: stop quietly when the reader goes away."""
    import os
    import sys

    try:
        write()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _check_directory(directory, what: str) -> None:
    import os

    from loyalty_cli.domain.errors import BadInput

    if not directory.is_dir():
        raise BadInput(f"{what}: no such directory: {directory}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(f"{what}: cannot write in {directory}")


@report_app.command()
def summary(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
            output: OutputOpt = None, json: JsonOpt = False):
    """Visits, customers, revenue, what was issued and redeemed, reward cost; visits per day."""
    _show(ctx, "summary", since, until, fmt, output, json)


@report_app.command()
def customers(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
              output: OutputOpt = None, json: JsonOpt = False):
    """Every customer: visits, spend, last visit, tier, balances, open vouchers (and the period's visits)."""
    _show(ctx, "customers", since, until, fmt, output, json)


@report_app.command()
def visits(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
           output: OutputOpt = None, json: JsonOpt = False):
    """Every visit in the period, voided ones marked."""
    _show(ctx, "visits", since, until, fmt, output, json)


@report_app.command()
def rewards(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
            output: OutputOpt = None, json: JsonOpt = False):
    """Vouchers issued, redeemed, expired and voided in the period, with codes, dates, face value and cost."""
    _show(ctx, "rewards", since, until, fmt, output, json)


@report_app.command()
def liability(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None, json: JsonOpt = False):
    """What the shop owes today: points, store credit, open vouchers; what expires in 30 days."""
    _show(ctx, "liability", fmt=fmt, output=output, json=json)


@report_app.command("at-risk")
def at_risk(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None, json: JsonOpt = False):
    """Customers to call: regulars overdue by their own rhythm, and those one visit from a reward."""
    _show(ctx, "at-risk", fmt=fmt, output=output, json=json)


@report_app.command()
def export(
    ctx: typer.Context,
    directory: Annotated[str, typer.Option("--dir", help="Directory to write into (it must exist).",
                                           show_default=False)],
    day: Annotated[str | None, typer.Option("--date", help="The day or period to export (default: yesterday): "
                                               + _PERIOD_HELP, show_default=False)] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    formats: Annotated[str, typer.Option("--format", "-f", help="csv, json, xlsx, html or table; several "
                                         "separated by commas (csv,xlsx).")] = "csv",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for cron).")] = False,
):
    """Write every report for a period into a directory, with dated names (for cron)."""

    def work(session):
        from pathlib import Path

        from loyalty_cli.domain import clock
        from loyalty_cli.domain.errors import BadInput
        from loyalty_cli.output import writers
        from loyalty_cli.reporting import reports

        chosen = _formats(formats)
        target = Path(directory)
        _check_directory(target, "--dir")
        now = clock.now()
        today = now.astimezone(session.config.tz).date()
        if day is not None and (since is not None or until is not None):
            raise BadInput("give --date, or --since/--until, not both")
        if since is not None or until is not None:
            period = reports.resolve_period(since, until, today)
        else:
            period = reports.exact_period(day or "yesterday", today)
        context = reports.Context(_database(session), session.config, now)
        stamp = period.stamp()
        with store_db.snapshot(session.conn):
            # The heaviest query runs on a second connection in a thread while this one builds
            # and writes the other reports; its file is written last.
            beside = reports.Beside(BESIDE, context, period, session.db_path, reports.fingerprint(session.conn),
                                    shared=SHARED)

            def jobs():  # the reports that need nothing from the thread first
                for name in FIRST + [n for n in reports.NAMES if n not in FIRST and n not in BESIDE] + list(BESIDE):
                    report = beside.get(name) if name in BESIDE else reports.build(name, context, period)
                    for fmt in chosen:
                        yield report, fmt, target / f"{name}-{stamp}.{writers.EXTENSIONS[fmt]}"

            written = writers.save(jobs())
        if not quiet:
            for path in written:
                typer.echo(str(path))

    run(ctx, work)


# During an export a thread (reports.Beside) computes the per-customer figures and at-risk
# while the main thread writes the reports that need neither; those go first.
BESIDE = ("at-risk",)
SHARED = ("points_due", "year_figures")  # reports.Context's per-customer figures
FIRST = ["summary", "visits", "rewards"]


def _formats(text: str) -> list[str]:
    from loyalty_cli.domain.errors import BadInput
    from loyalty_cli.output.writers import FORMATS

    chosen = []
    for part in text.split(","):
        fmt = part.strip().lower()
        if fmt not in FORMATS:
            raise BadInput(f"--format must be one or more of {', '.join(FORMATS)}, got {part.strip()!r}")
        if fmt not in chosen:
            chosen.append(fmt)
    return chosen
