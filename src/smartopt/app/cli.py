"""The ``smartopt`` command: ``info`` describes the built-in district, ``run`` runs the main job,
``signals optimize`` times the traffic lights of a SUMO network, ``route`` solves a VRPLIB file."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import smartopt
from smartopt._threads import use_threads

if TYPE_CHECKING:
    from smartopt.app.results import DistrictResults, PeriodPlans, PeriodSignals
    from smartopt.signals.sumo import ScenarioPrograms

SCENARIOS = ("sejong-5-1",)


EXTRAS = {"dask": "dask", "distributed": "dask", "pandapower": "pandapower"}
"""The optional dependencies and the extra of smartopt that installs each."""


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f'{what}: pip install "smartopt[{extra}]"')


class _Parser(argparse.ArgumentParser):
    """Reports bad arguments in one line and exits with status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


MAX_SEED = 2**31 - 1
"""The largest seed every solver takes (OR-Tools' are 32-bit)."""


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

    def budget_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--time-limit",
            type=float,
            default=None,
            metavar="S",
            help="stop the routing and phase-balancing searches after S seconds each instead of their iteration "
            "budgets (default: iteration budgets, so the same seed gives the same results on any machine)",
        )
        p.add_argument(
            "--threads", type=int, default=None, help="threads for the parallel kernels (default: all cores)"
        )

    info = sub.add_parser("info", help="describe the built-in district")
    scenario_args(info)
    run = sub.add_parser("run", help="run the main job on the district and write the results")
    scenario_args(run)
    run.add_argument("--config", type=Path, default=None, help="your own district (district.toml) instead")
    run.add_argument("--out", type=Path, default=Path("smartopt-out"), help="output folder (default: %(default)s)")
    budget_args(run)
    signals = sub.add_parser("signals", help="signal timing tools")
    signals_sub = signals.add_subparsers(dest="signals_command", metavar="COMMAND", parser_class=_Parser, required=True)
    opt = signals_sub.add_parser(
        "optimize", help="optimise every traffic light of a SUMO network for a route file's demand"
    )
    opt.add_argument(
        "--sumocfg", type=Path, default=None, help="a SUMO configuration (.sumocfg): net, route files, begin, end"
    )
    opt.add_argument("--sumo-net", type=Path, default=None, help="or the SUMO network (.net.xml) ...")
    opt.add_argument(
        "--sumo-routes", type=Path, nargs="+", default=None, metavar="FILE",
        help="... and the demand: route files of vehicles, trips, flows (.rou.xml; vTypes may be in additional files)",
    )  # fmt: skip
    opt.add_argument(
        "--begin", type=float, default=None, help="start of the demand window, s (default: the cfg's begin, or 0)"
    )
    opt.add_argument(
        "--end", type=float, default=None, help="end of the demand window, s (default: the cfg's end, or begin + 3600)"
    )
    opt.add_argument("--out", type=Path, required=True, help="the plan as a SUMO additional file (.add.xml)")
    opt.add_argument(
        "--time-limit", type=float, default=None, metavar="S",
        help="search time, s (default: 60 unless --max-iterations is given)",
    )  # fmt: skip
    opt.add_argument(
        "--max-iterations", type=int, default=None, metavar="N",
        help="model runs per plan search; alone, the same seed gives the same programs on any machine",
    )  # fmt: skip
    opt.add_argument("--seed", type=int, default=0, help="search seed (default: %(default)s)")
    opt.add_argument(
        "--check-seeds", type=int, default=2,
        help="SUMO seeds of the check that picks the program to deploy; 0: no check (default: %(default)s)",
    )  # fmt: skip
    export = sub.add_parser("export-scenario", help="write the built-in district as district.toml and CSV tables")
    scenario_args(export)
    export.add_argument("dir", type=Path, help="output folder")
    sweep = sub.add_parser("sweep", help="run many variants of the district day on Dask (smartopt[dask])")
    sweep.add_argument("--grid", type=Path, required=True, help="the sweep file (TOML: fn, [grid], [fixed])")
    sweep.add_argument(
        "--scheduler", default=None, help="a Dask scheduler address (default: a local cluster of 2 workers)"
    )
    sweep.add_argument(
        "--out", type=Path, default=Path("sweep.csv"), help="one row per scenario (default: %(default)s)"
    )
    budget_args(sweep)
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
    route.add_argument(
        "--sol", type=Path, default=None, metavar="OUT.sol", help="also write the solution as a VRPLIB .sol file"
    )
    return parser


