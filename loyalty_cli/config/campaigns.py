"""The checks of issue 12's config: [[campaigns]] and [outreach] (the SMTP server for e-mail).

A mixin of ConfigValidator (validate.py), which supplies fail() and the typed getters. The SMTP
password is never read from the TOML: a config file is copied, shared and shown by
`config show`; the password comes from LOYALTY_SMTP_PASSWORD when a campaign is sent.
"""

import re

from loyalty_cli.domain import campaigns
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.domain.model import AUDIENCES, CHANNELS, Campaign, Outreach

CAMPAIGN_KEYS = {"id", "audience", "inactive_days", "tier", "channel", "subject", "template", "cooldown_days"}
OUTREACH_KEYS = {"host", "port", "user", "sender", "starttls"}
MAX_COOLDOWN_DAYS = 3650
MAX_INACTIVE_DAYS = 3650
TEMPLATE_MAX = 2000  # an SMS is 160 characters, an e-mail to regulars a few paragraphs
SUBJECT_MAX = 200
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


class CampaignChecks:
    """ConfigValidator's part for [[campaigns]] and [outreach]."""

    # -- [[campaigns]] --

    def campaigns(self, tiers) -> list[Campaign]:
        found, ids = [], set()
        tier_names = [tier.name for tier in tiers]
        for index, table in enumerate(self.attempt(self.array_of_tables, "campaigns", default=[])):
            campaign = self.attempt(self.campaign, index, table, ids, tier_names)
            if campaign is not None:
                found.append(campaign)
        return found

    def campaign(self, index: int, table: dict, ids: set, tier_names: list[str]) -> Campaign:
        path = ("campaigns", index)
        campaign_id = self.string(table, "id", path, required=True)
        if campaign_id in ids:
            self.fail(path + ("id",), Phrase("duplicate campaign id {campaign}", campaign=repr(campaign_id)))
        ids.add(campaign_id)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", campaign_id):
            self.fail(path + ("id",), Phrase("must be letters, digits, '-', '_' or '.' (it is typed on the command "
                                             "line), got {campaign}", campaign=repr(campaign_id)))
        self.check_keys(table, CAMPAIGN_KEYS, path)
        audience = self.choice(table, "audience", path, AUDIENCES)
        channel = self.choice(table, "channel", path, CHANNELS)
        return Campaign(
            id=campaign_id, audience=audience, channel=channel,
            template=self.template(table, "template", path, campaign_id, TEMPLATE_MAX, required=True),
            subject=self.subject(table, path, campaign_id, channel),
            cooldown_days=self.whole_number(table, "cooldown_days", path, default=30, minimum=1,
                                            maximum=MAX_COOLDOWN_DAYS),
            inactive_days=self.audience_days(table, path, audience),
            tier=self.audience_tier(table, path, audience, tier_names))

    def choice(self, table: dict, key: str, path: tuple, choices: tuple) -> str:
        value = self.string(table, key, path, required=True)
        if value not in choices:
            self.fail(path + (key,), Phrase("must be one of {choices}, got {value}{did_you_mean}",
                                            choices=", ".join(choices), value=repr(value),
                                            did_you_mean=self.did_you_mean(value, choices)))
        return value

    def template(self, table: dict, key: str, path: tuple, campaign_id: str, limit: int, required=False):
        value = self.string(table, key, path, required=required)
        if value is None:
            return None
        if len(value) > limit:
            self.fail(path + (key,), Phrase("campaign {campaign}: longer than {limit} characters",
                                            campaign=repr(campaign_id), limit=limit))
        problem = campaigns.template_problem(value)
        if problem:
            self.fail(path + (key,), Phrase("campaign {campaign}: {problem}", campaign=repr(campaign_id),
                                            problem=problem))
        return value

    def subject(self, table: dict, path: tuple, campaign_id: str, channel: str) -> str | None:
        if channel != "email":
            if "subject" in table:
                self.fail(path + ("subject",), Phrase("campaign {campaign}: only an e-mail has a subject "
                                                      "(channel is {channel})", campaign=repr(campaign_id),
                                                      channel=repr(channel)))
            return None
        subject = self.template(table, "subject", path, campaign_id, SUBJECT_MAX)
        if subject is None:
            self.fail(path, Phrase("campaign {campaign}: an e-mail campaign needs a subject",
                                   campaign=repr(campaign_id)))
        if "\n" in subject or "\r" in subject:
            self.fail(path + ("subject",), Phrase("campaign {campaign}: a subject is one line",
                                                  campaign=repr(campaign_id)))
        return subject

    def audience_days(self, table: dict, path: tuple, audience: str) -> int | None:
        if audience != "inactive":
            if "inactive_days" in table:
                self.fail(path + ("inactive_days",), Phrase('only for audience = "inactive" (audience is {audience})',
                                                            audience=repr(audience)))
            return None
        return self.whole_number(table, "inactive_days", path, required=True, minimum=1, maximum=MAX_INACTIVE_DAYS)

    def audience_tier(self, table: dict, path: tuple, audience: str, tier_names: list[str]) -> str | None:
        if audience != "tier":
            if "tier" in table:
                self.fail(path + ("tier",), Phrase('only for audience = "tier" (audience is {audience})',
                                                   audience=repr(audience)))
            return None
        tier = self.string(table, "tier", path, required=True)
        if tier not in tier_names:
            known = ", ".join(tier_names) or Phrase("none defined")
            self.fail(path + ("tier",), Phrase("names tier {tier}, which does not exist (tiers: {known})",
                                               tier=repr(tier), known=known))
        return tier

    # -- [outreach] --

    def outreach(self) -> Outreach | None:
        path = ("outreach",)
        if "outreach" not in self.raw:
            return None
        table = self.table(self.raw, "outreach", path)
        if "password" in table:
            self.fail(path + ("password",), Phrase("the SMTP password is never kept in the config: "
                                                   "set the environment variable LOYALTY_SMTP_PASSWORD instead"))
        self.check_keys(table, OUTREACH_KEYS, path)
        host = self.string(table, "host", path, required=True)
        sender = self.string(table, "sender", path, required=True)
        if not EMAIL.fullmatch(sender):
            self.fail(path + ("sender",), Phrase("must be an e-mail address, got {sender}", sender=repr(sender)))
        starttls = table.get("starttls", False)
        if not isinstance(starttls, bool):
            self.fail(path + ("starttls",), Phrase("must be true or false, got {value}", value=repr(starttls)))
        user = self.string(table, "user", path)
        if user and not starttls and host not in LOCAL_HOSTS:
            self.fail(path + ("starttls",), Phrase("a login to {host} without starttls = true would send the "
                                                   "password in clear", host=host))
        port = self.whole_number(table, "port", path, default=587 if starttls else 25, minimum=1, maximum=65535)
        return Outreach(host=host, sender=sender, port=port, user=user, starttls=starttls)
