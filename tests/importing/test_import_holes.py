"""The import's holes found by attack (issue 9): each test here failed before its fix.

The counter is the oracle: what `loyalty visit` refuses, the import refuses row by row (line,
column, reason); what the counter writes, the import writes.
"""

import json

import pytest

from tests.importing.conftest import FIXTURES, query


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


# ---- item 3: cards onto existing customers complete full cards --------------------------------

@pytest.mark.parametrize("imported, vouchers, left", [(5, 1, 3), (12, 2, 0), (1, 0, 9)])
def test_cards_onto_a_customer_complete_cards_as_the_counter_would(cli, cli_json, db_path, tmp_path,
                                                                 imported, vouchers, left):
    for _ in range(8):  # 8 punches on the Cone card of 10
        assert cli("visit", "333 123 4567", "--amount", "2").exit_code == 0
    file = write(tmp_path / "cards.csv", f"phone,punches\n333 123 4567,{imported}\n")
    summary = cli_json("import", "cards", file)
    assert (summary["customers_updated"], summary["vouchers_issued"]) == (1, vouchers)
    card = cli_json("show", "333 123 4567")
    assert card["punches"] == left
    issued = query(db_path, "SELECT reward, status FROM vouchers WHERE rule = 'Cone card' AND visit_id IS NULL")
    assert issued == [{"reward": "free-cone", "status": "issued"}] * vouchers
    assert cli("doctor").exit_code == 0


# ---- items 7 and 9: bounded input, no control characters; e-mail by the counter's rule ----------

def row_errors(cli, kind, file, *options):
    """(line, column, reason) of each refused row, from a dry run that skips them."""
    result = cli("import", kind, file, "--dry-run", "--skip-invalid", "--json", *options)
    assert result.exit_code == 0, result.output
    return [(e["line"], e["column"], e["reason"]) for e in json.loads(result.stdout)["errors"]]


def test_cards_refuse_what_no_paper_card_holds(cli, cli_json, tmp_path):
    file = write(tmp_path / "cards.csv", "phone,punches,rewards\n"
                 "333 111 0001,1000,100 free-cone\n"  # the most: 100 cards of 10, 100 rewards owed
                 "333 111 0002,1001,\n"
                 "333 111 0003,2,101 free-cone\n"
                 "333 111 0004,2,1000000 free-cone\n")
    assert row_errors(cli, "cards", file) == [
        (3, "punches", "punches 1001 is more than 100 full cards of 10 (1000): a typo? "
                       "(the rest can go on as rewards owed)"),
        (4, "rewards", "more than 100 rewards owed on one card: '101 free-cone' (a typo?)"),
        (5, "rewards", "more than 100 rewards owed on one card: '1000000 free-cone' (a typo?)"),
    ]
    first = write(tmp_path / "first.csv", "phone,punches,rewards\n333 111 0001,1000,100 free-cone\n")
    assert cli_json("import", "cards", first)["vouchers_issued"] == 200


def test_cards_refuse_long_text_and_control_characters_as_the_counter_does(cli, tmp_path):
    name, note = "N" * 201, "x" * 1001
    file = write(tmp_path / "cards.csv", "phone,name,note,email\n"
                 f"333 111 0001,{'N' * 200},{'x' * 1000},giulia@example.it\n"  # at the limits: fine
                 f"333 111 0002,{name},,\n"
                 f"333 111 0003,Maria,{note},\n"
                 "333 111 0004,Mar\x1b[2Jia,,\n"
                 "333 111 0005,Maria,a \u202enote,\n"
                 "333 111 0006,Maria,,a@b\n")
    assert row_errors(cli, "cards", file) == [
        (3, "name", "name is longer than 200 characters (201)"),
        (4, "note", "note is longer than 1000 characters (1001)"),
        (5, "name", "name holds a control character (U+001B)"),
        (6, "note", "note holds a control character (U+202E)"),
        (7, "email", "not an e-mail address (the part after @ needs a dotted domain, e.g. shop.it): 'a@b'"),
    ]


def test_a_refused_megabyte_is_not_copied_into_the_summary(cli, tmp_path):
    file = write(tmp_path / "cards.csv", f"phone,note\n333 111 0001,{'x' * 1_000_000}\n")
    result = cli("import", "cards", file, "--json")
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)["errors"]
    assert error["reason"] == "note is longer than 1000 characters (1000000)" and len(error["value"]) == 61


