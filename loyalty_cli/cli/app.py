"""The Typer command line: parse, call the core, render. No business logic lives here."""

import sys
from typing import Annotated

import typer

from loyalty_cli import __version__
from loyalty_cli.cli.edge import guarded
from loyalty_cli.cli.visit import run_visit
from loyalty_cli.output import console as render
from loyalty_cli.services.session import Session

app = typer.Typer(
    name="loyalty",
    help="A loyalty programme for small shops: punch cards, points, store credit, tiers and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Check, show and create the shop's reward rules (TOML).", no_args_is_help=True)
app.add_typer(config_app, name="config")
# Each of these modules keeps its heavy imports inside its commands.
from loyalty_cli.cli.imports import import_app  # noqa: E402
from loyalty_cli.cli.reports import report_app  # noqa: E402

app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")

PhoneArg = Annotated[list[str], typer.Argument(metavar="PHONE", help="Phone number, in any format (spaces allowed).",
                                               show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a card or table.")]


def _version(value: bool):
    if value:
        typer.echo(f"loyalty-cli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database file (default: $LOYALTY_DB, else the user data dir).",
                                              show_default=False)] = None,
    config: Annotated[str | None, typer.Option("--config", help="Config file (default: $LOYALTY_CONFIG, "
                                                  "./loyalty.toml, the user config dir, built-in rules).",
                                                  show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
):
    ctx.obj = Session(db, config, on_created=render.database_created)


def _run(ctx: typer.Context, work) -> None:
    session: Session = ctx.obj
    code = guarded(session, lambda: work(session))
    if code:
        raise typer.Exit(code)


def _phone(parts: list[str]) -> str:
    from loyalty_cli.domain.phones import join_words

    return join_words(parts)


@app.command()
def visit(
    ctx: typer.Context,
    phone: PhoneArg,
    amount: Annotated[str | None, typer.Option("--amount", help="Amount spent: 12.50 or 12,50.")] = None,
    items: Annotated[int | None, typer.Option("--items", help="Items bought (for punch cards that count items).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the visit.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Back-date: ISO date-time, shop-local unless it has an offset.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Customer's name (enrols or renames).")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="Receipt number or row id: the same ref is never recorded twice.")] = None,
    json: JsonOpt = False,
):
    """Record a visit, apply the rules and show the customer's card."""
    session: Session = ctx.obj
    code = run_visit(session.db_option, session.config_option, phone, amount, items, note, at, name, ref, json)
    if code:
        raise typer.Exit(code)


@app.command()
def enroll(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[str | None, typer.Option("--name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    birthday: Annotated[str | None, typer.Option("--birthday", help="YYYY-MM-DD")] = None,
    referred_by: Annotated[str | None, typer.Option("--referred-by", help="Phone of the customer who sent them.")] = None,
    json: JsonOpt = False,
):
    """Enrol a customer (with the welcome and referral bonuses)."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.enrol(session, _phone(phone), name=name, email=email, birthday=birthday, referred_by=referred_by)
        render.emit_json(data) if json else render.card(data, "customer enrolled")

    _run(ctx, work)


@app.command()
def edit(
    ctx: typer.Context,
    phone: PhoneArg,
    name: Annotated[str | None, typer.Option("--name")] = None,
    email: Annotated[str | None, typer.Option("--email", help="An empty string clears it.")] = None,
    birthday: Annotated[str | None, typer.Option("--birthday", help="YYYY-MM-DD; an empty string clears it.")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    json: JsonOpt = False,
):
    """Change a customer's details."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.edit(session, _phone(phone), name=name, email=email, birthday=birthday, note=note)
        render.emit_json(data) if json else render.card(data, "details saved")

    _run(ctx, work)


@app.command()
def show(
    ctx: typer.Context,
    phone: PhoneArg,
    last: Annotated[int, typer.Option("--last", min=0, max=1000, help="How many recent visits to list.")] = 5,
    json: JsonOpt = False,
):
    """Show a customer's card and their last visits (writes nothing)."""
    from loyalty_cli.domain import clock
    from loyalty_cli.services import counter, views

    def work(session):
        row = counter.customer(session, _phone(phone))
        data = views.card(session.conn, session.config, row, clock.now())
        data["recent_visits"] = views.visits(session.conn, session.config, row, last)
        if json:
            render.emit_json(data)
            return
        render.card(data)
        if last:
            render.table(data["recent_visits"], [("visit_id", "Visit"), ("at", "When"), ("amount", "Amount"),
                                                 ("items", "Items"), ("note", "Note"), ("voided", "Voided")],
                         title="Last visits", empty="no visits yet")

    _run(ctx, work)


@app.command()
def customers(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option("--search", help="Part of a phone, name or e-mail.")] = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Only customers holding this tier.")] = None,
    sort: Annotated[str, typer.Option("--sort", help="visits | spend | points | last-visit | name | enrolled")] = "last-visit",
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=10**9)] = 50,
    json: JsonOpt = False,
):
    """List customers."""
    from loyalty_cli.domain import clock
    from loyalty_cli.services import views

    def work(session):
        rows = views.customer_list(session.conn, session.config, clock.now(), search, tier, sort, limit)
        if json:
            render.emit_json(rows)
            return
        days = [{**row, "last_visit": (row["last_visit"] or "")[:10]} for row in rows]  # the date is enough here
        render.table(days, [("phone", "Phone"), ("name", "Name"), ("tier", "Tier"), ("visits", "Visits"),
                            ("spend", "Spend"), ("last_visit", "Last visit"), ("points", "Pts"),
                            ("credit", "Credit"), ("open_vouchers", "Vouch")],
                     title=f"Customers ({len(rows)})", empty="no customers match")

    _run(ctx, work)


