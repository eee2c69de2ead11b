"""Checks of values read from experiment files: every wrong kind is a ValueError that
names the field, never the TypeError or OverflowError of a check written for numbers."""

import math
from dataclasses import dataclass

import pytest

from core.state_values import check_field_kinds, require_choice, require_number, shown


@pytest.mark.parametrize("value", ["abc", None, [1], {"a": 1}, True, math.nan, math.inf, 10**400, -(10**400)])
def test_a_number_of_the_wrong_kind_or_size_is_refused_by_name(value):
    with pytest.raises(ValueError, match="^racer 2 learning rate must be"):
        require_number(value, "racer 2 learning rate", 0, 1e3)


def test_a_number_in_range_passes_and_whole_numbers_are_told_apart():
    assert require_number(5, "steps", 1, 10, integer=True) == 5
    assert require_number(2.0, "steps", 1, 10, integer=True) == 2.0
    with pytest.raises(ValueError, match="whole number, got 2.5"):
        require_number(2.5, "steps", 1, 10, integer=True)
    with pytest.raises(ValueError, match="between 1 and 10, got 11"):
        require_number(11, "steps", 1, 10)


def test_choices_are_compared_not_hashed():
    assert require_choice("adam", ("sgd", "adam"), "optimizer") == "adam"
    for bad in ([1], {"kind": "sgd"}, 10**400, 0):
        with pytest.raises(ValueError, match="^optimizer must be one of sgd, adam"):
            require_choice(bad, ("sgd", "adam"), "optimizer")


def test_a_huge_value_is_shown_short():
    assert len(shown("x" * 10_000)) == 40
    assert len(shown(10**400)) == 40


@dataclass(frozen=True)
class Example:
    name: str = "a"
    count: int = 1
    rate: float = 0.5
    on: bool = False
    sizes: tuple[int, ...] = (4, 2)
    flags: tuple[bool, ...] = ()


def test_dataclass_fields_are_checked_by_their_annotations():
    check_field_kinds(Example, {"name": "b", "count": 3, "rate": 1, "on": True, "sizes": [1, 2], "flags": [True]}, "setting")
    cases = {"name": 3, "count": 1.5, "rate": "0.5", "on": 1, "sizes": [1, [2]], "flags": ["true"]}
    for key, bad in cases.items():
        with pytest.raises(ValueError, match=f"^setting '{key}'"):
            check_field_kinds(Example, {key: bad}, "setting")
