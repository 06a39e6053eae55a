"""Issue 11 in the importer: a `category` column in `import visits`, a `birthday` column in
`import cards`, and the replay (--apply-rules) applying category and birthday rules exactly as
the counter does."""

import csv

import pytest

from tests.conftest import EXAMPLES, db_content, nothing_recorded
from tests.importing.conftest import query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

CAFE = EXAMPLES / "cafe.toml"  # coffee-only card, double afternoons, birthday cake, Madrid, ES phones


@pytest.fixture
def cafe(monkeypatch):
    monkeypatch.setenv("LOYALTY_CONFIG", str(CAFE))


def test_visits_carry_their_category_from_a_spanish_file(reader, cli, cli_json, db_path, tmp_path):
    """Semicolons, decimal commas and Spanish headers; the sample config's categories."""
    file = tmp_path / "ventas.csv"
    file.write_text("Teléfono;Fecha;Importe;Categoría\n"
                    "333 111 2222;01/06/2026;4,50;Coffee\n"
                    "333 111 2222;02/06/2026;12,00;  gelato \n"
                    "333 111 3333;02/06/2026;3,20;\n", encoding="utf-8")
    summary = cli_json("import", "visits", file)
    assert summary["visits_added"] == 3
    rows = query(db_path, "SELECT c.phone, v.amount, v.category FROM visits v JOIN customers c ON c.id = v.customer_id "
                          "ORDER BY v.id")
    assert [(r["amount"], r["category"]) for r in rows] == [(450, "coffee"), (1200, "gelato"), (320, None)]


@pytest.mark.parametrize("header", ["categoria", "Categoría", "Kategória", "category"])
def test_category_headers_in_four_languages(cli_json, db_path, tmp_path, header):
    file = tmp_path / "v.csv"
    file.write_text(f"phone,date,{header}\n333 111 2222,2026-06-01,cakes\n", encoding="utf-8")
    cli_json("import", "visits", file)
    assert query(db_path, "SELECT category FROM visits") == [{"category": "cakes"}]


def test_an_unknown_category_is_a_rejected_row_and_nothing_is_written(cli, db_path, tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone,date,amount,category\n333 111 2222,2026-06-01,2.50,coffee\n"
                    "333 111 2222,2026-06-02,2.50,cofee\n333 111 2222,2026-06-03,2.50,caf\x07e\n", encoding="utf-8")
    result = cli("import", "visits", file)
    assert result.exit_code == 2
    assert ("v.csv: line 3: column 'category': category 'cofee' is not one of the shop's categories "
            "(did you mean 'coffee'?)") in result.stderr
    assert "v.csv: line 4: column 'category':" in result.stderr
    assert nothing_recorded(db_path)