def test_visits_refuse_long_text_and_control_characters_as_the_counter_does(reader, cli, tmp_path):
    file = write(tmp_path / "visits.jsonl", "\n".join(json.dumps(row) for row in [
        {"phone": "333 111 0001", "date": "2026-06-01", "name": "N" * 200, "note": "x" * 1000, "ref": "r" * 100},
        {"phone": "333 111 0002", "date": "2026-06-01", "name": "N" * 201},
        {"phone": "333 111 0003", "date": "2026-06-01", "note": "x" * 1001},
        {"phone": "333 111 0004", "date": "2026-06-01", "ref": "r" * 101},
        {"phone": "333 111 0005", "date": "2026-06-01", "name": "Bell\x07a"},
        {"phone": "333 111 0006", "date": "2026-06-01", "ref": "A-1\x00"},
        {"phone": "333 111 0007", "date": "2026-06-01", "items": 10_001},
    ]) + "\n")
    assert row_errors(cli, "visits", file) == [
        (2, "name", "name is longer than 200 characters (201)"),
        (3, "note", "note is longer than 1000 characters (1001)"),
        (4, "ref", "ref is longer than 100 characters (101)"),
        (5, "name", "name holds a control character (U+0007)"),
        (6, "ref", "ref holds a control character (U+0000)"),
        (7, "items", "items is too large: 10001 (at most 10,000)"),
    ]


def test_a_plain_csv_with_control_characters_is_checked_too(reader, cli, tmp_path):
    """The fast reader splits plain lines without the csv module: its columns are checked alike."""
    file = write(tmp_path / "visits.csv", "phone;date;note\n" + "".join(
        f"333 111 {i:04d};01/06/2026;{'ok' if i != 7 else 'b' + chr(0x9b) + 'ad'}\n" for i in range(1, 30)))
    assert row_errors(cli, "visits", file) == [(8, "note", "note holds a control character (U+009B)")]


# ---- item 12: one validation for the counter and the import -------------------------------------

def test_visits_refuse_what_the_counter_refuses(reader, cli, tmp_path):
    file = write(tmp_path / "visits.csv", "phone;date;time;amount\n"
                 "333 111 0001;01/06/2026;10:00;500,00\n"  # max_amount 500: fine
                 "333 111 0002;01/06/2026;10:00;500,01\n"
                 "333 111 0003;31/12/1989;10:00;1\n"
                 "333 111 0004;01/01/1990;10:00;1\n"  # clock.EARLIEST_YEAR: fine
                 "333 111 0005;29/03/2026;02:30;1\n"  # Rome put its clocks forward at 02:00
                 "333 111 0006;29/03/2026;03:30;1\n"
                 "333 111 0007;26/10/2025;02:30;1\n")  # back at 03:00: 02:30 comes twice, the first is meant
    assert row_errors(cli, "visits", file) == [
        (3, "amount", "amount 500,01 is above the shop's max_amount of €500.00 "
                      "(a typo? raise max_amount in [shop] of the config)"),
        (4, "date", "date '31/12/1989' is before 1990 (a typo?)"),
        (6, "time", "2026-03-29 02:30 does not exist in Europe/Rome (the clocks were put forward)"),
    ]
    counter = [cli("visit", "333 111 0009", "--amount", "500.01"),
               cli("visit", "333 111 0009", "--at", "1989-12-31"),
               cli("visit", "333 111 0009", "--at", "2026-03-29T02:30")]
    assert [result.exit_code for result in counter] == [2, 2, 2]


@pytest.mark.parametrize("cell", ["29/03/2026 02:30", "2026-03-29T02:59:59", "29.03.2026 2.00"])
def test_a_time_in_the_dst_gap_is_refused_in_a_date_cell(cli, tmp_path, cell):
    file = write(tmp_path / "visits.csv", f"phone,date\n333 111 0001,{cell}\n333 111 0001,29/03/2026 03:00\n")
    [(line, column, reason)] = row_errors(cli, "visits", file)
    assert (line, column) == (2, "date") and "does not exist in Europe/Rome" in reason


