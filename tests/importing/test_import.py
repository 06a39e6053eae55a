"""`loyalty import cards|visits` end to end, on fixture files that look like real exports.

Expected figures are worked out by hand from the fixture rows (see the comments), never
copied from the importer's own output.
"""

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import db_content
from tests.importing.conftest import FIXTURES, query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent.parent  # the repository
SAMPLE_CONFIG = ROOT / "loyalty_cli" / "config" / "sample.toml"
NOW = "2026-06-15T12:00:00.000000Z"  # the pinned clock (conftest), as stored


@pytest.fixture
def spanish(monkeypatch):
    monkeypatch.setenv("LOYALTY_CONFIG", str(FIXTURES / "es.toml"))




def customer(db_path, phone):
    rows = query(db_path, "SELECT * FROM customers WHERE phone = ?", phone)
    assert rows, f"no customer {phone}"
    row = rows[0]
    row["punches"] = json.loads(row["punches"])
    return row


def ledger(db_path, phone):
    return query(db_path, "SELECT l.kind, l.points, l.punches, l.credit, l.rule, l.reward, l.reason, l.voucher, "
                          "l.earned_at FROM ledger l JOIN customers c ON c.id = l.customer_id "
                          "WHERE c.phone = ? ORDER BY l.id", phone)


def doctor_ok(cli):
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"]


# ---- Spanish cards: semicolons, Windows-1252, first name + surname columns ------------------

ES_CARDS = FIXTURES / "es_cards_cp1252.csv"


def test_spanish_cards_land_with_exact_balances(reader, cli_json, cli, db_path, spanish):
    summary = cli_json("import", "cards", ES_CARDS)
    assert (summary["encoding"], summary["delimiter"], summary["format"]) == ("cp1252", ";", "csv")
    # 6 data lines: one blank (skipped), Ana twice (612 34 56 78 and 612.34.56.78: merged).
    assert summary["rows_read"] == 6
    assert summary["skipped"] == 1
    assert summary["merged"] == 1
    assert summary["merges"] == [{"phone": "+34612345678", "line": 5, "into_line": 2}]
    assert summary["rows_imported"] == 5
    assert summary["customers_created"] == 4
    assert summary["customers_updated"] == 0
    assert summary["punches"] == 3 + 7 + 0 + 4 + 12
    assert summary["points"] == 120 + 45 + 30
    assert summary["credit"] == "1240.00"  # 5,50 + 1.234,50
    # Ana owes 1, María 2, the bakery's 12 punches fill one card of 10.
    assert summary["vouchers_issued"] == 4
    assert summary["rejected"] == summary["already_imported"] == 0

    ana = customer(db_path, "+34612345678")
    assert ana["name"] == "Ana García López"
    assert (ana["points"], ana["credit"], ana["punches"]) == (150, 550, {"Tarjeta café": 7})
    assert ana["note"] == "Clienta desde 2019 / Segunda tarjeta"
    assert ana["last_visit_at"] == "2026-03-20T11:00:00.000000Z"  # noon in Madrid, CET
    assert ana["visits"] == 0 and ana["enrolled_at"] == NOW
    reason = f"imported from paper card ({ES_CARDS}, line 2)"
    [balance, owed] = ledger(db_path, "+34612345678")
    assert balance == {"kind": "import", "points": 150, "punches": 7, "credit": 550, "rule": "Tarjeta café",
                       "reward": None, "reason": reason, "voucher": None, "earned_at": NOW}
    assert (owed["kind"], owed["reward"], owed["punches"], owed["reason"]) == ("reward", "cafe", 0, reason)
    voucher = query(db_path, "SELECT * FROM vouchers WHERE code = ?", owed["voucher"])[0]
    assert (voucher["status"], voucher["reward"], voucher["issued_at"]) == ("issued", "cafe", NOW)
    assert voucher["expires_at"] == "2026-09-13T12:00:00.000000Z"  # rewards_days = 90

    bakery = customer(db_path, "+34911234567")
    assert bakery["punches"] == {"Tarjeta café": 2}
    [carried, full_card] = ledger(db_path, "+34911234567")
    assert (carried["punches"], full_card["punches"], full_card["reward"]) == (12, -10, "cafe")

    maria = customer(db_path, "+34655443322")
    assert (maria["points"], maria["credit"], maria["punches"]) == (45, 123450, {})
    assert len(query(db_path, "SELECT * FROM vouchers v JOIN customers c ON c.id = v.customer_id "
                              "WHERE c.phone = '+34655443322'")) == 2
    doctor_ok(cli)


def test_rerunning_cards_changes_nothing(cli_json, db_path, spanish):
    cli_json("import", "cards", ES_CARDS)
    before = db_content(db_path)
    again = cli_json("import", "cards", ES_CARDS)
    assert db_content(db_path) == before
    assert again["already_imported"] == 5
    assert again["rows_imported"] == again["customers_created"] == again["vouchers_issued"] == 0
    assert again["import_id"] is None


def test_a_card_with_other_balances_is_refused_not_doubled(cli, cli_json, db_path, spanish, tmp_path):
    cli_json("import", "cards", ES_CARDS)
    changed = tmp_path / "changed.csv"
    changed.write_text("Teléfono;Sellos\n699 111 222;9\n", encoding="utf-8")
    before = db_content(db_path)
    result = cli("import", "cards", changed)
    assert result.exit_code == 2
    assert "a card with other balances was imported for +34699111222" in result.stderr
    assert db_content(db_path) == before


def test_cards_for_an_existing_customer_update_them(cli, cli_json, db_path, spanish, tmp_path):
    assert cli("enroll", "699 111 222", "--name", "Pepe").exit_code == 0
    summary = cli_json("import", "cards", ES_CARDS)
    assert (summary["customers_created"], summary["customers_updated"]) == (3, 1)
    jose = customer(db_path, "+34699111222")
    assert jose["name"] == "Pepe"  # the counter's name is kept; blanks are filled
    assert jose["punches"] == {"Tarjeta café": 7}
    doctor_ok(cli)


