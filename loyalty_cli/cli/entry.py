"""The `loyalty` executable: a fast path for the counter's `visit`, everything else through Typer.

Typer (with the pydantic it now imports) costs ~0.25 s to start, more than the whole budget
of a visit at the counter. So `loyalty visit ...` written with the options below is parsed
here, with nothing but the standard library, and runs the very same `run_visit` the Typer
command runs. Anything this parser does not fully understand (--help, an unknown or
malformed option) goes to Typer, which owns help and usage errors; tests/cli/test_entry.py
keeps the option sets identical.
"""

import sys

VISIT_VALUE_OPTIONS = ("--amount", "--items", "--note", "--at", "--name", "--ref")
VISIT_FLAGS = ("--json",)
GLOBAL_VALUE_OPTIONS = ("--db", "--config")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fast = parse_fast_visit(argv)
    if fast is not None:
        from loyalty_cli.cli.visit import run_visit

        sys.exit(run_visit(**fast))
    from loyalty_cli.cli.app import app

    try:
        code = app(args=argv, prog_name="loyalty", standalone_mode=False)
    except Exception as exc:
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        # A usage error from Typer's parser: one line, like every other error.
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        sys.stderr.write(f"error: {exc.format_message()}{hint}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def parse_fast_visit(argv: list[str]) -> dict | None:
    """The arguments of a plain `visit` command line, or None to leave it to Typer."""
    options: dict = {}
    tokens = list(argv)
    if not _take_options(tokens, GLOBAL_VALUE_OPTIONS, (), options, stop="visit"):
        return None
    if not tokens or tokens.pop(0) != "visit":
        return None
    phone: list[str] = []
    while tokens:
        if tokens[0].startswith("-") and tokens[0] != "-":
            if not _take_options(tokens, VISIT_VALUE_OPTIONS, VISIT_FLAGS, options, stop=None, once=True):
                return None
        else:
            phone.append(tokens.pop(0))
    if not phone:
        return None
    items = options.pop("items", None)
    if items is not None:
        try:
            items = int(items)
        except ValueError:
            return None  # Typer words the usage error
    return {"db": options.pop("db", None), "config": options.pop("config", None), "phone": phone,
            "amount": options.pop("amount", None), "items": items, "note": options.pop("note", None),
            "at": options.pop("at", None), "name": options.pop("name", None), "ref": options.pop("ref", None),
            "as_json": options.pop("json", False)}


def _take_options(tokens, value_options, flags, into, stop, once=False) -> bool:
    """Consume known options from the front of tokens; False on anything unexpected (or repeated)."""
    while tokens and tokens[0] != stop:
        token = tokens[0]
        name, has_value, value = token.partition("=")
        key = name.lstrip("-")
        if key in into:
            return False  # repeated: let Typer decide
        if name in value_options:
            tokens.pop(0)
            if not has_value:
                if not tokens:
                    return False
                value = tokens.pop(0)
            into[key] = value
        elif name in flags and not has_value:
            tokens.pop(0)
            into[key] = True
        else:
            return False
        if once:
            return True
    return True
