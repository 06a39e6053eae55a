"""Campaigns' audiences and the campaigns report (issue 12).

An audience is who a campaign is about, before consent, contact details and cooldown narrow it
(reporting/outreach.py): "at_risk" and "near_reward" are exactly the at-risk report's overdue
regulars and customers one punch from a reward (at_risk.py), "birthday" those whose birthday
falls in the next BIRTHDAY_AHEAD_DAYS days, "inactive" those with no visit for `inactive_days`
(never-seen customers enrolled that long ago too), "tier" the holders of a tier now, "all"
everyone. Forgotten customers (`loyalty forget`) are never in one.

The report: per campaign, the contacts made, the customers reached, and how many of those came
back (a visit, not voided, within RETURN_DAYS after a contact): the number that says whether
the campaign worked. Contacts younger than RETURN_DAYS without a visit yet are still `waiting`.
"""

from datetime import date, timedelta

from loyalty_cli.domain import clock, rules
from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Column, Report, Table
from loyalty_cli.reporting import at_risk
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.store import contacts as contacts_store

NAME, TITLE = "campaigns", mark("Campaigns")
RETURN_DAYS = 30  # a customer who visits within this after a contact came back
BIRTHDAY_AHEAD_DAYS = 7  # audience "birthday": from today to this many days ahead, both included

COLUMNS = [
    Column("campaign", mark("Campaign")),
    Column("channel", mark("Channel")),
    Column("audience", mark("Audience")),
    Column("contacts", mark("Contacts"), "int"),
    Column("customers", mark("Customers"), "int"),
    Column("came_back", Phrase("Came back ({days} d)", days=RETURN_DAYS), "int"),
    Column("came_back_share", mark("Came back %"), "ratio"),
    Column("waiting", mark("Still waiting"), "int"),
    Column("last_contact", mark("Last contact"), "moment"),
]


# ---- audiences ---------------------------------------------------------------------------------

def audience(ctx: Context, campaign) -> list[int]:
    """The ids of the customers campaign's audience holds now, in a stable order."""
    pick = {"at_risk": at_risk.overdue_customers, "near_reward": at_risk.near_reward_customers,
            "birthday": _birthdays, "inactive": lambda c: _inactive(c, campaign.inactive_days),
            "tier": lambda c: _holding(c, campaign.tier), "all": _everyone}[campaign.audience]
    known = set(_everyone(ctx))  # the forgotten are not
    return [cid for cid in pick(ctx) if cid in known]


def _everyone(ctx: Context) -> list[int]:
    return [row[0] for row in query(ctx.conn, "SELECT id FROM customers WHERE forgotten_at IS NULL ORDER BY id")]


def _inactive(ctx: Context, days: int) -> list[int]:
    since = clock.to_db(ctx.now - timedelta(days=days))
    return [row[0] for row in query(ctx.conn, (
        "SELECT id FROM customers WHERE (last_visit_at IS NOT NULL AND last_visit_at < ?) "
        "OR (last_visit_at IS NULL AND enrolled_at < ?) ORDER BY id"), (since, since))]


def _holding(ctx: Context, tier_name: str) -> list[int]:
    figures = ctx.year_figures()
    return [cid for cid in _everyone(ctx)
            if (held := rules.tier_for(ctx.config, *figures.get(cid, (0, 0)))) and held.name == tier_name]


def _birthdays(ctx: Context) -> list[int]:
    days = {_day_key(ctx.today + timedelta(days=ahead)) for ahead in range(BIRTHDAY_AHEAD_DAYS + 1)}
    found = []
    for cid, birthday in query(ctx.conn, "SELECT id, birthday FROM customers WHERE birthday IS NOT NULL ORDER BY id"):
        month_day = birthday[5:10]
        if month_day == "02-29" and not _leap(ctx.today.year):
            month_day = "02-28"  # celebrated on 28 February in other years, as the birthday rule does
        if month_day in days:
            found.append(cid)
    return found


def _day_key(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# ---- the report --------------------------------------------------------------------------------

def build(ctx: Context) -> Report:
    rows = figures(ctx)
    table = Table("rows", mark("Contacts per campaign"), COLUMNS, lambda: iter(rows),
                  empty=mark("no campaign has contacted anyone yet"))
    return ctx.report(NAME, TITLE, None, [table], return_days=RETURN_DAYS)


def figures(ctx: Context) -> list[tuple]:
    """One row per campaign in the config, then per campaign only the contacts still name."""
    configured = {c.id: c for c in ctx.config.campaigns}
    seen: dict[str, dict] = {}
    window = timedelta(days=RETURN_DAYS)
    for campaign, customer_id, channel, at in contacts_store.all_contacts(ctx.conn):
        one = seen.setdefault(campaign, {"channel": channel, "contacts": 0, "customers": set(), "back": set(),
                                         "last": at})
        one["contacts"] += 1
        one["customers"].add(customer_id)
        one["last"] = max(one["last"], at)
        until = clock.from_db(at) + window
        if contacts_store.visited_between(ctx.conn, customer_id, at, clock.to_db(min(until, ctx.now))):
            one["back"].add(customer_id)
        elif until > ctx.now:
            one.setdefault("young", set()).add(customer_id)
    rows = []
    for campaign_id in [*configured, *sorted(set(seen) - set(configured))]:
        one = seen.get(campaign_id)
        config = configured.get(campaign_id)
        channel = config.channel if config else one["channel"]
        audience_name = config.audience if config else None
        if one is None:
            rows.append((campaign_id, channel, audience_name, 0, 0, 0, None, 0, None))
            continue
        reached = len(one["customers"])
        waiting = len(one.get("young", set()) - one["back"])
        rows.append((campaign_id, channel, audience_name, one["contacts"], reached, len(one["back"]),
                     len(one["back"]) / reached if reached else None, waiting, one["last"]))
    return rows


LIST_COLUMNS = [
    Column("campaign", mark("Campaign")),
    Column("audience", mark("Audience")),
    Column("channel", mark("Channel")),
    Column("cooldown_days", mark("Cooldown (days)"), "int"),
    Column("contacts", mark("Contacts"), "int"),
    Column("came_back", Phrase("Came back ({days} d)", days=RETURN_DAYS), "int"),
    Column("last_contact", mark("Last contact"), "moment"),
]


def listing(ctx: Context) -> Report:
    """`campaign list`: the config's campaigns, each with the report's figures."""
    by_id = {row[0]: row for row in figures(ctx)}
    rows = []
    for campaign in ctx.config.campaigns:
        audience_name = campaign.audience + (f" {campaign.inactive_days} days" if campaign.inactive_days else "") + (
            f" {campaign.tier}" if campaign.tier else "")
        row = by_id[campaign.id]
        rows.append((campaign.id, audience_name, campaign.channel, campaign.cooldown_days, row[3], row[5], row[8]))
    table = Table("rows", mark("Campaigns"), LIST_COLUMNS, lambda: iter(rows),
                  empty=mark("no [[campaigns]] in the config"))
    return ctx.report("campaign-list", mark("Campaigns"), None, [table])
