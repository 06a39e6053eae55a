"""Everything on stdout and stderr but tables: the customer card, one-line messages, plain lines,
errors and remarks, JSON. Tables (reports and the counter's lists) are drawn by terminal.py.

rich is imported only when stdout is a terminal: the counter path when driven by a script
never pays for it. Colour follows rich's rules (NO_COLOR, not a tty).
"""

import json
import sys

from loyalty_cli.domain import money
from loyalty_cli.output.safe import json_safe, printable


def is_terminal() -> bool:
    return sys.stdout is not None and sys.stdout.isatty()


def emit_json(data) -> None:
    if sys.stdout is None:  # stdout closed (`>&-`): the work is done, there is no one to tell
        return
    sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str)) + "\n")


def lines(*texts: str) -> None:
    """Plain lines on stdout, never styled or wrapped (a path, a TOML file, a problem a line):
    what a person reads is what a script gets."""
    if sys.stdout is None:
        return
    for text in texts:
        sys.stdout.write(printable(text) + "\n")


def remark(label: str, message: str) -> None:
    """'label: message' on stderr: for people, not the command's output, so pipes stay clean."""
    sys.stderr.write(f"{label}: {printable(message)}\n")


def error(message: str) -> None:
    remark("error", message)


def warning(message: str) -> None:
    remark("warning", message)


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone away (a closed pipe)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def note(message: str) -> None:
    remark("note", message)


def database_created(path) -> None:
    note(f"created a new database at {path}")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ---- the customer card -----------------------------------------------------------------------

def card_lines(data: dict) -> list[tuple[str, str, str]]:
    """(label, text, style) rows of a card; the rich and the plain card both draw these."""
    currency = data["currency"]
    rows = []
    for card in data["cards"]:
        filled = max(0, min(card["punches"], card["every"]))
        bar = "■" * filled + "□" * (card["every"] - filled) if card["every"] <= 20 else ""
        rows.append((card["card"], f"{bar}  {card['punches']}/{card['every']} towards {card['reward_name']}".strip(),
                     "red" if card["punches"] < 0 else ""))
    rows.append(("Points", str(data["points"]), "red" if data["points"] < 0 else ""))
    rows.append(("Credit", money.display(money.parse_signed(data["credit"], currency), currency),
                 "red" if data["credit"].startswith("-") else ""))
    rows += _earned_rows(data, currency)
    for held in data["vouchers"]:
        until = f" (until {held['expires_at'][:10]})" if held["expires_at"] else ""
        rows.append(("Voucher", f"{held['code']}  {held['reward_name']}{until}", "green"))
    if data["rewards_for_points"]:
        names = ", ".join(f"{r['name']} ({r['points']} pts)" for r in data["rewards_for_points"])
        rows.append(("For points", names, ""))
    if data["perks"]:
        rows.append(("Perks", "; ".join(data["perks"]), ""))
    if data.get("last_feedback"):
        said = data["last_feedback"]
        rows.append(("Feedback", f"{said['score']}/{said['scale']} on {said['at'][:10]}"
                     + (f": {said['comment']}" if said.get("comment") else ""), ""))
    if "consents" in data:  # `show`: the consent log, so the shop can say when it was given or withdrawn
        rows.append(("Marketing", "yes" if data["marketing"] else "no" + ("" if data["consents"] else " (never asked)"),
                     ""))
        for said in data["consents"]:
            rows.append(("Consent", f"{said['at']}  {'yes' if said['marketing'] else 'no'}"
                         + (f"  ({said['source']})" if said["source"] else ""), ""))
    return rows


def _earned_rows(data: dict, currency: str) -> list[tuple[str, str, str]]:
    """What a visit earned, the promotions it got and the vouchers it won."""
    rows = []
    earned = None if data.get("duplicate") else data.get("earned")
    if earned:
        parts = []
        if earned["punches"]:
            parts.append(f"+{earned['punches']} punch" + ("es" if earned["punches"] > 1 else ""))
        if earned["points"]:
            parts.append(f"+{earned['points']} points")
        if earned["credit"] != money.as_string(0, currency):
            parts.append(f"+{money.display(money.parse_signed(earned['credit'], currency), currency)} credit")
        rows.append(("Earned", ", ".join(parts) or "nothing this time", ""))
        if data.get("promotions"):
            rows.append(("Promotion", ", ".join(data["promotions"]), "bold"))
        for won in earned["vouchers"]:
            if won.get("status", "issued") == "issued":
                rows.append(("NEW REWARD", f"{won['reward_name']}: voucher {won['code']}", "bold green"))
            else:  # a back-dated visit's voucher that has lapsed since
                rows.append(("Reward", f"{won['reward_name']}: voucher {won['code']} ({won['status']} already)", ""))
    return rows


def card_title(data: dict) -> str:
    who = f"{data['name']} · {data['phone']}" if data.get("name") else data["phone"]
    return f"{who} · {data['tier']}" if data.get("tier") else who


def card(data: dict, notice: str | None = None) -> None:
    if not is_terminal():
        lines(*([notice] if notice else []), card_title(data),
              *(f"  {label}: {text}" for label, text, _style in card_lines(data)))
        return
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, text, style in card_lines(data):
        grid.add_row(label, f"[{style}]{_escape(text)}[/]" if style else _escape(text))
    out = console()
    if notice:
        out.print(f"[yellow]{_escape(notice)}[/]")
    out.print(Panel(grid, title=_escape(card_title(data)), title_align="left", expand=False))


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