def test_a_last_visit_before_1990_is_refused(cli, tmp_path):
    file = write(tmp_path / "cards.csv", "phone,last visit\n333 111 0001,1989-06-01\n333 111 0002,1990-06-01\n")
    assert row_errors(cli, "cards", file) == [(2, "last visit", "date '1989-06-01' is before 1990 (a typo?)")]


# ---- item 14: import details ---------------------------------------------------------------------

def names(db_path):
    return [row["name"] for row in query(db_path, "SELECT name FROM customers ORDER BY phone")]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "csv-module"])
def test_a_name_column_wins_over_first_and_last_name(reader, cli_json, db_path, tmp_path, quoted):
    """'Maria Rossi Maria Rossi' was stored when all three were joined; the parts fill in an empty name."""
    q = '"' if quoted else ""
    file = write(tmp_path / "cards.csv", "Phone,Name,First Name,Last Name\n"
                 f"333 111 0001,{q}Maria Rossi{q},Maria,Rossi\n333 111 0002,,Luca,Bianchi\n333 111 0003,,,\n")
    cli_json("import", "cards", file)
    assert names(db_path) == ["Maria Rossi", "Luca Bianchi", None]


def test_json_lines_name_the_same_way(cli_json, db_path, tmp_path):
    file = write(tmp_path / "cards.jsonl",
                 '{"phone": "333 111 0001", "first name": "Maria", "name": "Maria Rossi", "last name": "Rossi"}\n'
                 '{"phone": "333 111 0002", "name": "", "first name": "Luca", "last name": "Bianchi"}\n'
                 '{"phone": "333 111 0003", "nome": "Anna", "cognome": "Verdi"}\n')
    cli_json("import", "cards", file)
    assert names(db_path) == ["Maria Rossi", "Luca Bianchi", "Anna Verdi"]


@pytest.mark.parametrize("header", ["Balance", "Saldo", "Egyenleg"])
def test_a_balance_column_is_not_guessed_to_be_credit(cli, cli_json, db_path, tmp_path, header):
    file = write(tmp_path / "cards.csv", f"phone,{header}\n333 111 0001,37\n")
    result = cli("import", "cards", file)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {file}: line 1: column {header!r} could be points or credit; "
                                     f"say which with --map {header}=points or --map {header}=credit")
    summary = cli_json("import", "cards", file, "--map", f"{header}=points")
    assert (summary["points"], summary["credit"]) == (37, "0.00")
    jsonl = write(tmp_path / "cards.jsonl", f'{{"phone": "333 111 0002", "{header}": 5}}\n')
    result = cli("import", "cards", jsonl)
    assert result.exit_code == 2 and f"line 1: key {header!r} could be points or credit" in result.stderr


HU_CARDS = "Telefonszám;Név;Pecsétek\n06 30 123 4567;Szűcs Éva;2\n06 30 765 4321;Kőszegi Ödön;1\n"


def test_a_hungarian_file_is_read_in_a_central_european_code_page(cli_json, db_path, tmp_path, hungarian):
    file = tmp_path / "kartyak.csv"
    file.write_bytes(HU_CARDS.encode("iso8859-2"))
    summary = cli_json("import", "cards", file)
    assert summary["encoding"] == "cp1250"  # ő and ű are the same bytes in ISO-8859-2
    assert names(db_path) == ["Szűcs Éva", "Kőszegi Ödön"]


@pytest.mark.parametrize("encoding", ["cp1250", "iso8859-2"])
def test_cp1250_and_iso_8859_2_are_told_apart_by_their_letters(tmp_path, encoding):
    from loyalty_cli.importing.sources import open_source

    file = tmp_path / "karty.csv"
    file.write_bytes("telefon;imię\n600 100 200;Łukasz Świątek\n600 100 300;Źdźbło Żaneta\n".encode(encoding))
    source = open_source(str(file), region="PL")
    try:
        assert source.encoding == encoding
        assert [line.rstrip() for line in source.text()][1:] == ["600 100 200;Łukasz Świątek",
                                                                 "600 100 300;Źdźbło Żaneta"]
    finally:
        source.close()
    western = open_source(str(file), region="IT")  # elsewhere, as before
    western.close()
    assert western.encoding in ("cp1252", "latin-1")


