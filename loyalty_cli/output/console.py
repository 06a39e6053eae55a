"""Everything on stdout and stderr but tables: the customer card, one-line messages, plain lines,
errors and remarks, JSON. Tables (reports and the counter's lists) are drawn by terminal.py.

rich is imported only when stdout is a terminal: the counter path when driven by a script
never pays for it. Colour follows rich's rules (NO_COLOR, not a tty).
"""

import json
import sys
from contextlib import contextmanager, suppress

from loyalty_cli.domain import clock, money
from loyalty_cli.domain import locale_format as shown
from loyalty_cli.domain.errors import OutputLost
from loyalty_cli.domain.i18n import Phrase, mark, say, tr, tr_n
from loyalty_cli.output.safe import json_safe, printable


def is_terminal() -> bool:
    return sys.stdout is not None and bool(sys.stdout.isatty())


_json_indent: int | None = 2  # None: one line per document (see json_lines)


def json_text(data) -> str:
    return json_safe(json.dumps(data, ensure_ascii=False, indent=_json_indent, default=str))


@contextmanager
def json_lines():
    """Within: each JSON document on one line (`loyalty till --json`: one line out per visit in)."""
    global _json_indent
    outer, _json_indent = _json_indent, None
    try:
        yield
    finally:
        _json_indent = outer


def emit_json(data) -> None:
    sys.stdout.write(json_text(data) + "\n")


def lines(*texts: str) -> None:
    """Plain lines on stdout, never styled or wrapped (a path, a TOML file, a problem a line):
    what a person reads is what a script gets."""
    for text in texts:
        sys.stdout.write(printable(text) + "\n")


def remark(label: str, message: str) -> None:
    """'label: message' on stderr: for people, not the command's output, so pipes stay clean
    (a Phrase in the shop's language)."""
    sys.stderr.write(f"{label}: {printable(say(message))}\n")


_held_errors: list[str] | None = None  # see errors_held


def error(message: str) -> None:
    if _held_errors is not None:
        _held_errors.append(say(message))
        return
    remark(tr("error"), message)


@contextmanager
def errors_held():
    """Within: error lines are kept in the list yielded instead of written, for a caller that
    writes them itself (`loyalty till` names the input line each belongs to)."""
    global _held_errors
    outer, _held_errors = _held_errors, []
    try:
        yield _held_errors
    finally:
        _held_errors = outer


def warning(message: str) -> None:
    remark(tr("warning"), message)


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone away (a closed pipe) or it failed (a
    full disk): what is still buffered must not fail again when Python flushes it at exit."""
    import os

    target = getattr(sys.stdout, "watched", sys.stdout)
    if target is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    with suppress(OSError, ValueError):
        os.dup2(devnull, target.fileno())
    os.close(devnull)


class _WatchedStream:
    """stdout (or its byte buffer) whose failed writes raise OutputLost, so that the edge tells
    them from any other OSError (a socket, a file read) and says so in one line. A reader gone
    away (BrokenPipeError) is left as it is: cli/edge.py treats it as no failure."""

    def __init__(self, watched):
        self.watched = watched

    def __getattr__(self, name):
        return getattr(self.watched, name)

    def _guard(self, action, *args):
        if self.watched is None:  # `>&-`: Python gives no stdout at all
            raise OutputLost(Phrase("could not write the output: {why}", why=Phrase("standard output is closed")))
        try:
            return action(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputLost(Phrase("could not write the output: {why}", why=exc.strerror or str(exc))) from None

    def write(self, text):
        return self._guard(lambda: self.watched.write(text))

    def writelines(self, texts):
        return self._guard(lambda: self.watched.writelines(texts))

    def flush(self):
        return self._guard(lambda: self.watched.flush())

    def isatty(self) -> bool:
        return self.watched is not None and self.watched.isatty()

    @property
    def buffer(self):
        return _WatchedStream(self._guard(lambda: self.watched.buffer))


@contextmanager
def watched_stdout():
    """Within: a write to stdout that fails raises OutputLost (and so does any write when stdout
    is closed); what was written is flushed before the end, so a failure shows here, not as
    Python's 'Exception ignored' at exit."""
    original = sys.stdout
    sys.stdout = _WatchedStream(original)
    try:
        yield
        if original is not None:
            sys.stdout.flush()
    finally:
        sys.stdout = original


def flush_stdout() -> None:
    """Flush now, so that a failure to write shows while its context is known (a visit's card)."""
    if sys.stdout is not None:
        sys.stdout.flush()


def note(message: str) -> None:
    remark(tr("note"), message)


def database_created(path) -> None:
    note(tr("created a new database at {path}").format(path=path))


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ---- the customer card -----------------------------------------------------------------------

