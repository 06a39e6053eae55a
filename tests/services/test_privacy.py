"""Privacy (issue 12) through the CLI: `customer export`, `forget` (down to the raw bytes of the
database and its WAL), and `expire` forgetting customers silent for [privacy] forget_inactive_days.

On PostgreSQL (the `backends` runs) the same erasure, void reasons in the ledger included, is
checked on every row of every table: the server's files are not ours to read."""

import json
import os
import sqlite3
import stat

import pytest

from tests.conftest import SAMPLE, db_content, db_execute, db_query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MARIA = "333 123 4567"
E164 = "+393331234567"
NAME, OLD_NAME, EMAIL = "Mariangela Rossiniani", "Mariangela Bianchetti", "mariangela.rossiniani@example.com"
COMMENT, SOURCE, NOTE = "the pistachio was superb, ask for Mariangela", "paper form signed at till 2", "cones for Gino"
VOID_WHY = "wrong customer, it was her sister Giuseppina"


def raw_bytes(db_path) -> bytes:
    """The database file and its WAL, as bytes on disk; on PostgreSQL every row of every table."""
    if str(db_path).startswith("postgresql://"):
        return repr(db_content(db_path)).encode()
    data = db_path.read_bytes()
    wal = db_path.with_name(db_path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def add_consent_and_contact(db_path, phone=E164):
    """Rows only the consent and campaign work writes (another part of issue 12)."""
    [(customer_id,)] = db_query(db_path, "SELECT id FROM customers WHERE phone = ?", (phone,))
    db_execute(db_path, "INSERT INTO consents (customer_id, at, marketing, source) VALUES (?, ?, 1, ?)",
               (customer_id, "2026-06-01T10:00:00.000000Z", SOURCE))
    db_execute(db_path, "INSERT INTO contacts (campaign, customer_id, channel, at) VALUES ('winback', ?, 'email', ?)",
               (customer_id, "2026-06-02T10:00:00.000000Z"))


@pytest.fixture
def maria(cli, cli_json, at, db_path):
    """A customer with something in every table that can hold personal data."""
    at("2026-06-01T10:00:00+00:00")
    cli_json("enroll", MARIA, "--name", OLD_NAME, "--email", EMAIL, "--birthday", "1990-04-12")
    cli_json("edit", "333-123-4567", "--name", NAME, "--note", "allergic to nuts")  # a typed form, a stale name
    first = cli_json("visit", "+39 333 123 4567", "--amount", "12,50", "--note", NOTE)
    cli_json("visit", MARIA, "--amount", "3")
    cli_json("void", str(first["visit_id"]), "--reason", VOID_WHY)
    cli_json("visit", MARIA, "--amount", "8")
    cli_json("feedback", MARIA, "--score", "9", "--comment", COMMENT)
    add_consent_and_contact(db_path)
    at("2026-06-15T12:00:00+00:00")
    return first["visit_id"]


# ---- right of access ---------------------------------------------------------------------------

def test_export_holds_everything_about_the_customer(cli, maria, tmp_path):
    result = cli("customer", "export", MARIA)
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"shop", "currency", "exported_at", "customer", "phone_typed_as", "visits", "ledger",
                         "vouchers", "feedback", "consents", "contacts", "imported_cards"}
    who = data["customer"]
    assert (who["phone"], who["name"], who["email"], who["birthday"]) == (E164, NAME, EMAIL, "1990-04-12")
    assert who["note"] == "allergic to nuts" and who["spend"] == "11.00" and who["referred"] is False
    assert who["enrolled_at"] == "2026-06-01T12:00:00+02:00"  # ISO, with the shop's offset
    assert [v["amount"] for v in data["visits"]] == ["12.50", "3.00", "8.00"]
    assert data["visits"][0]["note"] == NOTE and data["visits"][0]["void_reason"] == VOID_WHY
    assert any(line["kind"] == "void" and VOID_WHY in line["reason"] for line in data["ledger"])
    assert all(isinstance(line["credit"], str) for line in data["ledger"])
    assert data["feedback"][0]["comment"] == COMMENT
    assert data["consents"] == [{"id": 1, "at": "2026-06-01T12:00:00+02:00", "marketing": True, "source": SOURCE}]
    assert [(c["campaign"], c["channel"]) for c in data["contacts"]] == [("winback", "email")]
    assert set(data["phone_typed_as"]) >= {"3331234567", "+393331234567"}

    target = tmp_path / "access.json"
    written = cli("customer", "export", MARIA, "--output", target)
    assert written.exit_code == 0 and written.stdout == ""
    on_file = json.loads(target.read_text())
    assert on_file["customer"] == data["customer"] and on_file["ledger"] == data["ledger"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_export_of_an_unknown_customer_is_refused(cli, maria):
    result = cli("customer", "export", "333 000 0000")
    assert result.exit_code == 1 and "no customer" in result.stderr


# ---- erasure -----------------------------------------------------------------------------------

ERASED_TEXTS = (NAME, OLD_NAME, EMAIL, E164, "3331234567", COMMENT, SOURCE, NOTE, VOID_WHY, "allergic to nuts")


def test_forget_leaves_no_byte_of_the_customer_in_the_database_or_its_wal(cli, cli_json, maria, db_path):
    before = raw_bytes(db_path)
    assert all(text.encode() in before for text in (NAME, EMAIL, E164, COMMENT))  # the test can see them
    result = cli_json("forget", MARIA, "--yes")
    assert result["pseudonym"] == "forgotten-1" and result["wal_emptied"] is True
    assert result["compacted"] is False  # zeroed as it went: no rebuild was needed
    # phone_forms: the two typings of the fixture, and how the card writes the number (phones.shown_key)
    assert result["erased"] == {"details": 4, "phone_forms": 3, "visit_notes": 1, "void_reasons": 1,
                                "ledger_reasons": 3, "feedback_comments": 1, "consent_sources": 1,
                                "imported_cards": 0, "import_summaries": 0}
    after = raw_bytes(db_path)
    assert [text for text in ERASED_TEXTS if text.encode() in after] == []
    assert [text for text in ("Mariangela", "1990-04-12") if text.encode() in after] == []


@pytest.mark.sqlite_only  # SQLite's file and its free pages
def test_forget_rebuilds_a_file_that_kept_an_older_copy(cli_json, maria, db_path):
    """A release that did not zero freed bytes left the old row in the page: forget finds it
    there and rebuilds the file."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA secure_delete = OFF")
    with conn:
        conn.execute("INSERT INTO phone_keys (key, phone) VALUES ('IT:stale', ?)", (E164,))
    with conn:
        conn.execute("DELETE FROM phone_keys WHERE key = 'IT:stale'")  # its bytes stay in the page
    conn.close()
    result = cli_json("forget", MARIA, "--yes")
    assert result["compacted"] is True
    assert [text for text in ERASED_TEXTS if text.encode() in raw_bytes(db_path)] == []


def test_forget_keeps_the_accounts_and_doctor_clean(cli, cli_json, maria, at):
    cli_json("visit", "347 765 4321", "--amount", "20", "--name", "Luca")

    def figures():
        summary = cli_json("report", "summary", "--since", "2026-06-01")
        visits = cli_json("report", "visits", "--since", "2026-06-01")["rows"]
        customers = cli_json("report", "customers", "--since", "2026-06-01")["rows"]
        return (summary["rows"], summary["timeline"], cli_json("report", "liability")["rows"],
                sorted((v["visit"], v["amount"], v["voided"]) for v in visits),
                sorted((c["spend"], c["visits"], c["points"], c["credit"]) for c in customers))

    before = figures()
    cli_json("forget", MARIA, "--yes")
    assert figures() == before
    for full in ((), ("--full",)):
        assert cli_json("doctor", *full) == {"ok": True, "problems": []}
    listed = cli_json("report", "customers", "--since", "2026-06-01")["rows"]
    assert sorted(row["phone"] for row in listed) == ["+393477654321", "forgotten-1"]
    assert [row["name"] for row in listed if row["phone"] == "forgotten-1"] == [None]
    assert [row["phone"] for row in cli_json("customers")] == ["+393477654321"]
    assert cli_json("customers", "--search", "forgotten") == []
    history = cli("history", MARIA)
    assert history.exit_code == 1  # the number is nobody's now
    void_lines = [line for line in cli_json("report", "visits", "--since", "2026-06-01")["rows"] if line["voided"]]
    assert [line["void_reason"] for line in void_lines] == [None]


def test_the_ledger_stays_append_only_after_a_forget(cli_json, maria, db_path):
    cli_json("forget", MARIA, "--yes")
    reasons = [r for (r,) in db_query(db_path, "SELECT reason FROM ledger WHERE kind = 'void'")]
    assert reasons and all(r == f"void of visit #{maria}" for r in reasons)
    with pytest.raises(Exception, match="append-only"):
        db_execute(db_path, "UPDATE ledger SET reason = 'x'")
    with pytest.raises(Exception, match="append-only"):
        db_execute(db_path, "DELETE FROM ledger")
    assert cli_json("doctor") == {"ok": True, "problems": []}


def test_on_postgresql_the_erase_setting_lets_through_a_reason_and_nothing_else(cli_json, maria, db_path, backend):
    """The trigger's one exception (backends/postgres_schema.py): in a transaction that set
    loyalty.erasing, an UPDATE of the reason alone; never of an amount, nor outside it."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's trigger function (SQLite's erase drops its trigger in the transaction)")
    import psycopg

    with psycopg.connect(db_path) as conn:  # one transaction
        conn.execute("SET LOCAL loyalty.erasing = 'on'")
        conn.execute("UPDATE ledger SET reason = 'cut' WHERE kind = 'void'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE ledger SET points = points + 1, reason = 'cut' WHERE kind = 'void'")
        conn.rollback()
    with psycopg.connect(db_path) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        conn.execute("UPDATE ledger SET reason = 'cut' WHERE kind = 'void'")
    assert "cut" not in {r for (r,) in db_query(db_path, "SELECT reason FROM ledger")}


