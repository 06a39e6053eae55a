"""One import, one transaction: every accepted row lands or none does.

`import_in_one_transaction` wraps the kind-specific writing in one IMMEDIATE transaction and
rolls it back when rows are invalid (without --skip-invalid), on --dry-run, or when nothing
was imported, so a dry run counts exactly what a real one would do and a re-run leaves no trace.
"""

import json
from contextlib import contextmanager

from loyalty_cli.domain import clock
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.options import InvalidRows
from loyalty_cli.importing.summary import complete, landed, nothing_written
from loyalty_cli.store import bulk
from loyalty_cli.store import db as store_db

CACHE_KIB = 32_768  # SQLite page cache for an import (the default 2 MB thrashes on big indexes)


class _RollBack(Exception):
    pass


def import_in_one_transaction(job, conn, write) -> dict:
    """write(conn, import_id) in one transaction; the summary, or InvalidRows when rows are bad
    and --skip-invalid was not given (then nothing was imported)."""
    summary, options, rejects = job.summary, job.options, job.rejects
    summary["import_id"] = None
    try:
        with store_db.bulk_writing(conn, CACHE_KIB, own_ids=False), store_db.transaction(conn):
            import_id = bulk.record_import(conn, job.kind, job.source.name, job.source.sha256, clock.to_db(job.now))
            write(conn, import_id)
            _check_options_used(job)
            if rejects.problems and not options.skip_invalid:
                raise _RollBack
            if options.dry_run or not landed(summary):
                raise _RollBack  # a re-run that finds everything imported leaves no trace
            summary["import_id"] = import_id
            _complete(job)
            bulk.save_import_summary(conn, import_id, json.dumps(summary, ensure_ascii=False))
    except _RollBack:
        pass
    finally:
        try:
            if options.rejects:
                rejects.read_missing_rows()
        finally:
            job.source.close()
    _complete(job)
    if options.rejects:
        rejects.write(options.rejects)
    if rejects.problems and not options.skip_invalid:
        nothing_written(summary, job.currency)
        count = summary["rejected"]
        raise InvalidRows(
            f"{job.source.name}: {count} row{'s' if count != 1 else ''} not valid; nothing was imported "
            "(fix them, or import the rest with --skip-invalid --rejects FILE)", summary, rejects.problems)
    return summary


def _complete(job) -> None:
    job.rejects.sort()
    rejects_file = job.options.rejects if job.rejects.rows else None  # written only when rows were rejected
    complete(job.summary, job.rejects.problems, rejects_file, job.currency)


def _check_options_used(job) -> None:
    """Each --map and --ignore key of a JSON Lines file must have come up in some line."""
    if job.source.format != "jsonl":
        return  # CSV headers were checked against --map/--ignore up front
    columns = job.columns
    for key in list(columns.mapping) + list(columns.ignore):
        if key not in columns.used_options:
            raise BadInput(Phrase("--map/--ignore: no line of {name} has a key {value}", name=job.source.name,
                                  value=repr(columns.written[key])))


@contextmanager
def scratch_database(session):
    """--dry-run before there is a database: run against an empty one in a temporary folder,
    so that a dry run creates nothing where the real database will be."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="loyalty-dry-run-") as folder:
        path = Path(folder) / "dry-run.db"
        conn = store_db.connect(path)
        session.__dict__["conn"] = conn
        try:
            yield
        finally:
            conn.close()
            session.__dict__.pop("conn", None)
