"""`loyalty simulate`: what a programme would have cost, over the shop's own visits.

The visits of the period (every recorded, non-voided one, from the counter and from imports)
are streamed in time order into domain/simulation.py once, for the config in force (scenario
'current') and each candidate config at the same time. Nothing is written. This module turns
the scenarios' totals into money: vouchers at their reward's cost, points at the cost per
point of the reward that gives most for them (as the liability report values them), credit at
face value; and the expected cost under the redemption assumption.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from loyalty_cli.domain import birthdays, clock, money
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.domain.model import Config
from loyalty_cli.domain.replay_shares import shares
from loyalty_cli.domain.simulation import Person, Totals, simulate
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.liability import point_rate
from loyalty_cli.reporting.period import Period, named_range
from loyalty_cli.reporting.summary import ledger_flows
from loyalty_cli.system import forks

NAME, TITLE = "simulate", mark("Simulation: what each programme would have cost")
KINDS = ("vouchers", "points", "credit")  # what the redemption assumption applies to
RATE_PLACES = Decimal("0.0001")

# Customer by customer, each in time order (as simulation.simulate takes them), within the UTC
# bounds of the period's local days: a range of the index on `at`, sorted by SQLite.
_VISITS_SQL = ("SELECT customer_id, at, local_day, amount, items, category FROM visits "
               "WHERE at >= ? AND at < ? AND voided_at IS NULL ORDER BY customer_id, at, id")
_PEOPLE_SQL = "SELECT id, birthday, referred_by FROM customers WHERE birthday IS NOT NULL OR referred_by IS NOT NULL"

SCENARIO_COLUMNS = [
    Column("name", mark("Scenario")),
    Column("config", mark("Config")),
    Column("visits", mark("Visits"), "int"),
    Column("customers", mark("Customers"), "int"),
    Column("revenue", mark("Revenue"), "money"),
    Column("punches", mark("Punches"), "int"),
    Column("points_issued", mark("Points issued"), "int"),
    Column("points_expired", mark("Points expired"), "int"),
    Column("credit_issued", mark("Credit issued"), "money"),
    Column("vouchers_issued", mark("Vouchers issued"), "int"),
    Column("vouchers_by_reward", mark("Vouchers by reward")),
    Column("reward_cost", mark("Reward cost (vouchers at cost)"), "money"),
    Column("points_cost", mark("Points at cost"), "money"),
    Column("expected_cost", mark("Expected cost"), "money"),
    Column("cost_share", mark("Cost share of revenue"), "ratio"),
    Column("customers_rewarded", mark("Customers rewarded"), "int"),
    Column("tiers", mark("Tiers at the end")),
    Column("liability_cost", mark("Owed at the end, at cost"), "money"),
]
MONTH_COLUMNS = [
    Column("name", mark("Scenario")),
    Column("month", mark("Month")),
    Column("visits", mark("Visits"), "int"),
    Column("revenue", mark("Revenue"), "money"),
    Column("punches", mark("Punches"), "int"),
    Column("points_issued", mark("Points issued"), "int"),
    Column("credit_issued", mark("Credit issued"), "money"),
    Column("vouchers_issued", mark("Vouchers issued"), "int"),
    Column("reward_cost", mark("Reward cost"), "money"),
    Column("expected_cost", mark("Expected cost"), "money"),
]


@dataclass(frozen=True)
class Scenario:
    name: str  # 'current', or the candidate file's stem
    origin: str  # where its config came from
    config: Config


@dataclass(frozen=True)
class Assumption:
    """The share of what is issued that is expected to be redeemed, per kind."""

    rates: dict  # kind -> Decimal in [0, 1]
    text: str  # as the parameters state it

    def cost(self, vouchers: int, points: int, credit: int) -> int:
        return _rated(vouchers, self.rates["vouchers"]) + _rated(points, self.rates["points"]) + \
            _rated(credit, self.rates["credit"])


def resolve(ctx: Context, since: str | None, until: str | None) -> Period:
    """--until defaults to today, --since to the day of the first visit recorded."""
    end = named_range(until, ctx.today, "--until")[1] if until is not None else ctx.today
    if since is not None:
        start = named_range(since, ctx.today, "--since")[0]
    else:
        first = query(ctx.conn, "SELECT MIN(local_day) FROM visits WHERE voided_at IS NULL").fetchone()[0]
        start = min(date.fromisoformat(first), end) if first else end
    if start > end:
        raise BadInput(Phrase("--since {start} is after --until {end}", start=start, end=end))
    return Period(start, end)


def assumption(ctx: Context, text: str | None) -> tuple[Assumption, list[str]]:
    """--redemption: 1 by default (everything issued is redeemed: the worst case), a share, or
    'observed': the shares the shop's own history shows."""
    text = "1" if text is None else text.strip().lower()
    if text == "observed":
        return _observed(ctx)
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not 0 <= rate <= 1:
        raise BadInput(Phrase("--redemption must be 'observed' or a share from 0 to 1 (0.7), got {text}",
                              text=repr(text)))
    rate = rate.normalize() if rate else Decimal(0)
    return Assumption({kind: rate for kind in KINDS}, str(rate)), []


