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


# The [shop] lines a quick start tells its reader to change (the rest of the table stays: the
# sample's promotions need its `categories`).
SHOP_LINES = {"name", "currency", "phone_region", "timezone", "locale", "max_amount"}


def _key(line: str) -> str:
    """The key a TOML line sets, also when it is commented out (`# locale = "it_IT"`)."""
    return line.lstrip("# ").split("=")[0].strip() if "=" in line else ""


def _apply_shop_lines(lines: list[str], toml_block: str) -> list[str]:
    """Change each line the quick start's [shop] block shows in the [shop] table `config init`
    wrote, uncommenting it where the sample has it commented, as its reader is told to."""
    lines = list(lines)
    start = lines.index("[shop]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for line in toml_block.splitlines()[1:]:
        assert _key(line) in SHOP_LINES, f"the quick start has the reader change [shop] {_key(line)}"
        found = [i for i in range(start, end) if _key(lines[i]) == _key(line)]
        if found:
            lines[found[0]] = line
        else:
            lines.insert(start, line)
            end += 1
    return lines


def _apply_quick_start(config_path, text: str) -> None:
    """The config edits of a quick start: its [shop] lines, and a block of rules (Hungary's, in
    forints) that replaces everything from the first [[rewards]] to the end of the file."""
    blocks = _blocks(text, "toml")
    lines = _apply_shop_lines(config_path.read_text(encoding="utf-8").splitlines(),
                              next(block for block in blocks if block.startswith("[shop]")))
    rules = [block for block in blocks if block.startswith("[[rewards]]")]
    if rules:
        lines = lines[:lines.index("[[rewards]]")] + rules[0].splitlines()
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
            _apply_quick_start(written, text)
    assert list((isolated / "exports").glob("visits-*.csv"))
    # The rules fit the currency: a first day's two visits earn a few points, not the top tier.
    phone = next(shlex.split(c)[2:] for c in commands if c.startswith("loyalty show "))
    card = cli("show", *phone, "--json")
    assert card.exit_code == 0, card.stderr
    assert card_tier(card.stdout) is None and card_points(card.stdout) < 100, card.stdout


def card_tier(stdout: str):
    import json

    return json.loads(stdout)["tier"]


def card_points(stdout: str) -> int:
    import json

    return json.loads(stdout)["points"]


def test_every_relative_link_of_the_readmes_leads_to_a_file():
    """A link to a file that is not there (sample_config.toml) sends a new user nowhere."""
    for page in [ROOT / "README.md", *QUICK_STARTS]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", target):
                assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
