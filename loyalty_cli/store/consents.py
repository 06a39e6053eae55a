"""Marketing consent's SQL (issue 12): an append-only log, one row per consent given (1) or
withdrawn (0), with when and how it was obtained. The newest row of a customer is their consent
now; a customer with no row has not consented."""

from datetime import datetime

from loyalty_cli.domain import clock


def append(conn, customer_id: int, at: datetime, marketing: int, source: str | None) -> int:
    return conn.execute("INSERT INTO consents (customer_id, at, marketing, source) VALUES (?, ?, ?, ?)",
                        (customer_id, clock.to_db(at), marketing, source)).lastrowid


def append_many(conn, rows: list[tuple]) -> None:
    """(customer_id, at as stored, marketing, source) rows, in one statement (an import's)."""
    conn.executemany("INSERT INTO consents (customer_id, at, marketing, source) VALUES (?, ?, ?, ?)", rows)


def log(conn, customer_id: int) -> list:
    """The customer's consent rows, oldest first."""
    return conn.execute("SELECT id, at, marketing, source FROM consents WHERE customer_id = ? ORDER BY id",
                        (customer_id,)).fetchall()


def current(conn, customer_id: int) -> bool:
    """Whether the customer's newest consent row says yes (no row: no)."""
    row = conn.execute("SELECT marketing FROM consents WHERE customer_id = ? ORDER BY id DESC LIMIT 1",
                       (customer_id,)).fetchone()
    return bool(row and row[0])


def current_of(conn, customer_ids: list[int]) -> dict[int, int]:
    """customer id -> their newest consent (1 or 0), for those of `customer_ids` that have one."""
    found = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for customer_id, marketing in conn.execute(
                f"SELECT c.customer_id, c.marketing FROM consents c WHERE c.customer_id IN ({marks}) "
                "AND c.id = (SELECT MAX(d.id) FROM consents d WHERE d.customer_id = c.customer_id)", chunk):
            found[customer_id] = marketing
    return found

