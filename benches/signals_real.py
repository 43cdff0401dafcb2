"""Signal control on real cities in SUMO: the network's own programs and SUMO's tools against
smartopt's controllers, each scored over several SUMO seeds.

Scenarios: RESCO's real networks of Cologne and Ingolstadt and its 4 x 4 grid (from the ``sumo-rl``
package on PyPI, downloaded with ``pip download --no-deps`` into ``--cache``, never vendored), each
in the demand window its ``.sumocfg`` gives; and grids from the project's scenario builder
(``../shared/sumo/build_scenario.sh``): ``grid5x5`` (its default: 350 m blocks, seed 42, demand
x1.0) and ``grid6x6`` (280 m blocks, seed 42, demand x1.3: shorter blocks, heavier demand).

The scenario's vehicles that depart in the window (``duarouter --begin --end``, trips routed on
the fastest paths as SUMO routes them at insertion) are the demand every controller is scored
on: SUMO starts at the window (``--begin``) and runs until every vehicle has arrived
(``--time-to-teleport 300``), so "every trip completed" can be checked. Controllers:

- baselines: the network's own programs; the same programs as SUMO ``actuated`` (green phases
  ``minDur`` 5 s, ``maxDur`` twice their duration); SUMO's ``tlsCycleAdaptation.py -u`` (Webster,
  one common cycle) + ``tlsCoordinator.py`` offsets, both on the window's routes;
- smartopt: (a) the network fixed-time plan at the default saturation flow, (b) its actuated
  export (SUMO's detectors extend greens and skip stages nobody calls), the program ``smartopt
  signals optimize`` recommends (among (a), (b) and both at the saturation flows a short SUMO run
  measured, from a check on seeds 1001-1002, not the scored seeds), and (c) max-pressure
  driving SUMO through TraCI with its default guards (full exits, maximum red; no fallback plan
  is given here), its decision interval and detector range picked by ``tune_max_pressure`` on
  seeds 1001-1002.

Static and actuated programs are scored by ``../shared/sumo/evaluate_plan.py`` (one path for all),
max-pressure by :func:`smartopt.signals.sumo.run_max_pressure`. A controller that cannot be built
on a scenario is a row saying why ("smartopt failed: ...", "did not run: ..."), never a crash.

    python benches/signals_real.py [--scenarios cologne1,grid5x5] [--controllers own,max-pressure]
                                   [--seeds 20] [--jobs 2] [--time-limit 60] [--out DIR]
                                   [--cache DIR] [--smoke]

Twenty seeds by default: a single light's mean time loss varies by about 2 s (10 %) from seed to
seed, so five seeds cannot tell apart controllers 10 % apart.

Writes ``DIR/results.md`` (mean time loss per completed trip with a 95 % t-interval across seeds;
teleports and completed / planned trips summed over the seeds; change against the best baseline)
and ``DIR/results.json`` (with every run's metrics). ``--smoke``: one scenario (ingolstadt1 unless
``--scenarios`` says), one seed, the window's first 600 s. Needs the eclipse-sumo package. One
SUMO run of an hour costs 0.4-3 CPU s on the RESCO scenarios here, 5-9 s on grid5x5 and about
20 s on grid6x6.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

SHARED = Path(__file__).resolve().parents[2] / "shared" / "sumo"
RESCO = ("cologne1", "cologne3", "ingolstadt1", "ingolstadt7", "grid4x4")
GRIDS = {"grid5x5": (5, 350.0, 42, 1.0), "grid6x6": (6, 280.0, 42, 1.3)}  # size, block (m), seed, demand scale
OWN, OWN_ACTUATED, CYCLE_ADAPTATION = "own programs", "own programs, actuated", "tlsCycleAdaptation + tlsCoordinator"
FIXED, ACTUATED = "smartopt fixed time (a)", "smartopt actuated (b)"
RECOMMENDED, MAX_PRESSURE = "smartopt recommended (a or b)", "smartopt max-pressure (c, TraCI)"
BASELINES = (OWN, OWN_ACTUATED, CYCLE_ADAPTATION)
CONTROLLERS = (*BASELINES, FIXED, ACTUATED, RECOMMENDED, MAX_PRESSURE)
SHORT_NAMES = dict(zip(("own", "own-actuated", "cycle-adaptation", "fixed", "actuated", "recommended", "max-pressure"),
                       CONTROLLERS, strict=True))  # fmt: skip
SMOKE_WINDOW_S = 600.0
ACTUATED_MIN_GREEN_S = 5.0


@dataclass(frozen=True)
class Scenario:
    """A SUMO scenario: network, route files and additional files (vehicle types) as given, and
    the demand window (s)."""

    name: str
    net: Path
    routes: tuple[Path, ...]
    begin_s: float
    end_s: float
    additional: tuple[Path, ...] = ()


def sumo_home() -> Path:
    """The eclipse-sumo package's SUMO (binaries in ``bin``, tools in ``tools``)."""
    import sumo

    return Path(sumo.SUMO_HOME)


