"""The ``smartopt`` command: ``info`` describes the built-in district, ``run`` runs the main job,
``signals optimize`` times the traffic lights of a SUMO network, ``route`` solves a VRPLIB file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

import smartopt

SCENARIOS = ("sejong-5-1",)
SHUTTLE_TIME_LIMIT_S = 10.0
"""Search time of the booked shuttle trips in ``smartopt run``, s."""
DISPATCH_WAIT_WEIGHT = 1.0
"""The on-demand day's insertion cost per s of a new rider's wait (s of added driving)."""
SIZING_TARGET = (0.95, 300.0)
"""Fleet sizing in ``smartopt run``: served share and mean wait (s) to reach."""
REOPTIMIZE_S = 300.0
"""How often (s) the routing solver re-plans the on-demand fleet in ``smartopt run``'s comparison."""


class _Parser(argparse.ArgumentParser):
    """Reports bad arguments in one line and exits with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="smartopt",
        description="Optimisation for the Sejong 5-1 smart-city district: signals, energy, dispatch.",
    )
    parser.add_argument("--version", action="version", version=f"smartopt {smartopt.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def scenario_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--scenario",
            choices=SCENARIOS,
            default=SCENARIOS[0],
            help="built-in district (default: %(default)s)",
        )
        p.add_argument("--seed", type=int, default=0, help="scenario seed, >= 0 (default: %(default)s)")

    info = sub.add_parser("info", help="describe the built-in district")
    scenario_args(info)
    run = sub.add_parser("run", help="run the main job on the district and write the results")
    scenario_args(run)
    run.add_argument("--out", type=Path, default=Path("smartopt-out"), help="output folder (default: %(default)s)")
    signals = sub.add_parser("signals", help="signal timing tools")
    signals_sub = signals.add_subparsers(dest="signals_command", metavar="COMMAND", parser_class=_Parser, required=True)
    opt = signals_sub.add_parser(
        "optimize", help="optimise every traffic light of a SUMO network for a route file's demand"
    )
    opt.add_argument("--sumo-net", type=Path, required=True, help="SUMO network (.net.xml)")
    opt.add_argument("--sumo-routes", type=Path, required=True, help="routes with explicit edges (.rou.xml)")
    opt.add_argument("--begin", type=float, default=0.0, help="start of the demand window, s (default: 0)")
    opt.add_argument("--end", type=float, default=3600.0, help="end of the demand window, s (default: 3600)")
    opt.add_argument("--out", type=Path, required=True, help="the plan as a SUMO additional file (.add.xml)")
    opt.add_argument("--time-limit", type=float, default=60.0, help="search time, s (default: %(default)s)")
    opt.add_argument("--seed", type=int, default=0, help="search seed (default: %(default)s)")
    route = sub.add_parser("route", help="solve a vehicle routing instance (VRPLIB or Solomon file)")
    route.add_argument("file", type=Path, help="the instance (.vrp, .txt)")
    route.add_argument("--time-limit", type=float, default=10.0, help="search time, s (default: %(default)s)")
    route.add_argument("--seed", type=int, default=0, help="search seed (default: %(default)s)")
    route.add_argument(
        "--round",
        choices=("dimacs", "round", "exact", "none"),
        default="dimacs",
        help="distance rounding: dimacs (1 decimal, truncated), round (integers), exact (3 decimals), none",
    )
    route.add_argument("--solver", choices=("smartopt", "ortools"), default="smartopt", help="(default: smartopt)")
    route.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def route_file(path: Path, *, time_limit: float, seed: int, round_func: str, solver: str, as_json: bool) -> None:
    """Solves one VRPLIB/Solomon file and prints cost, routes used, feasibility and the routes."""
    from smartopt.dispatch import read_vrplib, solve_vrp

    problem = read_vrplib(path, round_func)
    result = solve_vrp(problem, time_limit=time_limit, seed=seed, solver=solver)
    if as_json:
        print(json.dumps({"instance": problem.name, **result.to_dict()}))
        return
    print(f"{problem!r}\n{result!r}")
    for r in result.routes:
        print(f"  vehicle {r.vehicle}: {' '.join(map(str, r.visits.tolist()))}")
    for v in result.violations():
        print(f"  ! {v}")


def optimize_sumo(
    net: Path, routes: Path, begin: float, end: float, out: Path, *, time_limit_s: float = 60.0, seed: int = 0
) -> None:
    """A coordinated fixed-time plan for every light of a SUMO network (common cycle, splits and
    offsets from :func:`~smartopt.signals.optimize_network`), written as tlLogic programs."""
    from smartopt.signals import optimize_network, sumo

    signals = sumo.read_sumo_signals(net, routes, begin=begin, end=end)
    demand = sumo.read_sumo_demand(signals.network, routes, begin=begin, end=end)
    model = sumo.sumo_traffic_model(signals)
    found = optimize_network(model, demand, duration_s=min(end - begin, 1800.0), time_limit_s=time_limit_s, seed=seed)
    sumo.write_tllogic(sumo.plan_programs(signals, found.plan), out)
    print(
        f"{len(signals.intersections)} traffic lights; common cycle {found.plan.cycle_s[0]:g} s; model delay + stops "
        f"{found.zero_offset_objective_veh_h:.1f} veh h (offsets all zero) -> {found.objective_veh_h:.1f} veh h; "
        f"{found.evaluations} model runs in {found.elapsed_s:.1f} s. Plan: {out}"
    )


@contextmanager
def _step(label: str) -> Iterator[None]:
    """Prints ``label`` and, when the block ends, how long it took (s)."""
    print(f"  {label:<52}", end="", flush=True)
    start = time.perf_counter()
    yield
    print(f"{time.perf_counter() - start:6.2f} s")


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _time_signals(district: Any, period: int) -> dict[str, Any]:
    """Webster's plans (the baseline) and smartopt's delay-minimising plans for one period, with
    their HCM delays."""
    from smartopt.signals.timing import hcm_delay, optimize_fixed_time, webster

    x = district.intersections
    plans = {"webster": webster(x, period), "smartopt": optimize_fixed_time(x, period)}
    reports = {name: hcm_delay(x, plan, period) for name, plan in plans.items()}
    summary = {
        name: {
            "total_delay_veh_h": r.total_delay_veh_h,
            "average_delay_s": r.average_delay_s,
            "mean_cycle_s": float(plans[name].cycle_s.mean()),
            "intersections_los_e_or_f": int(np.isin(r.intersection_los, ["E", "F"]).sum()),
        }
        for name, r in reports.items()
    }
    return {"plans": plans, "reports": reports, "summary": summary}


def _green_wave(district: Any, period: int, out: Path) -> dict[str, Any]:
    """Common cycle, splits and MAXBAND offsets for the BRT trunk; writes its time-space diagram."""
    from smartopt.signals import bandwidths, optimize_fixed_time
    from smartopt.signals.greenwave import coordinate, corridor, plot_time_space

    name = "BRT trunk"
    signals = [district.intersections[i] for i in district.corridors[name]]
    cycle = float(np.ceil(optimize_fixed_time(signals, period).cycle_s.max()))
    plan = optimize_fixed_time(signals, period, cycle_s=cycle)
    corr = corridor(district.network, signals, [plan.greens(i) for i in range(len(signals))], cycle)
    offsets, wave = coordinate(corr, (11.1, 13.9), ratio=1.0)
    before = bandwidths(corr.position_m, corr.red_out_s, corr.red_in_s, cycle, corr.green_out_start_s, 12.5,
                        red_shift_s=corr.red_shift_s)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    plot_time_space(corr, offsets, wave).savefig(out / "brt_time_space.png", dpi=110)
    return {
        "corridor": name,
        "intersections": list(corr.intersection_ids),
        "cycle_s": cycle,
        "offset_s": [float(o) for o in offsets],
        "bandwidth_out_s": wave.bandwidth_out_s,
        "bandwidth_in_s": wave.bandwidth_in_s,
        "uncoordinated_bandwidth_s": [float(b) for b in before],
        "solver_status": wave.status,
    }


def _energy_plan(energy: Any, out: Path) -> dict[str, Any]:
    """The day's EV charging and battery planned together within the grid limits; writes the
    per-slot table ``energy_plan.csv`` and the load curves and state of charge ``energy_plan.png``.
    Then the LV feeders' households and single-phase chargers (with the planned charging) go on
    phases: installed in turn (A, B, C, A, ...) against balanced by smartopt."""
    from smartopt.energy import balance_phases, phase_imbalance_kw, plan_day

    plan = plan_day(energy)
    plan.to_frame().to_csv(out / "energy_plan.csv")
    plan.plot().savefig(out / "energy_plan.png", dpi=110)
    profile, feeder = energy.single_phase_loads(plan.charger_kw)
    in_turn = np.concatenate([np.arange(c) % 3 for c in np.bincount(feeder)])
    before = phase_imbalance_kw(profile, in_turn, feeder)
    balanced = balance_phases(profile, feeder=feeder, time_limit_s=5.0)
    phases = {
        "feeders": int(before.size),
        "single_phase_loads": int(feeder.size),
        "in_turn_worst_imbalance_kw": round(float(before.max()), 2),
        "in_turn_mean_worst_imbalance_kw": round(float(before.mean()), 2),
        "balanced_worst_imbalance_kw": round(float(balanced.imbalance_kw.max()), 2),
        "balanced_mean_worst_imbalance_kw": round(float(balanced.imbalance_kw.mean()), 2),
        "runtime_s": round(balanced.runtime_s, 2),
    }
    return {**plan.summary(), "phases": phases}


def _grid_day(energy: Any, out: Path) -> dict[str, Any]:
    """Power flow of every slot of the day (uncontrolled EV charging, idle battery): the extremes,
    losses and limit violations; writes the per-slot table ``grid_day.csv``."""
    started = time.perf_counter()
    result = energy.power_flow()
    solve_s = time.perf_counter() - started
    grid = energy.day_grid
    name = grid.bus_name

    def clock(slot: int) -> str:
        minutes = round(slot * energy.slot_h * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    def branch_name(kind: str, k: int) -> str:
        if kind == "line":
            return f"line {name[grid.line_from[k]]} - {name[grid.line_to[k]]}"
        return f"transformer {name[grid.trafo_hv_bus[k]]} / {name[grid.trafo_lv_bus[k]]}"

    vm = result.vm_pu
    t_min, b_min = np.unravel_index(np.nanargmin(vm), vm.shape)
    peaks = {}
    for kind, loading in (("line", result.line_loading_percent), ("trafo", result.trafo_loading_percent)):
        t, k = np.unravel_index(np.nanargmax(loading), loading.shape)
        peaks[kind] = {
            "element": branch_name(kind, int(k)),
            "loading_percent": float(loading[t, k]),
            "at": clock(int(t)),
        }
    v = result.violations()
    violations = [
        {"kind": "bus", "element": str(name[b]), "worst": float(w), "slots": int(n)}
        for b, w, n in zip(v.bus, v.bus_vm_pu, v.bus_snapshots, strict=True)
    ] + [
        {"kind": kind, "element": branch_name(kind, int(k)), "worst": float(w), "slots": int(n)}
        for kind, idx, worst, slots in (
            ("line", v.line, v.line_loading_percent, v.line_snapshots),
            ("trafo", v.trafo, v.trafo_loading_percent, v.trafo_snapshots),
        )
        for k, w, n in zip(idx, worst, slots, strict=True)
    ]
    frame = result.to_frame()
    frame.insert(0, "time", [clock(t) for t in range(energy.num_slots)])
    frame.to_csv(out / "grid_day.csv", index=False)
    losses_kwh = float(result.losses_kw.sum() * energy.slot_h)
    supplied_kwh = float(result.slack_p_kw.sum() * energy.slot_h)
    return {
        "buses": grid.num_buses,
        "slots_converged": int(result.converged.sum()),
        "min_vm_pu": float(vm[t_min, b_min]),
        "min_vm_bus": str(name[b_min]),
        "min_vm_at": clock(int(t_min)),
        "max_vm_pu": float(np.nanmax(vm)),
        "peak_line": peaks["line"],
        "peak_trafo": peaks["trafo"],
        "losses_kwh": losses_kwh,
        "losses_percent_of_supply": 100.0 * losses_kwh / supplied_kwh,
        "peak_supply_kw": float(np.nanmax(result.slack_p_kw)),
        "voltage_band_pu": [0.95, 1.05],
        "violations": violations,
        "solve_ms": 1000.0 * solve_s,
    }


def _shuttle_plan(district: Any, seed: int, out: Path) -> dict[str, Any]:
    """Routes for the day's booked shuttle trips (pickup and delivery with time windows on the road
    network); the stops per shuttle go to ``shuttle_routes.csv``."""
    from smartopt.dispatch import solve_vrp
    from smartopt.dispatch.shuttles import booked_trips, trip_summary

    trips = booked_trips(district, seed=seed)
    result = solve_vrp(trips.problem, time_limit=SHUTTLE_TIME_LIMIT_S, seed=seed)
    frame = result.to_frame()
    frame.insert(4, "node", district.network.node_ids[trips.node[frame["client"].to_numpy()]])
    frame.insert(5, "booking", trips.request[(frame["client"].to_numpy() - trips.problem.depots.size) // 2])
    frame.to_csv(out / "shuttle_routes.csv", index=False)
    return trip_summary(trips, result)


def _shuttle_day(district: Any, space: Any, out: Path) -> dict[str, Any]:
    """The day's on-demand requests simulated with pooled insertion (per request in
    ``shuttle_day.csv``), the smallest fleet reaching :data:`SIZING_TARGET`, and that fleet's day
    with and without the routing solver re-optimising the plans every :data:`REOPTIMIZE_S`."""
    from smartopt.dispatch import Policy, simulate, size_fleet

    policy = Policy(wait_weight=DISPATCH_WAIT_WEIGHT)
    day = simulate(space, district.fleet, district.requests, policy=policy, progress=False)
    day.to_frame().to_csv(out / "shuttle_day.csv", index=False)
    shuttles = district.fleet.num_vehicles
    served, wait = SIZING_TARGET
    sizing = size_fleet(
        space,
        district.fleet,
        district.requests,
        sizes=range(2, 2 * shuttles + 1, 2),
        served_ratio=served,
        mean_wait_s=wait,
        policy=policy,
    )
    small = district.fleet.resized(sizing.smallest or shuttles)
    reoptimized = Policy(wait_weight=DISPATCH_WAIT_WEIGHT, reoptimize_s=REOPTIMIZE_S)
    return {
        "policy": f"pooled cheapest insertion, cost = added driving + {DISPATCH_WAIT_WEIGHT:g} x wait",
        "kpis": day.kpis,
        "reoptimization": {
            "shuttles": small.num_vehicles,
            "every_s": REOPTIMIZE_S,
            "kpis_without": simulate(space, small, district.requests, policy=policy, progress=False).kpis,
            "kpis_with": simulate(space, small, district.requests, policy=reoptimized, progress=False).kpis,
        },
        "charging_sessions": int(day.charging["vehicle"].size),
        "fleet_sizing": {
            "target_served_ratio": served,
            "target_mean_wait_s": wait,
            "smallest_fleet": sizing.smallest,
            "sizes": sizing.sizes.tolist(),
            "served_ratio": sizing.served_ratio.tolist(),
            "mean_wait_s": sizing.mean_wait_s.tolist(),
        },
    }


def _signal_aware_dispatch(
    district: Any, space: Any, peaks: dict[str, dict[str, Any]], on_demand: dict[str, Any]
) -> dict[str, Any]:
    """The on-demand day of the sized fleet at free flow, and with the links' travel times carrying
    the HCM delays of Webster's and of smartopt's signal plans in each period's hours."""
    from smartopt.coupling import SIGNAL_WINDOWS_H, mean_signal_delay_s, signal_time_of_day
    from smartopt.dispatch import Policy, simulate

    timed = {**peaks, "midday": _time_signals(district, district.periods.index("midday"))}
    fleet = district.fleet.resized(on_demand["reoptimization"]["shuttles"])
    policy = Policy(wait_weight=DISPATCH_WAIT_WEIGHT)
    days = {"free_flow": simulate(space, fleet, district.requests, policy=policy, progress=False)}
    added: dict[str, dict[str, float]] = {}
    for name in ("webster", "smartopt"):
        plans = {period: res["plans"][name] for period, res in timed.items()}
        tod = signal_time_of_day(district.network, district.intersections, district.periods, plans)
        days[f"{name}_signals"] = simulate(
            space, fleet, district.requests, policy=policy, time_of_day=tod, progress=False
        )
        added[name] = {
            f"from_{t / 3600:g}h": delay for (t, _), delay in zip(tod, mean_signal_delay_s(tod, space), strict=True)
        }
    return {
        "shuttles": fleet.num_vehicles,
        "windows_h": {p: list(w) for p, w in SIGNAL_WINDOWS_H.items()},
        "mean_added_time_s": added,
        "kpis": {name: day.kpis for name, day in days.items()},
    }


