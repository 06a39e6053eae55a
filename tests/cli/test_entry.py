"""The counter's fast path: the same command as the Typer one, without Typer's start-up."""

import json
import os
import subprocess
import sys

import pytest
import typer

from loyalty_cli.cli import entry
from loyalty_cli.cli.app import app


def typer_options(command: str | None) -> set[str]:
    group = typer.main.get_command(app)
    params = group.commands[command].params if command else group.params
    return {opt for param in params for opt in param.opts if opt.startswith("--")}


def test_fast_path_knows_exactly_the_typer_visit_options():
    assert typer_options("visit") - {"--help"} == set(entry.VISIT_VALUE_OPTIONS + entry.VISIT_FLAGS)
    assert set(entry.GLOBAL_VALUE_OPTIONS) <= typer_options(None)


@pytest.mark.parametrize("argv, expected", [
    (["visit", "612", "345", "678", "--amount", "12,50"], {"phone": ["612", "345", "678"], "amount": "12,50"}),
    (["--db", "x.db", "visit", "+34612345678", "--json"], {"db": "x.db", "as_json": True}),
    (["--config=c.toml", "visit", "1", "--items=3", "--ref", "R1"], {"config": "c.toml", "items": 3, "ref": "R1"}),
    (["visit", "1", "--at", "2026-01-01", "--name", "Ann", "--note", "n"], {"at": "2026-01-01", "name": "Ann"}),
])
def test_fast_path_parses(argv, expected):
    parsed = entry.parse_fast_visit(argv)
    assert parsed is not None
    assert {k: parsed[k] for k in expected} == expected


@pytest.mark.parametrize("argv", [
    ["visit", "--help"], ["visit", "1", "-h"], ["visit"], ["visit", "1", "--amount"], ["visit", "1", "--bogus"],
    ["visit", "1", "--items", "x"], ["visit", "1", "--amount", "1", "--amount", "2"], ["show", "1"],
    ["--db", "x", "show", "1"], ["--version"], [], ["visit", "1", "--json=yes"], ["--db"],
])
def test_everything_else_goes_to_typer(argv):
    assert entry.parse_fast_visit(argv) is None


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
    process = run(["visit", "333 123 4567", "--bogus"])
    assert process.returncode == 2
    assert process.stderr == "error: No such option: --bogus (see 'loyalty visit --help')\n"
    process = run(["customers", "--limit", "0"])
    assert process.returncode == 2 and process.stderr.count("\n") == 1 and "--limit" in process.stderr


def test_closed_stdout_is_not_a_failure(isolated):
    """`loyalty visit ... >&-` from a script: the visit is recorded and the exit code says so."""
    env = {**os.environ}
    process = subprocess.run([sys.executable, "-m", "loyalty_cli", "visit", "333 123 4567", "--amount", "2"],
                             stdout=None, stderr=subprocess.PIPE, text=True, env=env, timeout=60,
                             preexec_fn=lambda: os.close(1))
    assert process.returncode == 0, process.stderr
    process = subprocess.run([sys.executable, "-m", "loyalty_cli", "customers"], stderr=subprocess.PIPE,
                             text=True, env=env, timeout=60, preexec_fn=lambda: os.close(1))
    assert process.returncode == 0, process.stderr


def test_counter_path_does_not_import_heavy_modules(isolated):
    def heavy_after_visit(phone: str) -> str:
        code = ("import sys; from loyalty_cli.cli.visit import run_visit; "
                f"rc = run_visit(phone={phone!r}, amount='3'); "
                "names = ('phonenumbers', 'typer', 'rich', 'sqlite_utils', 'pydantic', 'click'); "
                "print(rc, sorted(m for m in names if m in sys.modules), file=sys.stderr)")
        process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                 env=dict(os.environ))
        return process.stderr.strip().splitlines()[-1]

    heavy_after_visit("333 123 4567")  # creates the database: the schema is built by sqlite-utils
    assert heavy_after_visit("+39 333 123 4567") == "0 ['phonenumbers']"  # a new way of typing it
    assert heavy_after_visit("333 123 4567") == "0 []"  # typed as before: no parse at all


# ---- imports ------------------------------------------------------------------------------------

def import_options(kind: str) -> set[str]:
    group = typer.main.get_command(app).commands["import"]
    return {opt for param in group.commands[kind].params for opt in param.opts if opt.startswith("--")}


