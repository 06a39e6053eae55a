"""Read models: what a card, a history or a customer list says, as plain JSON-ready dicts.

Money leaves here as decimal strings ('12.50') in the shop currency, never as floats. Reads
show balances as of now without writing: points and vouchers already past their expiry are
shown as gone even before `loyalty expire` writes that down.
"""

from datetime import datetime

from loyalty_cli.domain import clock, money, rules
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import counter as store
from loyalty_cli.store import feedback as feedback_store
from loyalty_cli.store import lots as store_lots


def card(conn, config, row, now: datetime, book=None, year=None, vouchers=None, feedback=None) -> dict:
    """`book`: the customer's points lots as they are now (store/lots.py), if the caller has them;
    `year`: their (spend, visits) in the tier window up to now, likewise; `vouchers`: their issued
    vouchers (store.open_vouchers), likewise; `feedback`: (their last response, their marketing
    consent), as store/feedback.latest_and_consent gives them, likewise."""
    currency = config.shop.currency
    spend, visits = year or store.year_figures(conn, row["id"], now)
    tier = rules.tier_for(config, spend, visits)
    points = points_now(conn, config, row, now, book)
    now_db = clock.to_db(now)
    issued = store.open_vouchers(conn, row["id"]) if vouchers is None else vouchers
    vouchers = [voucher(v, config) for v in issued if not v["expires_at"] or v["expires_at"] > now_db]
    cards = []
    punches = store.punches_of(row)
    for rule in config.rules_of("punch_card"):
        cards.append({"card": rule.name, "punches": punches.get(rule.name, 0), "every": rule.every,
                      "count": rule.count, "reward": rule.reward,
                      "reward_name": config.rewards[rule.reward].name})
    affordable = [{"reward": r.id, "name": r.name, "points": r.points}
                  for r in config.rewards.values() if r.points is not None and r.points <= points]
    said, marketing = feedback or feedback_store.latest_and_consent(conn, row["id"])
    return {
        "phone": row["phone"],
        "name": row["name"],
        "email": row["email"],
        "birthday": row["birthday"],
        "enrolled_at": local_time(row["enrolled_at"], config),
        "tier": tier.name if tier else None,
        "perks": list(tier.perks) if tier else [],
        "punches": cards[0]["punches"] if cards else 0,
        "cards": cards,
        "points": points,
        "credit": money.as_string(row["credit"], currency),
        "currency": currency,
        "vouchers": vouchers,
        "rewards_for_points": affordable,
        "visits": row["visits"],
        "spend": money.as_string(row["spend"], currency),
        "last_visit": local_time(row["last_visit_at"], config),
        "last_feedback": {**said, "at": local_time(said["at"], config)} if said else None,  # the last score
        "marketing": marketing,  # consent on record now (none: no)
    }


def points_now(conn, config, row, now: datetime, book=None) -> int:
    """The points balance less what has expired but is not yet written down (the lot engine's
    lots.points_now, store/lots.py)."""
    return store_lots.points_now(conn, row["id"], row["points"], now, config.expiry.points_days, book)


def voucher(row, config) -> dict:
    reward = config.rewards.get(row["reward"])
    return {"code": row["code"], "reward": row["reward"], "reward_name": reward.name if reward else row["reward"],
            "status": row["status"], "issued_at": local_time(row["issued_at"], config),
            "expires_at": local_time(row["expires_at"], config)}


def earnings(config, entries, codes, statuses=None) -> dict:
    """What a visit earned, promotions included."""
    currency = config.shop.currency
    rewards = [e.reward for e in entries if e.kind == "reward" and e.reward]
    return {
        "points": sum(e.points for e in entries if e.points > 0),
        "punches": sum(e.punches for e in entries if e.kind in ("punch", "promotion")),
        "credit": money.as_string(sum(e.credit for e in entries if e.credit > 0), currency),
        "vouchers": [{"code": code, "reward": reward, "reward_name": config.rewards[reward].name,
                      "status": (statuses or {}).get(code, "issued")}
                     for code, reward in zip(codes, rewards, strict=True)],
    }


def no_earnings(config) -> dict:
    return earnings(config, [], [])


def history(conn, config, row, limit: int | None) -> list[dict]:
    currency = config.shop.currency
    return [{
        "id": line["id"], "at": local_time(line["at"], config), "kind": line["kind"],
        "points": line["points"], "punches": line["punches"],
        "credit": money.as_string(line["credit"], currency), "rule": line["rule"],
        "voucher": line["voucher"], "visit_id": line["visit_id"], "reverses": line["reverses"],
        "reason": line["reason"],
    } for line in store.history(conn, row["id"], limit)]


def visits(conn, config, row, limit: int) -> list[dict]:
    currency = config.shop.currency
    return [{"visit_id": v["id"], "at": local_time(v["at"], config),
             "amount": money.as_string(v["amount"], currency), "items": v["items"], "note": v["note"],
             "ref": v["ref"], "voided": v["voided_at"] is not None}
            for v in store.recent_visits(conn, row["id"], limit)]


def customer_list(conn, config, now, search, tier_name, sort, limit) -> list[dict]:
    currency = config.shop.currency
    if tier_name and tier_name.casefold() not in {t.name.casefold() for t in config.tiers}:
        known = ", ".join(t.name for t in config.tiers) or Phrase("none in the config")
        raise BadInput(Phrase("--tier {tier_name} is not a tier (tiers: {known})", tier_name=repr(tier_name),
                              known=known))
    rows = store.list_customers(conn, now, search, sort, None if tier_name else limit)
    out = []
    for row in rows:
        tier = rules.tier_for(config, row["year_spend"], row["year_visits"])
        name = tier.name if tier else None
        if tier_name and (name or "").casefold() != tier_name.casefold():
            continue
        punches = store.punches_of(row)
        out.append({"phone": row["phone"], "name": row["name"], "tier": name, "visits": row["visits"],
                    "spend": money.as_string(row["spend"], currency),
                    "last_visit": local_time(row["last_visit_at"], config),
                    "punches": sum(punches.values()), "points": points_now(conn, config, row, now),
                    "credit": money.as_string(row["credit"], currency), "open_vouchers": row["open_vouchers"]})
        if limit is not None and len(out) >= limit:
            break
    return out


def local_time(db_text: str | None, config) -> str | None:
    """A stored UTC time as the shop's local time for machines (JSON): ISO 8601 with the shop's
    offset, to the second, like the reports' as_of. People read it through clock.minute_of."""
    return clock.local_iso(db_text, config.tz)
