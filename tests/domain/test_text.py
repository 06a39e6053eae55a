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
