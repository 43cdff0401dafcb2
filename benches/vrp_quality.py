"""Routing quality, side by side: smartopt, PyVRP (``pyvrp.solve``) and OR-Tools routing on the
public instances in ``../shared/data/vrp``, the same time limit per instance, one thread each.

    python benches/vrp_quality.py --time-limit 10            # Solomon + X, the three solvers
    python benches/vrp_quality.py --time-limit 10 --sets hfvrp mdvrptw --solvers smartopt pyvrp
    python benches/vrp_quality.py --time-limit 2 --workers 2 --csv vrp_2s.csv
    python benches/vrp_quality.py --protocol --sets x gh1000 xxl --min-clients 201 --solvers smartopt pyvrp
    python benches/vrp_quality.py --time-limit 10 --sets multitrip --solvers smartopt pyvrp

Prints each instance's cost, gap to the best-known solution, routes and feasibility per solver,
then per set: mean gap, feasible count, the share of instances where smartopt beats OR-Tools and
the mean cost ratio smartopt / PyVRP (the primary figure: Solomon's ``bks.csv`` is transcribed and
partly unverified). Costs are in each file's units: Solomon and Gehring-Homberger 1,000 by the
DIMACS convention (distances truncated to 0.1), X and the XXL instances rounded to integers, HFVRP
with the x100 cost scaling of PyVRP's dialect removed, MDVRPTW with three decimals. ``--workers 2``
runs two instances at a time, one per core.

``--protocol`` replaces ``--time-limit`` by issue 23's budgets, PyVRP's benchmark protocol scaled
to a 2-core machine: 2.4 x clients / 10 s for X and Gehring-Homberger 1,000 (240 s at 1,000
clients), 300 s for each XXL instance.

``multitrip`` derives multi-trip instances with release times from Solomon's 27 type-2 instances
(long horizons; the public MTVRPTWR set is not on PyPI): a quarter of the capacity, as many
vehicles as half the trips the demand needs at least, reloads at the depot
(``VEHICLES_RELOAD_DEPOT_SECTION``), and half of the clients (seed 0) released at a uniform share
of up to half of their window's opening (``RELEASE_TIME_SECTION``). Both solvers read the same
VRPLIB file; there is no best-known solution, so the figure is the cost ratio.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "vrp"
SETS = ("solomon", "x", "hfvrp", "mdvrptw", "gh1000", "xxl", "multitrip")
SOLVERS = ("smartopt", "pyvrp", "ortools")


@dataclass(frozen=True)
class Instance:
    set: str
    name: str
    path: Path
    round_func: str  # ours; PyVRP's integer version of it is in PYVRP_ROUND
    bks: float
    cost_scale: float  # our cost / cost_scale is in the BKS's units
    clients: int

    def protocol_s(self) -> float:
        """Issue 23's time budget for the instance (s): 300 for XXL, else 2.4 x clients / 10."""
        return 300.0 if self.set == "xxl" else 2.4 * self.clients / 10


PYVRP_ROUND = {
    "dimacs": ("dimacs", 10.0),
    "round": ("round", 1.0),
    "exact": ("exact", 1000.0),
    "none": ("exact", 1000.0),
}


@dataclass
class Row:
    set: str
    instance: str
    solver: str
    cost: float
    bks: float
    gap_pct: float
    routes: int
    feasible: bool
    runtime_s: float


