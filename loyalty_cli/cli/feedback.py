"""`loyalty feedback PHONE --score N`: a customer's answer on the shop's scale (issue 11)."""

from typing import Annotated

import typer

from loyalty_cli.cli.common import JsonOpt, PhoneArg, phone_text, run
from loyalty_cli.domain.i18n import tr
from loyalty_cli.output import console as render


def feedback(
    ctx: typer.Context,
    phone: PhoneArg,
    score: Annotated[int, typer.Option("--score", help="0-10 ('would you recommend us?') or 1-5 stars, as "
                                       "\\[feedback] scale says.", show_default=False)],
    comment: Annotated[str | None, typer.Option("--comment", help="What the customer said.")] = None,
    visit: Annotated[int | None, typer.Option("--visit", help="The visit it is about.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When it was given: ISO date-time, shop-local.")] = None,
    json: JsonOpt = False,
):
    """Record a customer's score (and thank them with \\[feedback] points, once a day)."""
    from loyalty_cli.services import feedback as service

    def work(session):
        data = service.record(session, phone_text(phone), score, comment=comment, visit_id=visit, at_text=at)
        if json:
            render.emit_json(data)
            return
        said = data["feedback"]
        note = tr("score {score}/{scale} recorded").format(score=said["score"], scale=said["scale"])
        if said["points"]:
            note += tr("; +{points} points").format(points=said["points"])
        render.card(data, note, session.shown_phone(data["phone"]))

    run(ctx, work)


COMMANDS = (feedback,)
