"""`customers --search`: what is typed is matched as typed, '%' and '_' included, on both backends."""

import pytest

pytestmark = pytest.mark.backends


def test_wildcards_typed_in_a_search_are_plain_characters(cli_json):
    cli_json("enroll", "333 000 0001", "--name", "Anna")
    cli_json("enroll", "333 000 0002", "--name", "Bar_100%", "--email", "bar!@example.com")
    names = {term: [r["name"] for r in cli_json("customers", "--search", term)]
             for term in ("%", "_", "r_1", "100%", "!", "ann", "NN")}
    assert names == {"%": ["Bar_100%"], "_": ["Bar_100%"], "r_1": ["Bar_100%"], "100%": ["Bar_100%"],
                     "!": ["Bar_100%"], "ann": ["Anna"], "NN": ["Anna"]}
