"""`loyalty report ...`: reports for the owner and for cron (issue 4).

Thin: parse the options, resolve the period, build the report (reporting.catalog) and hand it
to a writer, or run the export (reporting.export). Heavy imports (rich) happen inside the writers
that need them.
"""

from typing import Annotated

import typer

from loyalty_cli.cli.common import check_directory, format_asked, run, shop_locale
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import db as store_db

report_app = typer.Typer(
    help="Reports: summary, customers, visits, rewards, liability, at-risk, feedback, campaigns, clv, cohorts; "
    "export for cron.", no_args_is_help=True)

_PERIOD_HELP = "today, yesterday, last-7-days, last-month, this-month or YYYY-MM-DD (shop's time zone)."
SinceOpt = Annotated[str | None, typer.Option("--since", help="First day: " + _PERIOD_HELP, show_default=False)]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last day, included (default: today): " + _PERIOD_HELP,
                                                 show_default=False)]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", "-f", help="table | csv | excel-csv | json | xlsx | html (default: from --output's extension; "
    "a table on a terminal, CSV in a pipe). excel-csv: CSV for a double-click in the shop's country's "
    "spreadsheet.", show_default=False)]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (atomically) "
                                                  "instead of the screen.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
LocationOpt = Annotated[str | None, typer.Option(
    "--location", metavar="NAME", help="Only this shop's visits and customers (a chain's visits.location).",
    show_default=False)]
HorizonOpt = Annotated[int, typer.Option("--horizon", metavar="DAYS", help="Expected visits and value over this many "
                                         "days after --until.")]
CategoryOpt = Annotated[str | None, typer.Option(
    "--category", metavar="NAME", help="Only the visits of this category (one of [shop] categories) and what "
    "they earned.", show_default=False)]
CohortsSinceOpt = Annotated[str | None, typer.Option(
    "--since", help="The first cohort's month (default: 12 months up to --until's): " + _PERIOD_HELP,
    show_default=False)]


def _show(ctx: typer.Context, name: str, since=None, until=None, fmt=None, output=None, json=False,
          location=None, **options) -> None:
    """Build one report (with any `options` its builder takes) and write it to --output or to stdout."""

    def work(session):
        from pathlib import Path

        from loyalty_cli.domain import clock
        from loyalty_cli.output import console as render
        from loyalty_cli.output import writers
        from loyalty_cli.reporting import catalog
        from loyalty_cli.reporting.context import Context

        chosen = writers.choose_format(format_asked(fmt, json), output, render.is_terminal())
        target = Path(output) if output and output != "-" else None
        if target is not None:
            check_directory(target.parent if str(target.parent) else Path("."), "--output")
        now = clock.now()
        today = now.astimezone(session.config.tz).date()
        period = catalog.period_for(name, since, until, today)
        context = Context(session.conn, session.config, now, location=_location(location))
        with store_db.snapshot(session.conn):
            report = catalog.build(name, context, period, **options)
            locale = shop_locale(session.config)
            if target is not None:
                writers.save([(report, chosen, target)], locale)
            else:
                writers.emit(report, chosen, locale)  # a reader gone (`| head`) is no error: cli/edge

    run(ctx, work)


@report_app.command()
def summary(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
            output: OutputOpt = None, json: JsonOpt = False, category: CategoryOpt = None,
            location: LocationOpt = None):
    """Visits, customers, revenue, what was issued and redeemed, reward cost; visits per day and per category."""
    _show(ctx, "summary", since, until, fmt, output, json, category=category, location=location)


@report_app.command()
def customers(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
              output: OutputOpt = None, json: JsonOpt = False, location: LocationOpt = None):
    """Every customer: visits, spend, last visit, tier, balances, open vouchers (and the period's visits)."""
    _show(ctx, "customers", since, until, fmt, output, json, location=location)


@report_app.command()
def visits(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
           output: OutputOpt = None, json: JsonOpt = False, category: CategoryOpt = None,
            location: LocationOpt = None):
    """Every visit in the period, voided ones marked."""
    _show(ctx, "visits", since, until, fmt, output, json, category=category, location=location)


@report_app.command()
def rewards(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
            output: OutputOpt = None, json: JsonOpt = False, category: CategoryOpt = None,
            location: LocationOpt = None):
    """Vouchers issued, redeemed, expired and voided in the period, with codes, dates, face value and cost."""
    _show(ctx, "rewards", since, until, fmt, output, json, category=category, location=location)


@report_app.command()
def liability(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None, json: JsonOpt = False,
              location: LocationOpt = None):
    """What the shop owes today: points, store credit, open vouchers; what expires in 30 days."""
    _show(ctx, "liability", fmt=fmt, output=output, json=json, location=location)


