"""The installed package: version, fast import, typing stubs that match the compiled modules."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
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
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)  # .so, or .pyd on Windows
    compiled = (p for p in (package / "_core").iterdir() if p.name.endswith(suffixes))
    assert sorted(p.name.split(".")[0] for p in compiled) == list(NATIVE_MODULES)
    for module in NATIVE_MODULES:
        spec = importlib.util.find_spec(f"smartopt._core.{module}")
        assert spec is not None and spec.origin is not None and spec.origin.endswith(suffixes)
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


PROJECT = Path(__file__).resolve().parents[1]


def test_oldest_dependencies_are_the_lower_bounds() -> None:
    """``.ci/oldest-deps.txt`` pins each dependency at the lower bound ``pyproject.toml`` states."""
    if not (PROJECT / "pyproject.toml").is_file() or not (PROJECT / ".ci" / "oldest-deps.txt").is_file():
        pytest.skip("the project's source tree is not beside the tests")
    bounds: dict[str, str] = {}
    for dependency in tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", dependency)
        assert found, f"{dependency!r} states no lower bound"
        bounds[found[1]] = found[2]
    lines = (PROJECT / ".ci" / "oldest-deps.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert pins.keys() == bounds.keys()
    for name, low in bounds.items():
        assert pins[name] == low or pins[name].startswith(low + "."), (name, low, pins[name])


SQUARE_VRP = """NAME : square
TYPE : CVRP
DIMENSION : 5
CAPACITY : 1
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 10
4 -10 0
5 0 -10
DEMAND_SECTION
1 0
2 1
3 1
4 1
5 1
DEPOT_SECTION
1
-1
EOF
"""
"""Four clients 10 m from the depot, one per vehicle: the only solution costs 4 x 20 = 80."""


@pytest.mark.slow
def test_sdist_builds_installs_and_solves(tmp_path: Path) -> None:
    """The source distribution holds all it needs to build (C++ core, bindings, Cython kernel):
    built with ``python -m build --sdist`` and installed into a fresh venv, it runs
    ``smartopt --version`` and solves a routing instance."""
    if not (PROJECT / "pyproject.toml").is_file() or not (PROJECT / "cpp").is_dir():
        pytest.skip("the project's source tree is not beside the tests")
    pytest.importorskip("build", reason="the 'build' package is not installed")

    def run(*args: str | Path) -> str:
        done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
        assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    run(sys.executable, "-m", "build", "--sdist", "-o", tmp_path / "dist", PROJECT)
    (sdist,) = (tmp_path / "dist").glob("smartopt-*.tar.gz")
    run(sys.executable, "-m", "venv", tmp_path / "venv")
    bin_dir = tmp_path / "venv" / "bin"
    run(bin_dir / "pip", "install", "--disable-pip-version-check", sdist)
    assert run(bin_dir / "smartopt", "--version").split() == ["smartopt", smartopt.__version__]
    (tmp_path / "square.vrp").write_text(SQUARE_VRP)
    result = json.loads(
        run(bin_dir / "smartopt", "route", tmp_path / "square.vrp", "--round", "exact", "--time-limit", "1", "--json")
    )
    assert result["cost"] == pytest.approx(80.0, abs=1e-9)