# ---- bad rows ----------------------------------------------------------------------------------

BAD = FIXTURES / "bad_cards.csv"


def test_bad_rows_stop_the_import_and_leave_the_database_untouched(reader, cli, db_path):
    assert cli("enroll", "333 000 0000").exit_code == 0
    before = db_content(db_path)
    result = cli("import", "cards", BAD)
    assert result.exit_code == 2, result.output
    assert db_content(db_path) == before
    errors = result.stderr.splitlines()
    assert f"error: {BAD}: line 3: column 'phone': not a valid phone number in region IT: '12345'" in errors
    assert f"error: {BAD}: line 4: column 'punches': punches must not be negative: '-2'" in errors
    assert f"error: {BAD}: line 5: column 'credit': credit is not a number: 'dodici'" in errors
    assert f"error: {BAD}: line 6: column 'phone': phone is missing" in errors
    assert any(line.startswith(f"error: {BAD}: line 8: column 'rewards': no reward 'gelato-gratis'") for line in errors)
    assert f"error: {BAD}: line 10: column 'last visit': last visit is in the future: '2027-01-01'" in errors
    assert errors[-1] == (f"error: {BAD}: 6 rows not valid; nothing was imported "
                          "(fix them, or import the rest with --skip-invalid --rejects FILE)")


def test_bad_rows_json_summary_on_failure(cli, db_path):
    result = cli("import", "cards", BAD, "--json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["rejected"] == 6 and summary["import_id"] is None
    assert [e["line"] for e in summary["errors"]] == [3, 4, 5, 6, 8, 10]


def test_skip_invalid_imports_the_rest_and_writes_rejects(cli, cli_json, db_path, tmp_path):
    rejects = tmp_path / "rejects.csv"
    summary = cli_json("import", "cards", BAD, "--skip-invalid", "--rejects", rejects)
    # Good: Giulia (lines 2 and 7, merged) and Marco (12 punches: a full card of 10 + 2).
    assert summary["rows_read"] == 9
    assert (summary["rows_imported"], summary["rejected"], summary["merged"]) == (3, 6, 1)
    assert summary["customers_created"] == 2
    assert summary["punches"] == 4 + 3 + 12
    assert summary["points"] == 120
    assert summary["credit"] == "2.50"
    assert summary["vouchers_issued"] == 2  # Giulia's owed cone, Marco's full card
    giulia = customer(db_path, "+393331112222")
    assert (giulia["points"], giulia["credit"], giulia["punches"]) == (120, 250, {"Cone card": 7})
    assert giulia["last_visit_at"] == "2026-06-01T10:00:00.000000Z"  # the later of the two, noon in Rome
    marco = customer(db_path, "+393331116666")
    assert marco["punches"] == {"Cone card": 2}
    with open(rejects, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["phone", "name", "punches", "points", "credit", "rewards", "last visit", "rejected_because"]
    assert [row[1] for row in rows[1:]] == ["Too Short", "Negative Punches", "Bad Credit", "No Phone",
                                            "Unknown Reward", "Future Visit"]
    assert rows[1][-1] == "line 3: column 'phone': not a valid phone number in region IT: '12345'"
    doctor_ok(cli)

    # The owner fixes two rows in the rejects file and imports it as it is (reason column and all).
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        writer.writerow(["333 111 3333", "Negative Punches", "2", "", "", "", "", rows[2][-1]])
        writer.writerow(["333 111 4444", "Bad Credit", "1", "", "12,00", "", "", rows[3][-1]])
    again = cli_json("import", "cards", fixed)
    assert (again["rows_imported"], again["customers_created"], again["rejected"]) == (2, 2, 0)
    assert customer(db_path, "+393331114444")["credit"] == 1200
    doctor_ok(cli)


def test_skip_invalid_needs_a_rejects_file(cli):
    result = cli("import", "cards", BAD, "--skip-invalid")
    assert result.exit_code == 2
    assert "--skip-invalid needs --rejects FILE" in result.stderr


def test_strict_refuses_a_second_row_for_a_phone(cli, db_path, tmp_path):
    file = tmp_path / "dupes.csv"
    file.write_text("phone,punches\n333 111 2222,4\n+39 333 111 2222,3\n", encoding="utf-8")
    result = cli("import", "cards", file, "--strict")
    assert result.exit_code == 2
    assert "line 3: column 'phone': +393331112222 is already on line 2 (--strict refuses duplicates)" in result.stderr


def test_dry_run_reports_exactly_and_writes_nothing(cli_json, db_path, spanish):
    cli_json("enroll", "612 34 56 78")  # creates the database
    before = db_content(db_path)
    dry = cli_json("import", "cards", ES_CARDS, "--dry-run")
    assert db_content(db_path) == before
    assert dry["dry_run"] is True and dry["import_id"] is None
    assert (dry["customers_created"], dry["customers_updated"], dry["vouchers_issued"]) == (3, 1, 4)
    real = cli_json("import", "cards", ES_CARDS)
    assert {k: v for k, v in real.items() if k not in ("dry_run", "import_id")} == \
           {k: v for k, v in dry.items() if k not in ("dry_run", "import_id")}


# ---- columns -----------------------------------------------------------------------------------

def test_an_unknown_column_is_reported_then_mapped_or_ignored(cli, cli_json, db_path, tmp_path):
    file = tmp_path / "odd.csv"
    file.write_text("Tessera,Nome,Colore preferito\n333 111 2222,Giulia,blu\n", encoding="utf-8")
    result = cli("import", "cards", file)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"error: {file}: line 1: column(s) not recognised: 'Tessera', "
                                            "'Colore preferito'; map each with --map COLUMN=FIELD")
    summary = cli_json("import", "cards", file, "--map", "Tessera=phone", "--ignore", "colore preferito")
    assert summary["customers_created"] == 1
    assert customer(db_path, "+393331112222")["name"] == "Giulia"


def test_two_columns_for_one_field_are_refused(cli, tmp_path):
    file = tmp_path / "two.csv"
    file.write_text("Phone,Mobile\n333 111 2222,333 111 3333\n", encoding="utf-8")
    result = cli("import", "cards", file)
    assert result.exit_code == 2
    assert "columns 'Phone' and 'Mobile' both look like phone" in result.stderr


def test_map_to_an_unknown_field_or_column(cli, tmp_path):
    file = tmp_path / "c.csv"
    file.write_text("phone\n333 111 2222\n", encoding="utf-8")
    assert "cards have no field 'colour'" in cli("import", "cards", file, "--map", "phone=colour").stderr
    assert "has no column 'mobile'" in cli("import", "cards", file, "--map", "mobile=phone").stderr


def test_several_punch_cards_need_card(cli, cli_json, db_path, tmp_path, monkeypatch):
    config = tmp_path / "two-cards.toml"
    sample = SAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(sample + '\n[[rules]]\nkind = "punch_card"\nname = "Coffee card"\ncount = "visits"\n'
                      'every = 5\nreward = "five-off"\n', encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))
    file = tmp_path / "c.csv"
    file.write_text("phone,stamps\n333 111 2222,6\n", encoding="utf-8")
    result = cli("import", "cards", file)
    assert result.exit_code == 2 and "choose one with --card" in result.stderr
    summary = cli_json("import", "cards", file, "--card", "coffee card")
    assert summary["card"] == "Coffee card" and summary["vouchers_issued"] == 1
    assert customer(db_path, "+393331112222")["punches"] == {"Coffee card": 1}


