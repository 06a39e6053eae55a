"""Which line of a TOML file a key path is on: best effort, for error messages only.

A key path is what the validator walks: ("colour",), ("shop", "currency"), ("rules", 2, "every").
tomllib keeps no line numbers, so the text is scanned for the table header and the key.
"""

import re

from loyalty_cli.domain.i18n import Phrase

_TABLE_HEADER = re.compile(r"^\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?")


def dotted(path: tuple) -> str:
    """The key path as the user would write it: ("rules", 0, "every") -> "rules[0].every"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or Phrase("(top level)")


def place(filename: str, text: str, path: tuple) -> str:
    """"file:line" when the key path's line can be found, else just "file"."""
    line = line_of(text, path)
    return f"{filename}:{line}" if line else filename


def line_of(text: str, path: tuple) -> int | None:
    """The 1-based line of a key path in the TOML text, or None."""
    if not path:
        return None
    if len(path) == 1:
        return _top_level_line(text, path[0])
    index = path[1] if isinstance(path[1], int) else None
    key = next((part for part in path[1:] if isinstance(part, str)), None)
    return _line_in_table(text, path[0], index, key)


def _top_level_line(text: str, name: str) -> int | None:
    """The line of `[name]`, `[[name]]` or `name = ...`."""
    pattern = re.compile(rf"^\s*(\[\[?\s*{re.escape(name)}\s*\]|{re.escape(name)}\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _line_in_table(text: str, table: str, index: int | None, key: str | None) -> int | None:
    """The line of `key = ...` in [table] (in its index-th [[table]] when given), else that table's header line."""
    key_pattern = re.compile(rf"^{re.escape(key)}\s*=") if key else None
    tables_seen, inside, header_line = -1, False, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = _TABLE_HEADER.match(stripped)
        if header:
            if header.group(1) == table:
                tables_seen += 1
                inside = index is None or tables_seen == index
                if inside:
                    header_line = number
            else:
                inside = False
        elif inside and key_pattern and key_pattern.match(stripped):
            return number
    return header_line
