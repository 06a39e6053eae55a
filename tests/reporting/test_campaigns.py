"""Issue 12: marketing consent, campaigns (preview, export, e-mail through a real SMTP server),
the campaigns report and the at-risk page's contact links."""

import csv
import json
from urllib.parse import quote

import pytest

from tests.conftest import SAMPLE, db_content, db_query, nothing_recorded

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MARIA, LUCA, ANNA, PIETRO = "333 111 1111", "333 222 2222", "333 333 3333", "333 444 4444"

CAMPAIGNS = """
[[campaigns]]
id = "hello"
audience = "all"
channel = "email"
subject = "Ciao {name}, {points} punti da {shop}"
template = "Ciao {name}, hai {points} punti e {credit} di credito; ti mancano {punches_left} timbri per {reward_name}."
cooldown_days = 30

[[campaigns]]
id = "chat"
audience = "all"
channel = "whatsapp"
template = "Ciao {name}! Hai {points} punti & un cono ti aspetta?"

[[campaigns]]
id = "texts"
audience = "inactive"
inactive_days = 60
channel = "sms"
template = "{name}, ci manchi"

[[campaigns]]
id = "winback"
audience = "at_risk"
channel = "email"
subject = "Ci manchi"
template = "Ciao {name}"
"""


def write_config(tmp_path, monkeypatch, extra: str, port: int | None = None) -> None:
    outreach = (f'\n[outreach]\nhost = "127.0.0.1"\nport = {port}\nsender = "shop@example.com"\n'
                if port is not None else "")
    path = tmp_path / "shop.toml"
    path.write_text(SAMPLE.read_text(encoding="utf-8") + extra + outreach, encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(path))


@pytest.fixture
def shop(cli, tmp_path, monkeypatch, smtp):
    """Four customers: Maria (consent, e-mail), Luca (consent, no e-mail), Anna (e-mail, no
    consent on record), Pietro (e-mail, consent given then withdrawn)."""
    inbox, port = smtp
    write_config(tmp_path, monkeypatch, CAMPAIGNS, port)
    for args in (
            (MARIA, "--name", "Maria", "--email", "maria@example.com", "--marketing", "yes",
             "--consent-source", "paper form"),
            (LUCA, "--name", "Luca", "--marketing", "sì"),
            (ANNA, "--name", "Anna", "--email", "anna@example.com"),
            (PIETRO, "--name", "Pietro", "--email", "pietro@example.com", "--marketing", "igen")):
        result = cli("enroll", *args)
        assert result.exit_code == 0, result.stderr
    assert cli("edit", PIETRO, "--marketing", "no", "--consent-source", "asked us to stop").exit_code == 0
    assert cli("visit", MARIA, "--amount", "12.50").exit_code == 0
    return inbox


def contacts(db_path) -> list[tuple]:
    return db_query(db_path, "SELECT campaign, c.phone, channel FROM contacts JOIN customers c "
                             "ON c.id = contacts.customer_id ORDER BY contacts.id")


# ---- consent -----------------------------------------------------------------------------------

def test_the_consent_log_is_shown_and_only_appended_to(shop, cli_json):
    data = cli_json("show", PIETRO)
    assert data["marketing"] is False
    assert [(c["marketing"], c["source"]) for c in data["consents"]] == [(True, None), (False, "asked us to stop")]
    assert all(c["at"] == "2026-06-15T14:00:00+02:00" for c in data["consents"])
    assert cli_json("show", MARIA)["consents"] == [{"at": "2026-06-15T14:00:00+02:00", "marketing": True,
                                                    "source": "paper form"}]
    assert cli_json("show", ANNA)["consents"] == [] and cli_json("show", ANNA)["marketing"] is False


def test_show_on_a_terminal_lists_the_consent_log(shop, cli):
    assert cli("edit", ANNA, "--marketing", "no").stdout.startswith("details saved; marketing consent withdrawn")
    result = cli("show", PIETRO)
    assert "Marketing: no" in result.stdout
    assert "2026-06-15 14:00  yes" in result.stdout and "no  (asked us to stop)" in result.stdout


@pytest.mark.parametrize("args, said", [
    (("--marketing", "maybe"), "--marketing must be yes/no"),
    (("--consent-source", "paper form"), "give --marketing yes|no with it"),
])
def test_a_bad_consent_is_one_line_and_changes_nothing(shop, cli, db_path, args, said):
    before = db_content(db_path)
    result = cli("edit", MARIA, *args)
    assert result.exit_code == 2
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert db_content(db_path) == before