def download_resco(cache: Path) -> Path:
    """``sumo_rl/nets/RESCO`` of the ``sumo-rl`` wheel in ``cache`` (downloaded with ``pip download
    --no-deps`` when none is there); ``RuntimeError`` with the reason when it cannot be had."""
    cache.mkdir(parents=True, exist_ok=True)
    if not any(cache.glob("sumo_rl-*.whl")):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "sumo-rl", "-d", str(cache)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"pip download sumo-rl failed: {' '.join(exc.stderr.split())[-300:]}") from None
        except (subprocess.TimeoutExpired, OSError) as exc:
            raise RuntimeError(f"pip download sumo-rl failed: {exc}") from None
    wheel = max(cache.glob("sumo_rl-*.whl"))
    resco = cache / "sumo_rl" / "nets" / "RESCO"
    if not resco.is_dir():
        with zipfile.ZipFile(wheel) as z:
            z.extractall(cache, [n for n in z.namelist() if n.startswith("sumo_rl/nets/RESCO/")])
    return resco


def resco_scenario(resco: Path, name: str) -> Scenario:
    """RESCO scenario ``name`` as its ``.sumocfg`` gives it (an hour from ``begin`` when it sets no end)."""
    from smartopt.signals.sumo import read_sumo_config

    cfg = read_sumo_config(resco / name / f"{name}.sumocfg")
    end_s = cfg.begin_s + 3600.0 if cfg.end_s is None else cfg.end_s
    return Scenario(name, cfg.net_file, cfg.route_files, cfg.begin_s, end_s, cfg.additional_files)


def build_grid(folder: Path, name: str) -> Scenario:
    """A grid of the shared scenario builder (``GRIDS[name]``), its demand hour 0-3600 s."""
    size, block, seed, scale = GRIDS[name]
    _run(["bash", str(SHARED / "build_scenario.sh"), str(folder), str(size), str(block), str(seed), str(scale)],
         "build_scenario.sh")  # fmt: skip
    return Scenario(name, folder / "net" / "grid.net.xml", (folder / "demand" / "routes.rou.xml",), 0.0, 3600.0)


def window_routes(scn: Scenario, out: Path) -> Path:
    """The vehicles departing in the scenario's window, routed by ``duarouter`` (trips on the
    fastest paths, as SUMO routes them at insertion; unroutable ones dropped, as SUMO does);
    ``RuntimeError`` when none departs in it."""
    cmd = [str(sumo_home() / "bin" / "duarouter"), "-n", str(scn.net), "-r", ",".join(map(str, scn.routes)),
           "-o", str(out), "--begin", f"{scn.begin_s:g}", "--end", f"{scn.end_s:g}", "--ignore-errors",
           "--no-step-log", "--routing-threads", "1"]  # fmt: skip
    if scn.additional:
        cmd += ["--additional-files", ",".join(map(str, scn.additional))]
    _run(cmd, "duarouter")
    out.with_name(out.name.removesuffix(".xml") + ".alt.xml").unlink(missing_ok=True)  # duarouter's alternatives
    if not any(el.tag in ("vehicle", "flow") for el in ET.parse(out).getroot()):
        raise RuntimeError(
            f"no vehicle of {', '.join(r.name for r in scn.routes)} departs in [{scn.begin_s:g}, {scn.end_s:g}) s"
        )
    return out


def own_actuated(net: Path, out: Path) -> Path:
    """The net's programs as SUMO ``actuated`` ones (programID ``actuated``): each green phase
    (one without yellow) gets ``minDur`` 5 s (its duration if shorter) and ``maxDur`` twice its
    duration; the other phases and the offsets stay."""
    evaluate_plan = _evaluate_plan()
    tls = evaluate_plan.read_net_tls(str(net))
    plan = {}
    for tls_id, found in tls.items():
        if not found["programs"]:
            continue
        program = dict(next(iter(found["programs"].values())), type="actuated", programID="actuated")
        program["phases"] = [
            {**ph, "minDur": min(ACTUATED_MIN_GREEN_S, ph["duration"]), "maxDur": 2.0 * ph["duration"]}
            if set(ph["state"]) & set("Gg") and "y" not in ph["state"]
            else ph
            for ph in program["phases"]
        ]
        plan[tls_id] = program
    evaluate_plan.plan_json_to_additional(plan, str(out), tls)
    return out


