"""A new user's findings in the importer: Hungarian birthdays, malformed JSON Lines rows, the
rejects file, --date-format and the progress count."""

import pytest

from tests.importing.conftest import query


@pytest.mark.parametrize("cell", ["1985. 06. 15.", "1985. 6. 15.", "1985.06.15.", "1985.06.15", "15. 06. 1985"])
def test_hungarian_birthdays_read_as_the_date_reader_reads_dates(cli_json, db_path, tmp_path, cell):
    file = tmp_path / "kartyak.csv"
    file.write_text(f"telefon;születésnap\n333 000 0001;{cell}\n", encoding="utf-8")
    summary = cli_json("import", "cards", file)
    assert summary["birthdays"] == 1
    assert query(db_path, "SELECT birthday FROM customers") == [{"birthday": "1985-06-15"}]
