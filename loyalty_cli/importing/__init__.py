"""Bulk import of old punch cards and visit history (`loyalty import cards|visits`).

The whole file is one transaction: every accepted row lands or none does, and --dry-run runs
the very same code and rolls back, so its counts are exact. Rows go in with bulk SQL (explicit
ids, executemany) rather than one `store.write_entries` call per row, which would take minutes
for a large file; the cached balances written here equal the ledger sums, as `loyalty doctor`
checks. Nothing here prints: results are plain dicts, problems are `Problem`s.

Re-running is harmless:
- a card is identified by phone and punch card (`import_cards`); the same card again counts as
  already imported, a card with different balances is refused (it would double or lose them);
- a visit is known by what it says (customer, time, amount, items, note, receipt) and by how
  many identical rows came before it in its file, so a re-run, or a later export overlapping
  an earlier one, adds only the visits not yet there, while two identical visits in one file
  stay two.

The parts, in the order a file meets them: sources (files, encodings, delimiters, records),
columns (which column is which), layout (a CSV header's columns), rows (batches of cells),
cells and values (cells -> values, through caches), phones (numbers at import speed), rejects
(rows refused), reader (the forked reader for big files); cards (with card_rows and
card_writer) and visits (with replay, for --apply-rules), each kind's parsing and writing;
summary, transaction (one transaction, rolled back when it must be), options and job (what
one import holds). The SQL is the store's: store/bulk.py.
"""

from loyalty_cli.importing.cards import import_cards
from loyalty_cli.importing.options import InvalidRows, Options, Problem
from loyalty_cli.importing.transaction import scratch_database
from loyalty_cli.importing.visits import import_visits

__all__ = ["InvalidRows", "Options", "Problem", "import_cards", "import_visits", "scratch_database"]
