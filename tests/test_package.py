"""The installed package: version, fast import, typing stubs that match the compiled modules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import smartopt


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_version_matches_metadata() -> None:
    from importlib.metadata import version

    assert smartopt.__version__ == version("smartopt")
    assert smartopt.__version__.count(".") >= 2


def test_import_loads_no_heavy_modules() -> None:
    """``import smartopt`` must not import Numba, OR-Tools, pandas, matplotlib or the compiled core."""
    out = run_python(
        "import sys, smartopt\n"
        "heavy = ['numba', 'ortools', 'pandas', 'matplotlib', 'scipy', 'smartopt._core._network']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    assert out.strip() == ""


def test_submodules_load_on_demand() -> None:
    out = run_python("import smartopt, sys; smartopt.network.RoadNetwork; print('smartopt.network' in sys.modules)")
    assert out.strip() == "True"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        smartopt.nope  # noqa: B018


NATIVE_MODULES = (
    "_battery",
    "_charging",
    "_dispatch",
    "_network",
    "_phases",
    "_power_flow",
    "_routing",
    "_spatial",
    "_traffic",
    "_unbalanced_power_flow",
)
"""Every compiled module of smartopt._core (each has a stub)."""


def test_typing_files_are_installed() -> None:
    package = Path(smartopt.__file__).parent
    assert (package / "py.typed").is_file()
    assert sorted(p.name.split(".")[0] for p in (package / "_core").glob("*.so")) == list(NATIVE_MODULES)
    for module in NATIVE_MODULES:
        spec = importlib.util.find_spec(f"smartopt._core.{module}")
        assert spec is not None and spec.origin is not None and spec.origin.endswith(".so")
        assert (package / "_core" / f"{module}.pyi").is_file()


def test_stubs_match_compiled_modules() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            *(f"smartopt._core.{name}" for name in NATIVE_MODULES),
            "--allowlist",
            str(Path(__file__).with_name("stubtest_allowlist.txt")),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
