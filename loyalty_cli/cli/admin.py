"""Keeping the shop's files healthy: doctor, expire, paths."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, run
from loyalty_cli.domain.i18n import Phrase, say, tr
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
            render.lines(*(say(problem) for problem in problems))
        else:
            from loyalty_cli.store.db import is_postgres

            check = tr("full integrity check") if full else tr("quick check")
            engine = (tr("PostgreSQL keeps its own pages and foreign keys") if is_postgres(conn)
                      else tr("SQLite's {check} reports no damage").format(check=check))
            render.message(tr("{path}: every balance, voucher and ledger line is consistent; {engine}").format(
                path=session.db_path, engine=engine))
        if problems:
            from loyalty_cli.domain.errors import Refused

            raise Refused(Phrase("problems found: {count}", count=len(problems)))

    run(ctx, work)


def expire(ctx: typer.Context, json: JsonOpt = False):
    """Write due expiries of points and vouchers for everyone, and forget customers silent for longer
    than [privacy] forget_inactive_days (for cron; safe to repeat)."""
    from loyalty_cli.services import counter

    def work(session):
        totals = counter.expire_all(session)
        said = tr("expired {points} points and {vouchers} vouchers of {customers} customers").format(
            points=totals["points"], vouchers=totals["vouchers"], customers=totals["customers"])
        days = session.config.privacy.forget_inactive_days
        if days is not None:  # [privacy] forget_inactive_days: the key is there only when it is set
            from loyalty_cli.domain import clock
            from loyalty_cli.services import privacy

            totals["forgotten"] = privacy.forget_inactive(session, clock.now())
            said += tr("; forgot {customers} customers with no visit in {days} days").format(
                customers=totals["forgotten"], days=days)
        if json:
            render.emit_json(totals)
        else:
            render.message(said)

    run(ctx, work)


def paths(ctx: typer.Context, json: JsonOpt = False):
    """Where the database and the config are, and why."""
    from loyalty_cli.system import paths as where

    def work(session):
        db, db_origin = where.db_path(session.db_option)
        config, config_origin = where.config_path(session.config_option)
        missing = config is not None and not config.exists()
        data = {"db": str(db), "db_from": db_origin, "config": str(config) if config else None,
                "config_from": config_origin, "config_missing": missing, "outbox": str(session.outbox_path)}
        if json:
            render.emit_json(data)
        else:
            # A config named but missing is not replaced by the built-in rules: every command refuses to run.
            origin = tr("{origin}; missing: commands refuse to run until it exists").format(
                origin=config_origin) if missing else config_origin
            render.lines(tr("database: {path} ({origin})").format(path=db, origin=db_origin),
                         tr("config:   {path} ({origin})").format(path=config or tr("(none)"), origin=origin),
                         tr("outbox:   {path} (visits recorded while the server is unreachable)").format(
                             path=session.outbox_path))

    run(ctx, work)


def sync(ctx: typer.Context, json: JsonOpt = False):
    """Record on the server the visits this till recorded offline (safe to repeat: nothing twice)."""
    from loyalty_cli.domain.errors import Refused
    from loyalty_cli.services import offline

    def work(session):
        totals = offline.push(session)
        if json:
            render.emit_json(totals)
        else:
            render.message(tr("pushed {pushed} offline visit(s); {already} were recorded already").format(
                pushed=totals["pushed"], already=totals["already"]))
        if totals["refused"]:
            for refused in totals["refused"][:-1]:
                render.error(say(Phrase("offline visit {ref} of {phone}: {problem}", ref=refused["ref"],
                                        phone=refused["phone"], problem=refused["problem"])))
            last = totals["refused"][-1]
            raise Refused(Phrase("offline visit {ref} of {phone}: {problem} (kept in the outbox; fix it, then "
                                 "`loyalty sync` again)", ref=last["ref"], phone=last["phone"],
                                 problem=last["problem"]))

    run(ctx, work, push_first=False)


COMMANDS = (doctor, expire, paths, sync)