def test_import_cards_reads_a_marketing_column(cli, cli_json, tmp_path):
    cards = tmp_path / "cards.csv"
    cards.write_text("phone,name,marketing\n3331111111,Maria,sí\n3332222222,Luca,nem\n3333333333,Anna,\n"
                     "3334444444,Pietro,TRUE\n", encoding="utf-8")
    summary = cli_json("import", "cards", cards)
    assert summary["consents_recorded"] == 3
    maria = cli_json("show", MARIA)
    assert maria["marketing"] is True and maria["consents"][0]["source"] == "import cards.csv"
    assert cli_json("show", LUCA)["marketing"] is False
    assert cli_json("show", ANNA)["consents"] == []
    assert cli_json("show", PIETRO)["marketing"] is True
    again = cli_json("import", "cards", cards)  # the same file again: no consent changed
    assert again["consents_recorded"] == 0 and len(cli_json("show", MARIA)["consents"]) == 1


def test_import_cards_rejects_a_marketing_word_it_does_not_know(cli, tmp_path, db_path):
    cards = tmp_path / "cards.csv"
    cards.write_text("phone,name,Marketing\n3331111111,Maria,yes\n3332222222,Luca,perhaps\n", encoding="utf-8")
    result = cli("import", "cards", cards, "--json")
    assert result.exit_code != 0
    assert "cards.csv: line 3: column 'Marketing': marketing must be yes/no" in result.stderr
    assert "'perhaps'" in result.stderr
    assert nothing_recorded(db_path) or db_content(db_path)["consents"] == []


# ---- e-mail through a real SMTP server ---------------------------------------------------------

def test_only_consented_customers_with_an_email_get_it_with_their_own_figures(shop, cli, db_path):
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 0, result.stderr
    assert shop.to() == ["maria@example.com"]
    mail = shop.messages[0]
    assert mail["Subject"] == "Ciao Maria, 32 punti da Gelateria Roma"  # 20 welcome + 12 for 12.50
    body = mail.get_content()
    assert "Ciao Maria, hai 32 punti e €0.62 di credito; ti mancano 9 timbri per Free ice cream cone." in body
    assert "To stop, reply STOP or tell us at the counter." in body
    assert mail["List-Unsubscribe"] == "<mailto:shop@example.com?subject=STOP>"
    assert mail["From"] == "shop@example.com"
    assert contacts(db_path) == [("hello", "+393331111111", "email")]
    assert "sent 1 message(s)" in result.stdout and "1 without consent" not in result.stdout


def test_a_rerun_never_mails_anyone_twice_and_says_nobody_is_left(shop, cli, cli_json, db_path):
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    again = cli("campaign", "run", "hello", "--send")
    assert again.exit_code == 0
    assert "nobody to reach" in again.stdout and "1 contacted within the cooldown" in again.stdout
    assert shop.to() == ["maria@example.com"]
    data = cli_json("campaign", "run", "hello", "--send")
    assert data["reached"] == 0 and data["in_cooldown"] == 1 and data["no_consent"] == 2


def test_the_cooldown_lets_a_customer_hear_again_only_after_it(shop, cli, at):
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    at("2026-07-14T12:00:00+00:00")  # 29 days on
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    assert len(shop.messages) == 1
    at("2026-07-16T12:00:00+00:00")  # 31 days on
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    assert shop.to() == ["maria@example.com", "maria@example.com"]


def test_consent_withdrawn_stops_the_next_run(shop, cli, at):
    assert cli("edit", MARIA, "--marketing", "no").exit_code == 0
    at("2026-08-15T12:00:00+00:00")
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 0 and "nobody to reach" in result.stdout
    assert shop.messages == []


