"""Phone numbers: any national format is one customer; a non-number is refused."""

import pytest

from loyalty_cli.domain import phones
from loyalty_cli.domain.errors import BadInput


@pytest.mark.parametrize("typed", ["+34 612 345 678", "612345678", "612-34-56-78", "(+34) 612.345.678",
                                   "0034 612 345 678"])
def test_spanish_formats_are_one_number(typed):
    assert phones.normalise(typed, "ES") == "+34612345678"


def test_hungarian_national_prefix():
    assert phones.normalise("06 30 123 4567", "HU") == "+36301234567"
    assert phones.normalise("+36 30 123 4567", "IT") == "+36301234567"


def test_italian_mobile():
    assert phones.normalise("333 123 4567", "IT") == "+393331234567"


@pytest.mark.parametrize("typed", ["abc", "12", "612 345", "+34 000 000 000", ""])
def test_not_a_phone(typed):
    with pytest.raises(BadInput):
        phones.normalise(typed, "ES")


def test_no_region_needs_a_country_code():
    assert phones.normalise("+34612345678", None) == "+34612345678"
    with pytest.raises(BadInput, match="phone_region"):
        phones.normalise("612345678", None)


def test_region_from_locale(monkeypatch):
    for var in ("LC_ALL", "LC_TELEPHONE", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert phones.region_from_locale() is None
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    assert phones.region_from_locale() == "ES"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert phones.region_from_locale() is None
    monkeypatch.setenv("LC_ALL", "hu_HU.UTF-8")
    assert phones.region_from_locale() == "HU"


def test_cache_key_ignores_punctuation_not_region():
    assert phones.cache_key("612-34-56-78", "ES") == phones.cache_key("612 345 678", "ES")
    assert phones.cache_key("612345678", "ES") != phones.cache_key("612345678", "IT")


@pytest.mark.parametrize("typed", ["٣٣٣ ١٢٣ ٤٥٦٧", "３３３ １２３ ４５６７", "+٣٩ ٣٣٣ ١٢٣ ٤٥٦٧"])
def test_digits_of_any_script_are_digits_in_phones_too(typed):
    # amounts accepted Arabic-Indic and full-width digits while phones refused them
    assert phones.normalise(phones.join_words(typed.split()), "IT") == "+393331234567"
    ascii_typed = "".join(str(int(ch)) if ch.isdecimal() else ch for ch in typed)
    assert phones.cache_key(typed, "IT") == phones.cache_key(ascii_typed, "IT")
