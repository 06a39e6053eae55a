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
        lines = [line for line in text.splitlines() if "--" in line]
        assert lines, text
        assert not any(tag in line for line in lines for tag in ("<bool>", "<str>", "<int>", "<list")), text


def test_an_argument_shows_its_name_not_its_type():
    text = loyalty("visit", "--help").stdout
    assert "PHONE" in text and "list[str]" not in text and "<" not in text


def test_config_section_names_survive_the_help_markup():
    """[shop] and [feedback] are rich markup tags unless escaped: they vanished from --help."""
    assert "[feedback]" in loyalty("feedback", "--help").stdout
    assert "[shop]" in loyalty("visit", "--help").stdout