@pytest.mark.parametrize("failure", ["the second recipient refused", "the server gives up after one message"])
def test_a_send_that_fails_half_way_logs_what_was_sent_and_a_rerun_sends_the_rest(shop, cli, db_path, failure):
    for phone, mail in ((LUCA, "luca@example.com"), (ANNA, "anna@example.com")):
        assert cli("edit", phone, "--email", mail, "--marketing", "yes").exit_code == 0
    if failure.startswith("the second"):
        shop.refuse = {"luca@example.com"}  # the second of three, in customer order
    else:
        shop.fail_after = 1
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "550" in line and "luca@example.com" in line and "1 sent" in line
    assert shop.to() == ["maria@example.com"]
    assert [phone for _c, phone, _ch in contacts(db_path)] == ["+393331111111"]
    shop.refuse, shop.fail_after = set(), None
    rerun = cli("campaign", "run", "hello", "--send")
    assert rerun.exit_code == 0, rerun.stderr
    assert shop.to() == ["maria@example.com", "luca@example.com", "anna@example.com"]
    assert sorted(phone for _c, phone, _ch in contacts(db_path)) == ["+393331111111", "+393332222222",
                                                                       "+393333333333"]


def test_a_server_that_cannot_be_reached_is_one_line_and_logs_nothing(cli, tmp_path, monkeypatch, db_path):
    from tests.conftest import free_port

    write_config(tmp_path, monkeypatch, CAMPAIGNS, free_port())  # nothing listens there
    assert cli("enroll", MARIA, "--email", "maria@example.com", "--marketing", "yes").exit_code == 0
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 1
    assert "cannot reach the SMTP server 127.0.0.1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and contacts(db_path) == []


def test_a_login_uses_the_password_from_the_environment_only(cli, tmp_path, monkeypatch, smtp, db_path):
    inbox, port = smtp
    write_config(tmp_path, monkeypatch, CAMPAIGNS + f'\n[outreach]\nhost = "localhost"\nport = {port}\n'
                 'user = "shop"\nsender = "shop@example.com"\n')
    assert cli("enroll", MARIA, "--email", "maria@example.com", "--marketing", "yes").exit_code == 0
    monkeypatch.delenv("LOYALTY_SMTP_PASSWORD", raising=False)
    before = db_content(db_path)
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 2 and "LOYALTY_SMTP_PASSWORD is not set" in result.stderr
    assert db_content(db_path) == before and inbox.messages == []
    monkeypatch.setenv("LOYALTY_SMTP_PASSWORD", "s3cret")
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    assert inbox.logins == [("shop", "s3cret")] and inbox.to() == ["maria@example.com"]


def test_starttls_then_login_on_a_real_tls_server(cli, tmp_path, monkeypatch, tls_smtp):
    inbox, port = tls_smtp
    write_config(tmp_path, monkeypatch, CAMPAIGNS + f'\n[outreach]\nhost = "127.0.0.1"\nport = {port}\n'
                 'user = "shop"\nsender = "shop@example.com"\nstarttls = true\n')
    monkeypatch.setenv("LOYALTY_SMTP_PASSWORD", "s3cret")
    assert cli("enroll", MARIA, "--email", "maria@example.com", "--marketing", "yes").exit_code == 0
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 0, result.stderr
    assert inbox.logins == [("shop", "s3cret")] and inbox.to() == ["maria@example.com"]


def test_starttls_asked_of_a_server_without_it_is_one_line(shop, cli, tmp_path, monkeypatch, smtp, db_path):
    _inbox, port = smtp
    write_config(tmp_path, monkeypatch, CAMPAIGNS + f'\n[outreach]\nhost = "127.0.0.1"\nport = {port}\n'
                 'sender = "shop@example.com"\nstarttls = true\n')
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "STARTTLS" in result.stderr
    assert contacts(db_path) == [] and shop.messages == []


def test_no_login_without_a_user(shop, cli, monkeypatch):
    monkeypatch.setenv("LOYALTY_SMTP_PASSWORD", "s3cret")
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    assert shop.logins == [] and len(shop.messages) == 1


def test_dry_run_changes_nothing_even_with_send_or_export(shop, cli, cli_json, db_path, tmp_path):
    before = db_content(db_path)
    preview = cli_json("campaign", "run", "hello", "--dry-run", "--send")
    assert preview["dry_run"] is True and [r["email"] for r in preview["recipients"]] == ["maria@example.com"]
    assert shop.messages == []
    target = tmp_path / "preview.json"
    result = cli("campaign", "run", "chat", "--dry-run", "--export", target)
    assert result.exit_code == 0 and "nothing logged" in result.stdout
    assert [row["phone"] for row in json.loads(target.read_text(encoding="utf-8"))] == ["+393331111111",
                                                                                      "+393332222222"]
    shown = cli("campaign", "run", "hello", "--dry-run")
    assert "maria@example.com [Ciao Maria, 32 punti da Gelateria Roma]: Ciao Maria" in shown.stdout
    assert db_content(db_path) == before


