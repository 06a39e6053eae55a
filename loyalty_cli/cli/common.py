"""What every Typer command shares: the phone argument, --json, and running work at the error edge."""

from typing import Annotated

import typer

from loyalty_cli.cli.edge import guarded
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services.session import Session

PhoneArg = Annotated[list[str], typer.Argument(metavar="PHONE", help="Phone number, in any format (spaces allowed).",
                                               show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a card or table.")]


def run(ctx: typer.Context, work, push_first: bool = True) -> None:
    session: Session = ctx.obj
    code = guarded(session, lambda: work(session), push_first)
    if code:
        raise typer.Exit(code)


def phone_text(parts: list[str]) -> str:
    from loyalty_cli.domain.phones import join_words

    return join_words(parts)


def format_asked(fmt: str | None, as_json: bool) -> str | None:
    """The format the options ask for: --json is --format json, and the two must not disagree."""
    if as_json and fmt not in (None, "json"):
        from loyalty_cli.domain.errors import BadInput

        raise BadInput(Phrase("--json and --format {fmt} disagree: give one of them", fmt=fmt))
    return "json" if as_json else fmt


def shop_locale(config) -> str:
    """The shop's locale ('it_IT'), for the outputs that follow it (excel-csv, HTML's language).
    The [shop] locale key comes with the translations (issue 13); until then, English."""
    return getattr(config.shop, "locale", None) or "en"


def check_directory(directory, what: str) -> None:
    """A folder an option names must exist and be writable: one line saying which, never a traceback."""
    import os

    from loyalty_cli.domain.errors import BadInput

    if not directory.is_dir():
        raise BadInput(Phrase("{what}: no such directory: {directory}", what=what, directory=directory))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(Phrase("{what}: cannot write in {directory}", what=what, directory=directory))


def refusing_repeats(flags: tuple[str, ...]):
    """A Typer command class that refuses a single-valued option given twice (`visit --amount 3
    --amount 4` would record 4.00 silently: Click keeps the last), with a usage error (exit 2)."""
    from typer.core import TyperCommand

    class RefusingRepeats(TyperCommand):
        def parse_args(self, ctx, args):
            _refuse_repeats(list(args), flags, ctx)
            return super().parse_args(ctx, args)

    return RefusingRepeats


def _refuse_repeats(args: list[str], flags: tuple[str, ...], ctx) -> None:
    given: dict[str, list[str]] = {}
    words = iter(args[:args.index("--")] if "--" in args else args)
    for word in words:
        flag, has_value, value = word.partition("=")
        if flag in flags:
            given.setdefault(flag, []).append(value if has_value else next(words, ""))
    for flag, values in given.items():
        if len(values) > 1:
            raise typer.BadParameter(str(Phrase("{flag} was given {count} times ({values}): give it once",
                                                flag=flag, count=len(values), values=", ".join(values))), ctx=ctx)


def joining_phone_words(flag: str):
    """A Typer command class whose `flag` (a phone, like --referred-by) takes a number typed as
    several words when the customer's PHONE came first: `enroll 633 000 111 --referred-by 633 000
    111`. Click gives an option one word, and the rest went into PHONE, making another number."""
    from typer.core import TyperCommand

    class JoiningPhoneWords(TyperCommand):
        def parse_args(self, ctx, args):
            takes_value = {name for param in self.params if param.param_type_name == "option" and not param.is_flag
                           for name in param.opts}
            return super().parse_args(ctx, _joined(list(args), flag, takes_value, ctx))

    return JoiningPhoneWords


def _phone_word(word: str) -> bool:
    from loyalty_cli.domain.phones import PHONE_CHARS

    return bool(word) and not word.startswith("-") and not set(word) - PHONE_CHARS


def _joined(args: list[str], flag: str, takes_value: set[str], ctx) -> list[str]:
    out, phone_seen, i = [], False, 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            return out + [word, *args[i:]]
        if word == flag or word.startswith(flag + "="):
            value = [word.partition("=")[2]] if "=" in word else args[i:i + 1]
            i += 0 if "=" in word else 1
            while phone_seen and i < len(args) and _phone_word(args[i]):
                value.append(args[i])
                i += 1
            if not phone_seen and value and i < len(args) and _phone_word(args[i]) and _short(value[0]):
                raise typer.BadParameter(str(Phrase(
                    "{flag} {value} is not a whole number: put the customer's phone first, or quote it "
                    "({flag} \"{value} {next}\")", flag=flag, value=value[0], next=args[i])), ctx=ctx)
            out += [flag, " ".join(value)] if value else [word]
        elif word in takes_value:
            out += args[i - 1:i + 1]
            i += 1
        else:
            phone_seen = phone_seen or _phone_word(word)
            out.append(word)
    return out


def _short(word: str) -> bool:
    """Too few digits to be a phone number anywhere (the shortest are 7 with the country code)."""
    return sum(ch.isdigit() for ch in word) < 7