def instances(sets: list[str], root: Path = SHARED) -> list[Instance]:
    """The benchmark instances of the chosen sets with their best-known costs: Solomon's from
    ``bks.csv``, the others by evaluating the ``.sol`` routes (which also checks them)."""
    from smartopt.dispatch import evaluate_routes, read_vrplib, read_vrplib_solution

    out = []
    if "solomon" in sets:
        with (root / "solomon" / "bks.csv").open() as f:
            for r in csv.DictReader(f):
                path = root / "solomon" / f"{r['instance']}.vrp"
                clients = read_vrplib(path).clients.size
                out.append(Instance("solomon", r["instance"], path, "dimacs", float(r["bks"]), 1.0, clients))
    subsets = {
        "x": ("cvrp", "round", 1.0),
        "hfvrp": ("hfvrp", "none", 100.0),
        "mdvrptw": ("mdvrptw", "exact", 1.0),
        "gh1000": ("vrptw-gh1000", "dimacs", 1.0),
        "xxl": ("xxl", "round", 1.0),
    }
    for key, (folder, rnd, cost_scale) in subsets.items():
        if key not in sets:
            continue
        for path in sorted((root / folder).glob("*.vrp")):
            _, routes = read_vrplib_solution(path.with_suffix(".sol"))
            problem = read_vrplib(path, rnd)
            best = evaluate_routes(problem, [(v, r) for v, r in enumerate(routes) if r])
            if not best.feasible:
                raise ValueError(f"{path.name}: the best-known routes do not evaluate as feasible: {best.violations()}")
            out.append(Instance(key, path.stem, path, rnd, best.cost / cost_scale, cost_scale, problem.clients.size))
    if "multitrip" in sets:
        folder = Path(tempfile.mkdtemp(prefix="multitrip-"))
        for path in sorted((root / "solomon").glob("*2[0-9][0-9].vrp")):
            derived = multitrip_instance(path, folder / f"MT-{path.name}")
            out.append(Instance("multitrip", derived.stem, derived, "dimacs", math.nan, 1.0, 100))
    return out


def multitrip_instance(solomon: Path, out: Path, seed: int = 0) -> Path:
    """A multi-trip instance with release times derived from a Solomon file (see the module's
    docstring), written to ``out`` in PyVRP's VRPLIB dialect."""
    import numpy as np
    import vrplib

    inst = vrplib.read_instance(str(solomon))
    rng = np.random.default_rng(seed)
    n = int(inst["dimension"])
    capacity = int(inst["capacity"]) // 4
    trips = math.ceil(float(inst["demand"].sum()) / capacity)
    early = inst["time_window"][:, 0]
    release = np.where(rng.random(n) < 0.5, np.floor(rng.uniform(0, 0.5, n) * early), 0).astype(int)
    release[0] = 0
    vehicles = math.ceil(trips / 2)
    service = inst.get("service_time", 0)
    specs = {"NAME": out.stem, "TYPE": "VRPTW", "DIMENSION": n, "VEHICLES": vehicles, "CAPACITY": capacity}
    specs |= {"EDGE_WEIGHT_TYPE": "EUC_2D"} | ({"SERVICE_TIME": service} if np.ndim(service) == 0 else {})
    sections = {
        "NODE_COORD_SECTION": inst["node_coord"],
        "DEMAND_SECTION": inst["demand"],
        "TIME_WINDOW_SECTION": inst["time_window"],
        "RELEASE_TIME_SECTION": release,
        "VEHICLES_RELOAD_DEPOT_SECTION": np.ones(vehicles, dtype=int),
        "DEPOT_SECTION": [1, -1],
    } | ({} if np.ndim(service) == 0 else {"SERVICE_TIME_SECTION": service})
    vrplib.write_instance(str(out), specs | sections)
    return out


def run_one(inst: Instance, solver: str, time_limit_s: float, seed: int = 0) -> Row:
    """One solver on one instance, in the BKS's units."""
    if solver == "pyvrp":
        import pyvrp
        from pyvrp.stop import MaxRuntime

        rnd, unit = PYVRP_ROUND[inst.round_func]
        data = pyvrp.read(str(inst.path), round_func=rnd)
        res = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=seed, display=False, collect_stats=False)
        cost = res.cost() / unit / inst.cost_scale if res.is_feasible() else math.inf
        return _row(inst, solver, cost, res.best.num_routes(), res.is_feasible(), res.runtime)
    from smartopt.dispatch import read_vrplib, solve_vrp

    problem = read_vrplib(inst.path, inst.round_func)
    result = solve_vrp(problem, time_limit_s=time_limit_s, seed=seed, solver=solver)
    cost = result.cost / inst.cost_scale if result.feasible else math.inf
    return _row(inst, solver, cost, result.num_vehicles, result.feasible, result.runtime_s)


