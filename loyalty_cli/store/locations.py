"""Locations: the shops (or tills) of a chain, as recorded on each visit (visits.location).

A report asked for one location (`--location NAME`) reads the database through views that show
only that location's part of it, so every report's SQL stays as it is and the filter has one
definition, here:

- visits: those recorded at the location;
- customers: those with at least one visit there (their balances are the chain's: a customer
  has one card everywhere);
- ledger lines and vouchers: those of the location's visits, and the ones no visit made
  (redemptions, expiries, welcome bonuses) of the location's customers;
- feedback: the location's customers'.

The views are temporary, on this connection only, and named as the tables: unqualified names
resolve to the temporary schema first, in SQLite as in PostgreSQL (pg_temp is searched before
every schema of the search_path for tables and views, unless the path names it later: ours never
does). The views read the tables by their qualified names: SQLite's `main`, PostgreSQL's schema
the connection uses (`current_schema()`, `public` unless the role or URL says otherwise).
"""

from loyalty_cli.store import db as store_db

# The distinct locations by a loose index scan of visits_by_location: one index seek per
# location, not a scan of every visit (SELECT DISTINCT reads the whole index).
_KNOWN = (
    "WITH RECURSIVE seen(name) AS ("
    "SELECT MIN(location) FROM visits WHERE location IS NOT NULL "
    "UNION ALL SELECT (SELECT MIN(location) FROM visits WHERE location > seen.name) FROM seen "
    "WHERE seen.name IS NOT NULL) SELECT name FROM seen WHERE name IS NOT NULL")


def known(conn) -> list[str]:
    """Every location a visit was recorded at, in order."""
    return [row[0] for row in conn.execute(_KNOWN)]


def has_visits(conn, location: str) -> bool:
    return conn.execute("SELECT 1 FROM visits WHERE location = ? LIMIT 1", (location,)).fetchone() is not None


def restrict_to(conn, location: str) -> None:
    """From now on, this connection's unqualified visits, customers, ledger, vouchers and feedback
    are those of `location` (see the module's docstring)."""
    name = _literal(location)  # a view cannot take parameters
    schema = store_db.main_schema(conn)
    # The location's visits and customers listed once per run, not once per query that reads a view
    # (each list is a third of a million ids on the benchmark's chain of three).
    conn.execute("CREATE TEMP TABLE location_visits (id INTEGER PRIMARY KEY)")
    conn.execute(f"INSERT INTO location_visits SELECT id FROM {schema}.visits WHERE location = ?", (location,))
    conn.execute("CREATE TEMP TABLE location_customers (id INTEGER PRIMARY KEY)")
    conn.execute(f"INSERT INTO location_customers SELECT DISTINCT customer_id FROM {schema}.visits WHERE location = ?",
                 (location,))
    at_location, its_customers = "SELECT id FROM location_visits", "SELECT id FROM location_customers"
    # The unary + keeps the planner off the visit_id and customer_id indexes (a seek per visit the
    # location ever had) and on each query's own range (the period's lines, checked against the lists).
    views = {
        "visits": f"SELECT * FROM {schema}.visits WHERE location = {name}",
        "customers": f"SELECT * FROM {schema}.customers WHERE id IN ({its_customers})",
        "ledger": f"SELECT * FROM {schema}.ledger WHERE +visit_id IN ({at_location}) "
                  f"OR (visit_id IS NULL AND +customer_id IN ({its_customers}))",
        "vouchers": f"SELECT * FROM {schema}.vouchers WHERE +visit_id IN ({at_location}) "
                    f"OR (visit_id IS NULL AND +customer_id IN ({its_customers}))",
        "feedback": f"SELECT * FROM {schema}.feedback WHERE +customer_id IN ({its_customers})",
    }
    for table, select in views.items():
        conn.execute(f"CREATE TEMP VIEW {table} AS {select}")


def _literal(text: str) -> str:
    """A SQL string literal (standard quoting: a quote doubled)."""
    return "'" + text.replace("'", "''") + "'"
