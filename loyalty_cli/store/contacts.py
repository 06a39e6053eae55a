"""The contacts campaigns made (issue 12): one row per message sent or handed to the owner in
an export (campaign id, customer, channel, when). Cooldowns and re-runs read them; the
campaigns report counts them."""

from datetime import datetime

from loyalty_cli.domain import clock


def record(conn, campaign: str, customer_id: int, channel: str, at: datetime) -> int:
    return conn.execute("INSERT INTO contacts (campaign, customer_id, channel, at) VALUES (?, ?, ?, ?)",
                        (campaign, customer_id, channel, clock.to_db(at))).lastrowid


def contacted_since(conn, campaign: str, since: datetime) -> set[int]:
    """The customers this campaign reached at or after `since` (its cooldown's start)."""
    return {row[0] for row in conn.execute(
        "SELECT DISTINCT customer_id FROM contacts WHERE campaign = ? AND at >= ?", (campaign, clock.to_db(since)))}


def was_contacted_since(conn, campaign: str, customer_id: int, since: datetime) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM contacts WHERE campaign = ? AND customer_id = ? AND at >= ?)",
                        (campaign, customer_id, clock.to_db(since))).fetchone()[0] == 1


def all_contacts(conn) -> list[tuple]:
    """(campaign, customer id, channel, at) of every contact, oldest first."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute("SELECT campaign, customer_id, channel, at FROM contacts ORDER BY at, id").fetchall()


def visited_between(conn, customer_id: int, after: str, until: str) -> bool:
    """Whether the customer made a visit (not voided) after one stored moment and up to another."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM visits WHERE customer_id = ? AND voided_at IS NULL "
                        "AND at > ? AND at <= ?)", (customer_id, after, until)).fetchone()[0] == 1

