"""`loyalty till`: a long-running till that records the visits it reads on stdin, one a line.

A point-of-sale program, or a script, that records visits back to back can start `loyalty visit`
each time. Or it can keep one `loyalty till` running and write each visit to it as the words
that would follow `loyalty visit` (`612 345 678 --amount 12,50 --ref T1-0042`). Each line runs
the very `run_visit` of `loyalty visit`: the same checks, card, JSON, offline outbox and exit
codes. What is saved is the start-up and, on PostgreSQL, the connection, which stays open from one
visit to the next (services/kept.py). On the 2-core development machine that is 3 ms of server
CPU a visit instead of 22-24, and it is what lets 16 busy tills share one server
(benchmarks/bench_tills.py --kind till).

Out, in order: a card per visit, or with --json one JSON document per line for each visit line
in (blank lines and lines starting with # are skipped). A line that fails writes
`error: line N: ...` on stderr and, with --json, {"line": N, "error": ..., "exit_code": ...} on
stdout. So a program reading stdout gets exactly one line for each visit it wrote. The exit
code at the end of input is 0 when every line was recorded, else the highest of the lines' codes
(1 refused, 2 bad input). An interrupt stops at once with 130.
"""

import re
import shlex
import sys
from contextlib import nullcontext

LINE_MAX = 4096  # characters: a visit's words are a few dozen; a longer line is not a visit
_PLAIN = re.compile(r"[^'\"\\]*")  # no quoting: nothing for shlex to do but split
_BLANKS = re.compile(r"[ \t\r\n]+")  # shlex's whitespace (the line is stripped already)


def run_till(db=None, config=None, as_json: bool = False, location: str | None = None, lines=None) -> int:
    """Record the visits read from lines (default: stdin) until they end; returns the exit code."""
    from loyalty_cli.output import console as render
    from loyalty_cli.services.kept import Kept

    kept, worst = Kept(), 0
    try:
        with render.json_lines() if as_json else nullcontext():
            for number, line in enumerate(sys.stdin if lines is None else lines, 1):
                words = line.strip()
                if not words or words.startswith("#"):
                    continue
                code = _one_visit(number, words, kept, db=db, config=config, as_json=as_json, location=location)
                if code == 130:
                    return code
                worst = max(worst, code)
    except KeyboardInterrupt:  # between two visits: nothing is half-done
        from loyalty_cli.cli.edge import interrupted

        return interrupted()
    finally:
        kept.close()
    return worst


def _one_visit(number: int, words: str, kept, **given) -> int:
    from loyalty_cli.cli.visit import run_visit
    from loyalty_cli.output import console as render

    visit = _parsed(words)
    if isinstance(visit, str):
        return _failed(number, [visit], 2, given["as_json"])
    visit.update(db=given["db"], config=given["config"], as_json=given["as_json"] or visit["as_json"],
                 location=visit["location"] or given["location"])
    with render.errors_held() as errors:
        code = run_visit(**visit, kept=kept)
    if code:
        return _failed(number, errors, code, given["as_json"])
    return 0


def _parsed(words: str) -> dict | str:
    """run_visit's arguments for one line, or what is wrong with it."""
    from loyalty_cli.cli.visit import parse_fast_visit
    from loyalty_cli.domain.i18n import tr

    if len(words) > LINE_MAX:
        return tr("a line longer than {max} characters is not a visit").format(max=LINE_MAX)
    try:
        # a line with no quote or backslash splits as shlex splits it, at a tenth of the cost
        tokens = _BLANKS.split(words) if _PLAIN.fullmatch(words) else shlex.split(words)
    except ValueError as exc:
        return tr("cannot read the line: {reason}").format(reason=exc)
    visit = parse_fast_visit(["visit", *tokens])
    if visit is None:
        return tr("not a visit: {line} (give what follows `loyalty visit`: PHONE... and its options; "
                  "see `loyalty visit --help`)").format(line=words)
    return visit


def _failed(number: int, errors: list[str], code: int, as_json: bool) -> int:
    from loyalty_cli.domain.i18n import tr
    from loyalty_cli.output import console as render

    message = "; ".join(errors) or tr("failed")
    render.error(tr("line {number}: {message}").format(number=number, message=message))
    if as_json:
        render.emit_json({"line": number, "error": message, "exit_code": code})
        render.flush_stdout()
    return code
