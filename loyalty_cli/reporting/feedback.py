"""The feedback report: a period's responses, their average and distribution, the Net Promoter
Score on the 0-10 scale, the same per month, the latest comments and the customers to call back.

NPS = % of promoters (9-10) minus % of detractors (0-6), rounded half away from zero: a whole
number from -100 to 100. On the 5-star scale there is no NPS; 1-2 stars are the ones to call.
Only responses on the scale in force are counted (a shop that changed scale says so in a note).
"""

from decimal import ROUND_HALF_UP, Decimal

from loyalty_cli.domain.i18n import Phrase, mark
from loyalty_cli.output.model import Chart, Column, Report, Table
from loyalty_cli.reporting.context import Context, query
from loyalty_cli.reporting.period import Period

NAME, TITLE = "feedback", mark("Feedback")
LATEST_COMMENTS = 20

TOTAL_COLUMNS = [
    Column("since", mark("From"), "date"),
    Column("until", mark("To"), "date"),
    Column("scale", mark("Scale"), "int"),
    Column("responses", mark("Responses"), "int"),
    Column("average", mark("Average score"), "number"),
    Column("nps", mark("Net Promoter Score"), "int"),
    Column("promoters", mark("Promoters (9-10)"), "int"),
    Column("passives", mark("Passives (7-8)"), "int"),
    Column("detractors", mark("Detractors (0-6)"), "int"),
]
MONTH_COLUMNS = [
    Column("month", mark("Month")),
    Column("responses", mark("Responses"), "int"),
    Column("average", mark("Average score"), "number"),
    Column("nps", mark("NPS"), "int"),
]
DISTRIBUTION_COLUMNS = [Column("score", mark("Score"), "int"), Column("responses", mark("Responses"), "int")]
COMMENT_COLUMNS = [
    Column("at", mark("At"), "moment"),
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("score", mark("Score"), "int"),
    Column("comment", mark("Comment")),
]
FOLLOW_UP_COLUMNS = [
    Column("phone", mark("Phone")),
    Column("name", mark("Name")),
    Column("score", mark("Score"), "int"),
    Column("comment", mark("Comment")),
    Column("at", mark("Answered"), "moment"),
    Column("last_visit", mark("Last visit"), "moment"),
]


def nps(scores: dict[int, int]) -> tuple[int | None, int, int, int]:
    """(NPS, promoters, passives, detractors) of a 0-10 distribution {score: responses}."""
    promoters = sum(n for score, n in scores.items() if score >= 9)
    passives = sum(n for score, n in scores.items() if score in (7, 8))
    detractors = sum(n for score, n in scores.items() if score <= 6)
    total = promoters + passives + detractors
    if not total:
        return None, 0, 0, 0
    value = (Decimal(100) * (promoters - detractors) / total).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(value), promoters, passives, detractors


def average(scores: dict[int, int]) -> float | None:
    total = sum(scores.values())
    if not total:
        return None
    mean = Decimal(sum(score * n for score, n in scores.items())) / total
    return float(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def to_call_back(score: int, scale: int) -> bool:
    """A detractor on the 0-10 scale, one or two stars on the 5-star one."""
    return score <= (6 if scale == 10 else 2)


def build(ctx: Context, period: Period) -> Report:
    conn, scale = ctx.conn, ctx.config.feedback.scale
    args = {"since": period.since.isoformat(), "until": period.until.isoformat(), "scale": scale}
    where = "f.local_day BETWEEN :since AND :until AND f.scale = :scale"
    by_month: dict[str, dict[int, int]] = {}
    for month, score, count in query(conn, f"SELECT substr(f.local_day, 1, 7), f.score, COUNT(*) FROM feedback f "
                                           f"WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", args):
        by_month.setdefault(month, {})[score] = count
    scores: dict[int, int] = {}
    for month_scores in by_month.values():
        for score, count in month_scores.items():
            scores[score] = scores.get(score, 0) + count
    score_nps = nps(scores) if scale == 10 else (None, None, None, None)
    total = (args["since"], args["until"], scale, sum(scores.values()), average(scores), *score_nps)
    months = [(month, sum(s.values()), average(s), nps(s)[0] if scale == 10 else None)
              for month, s in by_month.items()]
    distribution = [(score, scores.get(score, 0)) for score in range(0 if scale == 10 else 1, scale + 1)]
    comments = (f"SELECT f.at, c.phone, c.name, f.score, f.comment FROM feedback f JOIN customers c "
                f"ON c.id = f.customer_id WHERE {where} AND f.comment IS NOT NULL "
                f"ORDER BY f.at DESC, f.id DESC LIMIT {LATEST_COMMENTS}")
    tables = [
        Table("rows", mark("Feedback"), TOTAL_COLUMNS, lambda: iter([total]), record=True),
        Table("months", mark("Per month"), MONTH_COLUMNS, lambda: iter(months)),
        Table("distribution", mark("Distribution"), DISTRIBUTION_COLUMNS, lambda: iter(distribution),
              charts=[Chart("score", "responses", mark("Responses per score"))], chart_instead=True),
        Table("comments", mark("Latest comments"), COMMENT_COLUMNS, lambda: query(conn, comments, args)),
        Table("follow_up", mark("To call back"), FOLLOW_UP_COLUMNS, lambda: _follow_up(conn, where, args, scale),
              empty=mark("nobody to call back")),
    ]
    notes = _other_scales(conn, args)
    return ctx.report(NAME, TITLE, period, tables, notes)


def _follow_up(conn, where: str, args: dict, scale: int):
    """Each customer whose last response of the period was low: theirs to hear back from (a
    forgotten customer cannot be called)."""
    sql = (f"SELECT c.phone, c.name, f.score, f.comment, f.at, c.last_visit_at FROM feedback f "
           f"JOIN customers c ON c.id = f.customer_id WHERE {where} AND c.forgotten_at IS NULL "
           "AND f.id = (SELECT g.id FROM feedback g "
           "WHERE g.customer_id = f.customer_id AND g.local_day BETWEEN :since AND :until AND g.scale = :scale "
           "ORDER BY g.at DESC, g.id DESC LIMIT 1) ORDER BY f.score, f.at DESC")
    return (row for row in query(conn, sql, args) if to_call_back(row[2], scale))


def _other_scales(conn, args: dict) -> list[str]:
    other = query(conn, "SELECT COUNT(*) FROM feedback WHERE local_day BETWEEN :since AND :until "
                        "AND scale != :scale", args).fetchone()[0]
    return [Phrase("{count} response(s) on another scale left out (the shop's scale changed)", count=other)] \
        if other else []
