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
        warnings += _database_warnings(session, loaded)
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


def _database_warnings(session, config) -> list[str]:
    """What the config asks of the shop's data that is not there (a birthday rule and no birthdays);
    nothing when there is no database yet, which this check does not create."""
    from loyalty_cli.store import db as store_db

    if not store_db.exists(session.db_path):
        return []
    from loyalty_cli.services.warnings import birthday_warning

    return list(filter(None, [birthday_warning(config, session.conn)]))


@config_app.command("show")
def config_show(ctx: typer.Context, json: JsonOpt = False):
    """The config in force and where it came from."""
    from loyalty_cli.config import write as config_module

    def work(session):
        loaded = session.config
        data = config_module.as_dict(loaded)
        stacking = [config_module.PROMOTIONS_STACK] if loaded.promotions else []
        local = session.local_config
        if json:
            render.emit_json({"path": str(loaded.source) if loaded.source else None, "from": loaded.origin,
                              "published": _published(session.published_version),
                              "local": str(local.source) if local.source else local.origin,
                              "config": data, "notes": stacking})
            return
        import tomli_w

        body = tomli_w.dumps(config_module.toml_ready(data))
        if loaded.published is not None:
            version = session.published_version
            heading = ["# " + tr("rules: {origin} (from {source})").format(origin=say(loaded.origin),
                                                                           source=version["source"]),
                       "# " + tr("this till's location and phone_region: {source}").format(
                           source=local.source or tr("built-in defaults"))]
        else:
            heading = ["# " + (tr("rules: local file {path} (chosen by: {origin})").format(
                path=loaded.source, origin=loaded.origin) if loaded.source else tr("rules: built-in defaults"))]
        render.lines(*heading, *(f"# {note}" for note in stacking), *body.splitlines())

    run(ctx, work)


def _published(version) -> dict | None:
    if version is None:
        return None
    return {"version": version["id"], "at": version["at"], "author": version["author"],
            "source": version["source"], "sha256": version["sha256"]}


@config_app.command("publish")
def config_publish(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="The config file to publish.", show_default=False)],
    author: Annotated[str | None, typer.Option("--author", help="Who publishes (default: $USER).",
                                               show_default=False)] = None,
    json: JsonOpt = False,
):
    """Store a config in the shared database as the rules of every till (validated, versioned)."""
    from loyalty_cli.services import chain

    def work(session):
        result = chain.publish_config(session, path, author)
        if json:
            render.emit_json(result)
        elif result["new"]:
            render.message(tr("published {file} as version {version}: every till now uses it").format(
                file=result["file"], version=result["version"]))
        else:
            render.message(tr("{file} is the version in force already ({in_force}): nothing published").format(
                file=result["file"], in_force=say(result["in_force"])))

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