# ---- exports -----------------------------------------------------------------------------------

def test_export_json_has_the_whatsapp_link_and_counts_as_contacting(shop, cli, cli_json, db_path, tmp_path):
    target = tmp_path / "chat.json"
    data = cli_json("campaign", "run", "chat", "--export", target)
    assert data["reached"] == 2
    rows = json.loads(target.read_text(encoding="utf-8"))
    text = "Ciao Maria! Hai 32 punti & un cono ti aspetta?"
    assert rows[0] == {"campaign": "chat", "channel": "whatsapp", "phone": "+393331111111",
                       "email": "maria@example.com", "name": "Maria", "subject": None, "message": text,
                       "link": "https://wa.me/393331111111?text=" + quote(text, safe="")}
    assert "%26" in rows[0]["link"] and " " not in rows[0]["link"]
    assert [phone for _c, phone, _ch in contacts(db_path)] == ["+393331111111", "+393332222222"]
    again = cli_json("campaign", "run", "chat", "--export", target)
    assert again["reached"] == 0 and json.loads(target.read_text(encoding="utf-8")) == []


def test_export_csv_is_rfc4180_with_e164_phones(shop, cli, tmp_path, at):
    target = tmp_path / "texts.csv"
    at("2026-09-01T12:00:00+00:00")  # everyone silent for more than 60 days
    result = cli("campaign", "run", "texts", "--export", target)
    assert result.exit_code == 0, result.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfcampaign,channel,phone,") and b"\r\n" in raw
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [(r["phone"], r["message"], r["link"]) for r in rows] == [
        ("+393331111111", "Maria, ci manchi", ""), ("+393332222222", "Luca, ci manchi", "")]


def test_an_export_file_must_be_csv_or_json(shop, cli, db_path):
    before = db_content(db_path)
    result = cli("campaign", "run", "chat", "--export", "out.txt")
    assert result.exit_code == 2 and ".csv or .json" in result.stderr
    assert db_content(db_path) == before


def test_send_is_for_email_campaigns_and_needs_a_way(shop, cli):
    assert "--send sends e-mail only" in cli("campaign", "run", "chat", "--send").stderr
    assert "say how" in cli("campaign", "run", "chat").stderr
    assert "no campaign 'nope'" in cli("campaign", "run", "nope", "--dry-run").stderr


# ---- the config --------------------------------------------------------------------------------

@pytest.mark.parametrize("template, said", [
    ("Ciao {nome}", "campaign 'x': unknown placeholder {nome}"),
    ("Ciao {name", "campaign 'x': expected '}' before end of string"),
    ("Ciao name}", "campaign 'x': Single '}' encountered"),
    ("Ciao {name!r}", "campaign 'x': placeholder {name} takes no format"),
])
def test_a_bad_template_is_one_config_check_line_naming_the_campaign(cli, tmp_path, monkeypatch, template, said):
    write_config(tmp_path, monkeypatch, f'\n[[campaigns]]\nid = "x"\naudience = "all"\nchannel = "sms"\n'
                                        f'template = "{template}"\n')
    result = cli("config", "check")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    line = (tmp_path / "shop.toml").read_text().splitlines().index(f'template = "{template}"') + 1
    assert said in result.stderr and f"shop.toml:{line}: campaigns[0].template: " in result.stderr


