"""msgspec's validation errors as `where: what`."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from conveyor.shapes import where_and_what


class Leaf(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class Tree(msgspec.Struct):
    leaves: list[Leaf]
    size: int = 0


@pytest.mark.parametrize(
    ("data", "where", "what"),
    [
        ({}, "leaves", "required, but not set"),
        ({"leaves": [{}]}, "leaves[0].name", "required, but not set"),
        (
            {"leaves": [{"name": "a"}, {"name": "b", "colour": 1}]},
            "leaves[1].colour",
            "unknown key",
        ),
        ({"leaves": [{"name": 3}]}, "leaves[0].name", "Expected `str`, got `int`"),
        ({"leaves": [], "size": "2"}, "size", "Expected `int`, got `str`"),
        ([], "", "Expected `object`, got `array`"),
    ],
)
def test_where_and_what_name_the_key_and_the_problem(data: Any, where: str, what: str) -> None:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.convert(data, Tree, strict=True)
    assert where_and_what(info.value) == (where, what)
