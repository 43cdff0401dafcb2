"""The district day as one system (``smartopt run``): signal plans for every period; link travel
times carrying the plans' control delays feed the shuttle dispatch; the depots charge at the power
their transformers have to spare; the shuttles' charging, the residents' EVs, PV and the battery
are planned together on the grid and checked by power flow; and what each coupling changed.
:func:`run_district` returns the results (a tree of dataclasses, :mod:`smartopt.app.results`) with
the objects behind them; with ``out`` it writes ``results.json``, CSVs per domain, the plots and
``report.html``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import smartopt
from smartopt._progress import in_kernel
from smartopt.app.district import District
from smartopt.app.results import (
    BookedTripsSummary,
    Coordination,
    CouplingResults,
    DayKpis,
    DepotChargerPower,
    DispatchResults,
    DistrictDay,
    DistrictResults,
    EnergyBalance,
    EnergyPlan,
    EnergyResults,
    FleetSizingSummary,
    GridDay,
    GridViolation,
    NetworkSummary,
    OnDemand,
    PeakLoading,
    PeriodPlans,
    PeriodSignals,
    PhaseBalance,
    PlanFigures,
    PlansWithShuttles,
    ReoptimizationSummary,
    ShuttleCharging,
    SignalAwareDispatch,
    SignalsResults,
    TimingSummary,
    UncontrolledPeaks,
    write_results,
)

if TYPE_CHECKING:
    from smartopt.dispatch import Fleet, FleetDay, TravelSpace
    from smartopt.energy import DayPlan, EnergyDay, PowerFlowResult


__all__ = ["Steps", "run_district"]

SHUTTLE_ITERATIONS = 2000
"""Iterations of the booked shuttle trips' routing search (about 10 s on a 2-core machine)."""
PHASE_ITERATIONS = 30_000_000
"""Moves and swaps the phase balancing tries over all feeders (about 4 s on a 2-core machine)."""
DISPATCH_WAIT_WEIGHT = 1.0
"""The on-demand day's insertion cost per s of a new rider's wait (s of added driving)."""
SIZING_TARGET = (0.95, 300.0)
"""Fleet sizing: served share and mean wait (s) to reach."""
DEPOT_FLOOR_KW = 0.0
"""The least a depot charger may draw (kW) when its transformers have less to spare: none, so the
shuttles' charging never takes what the grid does not have (the slots where the floor applies are
reported)."""
REOPTIMIZE_S = 300.0
"""How often (s) the routing solver re-plans the on-demand fleet in the re-optimisation comparison."""
SIGNAL_PLANS = ("webster", "smartopt")
"""The signal plans compared: Webster's (the baseline) and smartopt's delay-minimising plans."""


class Steps:
    """Prints each step's label and, when it ends, how long it took (s); in a terminal or a notebook
    the time counts up while the step runs. Silent when ``show`` is false."""

    def __init__(self, show: bool = True) -> None:
        self.show = show

    @contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        start = time.perf_counter()

        def line(end: str, digits: int) -> None:
            print(f"\r  {label:<60}{time.perf_counter() - start:6.{digits}f} s", end=end, flush=True)

        if self.show:
            print(f"  {label:<60}", end="", flush=True)
        done = threading.Event()

        def tick() -> None:
            while not done.wait(1.0):
                line("", 0)

        ticker = threading.Thread(target=tick, daemon=True)
        counting = self.show and (sys.stdout.isatty() or in_kernel())
        if counting:
            ticker.start()
        try:
            yield
        except BaseException:
            if self.show:  # end the step's line: an error message starts on a line of its own
                print(flush=True)
            raise
        finally:
            done.set()
            if counting:
                ticker.join()
        if counting:
            line("\n", 2)
        elif self.show:  # a file or pipe: the label stays, the time follows it
            print(f"{time.perf_counter() - start:6.2f} s")