def _row(inst: Instance, solver: str, cost: float, routes: int, feasible: bool, runtime_s: float) -> Row:
    gap = 100.0 * (cost / inst.bks - 1.0)
    return Row(inst.set, inst.name, solver, cost, inst.bks, gap, routes, feasible, runtime_s)


def summary(rows: list[Row], solvers: list[str]) -> list[str]:
    """Per set: mean gap and feasible count per solver, wins over OR-Tools, ratio to PyVRP."""
    lines = []
    for s in dict.fromkeys(r.set for r in rows):
        by = {(r.instance, r.solver): r for r in rows if r.set == s}
        names = sorted({r.instance for r in rows if r.set == s})
        parts = []
        for solver in solvers:
            got = [by[n, solver] for n in names if (n, solver) in by]
            feasible = [r for r in got if r.feasible]
            mean = statistics.fmean(r.gap_pct for r in feasible) if feasible else math.nan
            parts.append(f"{solver} gap {mean:.2f} % ({len(feasible)}/{len(got)} feasible)")
        line = f"{s:8s} {len(names):3d} instances: " + "; ".join(parts)
        if {"smartopt", "ortools"} <= set(solvers):
            wins = sum(by[n, "smartopt"].cost < by[n, "ortools"].cost - 1e-9 for n in names)
            line += f"; smartopt better than OR-Tools on {wins}/{len(names)}"
        if {"smartopt", "pyvrp"} <= set(solvers):
            ratios = [by[n, "smartopt"].cost / by[n, "pyvrp"].cost for n in names if by[n, "pyvrp"].feasible]
            line += f"; mean cost ratio smartopt/PyVRP {statistics.fmean(ratios):.4f}" if ratios else ""
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=10.0, help="s per instance and solver (default 10)")
    ap.add_argument("--sets", nargs="+", choices=SETS, default=["solomon", "x"])
    ap.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    ap.add_argument("--only", nargs="*", default=None, help="instance names to run (default: all)")
    ap.add_argument("--min-clients", type=int, default=0, help="only instances with at least this many clients")
    ap.add_argument("--protocol", action="store_true", help="issue 23's budget per instance, not --time-limit")
    ap.add_argument("--workers", type=int, default=1, help="instances solved at once (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    todo = [
        i for i in instances(args.sets) if (args.only is None or i.name in args.only) and i.clients >= args.min_clients
    ]
    jobs = [(i, s) for i in todo for s in args.solvers]
    budget = "issue 23's protocol" if args.protocol else f"{args.time_limit:g} s each"
    print(f"{len(todo)} instances x {len(args.solvers)} solvers at {budget}", flush=True)
    print(f"{'set':8s} {'instance':12s} {'solver':9s} {'cost':>12s} {'bks':>12s} {'gap %':>7s} {'routes':>6s} feasible")
    rows: list[Row] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [
            pool.submit(run_one, i, s, i.protocol_s() if args.protocol else args.time_limit, args.seed) for i, s in jobs
        ]
        for fut in futures:
            r = fut.result()
            rows.append(r)
            print(
                f"{r.set:8s} {r.instance:12s} {r.solver:9s} {r.cost:12.2f} {r.bks:12.2f} {r.gap_pct:7.2f} "
                f"{r.routes:6d} {r.feasible}",
                flush=True,
            )
    print("\n".join(summary(rows, args.solvers)))
    if args.csv:
        with args.csv.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
            w.writeheader()
            w.writerows(asdict(r) for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
