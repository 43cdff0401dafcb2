"""The README's API tour runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_api_tour_runs() -> None:
    if not README.is_file():
        pytest.skip("README.md is not beside the tests")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert "plan" in namespace and "offsets" in namespace


def test_api_tour_needs_nothing_beside_the_project() -> None:
    """The tour runs on a fresh clone: it reads no files outside the package (no ``../shared``)."""
    if not README.is_file():
        pytest.skip("README.md is not beside the tests")
    code = "".join(re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S))
    assert not re.findall(r"""["'](?:\.\./|/work/)[^"']*["']""", code)
