"""`loyalty doctor`: a history the engine wrote passes, every kind of tampering is one line and exit 1.

Each tampering test edits the database behind the engine's back with sqlite3 (dropping the
append-only triggers where the ledger itself must change, and putting them back after), keeps
everything else consistent, and expects exactly the line of the invariant it breaks.
"""

import json
import sqlite3

import pytest

from tests.conftest import db_query

pytestmark = pytest.mark.backends  # each test on SQLite and on PostgreSQL (tests/conftest.py)

MARIA = "333 123 4567"
MARIA_E164 = "+393331234567"
LUCA = "347 765 4321"


def visits(cli_json, phone, count, amount="3.00"):
    return [cli_json("visit", phone, "--amount", amount)["visit_id"] for _ in range(count)]


def tamper(db_path, *statements, ledger=False):
    """Run SQL behind the engine's back; ledger=True lifts the append-only triggers meanwhile."""
    if str(db_path).startswith("postgresql://"):
        return _tamper_postgres(db_path, statements, ledger)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        triggers = triggers if ledger else []
        for name, _sql in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.execute(*statement) if isinstance(statement, tuple) else conn.execute(statement)
        for _name, sql in triggers:
            conn.execute(sql)
    finally:
        conn.close()


def _tamper_postgres(url, statements, ledger):
    import re

    from loyalty_cli.store import db as store_db

    conn = store_db.connect(url, create=False)
    try:
        if ledger:
            conn.execute("ALTER TABLE ledger DISABLE TRIGGER USER")
        for statement in statements:
            sql, args = statement if isinstance(statement, tuple) else (statement, ())
            conn.execute(re.sub(r"^DROP TRIGGER (\w+)$", r"DROP TRIGGER \1 ON ledger", sql), args)
        if ledger:
            conn.execute("ALTER TABLE ledger ENABLE TRIGGER USER")
    finally:
        conn.close()


def one(db_path, sql, *args):
    return db_query(db_path, sql, args)[0][0]


def problems(cli) -> list[str]:
    """doctor's problems, after checking it exits 1 and prints the same lines without --json."""
    result = cli("doctor", "--json")
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    assert found["ok"] is False
    plain = cli("doctor")
    assert plain.exit_code == 1
    assert plain.stdout.splitlines() == found["problems"]
    return found["problems"]


def assert_healthy(cli):
    result = cli("doctor")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "every balance, voucher and ledger line is consistent" in result.stderr + result.stdout


# ---- histories the engine writes pass ------------------------------------------------------------

def test_a_full_history_passes(cli, cli_json, at):
    at("2026-01-10T10:00:00+00:00")
    cli_json("enroll", LUCA)
    cli_json("enroll", MARIA, "--referred-by", LUCA)
    visits(cli_json, MARIA, 10, amount="40.00")  # a full card, and Gold
    cli_json("redeem", MARIA, "free-cone")  # the card's voucher
    cli_json("redeem", MARIA, "five-off")  # bought with points
    cli_json("redeem", MARIA, "--credit", "5")
    visits(cli_json, LUCA, 10)  # a voucher that will lapse
    voided = visits(cli_json, MARIA, 1)[0]
    cli_json("void", voided)
    at("2026-06-15T12:00:00+00:00")
    cli_json("expire")
    at("2027-03-01T12:00:00+00:00")  # the points of a year ago expire
    cli_json("expire")
    visits(cli_json, LUCA, 10)
    cli_json("void", visits(cli_json, LUCA, 1)[0])  # a visit whose points are still there
    assert cli_json("doctor") == {"ok": True, "problems": []}
    assert_healthy(cli)


def test_the_documented_debt_passes(cli, cli_json, db_path):
    """A visit voided after its card's voucher was redeemed: the punches stay owed (-1/10)."""
    ids = visits(cli_json, MARIA, 10)
    cli_json("redeem", MARIA, "free-cone")
    cli_json("void", ids[-1])
    assert json.loads(one(db_path, "SELECT punches FROM customers")) == {"Cone card": -1}
    assert_healthy(cli)


def test_a_debt_with_the_voucher_still_open_passes(cli, cli_json, db_path):
    """The first punch of a full card voided, its voucher not yet used: owed all the same."""
    ids = visits(cli_json, MARIA, 10)
    cli_json("void", ids[0])
    assert json.loads(one(db_path, "SELECT punches FROM customers")) == {"Cone card": -1}
    assert_healthy(cli)