# ---- visits --------------------------------------------------------------------------------------

IT_VISITS = FIXTURES / "it_visits_bom.csv"


def test_italian_visits_are_recorded_as_history(reader, cli, cli_json, db_path):
    summary = cli_json("import", "visits", IT_VISITS)
    assert (summary["encoding"], summary["delimiter"]) == ("utf-8-sig", ",")
    assert (summary["rows_read"], summary["visits_added"], summary["customers_created"]) == (5, 5, 2)
    assert summary["punches"] == summary["points"] == summary["vouchers_issued"] == 0
    assert query(db_path, "SELECT COUNT(*) AS n FROM ledger") == [{"n": 0}]  # history only: no rules applied
    first = customer(db_path, "+393331234567")
    # 12,50 + 3,00 + 12,50 on lines 2, 3 and 6 (two identical purchases, two receipts).
    assert (first["visits"], first["spend"]) == (3, 2800)
    assert first["last_visit_at"] == "2026-06-14T16:30:00.000000Z"  # 18:30 in Rome, CEST
    assert first["enrolled_at"] == "2026-06-13T09:05:00.000000Z"  # their first visit
    party = query(db_path, "SELECT * FROM visits WHERE ref = 'A-0900'")[0]
    # 234,50: the sample config's max_amount is 500, as at the counter (thousands separators: ES_CARDS)
    assert (party["amount"], party["items"], party["note"], party["source"]) == (23450, 10, "rinfresco per festa",
                                                                                 "import")
    assert (party["at"], party["local_day"]) == ("2026-06-01T10:00:00.000000Z", "2026-06-01")
    second = customer(db_path, "+393477654321")
    assert (second["visits"], second["spend"]) == (2, 23870)
    shown = cli_json("show", "333 123 4567")
    assert shown["visits"] == 3 and shown["spend"] == "28.00"


def test_rerunning_visits_changes_nothing(reader, cli_json, db_path):
    cli_json("import", "visits", IT_VISITS)
    before = db_content(db_path)
    again = cli_json("import", "visits", IT_VISITS)
    assert again["already_imported"] == 5 and again["visits_added"] == 0
    assert db_content(db_path) == before


def test_a_later_export_adds_only_new_visits(reader, cli_json, db_path, tmp_path):
    cli_json("import", "visits", IT_VISITS)
    later = tmp_path / "later.csv"
    text = IT_VISITS.read_text(encoding="utf-8-sig").replace('"12,50"', '12.50')  # another till's format
    later.write_text(text + '333 123 4567,15/06/2026 10:00,"2,00",1,,A-1003\n', encoding="utf-8")
    summary = cli_json("import", "visits", later)
    assert (summary["already_imported"], summary["visits_added"]) == (5, 1)
    assert customer(db_path, "+393331234567")["visits"] == 4


def test_identical_visit_rows_are_both_kept(reader, cli, cli_json, db_path, tmp_path):
    file = tmp_path / "twice.csv"
    file.write_text("phone,date,amount\n333 123 4567,2026-06-01,2.50\n333 123 4567,2026-06-01,2.50\n",
                    encoding="utf-8")
    assert cli_json("import", "visits", file)["visits_added"] == 2
    assert cli_json("import", "visits", file)["already_imported"] == 2
    assert customer(db_path, "+393331234567")["visits"] == 2
    strict = cli("import", "visits", file, "--strict", "--dry-run")
    assert strict.exit_code == 2 and "line 3: the same visit as an earlier row" in strict.stderr


def test_a_receipt_already_recorded_at_the_counter_counts_as_imported(reader, cli, cli_json, db_path):
    visit = cli("visit", "333 123 4567", "--amount", "12.50", "--ref", "A-1001", "--at", "2026-06-14T18:30")
    assert visit.exit_code == 0
    summary = cli_json("import", "visits", IT_VISITS)
    assert (summary["already_imported"], summary["visits_added"]) == (1, 4)


