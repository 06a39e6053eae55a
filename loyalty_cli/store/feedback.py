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


def latest(conn, customer_id: int):
    """The customer's last response (by time, then by the order written), or None."""
    return conn.execute("SELECT * FROM feedback WHERE customer_id = ? ORDER BY at DESC, id DESC LIMIT 1",
                        (customer_id,)).fetchone()
