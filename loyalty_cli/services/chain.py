"""A chain's shared programme: publishing the rules every till then uses (config/published.py)."""

import hashlib
import os
from pathlib import Path

from loyalty_cli.config import load as config_load
from loyalty_cli.config import published
from loyalty_cli.domain import clock, text
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services.session import Session
from loyalty_cli.store import config_versions
from loyalty_cli.store import db as store_db

AUTHOR_MAX = 100


def publish_config(session: Session, path_text: str, author: str | None) -> dict:
    """Validate the file and store it as the next version, unless it is the version in force
    already (publishing twice is harmless). Nothing is stored if the file does not load."""
    path = Path(path_text).expanduser()
    config = config_load.load(path, str(path))  # BadInput, with the line, for a broken file
    author = _author(author)
    digest = hashlib.sha256(config.text.encode("utf-8")).hexdigest()
    conn = session.writable_conn
    with store_db.transaction(conn):
        current = config_versions.latest(conn)
        if current is not None and current["sha256"] == digest:
            return _result(current, path, new=False)
        config_versions.publish(conn, clock.now(), author, str(path.resolve()), digest, config.text)
        return _result(config_versions.latest(conn), path, new=True)


def _result(row, path: Path, new: bool) -> dict:
    return {"version": row["id"], "new": new, "at": row["at"], "author": row["author"], "source": row["source"],
            "sha256": row["sha256"], "file": str(path), "in_force": published.describe(row)}


def _author(given: str | None) -> str:
    """--author, else $USER (else $LOGNAME): who published, as people will read it."""
    value = text.tidy(given if given is not None else os.environ.get("USER") or os.environ.get("LOGNAME"))
    if not value:
        raise BadInput(Phrase("--author is needed: no $USER to take it from"))
    problem = text.field_problem(value, AUTHOR_MAX)
    if problem:
        raise BadInput(Phrase("--author {problem}", problem=problem))
    return value