def cycle_adaptation(net: Path, routes: Path, begin_s: float, folder: Path) -> list[Path]:
    """SUMO's ``tlsCycleAdaptation.py -u`` (Webster's splits, one common cycle) and
    ``tlsCoordinator.py`` offsets on top; ``RuntimeError`` saying why where they do not run."""
    tools, py = sumo_home() / "tools", sys.executable
    cycles, offsets = folder / "cycle_adaptation.add.xml", folder / "coordinator.add.xml"
    log = _run([py, str(tools / "tlsCycleAdaptation.py"), "-n", str(net), "-r", str(routes), "-b", f"{begin_s:g}",
                "-u", "-p", "cycle_adaptation", "-o", str(cycles)], "tlsCycleAdaptation.py")  # fmt: skip
    if "No green time optimization is done" in log:
        raise RuntimeError("tlsCycleAdaptation.py found no flows at the lights")
    _run([py, str(tools / "tlsCoordinator.py"), "-n", str(net), "-r", str(routes), "-a", str(cycles),
          "-o", str(offsets)], "tlsCoordinator.py")  # fmt: skip
    return [cycles, offsets]


def smartopt_programs(scn: Scenario, folder: Path, time_limit_s: float) -> dict[str, list[Path] | str]:
    """The programs ``smartopt signals optimize`` writes from the scenario's own route files: the
    fixed-time plan, its actuated export and the recommended one (as plan files), or why they
    could not be made."""
    from smartopt.app.cli import optimize_sumo
    from smartopt.signals.sumo import SATURATION_VPHPL

    out = folder / "smartopt.add.xml"
    try:
        found = optimize_sumo(
            scn.net, scn.routes, scn.begin_s, scn.end_s, scn.additional, out=out, time_limit_s=time_limit_s
        )
    except Exception as exc:
        reason = f"smartopt failed: {_one_line(exc)}"
        return {FIXED: reason, ACTUATED: reason, RECOMMENDED: reason}
    default = f"{SATURATION_VPHPL:.0f}"
    files = found.files
    return {FIXED: [files[f"fixed {default}"]], ACTUATED: [files[f"actuated {default}"]], RECOMMENDED: [out]}


@dataclass(frozen=True)
class Prepared:
    """A scenario ready to score: the window's routes and each controller's plan files (empty for
    the net's own programs and for max-pressure), or why the controller could not be made."""

    scenario: Scenario
    window: Path
    plans: dict[str, list[Path] | str]
    max_pressure: tuple[float, float] = (5.0, 0.0)  # (decision_s, detector_range_m)


def prepare(
    scn: Scenario | str, folder: Path, time_limit_s: float, window_s: float | None = None,
    controllers: Sequence[str] = CONTROLLERS,
) -> Prepared:  # fmt: skip
    """Builds a scenario (a grid's name, or one read from a ``.sumocfg``) in ``folder``, cut to
    its first ``window_s`` seconds if given, and the plans of the ``controllers``."""
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(scn, str):
        scn = build_grid(folder / "grid", scn)
    if window_s is not None:
        scn = replace(scn, end_s=min(scn.end_s, scn.begin_s + window_s))
    window = window_routes(scn, folder / "window.rou.xml")
    plans: dict[str, list[Path] | str] = {OWN: []}
    if OWN_ACTUATED in controllers:
        plans[OWN_ACTUATED] = [own_actuated(scn.net, folder / "own_actuated.add.xml")]
    if CYCLE_ADAPTATION in controllers:
        try:
            plans[CYCLE_ADAPTATION] = cycle_adaptation(scn.net, window, scn.begin_s, folder)
        except RuntimeError as exc:
            plans[CYCLE_ADAPTATION] = f"did not run: {_one_line(exc)}"
    if {FIXED, ACTUATED, RECOMMENDED} & set(controllers):
        plans.update(smartopt_programs(scn, folder, time_limit_s))
    setting = Prepared.max_pressure
    if MAX_PRESSURE in controllers:
        from smartopt.signals.sumo import tune_max_pressure

        plans[MAX_PRESSURE] = []
        setting, _ = tune_max_pressure(
            scn.net, window, begin=scn.begin_s, end=scn.end_s, workdir=folder / "max_pressure_check"
        )
    return Prepared(scn, window, {c: p for c, p in plans.items() if c in controllers}, setting)