def test_hungarian_visits_with_apply_rules(reader, cli, cli_json, db_path, hungarian):
    HU = FIXTURES / "hu_visits.tsv"
    summary = cli_json("import", "visits", HU, "--apply-rules")
    assert (summary["delimiter"], summary["visits_added"], summary["customers_created"]) == ("\t", 8, 3)
    eva = customer(db_path, "+36301234567")
    assert eva["name"] == "Kovács Éva"
    # Six visits on a card of six: one voucher, the card starts again.
    assert eva["visits"] == 6 and eva["punches"] == {"Kávékártya": 0}
    # Points: whole forints x 0.01, rounded down: 1250 -> 12, five times 990 -> 9.
    assert eva["points"] == 12 + 5 * 9
    assert eva["spend"] == 125000 + 5 * 99000
    kinds = [line["kind"] for line in ledger(db_path, "+36301234567")]
    assert kinds.count("punch") == 6 and kinds.count("reward") == 1
    noon = query(db_path, "SELECT at FROM visits WHERE local_day = '2026-05-04' AND amount = 99000")
    assert noon == [{"at": "2026-05-04T10:00:00.000000Z"}]  # no time: noon in Budapest (CEST)
    office = customer(db_path, "+3612345678")
    assert office["spend"] == 1250000 and office["points"] == 125
    assert summary["vouchers_issued"] == 1 and summary["punches"] == 8
    doctor_ok(cli)


def test_jsonl_visits(reader, cli_json, db_path):
    summary = cli_json("import", "visits", FIXTURES / "visits.jsonl")
    assert (summary["format"], summary["visits_added"], summary["customers_created"]) == ("jsonl", 3, 2)
    first = query(db_path, "SELECT at, amount, items, note FROM visits ORDER BY id")
    assert first[0] == {"at": "2026-06-10T07:30:00.000000Z", "amount": 450, "items": 2, "note": "caffè"}
    assert first[1]["amount"] == 320
    assert customer(db_path, "+393339990002")["name"] == "Luca"


def test_stdin(cli, db_path):
    result = cli("import", "visits", "-", "--json", input="phone;date;amount\n333 123 4567;01/06/2026;4,50\n")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["file"], summary["delimiter"], summary["visits_added"]) == ("<stdin>", ";", 1)