def route_file(
    path: Path, *, time_limit_s: float, seed: int, round_func: str, solver: str, as_json: bool, sol: Path | None = None
) -> None:
    """Solves one VRPLIB/Solomon file and prints cost, routes used, feasibility and the routes;
    ``sol``: also writes the solution there (VRPLIB ``.sol``)."""
    from smartopt.dispatch import read_vrplib, solve_vrp, write_vrplib_solution

    if sol is not None and not sol.parent.is_dir():  # before the search, not after it
        raise FileNotFoundError(f"--sol {sol}: no directory {sol.parent}")
    problem = read_vrplib(path, round_func)
    result = solve_vrp(problem, time_limit_s=time_limit_s, seed=seed, solver=solver)
    if sol is not None:
        write_vrplib_solution(result, sol)
    if as_json:
        print(json.dumps({"instance": problem.name, **result.to_dict()}))
        return
    print(f"{problem!r}\n{result!r}")
    for r in result.routes:
        print(f"  vehicle {r.vehicle}: {' '.join(map(str, r.visits.tolist()))}")
    for v in result.violations():
        print(f"  ! {v}")


def run_sweep(grid: Path, scheduler: str | None, out: Path, *, time_limit_s: float | None = None) -> None:
    """Runs a sweep file's scenarios on Dask and writes one row per scenario to ``out`` (CSV);
    ``time_limit_s``: the searches' wall-clock budget instead of their iteration budgets."""
    try:
        import dask.distributed  # noqa: F401  (checked before the grid is read and anything starts)
    except ImportError as exc:
        raise MissingExtra("smartopt sweep needs Dask", "dask") from exc
    from smartopt.app.scenarios import read_grid, sweep

    fn, scenarios = read_grid(grid)
    if time_limit_s is not None:
        scenarios = [{**scenario, "time_limit_s": time_limit_s} for scenario in scenarios]
    print(f"{len(scenarios)} scenarios ({fn}) on {scheduler or 'a local Dask cluster of 2 workers'}")
    frame = sweep(scenarios, fn=fn, client=scheduler)
    frame.to_csv(out, index=False)
    print(frame.to_string(max_rows=20, float_format=lambda x: f"{x:.4g}"))
    print(f"Rows: {out}")


def optimize_sumo(
    net: Path,
    routes: Path | Sequence[Path],
    begin: float,
    end: float,
    additional: Sequence[Path] = (),
    *,
    out: Path,
    time_limit_s: float | None = 60.0,
    max_iterations: int | None = None,
    seed: int = 0,
    check_seeds: int = 2,
) -> ScenarioPrograms:
    """Programs for every light of a SUMO network (:func:`~smartopt.signals.sumo.plan_sumo`):
    fixed-time and actuated candidates written beside ``out``, checked in SUMO on ``check_seeds``
    seeds beside the network's own, the recommended one written to ``out``. ``additional`` files
    (vehicle types) go to SUMO with ``-a``. ``time_limit_s`` (s) and ``max_iterations`` (model
    runs per plan) budget the searches."""
    from smartopt.signals import sumo

    print(
        sumo.summarize_sumo_demand(
            [*additional, *([routes] if isinstance(routes, Path) else routes)], begin=begin, end=end
        )
    )
    if check_seeds < 0:
        raise ValueError(f"--check-seeds {check_seeds} must be >= 0")
    seeds = tuple(sumo.recommend.CHECK_SEEDS[0] + k for k in range(check_seeds))
    found = sumo.plan_sumo(
        net,
        routes,
        out,
        begin=begin,
        end=end,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        check_seeds=seeds,
        additional=additional,
    )
    cycles = sorted({f"{p.cycle_s[0]:g} s" for p in found.plans.values()})
    print(f"{len(found.signals.intersections)} traffic lights; common cycles tried: {', '.join(cycles)}.")
    if found.check is None:
        print(f"Not checked in SUMO (--check-seeds 0): recommended the model's {found.recommended} plan.")
    else:
        print(f"Checked in SUMO over [{begin:g}, {end:g}) s, seeds {', '.join(map(str, found.check.seeds))}:")
        print(found.check.table())
        if not found.check.beats_own:
            print("None of smartopt's programs beat the network's own in this check: keep them (written to --out).")
    print(f"Recommended: {found.recommended} -> {out}; every candidate beside it: {out.parent}")
    return found


