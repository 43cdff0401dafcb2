"""Scenario sweeps: many variants of the district day, on a Dask cluster (``smartopt[dask]``) or in
this process, as one pandas DataFrame.

A scenario is a dict of overrides of the built-in district:

- ``seed`` (int, default 0): the district's seed;
- ``demand_scale`` (> 0, default 1): the day's ride requests thinned or repeated to this multiple
  (each request kept ``floor(scale)`` times and once more with probability ``scale mod 1``);
- ``ev_share`` (in [0, 1], default 1): the share of the district's EV charging sessions kept;
- ``fleet_size`` (int >= 1, default the district's): shuttles in the on-demand fleet;
- ``signals`` (``"smartopt"``, ``"webster"`` or ``"none"``): whose signal delays the shuttles
  drive on.

- ``shuttle_iterations`` (int >= 1, default 400): the booked trips' routing budget with ``fn="run"``;
- ``time_limit_s`` (None or > 0, default None): with ``fn="run"``, the searches stop on this
  wall-clock budget instead of their iteration budgets (see :func:`run_district`).

``fn`` picks what runs per scenario: ``"run"`` the whole district day (:func:`run_district`),
``"dispatch"`` only the on-demand day (fast; the depots' chargers at full power). Both are
deterministic for a scenario unless ``time_limit_s`` is set.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from smartopt.app.district import District


__all__ = ["DEFAULTS", "check_scenario", "district_variant", "read_grid", "run_scenario", "sweep"]

FUNCTIONS = ("run", "dispatch")
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "demand_scale": 1.0,
    "ev_share": 1.0,
    "fleet_size": None,
    "signals": "smartopt",
    "shuttle_iterations": 400,
    "time_limit_s": None,
}
"""Every override a scenario may set, and its default."""


def check_scenario(scenario: Mapping[str, Any], where: str = "scenario") -> dict[str, Any]:
    """``scenario`` with defaults filled in; ValueError naming the override at fault."""
    if not isinstance(scenario, Mapping):
        raise TypeError(f"{where} must be a dict of overrides, got {type(scenario).__name__}")
    unknown = set(scenario) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"{where}: unknown override {sorted(unknown)[0]!r}; known: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **scenario}

    def real(name: str) -> float:
        value = out[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{where}: {name}={value!r} must be a finite number")
        return float(value)

    seed = out["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{where}: seed={seed!r} must be an int >= 0")
    if real("demand_scale") <= 0:
        raise ValueError(f"{where}: demand_scale={out['demand_scale']!r} must be > 0")
    if not 0 <= real("ev_share") <= 1:
        raise ValueError(f"{where}: ev_share={out['ev_share']!r} must be in [0, 1]")
    iterations = out["shuttle_iterations"]
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"{where}: shuttle_iterations={iterations!r} must be an int >= 1")
    if out["time_limit_s"] is not None and real("time_limit_s") <= 0:
        raise ValueError(f"{where}: time_limit_s={out['time_limit_s']!r} must be None or > 0")
    size = out["fleet_size"]
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValueError(f"{where}: fleet_size={size!r} must be an int >= 1")
    if out["signals"] not in ("smartopt", "webster", "none"):
        raise ValueError(f"{where}: signals={out['signals']!r} must be 'smartopt', 'webster' or 'none'")
    return out


def district_variant(scenario: Mapping[str, Any]) -> District:
    """The built-in district with a scenario's overrides applied (see the module's docstring)."""
    from smartopt.datasets import sejong_5_1

    s = check_scenario(scenario)
    district = sejong_5_1(s["seed"])
    rng = np.random.default_rng([s["seed"], 7])
    n = len(district.requests)
    copies = np.floor(s["demand_scale"]) + (rng.random(n) < s["demand_scale"] % 1)
    requests = district.requests.subset(np.repeat(np.arange(n), copies.astype(int)))
    energy = district.energy
    kept = rng.random(energy.ev_energy_kwh.size) < s["ev_share"]
    energy = dataclasses.replace(
        energy,
        ev_charger=energy.ev_charger[kept],
        ev_arrival_slot=energy.ev_arrival_slot[kept],
        ev_departure_slot=energy.ev_departure_slot[kept],
        ev_energy_kwh=energy.ev_energy_kwh[kept],
        ev_max_kw=energy.ev_max_kw[kept],
    )
    fleet = district.fleet if s["fleet_size"] is None else district.fleet.resized(s["fleet_size"])
    return dataclasses.replace(district, requests=requests, energy=energy, fleet=fleet)


def run_scenario(scenario: Mapping[str, Any], fn: str = "run") -> dict[str, Any]:
    """One row of a sweep: the scenario's overrides (defaults filled in) and its KPIs. With
    ``fn="run"``: the smartopt plans' total control delay in the district's first and last peak
    periods (``first_peak_delay_veh_h``, ``last_peak_delay_veh_h``; veh·h/h), the energy plan's
    peak (kW) before and after, overloaded transformers and lowest voltage (pu) after, the on-demand
    day's served share, mean wait (s) and km, the fleet size needed, the booked trips' km and the
    run's wall-clock time (s); with ``fn="dispatch"``: the on-demand day's KPIs."""
    if fn not in FUNCTIONS:
        raise ValueError(f"fn must be one of {FUNCTIONS}, got {fn!r}")
    s = check_scenario(scenario)
    district = district_variant(s)
    if fn == "dispatch":
        return {**s, **_dispatch_kpis(district, s["signals"])}
    from smartopt.app.pipeline import run_district

    day = run_district(
        district,
        scenario="sejong-5-1",
        seed=s["seed"],
        show=False,
        shuttle_iterations=s["shuttle_iterations"],
        time_limit_s=s["time_limit_s"],
        dispatch_signals=s["signals"],
    )
    r = day.results
    plan, on_demand = r.energy.plan, r.dispatch.on_demand
    peaks = district.peak_periods
    first, last = (r.signals.periods[p].timing["smartopt"] for p in (peaks[0], peaks[-1]))
    return {
        **s,
        "first_peak_delay_veh_h": first.total_delay_veh_h,
        "last_peak_delay_veh_h": last.total_delay_veh_h,
        "peak_kw_uncontrolled": plan.before.peak_kw,
        "peak_kw_planned": plan.after.peak_kw,
        "overloaded_trafos_planned": plan.after.overloaded_trafos,
        "min_vm_pu_planned": plan.after.min_vm_pu,
        "served_ratio": on_demand.kpis.served_ratio,
        "mean_wait_s": on_demand.kpis.mean_wait_s,
        "vehicle_km": on_demand.kpis.vehicle_km,
        "fleet_needed": on_demand.fleet_sizing.smallest_fleet,
        "booked_km": r.dispatch.booked_trips.vehicle_km,
        "runtime_s": r.runtime_s,
    }


def sweep(
    scenarios: Sequence[Mapping[str, Any]],
    fn: str = "run",
    client: Any = None,
    *,
    retries: int = 2,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Runs every scenario (see the module's docstring) on Dask and returns one row per scenario,
    in order. ``client``: a ``dask.distributed.Client``, a scheduler address, or None for a
    ``LocalCluster`` of two single-threaded worker processes (closed afterwards). Failed tasks
    are retried ``retries`` times. ``progress`` shows a bar (default: when stderr is a terminal or
    in a Jupyter notebook).

    Example (in a script, under ``if __name__ == "__main__":`` since Dask starts worker processes):
        >>> from smartopt import sweep
        >>> rows = sweep([{"seed": s, "fleet_size": 18} for s in range(4)], fn="dispatch")  # doctest: +SKIP
        >>> rows[["seed", "served_ratio", "mean_wait_s"]]  # doctest: +SKIP
    """
    import pandas as pd

    from smartopt import _progress

    show = _progress.shown(progress)

    if fn not in FUNCTIONS:
        raise ValueError(f"fn must be one of {FUNCTIONS}, got {fn!r}")
    checked = [check_scenario(s, f"scenarios[{k}]") for k, s in enumerate(scenarios)]
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError("smartopt.sweep needs Dask: pip install 'smartopt[dask]'") from exc
    own: list[Any] = []
    if client is None:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        own = [client, cluster]
    elif isinstance(client, str):
        client = Client(client)
        own = [client]
    try:
        futures = client.map(run_scenario, checked, fn=fn, retries=retries, pure=False)
        for _ in _progress.progress(as_completed(futures), total=len(futures), desc="scenarios", enabled=show):
            pass
        rows = client.gather(futures)
    finally:
        for thing in own:
            thing.close()
    return pd.DataFrame(rows)


