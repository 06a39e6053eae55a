"""How long `loyalty visit` takes as a whole process, start-up included (issue 2's targets).

    python benchmarks/bench_visit.py            # 15 paired runs; builds the large db once (~80 s)
    python benchmarks/bench_visit.py --runs 31 --customers 20000 --visits 1000000

Each run times `python -c pass` and `loyalty visit ...` back to back (paired, so both see the
same machine load) and the medians are compared. Cases:
- fresh: a new database, the same customer visiting again (typed as before);
- large: 20,000 customers and 1,000,000 visits, a regular customer visiting;
- large, new typing: each run a different customer typed in a national format never seen
  before, so the number has to be parsed by phonenumbers;
- fresh, it_IT: the fresh case in a shop whose [shop] locale is it_IT: the Italian catalog and
  the card's money and numbers in Italian (what the language costs at the counter).
Targets: visit within 10x of `python -c pass`; large no more than 20% slower than fresh.
Exit status 1 when a target is missed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import make_history  # noqa: E402

CONFIG = ROOT / "loyalty_cli" / "config" / "sample.toml"


def loyalty_command() -> list[str]:
    script = Path(sys.executable).parent / "loyalty"
    return [str(script)] if script.exists() else [sys.executable, "-m", "loyalty_cli"]


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode().strip()}")
    return elapsed


def paired(runs: int, visit_args, db: Path, env: dict, config: Path = CONFIG) -> tuple[float, float]:
    """Median seconds of (python -c pass, loyalty visit) over paired runs."""
    base = [sys.executable, "-c", "pass"]
    bare, visits = [], []
    for run in range(runs):
        bare.append(timed(base, env))
        visits.append(timed([*loyalty_command(), "--db", str(db), "--config", str(config), "visit",
                             *visit_args(run), "--amount", "4,50"], env))
    return statistics.median(bare), statistics.median(visits)


def national(e164: str) -> str:
    """'+393201234567' -> '320 123 4567': how a clerk types an Italian mobile."""
    digits = e164[3:]
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Time `loyalty visit` against `python -c pass`.")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("LOYALTY_NOW", "LOYALTY_DB", "LOYALTY_CONFIG")}

    args.cache.mkdir(parents=True, exist_ok=True)
    big_source = args.cache / f"history-{args.customers}-{args.visits}.db"
    if not big_source.exists():
        print(f"building {big_source.name} (once) ...", flush=True)
        partial = big_source.with_suffix(".partial")  # an interrupted build is never taken for the cache
        make_history.build(partial, args.customers, args.visits)
        partial.rename(big_source)
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / "fresh.db"
        big = Path(folder) / "big.db"
        shutil.copy(big_source, big)
        regular = make_history.phone_for(0)
        timed([*loyalty_command(), "--db", str(fresh), "--config", str(CONFIG), "visit", regular], env)  # creates it
        timed([*loyalty_command(), "--db", str(big), "--config", str(CONFIG), "visit", regular], env)  # warms the cache
        italian_db, italian = Path(folder) / "italian.db", Path(folder) / "italian.toml"
        italian.write_text(CONFIG.read_text(encoding="utf-8").replace('# locale = "it_IT"', 'locale = "it_IT"', 1),
                           encoding="utf-8")
        timed([*loyalty_command(), "--db", str(italian_db), "--config", str(italian), "visit", regular], env)
        cases = {
            "fresh db": paired(args.runs, lambda run: [regular], fresh, env),
            "large db": paired(args.runs, lambda run: [regular], big, env),
            "large db, number typed a new way": paired(
                args.runs, lambda run: [national(make_history.phone_for(100 + run))], big, env),
            "fresh db, it_IT": paired(args.runs, lambda run: [regular], italian_db, env, italian),
        }
    print(f"\n{args.runs} paired runs, medians ({args.customers} customers / {args.visits} visits in the large db)")
    print(f"{'case':36} {'python -c pass':>15} {'loyalty visit':>14} {'ratio':>7}")
    for name, (bare, visit) in cases.items():
        print(f"{name:36} {bare * 1000:12.1f} ms {visit * 1000:11.1f} ms {visit / bare:6.1f}x")
    fresh_visit = cases["fresh db"][1]
    large_visit = cases["large db"][1]
    growth = large_visit / fresh_visit - 1
    print(f"large vs fresh: {growth * 100:+.1f}%")
    worst = max(visit / bare for bare, visit in cases.values())
    ok = worst <= 10 and growth <= 0.20
    print("targets (<= 10x python -c pass, <= +20% on the large db):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