def test_a_visit_after_a_forget_enrols_a_new_customer(cli_json, maria):
    cli_json("forget", MARIA, "--yes")
    card = cli_json("visit", MARIA, "--amount", "5")
    assert card["enrolled"] is True and card["name"] is None and card["visits"] == 1
    assert card["spend"] == "5.00" and card["phone"] == E164
    assert cli_json("doctor")["ok"] is True


def test_forget_without_yes_off_a_terminal_is_refused_and_changes_nothing(cli, maria, db_path):
    before = db_content(db_path)
    result = cli("forget", MARIA)
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert db_content(db_path) == before


def test_forget_asks_on_a_terminal(cli, maria, db_path, monkeypatch):
    from loyalty_cli.cli import privacy

    monkeypatch.setattr(privacy, "on_terminal", lambda: True)
    before = db_content(db_path)
    declined = cli("forget", MARIA, input="n\n")
    assert declined.exit_code == 1 and "nothing erased" in declined.stderr
    assert db_content(db_path) == before
    agreed = cli("forget", MARIA, input="y\n")
    assert agreed.exit_code == 0, agreed.output + agreed.stderr
    assert NAME in agreed.stderr  # the question named who, on stderr
    assert "forgot +393331234567: now forgotten-1" in agreed.stdout and "1 feedback comment(s)" in agreed.stdout


