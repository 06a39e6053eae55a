"""What a new user's first try found (wave 2 review): each through the CLI as they typed it."""

import os
import subprocess
import sys

import pytest


def loyalty(*args, stdout=subprocess.PIPE, env=None, preexec_fn=None):
    """The real executable in a child process: what a terminal, a pipe or a full disk sees."""
    return subprocess.run([sys.executable, "-m", "loyalty_cli", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, env={**os.environ, **(env or {})}, timeout=60, preexec_fn=preexec_fn)


def test_void_names_its_argument_as_the_help_does(cli):
    result = cli("void", "abc")
    assert result.exit_code == 2
    assert "VISIT_ID" in result.output + result.stderr and "visit_id" not in result.output + result.stderr


def test_config_init_over_an_existing_file_is_refused_with_exit_1(cli, isolated):
    target = isolated / "shop.toml"
    assert cli("config", "init", str(target)).exit_code == 0
    result = cli("config", "init", str(target))
    assert result.exit_code == 1, result.output
    assert "already exists" in result.stderr


def test_paths_says_a_named_config_is_missing(cli, cli_json, isolated):
    missing = str(isolated / "nonexist.toml")
    result = cli("paths", env={"LOYALTY_CONFIG": missing})
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("config:"))
    assert "missing" in line, line
    assert cli_json("paths", env={"LOYALTY_CONFIG": missing})["config_missing"] is True
    assert cli_json("paths")["config_missing"] is False
    assert cli("customers", env={"LOYALTY_CONFIG": missing}).exit_code != 0  # what "missing" warns of


