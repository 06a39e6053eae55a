"""Keeping the shop's files healthy: doctor, expire, paths."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, run
from loyalty_cli.output import console as render


def doctor(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option("--full", help="Also match every index against its table "
                                       "(SQLite's full integrity check: ten times slower).")] = False,
    json: JsonOpt = False,
):
    """Check the database: SQLite's own check, every cached figure and voucher against the ledger,
    and every invariant the engine relies on."""
    from loyalty_cli.store import doctor as doctor_checks

    def work(session):
        conn = session.conn
        problems = doctor_checks.problems(conn, session.config, full)
        if json:
            render.emit_json({"ok": not problems, "problems": problems})
        elif problems:
            render.lines(*problems)
        else:
            from loyalty_cli.store.db import is_postgres

            check = "full integrity check" if full else "quick check"
            engine = ("PostgreSQL keeps its own pages and foreign keys" if is_postgres(conn)
                      else f"SQLite's {check} reports no damage")
            render.message(f"{session.db_path}: every balance, voucher and ledger line is consistent; {engine}")
        if problems:
            from loyalty_cli.domain.errors import Refused

            raise Refused(f"{len(problems)} problem(s) found")

    run(ctx, work)


def expire(ctx: typer.Context, json: JsonOpt = False):
    """Write due expiries of points and vouchers for everyone (for cron; safe to repeat)."""
    from loyalty_cli.services import counter

    def work(session):
        totals = counter.expire_all(session)
        if json:
            render.emit_json(totals)
        else:
            render.message(f"expired {totals['points']} points and {totals['vouchers']} vouchers "
                           f"of {totals['customers']} customers")

    run(ctx, work)


def paths(ctx: typer.Context, json: JsonOpt = False):
    """Where the database and the config are, and why."""
    from loyalty_cli.system import paths as where

    def work(session):
        db, db_origin = where.db_path(session.db_option)
        config, config_origin = where.config_path(session.config_option)
        data = {"db": str(db), "db_from": db_origin, "config": str(config) if config else None,
                "config_from": config_origin}
        if json:
            render.emit_json(data)
        else:
            render.lines(f"database: {db} ({db_origin})", f"config:   {config or '(none)'} ({config_origin})")

    run(ctx, work)


COMMANDS = (doctor, expire, paths)
