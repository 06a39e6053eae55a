"""The translation catalogs: complete, faithful to their placeholders, compiled, shipped.

The messages are extracted afresh from the source (as tools/catalogs.py does), so a text added
anywhere with tr(), tr_n(), mark() or Phrase() fails here until every catalog translates it.
"""

import gettext
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from loyalty_cli.domain import i18n

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("es", "it", "hu")
KEYWORDS = {"tr": None, "tr_n": (1, 2), "mark": None, "Phrase": None}


def placeholders(text: str) -> list[str]:
    return sorted(set(re.findall(r"\{[^{}]*\}", text.replace("{{", "").replace("}}", ""))))


def source_messages() -> dict:
    """msgid (a tuple for a plural) -> where it is, from the source as it is now."""
    found = {}
    method_map = [("loyalty_cli/**.py", "python")]
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, keywords=KEYWORDS, comment_tags=()):
        if message and filename.startswith("loyalty_cli"):
            found.setdefault(message, f"{filename}:{lineno}")
    return found


def po_path(language: str) -> Path:
    return ROOT / "loyalty_cli" / "locale" / language / "LC_MESSAGES" / "loyalty.po"


def catalog_problems() -> list[str]:
    """One line per missing, empty, fuzzy or unfaithful translation (also `tools/catalogs.py --check`)."""
    problems = []
    wanted = source_messages()
    for language in LANGUAGES:
        with po_path(language).open("rb") as handle:
            catalog = read_po(handle)
        for msgid, where in wanted.items():
            key = msgid if isinstance(msgid, str) else msgid[0]
            entry = catalog.get(key)
            strings = [] if entry is None else ([entry.string] if isinstance(entry.string, str) else list(entry.string))
            if entry is None or not all(strings):
                problems.append(f"{language}: no translation of {msgid!r} ({where})")
                continue
            if entry.fuzzy:
                problems.append(f"{language}: fuzzy translation of {msgid!r} ({where})")
            source = msgid if isinstance(msgid, str) else msgid[1]
            for string in strings:
                if placeholders(string) != placeholders(source):
                    problems.append(f"{language}: {string!r} has placeholders {placeholders(string)}, "
                                    f"{msgid!r} has {placeholders(source)}")
    return problems


def test_every_catalog_translates_every_message_with_its_placeholders():
    assert catalog_problems() == []


def test_the_compiled_catalogs_are_the_po_files():
    """The .mo files are committed: each must be compiled from its .po as it is now (run
    `python tools/catalogs.py` after editing a .po)."""
    for language in LANGUAGES:
        with po_path(language).open("rb") as handle:
            source = {_key(m.id): _key(m.string) for m in read_po(handle) if m.id and not m.fuzzy}
        with po_path(language).with_suffix(".mo").open("rb") as handle:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
        assert compiled == source, f"{language}: loyalty.mo is stale: run python tools/catalogs.py"


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def test_a_message_in_an_f_string_would_escape_extraction():
    """Babel does not look inside f-strings: tr() there would never reach a catalog."""
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in (ROOT / "loyalty_cli").rglob("*.py")
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if re.search(r"\{[^}]*\b(tr|tr_n|mark|Phrase)\(", line) and re.search(r"\bf[\"']", line)]
    assert offenders == []


@pytest.mark.parametrize("language, expected", [("it_IT", "Punti"), ("es_ES", "Puntos"), ("hu_HU", "Pontok")])
def test_each_catalog_loads_from_the_package(language, expected):
    gettext.translation(i18n.DOMAIN, i18n.CATALOG_DIR, languages=[i18n.LOCALES[language]])  # no fallback
    i18n.use(language)
    try:
        assert i18n.tr("Points") == expected
    finally:
        i18n.use("en")


def test_the_wheel_ships_the_compiled_catalogs_and_an_installed_copy_speaks_them(tmp_path):
    """`pip install .` (not editable) must carry the .mo files: build the wheel, install it
    apart, and ask the installed package for a translation."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("loyalty_cli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"loyalty_cli/locale/{language}/LC_MESSAGES/loyalty.mo" for language in LANGUAGES} <= set(names)
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    probe = ("import loyalty_cli.domain.i18n as i; i.use('hu_HU'); "
             f"print(i.CATALOG_DIR.is_relative_to(__import__('pathlib').Path(r'{target}')), i.tr('Points'))")
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert said.stdout.split() == ["True", "Pontok"], said.stderr