@app.command()
def redeem(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(metavar="PHONE [VOUCHER_CODE_OR_REWARD_ID]",
                                               help="The phone, then a voucher code or a reward id (omit with --credit).",
                                               show_default=False)],
    credit: Annotated[str | None, typer.Option("--credit", help="Spend this much store credit instead.")] = None,
    json: JsonOpt = False,
):
    """Redeem a voucher, buy a reward with points, or spend store credit."""
    from loyalty_cli.services import counter

    def work(session):
        if credit is None and len(words) < 2:
            from loyalty_cli.domain.errors import BadInput

            raise BadInput("give the phone and then a voucher code or reward id, or use --credit AMOUNT")
        phone, target = (words, None) if credit is not None else (words[:-1], words[-1])
        data = counter.redeem(session, _phone(phone), target, credit)
        if json:
            render.emit_json(data)
            return
        done = data["redeemed"]
        if "credit" in done:
            from loyalty_cli.domain import money

            spent = money.display(money.parse_signed(done["credit"], data["currency"]), data["currency"])
            note = f"spent {spent} of store credit"
        else:
            note = f"redeemed {done['reward']} (voucher {done['voucher']})"
            if done["points"]:
                note += f" for {done['points']} points"
        render.card(data, note)

    _run(ctx, work)


@app.command()
def void(
    ctx: typer.Context,
    visit_id: Annotated[int, typer.Argument(help="The visit number shown when it was recorded.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    json: JsonOpt = False,
):
    """Undo a visit with reversing ledger entries (nothing is deleted)."""
    from loyalty_cli.services import counter

    def work(session):
        data = counter.void(session, visit_id, reason)
        if json:
            render.emit_json(data)
            return
        note = f"visit #{visit_id} voided"
        if data["kept_vouchers"]:
            note += f"; voucher(s) {', '.join(data['kept_vouchers'])} were already redeemed and stay so"
        render.card(data, note)

    _run(ctx, work)


@app.command()
def history(
    ctx: typer.Context,
    phone: PhoneArg,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=10**9)] = None,
    json: JsonOpt = False,
):
    """A customer's ledger, newest first."""
    from loyalty_cli.services import counter, views

    def work(session):
        row = counter.customer(session, _phone(phone))
        rows = views.history(session.conn, session.config, row, limit)
        if json:
            render.emit_json(rows)
            return
        render.table(rows, [("at", "When"), ("kind", "Kind"), ("punches", "Punch"), ("points", "Pts"),
                            ("credit", "Credit"), ("voucher", "Voucher"), ("visit_id", "Visit"),
                            ("reason", "Why")],
                     title=f"Ledger of {row['phone']}", empty="no entries")

    _run(ctx, work)