def test_a_category_longer_than_a_name_is_refused(cli, tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone,date,category\n333 111 2222,2026-06-01," + "x" * 500 + "\n", encoding="utf-8")
    result = cli("--config", EXAMPLES / "ice_cream.toml", "import", "visits", file)
    assert result.exit_code == 2 and "line 2: column 'category': category is longer than" in result.stderr


# ---- birthdays in a cards file ----------------------------------------------------------------

def test_cards_file_birthdays_with_and_without_the_year(reader, cli, cli_json, db_path, tmp_path):
    file = tmp_path / "tarjetas.csv"
    file.write_text("Teléfono;Nombre;Puntos;Crédito;Fecha de nacimiento\n"
                    "333 000 0001;Ana;10;2,50;1990-05-03\n"
                    "333 000 0002;Bea;0;0;03/05/1991\n"
                    "333 000 0003;Carla;0;0;25/12\n"
                    "333 000 0004;Dora;0;0;02-29\n"
                    "333 000 0005;Eva;0;0;\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert (summary["customers_created"], summary["birthdays"], summary["credit"]) == (5, 4, "2.50")
    birthdays = {r["phone"]: r["birthday"] for r in query(db_path, "SELECT phone, birthday FROM customers")}
    assert birthdays == {"+393330000001": "1990-05-03", "+393330000002": "1991-05-03",
                         "+393330000003": "--12-25", "+393330000004": "--02-29", "+393330000005": None}
    assert cli_json("show", "333 000 0003")["birthday"] == "--12-25"  # as `enroll --birthday 12-25` stores it
    assert cli_json("enroll", "333 000 0006", "--birthday", "12-25")["birthday"] == "--12-25"


@pytest.mark.parametrize(("cell", "reason"), [
    ("31/02", "birthday '31/02' is not a date (no such day)"),
    ("12/25", "birthday '12/25' is not day/month"),
    ("2030-01-01", "birthday is in the future"),
    ("soon", "not a birthday: 'soon'"),
])
def test_a_nonsense_birthday_is_a_rejected_row_naming_line_and_column(cli, db_path, tmp_path, cell, reason):
    file = tmp_path / "cards.csv"
    file.write_text(f"phone;Cumpleaños\n333 000 0001;01/02\n333 000 0002;{cell}\n", encoding="utf-8")
    result = cli("import", "cards", file)
    assert result.exit_code == 2
    assert f"cards.csv: line 3: column 'Cumpleaños': {reason}" in result.stderr
    assert nothing_recorded(db_path)


def test_month_first_birthdays_follow_date_format(cli, db_path, tmp_path):
    file = tmp_path / "us.csv"
    file.write_text("phone,birthday\n333 000 0001,12/25\n333 000 0002,05/03/1990\n", encoding="utf-8")
    result = cli("import", "cards", file, "--date-format", "mm/dd/yyyy")
    assert result.exit_code == 0 and "Birthdays filed\t2" in result.stdout.splitlines()
    assert [r["birthday"] for r in query(db_path, "SELECT birthday FROM customers ORDER BY id")] == [
        "--12-25", "1990-05-03"]


def test_a_rerun_with_a_birthday_column_files_the_missing_ones(cli, cli_json, db_path, tmp_path):
    file = tmp_path / "cards.csv"
    file.write_text("phone,points\n333 000 0001,10\n333 000 0002,5\n", encoding="utf-8")
    cli_json("import", "cards", file)
    assert cli("edit", "333 000 0002", "--birthday", "1980-01-01").exit_code == 0
    file.write_text("phone,points,birthday\n333 000 0001,10,03/05\n333 000 0002,5,04/05\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert (summary["already_imported"], summary["birthdays"]) == (2, 1)
    assert [r["birthday"] for r in query(db_path, "SELECT birthday FROM customers ORDER BY id")] == [
        "--05-03", "1980-01-01"]  # the one given at the counter stays
    assert [r["points"] for r in query(db_path, "SELECT points FROM customers ORDER BY id")] == [10, 5]


# ---- the replay equals the counter -------------------------------------------------------------

def test_apply_rules_applies_categories_promotions_and_birthdays_as_the_counter(cli, cli_json, tmp_path, cafe):
    """The oracle: the same visits typed at the counter (`visit --category --at`), and imported
    with a category column after cards with a birthday column."""
    people = [("612 345 001", "1990-05-03", "03/05/1990"), ("612 345 002", "01-02", "02/01"),
              ("612 345 003", None, "")]
    visits = []  # (phone, local time, amount, category): coffee punches, food earns points only
    for day in range(1, 29):
        moment = f"2026-04-{day:02d}T{'16:30' if day % 3 == 0 else '09:15'}"  # some in the double afternoon
        visits.append(("612 345 001", moment, "2,20", "coffee" if day % 4 else "food"))
        visits.append(("612 345 003", moment, "3,50", "coffee"))
    visits += [("612 345 001", "2026-05-01T10:00", "2,20", "coffee"),  # in Ana's birthday window (3 May)
               ("612 345 001", "2026-05-05T10:00", "2,20", "coffee"),  # the window again: nothing more
               ("612 345 002", "2025-12-30T10:00", "4,00", "beans"),  # the window of 2 January 2026
               ("612 345 002", "2026-01-08T10:00", "4,00", "")]  # out of it
    visits.sort(key=lambda v: v[1])
    counter_db, import_db = tmp_path / "counter.db", tmp_path / "import.db"
    cards = tmp_path / "cards.csv"
    cards.write_text("teléfono;cumpleaños\n" + "".join(f"{p};{b}\n" for p, _, b in people), encoding="utf-8")
    cli_json("--db", import_db, "import", "cards", cards)
    for phone, birthday, _ in people:
        args = ["--birthday", birthday] if birthday else []
        assert cli("--db", counter_db, "enroll", phone, *args).exit_code == 0
    for phone, moment, amount, category in visits:
        extra = ["--category", category] if category else []
        result = cli("--db", counter_db, "visit", phone, "--amount", amount, "--at", moment, *extra)
        assert result.exit_code == 0, result.output
    file = tmp_path / "history.csv"
    with open(file, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Teléfono", "Fecha", "Importe", "Categoría"])
        writer.writerows(visits)
    summary = cli_json("--db", import_db, "import", "visits", file, "--apply-rules")
    assert summary["visits_added"] == len(visits)

    def entries(db):
        return query(db, "SELECT v.at, v.category, l.kind, l.points, l.punches, l.rule, l.reward, l.reason, "
                         "l.card FROM ledger l JOIN visits v ON v.id = l.visit_id ORDER BY v.at, v.id, l.id")

    def balances(db):
        return query(db, "SELECT phone, birthday, points, credit, punches, visits, spend FROM customers ORDER BY phone")

    def vouchers(db):
        return query(db, "SELECT reward, rule, status, issued_at, expires_at FROM vouchers ORDER BY issued_at")

    counted = entries(counter_db)
    assert entries(import_db) == counted
    assert {e["rule"] for e in counted} >= {"Coffee card", "Points", "Double afternoon", "birthday"}
    birthday_vouchers = [v for v in vouchers(import_db) if v["reward"] == "birthday-cake"]
    assert [v["issued_at"][:10] for v in birthday_vouchers] == ["2025-12-30", "2026-05-01"]
    assert balances(import_db) == balances(counter_db)
    assert vouchers(import_db) == vouchers(counter_db)
    assert cli("--db", import_db, "doctor").exit_code == 0
    # `simulate` replays the recorded visits, categories and birthdays (a yearless one too) as well
    [current] = cli_json("--db", import_db, "simulate")["scenarios"]
    ledger = entries(import_db)
    assert current["visits"] == len(visits)
    assert current["punches"] == sum(e["punches"] for e in ledger if e["kind"] in ("punch", "promotion"))
    assert current["points_issued"] == sum(e["points"] for e in ledger)
    assert current["vouchers_by_reward"] == {"birthday-cake": 2, "free-coffee": sum(
        1 for v in vouchers(import_db) if v["reward"] == "free-coffee")}


def test_a_rejected_category_leaves_an_existing_database_as_it_was(cli, db_path, tmp_path, cafe):
    assert cli("visit", "612 345 001", "--category", "coffee").exit_code == 0
    before = db_content(db_path)
    file = tmp_path / "v.jsonl"
    file.write_text('{"phone": "612 345 001", "date": "2026-06-01", "categoria": "cofee"}\n', encoding="utf-8")
    result = cli("import", "visits", file, "--apply-rules")
    assert result.exit_code == 2 and "did you mean 'coffee'?" in result.stderr
    assert db_content(db_path) == before
