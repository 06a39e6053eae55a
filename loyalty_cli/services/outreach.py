"""Campaign messages made and delivered (issue 12): a customer's figures in a template, an e-mail
with the way to stop them, the SMTP connection that sends it, and the export file (CSV or JSON)
the owner feeds to their own SMS or WhatsApp tool.

Who gets a message is decided above this (reporting/outreach.py, which needs the at-risk
report's selection); nothing here chooses customers or writes the contacts log.
"""

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from loyalty_cli.domain import campaigns, money
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase, tr
from loyalty_cli.services import views

PASSWORD_VARIABLE = "LOYALTY_SMTP_PASSWORD"
EXPORT_FIELDS = ("campaign", "channel", "phone", "email", "name", "subject", "message", "link")
SMTP_TIMEOUT_S = 30


@dataclass(frozen=True)
class Message:
    """One customer's message of a campaign (the export's row, the e-mail's content)."""

    campaign: str
    channel: str
    phone: str
    email: str | None
    name: str | None
    subject: str | None
    message: str
    link: str | None  # whatsapp: https://wa.me/<digits>?text=...


def figures(conn, config, row, now) -> dict:
    """What a template's placeholders say for one customer, from the card the counter shows."""
    card = views.card(conn, config, row, now)
    first = card["cards"][0] if card["cards"] else None
    return {
        "name": card["name"] or "", "points": card["points"],
        "credit": money.display(row["credit"], config.shop.currency),
        "punches_left": max(first["every"] - first["punches"], 0) if first else None,
        "reward_name": first["reward_name"] if first else None,
        "voucher_code": card["vouchers"][0]["code"] if card["vouchers"] else None,
        "tier": card["tier"], "shop": config.shop.name,
    }


def message_for(campaign, row, values: dict) -> Message:
    text = campaigns.render(campaign.template, values)
    subject = campaigns.render(campaign.subject, values) if campaign.subject else None
    link = campaigns.whatsapp_link(row["phone"], text) if campaign.channel == "whatsapp" else None
    return Message(campaign.id, campaign.channel, row["phone"], row["email"], row["name"], subject, text, link)


# ---- the export file -------------------------------------------------------------------------

def export_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise BadInput(Phrase("--export {path}: the file must end in .csv or .json", path=str(path)))
    if not path.parent.is_dir():
        raise BadInput(Phrase("--export {path}: no such directory: {folder}", path=str(path), folder=str(path.parent)))
    return suffix[1:]


def write_export(path: Path, messages: list[Message]) -> None:
    """CSV (RFC 4180: CRLF, quoted where needed, UTF-8 with BOM for Excel) or a JSON array,
    written atomically and owner-only: it holds phone numbers."""
    import csv
    import json

    from loyalty_cli.system.files import atomic_writer

    if export_format(path) == "json":
        with atomic_writer(path) as handle:
            json.dump([asdict(m) for m in messages], handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        return
    with atomic_writer(path, encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(EXPORT_FIELDS)
        for message in messages:
            writer.writerow(["" if value is None else value for value in asdict(message).values()])


# ---- e-mail ------------------------------------------------------------------------------------

def email(outreach, shop_name: str, message: Message):
    """The e-mail: the message, then how to stop receiving them, and a List-Unsubscribe header
    (mail programs show it as an 'unsubscribe' button) that writes STOP to the sender."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    mail = EmailMessage()
    mail["From"] = outreach.sender
    mail["To"] = message.email
    mail["Subject"] = " ".join((message.subject or "").split())  # one header line, whatever a name holds
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=outreach.sender.rpartition("@")[2])
    mail["List-Unsubscribe"] = f"<mailto:{outreach.sender}?subject=STOP>"
    stop_line = tr(campaigns.STOP_LINE).format(shop=shop_name)
    mail.set_content(f"{message.message}\n\n-- \n{stop_line}\n")
    return mail


def check_settings(outreach, campaign_id: str) -> str | None:
    """Refuses --send before anything happens when the settings cannot work; the password."""
    if outreach is None:
        raise BadInput(Phrase("campaign {campaign}: --send needs an [outreach] table in the config "
                              "(host, sender; port, user, starttls as needed)", campaign=campaign_id))
    password = os.environ.get(PASSWORD_VARIABLE) or None
    if outreach.user and password is None:
        raise BadInput(Phrase("campaign {campaign}: [outreach] user is {user} but {variable} is not set "
                              "(the password is only ever read from the environment)",
                              campaign=campaign_id, user=repr(outreach.user), variable=PASSWORD_VARIABLE))
    return password


class SendFailed(Refused):
    """The SMTP server refused a message or could not be reached."""


class Mailer:
    """One SMTP connection for a run, opened at the first message (STARTTLS when configured,
    a login only when [outreach] names a user). Every failure is a SendFailed of one line."""

    def __init__(self, outreach, password: str | None):
        self.outreach, self.password, self.smtp = outreach, password, None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.smtp is not None:
            import smtplib

            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()

    def send(self, mail) -> None:
        import smtplib

        try:
            if self.smtp is None:
                self.smtp = self._connect()
            refused = self.smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, said = next(iter(exc.recipients.values()))
            reply = f"{code} {_text(said)}"
            raise SendFailed(Phrase("the SMTP server refused {to}: {reply}", to=mail["To"], reply=reply)) from None
        except smtplib.SMTPResponseException as exc:
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            raise SendFailed(Phrase("the SMTP server said {reply}", reply=reply)) from None
        except smtplib.SMTPException as exc:
            raise SendFailed(Phrase("SMTP failed: {reason}", reason=str(exc).rstrip("."))) from None
        except OSError as exc:
            raise SendFailed(Phrase("cannot reach the SMTP server {host}:{port}: {reason}", host=self.outreach.host,
                                    port=self.outreach.port, reason=str(exc.strerror or exc))) from None
        if refused:
            raise SendFailed(Phrase("the SMTP server refused {to}", to=mail["To"]))

    def _connect(self):
        import smtplib

        smtp = smtplib.SMTP(self.outreach.host, self.outreach.port, timeout=SMTP_TIMEOUT_S)
        if self.outreach.starttls:
            import ssl

            smtp.starttls(context=ssl.create_default_context())
        if self.outreach.user:
            smtp.login(self.outreach.user, self.password or "")
        return smtp


def _text(said) -> str:
    return (said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)).replace("\n", " ").strip()