def test_month_first_dates_need_date_format(cli, cli_json, db_path, tmp_path):
    file = tmp_path / "us.csv"
    file.write_text("phone,date,amount\n333 123 4567,06/13/2026,4.50\n", encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2
    assert "is not day/month/year; if the file writes month first, use --date-format mm/dd/yyyy" in result.stderr
    cli_json("import", "visits", file, "--date-format", "mm/dd/yyyy")
    assert query(db_path, "SELECT local_day FROM visits") == [{"local_day": "2026-06-13"}]


def test_future_visits_are_refused(reader, cli, tmp_path):
    file = tmp_path / "f.csv"
    file.write_text("phone,date,amount\n333 123 4567,2026-06-16,4.50\n", encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2 and "visit is in the future" in result.stderr


def test_counter_carries_on_from_an_imported_card(cli, cli_json, db_path, tmp_path):
    file = tmp_path / "c.csv"
    file.write_text("phone,punches\n333 111 2222,9\n", encoding="utf-8")
    cli_json("import", "cards", file)
    card = cli_json("visit", "333 111 2222", "--amount", "3.00")
    assert card["punches"] == 0 and len(card["earned"]["vouchers"]) == 1  # the 10th punch
    doctor_ok(cli)


# ---- files -------------------------------------------------------------------------------------

def test_missing_and_empty_files(cli, tmp_path):
    missing = tmp_path / "nope.csv"
    assert cli("import", "cards", missing).stderr.strip() == f"error: {missing}: no such file"
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    result = cli("import", "cards", empty)
    assert result.exit_code == 2 and "the file is empty" in result.stderr


def test_wrong_encoding_forced_is_reported_with_the_line(cli, tmp_path):
    result = cli("import", "cards", ES_CARDS, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert "line 1: not valid utf-8" in result.stderr and "--encoding" in result.stderr


def test_piped_output_is_a_plain_table(cli, db_path):
    result = cli("import", "visits", IT_VISITS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Import of visits from {IT_VISITS}"
    assert "Visits added\t5" in lines
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr


# ---- bulk mode: indexes dropped and rebuilt inside the transaction ----------------------------

def schema(db_path):
    return query(db_path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")


@pytest.fixture
def bulk(monkeypatch):
    """Every import takes the big-file path (indexes rebuilt once), however small the file."""
    from loyalty_cli.store import bulk as store_bulk

    monkeypatch.setattr(store_bulk, "BULK_ROWS", 1)


@pytest.mark.sqlite_only  # SQLite's file and indexes
def test_bulk_imports_rebuild_every_index(cli, cli_json, db_path, bulk, spanish):
    cli_json("enroll", "600 000 001")
    before = schema(db_path)
    summary = cli_json("import", "cards", ES_CARDS)
    assert summary["customers_created"] == 4
    visits = db_path.parent / "v.csv"
    visits.write_text("Teléfono;Fecha;Importe\n612 34 56 78;01/06/2026 10:00;3,50\n"
                      "612345678;02/06/2026 11:00;4,00\n655 443 322;02/06/2026;1,20\n", encoding="utf-8")
    summary = cli_json("import", "visits", visits)
    assert (summary["visits_added"], summary["customers_updated"], summary["customers_created"]) == (3, 2, 0)
    ana = customer(db_path, "+34612345678")
    assert (ana["visits"], ana["spend"], ana["last_visit_at"]) == (2, 750, "2026-06-02T09:00:00.000000Z")
    assert schema(db_path) == before
    assert query(db_path, "PRAGMA integrity_check") == [{"integrity_check": "ok"}]
    doctor_ok(cli)


@pytest.mark.sqlite_only  # SQLite's file and indexes
def test_a_failed_bulk_import_leaves_schema_and_rows_alone(cli, db_path, bulk):
    assert cli("enroll", "333 000 0000").exit_code == 0
    before = db_content(db_path), schema(db_path)
    assert cli("import", "cards", BAD).exit_code == 2
    assert (db_content(db_path), schema(db_path)) == before


# ---- more shapes of input ----------------------------------------------------------------------

def test_a_bad_time_names_the_time_column(reader, cli, tmp_path):
    file = tmp_path / "t.csv"
    file.write_text("phone,date,time,amount\n333 123 4567,01/06/2026,25:10,4\n", encoding="utf-8")
    result = cli("import", "visits", file)
    assert f"{file}: line 2: column 'time': not a time of day: '25:10'" in result.stderr


def test_utf16_tab_export_from_excel(cli_json, db_path, tmp_path):
    file = tmp_path / "excel.txt"
    file.write_bytes("Cellulare\tNome\tTimbri\r\n333 123 4567\tNiccolò\t3\r\n".encode("utf-16"))
    summary = cli_json("import", "cards", file)
    assert (summary["encoding"], summary["delimiter"], summary["punches"]) == ("utf-16", "\t", 3)
    assert customer(db_path, "+393331234567")["name"] == "Niccolò"


def test_forced_delimiter_and_format(cli, cli_json, tmp_path):
    file = tmp_path / "odd.txt"
    file.write_text("phone;name\n333 123 4567;Rossi, Maria\n", encoding="utf-8")
    assert cli_json("import", "cards", file, "--delimiter", ";", "--dry-run")["customers_created"] == 1
    jsonl = tmp_path / "cards.data"
    jsonl.write_text('{"phone": "333 123 4567", "punches": 2}\n', encoding="utf-8")
    assert cli_json("import", "cards", jsonl, "--format", "jsonl")["punches"] == 2
    assert "--delimiter must be one of" in cli("import", "cards", file, "--delimiter", "x").stderr


def test_jsonl_unknown_key_and_bad_values(cli, tmp_path):
    file = tmp_path / "v.jsonl"
    file.write_text('{"phone": "333 123 4567", "date": "2026-06-01", "colour": "red"}\n', encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2 and f"{file}: line 1: key 'colour' not recognised" in result.stderr
    file.write_text('{"phone": "333 123 4567", "date": "2026-06-01", "amount": true}\nnot json\n',
                    encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2 and f"{file}: line 2: not valid JSON" in result.stderr


def test_a_conflicting_card_goes_to_rejects_as_it_was(cli_json, db_path, tmp_path, spanish):
    cli_json("import", "cards", ES_CARDS)
    changed = tmp_path / "changed.csv"
    changed.write_text("Teléfono;Nombre;Sellos\n699 111 222;José;9\n612 000 111;Nuevo;1\n", encoding="utf-8")
    rejects = tmp_path / "r.csv"
    summary = cli_json("import", "cards", changed, "--skip-invalid", "--rejects", rejects)
    assert (summary["rejected"], summary["customers_created"]) == (1, 1)
    with open(rejects, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[1][:3] == ["699 111 222", "José", "9"]
    assert rows[1][3].startswith("line 2: column 'Teléfono': a card with other balances was imported for +34699111222")


@pytest.mark.sqlite_only  # SQLite's file and indexes
def test_rejects_must_be_writable_before_anything_happens(cli, db_path, tmp_path):
    result = cli("import", "cards", BAD, "--skip-invalid", "--rejects", tmp_path / "no" / "such" / "r.csv")
    assert result.exit_code == 2 and "no such directory" in result.stderr
    assert not db_path.exists() or query(db_path, "SELECT COUNT(*) AS n FROM customers") == [{"n": 0}]


def test_apply_rules_after_counter_visits_continues_the_card(cli, cli_json, db_path, tmp_path):
    for _ in range(3):
        assert cli("visit", "333 123 4567", "--amount", "2").exit_code == 0  # welcome 20 + 3 punches
    file = tmp_path / "old.csv"
    file.write_text("phone,date,amount\n" + "".join(f"333 123 4567,{d:02d}/05/2026,1,00\n" for d in range(1, 8)),
                    encoding="utf-8")
    file.write_text(file.read_text(encoding="utf-8").replace(",1,00", ",\"1,00\""), encoding="utf-8")
    summary = cli_json("import", "visits", file, "--apply-rules")
    assert (summary["visits_added"], summary["punches"], summary["vouchers_issued"]) == (7, 7, 1)
    card = cli_json("show", "333 123 4567")
    assert card["punches"] == 0 and card["visits"] == 10
    doctor_ok(cli)


@pytest.mark.parametrize("small", [False, True], ids=["one-go", "slices-and-flushes"])
def test_apply_rules_writes_what_the_counter_would_have(cli, cli_json, tmp_path, monkeypatch, small):
    """The oracle: the same visits typed at the counter with --at, in time order."""
    if small:  # the paths a million visits take: read in slices, entries written as they pile up
        from loyalty_cli.importing.replay import Replay

        monkeypatch.setattr(Replay, "IN_MEMORY", 0)
        monkeypatch.setattr(Replay, "SLICE", 4)
        monkeypatch.setattr(Replay, "FLUSH", 3)
    visits = []  # (phone, local time, amount): tiers (Silver at 12 visits, Gold at 300 EUR) change mid-way
    for day in range(1, 15):
        visits.append(("333 111 0001", f"2026-05-{day:02d}T09:{day:02d}", f"{20 + day * 3},50"))
        if day % 2:
            visits.append(("347 222 0002", f"2026-05-{day:02d}", "7,00"))  # a bare date: noon
            visits.append(("347 222 0002", f"2026-05-{day:02d}", "7,00"))  # twice the same noon
    visits.sort(key=lambda v: v[1] if "T" in v[1] else v[1] + "T12:00")
    counter_db, import_db = tmp_path / "counter.db", tmp_path / "import.db"
    for phone in ("333 111 0001", "347 222 0002"):
        for db in (counter_db, import_db):
            assert cli("--db", db, "enroll", phone).exit_code == 0
    for phone, moment, amount in visits:
        assert cli("--db", counter_db, "visit", phone, "--amount", amount, "--at", moment).exit_code == 0
    file = tmp_path / "history.csv"
    with open(file, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["phone", "date", "amount"])
        writer.writerows(visits)
    summary = cli_json("--db", import_db, "import", "visits", file, "--apply-rules")
    assert summary["visits_added"] == len(visits) == 14 + 7 * 2

    def entries(db):
        return query(db, "SELECT v.at, l.kind, l.points, l.punches, l.credit, l.rule, l.reward, l.earned_at, "
                         "l.reason FROM ledger l JOIN visits v ON v.id = l.visit_id ORDER BY v.at, v.id, l.id")

    def balances(db):
        return query(db, "SELECT phone, points, credit, punches, visits, spend FROM customers ORDER BY phone")

    def vouchers(db):
        return query(db, "SELECT reward, rule, status, issued_at, expires_at FROM vouchers ORDER BY issued_at")

    assert entries(import_db) == entries(counter_db)
    assert {e["kind"] for e in entries(import_db)} >= {"punch", "points", "cashback", "reward"}
    assert any("Gold" in (e["reason"] or "") for e in entries(import_db))  # the tier kicked in
    assert balances(import_db) == balances(counter_db)
    assert vouchers(import_db) == vouchers(counter_db)
    assert summary["vouchers_issued"] == len(vouchers(import_db))
    assert cli("--db", import_db, "doctor").exit_code == 0


def test_visits_fill_in_a_missing_name_but_never_replace_one(cli, cli_json, db_path, tmp_path):
    assert cli("enroll", "333 123 4567").exit_code == 0
    assert cli("enroll", "347 765 4321", "--name", "Luca").exit_code == 0
    file = tmp_path / "v.csv"
    file.write_text("phone,name,date\n333 123 4567,Maria Rossi,2026-06-01\n347 765 4321,Luca Bianchi,2026-06-01\n"
                    "333 123 4567,M. Rossi,2026-06-02\n", encoding="utf-8")
    summary = cli_json("import", "visits", file)
    assert (summary["customers_updated"], summary["customers_created"]) == (2, 0)
    assert customer(db_path, "+393331234567")["name"] == "Maria Rossi"
    assert customer(db_path, "+393477654321")["name"] == "Luca"


@pytest.mark.sqlite_only  # SQLite's file and indexes
def test_a_dry_run_before_any_database_creates_none(cli, db_path):
    assert not db_path.exists()
    result = cli("import", "cards", BAD, "--dry-run", "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["customers_created"] == 2
    assert not db_path.exists() and "created a new database" not in result.stderr


def test_a_terminal_gets_a_progress_bar_on_stderr(cli, db_path, monkeypatch):
    from loyalty_cli.cli import import_command

    updates = []
    real = import_command._Progress.__enter__

    def watched(self):
        update = real(self)
        return lambda *args: (updates.append(args), update(*args))

    monkeypatch.setattr(import_command, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(import_command._Progress, "__enter__", watched)
    result = cli("import", "visits", IT_VISITS, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["visits_added"] == 5  # stdout stays clean JSON
    assert updates == [("importing visits", 5, 5)]  # rows: the 5 after the header


def test_excel_sep_line_names_the_delimiter(cli_json, db_path, tmp_path):
    file = tmp_path / "excel.csv"
    file.write_text("sep=;\nTelefono;Nome;Timbri\n333 123 4567;Rossi, Maria;2\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert (summary["delimiter"], summary["rows_read"], summary["punches"]) == (";", 1, 2)
    assert customer(db_path, "+393331234567")["name"] == "Rossi, Maria"


def test_stray_values_and_bad_emails_are_row_errors(cli, tmp_path):
    file = tmp_path / "c.csv"
    file.write_text("phone,email,\n333 111 2222,giulia@example.it,\n333 111 3333,not-an-email,\n"
                    "333 111 4444,,oops\n333 111 5555,a@b.it,,extra\n", encoding="utf-8")
    result = cli("import", "cards", file, "--dry-run", "--skip-invalid", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_imported"], summary["rejected"]) == (1, 3)
    assert [(e["line"], e["column"], e["reason"]) for e in summary["errors"]] == [
        (3, "email", "not an e-mail address: 'not-an-email'"),
        (4, None, "a value in column 3, which has no header"),
        (5, None, "a value in column 4, which has no header"),
    ]


# ---- the fast reader ---------------------------------------------------------------------------

def test_rows_of_empty_cells_are_skipped_not_rejected(cli_json, db_path, tmp_path):
    cards = tmp_path / "cards.csv"
    cards.write_text("phone;name;points\n333 111 2222;Ada;5\n;;\n\n 333 111 3333 ;Bea;7\n", encoding="utf-8")
    summary = cli_json("import", "cards", cards)
    assert (summary["rows_read"], summary["skipped"], summary["rows_imported"], summary["rejected"]) == (4, 2, 2, 0)
    visits = tmp_path / "visits.csv"
    visits.write_text("phone;date;amount\n;;\n333 111 2222;01/06/2026;2,50\n;;\n", encoding="utf-8")
    summary = cli_json("import", "visits", visits)
    assert (summary["rows_read"], summary["skipped"], summary["visits_added"]) == (3, 2, 1)


def test_plain_stretches_and_quoted_rows_read_alike(reader, cli, cli_json, db_path, tmp_path, monkeypatch):
    """Split by str methods until the first quote, by the csv module after it: same rows, same
    line numbers (CRLF endings; a quoted note over two lines; chunks of 64 characters)."""
    from loyalty_cli.importing import sources as import_formats

    monkeypatch.setattr(import_formats, "CHUNK", 64)
    rows = [f"333 111 {2000 + i},0{1 + i % 9}/06/2026,{i}.50,,\r\n" for i in range(30)]
    rows[20] = '333 111 2020,03/06/2026,20.50,"two\r\nlines",\r\n'
    rows[25] = "333 111 2025,03/06/2026,lots,,\r\n"  # line 28: the quoted note spans lines 22 and 23
    file = tmp_path / "mixed.csv"
    file.write_text("phone,date,amount,note,ref\r\n" + "".join(rows), encoding="utf-8", newline="")
    result = cli("import", "visits", file)
    assert result.exit_code == 2
    assert f"{file}: line 28: column 'amount': amount is not a number: 'lots'" in result.stderr
    summary = cli_json("import", "visits", file, "--skip-invalid", "--rejects", tmp_path / "rejected.csv")
    assert (summary["rows_read"], summary["visits_added"], summary["rejected"]) == (30, 29, 1)
    note = query(db_path, "SELECT note, amount FROM visits WHERE note IS NOT NULL")
    assert note == [{"note": "two lines", "amount": 2050}]
    assert query(db_path, "SELECT SUM(amount) AS total FROM visits") == [{"total": sum(i * 100 + 50 for i in range(30))
                                                                           - 2550}]


def test_a_byte_the_encoding_cannot_read_is_reported_with_its_line(cli, tmp_path):
    file = tmp_path / "late.csv"
    file.write_bytes(b"phone;date;amount\n" + b"333 111 2222;01/06/2026;2,50\n" * 40
                     + b"333 111 2222;01/06/2026;caf\xe9\n")
    result = cli("import", "visits", file, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert f"{file}: line 42: not valid utf-8 (byte 0xe9); give the file's encoding with --encoding" in result.stderr


def test_rows_refused_after_parsing_go_to_rejects_as_they_were(reader, cli_json, db_path, tmp_path):
    """--strict repeats and receipts claimed twice are refused where the rows are written: in the
    reader process case their cells are read again from the file for --rejects."""
    file = tmp_path / "v.csv"
    file.write_text("phone;date;amount;ref\n"
                    "333 111 2222;01/06/2026;2,50;\n"
                    "333 111 2222;01/06/2026;2,50;\n"
                    "333-111-3333;02/06/2026;4,00;R-1\n"
                    "333 111 3333;03/06/2026;5,00;R-1\n", encoding="utf-8")
    rejects = tmp_path / "rejected.csv"
    summary = cli_json("import", "visits", file, "--strict", "--skip-invalid", "--rejects", rejects)
    assert (summary["visits_added"], summary["rejected"]) == (2, 2)
    with open(rejects, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[1][:4] == ["333 111 2222", "01/06/2026", "2,50", ""]
    assert rows[1][4] == "line 3: the same visit as an earlier row (--strict refuses duplicates)"
    assert rows[2][:4] == ["333 111 3333", "03/06/2026", "5,00", "R-1"]
    assert rows[2][4].startswith("line 5: column 'ref': receipt 'R-1' appears on an earlier row")


def test_a_later_file_with_one_more_identical_visit_adds_one(reader, cli_json, db_path, tmp_path):
    row = "333 111 2222;01/06/2026 10:00;2,50\n"
    file = tmp_path / "v.csv"
    file.write_text("phone;date;amount\n" + row * 2, encoding="utf-8")
    assert cli_json("import", "visits", file)["visits_added"] == 2
    file.write_text("phone;date;amount\n" + row * 3, encoding="utf-8")
    summary = cli_json("import", "visits", file)
    assert (summary["already_imported"], summary["visits_added"]) == (2, 1)
    assert customer(db_path, "+393331112222")["visits"] == 3


def test_cards_written_as_read_then_merged_or_refused(reader, cli, cli_json, db_path, tmp_path):
    """New plain cards are written batch by batch as they are read; a phone met again later is
    merged into its first card (everything is then written again, merged) or, with --strict,
    refused while the first card stays as written."""
    lines = [f"333 111 {2000 + i},{i % 5},{i}" for i in range(12)]
    lines.append("333-111-2003,2,100")  # the card on line 5 again, in a later batch
    file = tmp_path / "cards.csv"
    file.write_text("phone,punches,points\n" + "\n".join(lines) + "\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert (summary["customers_created"], summary["merged"], summary["rows_imported"]) == (12, 1, 13)
    merged = customer(db_path, "+393331112003")
    assert (merged["points"], merged["punches"]) == (3 + 100, {"Cone card": 3 + 2})
    # One entry a card with something to carry over: not line 2's (0 punches, 0 points).
    assert query(db_path, "SELECT COUNT(*) AS n FROM ledger WHERE kind = 'import'") == [{"n": 11}]
    doctor_ok(cli)

    strict_db = {"LOYALTY_DB": str(tmp_path / "strict.db")}
    rejects = tmp_path / "rejected.csv"
    summary = cli_json("import", "cards", file, "--strict", "--skip-invalid", "--rejects", rejects, env=strict_db)
    assert (summary["customers_created"], summary["rejected"], summary["points"]) == (12, 1, sum(range(12)))
    rows = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].startswith("333-111-2003,2,100,line 14: column 'phone': +393331112003 is already on line 5")


# ---- found in review -------------------------------------------------------------------------------

@pytest.fixture
def new_york(monkeypatch, tmp_path):
    config = tmp_path / "ny.toml"
    config.write_text(SAMPLE_CONFIG.read_text(encoding="utf-8")
                      .replace('timezone = "Europe/Rome"', 'timezone = "America/New_York"'), encoding="utf-8")
    monkeypatch.setenv("LOYALTY_CONFIG", str(config))


def test_the_last_day_of_year_9999_is_a_future_date_not_a_crash(reader, cli, new_york, tmp_path):
    # West of UTC, the last hours of 9999-12-31 fall in year 10000, beyond Python's datetime.
    cards = tmp_path / "c.csv"
    cards.write_text("phone,points,last visit\n333 1230001,10,9999-12-31\n", encoding="utf-8")
    result = cli("import", "cards", cards)
    assert result.exit_code == 2 and "line 2: column 'last visit': last visit is in the future" in result.stderr
    visits = tmp_path / "v.csv"
    visits.write_text("phone,date,amount\n333 1230001,9999-12-31,2.50\n", encoding="utf-8")
    result = cli("import", "visits", visits)
    assert result.exit_code == 2 and "line 2: column 'date': visit is in the future" in result.stderr


def test_a_receipt_met_again_in_a_later_batch_is_reported_while_validating(reader, cli, tmp_path, monkeypatch):
    from loyalty_cli.importing import sources as import_formats

    monkeypatch.setattr(import_formats, "CHUNK", 256)  # the two receipts in different batches
    filler = "".join(f"333 111 {2000 + i},01/06/2026,1.00,\n" for i in range(40))
    file = tmp_path / "v.csv"
    file.write_text("phone,date,amount,ref\n333 111 2222,01/06/2026,abc,\n333 111 2222,01/06/2026,2.50,R1\n"
                    + filler + "333 111 3333,02/06/2026,4.00,R1\n", encoding="utf-8")
    result = cli("import", "visits", file, "--json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["rejected"] == 2 and [e["line"] for e in summary["errors"]] == [2, 44]
    assert summary["rows_imported"] == summary["visits_added"] == 0  # nothing landed: none is counted


def test_outlandish_counts_are_row_errors(cli, tmp_path):
    file = tmp_path / "c.csv"
    file.write_text("phone,points,punches\n333 111 2222,99999999999999999999,1\n333 111 3333,1,²\n", encoding="utf-8")
    result = cli("import", "cards", file)
    assert result.exit_code == 2
    assert "line 2: column 'points': points is too large: '99999999999999999999'" in result.stderr
    assert "line 3: column 'punches': punches must be a whole number: '²'" in result.stderr


def test_a_cell_over_the_size_limit_is_refused_quoted_or_not(cli, tmp_path):
    from loyalty_cli.importing.sources import FIELD_LIMIT

    file = tmp_path / "v.csv"
    file.write_text("phone,date,amount,note\n333 111 2222,01/06/2026,2.50," + "x" * (FIELD_LIMIT + 10) + "\n",
                    encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2 and "line 2: cannot read the CSV: field larger than field limit" in result.stderr


def test_an_unexpected_error_in_the_reader_process_is_reported_as_itself(cli, tmp_path, monkeypatch):
    from loyalty_cli.importing import reader as import_reader
    from loyalty_cli.importing import visits as import_visits

    if not import_reader.can_fork():
        pytest.skip("no fork here: the reader process is never used")
    monkeypatch.setattr(import_reader, "FORK_FROM_LINES", 0)

    def broken(self, batch):
        raise ValueError("a bug in the parser")

    monkeypatch.setattr(import_visits._VisitParser, "__call__", broken)
    file = tmp_path / "v.csv"
    file.write_text("phone,date,amount\n333 111 2222,01/06/2026,2.50\n", encoding="utf-8")
    result = cli("import", "visits", file)
    assert isinstance(result.exception, ValueError) and str(result.exception) == "a bug in the parser"


def test_apply_rules_over_years_writes_the_counters_expiries(cli, cli_json, tmp_path, at):
    """The oracle over three years (issue 9, item 2): points lots and vouchers that fell due long
    ago are written by the replay as `visit --at` writes them, each dated when it fell due."""
    at("2026-06-15T12:00:00+00:00")
    visits = []
    for month in range(36):  # June 2023 to May 2026: two customers, one of them twice a month
        year, mon = 2023 + (month + 5) // 12, (month + 5) % 12 + 1
        visits.append(("333 111 0001", f"{year}-{mon:02d}-03T10:00", "12,50"))
        visits.append(("333 111 0001", f"{year}-{mon:02d}-17T18:30", "4,00"))
        if month % 3 == 0:
            visits.append(("347 222 0002", f"{year}-{mon:02d}-09", "31,00"))
    visits.sort(key=lambda v: v[1] if "T" in v[1] else v[1] + "T12:00")
    counter_db, import_db = tmp_path / "counter.db", tmp_path / "import.db"
    for phone in ("333 111 0001", "347 222 0002"):  # an import enrols without the welcome bonus
        for db in (counter_db, import_db):
            assert cli("--db", db, "enroll", phone).exit_code == 0
    for phone, moment, amount in visits:
        assert cli("--db", counter_db, "visit", phone, "--amount", amount, "--at", moment).exit_code == 0
    file = tmp_path / "years.csv"
    file.write_text("phone;date;amount\n" + "".join(f"{p};{m};{a}\n" for p, m, a in visits), encoding="utf-8")
    cli_json("--db", import_db, "import", "visits", file, "--apply-rules")

    def lines(db):  # what each line says, with the lot an expiry names given by its earn time
        return sorted(tuple(row.values()) for row in query(
            db, "SELECT l.at, l.kind, l.points, l.punches, l.credit, l.rule, l.reward, l.earned_at, l.reason, "
                "lot.earned_at AS lot FROM ledger l LEFT JOIN ledger lot ON lot.id = l.reverses"))

    counted = lines(counter_db)
    assert sum(1 for line in counted if line[1] == "expire" and line[2] < 0) > 20  # years of lots fell due
    assert lines(import_db) == counted
    balances = "SELECT phone, points, credit, punches, visits, spend FROM customers ORDER BY phone"
    assert query(import_db, balances) == query(counter_db, balances)
    vouchers = "SELECT reward, status, issued_at, expires_at, ended_at FROM vouchers ORDER BY issued_at"
    assert query(import_db, vouchers) == query(counter_db, vouchers)
    for db in (import_db, counter_db):
        assert cli("--db", db, "doctor").exit_code == 0
    # nothing left for `loyalty expire` to write: both are already where the counter is
    assert cli_json("--db", import_db, "expire") == {"customers": 0, "points": 0, "vouchers": 0}