def _print_kpi_table(results: DistrictResults) -> None:
    from smartopt.app.report import kpi_rows

    header = ("area", "KPI", "compared", "before", "after", "change", "better or worse")
    rows = [header, *kpi_rows(results)]
    width = [max(len(r[k]) for r in rows) for k in range(len(header))]
    print("\nBefore and after:")
    for r in rows:
        left = "  ".join(r[k].ljust(width[k]) for k in range(3))
        right = "  ".join(r[k].rjust(width[k]) for k in range(3, 6))
        print(f"  {left}  {right}  {r[6]}".rstrip())


def _print_signal_table(plans: Mapping[str, PeriodPlans], summaries: Mapping[str, PeriodSignals]) -> None:
    """Per intersection the ``plans`` of some periods (by name), then those periods' totals (their
    ``summaries``)."""
    print("\nSignal timing, per intersection: cycle s, delay s/veh and LOS, Webster -> smartopt; smartopt's")
    periods = list(plans)
    print(f"  {'junction':<9}" + "".join(f"{p:^34}" for p in periods) + f"  {periods[-1]} greens s")
    ids = plans[periods[0]].plans["webster"].intersection_ids
    for i, xid in enumerate(ids):
        cells = []
        for p in periods:
            w, o = (plans[p].plans[n] for n in ("webster", "smartopt"))
            rw, ro = (plans[p].reports[n] for n in ("webster", "smartopt"))
            cells.append(
                f"{w.cycle_s[i]:4.0f}->{o.cycle_s[i]:4.0f}  {rw.intersection_delay_s[i]:6.1f}->"
                f"{ro.intersection_delay_s[i]:5.1f} {rw.intersection_los[i]}->{ro.intersection_los[i]}"
            )
        greens = "/".join(f"{g:.0f}" for g in plans[periods[-1]].plans["smartopt"].greens(i))
        print(f"  {xid:<9}" + "".join(f"{c:^34}" for c in cells) + f"  {greens}")
    for p in periods:
        sw, so = summaries[p].timing["webster"], summaries[p].timing["smartopt"]
        print(
            f"  total {p}: {sw.total_delay_veh_h:,.0f} -> {so.total_delay_veh_h:,.0f} veh*h/h of delay "
            f"({1 - so.total_delay_veh_h / sw.total_delay_veh_h:.0%} less); average "
            f"{sw.average_delay_s:.1f} -> {so.average_delay_s:.1f} s/veh"
        )


