import pytest

from loyalty_cli.domain.text import EMAIL_MAX, email_problem


@pytest.mark.parametrize("text", ["maria@example.com", "m.rossi+shop@posta.example.it", "a@b.co"])
def test_real_addresses_pass(text):
    assert email_problem(text) is None


@pytest.mark.parametrize("text", ["nope", "a@b", "@example.com", "maria@", "ma ria@example.com", "a@@b.com",
                                  "a@b@c.com", "a@.com", "a@com.", "a\t@b.com", "x@" + "e" * EMAIL_MAX + ".com"])
def test_non_addresses_are_refused_with_a_reason(text):
    assert email_problem(text)


def test_the_counter_uses_the_one_rule(cli):
    # `a@b` used to pass the counter while the import refused it
    result = cli("enroll", "+39 333 123 4567", "--email", "a@b")
    assert result.exit_code == 2
    assert "--email is not an e-mail address" in result.stderr


def test_dates_as_people_type_them():
    """One reader for the importer, --at and the reports' --since/--until (domain/dates.py)."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from loyalty_cli.domain import clock, dates
    from loyalty_cli.domain.errors import BadInput

    rome = ZoneInfo("Europe/Rome")
    expected = datetime(2026, 3, 15, 18, 30, tzinfo=rome)
    for typed in ("2026-03-15 18:30", "15/03/2026 18:30", "15.03.2026 18:30", "2026.03.15 18:30",
                  "2026. 03. 15. 18:30"):
        assert clock.parse_moment(typed, rome) == expected, typed
    assert clock.parse_moment("15/03/2026", rome) == datetime(2026, 3, 15, 12, 0, tzinfo=rome)  # a bare date: noon
    assert dates.typed_day("2026.03.15") == dates.typed_day("15/03/2026") == date(2026, 3, 15)
    assert dates.typed_day("03/15/2026") is None  # month first is not guessed
    for wrong in ("31/02/2026", "15/03/2026 25:00", "yesterday-ish"):
        with pytest.raises(BadInput, match="--at is not an ISO date or date-time"):
            clock.parse_moment(wrong, rome)
