"""Builds smartopt's compiled modules: the pybind11 C++ core and the Cython kernels.

Set SMARTOPT_NATIVE=1 to compile with -march=native (faster here, not portable).
"""

import os
import sys
from pathlib import Path

from Cython.Build import cythonize
from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import Extension, setup

ParallelCompile("SMARTOPT_BUILD_JOBS", default=0).install()

if sys.platform == "win32":  # MSVC
    OPT_FLAGS = ["/O2", "/DNDEBUG"]
else:
    OPT_FLAGS = ["-O3", "-DNDEBUG"] + (["-march=native"] if os.environ.get("SMARTOPT_NATIVE") == "1" else [])
CPP = Path("cpp")


def native_module(name: str, sources: list[str]) -> Pybind11Extension:
    """A pybind11 module smartopt._core.<name> from cpp/bindings/<name>.cpp plus core sources."""
    return Pybind11Extension(
        f"smartopt._core.{name}",
        [str(CPP / "bindings" / f"{name.lstrip('_')}.cpp")] + [str(CPP / "src" / s) for s in sources],
        include_dirs=[str(CPP / "include")],
        cxx_std=17,
        extra_compile_args=OPT_FLAGS,
    )


cython_modules = cythonize(
    [Extension("smartopt._core._spatial", ["src/smartopt/_core/_spatial.pyx"], extra_compile_args=OPT_FLAGS)],
    compiler_directives={"language_level": "3"},
)

setup(
    ext_modules=[
        native_module("_network", ["network/graph.cpp", "network/ch.cpp"]),
        native_module("_traffic", ["signals/traffic_model.cpp"]),
        native_module("_power_flow", ["energy/power_flow.cpp"]),
        native_module("_unbalanced_power_flow", ["energy/unbalanced_power_flow.cpp"]),
        native_module("_charging", ["energy/charging.cpp"]),
        native_module("_battery", ["energy/battery.cpp"]),
        native_module("_phases", ["energy/phases.cpp"]),
        native_module("_routing", ["routing/vrp.cpp"]),
        native_module(
            "_dispatch",
            [
                *("dispatch/assignment.cpp", "dispatch/space.cpp", "dispatch/fleet.cpp", "dispatch/pooling.cpp"),
                *("network/graph.cpp", "network/ch.cpp"),
            ],
        ),
        *cython_modules,
    ],
    cmdclass={"build_ext": build_ext},
)
