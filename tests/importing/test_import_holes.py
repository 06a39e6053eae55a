"""The import's holes found by attack (issue 9): each test here failed before its fix.

The counter is the oracle: what `loyalty visit` refuses, the import refuses row by row (line,
column, reason); what the counter writes, the import writes.
"""

import sqlite3

import pytest


def query(db_path, sql, *args):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()


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
