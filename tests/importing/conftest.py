"""Fixtures and helpers of the import's tests."""

import sqlite3
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


@pytest.fixture
def hungarian(monkeypatch):
    monkeypatch.setenv("LOYALTY_CONFIG", str(FIXTURES / "hu.toml"))


def query(db_path, sql, *args):
    if str(db_path).startswith("postgresql://"):
        from loyalty_cli.store import db as store_db

        conn = store_db.connect(db_path, create=False)
    else:
        conn = sqlite3.connect(db_path)
        conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()




@pytest.fixture(params=["here", "reader-process"])
def reader(request, monkeypatch):
    """Parsed in this process, or (on Linux) as a big file is: in a forked reader while this
    process writes, new phone numbers shared with a helper. Same results."""
    if request.param == "reader-process":
        from loyalty_cli.importing import phones as import_phones
        from loyalty_cli.importing import reader as import_reader
        from loyalty_cli.importing import sources as import_formats

        if not import_reader.can_fork():
            pytest.skip("no fork here: the reader process is never used")
        monkeypatch.setattr(import_reader, "FORK_FROM_LINES", 0)
        monkeypatch.setattr(import_phones, "FORK_FROM", 1)
        monkeypatch.setattr(import_formats, "CHUNK", 64)  # many batches, written as they come
    return request.param
