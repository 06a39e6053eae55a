"""What the executable itself prints for usage: help placeholders and usage errors (issue 9, item 13)."""

import subprocess
import sys


def loyalty(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loyalty_cli", *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "100", "LOYALTY_DB": "/nonexistent/x.db"})


def test_bare_loyalty_shows_help_without_an_empty_error():
    done = loyalty()
    assert "Usage: loyalty" in done.stdout + done.stderr
    assert "error:" not in done.stderr


def test_a_bad_whole_number_is_worded_plainly():
    done = loyalty("visit", "333 123 4567", "--items", "abc")
    assert done.returncode == 2
    assert done.stderr == "error: Invalid value for '--items': must be a whole number (see 'loyalty visit --help')\n"


def test_help_shows_no_type_tags_after_options():
    for command in (["--help"], ["visit", "--help"], ["report", "summary", "--help"], ["customers", "--help"]):
        text = loyalty(*command).stdout
        lines = [line for line in text.splitlines() if "--" in line and "--help" not in line]
        assert lines, text
        assert not any("<bool>" in line or "<str>" in line or "<int>" in line for line in lines), text