@pytest.mark.parametrize("extra, said", [
    ('\n[outreach]\nhost = "smtp.example.com"\nsender = "a@example.com"\npassword = "hunter2"\n',
     "outreach.password: the SMTP password is never kept in the config: set the environment variable "
     "LOYALTY_SMTP_PASSWORD"),
    ('\n[outreach]\nhost = "smtp.example.com"\nsender = "a@example.com"\nstarttls = "yes"\n',
     "outreach.starttls: must be true or false"),
    ('\n[outreach]\nhost = "smtp.example.com"\nsender = "a@example.com"\nuser = "a"\n',
     "without starttls = true would send the password in clear"),
    ('\n[[campaigns]]\nid = "t"\naudience = "tier"\ntier = "Platinum"\nchannel = "sms"\ntemplate = "x"\n',
     "names tier 'Platinum', which does not exist (tiers: Silver, Gold)"),
    ('\n[[campaigns]]\nid = "i"\naudience = "inactive"\nchannel = "sms"\ntemplate = "x"\n',
     "missing required key 'inactive_days'"),
    ('\n[[campaigns]]\nid = "e"\naudience = "all"\nchannel = "email"\ntemplate = "x"\n',
     "campaign 'e': an e-mail campaign needs a subject"),
    ('\n[[campaigns]]\nid = "c"\naudience = "all"\nchannel = "sms"\ntemplate = "x"\ncooldown_days = 0\n',
     "cooldown_days: must be at least 1"),
    ('\n[[campaigns]]\nid = "a"\naudience = "everyone"\nchannel = "sms"\ntemplate = "x"\n',
     "audience: must be one of at_risk, near_reward, birthday, inactive, tier, all"),
    (CAMPAIGNS + '\n[[campaigns]]\nid = "hello"\naudience = "all"\nchannel = "sms"\ntemplate = "x"\n',
     "duplicate campaign id 'hello'"),
])
def test_campaign_and_outreach_problems_are_config_errors(cli, tmp_path, monkeypatch, extra, said, db_path):
    write_config(tmp_path, monkeypatch, extra)
    result = cli("config", "check")
    assert result.exit_code == 2
    assert said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    visit = cli("visit", MARIA)  # every command stops at it, before the database is touched
    assert visit.exit_code == 2 and visit.stderr.strip() == result.stderr.strip()
    assert nothing_recorded(db_path)


def test_send_without_outreach_settings_is_one_line_and_changes_nothing(cli, tmp_path, monkeypatch, db_path):
    write_config(tmp_path, monkeypatch, CAMPAIGNS)
    assert cli("enroll", MARIA, "--email", "maria@example.com", "--marketing", "yes").exit_code == 0
    before = db_content(db_path)
    result = cli("campaign", "run", "hello", "--send")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: campaign hello: --send needs an [outreach] table in the config "
                                     "(host, sender; port, user, starttls as needed)")
    assert db_content(db_path) == before


def test_config_show_lists_campaigns_and_outreach_without_a_password(shop, cli_json):
    data = cli_json("config", "show")["config"]
    assert [c["id"] for c in data["campaigns"]] == ["hello", "chat", "texts", "winback"]
    assert data["outreach"]["host"] == "127.0.0.1" and "password" not in data["outreach"]


def test_the_sample_config_stays_valid_with_its_campaigns_commented_out(cli_json):
    data = cli_json("config", "show")["config"]
    assert data["campaigns"] == [] and data["outreach"] is None


def test_import_cards_takes_json_booleans_for_marketing(cli_json, tmp_path):
    cards = tmp_path / "cards.jsonl"
    cards.write_text('{"phone": "3331111111", "marketing": true}\n{"phone": "3332222222", "marketing": false}\n',
                     encoding="utf-8")
    assert cli_json("import", "cards", cards)["consents_recorded"] == 2
    assert cli_json("show", MARIA)["marketing"] is True and cli_json("show", LUCA)["marketing"] is False


# ---- audiences, the report, the at-risk page ------------------------------------------------------

GINA = "333 666 6666"


@pytest.fixture
def regular(cli):
    """Gina, a weekly regular silent since 5 April (overdue on 15 June), consenting, with e-mail."""
    assert cli("enroll", GINA, "--email", "gina@example.com", "--marketing", "yes").exit_code == 0
    for day in ("03-01", "03-08", "03-15", "03-22", "03-29", "04-05"):
        assert cli("visit", GINA, "--amount", "5", "--at", f"2026-{day}T12:00").exit_code == 0


def test_the_at_risk_audience_is_the_reports_overdue_regulars(shop, regular, cli_json):
    report = cli_json("report", "at-risk")
    assert [row["phone"] for row in report["rows"]] == ["+393336666666"]
    data = cli_json("campaign", "run", "winback", "--dry-run")
    assert [r["phone"] for r in data["recipients"]] == ["+393336666666"]


