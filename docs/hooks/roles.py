"""MkDocs hook: the docstrings' Sphinx roles (``:func:`name```, ``:data:`~pkg.name```) shown as the
code spans they stand for, since mkdocstrings renders docstrings as Markdown."""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:func|meth|class|data|attr|mod|obj|exc):(<code>)(~?)([^<]*)(</code>)")


def _span(found: re.Match[str]) -> str:
    name = found[3].rsplit(".", 1)[-1] if found[2] else found[3]
    return f"{found[1]}{name}{found[4]}"


def on_page_content(html: str, **kwargs: Any) -> str:
    """The page's HTML with each role's prefix dropped (and ``~pkg.`` shortened to the last name)."""
    return ROLE.sub(_span, html)
