"""Where files live: option, then environment variable, then the per-user directory."""

import os
from pathlib import Path

from loyalty_cli.domain.i18n import Phrase

APP = "loyalty-cli"


def user_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def user_config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


DB_URL_SCHEMES = ("postgresql://", "postgres://")


def db_path(option: str | None) -> tuple[Path | str, str]:
    """The database file (or a PostgreSQL URL, kept as text) and where that choice came from."""
    if option is not None:
        if not option.strip():
            from loyalty_cli.domain.errors import BadInput

            raise BadInput(Phrase("--db is empty"))
        return _db_target(option, "--db"), "--db"
    env = os.environ.get("LOYALTY_DB")
    if env:
        return _db_target(env, "LOYALTY_DB"), "LOYALTY_DB"
    return user_data_dir() / "loyalty.db", "default"


def _db_target(text: str, origin: str) -> Path | str:
    if not text.startswith(DB_URL_SCHEMES):
        return Path(text).expanduser()
    from urllib.parse import urlsplit

    try:
        password = urlsplit(text).password
    except ValueError:
        password = None
    if password:
        from loyalty_cli.domain.errors import BadInput
        from loyalty_cli.domain.i18n import Phrase

        raise BadInput(Phrase("{origin}: a password in the database URL is refused (it would show in the process "
                              "list and shell history); use PGPASSWORD or ~/.pgpass", origin=origin))
    return text


def config_path(option: str | None) -> tuple[Path | None, str]:
    """The config file (None: built-in defaults) and where it came from."""
    if option:
        return Path(option).expanduser(), "--config"
    env = os.environ.get("LOYALTY_CONFIG")
    if env:
        return Path(env).expanduser(), "LOYALTY_CONFIG"
    local = Path("loyalty.toml")
    if local.is_file():
        return local, "./loyalty.toml"
    user = user_config_dir() / "loyalty.toml"
    if user.is_file():
        return user, "user config dir"
    return None, "built-in defaults"


SERVER_SCHEMES = ("postgresql:", "postgres:")


def is_server(db: Path) -> bool:
    """Whether the database is a server's URL (--db postgresql://...), not a file."""
    return str(db).startswith(SERVER_SCHEMES)


def outbox_path(config_option: str | None) -> Path:
    """The till's outbox of visits recorded while the server was unreachable: $LOYALTY_OUTBOX,
    else beside the till's config file, else in the user data dir. Per till, never shared."""
    env = os.environ.get("LOYALTY_OUTBOX")
    if env:
        return Path(env).expanduser()
    config, _origin = config_path(config_option)
    folder = config.parent if config is not None else user_data_dir()
    return folder / "loyalty-outbox.db"
