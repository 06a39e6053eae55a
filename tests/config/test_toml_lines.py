"""The line finder behind every config message: which line a key path is on."""

import pytest

from loyalty_cli.config.toml_lines import dotted, line_of, place

TEXT = """\
colour = "red"

[shop]
name = "x"
currency = "EUR"

[[rules]]
kind = "points"

[[rules]]
kind = "cashback"
percent = 5
"""


@pytest.mark.parametrize("path, line", [
    ((), None),
    (("colour",), 1),
    (("shop",), 3),
    (("shop", "currency"), 5),
    (("shop", "timezone"), 3),  # not written: the table's header
    (("rules", 1, "percent"), 12),
    (("rules", 1), 10),
    (("rules", 0, "kind"), 8),
    (("tiers", 0, "name"), None),
])
def test_line_of(path, line):
    assert line_of(TEXT, path) == line


def test_dotted_is_the_path_as_written():
    assert dotted(("rules", 0, "every")) == "rules[0].every"
    assert dotted(()) == "(top level)"


def test_place_leaves_out_a_line_it_cannot_find():
    assert place("shop.toml", TEXT, ("shop", "name")) == "shop.toml:4"
    assert place("shop.toml", TEXT, ("tiers",)) == "shop.toml"
