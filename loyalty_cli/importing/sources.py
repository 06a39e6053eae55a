"""Reading import files as they really come: CSV or JSON Lines, any common delimiter and encoding.

`open_source` makes one cheap pass over the bytes (hash, line count for the progress bar, and
whether they are valid UTF-8), then `csv_stream` and `jsonl_rows` stream records without loading it.
Standard input is spooled to a temporary file first, so it gets the same treatment. Longer than
420 lines: one file's way from bytes to records, encoding, CSV dialect and bad JSON lines included.
"""

import codecs
import contextlib
import csv
import hashlib
import io
import itertools
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase

CHUNK = 1 << 20
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t", "|": "|"}
SNIFF_LINES = 50

# Regions whose old tills write Central European text (cp1250, or ISO-8859-2 on Unix-born ones)
# rather than Western European cp1252, which reads Hungarian 'ű' as 'û' and Czech 'ř' as 'ø'.
CENTRAL_EUROPE = frozenset({"HU", "CZ", "SK", "PL", "SI", "HR", "RO", "BA", "AL"})

FIELD_LIMIT = 1 << 20  # a cell longer than this is refused, as csv.reader refuses it
csv.field_size_limit(FIELD_LIMIT)


@dataclass
class Source:
    name: str  # for messages: the path as given, or "<stdin>"
    handle: object  # binary, seekable
    sha256: str
    lines: int
    encoding: str
    format: str  # "csv" | "jsonl"
    delimiter: str | None = None
    header: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.handle.close()

    def text(self):
        self.handle.seek(0)
        return io.TextIOWrapper(self.handle, encoding=self.encoding, newline="")


def open_source(file: str, encoding: str | None = None, fmt: str = "auto",
                delimiter: str | None = None, region: str | None = None) -> Source:
    """The file, scanned; `region` (the shop's phone region) names the code page an old till
    there writes, for a file that is not UTF-8."""
    handle, name = _open_binary(file)
    try:
        digest, lines, utf8_ok, cp1252_ok, head = _scan(handle, name)
        legacy = None
        if not encoding and not utf8_ok and (region or "").upper() in CENTRAL_EUROPE:
            legacy = _central_european(handle)
        chosen = _encoding(encoding, head, utf8_ok, cp1252_ok, legacy)
        source = Source(name, handle, digest, lines, chosen, "csv")
        source.format = _format(fmt, file, source)
        if source.format == "csv":
            source.delimiter = _delimiter(delimiter, source)
        elif delimiter is not None:
            raise BadInput(Phrase("--delimiter only applies to CSV files"))
        return source
    except BaseException:
        handle.close()
        raise


def _open_binary(file: str):
    if file == "-":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - it is the Source's handle, closed by Source.close()
        shutil.copyfileobj(sys.stdin.buffer, spool, CHUNK)
        spool.seek(0)
        return spool, "<stdin>"
    path = Path(file)
    if path.is_dir():
        raise BadInput(Phrase("{file}: is a directory, not a file", file=file))
    try:
        return open(path, "rb"), file  # noqa: SIM115 - the Source's handle, closed by Source.close()
    except FileNotFoundError:
        raise BadInput(Phrase("{file}: no such file", file=file)) from None
    except OSError as exc:
        raise BadInput(Phrase("{file}: cannot read: {strerror}", file=file, strerror=exc.strerror)) from None


def _scan(handle, name):
    """(sha256, line count, valid UTF-8?, decodable as CP1252?, first bytes) in one pass."""
    digest = hashlib.sha256()
    utf8, cp1252 = _Decodes("utf-8"), _Decodes("cp1252")
    lines, last, head = 0, b"", b""
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        if not head:
            head = chunk[:4096]
        digest.update(chunk)
        lines += chunk.count(b"\n")
        last = chunk
        if (utf8.ok or cp1252.ok) and not chunk.isascii():
            utf8.feed(chunk)
            cp1252.feed(chunk)
    utf8.feed(b"", final=True)
    if not head.strip():
        raise BadInput(Phrase("{name}: the file is empty", name=name))
    if last and not last.endswith(b"\n"):
        lines += 1
    handle.seek(0)
    return digest.hexdigest(), lines, utf8.ok, cp1252.ok, head