def score(prepared: Prepared, controller: str, seed: int, workdir: Path) -> dict[str, Any]:
    """One SUMO run of a controller from the window's start until every vehicle has arrived:
    mean time loss per completed trip (s), teleports, completed trips and (static and actuated
    programs) loaded and inserted vehicles."""
    scn, plans = prepared.scenario, prepared.plans[controller]
    if isinstance(plans, str):
        raise ValueError(f"{controller} was not built on {scn.name}: {plans}")
    workdir.mkdir(parents=True, exist_ok=True)
    if controller == MAX_PRESSURE:
        from smartopt.signals.sumo import run_max_pressure

        tripinfo = workdir / "tripinfo.xml"
        decision_s, range_m = prepared.max_pressure
        return dict(
            run_max_pressure(
                scn.net, prepared.window, begin=scn.begin_s, seed=seed, tripinfo=tripinfo, decision_s=decision_s,
                detector_range_m=range_m,
            )
        )  # fmt: skip
    return dict(_evaluate_plan().evaluate(str(scn.net), str(prepared.window), [str(p) for p in plans], seed=seed,
                                       workdir=str(workdir), sumo_args=["--begin", f"{scn.begin_s:g}"]))  # fmt: skip


def summarize(runs: Sequence[dict[str, Any]], planned: int | None) -> dict[str, Any]:
    """Mean time loss per completed trip (s) over the seeds with its 95 % t-interval half-width
    (None for one seed), teleports and completed trips summed over the seeds, and the planned
    trips (the window's loaded vehicles, summed over the seeds)."""
    loss = np.array([r["mean_time_loss_s"] for r in runs], dtype=float)
    half = float(stats.t.ppf(0.975, len(loss) - 1) * loss.std(ddof=1) / np.sqrt(len(loss))) if len(loss) > 1 else None
    return {"mean_time_loss_s": float(loss.mean()), "half_width_95_s": half, "seeds": len(loss),
            "teleports": int(sum(r["teleports"] for r in runs)),
            "completed_trips": int(sum(r["completed_trips"] for r in runs)), "planned_trips": planned}  # fmt: skip


def table(results: dict[str, dict[str, Any]]) -> str:
    """The Markdown table: scenario x controller, with the change against the scenario's best baseline."""
    head = "| scenario (window s) | controller | mean time loss s (95 % CI) | teleports | completed / planned |"
    lines = [head + " vs best baseline |", "|---|---|---|---|---|---|"]
    for name, res in results.items():
        if "error" in res:
            lines.append(f"| {name} | | {res['error']} | | | |")
            continue
        rows = res["controllers"]
        ran = [rows[b]["mean_time_loss_s"] for b in BASELINES if isinstance(rows.get(b), dict)]
        best = min(ran) if ran else None
        where = f"{name} ({res['begin_s']:g}-{res['end_s']:g})"
        for controller, row in rows.items():
            if isinstance(row, str):
                lines.append(f"| {where} | {controller} | {row} | | | |")
                continue
            ci = f" ± {row['half_width_95_s']:.1f}" if row["half_width_95_s"] is not None else ""
            change = f"{100.0 * (row['mean_time_loss_s'] / best - 1.0):+.1f} %" if best else ""
            lines.append(f"| {where} | {controller} | {row['mean_time_loss_s']:.1f}{ci} | {row['teleports']} | "
                         f"{row['completed_trips']} / {row['planned_trips']} | {change} |")  # fmt: skip
    return "\n".join(lines)


