"""`loyalty doctor`'s checks: every cached figure and voucher status against the ledger."""

from loyalty_cli.store.counter import punches_of
from loyalty_cli.store.db import integrity_problems


def problems(conn) -> list[str]:
    """Every problem found, one line each; an empty list when all is well."""
    return integrity_problems(conn) + balance_problems(conn) + voucher_problems(conn)


def balance_problems(conn) -> list[str]:
    problems = []
    ledger = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT customer_id, SUM(points), SUM(credit) FROM ledger GROUP BY customer_id")}
    punches: dict = {}
    for customer_id, rule, total in conn.execute(
            "SELECT customer_id, rule, SUM(punches) FROM ledger WHERE punches != 0 GROUP BY customer_id, rule"):
        punches.setdefault(customer_id, {})[rule] = total
    for row in conn.execute("SELECT id, phone, points, credit, punches FROM customers ORDER BY id"):
        points, credit = ledger.get(row["id"], (0, 0))
        if (points, credit) != (row["points"], row["credit"]):
            problems.append(f"{row['phone']}: cached points/credit {row['points']}/{row['credit']} "
                            f"but the ledger says {points}/{credit}")
        cached = {k: v for k, v in punches_of(row).items() if v}
        derived = {k: v for k, v in punches.get(row["id"], {}).items() if v}
        if cached != derived:
            problems.append(f"{row['phone']}: cached punches {cached} but the ledger says {derived}")
    return problems


def voucher_problems(conn) -> list[str]:
    problems = []
    rows = conn.execute(
        "SELECT v.code, v.status, v.ledger_id, "
        "(SELECT GROUP_CONCAT(kind) FROM ledger l WHERE l.voucher = v.code AND l.id != COALESCE(v.ledger_id, -1)) "
        "AS events FROM vouchers v").fetchall()
    expected = {"redeemed": "redeem", "expired": "expire", "void": "void"}
    for row in rows:
        events = (row["events"] or "").split(",") if row["events"] else []
        if row["status"] in expected and expected[row["status"]] not in events:
            problems.append(f"voucher {row['code']} is {row['status']} but no ledger entry says so")
        if row["status"] == "issued" and events:
            problems.append(f"voucher {row['code']} is open but the ledger has {', '.join(events)} for it")
    return problems