class _Decodes:
    """Whether the bytes fed so far decode in one encoding (a character may span two chunks)."""

    def __init__(self, encoding: str):
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.ok = True

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.ok:
            try:
                self.decoder.decode(chunk, final=final)
            except UnicodeDecodeError:
                self.ok = False


def _central_european(handle) -> str:
    """cp1250 or ISO-8859-2 for a Central European file that is not UTF-8: whichever reads
    more of its bytes as letters.

    The two agree on every byte from 0xC0 up (Hungarian ő and ű included) and part below it:
    at 0x8A-0x9F cp1250 has Š š Ś ś Ť ť Ž ž Ź ź where ISO-8859-2 has control characters, and
    at 0xA1-0xBF each has letters (Ą ą Ľ ľ Ş ...) where the other has symbols (ˇ ± µ ...).
    A name has letters there, not symbols or controls, so the count settles it; a tie (no such
    byte at all: then both read the file alike) is cp1250, what Windows tills write. Trying
    cp1250 and checking it would miss an ISO file whose bytes cp1250 happens to read as symbols.
    """
    from collections import Counter

    outside = bytes(range(0x80)) + bytes(range(0xC0, 0x100))  # only 0x80-0xBF are counted
    counts: Counter = Counter()
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        counts.update(chunk.translate(None, outside))
    handle.seek(0)
    letters = {}
    for encoding in ("cp1250", "iso8859-2"):
        read = {byte: bytes([byte]).decode(encoding, "replace") for byte in counts}
        if "\ufffd" in read.values():
            letters[encoding] = -1  # a byte this code page does not have: not the file's
        else:
            letters[encoding] = sum(count for byte, count in counts.items() if read[byte].isalpha())
    return "iso8859-2" if letters["iso8859-2"] > letters["cp1250"] else "cp1250"


def _encoding(forced, head: bytes, utf8_ok: bool, cp1252_ok: bool, legacy: str | None = None) -> str:
    if forced:
        try:
            name = codecs.lookup(forced).name
        except LookupError:
            raise BadInput(Phrase("--encoding: unknown encoding {forced} (try utf-8, cp1252 or latin-1)",
                                  forced=repr(forced))) from None
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text": tab-separated UTF-16
    if utf8_ok:
        return "utf-8"
    if legacy:
        return legacy  # the shop's region says Central Europe: 'Szűcs' is not 'Szûcs'
    # Old tills write Windows-1252 (Latin-1 plus € and curly quotes); Latin-1 decodes anything.
    return "cp1252" if cp1252_ok else "latin-1"


def _format(fmt: str, file: str, source: Source) -> str:
    fmt = (fmt or "auto").lower()
    if fmt in ("csv", "jsonl"):
        return fmt
    if fmt != "auto":
        raise BadInput(Phrase("--format must be auto, csv or jsonl, got {fmt}", fmt=repr(fmt)))
    if file != "-" and Path(file).suffix.lower() in (".jsonl", ".ndjson"):
        return "jsonl"
    first = _first_lines(source, 1)
    return "jsonl" if first and first[0].lstrip().startswith("{") else "csv"


def _first_lines(source: Source, count: int) -> list[str]:
    lines = []
    text = source.text()
    try:
        for line in text:
            if line.strip():
                lines.append(line)
                if len(lines) >= count:
                    break
    except UnicodeDecodeError:
        pass  # reported with its line when the rows are read
    finally:
        _release(text)
    source.handle.seek(0)
    return lines


