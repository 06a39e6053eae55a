"""The import's summary: the plain dict the command prints (a table, or --json) and `imports` keeps.

Every figure starts at zero and is counted as the file is read and written; `complete` adds
the listed problems and words the credit as money once the work is done.
"""

from loyalty_cli.domain import money

MAX_LISTED = 20  # problems (and merges) listed in the summary; all are counted, all go to --rejects
WRITTEN = ("rows_imported", "customers_created", "customers_updated", "visits_added", "punches", "points",
           "credit", "vouchers_issued", "names_repaired", "birthdays",
           "consents_recorded")  # the figures of what landed


def new_summary(source, kind: str, dry_run: bool) -> dict:
    summary = {
        "file": source.name, "kind": kind, "format": source.format,
        "encoding": source.encoding, "delimiter": source.delimiter, "dry_run": dry_run,
        "rows_read": 0, "rows_imported": 0, "customers_created": 0, "customers_updated": 0,
        "visits_added": 0, "punches": 0, "points": 0, "credit": 0, "vouchers_issued": 0,
        "merged": 0, "skipped": 0, "rejected": 0, "already_imported": 0,
    }
    if kind == "cards":
        summary["names_repaired"] = 0  # cards imported before from a file misread then (its encoding)
        summary["birthdays"] = 0  # birthdays filed, for new customers and for those who had none
        summary["consents_recorded"] = 0  # marketing consents that changed (a `marketing` column)
    return summary


def landed(summary: dict) -> bool:
    """Did the import change anything worth keeping (a re-run that only finds what is there did not)?"""
    return bool(summary["rows_imported"] or summary.get("names_repaired") or summary.get("birthdays")
                or summary.get("consents_recorded"))


def complete(summary: dict, problems: list, rejects_file: str | None, currency: str) -> None:
    """The listed problems, the --rejects file and the credit as money (called again harmlessly)."""
    summary["rejects_file"] = rejects_file
    summary["errors"] = [problem.as_dict() for problem in problems[:MAX_LISTED]]
    if isinstance(summary["credit"], int):
        summary["credit"] = money.as_string(summary["credit"], currency)


def nothing_written(summary: dict, currency: str) -> None:
    """Zero the figures of what landed: whatever was written before a bad row was rolled back."""
    for key in WRITTEN:
        if key in summary:
            summary[key] = money.as_string(0, currency) if key == "credit" else 0
