"""``report.html``: one self-contained page (plots inlined as PNG) with the district day's KPI
tables, before and after for each domain and what each coupling changed, and its plots."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from smartopt.pipeline import DistrictDay

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th:first-child,td:first-child{text-align:left}img{max-width:100%}"
)


def write_report(day: DistrictDay, path: Path, plots: dict[str, Path]) -> None:
    """Writes the page for ``day`` to ``path``; ``plots`` maps captions to PNG files already
    written (inlined), to which the voltage profile and the district map are added."""
    r = day.results
    parts = [f"<h1>smartopt — {html.escape(str(r['scenario']))}, seed {r['seed']}</h1>"]
    parts.append(f"<p>smartopt {r['smartopt_version']}; the whole day ran in {r['runtime_s']:.1f} s.</p>")
    rows = [[domain, kpi, what, before, after] for domain, kpi, what, before, after in kpi_rows(r)]
    parts += ["<h2>Before and after</h2>", _table(["domain", "KPI", "comparison", "before", "after"], rows)]
    parts += ["<h2>Signals</h2>", _signal_table(r["signals"])]
    parts += ["<h2>Energy</h2>", _before_after(r["energy"]["plan"], "before", "after")]
    parts += ["<h2>Dispatch</h2>", _dispatch_table(r["dispatch"])]
    c = r["coupling"]
    parts += ["<h2>Coupling</h2>", "<h3>The on-demand day with and without signal delays</h3>"]
    parts.append(_kpi_table(c["signal_aware_dispatch"]["kpis"]))
    parts += ["<h3>The energy plan with and without the shuttles' charging</h3>"]
    charging = c["shuttle_charging"]
    parts.append(_before_after(charging["plan"], "without_shuttles", "with_shuttles"))
    figures = {
        "Voltage profile over the day: the lowest bus and the mean over buses, before and after the plan": _voltages(
            day
        ),
        "The district: roads, signals, feeders and the day's served trips": _district_map(day),
    }
    parts.append("<h2>Plots</h2>")
    for caption, png in plots.items():
        parts.append(_image(caption, png.read_bytes()))
    for caption, fig in figures.items():
        parts.append(_image(caption, _png(fig)))
    page = f"<!doctype html><meta charset='utf-8'><title>smartopt report</title><style>{STYLE}</style>"
    path.write_text(page + "\n".join(parts), encoding="utf-8")


def kpi_rows(results: dict[str, Any]) -> list[tuple[str, str, str, float, float]]:
    """The day's headline KPIs before and after: (domain, KPI, what changed, before, after)."""
    rows: list[tuple[str, str, str, float, float]] = []
    for period, v in results["signals"]["periods"].items():
        w, o = v["timing"]["webster"], v["timing"]["smartopt"]
        rows.append(("signals", f"{period} delay, veh*h/h", "Webster -> smartopt", w["total_delay_veh_h"],
                     o["total_delay_veh_h"]))  # fmt: skip
    plan = results["energy"]["plan"]
    for key, label in (("peak_kw", "peak demand, kW"), ("overloaded_trafos", "overloaded transformers"),
                       ("min_vm_pu", "lowest voltage, pu")):  # fmt: skip
        rows.append(("energy", label, "uncontrolled -> planned", plan["before"][key], plan["after"][key]))
    r = results["dispatch"]["on_demand"]["reoptimization"]
    for key, label in (("served_ratio", "served"), ("mean_wait_s", "mean wait, s"), ("vehicle_km", "vehicle-km")):
        rows.append(("dispatch", label, f"{r['shuttles']} shuttles, + re-planning", r["kpis_without"][key],
                     r["kpis_with"][key]))  # fmt: skip
    c = results["coupling"]["signal_aware_dispatch"]["kpis"]
    for key, label in (("served_ratio", "served"), ("mean_wait_s", "mean wait, s")):
        rows.append(("coupling", label, "free flow -> signal delays", c["free_flow"][key], c["smartopt_signals"][key]))
    f = results["coupling"]["shuttle_charging"]["plan"]
    for key, label in (("peak_kw", "planned peak, kW"), ("overloaded_trafos", "overloaded transformers")):
        rows.append(
            ("coupling", label, "without -> with shuttles", f["without_shuttles"][key], f["with_shuttles"][key])
        )
    full, limited = f["with_shuttles_at_full_power"], f["with_shuttles"]
    rows.append(("coupling", "overloaded transformers", "depots: full -> spare power", full["overloaded_trafos"],
                 limited["overloaded_trafos"]))  # fmt: skip
    return rows


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _signal_table(signals: dict[str, Any]) -> str:
    rows = []
    for period, v in signals["periods"].items():
        w, s = v["timing"]["webster"], v["timing"]["smartopt"]
        rows.append([period, w["total_delay_veh_h"], s["total_delay_veh_h"], w["average_delay_s"],
                     s["average_delay_s"], w["intersections_los_e_or_f"], s["intersections_los_e_or_f"]])  # fmt: skip
    header = [
        "period",
        "delay veh·h/h, Webster",
        "smartopt",
        "s/veh, Webster",
        "smartopt",
        "LOS E/F, Webster",
        "smartopt",
    ]
    return _table(header, rows)