def _delimiter(forced: str | None, source: Source) -> str:
    if forced is not None:
        if forced not in DELIMITERS:
            raise BadInput(Phrase("--delimiter must be one of , ; tab |, got {forced}", forced=repr(forced)))
        return DELIMITERS[forced]
    sample = _first_lines(source, SNIFF_LINES)
    hint = _excel_hint(sample[0] if sample else "")
    if hint:
        return hint
    best, best_score = ",", None
    for candidate in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(sample, delimiter=candidate))
        except csv.Error:
            continue
        widths = [len(row) for row in rows if any(cell.strip() for cell in row)]
        if not widths or widths[0] < 2:
            continue
        # The header's width, held by most rows: a real delimiter splits every row alike.
        agreeing = sum(1 for width in widths if width == widths[0])
        score = (agreeing / len(widths), widths[0])
        if best_score is None or score > best_score:
            best, best_score = candidate, score
    return best


def _excel_hint(line: str) -> str | None:
    """Excel writes 'sep=;' as the first line of some exports: the delimiter, said outright."""
    text = line.strip().strip('"')
    if len(text) == 5 and text[:4].lower() == "sep=" and text[4] in ",;\t|":
        return text[4]
    return None


def _release(text) -> None:
    """Unhook a text wrapper from the binary file without closing it (already closed is fine)."""
    with contextlib.suppress(ValueError):
        text.detach()


# ---- records ---------------------------------------------------------------------------------

def _read_header(source: Source, reader) -> tuple[int, int]:
    """Read a CSV file up to its header, into source.header: (the header's line, the last line
    read). Blank lines before it, and the 'sep=;' line Excel writes, are not the header."""
    line = 0
    for values in reader:
        start, line = line + 1, reader.line_num
        if start == 1 and _excel_hint(source.delimiter.join(values)):
            continue  # Excel's 'sep=;' line, not the header
        if any(cell.strip() for cell in values):
            source.header = [cell.strip() for cell in values]
            return start, line
    raise BadInput(Phrase("{name}: no header row (the first line must name the columns)", name=source.name))


def csv_rows(source: Source):
    """(line, values): the header first (also kept in source.header), then each row, all read
    by the csv module (the slow and simple way: for reading a few rows again).

    `line` is the physical line a row starts on, counting the header's line as in the file.
    """
    text = source.text()
    reader = csv.reader(text, delimiter=source.delimiter)
    try:
        start, line = _read_header(source, reader)
        yield start, source.header
        for values in reader:
            start, line = line + 1, reader.line_num
            yield start, values
    except UnicodeDecodeError as exc:
        raise _not_decodable(source, reader.line_num + 1, exc.object[exc.start]) from None
    except csv.Error as exc:
        raise BadInput(Phrase("{name}: line {line_num}: cannot read the CSV: {exc}", name=source.name,
                              line_num=reader.line_num, exc=exc)) from None
    finally:
        _release(text)


def csv_stream(source: Source):
    """The rows of a CSV file in the cheapest form that reads them exactly as the csv module does.

    Yields ('header', line, cells) first, then:
    - ('lines', first line number, [text of each line]) for a stretch of the file with no
      quote, lone CR or NUL in it: there every line is one row and its cells are the text
      between delimiters, so `line.split(delimiter)` is what csv.reader would return, and a
      million rows can be split by str methods without a Python step per row;
    - ('row', line, values) from csv.reader for the rest of the file once a quote (or a lone
      CR, or a NUL) appears, however far in.
    """
    text = source.text()
    try:
        reader = csv.reader(text, delimiter=source.delimiter)
        try:
            start, line = _read_header(source, reader)
        except csv.Error as exc:
            raise BadInput(Phrase("{name}: line {line_num}: cannot read the CSV: {exc}", name=source.name,
                                  line_num=reader.line_num, exc=exc)) from None
        yield "header", start, source.header
        yield from _pieces(source, text, line)
    except UnicodeDecodeError:
        raise _not_decodable(source, *_undecodable(source)) from None
    finally:
        _release(text)


