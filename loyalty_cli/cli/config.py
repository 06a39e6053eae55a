"""`loyalty config check|show|init`: the shop's reward rules (TOML)."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, run
from loyalty_cli.domain import i18n
from loyalty_cli.domain.i18n import say, tr
from loyalty_cli.output import console as render

config_app = typer.Typer(help="Check, show and create the shop's reward rules (TOML).", no_args_is_help=True)


@config_app.command("check")
def config_check(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(help="The file to check (default: the config in force).")] = None,
    json: JsonOpt = False,
):
    """Validate a config file: one clear line per problem, exit 2 if it is broken."""
    from pathlib import Path

    from loyalty_cli.config import load as config_load
    from loyalty_cli.config import validate as config_validate
    from loyalty_cli.domain.errors import BadInput

    def work(session):
        if path:  # the file checked speaks its own shop's language, even when it is broken
            i18n.use(config_load.declared_locale(Path(path)) or i18n.current())
        try:
            loaded = config_load.load(Path(path), path) if path else session.config
            where = str(loaded.source or loaded.origin)
            config_validate.check_phone_region(loaded.text, where, loaded.shop.phone_region)
        except config_validate.ConfigError as exc:
            if json:
                render.emit_json({"ok": False, "path": path, "problems": exc.problems})
            for problem in exc.problems[:-1]:
                render.error(say(problem))
            raise BadInput(exc.problems[-1]) from None
        warnings, notes = config_validate.warnings(loaded), config_validate.notes(loaded)
        summary = {"ok": True, "path": where, "rewards": len(loaded.rewards),
                   "rules": len(loaded.rules), "tiers": len(loaded.tiers), "warnings": warnings, "notes": notes}
        if json:
            render.emit_json(summary)
            return
        for warning in warnings:
            render.warning(f"{where}: {say(warning)}")
        for note in notes:
            render.note(f"{where}: {say(note)}")
        render.message(tr("{path}: OK ({rewards} rewards, {rules} rules, {tiers} tiers)").format(
            path=where, rewards=summary["rewards"], rules=summary["rules"], tiers=summary["tiers"]))

    run(ctx, work)


@config_app.command("show")
def config_show(ctx: typer.Context, json: JsonOpt = False):
    """The config in force and where it came from."""
    from loyalty_cli.config import write as config_module

    def work(session):
        loaded = session.config
        data = config_module.as_dict(loaded)
        stacking = [config_module.PROMOTIONS_STACK] if loaded.promotions else []
        if json:
            render.emit_json({"path": str(loaded.source) if loaded.source else None, "from": loaded.origin,
                              "config": data, "notes": stacking})
            return
        import tomli_w

        body = tomli_w.dumps(config_module.toml_ready(data))
        render.lines(f"# {loaded.source or 'built-in defaults'} (chosen by: {loaded.origin})",
                     *(f"# {note}" for note in stacking), *([body.removesuffix("\n")] if body else []))

    run(ctx, work)


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

    from loyalty_cli.config import write as config_write
    from loyalty_cli.system import paths as where

    def work(session):
        target = Path(path) if path else where.user_config_dir() / "loyalty.toml"
        if not path:
            target.parent.mkdir(parents=True, exist_ok=True)
        written = config_write.write_sample(target, force)
        render.message(tr("wrote {path}; edit it, then check it with `loyalty config check {path}`").format(
            path=written))

    run(ctx, work)