@app.command()
def doctor(ctx: typer.Context, json: JsonOpt = False):
    """Check the database: SQLite's own check, and every cached balance against the ledger."""
    from loyalty_cli.store import doctor as doctor_checks

    def work(session):
        conn = session.conn
        problems = doctor_checks.problems(conn)
        if json:
            render.emit_json({"ok": not problems, "problems": problems})
        elif problems:
            for problem in problems:
                print(problem)
        else:
            render.message(f"{session.db_path}: all balances match the ledger; SQLite reports no damage")
        if problems:
            from loyalty_cli.domain.errors import Refused

            raise Refused(f"{len(problems)} problem(s) found")

    _run(ctx, work)


@app.command()
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

    _run(ctx, work)


@app.command()
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
            print(f"database: {db} ({db_origin})")
            print(f"config:   {config or '(none)'} ({config_origin})")

    _run(ctx, work)


# ---- config ----------------------------------------------------------------------------------

@config_app.command("check")
def config_check(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(help="The file to check (default: the config in force).")] = None,
    json: JsonOpt = False,
):
    """Validate a config file: one clear line per problem, exit 2 if it is broken."""
    from pathlib import Path

    from loyalty_cli.config import load as config_module

    def work(session):
        try:
            loaded = config_module.load(Path(path), path) if path else session.config
            where = str(loaded.source or loaded.origin)
            config_module.check_phone_region(loaded.text, where, loaded.shop.phone_region)
        except config_module.ConfigError as exc:
            if json:
                render.emit_json({"ok": False, "path": path, "problems": exc.problems})
            for problem in exc.problems[:-1]:
                render.error(problem)
            raise config_module.BadInput(exc.problems[-1]) from None
        warnings = config_module.warnings(loaded)
        summary = {"ok": True, "path": where, "rewards": len(loaded.rewards),
                   "rules": len(loaded.rules), "tiers": len(loaded.tiers), "warnings": warnings}
        if json:
            render.emit_json(summary)
            return
        for warning in warnings:
            sys.stderr.write(f"warning: {where}: {warning}\n")
        render.message(f"{where}: OK ({summary['rewards']} rewards, {summary['rules']} rules, "
                       f"{summary['tiers']} tiers)")

    _run(ctx, work)


@config_app.command("show")
def config_show(ctx: typer.Context, json: JsonOpt = False):
    """The config in force and where it came from."""
    from loyalty_cli.config import load as config_module

    def work(session):
        loaded = session.config
        data = config_module.as_dict(loaded)
        if json:
            render.emit_json({"path": str(loaded.source) if loaded.source else None, "from": loaded.origin,
                              "config": data})
            return
        import tomli_w

        print(f"# {loaded.source or 'built-in defaults'} (chosen by: {loaded.origin})")
        print(tomli_w.dumps(config_module.toml_ready(data)), end="")

    _run(ctx, work)


@config_app.command("init")
def config_init(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(
        help="Where to write it (default: loyalty.toml in the user config dir, used from any folder).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
):
    """Write a starting config (the sample rules) to edit."""
    from pathlib import Path

    from loyalty_cli.config import load as config_module
    from loyalty_cli.system import paths as where

    def work(session):
        target = Path(path) if path else where.user_config_dir() / "loyalty.toml"
        if not path:
            target.parent.mkdir(parents=True, exist_ok=True)
        written = config_module.write_sample(target, force)
        render.message(f"wrote {written}; edit it, then check it with `loyalty config check {written}`")

    _run(ctx, work)
