"""`loyalty report ...`: reports for the owner and for cron (issue 4)."""

import typer

report_app = typer.Typer(help="Reports: summary, customers, visits, rewards, liability, at-risk; export for cron.",
                         no_args_is_help=True)
