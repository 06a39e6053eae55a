"""domain/campaigns.py: templates that pass the check always render; consent words; wa.me links."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_cli.domain import campaigns

PIECES = st.lists(st.one_of(st.text(max_size=5), st.sampled_from(["{", "}", "{{", "}}", "{name}", "{points}", "\n",
                                                                   "{nope}", "{0}", "{}", "{name!r}", "{tier:>3}"])),
                  max_size=8).map("".join)
FIGURES = st.fixed_dictionaries({key: st.one_of(st.none(), st.text(max_size=10), st.integers())
                                 for key in campaigns.PLACEHOLDERS})


@given(PIECES, FIGURES)
def test_a_template_the_check_accepts_always_renders(template, figures):
    problem = campaigns.template_problem(template)
    if problem is None:
        assert isinstance(campaigns.render(template, figures), str)
    else:  # said in one line, for `config check`
        assert problem and "\n" not in problem


def test_figures_fill_the_placeholders_and_none_is_empty():
    assert campaigns.render("Ciao {name}, {points} punti{voucher_code} {{ok}}",
                            {"name": "Maria", "points": 32, "voucher_code": None}) == "Ciao Maria, 32 punti {ok}"


@pytest.mark.parametrize("word, value", [("yes", 1), ("Sí", 1), ("si", 1), ("sì", 1), ("IGEN", 1), ("1", 1),
                                         ("true", 1), ("no", 0), ("nem", 0), ("0", 0), ("False", 0),
                                         ("maybe", None), ("", None)])
def test_consent_words(word, value):
    assert campaigns.consent_value(word) == value


@given(st.text(max_size=50))
def test_the_whatsapp_link_carries_the_message_exactly(message):
    link = campaigns.whatsapp_link("+393331234567", message)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/393331234567")
    assert parse_qs(parts.query, keep_blank_values=True).get("text", [""])[0] == message
