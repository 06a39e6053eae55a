"""`loyalty campaign run`: a campaign's audience narrowed to who may and can be reached, their
messages, and the run itself (a preview, an export file, or e-mail sent).

It sits at the reporting level, not in services, because the audiences "at_risk" and
"near_reward" are the at-risk report's own selection (reporting/at_risk.py), and services must
not import reporting. What it needs below is in services/outreach.py (rendering, the export
file, SMTP) and the store (consents, contacts).

The rules, in the order they apply:
- consent: the customer's newest consent entry is a yes (none: no), read at selection and read
  again just before each e-mail is handed to the server (withdrawn meanwhile: skipped);
- contact: an e-mail address for "email", a phone for "sms" and "whatsapp";
- cooldown: no contact of this campaign with the customer within its cooldown_days, so a re-run
  never messages anyone twice;
- --dry-run records nothing and changes nothing in the database (with --export it still writes
  the file, for a look);
- a real --export logs one contact per row, in the transaction that writes the file;
- --send logs each contact right after the server accepted its e-mail, one at a time: a run that
  fails half-way has logged exactly what was sent, and a re-run sends the rest. The write lock
  is never held across the network, so the till does not wait on a slow mail server.
"""

from datetime import timedelta
from pathlib import Path

from loyalty_cli.domain import clock
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.reporting import campaigns as audiences
from loyalty_cli.reporting.context import Context
from loyalty_cli.services import outreach
from loyalty_cli.store import consents as consents_store
from loyalty_cli.store import contacts as contacts_store
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db


def find(config, campaign_id: str):
    for campaign in config.campaigns:
        if campaign.id == campaign_id:
            return campaign
    known = ", ".join(c.id for c in config.campaigns) or Phrase("none in the config: add [[campaigns]]")
    raise BadInput(Phrase("no campaign {campaign} (campaigns: {known})", campaign=repr(campaign_id), known=known))


def run(session, campaign_id: str, dry_run: bool = False, send: bool = False, export: str | None = None) -> dict:
    """The run's outcome as a JSON-ready dict: who was (or would be) reached, and who was not, why."""
    config = session.config
    campaign = find(config, campaign_id)
    password = _check_options(campaign, config, dry_run, send, export)
    target = Path(export) if export else None
    if target is not None:
        outreach.export_format(target)
    now = clock.now()
    ctx = Context(session.conn, config, now)
    with store_db.snapshot(session.conn):
        plan = _plan(ctx, campaign)
    done = {"campaign": campaign.id, "channel": campaign.channel, "audience": campaign.audience,
            "dry_run": dry_run, "action": "send" if send else "export" if export else "preview",
            "file": str(target) if target else None, **plan["counts"]}
    messages = plan["messages"]
    if target is not None and (dry_run or not messages):
        outreach.write_export(target, [message for _customer_id, message in messages])
    elif target is not None:
        _export(session.conn, campaign, messages, target, now)
    sent = _send(session, campaign, messages, password) if send and not dry_run else []
    reached = messages if not send or dry_run else sent
    done.update(reached=len(reached), recipients=[_recipient(m) for m in reached])
    return done


def _check_options(campaign, config, dry_run: bool, send: bool, export: str | None) -> str | None:
    if send and export:
        raise BadInput(Phrase("give --send or --export FILE, not both"))
    if not (send or export or dry_run):
        raise BadInput(Phrase("campaign {campaign}: say how: --send (e-mail) or --export FILE (CSV or JSON); "
                              "--dry-run to preview", campaign=campaign.id))
    if send and campaign.channel != "email":
        raise BadInput(Phrase("campaign {campaign} is {channel}: --send sends e-mail only; "
                              "use --export FILE for your own SMS or WhatsApp tool",
                              campaign=campaign.id, channel=campaign.channel))
    return outreach.check_settings(config.outreach, campaign.id) if send else None


def _plan(ctx: Context, campaign) -> dict:
    """The campaign's messages, and how many of its audience each rule left out."""
    ids = audiences.audience(ctx, campaign)
    consent = consents_store.current_of(ctx.conn, ids)
    cooled = contacts_store.contacted_since(ctx.conn, campaign.id, ctx.now - timedelta(days=campaign.cooldown_days))
    counts = {"in_audience": len(ids), "no_consent": 0, "no_contact": 0, "in_cooldown": 0}
    messages = []
    for customer_id in ids:
        row = store.customer_by_id(ctx.conn, customer_id)
        if consent.get(customer_id) != 1:
            counts["no_consent"] += 1
        elif not (row["email"] if campaign.channel == "email" else row["phone"]):
            counts["no_contact"] += 1
        elif customer_id in cooled:
            counts["in_cooldown"] += 1
        else:
            values = outreach.figures(ctx.conn, ctx.config, row, ctx.now)
            messages.append((customer_id, outreach.message_for(campaign, row, values)))
    return {"counts": counts, "messages": messages}


def _export(conn, campaign, messages: list, target: Path, now) -> None:
    """Each row a contact: logged in the transaction that writes the file, so neither is without
    the other."""
    with store_db.transaction(conn):
        for customer_id, _message in messages:
            contacts_store.record(conn, campaign.id, customer_id, campaign.channel, now)
        outreach.write_export(target, [message for _customer_id, message in messages])


def _send(session, campaign, messages: list, password: str | None) -> list:
    """E-mail each message; each contact logged as soon as the server has accepted its e-mail."""
    conn, config = session.writable_conn, session.config
    cooldown = timedelta(days=campaign.cooldown_days)
    sent = []
    with outreach.Mailer(config.outreach, password) as mailer:
        for customer_id, message in messages:
            now = clock.now()
            if not consents_store.current(conn, customer_id) or contacts_store.was_contacted_since(
                    conn, campaign.id, customer_id, now - cooldown):
                continue  # consent withdrawn, or another run reached them, since the selection
            try:
                mailer.send(outreach.email(config.outreach, config.shop.name, message))
            except outreach.SendFailed as exc:
                raise Refused(Phrase("campaign {campaign}: stopped at {email}: {reason}; {sent} sent and logged "
                                     "before it (run it again to send the rest)", campaign=campaign.id,
                                     email=message.email, reason=exc.args[0], sent=len(sent))) from None
            with store_db.transaction(conn):
                contacts_store.record(conn, campaign.id, customer_id, campaign.channel, now)
            sent.append((customer_id, message))
    return sent


def _recipient(pair) -> dict:
    _customer_id, message = pair
    return {"phone": message.phone, "email": message.email, "name": message.name, "subject": message.subject,
            "message": message.message, "link": message.link}
