"""The README is the front door: every command and option must be documented there."""

import re

import pytest
import typer

from loyalty_cli.cli.app import app

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from commands(command, path)
        else:
            yield path, command


ALL = sorted(commands(), key=lambda item: item[0])
HIDDEN = {"--help", "--install-completion", "--show-completion"}


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(p) for p, _c in ALL])
def test_every_command_and_option_is_in_the_readme(path, command):
    assert re.search(r"loyalty (--\S+ \S+ )*" + re.escape(" ".join(path)) + r"\b", README), \
        f"README never shows `loyalty {' '.join(path)}`"
    for param in command.params:
        for option in param.opts:
            if option.startswith("--") and option not in HIDDEN:
                assert option in README, f"README does not mention {option} of `loyalty {' '.join(path)}`"


def test_readme_names_the_exit_codes_and_the_test_command():
    assert "python -m pytest" in README
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in README
