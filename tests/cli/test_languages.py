"""The shop's language through the CLI: [shop] locale sets the card, the errors, the reports'
words and the formats people read; JSON, CSV and exit codes are the same in every locale."""

import json

import pytest

from tests.conftest import SAMPLE

MARIA = "333 123 4567"
LOCALES = ("en", "es_ES", "it_IT", "hu_HU")


def shop_config(tmp_path, locale: str, **shop) -> str:
    """The sample config with [shop] locale (and any other [shop] values) set."""
    text = SAMPLE.read_text(encoding="utf-8").replace('# locale = "it_IT"', f'locale = "{locale}"', 1)
    for key, value in shop.items():
        start = text.index(f"\n{key} = ") + 1
        end = text.index("\n", start)
        text = text[:start] + f"{key} = {value}" + text[end:]
    path = tmp_path / f"{locale}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("locale, lines", [
    ("en", ["new customer enrolled; visit #1 recorded", "333 123 4567", "  Points: 32", "  Credit: €0.62",
            "  Earned: +1 punch, +12 points, +€0.62 credit"]),
    ("es_ES", ["nuevo cliente dado de alta; visita n.º 1 registrada", "333 123 4567", "  Puntos: 32",
               "  Saldo: 0,62 €", "  Ganado: +1 sello, +12 puntos, +0,62 € de saldo"]),
    ("it_IT", ["nuovo cliente iscritto; visita n. 1 registrata", "333 123 4567", "  Punti: 32", "  Credito: 0,62 €",
               "  Guadagnato: +1 timbro, +12 punti, +0,62 € di credito"]),
    ("hu_HU", ["új vásárló regisztrálva; a(z) 1. látogatás rögzítve", "333 123 4567", "  Pontok: 32",
               "  Jóváírás: 0,62 EUR", "  Szerzett: +1 pecsét, +12 pont, +0,62 EUR jóváírás"]),
])
def test_the_card_speaks_the_shops_language(cli, tmp_path, locale, lines):
    result = cli("--config", shop_config(tmp_path, locale), "visit", MARIA, "--amount", "12,50")
    assert result.exit_code == 0, result.stderr
    shown = plain(result.stdout).splitlines()
    assert [line for line in shown if not line.startswith("  Cone card")] == lines


@pytest.mark.parametrize("locale, error", [
    ("en", "error: not a valid phone number in region IT: '12'"),
    ("es_ES", "error: número de teléfono no válido en la región IT: '12'"),
    ("it_IT", "errore: numero di telefono non valido nella regione IT: '12'"),
    ("hu_HU", "hiba: érvénytelen telefonszám a(z) IT régióban: '12'"),
])
def test_the_first_error_is_already_in_the_shops_language(cli, tmp_path, db_path, locale, error):
    result = cli("--config", shop_config(tmp_path, locale), "visit", "12", "--amount", "5")
    assert result.exit_code == 2
    assert result.stderr == error + "\n"
    assert not db_path.exists()  # and nothing was created


@pytest.mark.parametrize("locale, title, heading, tail", [
    ("en", "Customers · Gelateria Roma · 2026-06-01 to 2026-06-15", "Phone", "€12.50"),
    ("es_ES", "Clientes · Gelateria Roma · del 01/06/2026 al 15/06/2026", "Teléfono", "12,50 €"),
    ("it_IT", "Clienti · Gelateria Roma · dal 01/06/2026 al 15/06/2026", "Telefono", "12,50 €"),
    ("hu_HU", "Vásárlók · Gelateria Roma · 2026. 06. 01. – 2026. 06. 15.", "Telefon", "12,50 EUR"),
])
def test_a_report_table_in_the_shops_language(cli, tmp_path, locale, title, heading, tail):
    config = shop_config(tmp_path, locale)
    assert cli("--config", config, "visit", MARIA, "--amount", "12.50").exit_code == 0
    result = cli("--config", config, "report", "customers", "--format", "table")
    assert result.exit_code == 0, result.stderr
    text = plain(result.stdout)
    assert text.splitlines()[0] == title
    assert any(line.split()[:1] == [heading] for line in text.splitlines()) and tail in text
    csv_head = cli("--config", config, "report", "customers", "--format", "csv").stdout.splitlines()[0]
    assert csv_head.startswith("phone,name,email,enrolled")  # CSV keeps its keys whatever the locale


def test_html_says_its_language(cli, tmp_path):
    config = shop_config(tmp_path, "it_IT")
    cli("--config", config, "visit", MARIA, "--amount", "12.50")
    page = cli("--config", config, "report", "summary", "--format", "html").stdout
    assert '<html lang="it">' in page and "<h1>Riepilogo</h1>" in page and "Visite al giorno" in page


def test_a_cards_json_is_the_same_in_every_locale(cli, tmp_path):
    cards = []
    for locale in LOCALES:
        config, db = shop_config(tmp_path, locale), str(tmp_path / f"{locale}.db")
        cli("--db", db, "--config", config, "visit", MARIA, "--amount", "123,50", "--name", "Maria")
        result = cli("--db", db, "--config", config, "visit", MARIA, "--amount", "12,50", "--json")
        assert result.exit_code == 0, result.stderr
        history = cli("--db", db, "--config", config, "history", MARIA, "--json")
        report = cli("--db", db, "--config", config, "report", "summary", "--json")
        cards.append((json.loads(result.stdout), history.stdout, report.stdout))
    assert all(card == cards[0] for card in cards[1:])
    assert cards[0][0]["credit"] == "6.79" and cards[0][0]["phone"] == "+393331234567"