def _observed(ctx: Context) -> tuple[Assumption, list[str]]:
    flows = ledger_flows(ctx.conn, "", "~")  # the whole history
    issued, redeemed = query(ctx.conn,
        "SELECT COUNT(*), COUNT(CASE WHEN status = 'redeemed' THEN 1 END) FROM vouchers WHERE status != 'void' "
        "AND code NOT IN (SELECT voucher FROM ledger WHERE kind = 'redeem' AND points < 0 AND voucher IS NOT NULL)"
    ).fetchone()  # vouchers bought with points are redeemed as they are issued: they are the points' redemption
    shares = {"vouchers": (redeemed, issued), "points": (flows["points_redeemed"], flows["points_issued"]),
              "credit": (flows["credit_redeemed"], flows["credit_issued"])}
    rates, notes, never = {}, [], []
    for kind, (used, given) in shares.items():
        if used > 0 and given > 0:
            rates[kind] = min(Decimal(1), (Decimal(used) / Decimal(given)).quantize(RATE_PLACES))
        else:
            rates[kind] = Decimal(1)
            never.append(kind)
    if never:
        notes.append(f"no {', '.join(never)} ever redeemed in this shop's history: counted as all redeemed (1)")
    text = "observed (" + ", ".join(f"{kind} {rate}" for kind, rate in rates.items()) + ")"
    return Assumption(rates, text), notes


def build(ctx: Context, period: Period, candidates: list[Scenario], redemption: str | None = None,
          jobs: int | None = None) -> Report:
    """The report; `jobs` processes replay the scenarios (None: one per core, at most one per scenario)."""
    currency = ctx.config.shop.currency
    scenarios = [Scenario("current", str(ctx.config.source or ctx.config.origin), ctx.config), *candidates]
    for scenario in candidates:
        if scenario.config.shop.currency != currency:
            raise BadInput(Phrase("{origin}: currency {currency} is not the shop's {currency2}: the visits were "
                                  "recorded in {currency2}", origin=scenario.origin,
                                  currency=scenario.config.shop.currency, currency2=currency))
    rates, notes = assumption(ctx, redemption)
    end = min(ctx.now, clock.end_of_local_day(period.until, ctx.config.tz) - timedelta(microseconds=1))
    people = {cid: Person(birthdays.from_stored(birthday) if birthday else None, referrer)
              for cid, birthday, referrer in query(ctx.conn, _PEOPLE_SQL)}
    results = _replay(ctx, period, [scenario.config for scenario in scenarios], people, end, jobs)
    documents = [_document(scenario, totals, rates, currency) for scenario, totals in
                 zip(scenarios, results, strict=True)]
    notes += _notes(scenarios, rates, end, ctx)
    tables = _tables(documents, scenarios)
    report = ctx.report(NAME, TITLE, period, tables, notes, redemption=rates.text,
                        scenarios=[{"name": s.name, "config": s.origin} for s in scenarios])
    report.document = lambda: {"scenarios": [_as_json(document, currency) for document in documents]}
    return report


