"""`loyalty feedback`: a customer's score on the shop's scale, optionally rewarded with points
(at most once per customer per shop-local day), in one transaction."""

from loyalty_cli.domain import clock, model, text
from loyalty_cli.domain.errors import BadInput, Refused
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.services import counter, inputs, views
from loyalty_cli.services.session import Session
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.store import feedback as feedback_store


def lowest(scale: int) -> int:
    """0-10 for the 'would you recommend us' question, 1-5 for stars."""
    return 0 if scale == 10 else 1


def record(session: Session, phone_text: str, score: int, comment: str | None = None,
           visit_id: int | None = None, at_text: str | None = None) -> dict:
    config = session.config
    scale = config.feedback.scale
    if not lowest(scale) <= score <= scale:
        raise BadInput(Phrase("--score must be from {lowest} to {scale} (the shop's scale), got {score}",
                              lowest=lowest(scale), scale=scale, score=score))
    comment = text.tidy(comment)
    problem = text.field_problem(comment, text.NOTE_MAX) if comment is not None else None
    if problem:
        raise BadInput(Phrase("--comment {problem}", problem=problem))
    now = clock.now()
    at = clock.parse_moment(at_text, config.tz) if at_text else now
    if at > now + inputs.FUTURE_SLACK:
        raise BadInput(Phrase("--at is in the future: {at_text}", at_text=repr(at_text)))
    conn = session.conn
    row = counter.customer(session, phone_text)
    if visit_id is not None:
        visit = store.visit_by_id(conn, visit_id) if 0 < visit_id < 2**62 else None
        if visit is None or visit["customer_id"] != row["id"]:
            raise Refused(Phrase("--visit {visit_id} is not a visit of {phone}", visit_id=visit_id,
                                 phone=row['phone']))
    day = clock.local_day(at, config.tz)
    with store_db.transaction(conn):
        points = config.feedback.points
        if points and feedback_store.rewarded_on(conn, row["id"], day):
            points = 0  # recorded, but a second response on the same day earns nothing
        feedback_store.insert(conn, row["id"], at, day, score, scale, comment, visit_id, points)
        if points:
            store.write_entries(conn, row["id"], at, [model.Entry(
                "feedback", points=points, reason="thanks for the feedback", earned=True)], written_at=now,
                visit_id=visit_id)
        card = views.card(conn, config, store.customer_by_id(conn, row["id"]), now)
    return {**card, "feedback": {"score": score, "scale": scale, "comment": comment, "visit_id": visit_id,
                                 "points": points}}