def run(
    scenarios: Sequence[str], seeds: Sequence[int], out: Path, cache: Path, *, jobs: int, time_limit_s: float,
    window_s: float | None = None, controllers: Sequence[str] = CONTROLLERS,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Prepares every scenario and scores the ``controllers`` at every seed, ``jobs`` processes
    at a time; returns per scenario its window and per controller a summary (:func:`summarize`,
    with every run's metrics) or why it did not run, or (``"error"``) why the scenario did not."""
    results: dict[str, dict[str, Any]] = {}
    todo: dict[str, Scenario | str] = {n: n for n in scenarios if n in GRIDS}
    if resco_names := [n for n in scenarios if n not in GRIDS]:
        try:
            resco = download_resco(cache)
        except RuntimeError as exc:
            results |= {n: {"error": f"skipped: {exc}"} for n in resco_names}
        else:
            for n in resco_names:
                try:
                    todo[n] = resco_scenario(resco, n)
                except (OSError, ValueError) as exc:
                    results[n] = {"error": f"not read: {_one_line(exc)}"}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failed: dict[tuple[str, str], str] = {}
    prepared: dict[str, Prepared] = {}
    with cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: dict[cf.Future[Any], tuple[str, str]] = {
            pool.submit(prepare, scn, out / name, time_limit_s, window_s, controllers): (name, "")
            for name, scn in todo.items()
        }
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                name, controller = pending.pop(future)
                try:
                    value = future.result()
                except Exception as exc:
                    if controller:
                        failed[(name, controller)] = f"failed: {_one_line(exc)}"
                    else:
                        results[name] = {"error": f"not built: {_one_line(exc)}"}
                    continue
                if not isinstance(value, Prepared):
                    runs.setdefault((name, controller), []).append(value)
                    continue
                prepared[name] = value
                for c, plans in value.plans.items():
                    if isinstance(plans, str):
                        failed[(name, c)] = plans
                        continue
                    for seed in seeds:
                        job = pool.submit(score, value, c, seed, out / name / "runs" / f"{_slug(c)}_{seed}")
                        pending[job] = (name, c)
    for name, p in prepared.items():
        complete = [r for c in controllers if len(r := runs.get((name, c), [])) == len(seeds) and "loaded" in r[0]]
        planned = sum(r["loaded"] for r in complete[0]) if complete else None  # the window's vehicles, every run
        rows: dict[str, Any] = {}
        for c in controllers:
            if (name, c) in failed:
                rows[c] = failed[(name, c)]
            else:
                rows[c] = summarize(runs[(name, c)], planned) | {"runs": runs[(name, c)]}
        results[name] = {"begin_s": p.scenario.begin_s, "end_s": p.scenario.end_s, "net": str(p.scenario.net),
                         "routes": [str(r) for r in p.scenario.routes], "controllers": rows}  # fmt: skip
    return {n: results[n] for n in scenarios if n in results}


def _run(cmd: list[str], what: str) -> str:
    """Runs a SUMO tool (or the scenario builder); its output, or ``RuntimeError`` naming the tool
    and its last words."""
    env = {**os.environ, "SUMO_HOME": str(sumo_home()), "PY": sys.executable}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{what} exited with {exc.returncode}: {' '.join(exc.stderr[-300:].split())}") from None
    return proc.stdout + proc.stderr


def _evaluate_plan() -> Any:
    """The shared plan evaluator, ``../shared/sumo/evaluate_plan.py``."""
    if str(SHARED) not in sys.path:
        sys.path.insert(0, str(SHARED))
    import evaluate_plan  # type: ignore[import-not-found]

    return evaluate_plan


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line, with its type unless it is an input or tool error."""
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ValueError | OSError | RuntimeError) else f"{type(exc).__name__}: {text}"


def _slug(controller: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in controller)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scenarios", default=None, help=f"comma-separated (default: {','.join((*RESCO, *GRIDS))})")
    parser.add_argument("--seeds", type=int, default=20, help="SUMO seeds per controller (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="SUMO processes at a time")
    parser.add_argument("--time-limit", type=float, default=60.0, help="smartopt's search time, s (default: 60)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "smartopt-sumo-rl",
                        help="where the sumo-rl wheel is downloaded (default: %(default)s)")  # fmt: skip
    parser.add_argument("--controllers", default=None,
                        help=f"comma-separated, of {','.join(SHORT_NAMES)} (default: all)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help=f"one scenario, one seed, {SMOKE_WINDOW_S:g} s window")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error(f"--seeds and --jobs must be >= 1, got {args.seeds} and {args.jobs}")
    chosen = args.controllers.split(",") if args.controllers else list(SHORT_NAMES)
    if unknown := [c for c in chosen if c not in SHORT_NAMES]:
        parser.error(f"--controllers: unknown {', '.join(unknown)} (choose from {', '.join(SHORT_NAMES)})")
    scenarios = args.scenarios.split(",") if args.scenarios else ["ingolstadt1"] if args.smoke else [*RESCO, *GRIDS]
    out = args.out or Path(tempfile.mkdtemp(prefix="smartopt-signals-real-"))
    results = run(
        scenarios[:1] if args.smoke else scenarios, [42] if args.smoke else list(range(42, 42 + args.seeds)), out,
        args.cache, jobs=args.jobs, time_limit_s=args.time_limit, window_s=SMOKE_WINDOW_S if args.smoke else None,
        controllers=[SHORT_NAMES[c] for c in chosen],
    )  # fmt: skip
    if not results:
        print("nothing to run (see above)")
        return 0
    text = table(results)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"Results: {out / 'results.md'}, {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
