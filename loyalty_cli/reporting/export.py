"""`loyalty report export`: every report of a period written into a directory, for cron.

The per-customer figures and the heaviest report (at-risk) are built on a second connection in
a thread (BackgroundReports) while this one builds and writes the reports that need neither;
those go first, the background ones last.
"""

from pathlib import Path

from loyalty_cli.output import writers
from loyalty_cli.reporting import catalog
from loyalty_cli.reporting.background import BackgroundReports
from loyalty_cli.reporting.context import Context, fingerprint
from loyalty_cli.reporting.period import Period
from loyalty_cli.store import db as store_db

IN_BACKGROUND = ("at-risk",)
FIRST = ("summary", "visits", "rewards")  # they need nothing the thread computes


def order() -> list[str]:
    """Every report, in the order an export writes them."""
    middle = [name for name in catalog.NAMES if name not in FIRST and name not in IN_BACKGROUND]
    return [*FIRST, *middle, *IN_BACKGROUND]


def export(ctx: Context, period: Period, db_path, directory: Path, formats: list[str],
           locale: str = "en") -> list[Path]:
    """Write every report in every format into `directory` as NAME-STAMP.EXT, all from one
    snapshot of the database; the paths written, in order. `locale`: the shop's ('it_IT')."""
    stamp = period.stamp()
    ctx.fit_models = False  # see Context.fit_models
    with store_db.snapshot(ctx.conn):
        background = BackgroundReports(IN_BACKGROUND, ctx, period, db_path, fingerprint(ctx.conn),
                                       shared=Context.SHARED_FIGURES)

        def jobs():
            for name in order():
                report = background.get(name) if name in IN_BACKGROUND else catalog.build(name, ctx, period)
                for fmt in formats:
                    yield report, fmt, directory / f"{name}-{stamp}.{writers.EXTENSIONS[fmt]}"

        return writers.save(jobs(), locale)