def _write_signal_table(peaks: dict[str, dict[str, Any]], path: Path) -> None:
    """One row per period and intersection: cycle, greens, delay and LOS before and after."""
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["period", "intersection", "plan", "cycle_s", "greens_s", "delay_s", "los"])
        for period, res in peaks.items():
            for name, plan in res["plans"].items():
                report = res["reports"][name]
                for i, xid in enumerate(plan.intersection_ids):
                    greens = "/".join(f"{g:.1f}" for g in plan.greens(i))
                    delay = report.intersection_delay_s[i]
                    w.writerow([period, xid, name, f"{plan.cycle_s[i]:.1f}", greens, f"{delay:.2f}",
                                report.intersection_los[i]])  # fmt: skip


def _print_signal_table(peaks: dict[str, dict[str, Any]]) -> None:
    print("\nSignal timing, per intersection: cycle s, delay s/veh and LOS, Webster -> smartopt; smartopt's")
    periods = list(peaks)
    print(f"  {'junction':<9}" + "".join(f"{p:^34}" for p in periods) + f"  {periods[-1]} greens s")
    ids = peaks[periods[0]]["plans"]["webster"].intersection_ids
    for i, xid in enumerate(ids):
        cells = []
        for p in periods:
            w, o = (peaks[p]["plans"][n] for n in ("webster", "smartopt"))
            rw, ro = (peaks[p]["reports"][n] for n in ("webster", "smartopt"))
            cells.append(
                f"{w.cycle_s[i]:4.0f}->{o.cycle_s[i]:4.0f}  {rw.intersection_delay_s[i]:6.1f}->"
                f"{ro.intersection_delay_s[i]:5.1f} {rw.intersection_los[i]}->{ro.intersection_los[i]}"
            )
        greens = "/".join(f"{g:.0f}" for g in peaks[periods[-1]]["plans"]["smartopt"].greens(i))
        print(f"  {xid:<9}" + "".join(f"{c:^34}" for c in cells) + f"  {greens}")
    for p in periods:
        sw, so = peaks[p]["summary"]["webster"], peaks[p]["summary"]["smartopt"]
        print(
            f"  total {p}: {sw['total_delay_veh_h']:,.0f} -> {so['total_delay_veh_h']:,.0f} veh*h/h of delay "
            f"({1 - so['total_delay_veh_h'] / sw['total_delay_veh_h']:.0%} less); average "
            f"{sw['average_delay_s']:.1f} -> {so['average_delay_s']:.1f} s/veh"
        )


