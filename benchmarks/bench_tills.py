"""Many tills at once on one database (issue 14): visits/s, p50/p95 latency and failures.

    python benchmarks/bench_tills.py                      # SQLite in a temp folder, 1, 4 and 16 tills, 30 s each
    python benchmarks/bench_tills.py --seconds 10 --tills 1,16
    python benchmarks/bench_tills.py --db /path/shop.db --pg postgresql://user@host/bench

Each till is a process recording visits back to back for --seconds, each visit as a command
does it: a new session (config, connection opened, schema checked), one `record_visit`
transaction, the connection closed. Interpreter start-up is left out (bench_visit.py measures
it): this measures the database under contention. Customers are drawn from a pool of 2,000 so
tills often hit the same customers; every visit has a unique ref. A failure is any error a
till's visit raised (a busy database past its timeout, a serialization error not retried...).
Target: 16 tills at p95 under 150 ms with no failures on PostgreSQL.
"""

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONFIG = ROOT / "loyalty_cli" / "config" / "sample.toml"
POOL = 2000


def till(number: int, db: str, seconds: float, start_at: float, results) -> None:
    """One till: record visits until the time is up; put (latencies in s, failures, first error)."""
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    rng = random.Random(number)
    latencies, failures, first_error = [], 0, None
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    visit = 0
    while time.time() < end:
        phone = f"+39333{rng.randrange(POOL):07d}"
        started = time.perf_counter()
        session = Session(db, str(CONFIG))
        try:
            counter.record_visit(session, phone, amount_text=f"{rng.randrange(1, 60)}.50",
                                 ref=f"bench-{os.getpid()}-{number}-{visit}", location=f"till-{number % 4}")
            latencies.append(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, and the first one shown
            failures += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        finally:
            session.close()
        visit += 1
    results.put((latencies, failures, first_error))


def run(db: str, tills: int, seconds: float) -> dict:
    context = multiprocessing.get_context("spawn")  # each till imports and connects on its own
    results = context.Queue()
    start_at = time.time() + 2.0 + tills * 0.1  # every till started and imported before the clock runs
    workers = [context.Process(target=till, args=(n, db, seconds, start_at, results)) for n in range(tills)]
    for worker in workers:
        worker.start()
    gathered = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(value for got in gathered for value in got[0])
    failures = sum(got[1] for got in gathered)
    errors = [got[2] for got in gathered if got[2]]
    return {"tills": tills, "visits": len(latencies), "per_s": len(latencies) / seconds,
            "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
            "failures": failures, "first_error": errors[0] if errors else None}


def warm_up(db: str) -> None:
    """Create (or migrate) the database and enrol nobody: the first till must not pay for it."""
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    session = Session(db, str(CONFIG))
    try:
        counter.record_visit(session, "+393330000000", ref=f"bench-warm-{os.getpid()}-{time.time()}")
    finally:
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--tills", default="1,4,16", help="comma-separated numbers of till processes")
    parser.add_argument("--db", help="SQLite file (default: a new one in a temp folder)")
    parser.add_argument("--pg", help="a PostgreSQL URL to run the same on (password from PGPASSWORD/.pgpass)")
    args = parser.parse_args()
    os.environ.setdefault("LOYALTY_OUTBOX", str(Path(tempfile.mkdtemp(prefix="bench-outbox-")) / "outbox.db"))
    targets = [("sqlite", args.db or str(Path(tempfile.mkdtemp(prefix="bench-tills-")) / "tills.db"))]
    if args.pg:
        targets.append(("postgresql", args.pg))
    missed = False
    print(f"{'backend':<11} {'tills':>5} {'visits':>7} {'visits/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'failures':>8}")
    for backend, db in targets:
        warm_up(db)
        for count in (int(part) for part in args.tills.split(",")):
            got = run(db, count, args.seconds)
            print(f"{backend:<11} {count:>5} {got['visits']:>7} {got['per_s']:>9.1f} {got['p50_ms'] or 0:>7.1f} "
                  f"{got['p95_ms'] or 0:>7.1f} {got['failures']:>8}", flush=True)
            if got["first_error"]:
                print(f"  first failure: {got['first_error']}")
            if backend == "postgresql" and count >= 16:
                missed |= got["failures"] > 0 or (got["p95_ms"] or 0) >= 150
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