def run_district(
    district: District,
    *,
    scenario: str,
    seed: int = 0,
    out: Path | None = None,
    show: bool = True,
    shuttle_iterations: int = SHUTTLE_ITERATIONS,
    phase_iterations: int = PHASE_ITERATIONS,
    time_limit_s: float | None = None,
    dispatch_signals: str = "smartopt",
) -> DistrictDay:
    """The district day (see the module's docstring); ``show`` prints each step and its time.
    With ``out`` the results, tables and plots are written there. ``dispatch_signals`` picks the
    travel times of the on-demand day: with the delays of ``"smartopt"``'s or ``"webster"``'s
    signal plans, or ``"none"`` (free flow).

    Every search runs on a work budget, so ``seed`` fixes the results on any machine and thread
    count: the booked trips' routing for ``shuttle_iterations`` iterations and the phase balancing
    for ``phase_iterations`` moves (the other steps are exact, or stop on a fixed number of
    iterations). With ``time_limit_s`` those two searches stop after that many seconds (wall clock)
    instead: faster or better on another machine, but no longer repeatable."""
    if dispatch_signals not in (*SIGNAL_PLANS, "none"):
        raise ValueError(f"dispatch_signals must be one of {(*SIGNAL_PLANS, 'none')}, got {dispatch_signals!r}")
    for name, value in (("shuttle_iterations", shuttle_iterations), ("phase_iterations", phase_iterations)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if time_limit_s is not None and not (isinstance(time_limit_s, int | float) and 0 < time_limit_s < math.inf):
        raise ValueError(f"time_limit_s must be None or a finite number of seconds > 0, got {time_limit_s!r}")
    budget = f"{time_limit_s:g} s" if time_limit_s is not None else f"{shuttle_iterations:,} iterations"
    from smartopt.app.coupling import depot_charging_kw, district_time_of_day, with_fleet_charging
    from smartopt.dispatch import TravelSpace
    from smartopt.energy import plan_day

    started = time.perf_counter()
    step = Steps(show)
    net, fleet, requests = district.network, district.fleet, district.requests
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    with step(f"travel times, all {net.num_nodes} x {net.num_nodes} node pairs"):
        space = TravelSpace.from_network(net)
        nodes = np.arange(net.num_nodes)
        tt = space.times(nodes, nodes)  # the network summary's mean and longest time
    ride_s = space.travel_time(requests.origin, requests.destination)
    with step("signal loads (Webster critical flow ratios)"):
        y = np.array([i.critical_flow_ratio() for i in district.intersections])
        entering = np.array([i.volume_vph.sum(axis=1) for i in district.intersections])
    with step("signal timing, every period (first run compiles)"):
        signal_plans = {p: _time_signals(district, k) for k, p in enumerate(district.periods)}
    with step("green wave on the first corridor, last peak (MAXBAND)"):
        wave = (
            _green_wave(district, district.periods.index(district.peak_periods[-1]), out)
            if district.corridors
            else None
        )
    with step("travel times with the signal plans' delays"):
        by_plan = {
            name: district_time_of_day(district, {p: t.plans[name] for p, t in signal_plans.items()})
            for name in SIGNAL_PLANS
        }
    with step("energy plan without the shuttles: their depots' spare power"):
        alone = plan_day(district.energy)
        limited = dataclasses.replace(
            fleet,
            charger_kw=depot_charging_kw(alone, fleet, floor_kw=DEPOT_FLOOR_KW),
            charger_slot_s=alone.day.slot_h * 3600.0,
        )
        district = dataclasses.replace(district, fleet=limited)
    times = by_plan.get(dispatch_signals, [])
    with step(f"shuttles: the booked trips on the travel times of the day ({budget})"):
        booked = _shuttle_plan(
            district, seed, out, max_iterations=shuttle_iterations, time_limit_s=time_limit_s, time_of_day=times
        )
    with step("shuttles: the on-demand day, fleet size"):
        on_demand, fleet_day = _shuttle_day(district, space, times, dispatch_signals, out)
    sized = on_demand.reoptimization.shuttles
    with step(f"coupling: {sized} shuttles at free flow and with signal delays"):
        signal_aware = _signal_aware_dispatch(district, space, by_plan, sized)
    energy = with_fleet_charging(
        district.energy, district.fleet, fleet_day.charger_load_kw(district.energy.slot_h * 3600)
    )
    with step(f"grid day: power flow of {energy.num_slots} slots on the {energy.grid.num_buses}-bus grid"):
        grid_summary, grid_flow = _grid_day(energy, out)
    with step("energy plan: EVs, shuttles, battery in grid limits; phases"):
        energy_plan, day_plan = _energy_plan(energy, out, max_iterations=phase_iterations, time_limit_s=time_limit_s)
    with step("coupling: the shuttles charging at full power instead"):
        fleet_charging = _fleet_charging(district, fleet, space, times, alone, energy, energy_plan)

    base, net_load, ev = energy.load_kw.sum(axis=1), energy.net_load_kw(), energy.uncontrolled_ev_kw()
    hours = (requests.time_s // 3600).astype(int)
    busy = int(np.bincount(hours).argmax())
    results = DistrictResults(
        smartopt_version=smartopt.__version__,
        scenario=scenario,
        seed=seed,
        solvers="signals: fixed-time cycle and splits (HCM delay) against Webster; energy: the day's "
        "power flow with uncontrolled charging, then EV and shuttle charging and the battery planned together "
        "within transformer, line and voltage limits; dispatch: the day's booked shuttle trips routed as a "
        "pickup-and-delivery problem with time windows, and the day's on-demand requests simulated with pooled "
        "insertion on travel times carrying the signal plans' delays",
        network=NetworkSummary(
            nodes=net.num_nodes,
            links=net.num_links,
            mean_travel_time_s=float(tt.mean()),
            max_travel_time_s=float(tt.max()),
        ),
        signals=SignalsResults(
            intersections=len(district.intersections),
            periods={
                p: PeriodSignals(
                    entering_vph=float(entering[:, k].sum()),
                    webster_y_mean=float(y[:, k].mean()),
                    webster_y_max=float(y[:, k].max()),
                    intersections_y_over_0_8=int((y[:, k] > 0.8).sum()),
                    timing=_timing_summary(signal_plans[p]),
                )
                for k, p in enumerate(district.periods)
            },
            coordination=wave,
        ),
        energy=EnergyResults(
            slots=energy.num_slots,
            base_peak_kw=float(base.max()),
            base_energy_kwh=float(base.sum() * energy.slot_h),
            pv_energy_kwh=float(energy.pv_kwp.sum() * energy.pv_profile_pu.sum() * energy.slot_h),
            ev_sessions=int(energy.ev_energy_kwh.size),
            ev_energy_kwh=float(energy.ev_energy_kwh.sum()),
            uncontrolled_peak_kw=float((net_load + ev).max()),
            substation_rating_kva=float(energy.grid.trafo_sn_kva[0]),
            grid=grid_summary,
            plan=energy_plan,
        ),
        dispatch=DispatchResults(
            shuttles=fleet.num_vehicles,
            requests=len(requests),
            mean_direct_ride_s=float(ride_s.mean()),
            p95_direct_ride_s=_percentile(ride_s, 95),
            busiest_hour=busy,
            busiest_hour_requests=int((hours == busy).sum()),
            busiest_hour_direct_vehicle_hours=float(ride_s[hours == busy].sum() / 3600),
            booked_trips=booked,
            on_demand=on_demand,
        ),
        coupling=CouplingResults(signal_aware_dispatch=signal_aware, shuttle_charging=fleet_charging),
        runtime_s=time.perf_counter() - started,
    )
    run = DistrictDay(results, district, signal_plans, fleet_day, grid_flow, day_plan, energy)
    if out is not None:
        from smartopt.app.report import write_report

        write_results(results, out / "results.json")
        _write_signal_table(signal_plans, out / "signals.csv")
        plots = {
            "Time-space diagram of the first corridor's green wave": out / "time_space.png",
            "District demand before and after the energy plan, and the battery's state of charge": out
            / "energy_plan.png",
            "The shuttle fleet over the day": out / "fleet_day.png",
        }
        write_report(run, out / "report.html", {k: v for k, v in plots.items() if v.exists()})
    return run


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _time_signals(district: District, period: int) -> PeriodPlans:
    """Webster's plans (the baseline) and smartopt's delay-minimising plans for one period, with
    their HCM delays."""
    from smartopt.signals.timing import hcm_delay, optimize_fixed_time, webster

    x = district.intersections
    plans = {"webster": webster(x, period), "smartopt": optimize_fixed_time(x, period)}
    return PeriodPlans(plans, {name: hcm_delay(x, plan, period) for name, plan in plans.items()})


def _timing_summary(timed: PeriodPlans) -> dict[str, TimingSummary]:
    """Each plan's HCM delays and mean cycle, by plan name."""
    return {
        name: TimingSummary(
            total_delay_veh_h=float(r.total_delay_veh_h),
            average_delay_s=float(r.average_delay_s),
            mean_cycle_s=float(timed.plans[name].cycle_s.mean()),
            intersections_los_e_or_f=int(np.isin(r.intersection_los, ["E", "F"]).sum()),
        )
        for name, r in timed.reports.items()
    }


def _green_wave(district: District, period: int, out: Path | None) -> Coordination:
    """Common cycle, splits and MAXBAND offsets for the district's first corridor (Sejong: the BRT
    trunk) in ``period``; writes its time-space diagram ``time_space.png``."""
    from smartopt.signals import bandwidths, optimize_fixed_time
    from smartopt.signals.greenwave import coordinate, corridor, plot_time_space

    name = next(iter(district.corridors))
    signals = [district.intersections[i] for i in district.corridors[name]]
    cycle = float(np.ceil(optimize_fixed_time(signals, period).cycle_s.max()))
    plan = optimize_fixed_time(signals, period, cycle_s=cycle)
    corr = corridor(district.network, signals, [plan.greens(i) for i in range(len(signals))], cycle)
    offsets, wave = coordinate(corr, (11.1, 13.9), ratio=1.0)
    zero_out, zero_in = bandwidths(corr.position_m, corr.red_out_s, corr.red_in_s, cycle, corr.green_out_start_s, 12.5,
                        red_shift_s=corr.red_shift_s)  # fmt: skip
    if out is not None:
        _save(plot_time_space(corr, offsets, wave), out / "time_space.png")
    return Coordination(
        corridor=name,
        intersections=tuple(corr.intersection_ids),
        cycle_s=cycle,
        offset_s=tuple(float(o) for o in offsets),
        bandwidth_out_s=float(wave.bandwidth_out_s),
        bandwidth_in_s=float(wave.bandwidth_in_s),
        uncoordinated_bandwidth_s=(float(zero_out), float(zero_in)),
        solver_status=wave.status,
    )


def _energy_plan(
    energy: EnergyDay, out: Path | None, *, max_iterations: int, time_limit_s: float | None
) -> tuple[EnergyPlan, DayPlan]:
    """The day's EV charging and battery planned together within the grid limits; writes the
    per-slot table ``energy_plan.csv`` and the load curves and state of charge ``energy_plan.png``.
    Then the LV feeders' households and single-phase chargers (with the planned charging) go on
    phases: installed in turn (A, B, C, A, ...) against balanced by smartopt within
    ``max_iterations`` moves, or ``time_limit_s`` seconds if given; each judged by the three-phase
    power flow of the planned day (voltage unbalance, neutral current, lowest phase voltage)."""
    from smartopt.energy import balance_phases, phase_imbalance_kw, plan_day

    plan = plan_day(energy)
    if out is not None:
        plan.to_frame().to_csv(out / "energy_plan.csv")
        _save(plan.plot(), out / "energy_plan.png")
    profile, feeder = energy.single_phase_loads(plan.charger_kw)
    in_turn = np.concatenate([np.arange(c) % 3 for c in np.bincount(feeder)])
    before = phase_imbalance_kw(profile, in_turn, feeder)
    budget = {"time_limit_s": time_limit_s} if time_limit_s is not None else {"max_iterations": max_iterations}
    balanced = balance_phases(profile, feeder=feeder, slot_h=energy.slot_h, **budget)
    physics = _phase_physics(energy, plan, (in_turn, balanced.phase))
    phases = PhaseBalance(
        feeders=int(before.size),
        single_phase_loads=int(feeder.size),
        in_turn_worst_imbalance_kw=round(float(before.max()), 2),
        in_turn_mean_worst_imbalance_kw=round(float(before.mean()), 2),
        balanced_worst_imbalance_kw=round(float(balanced.imbalance_kw.max()), 2),
        balanced_mean_worst_imbalance_kw=round(float(balanced.imbalance_kw.mean()), 2),
        **physics,
        runtime_s=round(balanced.runtime_s, 2),
    )
    return _energy_plan_results(plan.summary(), phases), plan


def _phase_physics(energy: EnergyDay, plan: DayPlan, assignments: tuple[Any, Any]) -> dict[str, float | None]:
    """The phase assignments (installed in turn, balanced) judged by the three-phase power flow of
    the planned day: the highest voltage unbalance, the highest neutral current at a transformer's
    LV terminals and the lowest phase voltage of each, as :class:`PhaseBalance` fields; None
    where the grid lacks three-phase data (``Grid.missing_three_phase_data``)."""
    figures = ("max_unbalance_percent", "max_neutral_a", "min_phase_vm_pu")
    if energy.grid.missing_three_phase_data:
        return {f"{side}_{f}": None for side in ("in_turn", "balanced") for f in figures}
    grid = energy.day_grid
    trafos = slice(grid.num_lines, grid.num_lines + grid.num_trafos)
    out: dict[str, float | None] = {}
    for side, phase in zip(("in_turn", "balanced"), assignments, strict=True):
        flow = energy.unbalanced_power_flow(phase, plan.charger_kw, plan.battery_kw)
        out[f"{side}_max_unbalance_percent"] = round(float(np.nanmax(flow.unbalance_percent)), 3)
        out[f"{side}_max_neutral_a"] = round(1000.0 * float(np.nanmax(flow.branch_i_n_to_ka[:, trafos])), 1)
        out[f"{side}_min_phase_vm_pu"] = round(float(np.nanmin(flow.vm_pu)), 4)
    return out


def _energy_plan_results(summary: Mapping[str, Any], phases: PhaseBalance) -> EnergyPlan:
    """The energy plan's results from its figures (``DayPlan.summary()``) and the phase balancing."""
    before, after = PlanFigures(**summary["before"]), PlanFigures(**summary["after"])
    return EnergyPlan(**{**summary, "before": before, "after": after, "phases": phases})


def _grid_day(energy: EnergyDay, out: Path | None) -> tuple[GridDay, PowerFlowResult]:
    """Power flow of every slot of the day (uncontrolled EV charging, idle battery): the extremes,
    losses and limit violations; writes the per-slot table ``grid_day.csv``."""
    started = time.perf_counter()
    result = energy.power_flow()
    solve_s = time.perf_counter() - started
    grid = energy.day_grid
    name = grid.bus_name

    def clock(slot: int) -> str:
        return _clock(slot * energy.slot_h)

    def branch_name(kind: str, k: int) -> str:
        if kind == "line":
            return f"line {name[grid.line_from[k]]} - {name[grid.line_to[k]]}"
        return f"transformer {name[grid.trafo_hv_bus[k]]} / {name[grid.trafo_lv_bus[k]]}"

    vm = result.vm_pu
    t_min, b_min = np.unravel_index(np.nanargmin(vm), vm.shape)
    peaks = {}
    for kind, loading in (("line", result.line_loading_percent), ("trafo", result.trafo_loading_percent)):
        t, k = np.unravel_index(np.nanargmax(loading), loading.shape)
        peaks[kind] = PeakLoading(
            element=branch_name(kind, int(k)), loading_percent=float(loading[t, k]), at=clock(int(t))
        )
    v = result.violations()
    violations = [
        GridViolation(kind="bus", element=str(name[b]), worst=float(w), slots=int(n))
        for b, w, n in zip(v.bus, v.bus_vm_pu, v.bus_snapshots, strict=True)
    ] + [
        GridViolation(kind=kind, element=branch_name(kind, int(k)), worst=float(w), slots=int(n))
        for kind, idx, worst, slots in (
            ("line", v.line, v.line_loading_percent, v.line_snapshots),
            ("trafo", v.trafo, v.trafo_loading_percent, v.trafo_snapshots),
        )
        for k, w, n in zip(idx, worst, slots, strict=True)
    ]
    if out is not None:
        frame = result.to_frame()
        frame.insert(0, "time", [clock(t) for t in range(energy.num_slots)])
        frame.to_csv(out / "grid_day.csv", index=False)
    losses_kwh = float(result.losses_kw.sum() * energy.slot_h)
    supplied_kwh = float(result.slack_p_kw.sum() * energy.slot_h)
    return GridDay(
        buses=grid.num_buses,
        slots_converged=int(result.converged.sum()),
        min_vm_pu=float(vm[t_min, b_min]),
        min_vm_bus=str(name[b_min]),
        min_vm_at=clock(int(t_min)),
        max_vm_pu=float(np.nanmax(vm)),
        peak_line=peaks["line"],
        peak_trafo=peaks["trafo"],
        losses_kwh=losses_kwh,
        losses_percent_of_supply=100.0 * losses_kwh / supplied_kwh,
        peak_supply_kw=float(np.nanmax(result.slack_p_kw)),
        voltage_band_pu=(0.95, 1.05),
        violations=tuple(violations),
        power_flow_runtime_s=solve_s,
    ), result


def _shuttle_plan(
    district: District,
    seed: int,
    out: Path | None,
    *,
    max_iterations: int,
    time_limit_s: float | None,
    time_of_day: list[tuple[float, TravelSpace]],
) -> BookedTripsSummary:
    """Routes for the day's booked shuttle trips (pickup and delivery with time windows on the road
    network, driven at ``time_of_day``'s travel times) within ``max_iterations``, or
    ``time_limit_s`` seconds if given; the stops per shuttle go to ``shuttle_routes.csv``."""
    from smartopt.dispatch import solve_vrp
    from smartopt.dispatch.shuttles import booked_trips, trip_summary

    trips = booked_trips(
        district.network,
        district.fleet,
        district.requests,
        seed=seed,
        name=f"{district.name}: booked shuttle trips",
        recharge=True,
        time_of_day=time_of_day,
    )
    if time_limit_s is None:
        result = solve_vrp(trips.problem, seed=seed, max_iterations=max_iterations)
    else:
        result = solve_vrp(trips.problem, seed=seed, time_limit_s=time_limit_s)
    if out is not None:
        import pandas as pd

        frame = result.to_frame()
        frame["vehicle"] = trips.vehicle[frame["vehicle"].to_numpy(dtype=np.intp)]  # the fleet's numbers
        start = np.array([t.start for t in trips.problem.vehicle_types], dtype=np.intp)
        ids = district.network.node_ids
        frame["vehicle_type"] = ids[trips.node[start[frame["vehicle_type"].to_numpy(dtype=np.intp)]]]
        frame = frame.rename(columns={"vehicle_type": "depot"})
        location = frame["client"].to_numpy(dtype=np.intp)
        frame.insert(4, "node", ids[trips.node[location]])
        booking = trips.booking[location]
        frame.insert(5, "booking", pd.array(np.where(booking >= 0, booking, None), dtype="Int64"))  # none: a charger
        frame.to_csv(out / "shuttle_routes.csv", index=False)
    return BookedTripsSummary(**trip_summary(trips, result))


def _shuttle_day(
    district: District,
    space: TravelSpace,
    time_of_day: list[tuple[float, TravelSpace]],
    signals: str,
    out: Path | None,
) -> tuple[OnDemand, FleetDay]:
    """The day's on-demand requests simulated with pooled insertion on ``time_of_day``'s travel
    times (per request in ``shuttle_day.csv``), the smallest fleet reaching
    :data:`SIZING_TARGET`, and that fleet's day with and without the routing solver re-optimising
    the plans every :data:`REOPTIMIZE_S`."""
    from smartopt.dispatch import Policy, simulate, size_fleet

    policy = Policy(wait_weight=DISPATCH_WAIT_WEIGHT)
    req = district.requests
    day = simulate(space, district.fleet, req, policy=policy, time_of_day=time_of_day, progress=False)
    if out is not None:
        frame = day.to_frame()
        for column in ("origin", "destination"):  # node ids, as in shuttle_routes.csv
            frame[column] = district.network.node_ids[frame[column].to_numpy()]
        frame.to_csv(out / "shuttle_day.csv", index=False)
        _save(day.plot().figure, out / "fleet_day.png")
    shuttles = district.fleet.num_vehicles
    served, wait = SIZING_TARGET
    sizing = size_fleet(
        space,
        district.fleet,
        req,
        sizes=range(2, 2 * shuttles + 1, 2),
        served_ratio=served,
        mean_wait_s=wait,
        policy=policy,
        time_of_day=time_of_day,
    )
    small = district.fleet.resized(sizing.smallest or shuttles)
    reoptimized = Policy(wait_weight=DISPATCH_WAIT_WEIGHT, reoptimize_s=REOPTIMIZE_S)

    def kpis(p: Policy) -> DayKpis:
        return DayKpis(**simulate(space, small, req, policy=p, time_of_day=time_of_day, progress=False).kpis)

    return OnDemand(
        policy=f"pooled cheapest insertion, cost = added driving + {DISPATCH_WAIT_WEIGHT:g} x wait",
        travel_times="free flow"
        if signals == "none"
        else f"free flow plus the control delays of {signals}'s signal plans in each period's hours",
        kpis=DayKpis(**day.kpis),
        reoptimization=ReoptimizationSummary(
            shuttles=small.num_vehicles,
            every_s=REOPTIMIZE_S,
            kpis_without=kpis(policy),
            kpis_with=kpis(reoptimized),
        ),
        charging_sessions=int(day.charging["vehicle"].size),
        charged_kwh=float(day.charging["energy_kwh"].sum()),
        energy_balance=_energy_balance(day),
        fleet_sizing=FleetSizingSummary(
            target_served_ratio=served,
            target_mean_wait_s=wait,
            smallest_fleet=sizing.smallest,
            sizes=tuple(sizing.sizes.tolist()),
            served_ratio=tuple(sizing.served_ratio.tolist()),
            mean_wait_s=tuple(sizing.mean_wait_s.tolist()),
            energy_deficit_kwh=tuple(sizing.energy_deficit_kwh.tolist()),
        ),
    ), day


def _energy_balance(day: FleetDay) -> EnergyBalance:
    """The fleet's energy over the day (kWh, fleet totals): the state of charge at the start,
    driven, charged (of which overnight, to start the next day as this one), the state of charge
    at the end, and the shuttles the depots could not refill in time."""
    b = day.energy_balance()
    short = np.flatnonzero(b["deficit_kwh"] > 0)
    return EnergyBalance(
        vehicles=day.fleet.num_vehicles,
        soc_start_kwh=float(b["soc_start_kwh"].sum()),
        driven_kwh=float(b["driven_kwh"].sum()),
        charged_kwh=float(b["charged_kwh"].sum()),
        overnight_kwh=float(day.charging["energy_kwh"][day.charging["overnight"]].sum()),
        soc_end_kwh=float(b["soc_end_kwh"].sum()),
        deficit_kwh=float(b["deficit_kwh"].sum()),
        vehicles_short=tuple(f"shuttle {k}" for k in short.tolist()),
    )


def _signal_aware_dispatch(
    district: District,
    space: TravelSpace,
    time_of_day: dict[str, list[tuple[float, TravelSpace]]],
    shuttles: int,
) -> SignalAwareDispatch:
    """The on-demand day of ``shuttles`` shuttles at free flow, and on each signal plan's travel
    times (``time_of_day`` per plan name)."""
    from smartopt.app.coupling import mean_signal_delay_s
    from smartopt.dispatch import Policy, simulate

    fleet = district.fleet.resized(shuttles)
    policy = Policy(wait_weight=DISPATCH_WAIT_WEIGHT)
    days = {"free_flow": simulate(space, fleet, district.requests, policy=policy, progress=False)}
    added: dict[str, dict[str, float]] = {}
    for name, tod in time_of_day.items():
        days[f"{name}_signals"] = simulate(
            space, fleet, district.requests, policy=policy, time_of_day=tod, progress=False
        )
        added[name] = {
            f"from_{t / 3600:g}h": delay for (t, _), delay in zip(tod, mean_signal_delay_s(tod, space), strict=True)
        }
    return SignalAwareDispatch(
        shuttles=fleet.num_vehicles,
        held=f"the same {fleet.num_vehicles} shuttles, dispatch policy, requests and depot charging limits; "
        "only the travel times change",
        windows_h={p: (float(w[0]), float(w[1])) for p, w in district.signal_hours.items()},
        mean_added_time_s=added,
        kpis={name: DayKpis(**day.kpis) for name, day in days.items()},
        notes=tuple(_signal_notes(days, district.signal_hours)),
    )


def _signal_notes(days: dict[str, FleetDay], signal_hours: dict[str, tuple[float, float]]) -> list[str]:
    """Which days could not repeat (an energy deficit), and why a signal plan's delays moved a
    service figure the unexpected way (served up, wait or vehicle-km down against free flow), from
    what the days measured: pooling, refusals by cause, and time spent charging in the signal
    hours (from the first window's start to the last one's end, h); a district without signal
    hours says its dispatch ran at free flow all day."""
    free = days["free_flow"]
    if not signal_hours:
        return ["The district gives no signal hours (District.signal_hours): every day ran at free flow."]
    first_h, last_h = min(w[0] for w in signal_hours.values()), max(w[1] for w in signal_hours.values())

    def facts(day: FleetDay) -> dict[str, float]:
        c = day.charging
        service = np.clip(np.minimum(c["end_s"], last_h * 3600.0) - np.maximum(c["start_s"], first_h * 3600.0), 0, None)
        return {
            "occupancy": day.kpis["occupancy"],
            "no_vehicle": float((day.rejection == "no_vehicle").sum()),
            "battery": float((day.rejection == "battery").sum()),
            "charging_h": float(service.sum() / 3600.0),
        }

    base = facts(free)
    notes = [
        f"The {name.replace('_', ' ')} day ends {day.kpis['energy_deficit_kwh']:.1f} kWh short of the fleet's starting "
        "charge: the depots could not refill every shuttle before its first trip, so that day could not repeat as is."
        for name, day in days.items()
        if day.kpis["energy_deficit_kwh"] > 0
    ]
    for name, day in days.items():
        if name == "free_flow":
            continue
        k, k0, f = day.kpis, free.kpis, facts(day)
        changes = (
            (f"served rises ({100 * k0['served_ratio']:.1f} -> {100 * k['served_ratio']:.1f} %)", "served_ratio", 1),
            (f"the mean wait falls ({k0['mean_wait_s']:.0f} -> {k['mean_wait_s']:.0f} s)", "mean_wait_s", -1),
            (f"vehicle-km fall ({k0['vehicle_km']:,.0f} -> {k['vehicle_km']:,.0f})", "vehicle_km", -1),
        )
        moved = [what for what, key, better in changes if better * (k[key] - k0[key]) > 0]
        if not moved:
            continue
        pooled = " (slower links let more riders share one detour)" if f["occupancy"] > base["occupancy"] else ""
        notes.append(
            f"With the delays of {name.removesuffix('_signals')}'s signal plans {' and '.join(moved)} against free "
            f"flow. Measured: occupancy {base['occupancy']:.2f} -> {f['occupancy']:.2f}{pooled}; requests refused "
            f"for lack of a vehicle {base['no_vehicle']:.0f} -> {f['no_vehicle']:.0f}, for the battery "
            f"{base['battery']:.0f} -> {f['battery']:.0f}; shuttles charging between {_clock(first_h)} and "
            f"{_clock(last_h)} {base['charging_h']:.1f} -> {f['charging_h']:.1f} vehicle-hours."
        )
    return notes


def _clock(hours: float) -> str:
    """Clock time of ``hours`` after midnight, as HH:MM."""
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fleet_charging(
    district: District,
    full_power: Fleet,
    space: TravelSpace,
    time_of_day: list[tuple[float, TravelSpace]],
    alone: DayPlan,
    energy: EnergyDay,
    energy_plan: EnergyPlan,
) -> ShuttleCharging:
    """The grid with and without the shuttles' charging, and with their depots at full charger
    power instead of the spare power ``district.fleet`` has: the depots' power, the charging slots
    and energy added, the uncontrolled peak, the plan's figures, and the dispatch day at full power."""
    from smartopt.app.coupling import depot_spare_kw, with_fleet_charging
    from smartopt.dispatch import Policy, simulate
    from smartopt.energy import plan_day

    policy = Policy(wait_weight=DISPATCH_WAIT_WEIGHT)
    day = simulate(space, full_power, district.requests, policy=policy, time_of_day=time_of_day, progress=False)
    drawn = day.charger_load_kw(district.energy.slot_h * 3600)
    at_full_power = plan_day(with_fleet_charging(district.energy, full_power, drawn)).summary()["after"]
    added = energy.ev_energy_kwh.size - district.energy.ev_energy_kwh.size
    limit_kw, _ = district.fleet.charger_power_kw()
    spare_kw = depot_spare_kw(alone, district.fleet)
    return ShuttleCharging(
        held=f"the same {district.fleet.num_vehicles} shuttles, policy, requests and travel times; only the depot "
        "chargers' power changes (full power against the transformers' spare power in each slot)",
        depot_charger_kw=tuple(
            DepotChargerPower(
                bus=str(district.energy.grid.bus_name[b]),
                min_kw=float(limit_kw[here].min()),
                mean_kw=float(limit_kw[here].mean()),
                max_kw=float(limit_kw[here].max()),
                slots_at_the_floor=int((~(spare_kw[here][0] >= DEPOT_FLOOR_KW)).sum()),
            )
            for b in np.unique(district.fleet.charger_bus)
            for here in [district.fleet.charger_bus == b]
        ),
        floor_kw=DEPOT_FLOOR_KW,
        full_charger_kw=float(full_power.charger_kw.max()),
        charging_slots=int(added),
        energy_kwh=float(energy.ev_energy_kwh[-added:].sum()) if added else 0.0,
        uncontrolled_peak_kw=UncontrolledPeaks(
            without_shuttles=float((district.energy.net_load_kw() + district.energy.uncontrolled_ev_kw()).max()),
            with_shuttles=float((energy.net_load_kw() + energy.uncontrolled_ev_kw()).max()),
        ),
        plan=PlansWithShuttles(
            without_shuttles=PlanFigures(**alone.summary()["after"]),
            with_shuttles_at_full_power=PlanFigures(**at_full_power),
            with_shuttles=energy_plan.after,
        ),
        dispatch_kpis_at_full_power=DayKpis(**day.kpis),
    )


def _save(figure: Any, path: Path) -> None:
    """Writes a matplotlib figure as PNG and closes it."""
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=110)
    plt.close(figure)


def _write_signal_table(periods: Mapping[str, PeriodPlans], path: Path) -> None:
    """One row per period and intersection: cycle, greens, delay and LOS before and after."""
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["period", "intersection", "plan", "cycle_s", "greens_s", "delay_s", "los"])
        for period, timed in periods.items():
            for name, plan in timed.plans.items():
                report = timed.reports[name]
                for i, xid in enumerate(plan.intersection_ids):
                    greens = "/".join(f"{g:.1f}" for g in plan.greens(i))
                    delay = report.intersection_delay_s[i]
                    w.writerow([period, xid, name, f"{plan.cycle_s[i]:.1f}", greens, f"{delay:.2f}",
                                report.intersection_los[i]])  # fmt: skip