@pytest.mark.parametrize("kind", ["cards", "visits"])
def test_import_fast_path_knows_exactly_the_typer_import_options(kind):
    values, flags = entry.IMPORT_KIND_OPTIONS[kind]
    known = entry.IMPORT_VALUE_OPTIONS + entry.IMPORT_LIST_OPTIONS + entry.IMPORT_FLAGS + values + flags
    assert import_options(kind) - {"--help"} == set(known)


@pytest.mark.parametrize("argv, expected", [
    (["import", "cards", "c.csv"], {"kind": "cards", "file": "c.csv", "format": "auto", "card": None}),
    (["--db", "x.db", "import", "visits", "-", "--json", "--apply-rules"],
     {"db": "x.db", "file": "-", "as_json": True, "apply_rules": True}),
    (["import", "cards", "--map", "Tessera=phone", "c.csv", "--map=Colore=note", "--ignore", "X", "--strict"],
     {"mapping": ["Tessera=phone", "Colore=note"], "ignore": ["X"], "strict": True}),
    (["import", "visits", "v.csv", "--dry-run", "--skip-invalid", "--rejects", "r.csv", "--date-format=dd/mm/yyyy",
      "--delimiter", ";", "--encoding", "cp1252", "--format", "csv"],
     {"dry_run": True, "skip_invalid": True, "rejects": "r.csv", "date_format": "dd/mm/yyyy", "delimiter": ";",
      "encoding": "cp1252", "format": "csv"}),
])
def test_import_fast_path_parses(argv, expected):
    parsed = entry.parse_fast_import(argv)
    assert parsed is not None
    flat = {**parsed["values"], **{k: v for k, v in parsed.items() if k != "values"}}
    assert {k: flat[k] for k in expected} == expected


@pytest.mark.parametrize("argv", [
    ["import", "cards"], ["import", "cards", "a.csv", "b.csv"], ["import", "cards", "c.csv", "--help"],
    ["import", "cards", "c.csv", "--apply-rules"], ["import", "visits", "v.csv", "--card", "X"],
    ["import", "cards", "c.csv", "--map"], ["import", "cards", "c.csv", "--json=yes"], ["import", "receipts", "r"],
    ["import", "cards", "c.csv", "--rejects", "a", "--rejects", "b"], ["import"], ["import", "cards", "c.csv", "--"],
])
def test_other_import_lines_go_to_typer(argv):
    assert entry.parse_fast_import(argv) is None


def test_import_fast_path_and_typer_report_the_same(cli, isolated, tmp_path):
    file = tmp_path / "v.csv"
    file.write_text("phone;date;amount\n333 123 4567;01/06/2026;2,50\n333 123 4567;soon;1\n", encoding="utf-8")
    args = ["import", "visits", str(file), "--skip-invalid", "--dry-run", "--json"]
    via_typer = cli(*args)
    process = run(["--db", str(isolated / "other.db"), *args])
    assert process.returncode == via_typer.exit_code == 0, process.stderr
    assert json.loads(process.stdout) == json.loads(via_typer.stdout)
    assert process.stderr.splitlines()[-1] == via_typer.stderr.splitlines()[-1]
    refused = run(["--db", str(isolated / "other.db"), "import", "visits", str(file)])
    assert refused.returncode == 2 and refused.stderr.splitlines()[-1].endswith("nothing was imported "
                                                                                 "(fix them, or import the rest with "
                                                                                 "--skip-invalid --rejects FILE)")


def test_import_path_does_not_import_typer(isolated, tmp_path):
    # (click may come in: sqlite-utils, which builds a new database's schema, imports it.)
    file = tmp_path / "c.csv"
    file.write_text("phone,points\n333 123 4567,5\n", encoding="utf-8")
    code = ("import sys; from loyalty_cli.cli.entry import main\n"
            "try:\n    main(['import', 'cards', sys.argv[1], '--json'])\nexcept SystemExit as exit:\n"
            "    print(exit.code, sorted(m for m in ('typer', 'pydantic') if m in sys.modules), file=sys.stderr)")
    process = subprocess.run([sys.executable, "-c", code, str(file)], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ))
    assert process.stderr.strip().splitlines()[-1] == "0 []"
