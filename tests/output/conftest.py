"""Fixtures of the output tests."""

import dataclasses

import pytest

from loyalty_cli.domain import model

from ..conftest import SAMPLE


@pytest.fixture
def shop_locale(isolated, monkeypatch):
    """shop_locale('it_IT'): the shop's [shop] locale. The key arrives with the translations (issue
    13); until then the Shop the config loads has no such field, and a class attribute stands in."""

    def set_locale(locale: str):
        if "locale" in {field.name for field in dataclasses.fields(model.Shop)}:
            config = isolated / f"shop-{locale}.toml"
            text = SAMPLE.read_text(encoding="utf-8").replace("[shop]\n", f"[shop]\nlocale = \"{locale}\"\n", 1)
            config.write_text(text, encoding="utf-8")
            monkeypatch.setenv("LOYALTY_CONFIG", str(config))
        else:
            monkeypatch.setattr(model.Shop, "locale", locale, raising=False)

    return set_locale
