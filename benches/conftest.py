"""Benchmark settings: problem sizes and the side-by-side ratio table.

Benchmarks run at full size when enabled (``pytest benches --benchmark-enable``) and at smoke size
when disabled (the default in pyproject, so the test run executes each once and they cannot rot).
``--bench-scale`` overrides the choice. Each benchmark records ``extra_info["tool"]``; after the run,
a table per group shows every tool's median time and its speed relative to the fastest anchor
(tools not named ``smartopt*``).
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--bench-scale", choices=("smoke", "full"), default=None, help="benchmark problem sizes")


@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> str:
    """'full' when benchmarks are enabled, 'smoke' when they are disabled, unless --bench-scale says."""
    chosen = pytestconfig.getoption("--bench-scale")
    if chosen:
        return str(chosen)
    disabled = pytestconfig.getoption("benchmark_disable") and not pytestconfig.getoption("benchmark_enable")
    return "smoke" if disabled else "full"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    benches = [b for b in getattr(session, "benchmarks", []) if b.stats and "tool" in b.extra_info]
    if not benches:
        return
    groups: dict[str, list[Any]] = {}
    for b in benches:
        groups.setdefault(b.group or b.name, []).append(b)
    terminalreporter.write_sep("=", "side by side (median; speed-up = fastest anchor / this)")
    for group, members in groups.items():
        anchors = [b.stats.median for b in members if not b.extra_info["tool"].startswith("smartopt")]
        best_anchor = min(anchors) if anchors else float("nan")
        terminalreporter.write_line(f"{group}")
        for b in sorted(members, key=lambda b: b.stats.median):
            ratio = best_anchor / b.stats.median
            terminalreporter.write_line(f"  {b.extra_info['tool']:<22} {b.stats.median:10.4f} s   x{ratio:6.2f}")
