"""`loyalty simulate CONFIG ...`: what the programme in force, and each candidate, would have cost
over the shop's own visits (issue 10). Reads only: nothing is written to the database."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import check_directory, format_asked, run, shop_locale
from loyalty_cli.cli.reports import FormatOpt, JsonOpt, OutputOpt, SinceOpt, UntilOpt
from loyalty_cli.domain.i18n import Phrase


def simulate(
    ctx: typer.Context,
    configs: Annotated[list[str] | None, typer.Argument(
        metavar="CONFIG", help="Candidate config files (TOML); each is a scenario named by the file's stem.",
        show_default=False)] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    redemption: Annotated[str | None, typer.Option(
        "--redemption", metavar="observed|RATE", help="The share of what is issued that gets redeemed: 1 (the "
        "default, the worst case), a share such as 0.7, or 'observed': this shop's own history.",
        show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", min=1, max=64, metavar="N", help="Processes replaying the scenarios side by side (default: one "
        "per CPU core, at most one per scenario; 1: all in this process).", show_default=False)] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    json: JsonOpt = False,
):
    """Replay every visit through the config in force and each CONFIG: rewards issued, their cost, the liability."""

    def work(session):
        from pathlib import Path

        from loyalty_cli.config import load as config_load
        from loyalty_cli.domain import clock
        from loyalty_cli.domain.errors import BadInput
        from loyalty_cli.output import console as render
        from loyalty_cli.output import writers
        from loyalty_cli.reporting import simulate as simulation
        from loyalty_cli.reporting.context import Context
        from loyalty_cli.store import db as store_db

        candidates = [simulation.Scenario(Path(path).stem, path, config_load.load(Path(path), path))
                      for path in configs or ()]
        names = [candidate.name for candidate in candidates]
        for name in names:
            if name == "current" or names.count(name) > 1:
                raise BadInput(Phrase("two scenarios would be called {name}: rename a config file", name=repr(name)))
        chosen = writers.choose_format(format_asked(fmt, json), output, render.is_terminal())
        target = Path(output) if output and output != "-" else None
        if target is not None:
            check_directory(target.parent if str(target.parent) else Path("."), "--output")
        context = Context(session.conn, session.config, clock.now())
        with store_db.snapshot(session.conn):
            period = simulation.resolve(context, since, until)
            report = simulation.build(context, period, candidates, redemption, jobs)
        locale = shop_locale(session.config)
        if target is not None:
            writers.save([(report, chosen, target)], locale)
        else:
            writers.emit(report, chosen, locale)  # a reader gone (`| head`) is no error: cli/edge

    run(ctx, work)


COMMANDS = (simulate,)
