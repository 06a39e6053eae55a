"""Benchmark `loyalty import`: 100,000 paper cards and 1,000,000 visits into a fresh database.

    python benchmarks/bench_import.py [--cards 100000] [--visits 1000000] [--dir /tmp/bench-import] [--reuse]

The files look like real exports: Italian mobile numbers written every which way (+39, 0039,
dots, dashes, brackets, spaces), semicolon CSV with decimal commas, dd/mm/yyyy dates. Each
import runs as `loyalty import ...` in a child process (start-up included), timed from outside;
peak memory is the child's maximum resident set size, and (sampled every 20 ms from /proc) the
sum over it and the reader/helper processes it forks on Linux; the larger counts against the
budget. Targets on the reference machine: cards < 5 s, visits < 20 s, memory < 300 MB. The CPU
seconds printed beside the wall-clock ones are the figure to compare on a busy machine.
`loyalty doctor` then checks every cached balance.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from tree_memory import TreeMemory, vm_rss_mb

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "loyalty_cli" / "config" / "sample.toml"  # region IT, Europe/Rome, EUR
TARGETS = {"cards": 5.0, "visits": 20.0}
PEAK_MB = 300
FIRST = ["Giulia", "Marco", "Sofia", "Luca", "Chiara", "Matteo", "Anna", "Davide", "Elena", "Paolo", "Núria", "Zoë"]
LAST = ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti"]


def national(index: int) -> str:
    """A distinct valid Italian mobile number (10 digits, 3xx prefix) for each customer."""
    return f"3{20 + index % 30}{(1_000_003 * index) % 10_000_000:07d}"


def messy(number: str, rng: random.Random) -> str:
    """The same number as a person or an old till might have typed it."""
    a, b, c = number[:3], number[3:6], number[6:]
    return rng.choice((
        f"{number}", f"{a} {b} {c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"({a}) {b}{c}", f"+39 {a} {b} {c}",
        f"+39{number}", f"0039 {number}", f"0039-{a}-{b}{c}", f"{a} {number[3:5]} {number[5:7]} {number[7:]}",
        f" {a}/{b}{c} ",
    ))


def money(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def write_cards(path: Path, count: int, rng: random.Random) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Cellulare;Nome;Email;Timbri;Punti;Credito;Premi;Ultima visita;Note\n")
        for i in range(count):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"cliente{i}@example.it" if rng.random() < 0.4 else ""
            credit = money(rng.randint(0, 3000)) if rng.random() < 0.3 else ""
            owed = str(rng.randint(1, 2)) if rng.random() < 0.1 else ""
            day = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice((2024, 2025))}"
            note = "cliente storico" if rng.random() < 0.05 else ""
            out.write(f"{messy(national(i), rng)};{name};{email};{rng.randint(0, 9)};{rng.randint(0, 500)};"
                      f"{credit};{owed};{day};{note}\n")


def write_visits(path: Path, count: int, customers: int, rng: random.Random) -> None:
    forms = [[messy(national(i), rng) for _ in range(3)] for i in range(customers)]  # ~3 spellings each
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Cellulare;Data;Ora;Importo;Articoli;Note\n")
        lines = []
        for _ in range(count):
            who = int(customers * rng.random() ** 2)  # regulars come often, most customers seldom
            when = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice((2023, 2024, 2025))}"
            at = f"{rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}"
            lines.append(f"{rng.choice(forms[who])};{when};{at};{money(rng.randint(150, 6000))};"
                         f"{rng.randint(1, 4)};\n")
            if len(lines) >= 10_000:
                out.writelines(lines)
                lines = []
        out.writelines(lines)


def run(args: list[str], env: dict) -> tuple[float, float, float, float, dict]:
    """(seconds, CPU seconds, peak RSS of its largest process and peak of all its processes together,
    in MB, JSON output) of one `loyalty ...` child process.

    The CPU seconds (user + system, the child's and those of the reader and helper processes it
    forked and waited for) hardly change when other work shares the machine; the wall-clock
    seconds do, a lot.
    """
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "loyalty_cli", *args], env=env, stdout=out, stderr=err)
        tree = TreeMemory(child.pid, vm_rss_mb, interval=0.02)
        tree.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        tree.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, problems = out.read(), err.read()
    if child.returncode != 0:
        sys.exit(f"loyalty {' '.join(args)} failed ({child.returncode}):\n{problems}")
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, peak_mb, tree.peak_mb, json.loads(text) if text.strip().startswith("{") else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-import"))
    parser.add_argument("--reuse", action="store_true",
                        help="import the files an earlier run wrote to --dir (same sizes) instead of writing them")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / "bench.db"
    for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    rng = random.Random(2026)
    cards, visits = args.dir / "cards.csv", args.dir / "visits.csv"
    started = time.perf_counter()
    reused = args.reuse and cards.exists() and visits.exists()
    if not reused:
        write_cards(cards, args.cards, rng)
        write_visits(visits, args.visits, args.cards, rng)
    print(f"{'reused' if reused else 'generated'} {args.cards:,} cards ({cards.stat().st_size / 1e6:.1f} MB) "
          f"and {args.visits:,} visits ({visits.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    env = {**os.environ, "LOYALTY_DB": str(db), "LOYALTY_CONFIG": str(CONFIG), "PYTHONPATH": str(ROOT)}
    env.pop("LOYALTY_NOW", None)
    ok = True
    for kind, path, rows in (("cards", cards, args.cards), ("visits", visits, args.visits)):
        seconds, cpu, peak_mb, total_mb, summary = run(["import", kind, str(path), "--json"], env)
        memory = max(peak_mb, total_mb)  # all of the import's processes count against the budget
        met = seconds < TARGETS[kind] and memory < PEAK_MB
        ok &= met
        print(f"{kind:>6}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s (CPU {cpu:.2f} s), "
              f"peak RSS {peak_mb:.0f} MB, all processes together {total_mb:.0f} MB "
              f"(target < {TARGETS[kind]:.0f} s, < {PEAK_MB} MB: {'met' if met else 'MISSED'})")
        print(f"        imported {summary.get('rows_imported'):,}, "
              f"customers created {summary.get('customers_created'):,}, "
              f"updated {summary.get('customers_updated'):,}, rejected {summary.get('rejected')}")
    seconds, cpu, _peak, _total, _summary = run(["import", "visits", str(visits), "--json"], env)
    print(f" again: {args.visits:,} visits already imported, checked in {seconds:.2f} s (CPU {cpu:.2f} s)")
    doctor = subprocess.run([sys.executable, "-m", "loyalty_cli", "doctor"], env=env, capture_output=True, text=True)
    print(f"doctor: {(doctor.stdout or doctor.stderr).strip()}")
    ok &= doctor.returncode == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