def _before_after(plan: dict[str, Any], before: str, after: str) -> str:
    keys = [k for k in plan[before] if isinstance(plan[before][k], int | float)]
    return _table(
        ["", before.replace("_", " "), after.replace("_", " ")], [[k, plan[before][k], plan[after][k]] for k in keys]
    )


def _kpi_table(kpis: dict[str, dict[str, float]]) -> str:
    names = list(kpis)
    keys = list(kpis[names[0]])
    return _table(["KPI", *[n.replace("_", " ") for n in names]], [[k, *[kpis[n][k] for n in names]] for k in keys])


def _dispatch_table(d: dict[str, Any]) -> str:
    on = d["on_demand"]
    r = on["reoptimization"]
    out = [f"<p>{d['requests']:,} requests for {d['shuttles']} shuttles; {on['travel_times']}.</p>"]
    out.append(_kpi_table({"on-demand day": on["kpis"]}))
    out.append(f"<h3>Re-planning {r['shuttles']} shuttles with the routing solver every {r['every_s']:.0f} s</h3>")
    out.append(_kpi_table({"without": r["kpis_without"], "with": r["kpis_with"]}))
    b = d["booked_trips"]
    out.append("<h3>Booked trips</h3>")
    out.append(_table(["", "value"], [[k, v] for k, v in b.items() if isinstance(v, int | float)]))
    return "\n".join(out)


def _image(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}</figcaption></figure>"


def _png(fig: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _voltages(day: DistrictDay) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    hours = np.arange(day.energy.num_slots) * day.energy.slot_h
    for name, flow, style in (("before", day.energy_plan.before, "--"), ("after", day.energy_plan.after, "-")):
        ax.plot(hours, np.nanmin(flow.vm_pu, axis=1), style, c="C3", label=f"lowest bus, {name}")
        ax.plot(hours, np.nanmean(flow.vm_pu, axis=1), style, c="C0", label=f"mean over buses, {name}")
    ax.axhline(0.95, c="k", lw=0.8, ls=":")
    ax.set_xlabel("hour of day")
    ax.set_ylabel("voltage (pu)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def _district_map(day: DistrictDay) -> Figure:
    import matplotlib.pyplot as plt

    d = day.district
    net, grid = d.network, d.energy.grid
    xy = np.asarray(net.node_xy)
    fig, ax = plt.subplots(figsize=(8, 8))
    seg = np.stack([xy[net.link_tail], xy[net.link_head]], axis=1)
    ax.plot(seg[:, :, 0].T, seg[:, :, 1].T, c="0.8", lw=0.6)
    if grid.bus_xy is not None:
        b = grid.bus_xy
        ax.plot(np.stack([b[grid.line_from, 0], b[grid.line_to, 0]]), np.stack([b[grid.line_from, 1],
                b[grid.line_to, 1]]), c="C2", lw=0.8, alpha=0.7)  # fmt: skip
    trips = day.on_demand
    ok = trips.served
    o, t = xy[trips.requests.origin[ok]], xy[trips.requests.destination[ok]]
    ax.plot(np.stack([o[:, 0], t[:, 0]]), np.stack([o[:, 1], t[:, 1]]), c="C0", lw=0.2, alpha=0.15)
    signals = xy[[i.node for i in d.intersections]]
    ax.scatter(signals[:, 0], signals[:, 1], marker="s", s=18, c="C3", zorder=3, label="signals")
    depots = xy[d.fleet.depot_node]
    ax.scatter(depots[:, 0], depots[:, 1], marker="^", s=60, c="k", zorder=3, label="shuttle depots")
    ax.plot([], [], c="C2", label="feeders")
    ax.plot([], [], c="C0", label="served trips")
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