def test_config_show_prints_the_toml_as_lines(cli):
    result = cli("config", "show")
    assert result.exit_code == 0, result.stderr
    assert "\u240a" not in result.stdout
    assert "[shop]" in result.stdout.splitlines()
    assert len(result.stdout.splitlines()) > 20


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"], ["visit", "--help"]])
def test_help_into_a_closed_pipe_exits_0_quietly(args):
    """`loyalty --help | head -1`: the reader went away; as for the reports, no error."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write fails with EPIPE, as after head has exited
    try:
        process = loyalty(*args, stdout=write_end)
    finally:
        os.close(write_end)
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""


def test_redeem_without_a_voucher_says_what_is_missing(cli, cli_json, db_path):
    cli_json("visit", "333 123 4567", "--amount", "5")
    result = cli("redeem", "333", "123", "4567")
    assert result.exit_code == 2
    assert "give a voucher code, a reward id or --credit" in result.stderr
    assert "not a valid phone" not in result.stderr
    result = cli("redeem", "333", "123", "4567", "NOSUCH")  # a phone and a code: looked up as before
    assert result.exit_code == 1 and "voucher" in result.stderr.lower(), result.stderr


def full_disk():
    return open("/dev/full", "w")  # every write fails with ENOSPC


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["customers"], ["report", "visits"], ["report", "visits", "-f", "excel-csv"],
                                  ["report", "visits", "-f", "xlsx"], ["history", "333 123 4567", "--json"]])
def test_a_full_disk_on_stdout_is_one_line(cli_json, args):
    cli_json("visit", "333 123 4567", "--amount", "5")
    with full_disk() as out:
        process = loyalty(*args, stdout=out)
    assert process.returncode == 1
    assert process.stderr == "error: could not write the output: No space left on device\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_visit_whose_card_cannot_be_written_says_it_was_recorded(cli, cli_json, json_flag):
    with full_disk() as out:
        process = loyalty("visit", "333 123 4567", "--amount", "5", "--ref", "TILL-1", *json_flag, stdout=out)
    assert process.returncode == 1
    assert process.stderr.splitlines()[0] == ("error: visit #1 was recorded, but its card could not be written: "
                                              "No space left on device")
    again = cli_json("visit", "333 123 4567", "--amount", "5", "--ref", "TILL-1")  # the script's retry
    assert again["duplicate"] is True and again["visit_id"] == 1 and again["visits"] == 1


def test_control_characters_in_config_text_never_reach_the_terminal(cli, cli_json, isolated):
    from tests.conftest import SAMPLE

    text = SAMPLE.read_text(encoding="utf-8")
    hostile = text.replace('name = "Gelateria Roma"', 'name = "A\\u001b[31mRED\\u001b]0;pwned\\u0007"', 1)
    assert hostile != text
    config = isolated / "hostile.toml"
    config.write_text(hostile, encoding="utf-8")
    env = {"LOYALTY_CONFIG": str(config)}
    cli_json("visit", "333 123 4567", "--amount", "5", env=env)
    for args in (["report", "summary", "--format", "table"], ["report", "visits", "--format", "table"]):
        result = cli(*args, env=env)
        assert result.exit_code == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert "A␛[31mRED␛]0;pwned␇" in result.stdout  # shown, as pictures


def test_the_summary_chart_fits_80_columns_without_a_terminal(cli, cli_json, at, isolated):
    for day in range(1, 15):
        at(f"2026-06-{day:02d}T10:00:00+00:00")
        for _ in range(day):
            cli_json("visit", "333 123 4567", "--amount", "5")
    at("2026-06-15T12:00:00+00:00")
    result = cli("report", "summary", "--format", "table")
    assert result.exit_code == 0, result.stderr
    assert "█" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    saved = isolated / "summary.txt"
    assert cli("report", "summary", "--output", str(saved)).exit_code == 0
    assert max(len(line) for line in saved.read_text(encoding="utf-8").splitlines()) <= 80


@pytest.mark.parametrize("repeat", [["--amount", "3", "--amount", "4"], ["--amount=3", "--amount", "4"],
                                    ["--note", "a", "--note=b"]])
def test_a_visit_option_given_twice_is_refused(cli, db_path, repeat):
    result = cli("visit", "612345678", *repeat)
    assert result.exit_code == 2
    assert "given 2 times" in result.stderr or "given 2 times" in result.output
    assert not os.path.exists(db_path)  # nothing recorded, not even a new database
    process = loyalty("visit", "333 123 4567", *repeat)  # through the fast path's hand-over to Typer
    assert process.returncode == 2
    assert process.stderr.startswith("error: ") and "given 2 times" in process.stderr
    assert process.stderr.count("\n") == 1


def test_referred_by_takes_a_number_typed_as_words(cli, cli_json):
    cli_json("enroll", "333 123 4567", "--name", "Maria")
    luca = cli_json("enroll", "347", "765", "4321", "--referred-by", "333", "123", "4567", "--name", "Luca")
    assert luca["phone"] == "+393477654321" and luca["name"] == "Luca"
    referrer = cli_json("show", "3331234567")
    assert referrer["points"] > 0  # the referral bonus reached Maria
    result = cli("enroll", "--referred-by", "333", "123", "4567", "347 000 1111")
    assert result.exit_code == 2
    assert "--referred-by 333 is not a whole number" in result.stderr + result.output
    anna = cli_json("enroll", "--referred-by", "3331234567", "347", "000", "2222")  # a whole number first: as before
    assert anna["phone"] == "+393470002222"


def test_files_for_spreadsheets_have_full_headings(cli, cli_json, isolated):
    cli_json("visit", "333 123 4567", "--amount", "5")
    customers = cli("customers", "--format", "excel-csv")
    assert customers.exit_code == 0, customers.stderr
    header = customers.stdout.lstrip("\ufeff").splitlines()[0]
    assert "Points" in header and "Punches" in header and "Open vouchers" in header
    assert "Pts" not in header and "Vouch," not in header
    history = cli("history", "333 123 4567", "--format", "excel-csv")
    header = history.stdout.lstrip("\ufeff").splitlines()[0]
    assert "Entry" in header and "Reason" in header and "Why" not in header
    table = cli("customers", "--format", "table")  # the 80-column table keeps its short titles
    assert "Pts" in table.stdout
