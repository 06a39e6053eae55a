"""Build a large, consistent loyalty database for benchmarks (not part of the test run).

    python benchmarks/make_history.py --customers 20000 --visits 1000000 --out /tmp/big.db

Rows go in with bulk SQL rather than through the rule engine (which would take minutes), but
the result is what the engine would keep: punches, points and cashback entries in the ledger,
a voucher every 10th visit (most redeemed, some expired, recent ones open), and cached
balances equal to the ledger sums (`loyalty doctor` agrees). Italian mobile numbers, visits
spread over the last three years.
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loyalty_cli.domain import clock
from loyalty_cli.store import db as store_db

EVERY = 10
SHOP_TZ = ZoneInfo("Europe/Rome")  # sample_config.toml's: local_day is the shop's day
VOUCHER_DAYS = timedelta(days=90)


def _voucher_fate(rng, issued, expires, now):
    """Most vouchers are redeemed within a few weeks; some lapse; recent ones are still open."""
    if rng.random() < 0.85:
        used = issued + timedelta(days=rng.uniform(0.5, 60))
        if used <= now:
            return "redeemed", used
    if expires <= now:
        return "expired", expires
    return "issued", None


def phone_for(index: int) -> str:
    return f"+393{20 + index % 30}{1000000 + index * 37 % 9000000:07d}"


def build(out: Path, customers: int, visits: int, seed: int = 7, now: datetime | None = None) -> None:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    span = (now - start).total_seconds()
    if out.exists():
        out.unlink()
    conn = store_db.connect(out)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    customer_rows = [(i + 1, phone_for(i), f"Customer {i + 1}", clock.to_db(start)) for i in range(customers)]
    conn.executemany("INSERT INTO customers (id, phone, name, enrolled_at) VALUES (?, ?, ?, ?)", customer_rows)
    # Skewed: some customers come often, most rarely.
    weights = [rng.paretovariate(1.2) for _ in range(customers)]
    owners = rng.choices(range(1, customers + 1), weights=weights, k=visits)
    moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(visits))
    # per customer: points, credit, punches, visits, spend, last visit
    balances = {cid: [0, 0, 0, 0, 0, ""] for cid in range(1, customers + 1)}
    visit_rows, ledger_rows, voucher_rows, later = [], [], [], []
    ledger_id = 0
    for visit_id, (cid, moment) in enumerate(zip(owners, moments, strict=True), start=1):
        amount = rng.randint(150, 4000)
        at = clock.to_db(moment)
        visit_rows.append((visit_id, cid, at, moment.astimezone(SHOP_TZ).date().isoformat(), amount, 1, "counter"))
        state = balances[cid]
        points, credit = amount // 100, amount * 5 // 100
        state[0] += points
        state[1] += credit
        state[2] += 1
        state[3] += 1
        state[4] += amount
        state[5] = at
        ledger_id += 1
        ledger_rows.append((ledger_id, cid, at, "punch", 0, 1, 0, "Cone card", None, visit_id, None, None))
        ledger_id += 1
        ledger_rows.append((ledger_id, cid, at, "points", points, 0, 0, "Points", None, visit_id, None, at))
        ledger_id += 1
        ledger_rows.append((ledger_id, cid, at, "cashback", 0, 0, credit, "5% back", None, visit_id, None, None))
        if state[2] == EVERY:
            state[2] = 0
            code = f"B{visit_id:07d}"
            ledger_id += 1
            ledger_rows.append((ledger_id, cid, at, "reward", 0, 0 - EVERY, 0, "Cone card", code, visit_id,
                                "free-cone", None))
            expires = moment + VOUCHER_DAYS
            status, ended = _voucher_fate(rng, moment, expires, now)
            voucher_rows.append((code, cid, "free-cone", "Cone card", status, at, clock.to_db(expires), visit_id,
                                 ledger_id, clock.to_db(ended) if status == "redeemed" else None,
                                 clock.to_db(ended) if status == "expired" else None))
            if ended is not None:
                ledger_id += 1
                kind = "redeem" if status == "redeemed" else "expire"
                later.append((ledger_id, cid, clock.to_db(ended), kind, 0, 0, 0, None, code, None, "free-cone", None))
    conn.executemany("INSERT INTO visits (id, customer_id, at, local_day, amount, items, source) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", visit_rows)
    conn.executemany("INSERT INTO vouchers (code, customer_id, reward, rule, status, issued_at, expires_at, visit_id, "
                     "ledger_id, redeemed_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", voucher_rows)
    ledger_rows += later
    conn.executemany("INSERT INTO ledger (id, customer_id, at, kind, points, punches, credit, rule, voucher, "
                     "visit_id, reward, earned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ledger_rows)
    conn.executemany(
        "UPDATE customers SET points = ?, credit = ?, punches = ?, visits = ?, spend = ?, last_visit_at = ? "
        "WHERE id = ?",
        [(p, c, json.dumps({"Cone card": n}), v, s, last or None, cid)
         for cid, (p, c, n, v, s, last) in balances.items()])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.out, args.customers, args.visits)
    print(f"{args.out}: {args.customers} customers, {args.visits} visits in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