def test_forget_an_unknown_customer_is_refused(cli, maria):
    result = cli("forget", "333 000 0000", "--yes")
    assert result.exit_code == 1 and "no customer" in result.stderr


@pytest.mark.sqlite_only  # files
def test_the_database_and_its_wal_files_are_owner_only(cli_json, db_path):
    cli_json("visit", MARIA, "--amount", "5")
    conn = sqlite3.connect(db_path)  # holds the WAL and shared-memory files open
    try:
        conn.execute("SELECT COUNT(*) FROM customers").fetchone()
        for path in (db_path, db_path.with_name("loyalty.db-wal"), db_path.with_name("loyalty.db-shm")):
            assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    finally:
        conn.close()


# ---- forgetting the silent: [privacy] forget_inactive_days -------------------------------------

@pytest.fixture
def forgetting(tmp_path, monkeypatch):
    def use(days):
        path = tmp_path / "privacy.toml"
        path.write_text(SAMPLE.read_text() + f"\n[privacy]\nforget_inactive_days = {days}\n")
        monkeypatch.setenv("LOYALTY_CONFIG", str(path))
        return path
    return use


def test_expire_forgets_customers_silent_for_longer_than_configured(cli_json, at, forgetting, monkeypatch, db_path):
    from loyalty_cli.services import privacy

    monkeypatch.setattr(privacy, "FORGET_BATCH", 2)  # several batches
    at("2024-01-10T12:00:00+00:00")
    for phone in ("333 000 0001", "333 000 0002", "333 000 0003"):
        cli_json("visit", phone, "--amount", "4")  # silent since
    cli_json("enroll", "333 000 0004", "--name", "Never Came")  # no visit: counted from enrolment
    cli_json("visit", "333 000 0005", "--amount", "4")
    at("2025-12-01T12:00:00+00:00")
    cli_json("visit", "333 000 0005", "--amount", "4")  # came back
    at("2026-06-15T12:00:00+00:00")
    assert "forgotten" not in cli_json("expire")  # not configured: not a word about it
    forgetting(365)
    assert cli_json("expire") == {"customers": 0, "points": 0, "vouchers": 0, "forgotten": 4}
    assert [row["phone"] for row in cli_json("customers")] == ["+393330000005"]
    gone = ("+393330000001", "+393330000002", "+393330000003", "+393330000004", "3330000001", "Never Came")
    assert [text for text in gone if text.encode() in raw_bytes(db_path)] == []
    assert cli_json("expire")["forgotten"] == 0  # nobody twice
    assert cli_json("doctor") == {"ok": True, "problems": []}
    at("2026-12-02T12:00:00+00:00")
    assert cli_json("expire")["forgotten"] == 1


