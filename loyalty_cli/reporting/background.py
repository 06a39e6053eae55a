"""Reports built on a second connection, in a thread, while the main thread writes others.

SQLite lets go of the GIL while it works, so heavy queries run on the second core: the
per-customer figures `shared` (handed over to the main thread's Context) and the reports
`names` (held whole: at most one row per customer). Each must come back in one step of SQLite
(a JSON array, see context.json_rows): a query returning row by row would wait for the GIL at
every row while the main thread writes.

If the second connection does not see the very database `expected` describes (a visit was
committed in between), or anything fails there, `get` builds the report on the main Context's
own connection instead, and the main thread computes the shared figures itself: the files of
one export always agree with each other.
"""

import threading

from loyalty_cli.output.model import Report
from loyalty_cli.reporting import catalog
from loyalty_cli.reporting.context import Context, fingerprint
from loyalty_cli.reporting.period import Period
from loyalty_cli.store import db as store_db


class BackgroundReports:
    def __init__(self, names, ctx: Context, period: Period | None, db_path, expected: tuple, shared=()):
        self.ctx, self.period, self.shared = ctx, period, list(shared)
        self.names, self.done = list(names), {}
        self.ready = {name: threading.Event() for name in self.names}
        self.handed_over = {name: threading.Event() for name in self.shared}
        for name, event in self.handed_over.items():
            ctx.wait_for(name, event)
        self.thread = threading.Thread(target=self._work, args=(db_path, expected), name="reports", daemon=True)
        self.thread.start()

    def get(self, name: str) -> Report:
        """The report built in the thread, or, if it could not be, built here and now."""
        self.ready[name].wait()
        return self.done.get(name) or catalog.build(name, self.ctx, self.period)

    def _work(self, db_path, expected: tuple) -> None:
        conn = None
        try:
            conn = store_db.connect(db_path, create=False)
            with store_db.snapshot(conn):
                if fingerprint(conn) != expected:
                    return
                self._build_all(Context(conn, self.ctx.config, self.ctx.now, self.ctx.fit_models))
        except Exception:  # noqa: BLE001 - whatever went wrong here, the main thread builds it the ordinary way
            pass
        finally:
            if conn is not None:
                conn.close()
            for event in [*self.ready.values(), *self.handed_over.values()]:
                event.set()  # whatever is still missing, the main thread computes itself

    def _build_all(self, ctx: Context) -> None:
        for name in self.shared:
            self.ctx.hand_over(name, getattr(ctx, name)())
            self.handed_over[name].set()
        for name in self.names:
            report = catalog.build(name, ctx, self.period)
            for table in report.tables:
                rows = list(table.rows())
                table.produce = lambda rows=rows: iter(rows)
            self.done[name] = report
            self.ready[name].set()
