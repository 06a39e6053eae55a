"""Published rules (`loyalty config publish`): config_versions, one row per version, newest in force."""

from datetime import datetime

from loyalty_cli.domain import clock


def latest(conn):
    """The version in force (id, at, author, source, sha256, toml), or None: one primary-key seek,
    as every command of every till asks it."""
    return conn.execute("SELECT id, at, author, source, sha256, toml FROM config_versions "
                        "ORDER BY id DESC LIMIT 1").fetchone()


def publish(conn, at: datetime, author: str, source: str | None, sha256: str, toml: str) -> int:
    """Store a new version; its id, one above the last."""
    return conn.execute("INSERT INTO config_versions (at, author, source, sha256, toml) VALUES (?, ?, ?, ?, ?) "
                        "RETURNING id", (clock.to_db(at), author, source, sha256, toml)).fetchone()[0]