def test_the_campaigns_report_counts_contacts_and_who_came_back(shop, cli, cli_json, at):
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    assert cli("campaign", "run", "chat", "--export", "chat.csv").exit_code == 0
    at("2026-06-25T12:00:00+00:00")
    assert cli("visit", MARIA, "--amount", "3").exit_code == 0
    rows = {row["campaign"]: row for row in cli_json("report", "campaigns")["rows"]}
    assert rows["hello"]["contacts"] == 1 and rows["hello"]["came_back"] == 1
    assert rows["chat"]["customers"] == 2 and rows["chat"]["came_back"] == 1 and rows["chat"]["waiting"] == 1
    assert rows["texts"]["contacts"] == 0
    at("2026-08-01T12:00:00+00:00")  # Luca never came back within 30 days
    chat = next(row for row in cli_json("report", "campaigns")["rows"] if row["campaign"] == "chat")
    assert chat["came_back"] == 1 and chat["waiting"] == 0
    listed = {row["campaign"]: row for row in cli_json("campaign", "list")["rows"]}
    assert listed["texts"]["audience"] == "inactive 60 days" and listed["chat"]["contacts"] == 2


def test_the_campaigns_report_in_every_format(shop, cli, tmp_path):
    assert cli("campaign", "run", "hello", "--send").exit_code == 0
    for fmt in ("csv", "json", "xlsx", "html"):
        out = tmp_path / f"campaigns.{fmt}"
        result = cli("report", "campaigns", "--output", out)
        assert result.exit_code == 0, result.stderr
        assert out.stat().st_size > 0
    assert "hello,email,all,1,1,0" in (tmp_path / "campaigns.csv").read_text(encoding="utf-8-sig")


def test_the_at_risk_page_links_consenting_customers_only(shop, regular, cli, tmp_path, at):
    assert cli("enroll", "333 555 5555", "--email", "x@example.com").exit_code == 0  # no consent
    for day in ("03-01", "03-08", "03-15", "03-22", "03-29", "04-05"):
        assert cli("visit", "333 555 5555", "--amount", "4", "--at", f"2026-{day}T13:00").exit_code == 0
    page = tmp_path / "at-risk.html"
    assert cli("report", "at-risk", "--output", page).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert '<a href="tel:+393336666666">333 666 6666</a>' in html  # shown as the shop writes it
    assert '<a href="https://wa.me/393336666666">WhatsApp</a>' in html
    assert '<a href="mailto:gina@example.com">gina@example.com</a>' in html
    assert "tel:+393335555555" not in html and "x@example.com" not in html
    plain = tmp_path / "at-risk.csv"
    assert cli("report", "at-risk", "--output", plain).exit_code == 0
    text = plain.read_text(encoding="utf-8-sig")
    assert "tel:" not in text and "wa.me" not in text and "mailto" not in text


AUDIENCES = """
[[campaigns]]
id = "near"
audience = "near_reward"
channel = "sms"
template = "{name}: {punches_left} more for {reward_name}"

[[campaigns]]
id = "bday"
audience = "birthday"
channel = "sms"
template = "Auguri {name}!"

[[campaigns]]
id = "gold"
audience = "tier"
tier = "Gold"
channel = "sms"
template = "{name}, {tier}"
"""


def test_near_reward_birthday_and_tier_audiences(cli, cli_json, tmp_path, monkeypatch):
    write_config(tmp_path, monkeypatch, AUDIENCES)
    for phone, birthday in ((MARIA, "1990-06-20"), (LUCA, "1985-06-30"), (ANNA, "2000-01-01")):
        assert cli("enroll", phone, "--birthday", birthday, "--marketing", "yes").exit_code == 0
    for day in range(1, 10):  # Maria: 9 of the card's 10 punches
        assert cli("visit", MARIA, "--amount", "2", "--at", f"2026-06-{day:02d}T10:00").exit_code == 0
    assert cli("visit", LUCA, "--amount", "400", "--at", "2026-06-10T10:00").exit_code == 0  # Gold by spend
    near = cli_json("campaign", "run", "near", "--dry-run")["recipients"]
    assert [(r["phone"], r["message"]) for r in near] == [("+393331111111", ": 1 more for Free ice cream cone")]
    assert [r["phone"] for r in cli_json("campaign", "run", "bday", "--dry-run")["recipients"]] == ["+393331111111"]
    gold = cli_json("campaign", "run", "gold", "--dry-run")["recipients"]
    assert [(r["phone"], r["message"]) for r in gold] == [("+393332222222", ", Gold")]
