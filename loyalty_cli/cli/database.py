"""`loyalty db copy SRC DST`: moving a shop's database between SQLite and PostgreSQL."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, run
from loyalty_cli.domain.i18n import Phrase, tr
from loyalty_cli.output import console as render

db_app = typer.Typer(help="The database itself: copy it between SQLite and PostgreSQL.", no_args_is_help=True)


@db_app.command("copy")
def copy(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="SRC", help="The database to copy: a file or a postgresql:// URL.")],
    target: Annotated[str, typer.Argument(metavar="DST", help="An empty PostgreSQL database (postgresql:// URL), "
                                          "or a new SQLite file.")],
    json: JsonOpt = False,
):
    """Copy a whole database, ids included, into an empty PostgreSQL database or a new SQLite file."""

    def work(session):
        from loyalty_cli.store import db as store_db
        from loyalty_cli.store.copy import copy_database
        from loyalty_cli.system import paths

        src_target, _ = paths.db_path(source)
        dst_target, _ = paths.db_path(target)
        if not store_db.exists(src_target):
            from loyalty_cli.domain.errors import Refused

            raise Refused(Phrase("no database at {path}", path=src_target))
        if not isinstance(dst_target, str) and dst_target.exists():
            from loyalty_cli.domain.errors import Refused

            raise Refused(Phrase("{path} exists: db copy writes a new SQLite file (or an empty PostgreSQL database)",
                                 path=dst_target))
        src = store_db.connect(src_target, create=False)
        try:
            dst = store_db.connect(dst_target, make_folder=False)
            try:
                counts = copy_database(src, dst, str(dst_target))
            except BaseException:
                dst.close()
                store_db.remove_if_empty(dst_target)
                raise
            dst.close()
        finally:
            src.close()
        if json:
            render.emit_json({"source": str(src_target), "target": str(dst_target), "rows": counts})
        else:
            total = sum(counts.values())
            render.message(tr("copied {total} rows ({customers} customers, {visits} visits, {ledger} ledger lines) "
                              "from {source} to {target}").format(
                total=total, customers=counts["customers"], visits=counts["visits"], ledger=counts["ledger"],
                source=src_target, target=dst_target))

    run(ctx, work)