def _replay(ctx: Context, period: Period, configs: list[Config], people: dict, end, jobs: int | None) -> list:
    """simulation.simulate of every config, its shares (domain/replay_shares.py) replayed side by side in
    forked processes that get the rows this one reads (system/forks.py): on two cores the four
    scenarios of the bench take 12.3-20.4 s (median 15 s) where one process took 40 s."""
    processes = min(forks.available() if jobs is None else jobs, len(configs))
    mine, *theirs = shares(configs, processes) if processes > 1 else [list(range(len(configs)))]
    children = []
    try:
        for share in theirs:
            chosen = [configs[index] for index in share]
            children.append(forks.Fork(lambda rows, chosen=chosen: simulate(chosen, rows, people, end)))
        visits = forks.fan_out(query(ctx.conn, _VISITS_SQL, period.bounds(ctx.config.tz)), children)
        results = dict(zip(mine, simulate([configs[index] for index in mine], visits, people, end), strict=True))
        for share, child in zip(theirs, children, strict=True):
            results.update(zip(share, child.result(), strict=True))
    finally:
        for child in children:
            child.close()
    return [results[index] for index in range(len(configs))]


def _document(scenario: Scenario, totals: Totals, rates: Assumption, currency: str) -> dict:
    """One scenario's figures, money in minor units."""
    config = scenario.config
    reward_cost, unknown = _vouchers_cost(config, totals.vouchers)
    points_cost = _points_cost(config, totals.points_issued)
    open_vouchers = totals.vouchers_open
    owed_vouchers, _ = _vouchers_cost(config, open_vouchers)
    owed_points = _points_cost(config, totals.points_outstanding)
    expected = rates.cost(reward_cost, points_cost or 0, totals.credit_issued)
    months = []
    for month, figures in totals.months.items():
        cost, _ = _vouchers_cost(config, figures.vouchers)
        month_points = _points_cost(config, figures.points_issued) or 0
        months.append({"month": month, "visits": figures.visits, "revenue": figures.revenue,
                       "punches": figures.punches, "points_issued": figures.points_issued,
                       "credit_issued": figures.credit_issued, "vouchers_issued": sum(figures.vouchers.values()),
                       "reward_cost": cost, "expected_cost": rates.cost(cost, month_points, figures.credit_issued)})
    return {
        "name": scenario.name, "config": scenario.origin, "visits": totals.visits, "customers": totals.customers,
        "revenue": totals.revenue, "punches": totals.punches, "points_issued": totals.points_issued,
        "points_expired": totals.points_expired, "credit_issued": totals.credit_issued,
        "vouchers_issued": sum(totals.vouchers.values()), "vouchers_by_reward": dict(sorted(totals.vouchers.items())),
        "reward_cost": reward_cost, "points_cost": points_cost, "expected_cost": expected,
        "cost_share": round(expected / totals.revenue, 4) if totals.revenue else None,
        "customers_rewarded": totals.customers_rewarded, "tiers": totals.tiers,
        "liability": {"points": totals.points_outstanding, "points_cost": owed_points,
                      "credit": totals.credit_issued, "vouchers": dict(sorted(open_vouchers.items())),
                      "vouchers_cost": owed_vouchers,
                      "total_cost": (owed_points or 0) + totals.credit_issued + owed_vouchers},
        "months": months, "unknown_rewards": unknown,
    }


MONEY = ("revenue", "credit_issued", "reward_cost", "points_cost", "expected_cost", "credit", "vouchers_cost",
         "total_cost")