def card_lines(data: dict) -> list[tuple[str, str, str]]:
    """(label, text, style) rows of a card, in the shop's language; the rich and the plain card
    both draw these."""
    currency = data["currency"]
    rows = []
    for card in data["cards"]:
        filled = max(0, min(card["punches"], card["every"]))
        bar = "■" * filled + "□" * (card["every"] - filled) if card["every"] <= 20 else ""
        towards = tr("{punches}/{every} towards {reward}").format(punches=card["punches"], every=card["every"],
                                                                  reward=card["reward_name"])
        rows.append((card["card"], f"{bar}  {towards}".strip(), "red" if card["punches"] < 0 else ""))
    rows.append((tr("Points"), shown.number(data["points"]), "red" if data["points"] < 0 else ""))
    rows.append((tr("Credit"), shown.amount(money.parse_signed(data["credit"], currency), currency),
                 "red" if data["credit"].startswith("-") else ""))
    rows += _earned_rows(data, currency)
    for held in data["vouchers"]:
        until = tr(" (until {date})").format(date=shown.day(held["expires_at"][:10])) if held["expires_at"] else ""
        rows.append((tr("Voucher"), f"{held['code']}  {held['reward_name']}{until}", "green"))
    if data["rewards_for_points"]:
        names = ", ".join(tr("{reward} ({points} pts)").format(reward=r["name"], points=shown.number(r["points"]))
                          for r in data["rewards_for_points"])
        rows.append((tr("For points"), names, ""))
    if data["perks"]:
        rows.append((tr("Perks"), "; ".join(data["perks"]), ""))
    if data.get("last_feedback"):
        said = data["last_feedback"]
        text = tr("{score}/{scale} on {date}").format(score=said["score"], scale=said["scale"],
                                                      date=shown.day(said["at"][:10]))
        rows.append((tr("Feedback"), text + (f": {said['comment']}" if said.get("comment") else ""), ""))
    if "consents" in data:  # `show`: the consent log, so the shop can say when it was given or withdrawn
        said_no = tr("no") + ("" if data["consents"] else " " + tr("(never asked)"))
        rows.append((tr("Marketing"), tr("yes") if data["marketing"] else said_no, ""))
        for said in data["consents"]:
            answer = tr("yes") if said["marketing"] else tr("no")
            when = shown.minute(clock.minute_of(said["at"]))  # the JSON's ISO time, as people read it
            rows.append((tr("Consent"), f"{when}  {answer}" + (f"  ({said['source']})" if said["source"] else ""), ""))
    return rows


def _earned_rows(data: dict, currency: str) -> list[tuple[str, str, str]]:
    """What a visit earned, the promotions it got and the vouchers it won."""
    rows = []
    earned = None if data.get("duplicate") else data.get("earned")
    if earned:
        parts = []
        if earned["punches"]:
            parts.append(tr_n("+{count} punch", "+{count} punches", earned["punches"]).format(count=earned["punches"]))
        if earned["points"]:
            parts.append(tr_n("+{count} point", "+{count} points", earned["points"]).format(
                count=shown.number(earned["points"])))
        if earned["credit"] != money.as_string(0, currency):
            credit = shown.amount(money.parse_signed(earned["credit"], currency), currency)
            parts.append(tr("+{amount} credit").format(amount=credit))
        rows.append((tr("Earned"), ", ".join(parts) or tr("nothing this time"), ""))
        if data.get("promotions"):
            rows.append((tr("Promotion"), ", ".join(data["promotions"]), "bold"))
        for won in earned["vouchers"]:
            if won.get("status", "issued") == "issued":
                rows.append((tr("NEW REWARD"), tr("{reward}: voucher {code}").format(reward=won["reward_name"],
                                                                                     code=won["code"]), "bold green"))
            else:  # a back-dated visit's voucher that has lapsed since
                text = tr("{reward}: voucher {code} ({status} already)").format(
                    reward=won["reward_name"], code=won["code"], status=tr(VOUCHER_STATUS.get(won["status"],
                                                                                             won["status"])))
                rows.append((tr("Reward"), text, ""))
    return rows


# A voucher's status, as people read it (the JSON keeps the key).
VOUCHER_STATUS = {"issued": mark("issued"), "redeemed": mark("redeemed"), "expired": mark("expired"),
                  "void": mark("void")}


def card_title(data: dict, phone: str | None = None) -> str:
    """'Maria Rossi · 333 123 4567 · Gold': `phone` as the shop's region writes it (else E.164)."""
    phone = phone or data["phone"]
    who = f"{data['name']} · {phone}" if data.get("name") else phone
    return f"{who} · {data['tier']}" if data.get("tier") else who


def card(data: dict, notice: str | None = None, phone: str | None = None) -> None:
    """The card for people; `phone` is the customer's number as the shop writes it."""
    if not is_terminal():
        lines(*([notice] if notice else []), card_title(data, phone),
              *(f"  {label}: {text}" for label, text, _style in card_lines(data)))
        return
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, text, style in card_lines(data):
        grid.add_row(_escape(label), f"[{style}]{_escape(text)}[/]" if style else _escape(text))
    out = console()
    if notice:
        out.print(f"[yellow]{_escape(notice)}[/]")
    out.print(Panel(grid, title=_escape(card_title(data, phone)), title_align="left", expand=False))


def _escape(text: str) -> str:
    """Markup-escaped and printable: stored text is shown, never interpreted."""
    from rich.markup import escape

    return escape(printable(text))


def message(text: str) -> None:
    """A one-line confirmation for people; plain when piped."""
    if is_terminal():
        console().print(_escape(text))
    else:
        lines(text)
