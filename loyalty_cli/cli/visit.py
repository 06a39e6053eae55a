"""`loyalty visit`: record a visit and show the card; the one function both parsers call."""

def run_visit(db=None, config=None, phone=(), amount=None, items=None, note=None, at=None, name=None,
              ref=None, as_json=False) -> int:
    """Record a visit and show the card; returns the exit code. Shared by both parsers."""
    from loyalty_cli.output import console as render
    from loyalty_cli.services import counter
    from loyalty_cli.services.session import Session

    session = Session(db, config, on_created=render.database_created)

    def work():
        from loyalty_cli.domain.phones import join_words

        words = [phone] if isinstance(phone, str) else list(phone)
        result = counter.record_visit(session, join_words(words), amount_text=amount, items=items, note=note,
                                      at_text=at, name=name, ref=ref)
        if as_json:
            render.emit_json(result)
            return
        notice = None
        if result["duplicate"]:
            notice = f"ref {ref} was already recorded as visit #{result['visit_id']}: nothing recorded"
        elif result.get("enrolled"):
            notice = f"new customer enrolled; visit #{result['visit_id']} recorded"
        else:
            notice = f"visit #{result['visit_id']} recorded"
        render.card(result, notice)

    from loyalty_cli.cli.edge import guarded

    return guarded(session, work)