def _as_json(document: dict, currency: str) -> dict:
    """Money as decimal strings, as in every report's JSON."""
    def convert(value, key):
        if isinstance(value, dict):
            return {k: convert(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(item, key) for item in value]
        if key in MONEY and isinstance(value, int):
            return money.as_string(value, currency)
        return value

    return {key: convert(value, key) for key, value in document.items() if key != "unknown_rewards"}


def _tables(documents: list[dict], scenarios: list[Scenario]) -> list[Table]:
    def scenario_rows():
        for d in documents:
            yield (d["name"], d["config"], d["visits"], d["customers"], d["revenue"], d["punches"],
                   d["points_issued"], d["points_expired"], d["credit_issued"], d["vouchers_issued"],
                   _listing(d["vouchers_by_reward"]), d["reward_cost"], d["points_cost"], d["expected_cost"],
                   d["cost_share"], d["customers_rewarded"], _listing(d["tiers"]), d["liability"]["total_cost"])

    def month_rows():
        for d in documents:
            for m in d["months"]:
                yield (d["name"], m["month"], m["visits"], m["revenue"], m["punches"], m["points_issued"],
                       m["credit_issued"], m["vouchers_issued"], m["reward_cost"], m["expected_cost"])

    by_month = _cost_by_month(documents)
    keys = [f"cost_{index}" for index in range(len(documents))]
    wide = [Column("month", mark("Month"), "date"),
            *(Column(key, f"{d['name']}: expected cost", "money") for key, d in zip(keys, documents, strict=True))]
    return [
        Table("rows", mark("Scenarios"), SCENARIO_COLUMNS, scenario_rows,
              brief=("name", "vouchers_issued", "expected_cost", "cost_share", "customers_rewarded")),
        Table("months", mark("Month by month"), MONTH_COLUMNS, month_rows,
              brief=("name", "month", "vouchers_issued", "reward_cost", "expected_cost")),
        Table("cost_by_month", mark("Expected cost per month, scenario by scenario"), wide, lambda: iter(by_month),
              charts=[Chart("month", key, f"Expected cost per month: {s.name}")
                      for key, s in zip(keys, scenarios, strict=True)]),
    ]


def _cost_by_month(documents: list[dict]) -> list[tuple]:
    months = sorted({m["month"] for d in documents for m in d["months"]})
    costs = [{m["month"]: m["expected_cost"] for m in d["months"]} for d in documents]
    return [(f"{month}-01", *(cost.get(month, 0) for cost in costs)) for month in months]


def _notes(scenarios, rates: Assumption, end, ctx: Context) -> list[str]:
    notes = [Phrase("redemption assumption: {rates} of what is issued is redeemed (1 is the worst case); "
                    "expected cost = that share of the vouchers at cost, the points at cost and the store credit",
                    rates=rates.text),
             Phrase("each scenario replays the visits from an empty programme: welcome and referral bonuses at a "
                    "customer's first visit in the period, nothing redeemed (the liability is what is left unspent), "
                    "expiry as of {moment}", moment=clock.local_minute(clock.to_db(end), ctx.config.tz))]
    for scenario in scenarios:
        if point_rate(scenario.config) is None and scenario.config.rules_of("points"):
            notes.append(Phrase("{scenario}: no reward has a points price, so its points are not costed",
                                scenario=scenario.name))
        if not scenario.config.rules:
            notes.append(Phrase("{scenario}: no [[rules]]: it records visits and costs nothing",
                                scenario=scenario.name))
    return notes


def _vouchers_cost(config: Config, vouchers) -> tuple[int, list[str]]:
    cost, unknown = 0, []
    for reward_id, count in vouchers.items():
        reward = config.rewards.get(reward_id)
        if reward is None:
            unknown.append(reward_id)
        else:
            cost += reward.cost * count
    return cost, unknown


def _points_cost(config: Config, points: int) -> int | None:
    """Points at the cost per point of the reward that gives most for them (liability.point_rate)."""
    rate = point_rate(config)
    return None if rate is None else money.divide_half_up(points * rate.cost, rate.points)


def _rated(amount: int, rate: Decimal) -> int:
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_HALF_UP))


def _listing(counts: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items())
