"""The reports (issue 4): each one a few aggregate SQL queries over covering indexes.

A report is a `Report` (output.model): its parameters and one or more `Table`s. A table knows its
columns (with a kind: money, date, ...) and can produce its rows, as many times as a writer asks,
as an iterator straight off the SQLite cursor: writers stream, nothing holds a million visits.
Row values are raw: money in integer minor units, days as 'YYYY-MM-DD', moments as the stored
UTC text; the writers turn them into what each format wants.

period      the local days a report covers
context     the connection, config and 'now' every report reads through; the SQL helpers
summary, customers, visits, rewards, liability, at_risk   one report each, its SQL beside it
catalog     the reports by name
background  reports built on a second connection in a thread, during an export
export      every report of a period into a directory
"""
