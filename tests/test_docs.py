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


# ---- the quick starts in Spanish, Italian and Hungarian: every command they show works ---------

QUICK_STARTS = sorted((ROOT / "docs").glob("README.*.md"))


def test_the_readme_links_every_quick_start():
    assert {path.name for path in QUICK_STARTS} >= {"README.es.md", "README.it.md", "README.hu.md"}
    for path in QUICK_STARTS:
        assert f"(docs/{path.name})" in README


def _blocks(text: str, kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", text, re.S)


def _apply_shop_table(config_path, toml_block: str) -> None:
    """Set each key the quick start's [shop] block shows in the [shop] table `config init` wrote,
    as its reader is told to. `locale` comes with the translations: left out until Shop has it."""
    import dataclasses

    from loyalty_cli.domain import model

    known = {field.name for field in dataclasses.fields(model.Shop)}
    lines = config_path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[shop]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for line in toml_block.splitlines()[1:]:
        key = line.split("=")[0].strip()
        if key not in known:
            continue
        found = [i for i in range(start, end) if lines[i].split("=")[0].strip() == key]
        if found:
            lines[found[0]] = line
        else:
            lines.insert(start, line)
            end += 1
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("path", QUICK_STARTS, ids=[p.name for p in QUICK_STARTS])
def test_every_command_of_a_quick_start_works(path, cli, isolated, monkeypatch):
    import shlex

    text = path.read_text(encoding="utf-8")
    monkeypatch.delenv("LOYALTY_CONFIG")  # as on the shop's computer: `config init` writes the config
    commands = [line[2:] for block in _blocks(text, "console") for line in block.splitlines()
                if line.startswith("$ loyalty ")]
    for line in _blocks(text, "crontab")[0].splitlines():
        commands.append(" ".join(line.split()[5:]))  # the command after cron's five time fields
    shop_table = next(block for block in _blocks(text, "toml") if block.startswith("[shop]"))
    assert len(commands) >= 8 and any("--amount" in c for c in commands) and "report export" in commands[-1]
    for command in commands:
        words = shlex.split(command)[1:]
        if "--dir" in words:  # the cron line's folder, here
            folder = isolated / "exports"
            folder.mkdir(exist_ok=True)
            words[words.index("--dir") + 1] = str(folder)
        result = cli(*words)
        assert result.exit_code == 0, f"{path.name}: `{command}`: {result.stderr}"
        if words[:2] == ["config", "init"]:
            written = next((isolated / "xdg-config").rglob("loyalty.toml"))
            _apply_shop_table(written, shop_table)
    assert list((isolated / "exports").glob("visits-*.csv"))


def test_every_relative_link_of_the_readmes_leads_to_a_file():
    """A link to a file that is not there (sample_config.toml) sends a new user nowhere."""
    for page in [ROOT / "README.md", *QUICK_STARTS]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", target):
                assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