def test_a_full_card_given_back_by_a_void_passes(cli, cli_json, db_path):
    """The visit that completed a card voided after another visit: 10/10 until the next visit."""
    ids = visits(cli_json, MARIA, 11)
    cli_json("void", ids[9])
    assert json.loads(one(db_path, "SELECT punches FROM customers")) == {"Cone card": 10}
    assert_healthy(cli)


def test_points_and_credit_owed_after_a_void_pass(cli, cli_json, db_path):
    visit = visits(cli_json, MARIA, 1, amount="400")[0]
    cli_json("redeem", MARIA, "five-off")
    cli_json("redeem", MARIA, "--credit", "20")
    cli_json("void", visit)
    assert one(db_path, "SELECT points < 0 AND credit < 0 FROM customers") == 1
    assert_healthy(cli)


# ---- what the customer row caches ----------------------------------------------------------------

def test_cached_visits_edited(cli, cli_json, db_path):
    visits(cli_json, MARIA, 3)
    tamper(db_path, "UPDATE customers SET visits = 4")
    assert problems(cli) == [f"customer {MARIA_E164}: cached visits 4 but the visits table has 3"]


def test_cached_spend_edited_is_shown_as_money(cli, cli_json, db_path):
    visits(cli_json, MARIA, 3)
    tamper(db_path, "UPDATE customers SET spend = 1250")
    assert problems(cli) == [f"customer {MARIA_E164}: cached spend €12.50 but the visits table says €9.00"]


def test_cached_last_visit_edited(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "UPDATE customers SET last_visit_at = '2020-01-01T00:00:00.000000Z'")
    assert problems(cli) == [f"customer {MARIA_E164}: cached last visit 2020-01-01T00:00:00.000000Z "
                             "but the newest visit is 2026-06-15T12:00:00.000000Z"]


def test_cached_credit_edited_is_shown_as_money(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)  # 20 welcome + 3 points, 0.15 back
    tamper(db_path, "UPDATE customers SET credit = 1250")
    assert problems(cli) == [f"customer {MARIA_E164}: cached points/credit 23/€12.50 but the ledger says 23/€0.15"]


def test_cached_punches_not_a_card_object(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "UPDATE customers SET punches = 'lol'")
    assert problems(cli) == [f"customer {MARIA_E164}: cached punches 'lol' are not a card -> count object"]


# ---- balances the engine cannot leave ------------------------------------------------------------

def test_open_punches_of_a_full_card(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "INSERT INTO ledger (customer_id, at, kind, punches, rule) "
                    "VALUES (1, '2026-06-15T12:00:00.000000Z', 'punch', 10, 'Cone card')",
           """UPDATE customers SET punches = '{"Cone card": 11}'""")
    assert problems(cli) == [f"customer {MARIA_E164}: 11 open punches on 'Cone card', "
                             "a full card of 10 whose reward was never issued"]


def test_negative_punches_without_a_void(cli, cli_json, db_path):
    visits(cli_json, MARIA, 10)  # a full card: 0 open
    tamper(db_path, "DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE kind = 'punch' LIMIT 3)",
           """UPDATE customers SET punches = '{"Cone card": -3}'""", ledger=True)
    assert problems(cli) == [f"customer {MARIA_E164}: -3 open punches on 'Cone card', "
                             "a debt beyond the 0 that voided visits took back"]


def test_negative_credit_without_a_void(cli, cli_json, db_path):
    visits(cli_json, MARIA, 2, amount="10")  # 0.50 back each
    cli_json("redeem", MARIA, "--credit", "1")
    tamper(db_path, "DELETE FROM ledger WHERE id = (SELECT MAX(id) FROM ledger WHERE kind = 'cashback')",
           "UPDATE customers SET credit = -50", ledger=True)
    assert problems(cli) == [f"customer {MARIA_E164}: credit -€0.50, a debt beyond the €0.00 "
                             "that voided visits took back"]


def test_negative_points_without_a_void(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1, amount="300")
    cli_json("redeem", MARIA, "five-off")  # 320 - 250
    tamper(db_path, "DELETE FROM ledger WHERE kind = 'points'", "UPDATE customers SET points = -230", ledger=True)
    assert problems(cli) == [f"customer {MARIA_E164}: -230 points, a debt beyond the 0 that voided visits took back",
                             f"{MARIA_E164}: the lot book kept after ledger line 5 is not what the ledger replays to"]