def test_a_re_import_in_the_right_encoding_repairs_the_names(cli, cli_json, db_path, tmp_path, hungarian):
    file = tmp_path / "kartyak.csv"
    file.write_bytes(HU_CARDS.encode("cp1250"))
    first = cli_json("import", "cards", file, "--encoding", "cp1252")  # as it was read before
    assert first["customers_created"] == 2
    assert names(db_path) == ["Szûcs Éva", "Kõszegi Ödön"]  # cp1252 reads ű as û and ő as õ
    assert cli("edit", "06 30 765 4321", "--name", "Kőszegi Ödön Jr.").exit_code == 0  # edited since: stays
    again = cli_json("import", "cards", file)
    assert (again["encoding"], again["already_imported"], again["names_repaired"]) == ("cp1250", 2, 1)
    assert (again["rows_imported"], again["punches"]) == (0, 0)
    assert names(db_path) == ["Szűcs Éva", "Kőszegi Ödön Jr."]
    assert cli_json("import", "cards", file)["names_repaired"] == 0
    assert len(query(db_path, "SELECT id FROM imports")) == 2  # the last run left no trace
    assert cli("doctor").exit_code == 0


def test_the_progress_bar_runs_no_thread_to_fork_under(cli, monkeypatch):
    """rich redraws from a thread when auto_refresh is on; the reader process forks meanwhile."""
    import threading

    from loyalty_cli.cli import import_command
    from loyalty_cli.importing import reader as import_reader

    threads = []
    real = import_command._Progress.__enter__

    def watched(self):
        update = real(self)
        return lambda *args: (threads.append(threading.active_count()), update(*args))

    monkeypatch.setattr(import_command, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(import_command._Progress, "__enter__", watched)
    monkeypatch.setattr(import_reader, "FORK_FROM_LINES", 0)
    before = threading.active_count()
    result = cli("import", "visits", FIXTURES / "it_visits_bom.csv", "--json")
    assert result.exit_code == 0, result.output
    assert threads and set(threads) == {before}


# ---- item 2 (vouchers): a replayed voucher that has lapsed since is written expired -------------

def test_replayed_history_older_than_rewards_days_leaves_no_voucher_open(cli, cli_json, tmp_path):
    """`visit --at` writes a back-dated visit's lapsed voucher down at once; the replay does too."""
    moments = [f"2025-01-{day:02d}T10:00" for day in range(1, 13)]  # 10th visit: a free cone, 90 days to use it
    counter_db, import_db = tmp_path / "counter.db", tmp_path / "import.db"
    for moment in moments:
        assert cli("--db", counter_db, "visit", "333 111 0001", "--amount", "2", "--at", moment).exit_code == 0
    file = write(tmp_path / "old.csv", "phone,date,amount\n" + "".join(f"333 111 0001,{m},2\n" for m in moments))
    summary = cli_json("--db", import_db, "import", "visits", file, "--apply-rules")
    assert summary["vouchers_issued"] == 1

    def vouchers(db):
        return query(db, "SELECT reward, status, issued_at, expires_at FROM vouchers")

    assert vouchers(import_db) == vouchers(counter_db) == [
        {"reward": "free-cone", "status": "expired", "issued_at": "2025-01-10T09:00:00.000000Z",
         "expires_at": "2025-04-10T08:00:00.000000Z"}]  # 90 local days on: 10:00 in Rome, now summer time
    [voucher] = query(import_db, "SELECT code, ended_at FROM vouchers")
    assert voucher["ended_at"] == "2025-04-10T08:00:00.000000Z"  # when it lapsed
    expired = query(import_db, "SELECT at, voucher, reward, reason FROM ledger WHERE kind = 'expire' "
                               "AND voucher IS NOT NULL")  # the points lots' expiries aside
    assert expired == [{"at": "2025-04-10T08:00:00.000000Z", "voucher": voucher["code"], "reward": "free-cone",
                        "reason": "voucher expired"}]
    voucher_lines = "SELECT kind FROM ledger WHERE voucher IS NOT NULL ORDER BY id"  # points expiry aside
    assert query(import_db, voucher_lines) == query(counter_db, voucher_lines) == [{"kind": "reward"},
                                                                                   {"kind": "expire"}]
    assert cli_json("--db", import_db, "show", "333 111 0001")["vouchers"] == []
    assert cli("--db", import_db, "doctor").exit_code == 0