def _pieces(source: Source, text, line: int):
    """csv_stream's body after the header; `line` is the last line read so far."""
    # Small batches first, growing to CHUNK: a reader process's first results come soon.
    tail, size = "", max(CHUNK // 16, 1)
    while True:
        more = text.read(size)
        size = min(size * 2, CHUNK)
        chunk = tail + more
        if not chunk:
            return
        if more:
            cut = chunk.rfind("\n")
            if cut < 0:
                tail = chunk  # one very long line so far
                continue
            piece, tail = chunk[:cut], chunk[cut + 1:]
        else:
            piece, tail = chunk, ""  # the last line, with no newline after it
        plain = piece[:-1] if piece.endswith("\r") else piece  # the CR of the CRLF at the cut
        if "\r" in plain:
            plain = plain.replace("\r\n", "\n")
        too_long = len(plain) > FIELD_LIMIT and max(map(len, plain.split("\n"))) > FIELD_LIMIT
        if '"' in plain or "\r" in plain or "\0" in plain or too_long:  # too_long: csv words the limit
            rest = chunk + text.readline() if more else chunk  # csv.reader must start on a whole line
            yield from _csv_rest(source, itertools.chain(io.StringIO(rest, newline=""), text), line)
            return
        lines = plain.split("\n")
        yield "lines", line + 1, lines
        line += len(lines)
        if not more:
            return


def _csv_rest(source: Source, lines, line: int):
    reader = csv.reader(lines, delimiter=source.delimiter)
    done = 0
    try:
        for values in reader:
            start, done = line + done + 1, reader.line_num
            yield "row", start, values
    except csv.Error as exc:
        raise BadInput(Phrase("{name}: line {value}: cannot read the CSV: {exc}", name=source.name,
                              value=line + reader.line_num, exc=exc)) from None


def _undecodable(source: Source) -> tuple[int, int]:
    """(line, value) of the first byte the source's encoding cannot read (a second, rare pass)."""
    decoder = codecs.getincrementaldecoder(source.encoding)()
    handle = source.handle
    handle.seek(0)
    line = 1
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            return line, 0
        try:
            line += decoder.decode(chunk).count("\n")
        except UnicodeDecodeError as exc:
            before = exc.object[:exc.start].decode(source.encoding, "replace").count("\n")
            return line + before, exc.object[exc.start]


class NotAnObject(str):
    """A JSON Lines line that is no JSON object, as it is in the file; `reason` says why. The
    importer rejects it like any bad row (--skip-invalid imports the rest), and --rejects gets
    the line back as it was, to be fixed there."""

    reason: str


def jsonl_rows(source: Source):
    """(line, object) for each non-blank line; keys are the columns. A line that is not a JSON
    object comes as a NotAnObject."""
    text = source.text()
    line = 0
    try:
        for line, raw in enumerate(text, start=1):
            if raw.strip():
                yield line, _json_object(raw)
    except UnicodeDecodeError as exc:
        raise _not_decodable(source, line + 1, exc.object[exc.start]) from None
    finally:
        _release(text)


def _json_object(raw: str):
    try:
        record = json.loads(raw, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        return _not_an_object(raw, Phrase("not valid JSON: {msg} (column {colno})", msg=exc.msg, colno=exc.colno))
    if not isinstance(record, dict):
        return _not_an_object(raw, Phrase("expected a JSON object {{...}}, got {kind}", kind=type(record).__name__))
    return record


def _not_an_object(raw: str, reason: str) -> NotAnObject:
    bad = NotAnObject(raw.rstrip("\r\n"))
    bad.reason = reason
    return bad


def json_text(value, where: str) -> str | None:
    """A JSON value as the text a CSV cell would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected text or a number, got {str(value).lower()}")
    if isinstance(value, (dict, list)):
        raise ValueError("expected text or a number, got a nested " + ("object" if isinstance(value, dict) else "list"))
    return str(value)


def _not_decodable(source, line: int, byte: int) -> BadInput:
    return BadInput(Phrase("{name}: line {line}: not valid {encoding} (byte 0x{byte}); give the file's encoding "
                           "with --encoding", name=source.name, line=line, encoding=source.encoding,
                           byte=format(byte, "02x")))