# ---- vouchers ----------------------------------------------------------------------------------

def open_voucher(cli_json, db_path) -> str:
    visits(cli_json, MARIA, 10)
    return one(db_path, "SELECT code FROM vouchers")


def test_voucher_status_unknown(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    tamper(db_path, "UPDATE vouchers SET status = 'lol'")
    assert problems(cli) == [f"voucher {code}: status 'lol' is not one of issued, redeemed, expired, void"]


def test_voucher_row_deleted(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    line = one(db_path, "SELECT id FROM ledger WHERE kind = 'reward'")
    tamper(db_path, "DELETE FROM vouchers")
    assert problems(cli) == [f"ledger line #{line} (reward, {MARIA_E164}): voucher {code} is missing "
                             "from the vouchers table"]


def test_voucher_redeemed_without_the_ledger_saying_so(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    tamper(db_path, "UPDATE vouchers SET status = 'redeemed', redeemed_at = '2026-06-15T12:00:00.000000Z'")
    assert problems(cli) == [f"voucher {code} is redeemed but no ledger entry says so"]


def test_voucher_open_with_a_redemption_in_the_ledger(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    cli_json("redeem", MARIA, code)
    tamper(db_path, "UPDATE vouchers SET status = 'issued', redeemed_at = NULL")
    assert problems(cli) == [f"voucher {code} is open but the ledger has redeem for it"]


def test_voucher_redeemed_without_its_time(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    cli_json("redeem", MARIA, code)
    tamper(db_path, "UPDATE vouchers SET redeemed_at = NULL")
    assert problems(cli) == [f"voucher {code} is redeemed but its redeemed_at/ended_at are None/None"]


def test_voucher_not_issued_by_its_reward_line(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    line = one(db_path, "SELECT id FROM ledger WHERE kind = 'reward'")
    tamper(db_path, "UPDATE vouchers SET ledger_id = NULL")
    assert problems(cli) == [
        f"voucher {code}: no reward ledger line issued it (only one bought with points has none)",
        f"ledger line #{line} (reward, {MARIA_E164}): voucher {code} names ledger line #None as the one that issued it",
    ]


def test_voucher_of_another_customer(cli, cli_json, db_path):
    code = open_voucher(cli_json, db_path)
    visits(cli_json, LUCA, 1)
    line = one(db_path, "SELECT id FROM ledger WHERE kind = 'reward'")
    tamper(db_path, "UPDATE vouchers SET customer_id = 2")
    assert problems(cli) == [
        f"voucher {code}: ledger line #{line} is not the reward line that issued it",
        f"ledger line #{line} (reward, {MARIA_E164}): voucher {code} belongs to another customer",
    ]


# ---- the ledger --------------------------------------------------------------------------------

@pytest.mark.parametrize("trigger,event", [("ledger_no_update", "UPDATE"), ("ledger_no_delete", "DELETE")])
def test_append_only_trigger_dropped(cli, cli_json, db_path, trigger, event):
    visits(cli_json, MARIA, 1)
    tamper(db_path, f"DROP TRIGGER {trigger}")
    assert problems(cli) == [f"ledger: trigger {trigger} is missing, so the ledger accepts {event}s "
                             "(it must be append-only)"]


@pytest.mark.sqlite_only  # SQLite's trigger syntax
def test_append_only_trigger_that_no_longer_refuses(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "DROP TRIGGER ledger_no_delete",
           "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT 1; END")
    assert problems(cli) == ["ledger: trigger ledger_no_delete no longer refuses DELETEs (it must be append-only)"]


def test_ledger_kind_unknown(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "INSERT INTO ledger (customer_id, at, kind) VALUES (1, '2026-06-15T12:00:00.000000Z', 'bogus')")
    line = one(db_path, "SELECT MAX(id) FROM ledger")
    assert problems(cli) == [f"ledger line #{line} ({MARIA_E164}): kind 'bogus' is not one of welcome, referral, "
                             "punch, reward, points, cashback, redeem, expire, void, import, promotion, feedback"]


def test_ledger_line_with_the_wrong_sign(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "INSERT INTO ledger (customer_id, at, kind, points) "
                    "VALUES (1, '2026-06-15T12:00:00.000000Z', 'points', -3)", "UPDATE customers SET points = 20")
    line = one(db_path, "SELECT MAX(id) FROM ledger")
    assert problems(cli) == [f"ledger line #{line} ({MARIA_E164}): a points line of -3 points, 0 punches and "
                             "€0.00 credit: not what the engine writes for points"]


def test_void_line_reversing_nothing(cli, cli_json, db_path):
    visits(cli_json, MARIA, 1)
    tamper(db_path, "INSERT INTO ledger (customer_id, at, kind) VALUES (1, '2026-06-15T12:00:00.000000Z', 'void')")
    line = one(db_path, "SELECT MAX(id) FROM ledger")
    assert problems(cli) == [f"ledger line #{line} ({MARIA_E164}): a void line that reverses no line"]


def test_visit_marked_voided_without_reversing_entries(cli, cli_json, db_path):
    first, second = visits(cli_json, MARIA, 2)
    lines = [row[0] for row in db_query(
        db_path, "SELECT id || ' (' || kind || ')' FROM ledger WHERE visit_id = ? ORDER BY id", (second,))]
    tamper(db_path, ("UPDATE visits SET voided_at = '2026-06-15T12:00:00.000000Z' WHERE id = ?", (second,)),
           ("UPDATE customers SET visits = 1, spend = 300, last_visit_at = (SELECT at FROM visits WHERE id = ?)",
            (first,)))
    assert len(lines) == 3  # punch, points, cashback
    assert problems(cli) == [f"visit #{second} ({MARIA_E164}) is voided, but its ledger line #{line} "
                             "was never reversed" for line in lines]


def test_reversal_of_a_visit_not_voided(cli, cli_json, db_path):
    visit = visits(cli_json, MARIA, 2)[1]
    punch = one(db_path, "SELECT id FROM ledger WHERE visit_id = ? AND kind = 'punch'", visit)
    tamper(db_path, ("INSERT INTO ledger (customer_id, at, kind, punches, rule, visit_id, reverses) "
                     "VALUES (1, '2026-06-15T12:00:00.000000Z', 'void', -1, 'Cone card', ?, ?)", (visit, punch)),
           """UPDATE customers SET punches = '{"Cone card": 1}'""")
    line = one(db_path, "SELECT MAX(id) FROM ledger")
    assert problems(cli) == [f"visit #{visit} ({MARIA_E164}) is not voided, yet ledger line #{line} "
                             f"reverses its line #{punch}"]


def test_reversal_that_does_not_undo_its_line(cli, cli_json, db_path):
    visit = visits(cli_json, MARIA, 2, amount="10")[1]
    cli_json("void", visit)
    cashback = one(db_path, "SELECT id FROM ledger WHERE visit_id = ? AND kind = 'cashback'", visit)
    line = one(db_path, "SELECT id FROM ledger WHERE reverses = ?", cashback)
    tamper(db_path, ("UPDATE ledger SET credit = -5 WHERE id = ?", (line,)),
           "UPDATE customers SET credit = 95", ledger=True)
    assert problems(cli) == [f"ledger line #{line} ({MARIA_E164}): does not undo line #{cashback} "
                             "(0 points, 0 punches, -€0.05 against 0 points, 0 punches, €0.50)"]


def test_line_reversed_twice(cli, cli_json, db_path):
    visit = visits(cli_json, MARIA, 2)[1]
    cli_json("void", visit)
    punch = one(db_path, "SELECT id FROM ledger WHERE visit_id = ? AND kind = 'punch'", visit)
    first = one(db_path, "SELECT id FROM ledger WHERE reverses = ?", punch)
    tamper(db_path, ("INSERT INTO ledger (customer_id, at, kind, punches, rule, visit_id, reverses) "
                     "VALUES (1, '2026-06-15T12:00:00.000000Z', 'void', -1, 'Cone card', ?, ?)", (visit, punch)),
           """UPDATE customers SET punches = '{}'""")
    line = one(db_path, "SELECT MAX(id) FROM ledger")
    assert problems(cli) == [f"ledger line #{line} ({MARIA_E164}): reverses line #{punch} again (line #{first} did)"]


@pytest.mark.sqlite_only
def test_full_runs_sqlites_full_integrity_check(cli, cli_json):
    cli_json("visit", "333 123 4567", "--amount", "5")
    quick, full = cli("doctor"), cli("doctor", "--full")
    assert quick.exit_code == full.exit_code == 0
    assert "quick check" in quick.stdout and "full integrity check" in full.stdout
