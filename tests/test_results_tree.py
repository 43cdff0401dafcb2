"""The district day's results tree (``smartopt.app.results``): every class is a frozen dataclass
with typed, documented fields; ``to_dict`` -> JSON -> ``from_dict`` gives the tree back, NaN and
null included; a malformed ``results.json`` is refused naming the key; the classes built from a
domain's dict (``FleetDay.kpis``, ``DayPlan.summary()``, ``trip_summary``) have its keys; every KPI
the report names is a field; and ``docs/results.md`` is the text generated from the types. (A real
run's round trip, byte for byte, is in test_report.py.) Tolerances: none."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_type_hints

import numpy as np
import pytest

import smartopt.app.results as tree
from results_examples import example, example_results, tree_classes
from smartopt._serialise import ToDict
from smartopt.app import report
from smartopt.app._results_markdown import _field_docs, results_markdown
from smartopt.app.results import (
    BookedTripsSummary,
    DayKpis,
    DistrictResults,
    EnergyPlan,
    PlanFigures,
    TimingSummary,
    read_results,
    write_results,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_class_is_frozen_typed_and_exported() -> None:
    classes = tree_classes()
    defined = {c for c in vars(tree).values() if isinstance(c, type) and c.__module__ == tree.__name__}
    assert set(classes) == {c for c in defined if issubclass(c, ToDict)}  # no class outside the tree
    for cls in classes:
        assert cls.__dataclass_params__.frozen, cls.__name__  # type: ignore[attr-defined]
        assert cls.__name__ in tree.__all__
        for name, hint in get_type_hints(cls).items():
            assert hint is not Any and Any not in get_args(hint), f"{cls.__name__}.{name}"
    with pytest.raises(dataclasses.FrozenInstanceError):
        example_results().seed = 1  # type: ignore[misc]


@pytest.mark.parametrize("variant", [0, 1])
def test_json_gives_the_tree_back(tmp_path: Path, variant: int) -> None:
    results: DistrictResults = example(DistrictResults, variant)
    path = tmp_path / "results.json"
    write_results(results, str(path))
    text = path.read_text()
    back = read_results(path)
    assert json.dumps(back.to_dict(), indent=2, allow_nan=False) == text
    if variant == 0:
        assert back == results
    else:  # NaN is written as null and read back as NaN; empty lists and null stay as they were
        data = json.loads(text)
        assert data["runtime_s"] is None and math.isnan(back.runtime_s)
        assert data["signals"]["coordination"] is None and back.signals.coordination is None
        assert data["dispatch"]["on_demand"]["fleet_sizing"]["smallest_fleet"] is None
        assert back.energy.grid.violations == () and back.signals.periods == {}


def test_keys_are_the_field_names_in_order() -> None:
    data = example_results().to_dict()
    assert list(data) == [
        "smartopt_version", "scenario", "seed", "solvers", "network", "signals", "energy", "dispatch", "coupling",
        "runtime_s",
    ]  # fmt: skip
    assert list(data["signals"]["periods"]["key_0"]["timing"]["key_0"]) == [
        f.name for f in dataclasses.fields(TimingSummary)
    ]
    assert isinstance(data["dispatch"]["on_demand"]["kpis"]["requests"], float)  # counts of a day are numbers


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.pop("seed"), r"DistrictResults: missing field 'seed'"),
        (lambda d: d["signals"].update(lanes=4), r"DistrictResults\.signals: unknown field\(s\) lanes"),
        (
            lambda d: d["energy"]["grid"].update(slots_converged="all"),
            r"DistrictResults\.energy\.grid\.slots_converged: expected a int",
        ),
        (
            lambda d: d["dispatch"]["on_demand"]["fleet_sizing"].update(sizes=[2, "four"]),
            r"fleet_sizing\.sizes\[1\]: expected a int",
        ),
    ],
)
def test_a_malformed_file_names_the_key(tmp_path: Path, edit: Any, match: str) -> None:
    data = example_results().to_dict()
    edit(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match):
        read_results(path)


def test_docs_results_md_is_generated_from_the_types() -> None:
    text = results_markdown()
    regenerate = "regenerate: python -m smartopt.app._results_markdown > docs/results.md"
    assert (ROOT / "docs" / "results.md").read_text() == text, regenerate
    command = [sys.executable, "-m", "smartopt.app._results_markdown"]
    assert subprocess.run(command, capture_output=True, text=True, check=True).stdout == text
    sections = text.split("\n## ")[1:]
    for cls in tree_classes():  # one table per class, headed by its name, every field a row
        (section,) = [s for s in sections if s.startswith(f"`{cls.__name__}`\n")]
        assert all(f"| `{f.name}` |" in section for f in dataclasses.fields(cls)), cls.__name__
    plan_figures = next(s for s in sections if s.startswith("`PlanFigures`"))
    for path in ("energy.plan.before", "energy.plan.after", "coupling.shuttle_charging.plan.with_shuttles"):
        assert f"`{path}`" in plan_figures  # every path a class is found at
    assert "`signals.periods.*.timing.*`" in text and "`energy.grid.violations[]`" in text
    assert ":func:" not in text and ":data:" not in text and ":class:" not in text and "``" not in text


def test_a_field_without_a_docstring_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Undocumented:
        """A class whose field has no docstring."""

        value_kw: float

    with pytest.raises(ValueError, match="Undocumented: field 'value_kw' has no docstring"):
        _field_docs(Undocumented)


def _names(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_classes_built_from_a_domains_dict_have_its_keys() -> None:
    """``DayKpis(**day.kpis)``, ``PlanFigures(**summary["after"])``, ``EnergyPlan(**summary, ...)``
    and ``BookedTripsSummary(**trip_summary(...))`` in the pipeline: the key sets cannot drift."""
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch import TravelSpace, simulate, solve_vrp
    from smartopt.dispatch.shuttles import booked_trips, trip_summary
    from smartopt.energy import plan_day

    district = sejong_5_1(0)
    few = district.requests.subset(np.arange(40))
    day = simulate(TravelSpace.from_network(district.network), district.fleet.resized(2), few, progress=False)
    assert set(day.kpis) == _names(DayKpis)
    summary = plan_day(district.energy, max_iterations=1).summary()
    assert set(summary["before"]) == set(summary["after"]) == _names(PlanFigures)
    assert set(summary) == _names(EnergyPlan) - {"phases"}
    trips = booked_trips(district.network, district.fleet, district.requests, share=0.01)
    assert set(trip_summary(trips, solve_vrp(trips.problem, max_iterations=10))) == _names(BookedTripsSummary)


def test_every_kpi_the_report_names_is_a_field() -> None:
    """The report reads the tree by attribute; the keys it names label those values (KPIS) and
    the tables of whole classes: each is a field of a class of the tree (or one of the report's own
    figures), and each field of a class shown whole has a label of its own."""
    fields = set().union(*(_names(cls) for cls in tree_classes()))
    phases = {
        "worst_imbalance_kw",
        "mean_worst_imbalance_kw",
        "max_unbalance_percent",
        "max_neutral_a",
        "min_phase_vm_pu",
    }
    own = {"delay_s", *phases}  # per intersection; the phases' figures, in turn and balanced
    assert set(report.KPIS) - fields == own
    for cls in (PlanFigures, DayKpis, BookedTripsSummary):
        assert {k for k, _ in report._kpi_fields(example(cls))} <= set(report.KPIS), cls.__name__
