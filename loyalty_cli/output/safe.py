"""Text safe to show: no control character stored in the database reaches a terminal or a file raw.

A module of its own, importing nothing, because the counter's card and every error line use it
and `loyalty visit` counts its start-up in milliseconds.
"""

# Control characters never reach a terminal or a file raw, whatever is stored: a name holding
# ESC/OSC sequences cleared the screen and retitled the window of whoever listed the customers
# (the counter and the import refuse them now; a database written before may still hold them).
# C0 controls become their Unicode pictures (ESC -> '␛'), DEL '␡', C1 controls and the bidi
# overrides that reorder a line U+FFFD.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
PRINTABLE = {**{code: 0x2400 + code for code in range(0x20)}, 0x7F: 0x2421,
              **{code: 0xFFFD for code in range(0x80, 0xA0)}, **{ord(c): 0xFFFD for c in _BIDI}}
# CSV quotes tabs and line breaks (RFC 4180) and a spreadsheet reads them back: those stay.
PRINTABLE_CSV = {code: to for code, to in PRINTABLE.items() if code not in (0x09, 0x0A, 0x0D)}
# JSON keeps the data exact: C0 controls are escaped by json itself; DEL, C1 and bidi get \u escapes.
JSON_ESCAPES = {code: f"\\u{code:04x}" for code in [0x7F, *range(0x80, 0xA0), *map(ord, _BIDI)]}


def printable(text: str) -> str:
    """Text safe to show on a terminal or in a text file: no control character survives."""
    return text.translate(PRINTABLE)


def json_safe(encoded: str) -> str:
    """JSON text (json.dumps with ensure_ascii=False) with DEL, C1 controls and bidi overrides
    escaped: the same value for a parser, harmless on a terminal."""
    return encoded.translate(JSON_ESCAPES)
