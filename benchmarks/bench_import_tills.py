"""Benchmark how long a till waits while `loyalty import visits` runs on PostgreSQL.

    python benchmarks/bench_import_tills.py [--server postgresql://root@/postgres?host=/var/run/postgresql]
                                            [--rows 50000] [--customers 5000] [--apply-rules]

Creates a database of its own on the server (`pgimport_bench_<pid>`, dropped at the end), records
a visit for three customers who are not in the file, then starts the import in a child process
and, from this process, records visits for those customers (services.counter.record_visit, a
till that stays connected) one after another until the import ends. Prints the import's wall
time and each till visit's latency while the import ran (count, p50, p95, max). The tills must
not wait for the import: target max < 2 s. PYTHONPATH picks the loyalty-cli to measure (the
child process gets the same), so an older checkout can be measured for comparison.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch_database import scratch_database

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "loyalty_cli" / "config" / "sample.toml"
TILL_PHONES = ["+393470000001", "+393470000002", "+393470000003"]


def write_visits(path: Path, rows: int, customers: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("Cellulare;Data;Importo;Articoli\n")
        for row in range(rows):
            day, month = 1 + row % 28, 1 + (row // 28) % 12
            out.write(f"+39 333{1_000_000 + row % customers:07d};{day:02d}/{month:02d}/2025 {9 + row % 9}:"
                      f"{row % 60:02d};{3 + row % 40},{row % 100:02d};{1 + row % 3}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("LOYALTY_TEST_POSTGRES",
                                                           "postgresql://root@/postgres?host=/var/run/postgresql"))
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--apply-rules", action="store_true")
    args = parser.parse_args()
    with scratch_database(args.server, "pgimport_bench") as url, \
            tempfile.TemporaryDirectory(prefix="bench-import-tills-") as folder:
        run(url, Path(folder), args)


def run(url: str, folder: Path, args) -> None:
    os.environ.update({"LOYALTY_DB": url, "LOYALTY_CONFIG": str(CONFIG), "LOYALTY_OUTBOX": str(folder / "outbox.db"),
                       "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))})
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    path = folder / "visits.csv"
    write_visits(path, args.rows, args.customers)
    session = Session(url)
    for i, phone in enumerate(TILL_PHONES):
        counter.record_visit(session, phone, "5", ref=f"before-{i}")
    command = [sys.executable, "-m", "loyalty_cli", "import", "visits", str(path), "--json"]
    started = time.monotonic()
    importing = subprocess.Popen(command + (["--apply-rules"] if args.apply_rules else []),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    waits = []
    while importing.poll() is None:
        began = time.monotonic()
        counter.record_visit(session, TILL_PHONES[len(waits) % 3], "5", ref=f"till-{len(waits)}")
        waits.append(time.monotonic() - began)
        time.sleep(0.05)
    took = time.monotonic() - started
    assert importing.returncode == 0, importing.stderr.read()
    waits.sort()
    p95 = waits[min(len(waits) - 1, int(len(waits) * 0.95))] if waits else 0
    print(f"import of {args.rows:,} visits{' with --apply-rules' if args.apply_rules else ''}: {took:.2f} s; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"till visits meanwhile: {len(waits)}, p50 {statistics.median(waits) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
