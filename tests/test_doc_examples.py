"""The examples in the public API's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "smartopt.dispatch.simulation",
    "smartopt.dispatch.routing",
    "smartopt.signals.timing",
    "smartopt.energy.power_flow",
    "smartopt.energy.day_plan",
    "smartopt.app.config",
    "smartopt.app.scenarios",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