def run(scenario: str, seed: int, out: Path) -> dict[str, Any]:
    """The main job on a built-in district. Returns the results written to ``out/results.json``."""
    from smartopt.datasets import sejong_5_1
    from smartopt.dispatch import TravelSpace

    started = time.perf_counter()
    print(f"smartopt {smartopt.__version__} — main job on {scenario} (seed {seed})")
    with _step("building the district"):
        district = sejong_5_1(seed)
    net, energy, fleet, requests = district.network, district.energy, district.fleet, district.requests

    with _step(f"travel times, all {net.num_nodes} x {net.num_nodes} node pairs"):
        space = TravelSpace.from_network(net)  # the dispatch space holds the all-pairs times
        assert space.time_s is not None
        tt = space.time_s
    ride_s = tt[requests.origin, requests.destination]

    with _step("signal loads (Webster critical flow ratios)"):
        y = np.array([i.critical_flow_ratio() for i in district.intersections])
        entering = np.array([i.volume_vph.sum(axis=1) for i in district.intersections])
    with _step("signal timing, AM and PM peaks (first run compiles)"):
        peaks = {p: _time_signals(district, k) for k, p in enumerate(district.periods) if p.endswith("peak")}
    with _step("green wave on the BRT trunk, PM peak (MAXBAND)"):
        wave = _green_wave(district, district.periods.index("pm_peak"), out)
    with _step("energy day: base load, PV, uncontrolled EV charging"):
        base = energy.load_kw.sum(axis=1)
        net_load = energy.net_load_kw()
        ev = energy.uncontrolled_ev_kw()
    out.mkdir(parents=True, exist_ok=True)
    with _step(f"grid day: power flow of {energy.num_slots} slots on the {energy.grid.num_buses}-bus grid"):
        grid_day = _grid_day(energy, out)
    with _step("energy plan: EV charging and battery within the grid limits (LP + power flow), phases"):
        plan = _energy_plan(energy, out)
    with _step(f"shuttles: the day's booked trips (pickup and delivery, {SHUTTLE_TIME_LIMIT_S:g} s search)"):
        shuttles = _shuttle_plan(district, seed, out)
    with _step("shuttles: the day's on-demand requests simulated (pooled insertion), and the fleet size needed"):
        on_demand = _shuttle_day(district, space, out)
    with _step("coupling: the on-demand day on travel times with each signal plan's delays"):
        coupling = {"signal_aware_dispatch": _signal_aware_dispatch(district, space, peaks, on_demand)}

    hours = (requests.time_s // 3600).astype(int)
    busy = int(np.bincount(hours).argmax())
    results: dict[str, Any] = {
        "smartopt_version": smartopt.__version__,
        "scenario": scenario,
        "seed": seed,
        "solvers": "signals: fixed-time cycle and splits (HCM delay) against Webster; energy: the day's "
        "power flow with uncontrolled charging, then EV charging and the battery planned together within "
        "transformer, line and voltage limits; dispatch: the day's booked shuttle trips routed as a pickup-and-"
        "delivery problem with time windows, and the day's on-demand requests simulated with pooled insertion",
        "network": {
            "nodes": net.num_nodes,
            "links": net.num_links,
            "mean_travel_time_s": float(tt[np.isfinite(tt)].mean()),
            "max_travel_time_s": float(tt[np.isfinite(tt)].max()),
        },
        "signals": {
            "intersections": len(district.intersections),
            "periods": {
                p: {
                    "entering_vph": float(entering[:, k].sum()),
                    "webster_y_mean": float(y[:, k].mean()),
                    "webster_y_max": float(y[:, k].max()),
                    "intersections_y_over_0_8": int((y[:, k] > 0.8).sum()),
                    **({"timing": peaks[p]["summary"]} if p in peaks else {}),
                }
                for k, p in enumerate(district.periods)
            },
            "coordination": wave,
        },
        "energy": {
            "slots": energy.num_slots,
            "base_peak_kw": float(base.max()),
            "base_energy_kwh": float(base.sum() * energy.slot_h),
            "pv_energy_kwh": float(energy.pv_kwp.sum() * energy.pv_profile_pu.sum() * energy.slot_h),
            "ev_sessions": int(energy.ev_energy_kwh.size),
            "ev_energy_kwh": float(energy.ev_energy_kwh.sum()),
            "uncontrolled_peak_kw": float((net_load + ev).max()),
            "substation_rating_kva": float(energy.grid.trafo_sn_kva[0]),
            "grid": grid_day,
            "plan": plan,
        },
        "dispatch": {
            "shuttles": fleet.num_vehicles,
            "requests": len(requests),
            "mean_direct_ride_s": float(ride_s.mean()),
            "p95_direct_ride_s": _percentile(ride_s, 95),
            "busiest_hour": busy,
            "busiest_hour_requests": int((hours == busy).sum()),
            "busiest_hour_direct_vehicle_hours": float(ride_s[hours == busy].sum() / 3600),
            "booked_trips": shuttles,
            "on_demand": on_demand,
        },
        "coupling": coupling,
        "runtime_s": time.perf_counter() - started,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    _write_signal_table(peaks, out / "signals.csv")
    _print_signal_table(peaks)
    print(
        f"  green wave, {wave['corridor']} ({len(wave['intersections'])} signals, PM peak, cycle "
        f"{wave['cycle_s']:.0f} s): bands {wave['uncoordinated_bandwidth_s'][0]:.0f}/"
        f"{wave['uncoordinated_bandwidth_s'][1]:.0f} s without offsets -> {wave['bandwidth_out_s']:.0f}/"
        f"{wave['bandwidth_in_s']:.0f} s eastbound/westbound; time-space diagram: {out / 'brt_time_space.png'}"
    )

    s, e, d = results["signals"]["periods"], results["energy"], results["dispatch"]
    print("\nDistrict figures:")
    n_signals = results["signals"]["intersections"]
    for p, v in s.items():
        print(
            f"  signals  {p:<8} {v['entering_vph']:>9,.0f} veh/h entering (sum over {n_signals} junctions); "
            f"Webster Y mean {v['webster_y_mean']:.2f}, max {v['webster_y_max']:.2f}; "
            f"{v['intersections_y_over_0_8']} over 0.8"
        )
    print(
        f"  energy   base peak {e['base_peak_kw'] / 1000:.2f} MW; with uncontrolled EV charging and PV "
        f"{e['uncontrolled_peak_kw'] / 1000:.2f} MW; {e['ev_sessions']} EV sessions, "
        f"{e['ev_energy_kwh'] / 1000:.1f} MWh"
    )
    g = e["grid"]
    print(
        f"  grid     {g['slots_converged']}/{e['slots']} slots solved in {g['solve_ms']:.1f} ms; min voltage "
        f"{g['min_vm_pu']:.4f} pu at {g['min_vm_bus']} ({g['min_vm_at']}); peak loading: line "
        f"{g['peak_line']['loading_percent']:.0f} %, transformer {g['peak_trafo']['loading_percent']:.0f} % "
        f"({g['peak_trafo']['element']}, {g['peak_trafo']['at']}); losses {g['losses_kwh'] / 1000:.2f} MWh "
        f"({g['losses_percent_of_supply']:.1f} % of supply)"
    )
    for viol in g["violations"]:
        unit = "pu" if viol["kind"] == "bus" else "%"
        print(f"           violation: {viol['element']}: {viol['worst']:.3f} {unit} in {viol['slots']} slots")
    pb, pa = e["plan"]["before"], e["plan"]["after"]
    print(
        f"  plan     managed charging + battery: peak {pb['peak_kw'] / 1000:.2f} -> {pa['peak_kw'] / 1000:.2f} MW, "
        f"load factor {pb['load_factor']:.2f} -> {pa['load_factor']:.2f}; EV energy served "
        f"{e['plan']['ev_energy_served_kwh'] / 1000:.1f} of {e['plan']['ev_energy_asked_kwh'] / 1000:.1f} MWh; "
        f"overloaded transformers {pb['overloaded_trafos']} -> {pa['overloaded_trafos']}, peak transformer "
        f"loading {pb['peak_trafo_loading_percent']:.0f} -> {pa['peak_trafo_loading_percent']:.0f} %, min voltage "
        f"{pb['min_vm_pu']:.4f} -> {pa['min_vm_pu']:.4f} pu ({e['plan']['runtime_s']:.1f} s)"
    )
    ph = e["plan"]["phases"]
    print(
        f"  phases   {ph['single_phase_loads']:,} single-phase loads on {ph['feeders']} LV feeders: worst phase "
        f"imbalance, mean over feeders {ph['in_turn_mean_worst_imbalance_kw']:.1f} -> "
        f"{ph['balanced_mean_worst_imbalance_kw']:.1f} kW, max {ph['in_turn_worst_imbalance_kw']:.1f} -> "
        f"{ph['balanced_worst_imbalance_kw']:.1f} kW (installed in turn -> balanced, {ph['runtime_s']:.1f} s)"
    )
    print(
        f"  dispatch {d['requests']:,} requests for {d['shuttles']} shuttles; "
        f"direct ride mean {d['mean_direct_ride_s']:.0f} s; "
        f"busiest hour {d['busiest_hour']:02d}:00: {d['busiest_hour_requests']} requests, "
        f"{d['busiest_hour_direct_vehicle_hours']:.1f} vehicle-hours of direct riding"
    )
    b = d["booked_trips"]
    print(
        f"  shuttles {b['bookings']} booked trips: {b['served']} served, on time {100 * b['on_time_rate']:.1f} %, "
        f"{b['shuttles_used']} of {b['shuttles']} shuttles, {b['vehicle_km']:.1f} km, ride / direct ride "
        f"{b['mean_ride_over_direct']:.2f}, pickup {b['mean_pickup_deviation_s']:.0f} s from the booked time on "
        f"average ({b['runtime_s']:.1f} s)"
    )
    k, fs = d["on_demand"]["kpis"], d["on_demand"]["fleet_sizing"]
    smallest = "none of the sizes tried" if fs["smallest_fleet"] is None else f"{fs['smallest_fleet']} shuttles"
    print(
        f"  on-demand {int(k['requests']):,} requests: served {100 * k['served_ratio']:.1f} %, wait mean "
        f"{k['mean_wait_s']:.0f} s (p95 {k['p95_wait_s']:.0f} s), ride / direct {k['mean_detour']:.2f}, occupancy "
        f"{k['occupancy']:.2f}, {k['vehicle_km']:.0f} km ({k['empty_km']:.0f} empty), {k['energy_kwh']:.0f} kWh; "
        f"{100 * fs['target_served_ratio']:.0f} % served with mean wait <= {fs['target_mean_wait_s']:.0f} s "
        f"needs {smallest}"
    )
    c = results["coupling"]["signal_aware_dispatch"]
    print(f"  coupling: the on-demand day of {c['shuttles']} shuttles on travel times with signal delays")
    for name, k in c["kpis"].items():
        print(
            f"    {name.replace('_', ' '):<17} served {100 * k['served_ratio']:.1f} %, "
            f"wait mean {k['mean_wait_s']:.0f} s, ride / direct {k['mean_detour']:.2f}, {k['vehicle_km']:.0f} km, "
            f"{int(k['broken_promises'])} promises broken by a period change"
        )
    r = d["on_demand"]["reoptimization"]
    a, b = r["kpis_without"], r["kpis_with"]
    print(
        f"  re-planning {r['shuttles']} shuttles with the routing solver every {r['every_s']:.0f} s: served "
        f"{100 * a['served_ratio']:.1f} -> {100 * b['served_ratio']:.1f} %, wait mean {a['mean_wait_s']:.0f} -> "
        f"{b['mean_wait_s']:.0f} s, {a['vehicle_km']:.0f} -> {b['vehicle_km']:.0f} km "
        f"({int(b['reoptimizations'])} re-plans taken)"
    )
    print(
        f"\nDone in {results['runtime_s']:.2f} s. Results: {out / 'results.json'}, {out / 'signals.csv'}, "
        f"{out / 'grid_day.csv'}, {out / 'energy_plan.csv'}, {out / 'energy_plan.png'}, "
        f"{out / 'shuttle_routes.csv'}, {out / 'shuttle_day.csv'}"
    )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "seed", 0) < 0:
        parser.error(f"argument --seed: must be >= 0, got {args.seed}")
    try:
        if args.command == "info":
            from smartopt.datasets import sejong_5_1

            district = sejong_5_1(args.seed)
            print(district.summary())
            print("\nAssumptions:")
            print("\n".join(f"  - {a}" for a in district.assumptions))
        elif args.command == "route":
            route_file(
                args.file, time_limit=args.time_limit, seed=args.seed, round_func=args.round, solver=args.solver,
                as_json=args.json,
            )  # fmt: skip
        elif args.command == "signals":
            optimize_sumo(
                args.sumo_net, args.sumo_routes, args.begin, args.end, args.out,
                time_limit_s=args.time_limit, seed=args.seed,
            )  # fmt: skip
        else:
            run(args.scenario, args.seed, args.out)
    except (OSError, ValueError) as exc:
        print(f"smartopt: error: {exc}", file=sys.stderr)
        return 1
    return 0
