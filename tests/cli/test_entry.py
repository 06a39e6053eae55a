"""The counter's fast path: the same command as the Typer one, without Typer's start-up."""

import inspect
import json
import os
import subprocess
import sys

import pytest
import typer

from loyalty_cli.cli import visit
from loyalty_cli.cli.app import app
from loyalty_cli.cli.visit import run_visit


def typer_params(command: str | None) -> dict:
    """The Typer command's parameters (the app's own for None), by name."""
    group = typer.main.get_command(app)
    params = group.commands[command].params if command else group.params
    return {param.name: param for param in params}


def typer_reads(words: list[str]) -> dict:
    """What the Typer visit command makes of the words after `visit`."""
    return typer.main.get_command(app).commands["visit"].make_context("visit", list(words)).params


def describe(param) -> tuple:
    return tuple(param.opts), param.type_descriptor.annotation, param.default, bool(param.is_flag)


def test_fast_path_has_the_typer_visit_options_names_types_and_defaults():
    typer_side = {name: describe(param) for name, param in typer_params("visit").items() if name != "phone"}
    fast_side = {option.dest: ((option.flag,), option.type, option.default, option.type is bool)
                 for option in visit.VISIT_TABLE.values()}
    assert fast_side == typer_side
    # kept: what a running `loyalty till` hands each visit (cli/till.py), never a command-line option
    assert set(inspect.signature(run_visit).parameters) == {"db", "config", "phone", "kept", *fast_side}
    app_options = typer_params(None)
    for option in visit.GLOBAL_OPTIONS:
        assert describe(app_options[option.dest])[:3] == ((option.flag,), option.type, option.default)


@pytest.mark.parametrize("words", [
    ["1"],
    ["612", "345", "--amount", "12,50", "--items", "3", "--note", " a note ", "--at", "2026-01-01T10:00",
     "--name", "Ann", "--ref", "R1", "--json"],
    ["1", "--items=-2", "--amount=", "--note", "--json"], ["-", "1", "--note", "-"], ["1", "--items", "+007"],
])
def test_both_parsers_read_a_line_alike(words):
    fast = visit.parse_fast_visit(["visit", *words])
    assert fast is not None
    assert {key: fast[key] for key in fast if key not in ("db", "config")} == typer_reads(words)


@pytest.mark.parametrize("items", ["1_000", "3.0", "٣", "0x10", "", " 3", "1e3", "+-3"])
def test_numbers_not_plainly_written_are_left_to_typer(items):
    assert visit.parse_fast_visit(["visit", "1", "--items", items]) is None


@pytest.mark.parametrize("argv, expected", [
    (["visit", "612", "345", "678", "--amount", "12,50"], {"phone": ["612", "345", "678"], "amount": "12,50"}),
    (["--db", "x.db", "visit", "+34612345678", "--json"], {"db": "x.db", "as_json": True}),
    (["--config=c.toml", "visit", "1", "--items=3", "--ref", "R1"], {"config": "c.toml", "items": 3, "ref": "R1"}),
    (["visit", "1", "--at", "2026-01-01", "--name", "Ann", "--note", "n"], {"at": "2026-01-01", "name": "Ann"}),
])
def test_fast_path_parses(argv, expected):
    parsed = visit.parse_fast_visit(argv)
    assert parsed is not None
    assert {k: parsed[k] for k in expected} == expected


@pytest.mark.parametrize("argv", [
    ["visit", "--help"], ["visit", "1", "-h"], ["visit"], ["visit", "1", "--amount"], ["visit", "1", "--bogus"],
    ["visit", "1", "--items", "x"], ["visit", "1", "--amount", "1", "--amount", "2"], ["show", "1"],
    ["--db", "x", "show", "1"], ["--version"], [], ["visit", "1", "--json=yes"], ["--db"],
])
def test_everything_else_goes_to_typer(argv):
    assert visit.parse_fast_visit(argv) is None


def run(args, env_extra=None, cwd=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "loyalty_cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_fast_path_and_typer_give_the_same_card(cli_json, isolated):
    via_typer = cli_json("visit", "333 123 4567", "--amount", "12,50", "--name", "Maria")
    process = run(["--db", str(isolated / "other.db"), "visit", "333 123 4567", "--amount", "12,50",
                   "--name", "Maria", "--json"])
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == via_typer


def test_fast_path_errors_are_one_line_with_exit_codes():
    process = run(["visit", "not-a-phone"])
    assert process.returncode == 2
    assert process.stderr == "error: 'not-a-phone' is not part of a phone number\n"
    process = run(["visit", "333 123 4567", "12,50"])
    assert process.returncode == 2
    assert process.stderr == "error: '12,50' is not part of a phone number (did you mean --amount 12,50?)\n"
    process = run(["visit", "333 123 4567", "--amount", "-1"])
    assert process.returncode == 2 and process.stderr.startswith("error: --amount must not be negative")


def test_help_and_usage_errors_come_from_typer():
    process = run(["visit", "--help"])
    assert process.returncode == 0 and "--amount" in process.stdout
    amount, json_flag = (next(line for line in process.stdout.splitlines() if flag in line)
                         for flag in ("--amount ", "--json "))
    assert "AMOUNT" in amount and "<" not in amount + json_flag  # placeholders, not Typer's <str>/<bool>
    process = run(["visit", "333 123 4567", "--bogus"])
    assert process.returncode == 2
    assert process.stderr == "error: No such option: --bogus (see 'loyalty visit --help')\n"
    process = run(["customers", "--limit", "0"])
    assert process.returncode == 2 and process.stderr.count("\n") == 1 and "--limit" in process.stderr


def test_closed_stdout_is_reported_and_a_visit_says_it_was_recorded(isolated):
    """`loyalty visit ... >&-` from a script: the card is lost, so the exit code says so (1), and the
    one error line says the visit was recorded all the same."""
    env = {**os.environ}
    process = subprocess.run([sys.executable, "-m", "loyalty_cli", "visit", "333 123 4567", "--amount", "2"],
                             stdout=None, stderr=subprocess.PIPE, text=True, env=env, timeout=60,
                             preexec_fn=lambda: os.close(1))
    assert process.returncode == 1
    assert process.stderr.splitlines()[0] == ("error: visit #1 was recorded, but its card could not be written: "
                                              "standard output is closed")
    process = subprocess.run([sys.executable, "-m", "loyalty_cli", "customers"], stderr=subprocess.PIPE,
                             text=True, env=env, timeout=60, preexec_fn=lambda: os.close(1))
    assert process.returncode == 1
    assert process.stderr == "error: could not write the output: standard output is closed\n"


def test_counter_path_does_not_import_heavy_modules(isolated):
    def heavy_after_visit(phone: str) -> str:
        code = ("import sys; from loyalty_cli.cli.entry import main\n"
                f"try:\n    main(['visit', {phone!r}, '--amount', '3'])\nexcept SystemExit as exit:\n"
                "    names = ('phonenumbers', 'typer', 'rich', 'sqlite_utils', 'pydantic', 'click')\n"
                "    print(exit.code, sorted(m for m in names if m in sys.modules), file=sys.stderr)")
        process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                 env=dict(os.environ))
        return process.stderr.strip().splitlines()[-1]

    heavy_after_visit("333 123 4567")  # creates the database: the schema is built by sqlite-utils
    assert heavy_after_visit("+39 333 123 4567") == "0 ['phonenumbers']"  # a new way of typing it
    assert heavy_after_visit("333 123 4567") == "0 []"  # typed as before: no parse at all
