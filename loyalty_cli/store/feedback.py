"""Feedback's SQL: a customer's scores, one row per response (issue 11)."""

from datetime import datetime

from loyalty_cli.domain import clock


def insert(conn, customer_id: int, at: datetime, local_day: str, score: int, scale: int, comment: str | None,
           visit_id: int | None, points: int) -> int:
    return conn.execute(
        "INSERT INTO feedback (customer_id, at, local_day, score, scale, comment, visit_id, points) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (customer_id, clock.to_db(at), local_day, score, scale, comment, visit_id, points)).lastrowid


def rewarded_on(conn, customer_id: int, local_day: str) -> bool:
    """Whether a response of the customer's already earned points that shop-local day."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM feedback WHERE customer_id = ? AND local_day = ? "
                        "AND points > 0)", (customer_id, local_day)).fetchone()[0] == 1


# A customer's (:customer) newest consent row's marketing flag, and the id of their last response
# (by time, then by the order written): here and beside the visit's other reads (store/counter.py).
NEWEST_CONSENT = "(SELECT marketing FROM consents WHERE customer_id = :customer ORDER BY id DESC LIMIT 1)"
LAST_RESPONSE = "(SELECT id FROM feedback WHERE customer_id = :customer ORDER BY at DESC, id DESC LIMIT 1)"


def latest_and_consent(conn, customer_id: int) -> tuple:
    """(The customer's last response, by time then by the order written, or None; whether their
    newest consent row says yes). One statement: the card asks both at every visit, and on a
    database server each statement is a round trip."""
    row = conn.execute(
        f"SELECT {NEWEST_CONSENT}, f.score, f.scale, f.comment, f.at FROM (SELECT 1 AS one) o "
        f"LEFT JOIN feedback f ON f.id = {LAST_RESPONSE}",
        {"customer": customer_id}).fetchone()
    said = None if row[1] is None else {"score": row[1], "scale": row[2], "comment": row[3], "at": row[4]}
    return said, bool(row[0])
