"""`loyalty import visits --apply-rules`: the imported visits replayed through the rule engine.

Visits are replayed in time order, as the counter would have met them; a visit's tier window
(the 365 days up to it) is asked of SQLite per visit, only when the config has tiers.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime

from loyalty_cli.domain import birthdays, clock, model, rules
from loyalty_cli.importing.job import ImportJob
from loyalty_cli.services import counter
from loyalty_cli.store import bulk
from loyalty_cli.store import lots as store_lots
from loyalty_cli.store.bulk import DeferredIndexes

PROGRESS_EVERY = 2000  # replayed visits between progress reports


class Replay:
    """--apply-rules: the visits just added (ids in `visit_ids`, first and last), in time order,
    through the engine.

    Each visit gets exactly the entries `loyalty visit --at` would have written at its time
    (tests/importing/test_import.py compares the two), but balances are kept in memory and
    entries and vouchers go in with bulk SQL, not three statements a visit.
    """

    FLUSH = 20_000  # ledger rows held before they are written
    IN_MEMORY = 200_000  # up to this many visits are read at once; more are read in slices
    SLICE = 50_000

    def __init__(self, job: ImportJob, conn, visit_ids: tuple):
        self.job, self.conn, self.visit_ids = job, conn, visit_ids
        self.config = job.config
        self.balances: dict[int, list] = {}  # customer id -> [points, credit, punches]
        self.ledger, self.vouchers = [], []
        self.ledger_ids = None  # an IdBlock, once the number of visits is known
        self.now = job.now_db  # a voucher that expires by now is written expired (rewards_days)
        self.birthdays = _Birthdays(conn, self.config)

    def replay(self) -> None:
        config, conn = self.config, self.conn
        total = bulk.visits_in_count(conn, self.visit_ids)
        # A visit earns an entry or two (more blocks are set aside if they run out).
        self.ledger_ids = bulk.IdBlock(conn, "ledger", total * 2, step=max(total // 2, self.FLUSH))
        indexes = [DeferredIndexes(conn, "ledger", total * 2), DeferredIndexes(conn, "vouchers", total // 10)]
        tiers = bool(config.tiers)  # without tiers the engine never looks at the year's figures
        window = clock.days(365)
        visits = bulk.visits_in(conn, self.visit_ids) if total <= self.IN_MEMORY else None
        rows = visits if visits is not None else self._stream()
        utc, tier_window = UTC, bulk.TIER_WINDOW  # the store's statement, run here: once a visit
        birthdays = self.birthdays
        for replayed, (visit_id, customer_id, when, amount, items, category) in enumerate(rows, start=1):
            naive = datetime.fromisoformat(when[:-1])  # clock.from_db, without strptime's cost
            at = naive.replace(tzinfo=utc)
            balance = self._balance(customer_id)
            spend = count = 0
            if tiers:
                since = (naive - window).isoformat(timespec="microseconds") + "Z"  # clock.to_db
                spend, count = conn.execute(tier_window, (customer_id, since, when, when, visit_id)).fetchone()
            state = model.State(points=balance[0], credit=balance[1], punches=balance[2],
                                year_spend=spend, year_visits=count)
            if customer_id in birthdays.on_file:
                state = birthdays.state(state, customer_id)
            entries = rules.apply_visit(config, state, model.Visit(at, amount, items, category)).entries
            if entries:
                if customer_id in birthdays.on_file:
                    birthdays.issued(customer_id, at, entries)
                self._record(customer_id, visit_id, at, when, entries, balance)
            if len(self.ledger) >= self.FLUSH:
                self._flush()
            if replayed % PROGRESS_EVERY == 0:
                self.job.progress("applying rules", replayed, total)
        self._flush()
        bulk.set_balances(conn, ((points, credit, json.dumps(punches, sort_keys=True), customer_id)
                                 for customer_id, (points, credit, punches) in self.balances.items()))
        for deferred in indexes:
            deferred.restore()
        self._expire_due()
        self.job.progress("applying rules", total, total)

    def _expire_due(self) -> None:
        """What has fallen due by now, written as `loyalty visit --at` writes it: one expire line
        per points lot dated when it fell due (the counter's own expire_due, so the two cannot
        differ), and each customer's lot book kept. Only the customers replayed: an import of a
        shop's whole history (--apply-rules) has a few thousand, a handful of queries each."""
        if self.config.expiry.points_days is None and self.config.expiry.rewards_days is None:
            return
        for customer_id in self.balances:
            counter.expire_due(self.conn, self.config, customer_id, self.job.now)
            store_lots.keep(self.conn, customer_id)

    def _stream(self):
        """Many visits in time order without holding them all: slices, each after the last one read."""
        last = ("", 0)
        while True:
            chunk = bulk.visits_in(self.conn, self.visit_ids, since=last, limit=self.SLICE)
            if not chunk:
                return
            yield from chunk
            last = (chunk[-1][2], chunk[-1][0])

    def _balance(self, customer_id: int) -> list:
        balance = self.balances.get(customer_id)
        if balance is None:
            row = bulk.balance_of(self.conn, customer_id)
            balance = self.balances[customer_id] = [row[0], row[1], json.loads(row[2]) if row[2] else {}]
        return balance

    def _record(self, customer_id, visit_id, at, when, entries, balance) -> None:
        """store.write_entries, into memory."""
        summary, ids = self.job.summary, self.ledger_ids
        if ids.next + 2 * len(entries) > ids.end:  # an id for each entry, and a lapsed voucher's expire line
            ids.room(2 * len(entries))
        expires = None
        for entry in entries:
            ledger_id = ids.next
            ids.next += 1
            lot = when if entry.earned and entry.points > 0 else None
            code = entry.voucher
            if entry.kind == "reward" and entry.reward:
                if expires is None:  # as at the counter: a back-dated visit's voucher expires from the visit
                    expiry = rules.voucher_expires_at(self.config, at)
                    expires = clock.to_db(expiry) if expiry else ""
                code = self._voucher(customer_id, entry, when, expires or None, visit_id, ledger_id)
                summary["vouchers_issued"] += 1
            self.ledger.append([ledger_id, customer_id, when, entry.kind, entry.points, entry.punches, entry.credit,
                                entry.rule, entry.reason, visit_id, code, entry.reward, lot, entry.card])
            if expires and entry.kind == "reward" and entry.reward and expires <= self.now:
                self._lapsed(customer_id, code, entry.reward, expires)
            if entry.punches:
                balance[2][entry.punch_card] = balance[2].get(entry.punch_card, 0) + entry.punches
            balance[0] += entry.points
            balance[1] += entry.credit
            if entry.kind in ("punch", "promotion"):
                summary["punches"] += entry.punches
            if entry.points > 0:
                summary["points"] += entry.points
            if entry.credit > 0:
                summary["credit"] += entry.credit

    def _voucher(self, customer_id, entry, when, expires, visit_id, ledger_id) -> int:
        """A voucher the visit earned, its code drawn when flushed: its index until then. One
        whose expiry has passed is written expired at that moment, as at the counter."""
        lapsed = expires is not None and expires <= self.now
        self.vouchers.append([None, customer_id, entry.reward, entry.rule, "expired" if lapsed else "issued", when,
                              expires, visit_id, ledger_id, expires if lapsed else None])
        return len(self.vouchers) - 1

    def _lapsed(self, customer_id, code: int, reward: str, expires: str) -> None:
        """The ledger's line for a voucher that lapsed before this import (counter.expire_due's)."""
        ledger_id = self.ledger_ids.next
        self.ledger_ids.next += 1
        self.ledger.append([ledger_id, customer_id, expires, "expire", 0, 0, 0, None, "voucher expired", None, code,
                            reward, None, None])

    def _flush(self) -> None:
        codes = bulk.voucher_codes(self.conn, len(self.vouchers))
        for voucher, code in zip(self.vouchers, codes, strict=True):
            voucher[0] = code
        for line in self.ledger:
            if line[3] in ("reward", "expire") and isinstance(line[10], int):
                line[10] = codes[line[10]]
        bulk.insert_visit_ledger(self.conn, self.ledger)
        bulk.insert_visit_vouchers(self.conn, self.vouchers)
        self.ledger, self.vouchers = [], []


