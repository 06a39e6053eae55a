"""A cards file's `marketing` column (issue 12): each row's yes/no read, and the consents that
change written to the append-only consent log with the source "import <file name>".

A consent equal to the customer's consent now is not written again, so importing the same file
twice adds nothing. Two rows for one phone: the later row's consent is the one that counts.
"""

from pathlib import PurePath

from loyalty_cli.domain import campaigns
from loyalty_cli.importing.cells import shortened
from loyalty_cli.importing.options import RowError
from loyalty_cli.store import bulk
from loyalty_cli.store import consents as store


def consent_cells(cells: list, errors: dict) -> list:
    """1, 0 or None (an empty cell) per row; any other word rejects the row, naming the column."""
    values = [None] * len(cells)
    for i, cell in enumerate(cells):
        if i in errors or not cell.strip():
            continue
        values[i] = campaigns.consent_value(cell)
        if values[i] is None:
            errors[i] = RowError("marketing", shortened(cell.strip()),
                                 f"marketing must be {campaigns.CONSENT_HELP}, got {cell.strip()!r}")
    return values


def write_consents(job, conn, rows) -> None:
    """The rows' consents, for the customers the import wrote (rows rejected later are left out)."""
    rejected = {problem.line for problem in job.rejects.problems}
    said = {phone: value for line, phone, value in zip(rows.line, rows.phone, rows.marketing, strict=True)
            if value is not None and line not in rejected}
    if not said:
        return
    ids = {}
    for chunk in bulk.chunks(said):
        ids.update((row["phone"], row["id"]) for row in bulk.customers_with_phones(conn, chunk))
    now = store.current_of(conn, list(ids.values()))
    at, source = job.now_db, f"import {PurePath(job.source.name).name}"  # the file's name, not where it lay
    changed = [(ids[phone], at, value, source) for phone, value in said.items()
               if phone in ids and now.get(ids[phone]) != value]
    store.append_many(conn, changed)
    job.summary["consents_recorded"] += len(changed)