def run(
    scenario: str, seed: int, out: Path, config: Path | None = None, *, time_limit_s: float | None = None
) -> DistrictResults:
    """The main job on the built-in district or the one ``config`` describes (see
    :mod:`smartopt.app.pipeline`; ``time_limit_s`` as there), with a summary in the terminal. Returns
    the results written to ``out/results.json``."""
    from smartopt.app.config import load_district
    from smartopt.app.pipeline import Steps, run_district
    from smartopt.datasets import sejong_5_1

    if config is not None:
        scenario = str(config)
    print(f"smartopt {smartopt.__version__} — main job on {scenario} (seed {seed})")
    with Steps()("building the district" if config is None else "reading the district"):
        district = sejong_5_1(seed) if config is None else load_district(config)
    day = run_district(district, scenario=scenario, seed=seed, out=out, time_limit_s=time_limit_s)
    results = day.results
    _print_signal_table({p: day.signal_plans[p] for p in district.peak_periods}, results.signals.periods)
    wave = results.signals.coordination
    if wave is not None:
        zero_out, zero_in = wave.uncoordinated_bandwidth_s
        print(
            f"  green wave, {wave.corridor} ({len(wave.intersections)} signals, cycle {wave.cycle_s:.0f} s): "
            f"bands {zero_out:.0f}/{zero_in:.0f} s without offsets -> {wave.bandwidth_out_s:.0f}/"
            f"{wave.bandwidth_in_s:.0f} s outbound/inbound; time-space diagram: {out / 'time_space.png'}"
        )

    e, d = results.energy, results.dispatch
    print("\nDistrict figures:")
    n_signals = results.signals.intersections
    for p, v in results.signals.periods.items():
        print(
            f"  signals  {p:<8} {v.entering_vph:>9,.0f} veh/h entering (sum over {n_signals} junctions); "
            f"Webster Y mean {v.webster_y_mean:.2f}, max {v.webster_y_max:.2f}; "
            f"{v.intersections_y_over_0_8} over 0.8"
        )
    print(
        f"  energy   base peak {e.base_peak_kw / 1000:.2f} MW; with uncontrolled EV charging and PV "
        f"{e.uncontrolled_peak_kw / 1000:.2f} MW; {e.ev_sessions} EV sessions, "
        f"{e.ev_energy_kwh / 1000:.1f} MWh"
    )
    g = e.grid
    print(
        f"  grid     {g.slots_converged}/{e.slots} slots solved in {1000 * g.power_flow_runtime_s:.1f} ms; "
        f"min voltage {g.min_vm_pu:.4f} pu at {g.min_vm_bus} ({g.min_vm_at}); peak loading: line "
        f"{g.peak_line.loading_percent:.0f} %, transformer {g.peak_trafo.loading_percent:.0f} % "
        f"({g.peak_trafo.element}, {g.peak_trafo.at}); losses {g.losses_kwh / 1000:.2f} MWh "
        f"({g.losses_percent_of_supply:.1f} % of supply)"
    )
    for viol in g.violations:
        unit = "pu" if viol.kind == "bus" else "%"
        print(f"           violation: {viol.element}: {viol.worst:.3f} {unit} in {viol.slots} slots")
    plan = e.plan
    pb, pa = plan.before, plan.after
    print(
        f"  plan     managed charging + battery: peak {pb.peak_kw / 1000:.2f} -> {pa.peak_kw / 1000:.2f} MW, "
        f"load factor {pb.load_factor:.2f} -> {pa.load_factor:.2f}; EV energy served "
        f"{plan.ev_energy_served_kwh / 1000:.1f} of {plan.ev_energy_asked_kwh / 1000:.1f} MWh; "
        f"overloaded transformers {pb.overloaded_trafos} -> {pa.overloaded_trafos}, peak transformer "
        f"loading {pb.peak_trafo_loading_percent:.0f} -> {pa.peak_trafo_loading_percent:.0f} %, min voltage "
        f"{pb.min_vm_pu:.4f} -> {pa.min_vm_pu:.4f} pu ({plan.runtime_s:.1f} s)"
    )
    ph = plan.phases
    print(
        f"  phases   {ph.single_phase_loads:,} single-phase loads on {ph.feeders} LV feeders: worst phase "
        f"imbalance, mean over feeders {ph.in_turn_mean_worst_imbalance_kw:.1f} -> "
        f"{ph.balanced_mean_worst_imbalance_kw:.1f} kW, max {ph.in_turn_worst_imbalance_kw:.1f} -> "
        f"{ph.balanced_worst_imbalance_kw:.1f} kW (installed in turn -> balanced, {ph.runtime_s:.1f} s)"
    )
    if ph.in_turn_max_unbalance_percent is not None:
        print(
            f"           three-phase flow: voltage unbalance {ph.in_turn_max_unbalance_percent:.2f} -> "
            f"{ph.balanced_max_unbalance_percent:.2f} %, neutral current {ph.in_turn_max_neutral_a:.0f} -> "
            f"{ph.balanced_max_neutral_a:.0f} A, lowest phase voltage {ph.in_turn_min_phase_vm_pu:.4f} -> "
            f"{ph.balanced_min_phase_vm_pu:.4f} pu"
        )
    print(
        f"  dispatch {d.requests:,} requests for {d.shuttles} shuttles; "
        f"direct ride mean {d.mean_direct_ride_s:.0f} s; "
        f"busiest hour {d.busiest_hour:02d}:00: {d.busiest_hour_requests} requests, "
        f"{d.busiest_hour_direct_vehicle_hours:.1f} vehicle-hours of direct riding"
    )
    b = d.booked_trips
    print(
        f"  shuttles {b.bookings} booked trips: {b.served} served, on time {100 * b.on_time_rate:.1f} %, "
        f"{b.shuttles_used} of {b.shuttles} shuttles, {b.vehicle_km:.1f} km, ride / direct ride "
        f"{b.mean_ride_over_direct:.2f}, pickup {b.mean_pickup_deviation_s:.0f} s from the booked time on "
        f"average ({b.runtime_s:.1f} s)"
    )
    k, fs = d.on_demand.kpis, d.on_demand.fleet_sizing
    smallest = "none of the sizes tried" if fs.smallest_fleet is None else f"{fs.smallest_fleet} shuttles"
    print(
        f"  on-demand {int(k.requests):,} requests: served {100 * k.served_ratio:.1f} %, wait mean "
        f"{k.mean_wait_s:.0f} s (p95 {k.p95_wait_s:.0f} s), ride / direct {k.mean_detour:.2f}, occupancy "
        f"{k.occupancy:.2f}, {k.vehicle_km:.0f} km ({k.empty_km:.0f} empty), {k.energy_kwh:.0f} kWh; "
        f"{100 * fs.target_served_ratio:.0f} % served with mean wait <= {fs.target_mean_wait_s:.0f} s "
        f"needs {smallest}"
    )
    bal = d.on_demand.energy_balance
    print(
        f"  energy   the fleet's day: {bal.soc_start_kwh:.0f} kWh in the batteries at the start, "
        f"{bal.driven_kwh:.0f} kWh driven, {bal.charged_kwh:.0f} kWh charged ({bal.overnight_kwh:.0f} kWh "
        f"overnight), {bal.soc_end_kwh:.0f} kWh at the end"
        + (f"; {len(bal.vehicles_short)} shuttles {bal.deficit_kwh:.0f} kWh short" if bal.vehicles_short else "")
    )
    c = results.coupling.signal_aware_dispatch
    print(f"  coupling: the on-demand day of {c.shuttles} shuttles on travel times with signal delays")
    for name, k in c.kpis.items():
        print(
            f"    {name.replace('_', ' '):<17} served {100 * k.served_ratio:.1f} %, "
            f"wait mean {k.mean_wait_s:.0f} s, ride / direct {k.mean_detour:.2f}, {k.vehicle_km:.0f} km, "
            f"{int(k.broken_promises)} promises broken by a period change"
        )
    for note in c.notes:
        print(f"    why: {note}")
    f = results.coupling.shuttle_charging
    u, pw = f.uncontrolled_peak_kw, f.plan
    depots = ", ".join(
        f"{depot.min_kw:.0f}-{depot.max_kw:.0f} kW at {depot.bus} "
        f"({depot.slots_at_the_floor} slots at the {f.floor_kw:g} kW floor)"
        for depot in f.depot_charger_kw
    )
    print(
        f"  coupling: depot chargers limited to their transformers' spare power in each slot ({depots}; full power "
        f"{f.full_charger_kw:.0f} kW); all {f.energy_kwh:.0f} kWh the shuttles charge, in "
        f"{f.charging_slots} charger-slots, "
        f"on the grid: uncontrolled peak {u.without_shuttles / 1000:.2f} -> {u.with_shuttles / 1000:.2f} MW; "
        f"planned peak {pw.without_shuttles.peak_kw / 1000:.2f} -> "
        f"{pw.with_shuttles.peak_kw / 1000:.2f} MW; "
        f"overloaded transformers {pw.without_shuttles.overloaded_trafos} without the shuttles, "
        f"{pw.with_shuttles_at_full_power.overloaded_trafos} with them at full power, "
        f"{pw.with_shuttles.overloaded_trafos} with the limit"
    )
    r = d.on_demand.reoptimization
    a, w = r.kpis_without, r.kpis_with
    print(
        f"  re-planning {r.shuttles} shuttles with the routing solver every {r.every_s:.0f} s: served "
        f"{100 * a.served_ratio:.1f} -> {100 * w.served_ratio:.1f} %, wait mean {a.mean_wait_s:.0f} -> "
        f"{w.mean_wait_s:.0f} s, {a.vehicle_km:.0f} -> {w.vehicle_km:.0f} km "
        f"({int(w.reoptimizations)} re-plans taken)"
    )
    _print_kpi_table(results)
    print(
        f"\nDone in {results.runtime_s:.2f} s. Results in {out}: report.html, results.json, signals.csv, "
        "grid_day.csv, energy_plan.csv, shuttle_routes.csv, shuttle_day.csv, and the plots time_space.png, "
        "energy_plan.png, fleet_day.png"
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
    if getattr(args, "seed", 0) > MAX_SEED:
        parser.error(f"argument --seed: must be <= {MAX_SEED}, got {args.seed}")
    if args.command in ("run", "sweep"):
        if args.time_limit is not None and not 0 < args.time_limit < math.inf:
            parser.error(f"argument --time-limit: must be a number of seconds > 0, got {args.time_limit:g}")
        if args.threads is not None and args.threads < 1:
            parser.error(f"argument --threads: must be >= 1, got {args.threads}")
        if args.threads is not None:
            use_threads(args.threads)
    try:
        if args.command == "info":
            from smartopt.datasets import sejong_5_1

            district = sejong_5_1(args.seed)
            print(district.summary())
            print("\nAssumptions:")
            print("\n".join(f"  - {a}" for a in district.assumptions))
        elif args.command == "route":
            route_file(
                args.file, time_limit_s=args.time_limit, seed=args.seed, round_func=args.round, solver=args.solver,
                as_json=args.json, sol=args.sol,
            )  # fmt: skip
        elif args.command == "export-scenario":
            from smartopt.app.config import export_scenario
            from smartopt.datasets import sejong_5_1

            print(f"Wrote {export_scenario(sejong_5_1(args.seed), args.dir)}")
        elif args.command == "sweep":
            run_sweep(args.grid, args.scheduler, args.out, time_limit_s=args.time_limit)
        elif args.command == "signals":
            budget = args.max_iterations
            if budget is not None and budget < 1:
                parser.error(f"argument --max-iterations: must be >= 1, got {budget}")
            if args.time_limit is not None and not 0 < args.time_limit < math.inf:
                parser.error(f"argument --time-limit: must be a number of seconds > 0, got {args.time_limit:g}")
            optimize_sumo(
                *_sumo_scenario(parser, args), out=args.out, seed=args.seed, check_seeds=args.check_seeds,
                time_limit_s=60.0 if args.time_limit is None and budget is None else args.time_limit,
                max_iterations=budget,
            )  # fmt: skip
        else:
            run(args.scenario, args.seed, args.out, args.config, time_limit_s=args.time_limit)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:  # e.g. `smartopt route ... | head`: stop quietly (the Python docs' recipe for SIGPIPE)
        with contextlib.suppress(OSError, ValueError):  # (stdout may have no file descriptor)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 1
    except KeyboardInterrupt:
        print("smartopt: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        print(f"smartopt: error: {_missing(exc)}", file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError) as exc:
        print(f"smartopt: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug, not bad input: still one line, never a traceback
        print(
            f"smartopt: error: unexpected {type(exc).__name__}: {_one_line(exc)} (please report this)", file=sys.stderr
        )
        return 1
    return 0


def _sumo_scenario(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[Path, list[Path], float, float, list[Path]]:
    """Net file, route files, demand window (s) and additional files of ``signals optimize``: from
    ``--sumocfg``, or from ``--sumo-net`` and ``--sumo-routes``; ``--begin``/``--end`` override the
    cfg's times."""
    from smartopt.signals.sumo import read_sumo_config

    if (args.sumocfg is None) == (args.sumo_net is None and args.sumo_routes is None):
        parser.error("give either --sumocfg or --sumo-net with --sumo-routes")
    if args.sumocfg is None:
        if args.sumo_net is None or args.sumo_routes is None:
            parser.error("--sumo-net and --sumo-routes go together")
        net, routes, begin, end, additional = args.sumo_net, list(args.sumo_routes), 0.0, None, []
    else:
        cfg = read_sumo_config(args.sumocfg)
        net, routes, begin, end = cfg.net_file, list(cfg.route_files), cfg.begin_s, cfg.end_s
        additional = list(cfg.additional_files)
    begin = begin if args.begin is None else args.begin
    end = args.end if args.end is not None else end if end is not None else begin + 3600.0
    for flag, value in (("--begin", begin), ("--end", end)):
        if not math.isfinite(value):
            parser.error(f"argument {flag}: must be a finite number of seconds, got {value:g}")
    if not end > begin:
        parser.error(f"argument --end: the window must end after it begins, got [{begin:g}, {end:g}) s")
    return net, routes, begin, end, additional


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _missing(exc: ImportError) -> str:
    """What is missing and how to install it."""
    if isinstance(exc, MissingExtra) or exc.name is None:
        return str(exc)
    top = exc.name.split(".")[0]
    extra = EXTRAS.get(top)
    return f"{top} is not installed: " + (f'pip install "smartopt[{extra}]"' if extra else f"pip install {top}")
