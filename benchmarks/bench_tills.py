"""Many tills recording visits at once on one database (issue 14's speed target).

    python benchmarks/bench_tills.py --db postgresql://root@/bench?host=/var/run/postgresql
    python benchmarks/bench_tills.py --db /tmp/bench.db --seconds 10 --tills 1 4 16

For each number of tills, that many processes record visits (each on one of 200 customers,
each with its own --ref) as fast as they can for --seconds, through the very `run_visit` the
`loyalty visit` command runs (without the interpreter's start-up, which is the same on either
backend). Prints visits/s, p50/p95 latency of one visit and the failures (must be 0).
Target on PostgreSQL: 16 tills at p95 under 150 ms with zero failures.
"""

import argparse
import os
import statistics
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CUSTOMERS = 200


def till(args) -> tuple[list[float], int]:
    number, seconds, start = args
    from loyalty_cli.cli.visit import run_visit

    latencies, failures, i = [], 0, 0
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the card is not what is measured
    sys.stdout = devnull
    run_visit(phone=[f"+39333{number:07d}"], amount="1")  # warm up: imports, config, first connection
    while time.time() < start:
        time.sleep(0.001)
    end = start + seconds
    while time.time() < end:
        phone = f"+39333{(number * 7919 + i) % CUSTOMERS:07d}"
        began = time.perf_counter()
        failures += run_visit(phone=[phone], amount="4.50", ref=f"B{os.getpid()}-{number}-{i}") != 0
        latencies.append(time.perf_counter() - began)
        i += 1
    return latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, help="a SQLite file or a postgresql:// URL")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--tills", type=int, nargs="+", default=[1, 4, 16])
    options = parser.parse_args()
    os.environ["LOYALTY_DB"] = options.db
    os.environ.setdefault("LOYALTY_CONFIG", str(ROOT / "loyalty_cli" / "config" / "sample.toml"))
    print(f"{'tills':>5} {'visits/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'failures':>8}")
    for count in options.tills:
        start = time.time() + 5.0 + count  # every till warmed up by then
        with Pool(count) as pool:
            results = pool.map(till, [(n, options.seconds, start) for n in range(count)])
        latencies = sorted(x for lat, _ in results for x in lat)
        failures = sum(f for _, f in results)
        p95 = latencies[int(len(latencies) * 0.95)] if latencies else 0
        print(f"{count:>5} {len(latencies) / options.seconds:>9.1f} {statistics.median(latencies) * 1000:>7.1f} "
              f"{p95 * 1000:>7.1f} {failures:>8}")


if __name__ == "__main__":
    main()