class _Birthdays:
    """What the birthday rules read of a customer, as services.counter.engine_state gives it at
    the counter: the birthday on file, and the shop-local days of the birthday vouchers issued
    (those issued before this import, and those the replay issues as it goes)."""

    def __init__(self, conn, config):
        self.config = config
        self.names = {rule.name for rule in config.rules_of("birthday")}
        self.on_file: dict[int, object] = {}  # customer id -> birthday (a date)
        self.vouchers: dict[int, list] = {}  # customer id -> [(rule, local day issued)]
        if not self.names:
            return
        self.on_file = {cid: birthdays.from_stored(text) for cid, text in bulk.customer_birthdays(conn)}
        for customer_id, rule, at_text in bulk.birthday_vouchers(conn, sorted(self.names)):
            if customer_id in self.on_file:
                self.vouchers.setdefault(customer_id, []).append((rule, self._day(clock.from_db(at_text))))

    def _day(self, at: datetime):
        return at.astimezone(self.config.tz).date()

    def state(self, state: model.State, customer_id: int) -> model.State:
        return replace(state, birthday=self.on_file[customer_id],
                       birthday_vouchers=tuple(self.vouchers.get(customer_id, ())))

    def issued(self, customer_id: int, at: datetime, entries) -> None:
        for entry in entries:
            if entry.kind == "reward" and entry.rule in self.names:
                self.vouchers.setdefault(customer_id, []).append((entry.rule, self._day(at)))
