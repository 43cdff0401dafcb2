"""Benchmark settings: problem sizes and the side-by-side ratio table.

Benchmarks run at full size when enabled (``pytest benches --benchmark-enable``) and at smoke size
when disabled (the default in pyproject, so the test run executes each once and they cannot rot).
``--bench-scale`` overrides the choice. Each benchmark records ``extra_info["tool"]``; after the run,
a table per group shows every tool's median time and its speed relative to the fastest anchor
(tools not named ``smartopt*``). A benchmark that times a subset of the work records
``extra_info["extrapolate"]`` (full work / measured work), and one whose time is measured inside a
subprocess records it as ``extra_info["reported_s"]``; the table uses those figures and marks them.
Benchmarks that compare solution quality at equal time add it as ``extra_info["quality"]``.
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

    def seconds(b: Any) -> float:
        info = b.extra_info
        return float(info.get("reported_s", b.stats.median * info.get("extrapolate", 1.0)))

    def note(b: Any) -> str:
        if "reported_s" in b.extra_info:
            return "  (timed in the subprocess)"
        if "extrapolate" in b.extra_info:
            return f"  (extrapolated x{b.extra_info['extrapolate']:g} from a subset)"
        return ""

    terminalreporter.write_sep("=", "side by side (median; speed-up = fastest anchor / this)")
    for group, members in groups.items():
        anchors = [seconds(b) for b in members if not b.extra_info["tool"].startswith("smartopt")]
        best_anchor = min(anchors) if anchors else float("nan")
        terminalreporter.write_line(f"{group}")
        for b in sorted(members, key=seconds):
            ratio = best_anchor / seconds(b)
            quality = f"   {b.extra_info['quality']}" if "quality" in b.extra_info else ""
            terminalreporter.write_line(
                f"  {b.extra_info['tool']:<30} {seconds(b):12.6f} s   x{ratio:9.2f}{note(b)}{quality}"
            )