@report_app.command("at-risk")
def at_risk(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None, json: JsonOpt = False,
            location: LocationOpt = None):
    """Customers to call: regulars overdue by their own rhythm, and those one visit from a reward."""
    _show(ctx, "at-risk", fmt=fmt, output=output, json=json, location=location)


@report_app.command()
def feedback(ctx: typer.Context, since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
             output: OutputOpt = None, json: JsonOpt = False, location: LocationOpt = None):
    """Customer feedback: responses, average, NPS (0-10 scale), per month, comments, whom to call back."""
    _show(ctx, "feedback", since, until, fmt, output, json, location=location)


@report_app.command()
def clv(ctx: typer.Context, until: UntilOpt = None, horizon: HorizonOpt = 365, fmt: FormatOpt = None,
        output: OutputOpt = None, json: JsonOpt = False, location: LocationOpt = None):
    # The help's backslash keeps rich from reading [stats] as markup (and printing nothing of it).
    """What each customer is worth and who is still a customer: BG/NBD and Gamma-Gamma fitted on the visits
    (needs pip install 'loyalty-cli\\[stats]')."""
    _show(ctx, "clv", until=until, fmt=fmt, output=output, json=json, horizon_days=horizon, location=location)


@report_app.command()
def campaigns(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None, json: JsonOpt = False):
    """Contacts per campaign, and how many of those customers came back within 30 days."""
    _show(ctx, "campaigns", fmt=fmt, output=output, json=json)


@report_app.command()
def cohorts(ctx: typer.Context, since: CohortsSinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = None,
            output: OutputOpt = None, json: JsonOpt = False, location: LocationOpt = None):
    """Do customers come back? Monthly cohorts by first visit, and the share of each visiting month by month."""
    _show(ctx, "cohorts", since, until, fmt, output, json, location=location)


@report_app.command()
def export(
    ctx: typer.Context,
    directory: Annotated[str, typer.Option("--dir", help="Directory to write into (it must exist).",
                                           show_default=False)],
    day: Annotated[str | None, typer.Option("--date", help="The day or period to export (default: yesterday): "
                                               + _PERIOD_HELP, show_default=False)] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    formats: Annotated[str | None, typer.Option(
        "--format", "-f", help="csv, excel-csv, json, xlsx, html or table; several separated by commas (csv,xlsx). "
        "Default: excel-csv when the shop's locale is not English, else csv.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for cron).")] = False,
):
    """Write every report for a period into a directory, with dated names (for cron)."""

    def work(session):
        from pathlib import Path

        from loyalty_cli.domain import clock
        from loyalty_cli.domain.errors import BadInput
        from loyalty_cli.reporting.context import Context
        from loyalty_cli.reporting.export import export as export_reports
        from loyalty_cli.reporting.period import exact_period, resolve_period

        locale = shop_locale(session.config)
        chosen = _formats(formats or default_export_format(locale))
        target = Path(directory)
        check_directory(target, "--dir")
        now = clock.now()
        today = now.astimezone(session.config.tz).date()
        if day is not None and (since is not None or until is not None):
            raise BadInput(Phrase("give --date, or --since/--until, not both"))
        if since is not None or until is not None:
            period = resolve_period(since, until, today)
        else:
            period = exact_period(day or "yesterday", today)
        context = Context(session.conn, session.config, now)
        written = export_reports(context, period, session.db_path, target, chosen, locale)
        if not quiet:
            for path in written:
                typer.echo(str(path))

    run(ctx, work)


def default_export_format(locale: str) -> str:
    """A file for the shop's own spreadsheet, unless the shop is English-speaking, where RFC 4180
    CSV opens right: `--format csv` always gives RFC 4180."""
    return "csv" if locale.replace("-", "_").split("_")[0].lower() == "en" else "excel-csv"


def _location(text: str | None) -> str | None:
    """--location tidied: the name as visits record it ('' or spaces: every location)."""
    from loyalty_cli.domain.text import tidy

    return tidy(text)


def _formats(text: str) -> list[str]:
    from loyalty_cli.domain.errors import BadInput
    from loyalty_cli.output.writers import FORMATS

    chosen = []
    for part in text.split(","):
        fmt = part.strip().lower()
        if fmt not in FORMATS:
            raise BadInput(Phrase("--format must be one or more of {FORMATS}, got {name}",
                                  FORMATS=', '.join(FORMATS), name=repr(part.strip())))
        if fmt not in chosen:
            chosen.append(fmt)
    if "csv" in chosen and "excel-csv" in chosen:
        raise BadInput(Phrase("--format csv and excel-csv would write the same NAME-STAMP.csv files: "
                              "give one of them"))
    return chosen