def read_grid(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """``fn`` and the scenarios of a sweep file (TOML): ``fn = "run" | "dispatch"``, a ``[grid]``
    table of override lists whose every combination is a scenario, and an optional ``[fixed]``
    table of overrides shared by all. ValueError naming the key at fault."""
    import itertools
    import tomllib

    with path.open("rb") as f:
        spec = tomllib.load(f)
    unknown = set(spec) - {"fn", "grid", "fixed"}
    if unknown:
        raise ValueError(f"{path}: unknown key {sorted(unknown)[0]!r}; expected fn, [grid] and [fixed]")
    fn = spec.get("fn", "run")
    if fn not in FUNCTIONS:
        raise ValueError(f"{path}: fn must be one of {FUNCTIONS}, got {fn!r}")
    grid, fixed = spec.get("grid", {}), spec.get("fixed", {})
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: grid.{name} must be a non-empty list")
    names = list(grid)
    scenarios = [{**fixed, **dict(zip(names, combo, strict=True))} for combo in itertools.product(*grid.values())]
    for k, scenario in enumerate(scenarios):
        check_scenario(scenario, f"{path}: scenario {k}")
    return fn, scenarios


def _dispatch_kpis(district: District, signals: str) -> dict[str, float]:
    """The on-demand day of ``district`` on travel times with ``signals``' delays (or free flow)."""
    from smartopt.app.coupling import district_time_of_day
    from smartopt.app.pipeline import DISPATCH_WAIT_WEIGHT
    from smartopt.dispatch import Policy, TravelSpace, simulate
    from smartopt.signals import optimize_fixed_time, webster

    tod: list[tuple[float, TravelSpace]] = []
    if signals != "none":
        timing = optimize_fixed_time if signals == "smartopt" else webster
        x = district.intersections
        plans = {p: timing(x, k) for k, p in enumerate(district.periods) if p in district.signal_hours}
        tod = district_time_of_day(district, plans)
    space = TravelSpace.from_network(district.network)
    day = simulate(
        space, district.fleet, district.requests, policy=Policy(wait_weight=DISPATCH_WAIT_WEIGHT), time_of_day=tod,
        progress=False,
    )  # fmt: skip
    return day.kpis