def test_expire_says_how_many_it_forgot(cli, cli_json, at, forgetting):
    at("2024-01-10T12:00:00+00:00")
    cli_json("visit", MARIA, "--amount", "4")
    at("2026-06-15T12:00:00+00:00")
    forgetting(1095)
    result = cli("expire")
    assert result.exit_code == 0 and "forgot 0 customers with no visit in 1095 days" in result.stdout
    forgetting(365)
    assert "forgot 1 customers" in cli("expire").stdout


def test_config_show_has_the_privacy_option_when_set(cli, cli_json, forgetting):
    assert "privacy" not in cli_json("config", "show")["config"]
    forgetting(1095)
    assert cli_json("config", "show")["config"]["privacy"] == {"forget_inactive_days": 1095}
    assert "forget_inactive_days = 1095" in cli("config", "show").stdout


@pytest.mark.parametrize("value, said", [("10", "must be at least 90"), ("99999", "must be at most"),
                                         ('"3 years"', "must be a whole number")])
def test_forget_inactive_days_is_checked(cli, forgetting, value, said):
    path = forgetting(value)
    result = cli("config", "check", path)
    assert result.exit_code == 2 and "privacy.forget_inactive_days" in result.stderr and said in result.stderr


def test_forget_reaches_imported_cards_and_import_summaries(cli, cli_json, tmp_path, db_path):
    cards = tmp_path / "cards.csv"
    cards.write_text(f"phone,name,punches\n{MARIA},{NAME},3\n333-123-4567,,2\n333 999,Bad Number,1\n")
    imported = cli("import", "cards", cards, "--skip-invalid", "--rejects", tmp_path / "rejects.csv", "--json")
    assert imported.exit_code == 0, imported.output + imported.stderr
    assert json.loads(imported.stdout)["merges"] == [{"phone": E164, "line": 3, "into_line": 2}]
    result = cli_json("forget", MARIA, "--yes")
    assert (result["erased"]["imported_cards"], result["erased"]["import_summaries"]) == (1, 1)
    assert [p for (p,) in db_query(db_path, "SELECT phone FROM import_cards")] == ["forgotten-1"]
    [(summary,)] = db_query(db_path, "SELECT summary FROM imports")
    assert json.loads(summary)["merges"] == [{"phone": "forgotten-1", "line": 3, "into_line": 2}]
    assert json.loads(summary)["errors"][0]["value"] == "333 999"  # someone else's mistake stays
    assert [text for text in (NAME, E164, "3331234567") if text.encode() in raw_bytes(db_path)] == []
    assert cli_json("doctor")["ok"] is True


def test_forgotten_customers_are_nobody_to_call(cli_json, at):
    for day in ("2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"):
        at(f"{day}T10:00:00+00:00")
        cli_json("visit", MARIA, "--amount", "4")
        cli_json("visit", "347 765 4321", "--amount", "4")
    at("2026-06-10T10:00:00+00:00")
    cli_json("feedback", MARIA, "--score", "2", "--comment", COMMENT)
    at("2026-06-15T12:00:00+00:00")
    assert {row["phone"] for row in cli_json("report", "at-risk")["rows"]} == {E164, "+393477654321"}
    assert [row["phone"] for row in cli_json("report", "feedback")["follow_up"]] == [E164]
    cli_json("forget", MARIA, "--yes")
    assert {row["phone"] for row in cli_json("report", "at-risk")["rows"]} == {"+393477654321"}
    feedback = cli_json("report", "feedback")
    assert feedback["follow_up"] == [] and feedback["comments"] == []
    assert feedback["rows"][0]["responses"] == 1  # the score still counts


def test_doctor_finds_personal_data_left_on_a_forgotten_customer(cli, cli_json, maria, db_path):
    cli_json("forget", MARIA, "--yes")
    db_execute(db_path, "UPDATE customers SET name = 'Back Again' WHERE id = 1")
    db_execute(db_path, "UPDATE feedback SET comment = 'said again' WHERE customer_id = 1")
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [
        "forgotten customer #1 (forgotten-1): feedback #1 still has a comment",
        "forgotten customer #1 (forgotten-1): still has a name, e-mail, birthday, note or a phone other than "
        "its pseudonym"]


@pytest.mark.sqlite_only  # SQLite's WAL
def test_forget_says_so_when_a_reader_keeps_the_wal_busy(cli, maria, db_path):
    reader = sqlite3.connect(db_path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM customers").fetchone()  # a report, mid-run
        result = cli("forget", MARIA, "--yes")
        assert result.exit_code == 0, result.output + result.stderr
        assert "forgot +393331234567" in result.stdout and "-wal file" in result.stderr
    finally:
        reader.close()  # the last connection: SQLite empties the WAL
    assert [text for text in ERASED_TEXTS if text.encode() in raw_bytes(db_path)] == []
