"""The `loyalty` executable: fast paths for the counter and imports, everything else through Typer.

Typer (with the pydantic it now imports) costs ~0.25 s to start, more than the whole budget
of a visit at the counter, and 5% of a big import's. So `loyalty visit ...` and `loyalty
import cards|visits ...` written with the options below are parsed here, with nothing but the
standard library, and run the very same `run_visit` / `import_command.run_import` the Typer
commands run. Anything this parser does not fully understand (--help, an unknown or
malformed option) goes to Typer, which owns help and usage errors; tests/test_entry.py keeps
the option sets identical.
"""

import sys

VISIT_VALUE_OPTIONS = ("--amount", "--items", "--note", "--at", "--name", "--ref")
VISIT_FLAGS = ("--json",)
GLOBAL_VALUE_OPTIONS = ("--db", "--config")
IMPORT_VALUE_OPTIONS = ("--format", "--encoding", "--delimiter", "--date-format", "--rejects")
IMPORT_LIST_OPTIONS = ("--map", "--ignore")  # repeatable
IMPORT_FLAGS = ("--dry-run", "--skip-invalid", "--json", "--strict")
IMPORT_KIND_OPTIONS = {"cards": (("--card",), ()), "visits": ((), ("--apply-rules",))}  # (values, flags)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fast = parse_fast_visit(argv)
    if fast is not None:
        from loyalty_cli.cli.visit import run_visit

        sys.exit(run_visit(**fast))
    fast = parse_fast_import(argv)
    if fast is not None:
        sys.exit(run_fast_import(**fast))
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


def parse_fast_import(argv: list[str]) -> dict | None:
    """The arguments of a plain `import cards|visits FILE ...` line, or None to leave it to Typer."""
    options: dict = {}
    tokens = list(argv)
    if not _take_options(tokens, GLOBAL_VALUE_OPTIONS, (), options, stop="import"):
        return None
    if len(tokens) < 2 or tokens[0] != "import" or tokens[1] not in IMPORT_KIND_OPTIONS:
        return None
    kind, tokens = tokens[1], tokens[2:]
    kind_values, kind_flags = IMPORT_KIND_OPTIONS[kind]
    files: list[str] = []
    while tokens:
        if not tokens[0].startswith("-") or tokens[0] == "-":
            files.append(tokens.pop(0))
        elif not _take_options(tokens, IMPORT_VALUE_OPTIONS + kind_values, IMPORT_FLAGS + kind_flags, options,
                               stop=None, once=True, repeatable=IMPORT_LIST_OPTIONS):
            return None
    if len(files) != 1:
        return None
    values = {"file": files[0], "strict": options.pop("strict", False), "format": options.pop("format", "auto"),
              "encoding": options.pop("encoding", None), "delimiter": options.pop("delimiter", None),
              "mapping": options.pop("map", None), "ignore": options.pop("ignore", None),
              "date_format": options.pop("date-format", None), "dry_run": options.pop("dry-run", False),
              "skip_invalid": options.pop("skip-invalid", False), "rejects": options.pop("rejects", None)}
    if kind == "cards":
        values["card"] = options.pop("card", None)
    else:
        values["apply_rules"] = options.pop("apply-rules", False)
    return {"db": options.pop("db", None), "config": options.pop("config", None), "kind": kind,
            "as_json": options.pop("json", False), "values": values}


def run_fast_import(db=None, config=None, kind="visits", as_json=False, values=None) -> int:
    from loyalty_cli.cli.import_command import run_import
    from loyalty_cli.output.console import database_created
    from loyalty_cli.services.session import Session

    try:
        return run_import(Session(db, config, on_created=database_created), kind, as_json, dict(values or {}))
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130


def _take_options(tokens, value_options, flags, into, stop, once=False, repeatable=()) -> bool:
    """Consume known options from the front of tokens; False on anything unexpected.

    A repeatable option collects its values in a list; any other one given twice is left to Typer.
    """
    while tokens and tokens[0] != stop:
        token = tokens[0]
        name, has_value, value = token.partition("=")
        key = name.lstrip("-")
        if key in into and name not in repeatable:
            return False  # repeated: let Typer decide
        if name in value_options or name in repeatable:
            tokens.pop(0)
            if not has_value:
                if not tokens:
                    return False
                value = tokens.pop(0)
            if name in repeatable:
                into.setdefault(key, []).append(value)
            else:
                into[key] = value
        elif name in flags and not has_value:
            tokens.pop(0)
            into[key] = True
        else:
            return False
        if once:
            return True
    return True