def test_config_problems_keep_english_json_and_speak_on_stderr(cli, tmp_path):
    config = shop_config(tmp_path, "it_IT", max_amount="-1")
    result = cli("config", "check", config, "--json")
    assert result.exit_code == 2
    assert "must be at least" in json.loads(result.stdout)["problems"][0]
    assert "deve essere almeno" in cli("config", "check", config).stderr


def test_an_unknown_locale_is_refused(cli, tmp_path):
    result = cli("config", "check", shop_config(tmp_path, "fr_FR"))
    assert result.exit_code == 2
    assert "shop.locale: must be one of en, es_ES, it_IT, hu_HU, got 'fr_FR'" in result.stderr


def test_without_a_locale_the_system_language_is_taken(cli, isolated):
    config = isolated / "plain.toml"
    config.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("--config", config, "visit", MARIA, "--amount", "5", env={"LANG": "es_ES.UTF-8"})
    assert result.exit_code == 0 and "Puntos: " in result.stdout
    result = cli("--config", config, "visit", MARIA, "--amount", "5", env={"LANG": "de_DE.UTF-8"})
    assert "Points: " in result.stdout  # a language we do not speak: English


def test_forints_at_the_counter(cli, cli_json, tmp_path):
    config = shop_config(tmp_path, "hu_HU", currency='"HUF"', phone_region='"HU"', timezone='"Europe/Budapest"',
                         max_amount="100000")
    phone = "20 123 4567"
    card = cli_json("--config", config, "visit", phone, "--amount", "1.234")
    assert card["spend"] == "1234.00" and card["phone"] == "+36201234567"  # JSON: ISO minor units, as ever
    refused = cli("--config", config, "visit", phone, "--amount", "12,50")
    assert refused.exit_code == 2
    assert refused.stderr == "hiba: --amount '12,50': a(z) HUF összegek egészek, tizedesjegyek nélkül\n"
    shown = plain(cli("--config", config, "show", phone).stdout)
    # the credit: 5% of 1 234 Ft, rounded down to the forint
    assert shown.startswith("06 20 123 4567 · ") and "Pontok: 1 871" in shown and "Jóváírás: 61 Ft" in shown
    assert cli("--config", config, "redeem", phone, "--credit", "0,5").exit_code == 2


@pytest.mark.parametrize("typed", ["14/06/2026 18:30", "2026.06.14 18:30", "2026-06-14T18:30"])
def test_dates_typed_the_local_way(cli_json, typed):
    card = cli_json("visit", MARIA, "--amount", "5", "--at", typed)
    assert card["last_visit"] == "2026-06-14T18:30:00+02:00"
    rows = cli_json("report", "visits", "--since", "14/06/2026", "--until", "2026.06.14")["rows"]
    assert len(rows) == 1


def test_campaigns_forget_and_sync_speak_the_shops_language(cli, tmp_path):
    """The words added with campaigns, privacy and the chain of tills are translated too (their
    JSON stays English)."""
    config = shop_config(tmp_path, "it_IT")
    with open(config, "a", encoding="utf-8") as handle:
        handle.write('\n[[campaigns]]\nid = "tutti"\naudience = "all"\nchannel = "sms"\n'
                     'template = "Ciao {name}, hai {points} punti"\n')
    it = ("--config", config)
    assert cli(*it, "enroll", MARIA, "--name", "Maria", "--marketing", "yes").exit_code == 0
    preview = cli(*it, "campaign", "run", "tutti", "--dry-run")
    assert preview.exit_code == 0, preview.stderr
    assert "campagna tutti: raggiungerebbe 1 messaggi (1 nel pubblico; esclusi: 0 senza consenso" in preview.stdout
    assert json.loads(cli(*it, "campaign", "run", "tutti", "--dry-run", "--json").stdout)["reached"] == 1
    unknown = cli(*it, "campaign", "run", "saldi", "--dry-run")
    assert unknown.exit_code == 2 and unknown.stderr == "errore: nessuna campagna 'saldi' (campagne: tutti)\n"
    how = cli(*it, "campaign", "run", "tutti")
    assert how.exit_code == 2 and "campagna tutti: indichi come: --send (e-mail)" in how.stderr
    synced = cli(*it, "sync")
    assert synced.exit_code == 0 and synced.stdout == "inviate 0 visite offline; 0 erano già registrate\n"
    forgot = cli(*it, "forget", MARIA, "--yes")
    assert forgot.exit_code == 0, forgot.stderr
    assert forgot.stdout.startswith("dimenticato +393331234567: ora ") and "importi conservati" in forgot.stdout
    again = cli(*it, "forget", "333 000 0000", "--yes")
    assert again.exit_code == 1 and again.stderr == "errore: nessun cliente con il telefono '333 000 0000'\n"


def test_the_liability_rows_speak_italian_while_json_stays_english(cli, tmp_path):
    config = shop_config(tmp_path, "it_IT")
    assert cli("--config", config, "visit", MARIA, "--amount", "12,50").exit_code == 0
    shown = cli("--config", config, "report", "liability", "--format", "table")
    assert shown.exit_code == 0, shown.stderr
    assert "Credito in negozio" in shown.stdout and "Totale dovuto (punti, credito e buoni aperti)" in shown.stdout
    assert "Store credit" not in shown.stdout
    for machine in (["--json"], ["--format", "csv"]):
        text = cli("--config", config, "report", "liability", *machine).stdout
        assert "Store credit" in text and "Credito in negozio" not in text
