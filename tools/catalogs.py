"""Update the translation catalogs in one command: extract, update, compile.

    python tools/catalogs.py            # after changing or adding a tr()/Phrase() text
    python tools/catalogs.py --check    # exit 1 if a catalog lacks a message (what the tests check)

1. extract every tr(), tr_n(), mark() and Phrase() text of loyalty_cli/ (babel.cfg) into a
   template (a temporary .pot: the .po files are what the repository keeps);
2. update loyalty_cli/locale/<lang>/LC_MESSAGES/loyalty.po for es, it and hu: new messages come
   in empty, vanished ones are dropped, no fuzzy guesses (a wrong guess reads as a right one);
3. compile the .mo files the wheel ships (they are committed, so `pip install .` needs no Babel
   step; tests/domain/test_catalogs.py fails when one is older than its .po).
Then translate the empty entries (any PO editor, or by hand) and run it again to compile.
"""

import os
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "loyalty_cli" / "locale"
LANGUAGES = ("es", "it", "hu")
# The translation functions (loyalty_cli/domain/i18n.py), as Babel's extractor names them.
KEYWORDS = ("tr", "tr_n:1,2", "mark", "Phrase")


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(template: Path) -> None:
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    pybabel("extract", "--no-default-keywords", *keywords, "-F", str(ROOT / "babel.cfg"), "--add-location=file",
            "--sort-by-file", "--project=loyalty-cli", "-o", str(template), ".")  # paths relative to ROOT


def update(template: Path) -> None:
    for language in LANGUAGES:
        po = LOCALE_DIR / language / "LC_MESSAGES" / "loyalty.po"
        if po.exists():
            pybabel("update", "-i", str(template), "-o", str(po), "-l", language, "--no-fuzzy-matching",
                    "--ignore-obsolete", "--update-header-comment")
        else:
            pybabel("init", "-i", str(template), "-o", str(po), "-l", language)


def compile_all() -> None:
    pybabel("compile", "-d", str(LOCALE_DIR), "-D", "loyalty", "--use-fuzzy")


def main(argv: list[str]) -> int:
    if "--check" in argv:
        sys.path.insert(0, str(ROOT))
        from tests.domain.test_catalogs import catalog_problems

        problems = catalog_problems()
        print("\n".join(problems) or "catalogs complete")
        return 1 if problems else 0
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as work:
        template = Path(work) / "loyalty.pot"
        extract(template)
        update(template)
    compile_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
