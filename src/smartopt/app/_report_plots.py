"""The figures of ``report.html``, drawn from the district day's objects: every axis has its unit,
every time axis runs over the clock hours of one day (0-24 h), and each function returns the figure
with the caption the page shows under it (what it shows and for which period)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from smartopt.app.results import DistrictDay

DAY_H = 24.0
LOS = "ABCDEF"
LOS_COLOURS = ("#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027")
"""HCM level of service A (free) to F (over capacity), green to red."""
PERIOD_LABELS = {"am_peak": "AM peak", "pm_peak": "PM peak", "midday": "midday", "night": "night"}


def period_label(period: str) -> str:
    """A period's name as a person reads it: ``"am_peak"`` -> ``"AM peak"``."""
    return PERIOD_LABELS.get(period, period.replace("_", " "))


def _clock_axis(ax: Axes) -> None:
    ax.set_xlim(0, DAY_H)
    ax.set_xticks(np.arange(0, DAY_H + 1, 3))
    ax.set_xlabel("time of day (h)")
    ax.grid(alpha=0.3)


def fleet_day(day: DistrictDay) -> tuple[Figure, str]:
    """The on-demand day's fleet (:meth:`FleetDay.plot`) and its caption."""
    from matplotlib.figure import Figure

    sim = day.fleet_day
    fig = Figure(figsize=(9, 4))
    sim.plot(ax=fig.subplots())
    fig.tight_layout()
    k = sim.kpis
    caption = (
        f"The on-demand shuttle day ({sim.fleet.num_vehicles} shuttles, {int(k['requests']):,} requests, "
        f"{k['served_ratio']:.1%} served): shuttles driving with riders, driving empty and charging, and riders "
        "on board, per minute over the whole day (0-24 h). Charging that runs past midnight is drawn at its "
        "clock time in the early hours (the day repeats)."
    )
    return fig, caption


def energy_plan(day: DistrictDay) -> tuple[Figure, str]:
    """The energy plan's load curves and battery charge (:meth:`DayPlan.plot`) and its caption."""
    e = day.day_plan.day
    caption = (
        f"The district's electricity demand over the day in {e.slot_h * 60:.0f}-minute slots (MW, loads minus "
        "rooftop PV, before losses): without EV charging, before the plan (every car charging at full power "
        "from arrival) and after it (EV and shuttle charging and the community battery planned within the "
        "grid's limits); below, the battery's state of charge (% of its energy)."
    )
    return day.day_plan.plot(), caption


def voltages(day: DistrictDay) -> tuple[Figure, str]:
    """The lowest bus voltage and the mean over buses per slot, before and after the plan (pu)."""
    from matplotlib.figure import Figure

    plan = day.day_plan
    e = plan.day
    hours = (np.arange(e.num_slots) + 0.5) * e.slot_h
    fig = Figure(figsize=(9, 3.4))
    ax = fig.subplots()
    for name, flow, style in (("before", plan.before, "--"), ("after", plan.after, "-")):
        ax.plot(hours, np.nanmin(flow.vm_pu, axis=1), style, c="C3", label=f"lowest bus, {name}")
        ax.plot(hours, np.nanmean(flow.vm_pu, axis=1), style, c="C0", label=f"mean over buses, {name}")
    ax.axhline(plan.v_min_pu, c="k", lw=0.8, ls=":", label=f"lower limit {plan.v_min_pu:g} pu")
    _clock_axis(ax)
    ax.set_ylabel("voltage (pu)")
    ax.legend(fontsize=8, ncol=3, loc="lower left")
    fig.tight_layout()
    caption = (
        f"Bus voltages over the day ({e.slot_h * 60:.0f}-minute slots, per unit of nominal voltage): the lowest "
        f"of the grid's {e.grid.num_buses} buses and the mean over them, before the plan (dashed) and after it "
        "(solid); the dotted line is the lower limit of the voltage band."
    )
    return fig, caption


def _los_index(los: np.ndarray) -> np.ndarray:
    return np.array([LOS.index(str(x)) for x in los])


def district_map(day: DistrictDay, plans: tuple[str, str] = ("webster", "smartopt")) -> tuple[Figure, str]:
    """Six panels on the road network: each intersection's worst level of service over the periods
    with each plan; each transformer's peak loading before and after the energy plan; the planned
    chargers' peak load per bus; served rides by pickup zone."""
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
    from matplotlib.figure import Figure

    d = day.district
    net = d.network
    xy = np.asarray(net.node_xy, dtype=float)
    roads = list(np.stack([xy[net.link_tail], xy[net.link_head]], axis=1))
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = 0.04 * (hi - lo).max()
    fig = Figure(figsize=(11, 12.5))
    axes = fig.subplots(3, 2)

    def base(ax: Axes, title: str) -> None:
        ax.add_collection(LineCollection(roads, colors="0.75", linewidths=0.6, zorder=1))
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")

    # signals: the worst LOS over the periods, per plan
    periods = list(day.signal_plans)
    node = np.array([i.node for i in d.intersections])
    cmap = ListedColormap(list(LOS_COLOURS))
    norm = BoundaryNorm(np.arange(len(LOS) + 1) - 0.5, cmap.N)
    for ax, plan in zip(axes[0], plans, strict=True):
        reports = [day.signal_plans[p].reports[plan] for p in periods]
        worst = np.max([_los_index(r.intersection_los) for r in reports], axis=0)
        base(ax, f"Signals: worst LOS of the day, {_plan_name(plan)} plans")
        sc = ax.scatter(
            xy[node, 0], xy[node, 1], c=worst, cmap=cmap, norm=norm, s=55, marker="s", ec="k", lw=0.5, zorder=3
        )
        bar = fig.colorbar(sc, ax=ax, ticks=range(len(LOS)), shrink=0.8)
        bar.ax.set_yticklabels(list(LOS))
        bar.set_label("level of service (HCM), A best")

    # transformers: peak loading (%) before and after the plan, at their low-voltage bus
    plan_day = day.day_plan
    grid = plan_day.day.day_grid
    if grid.bus_xy is not None:
        bus_xy = np.asarray(grid.bus_xy, dtype=float)
        at = bus_xy[grid.trafo_lv_bus]
        peaks = {
            "before": np.nanmax(plan_day.before.trafo_loading_percent, axis=0),
            "after": np.nanmax(plan_day.after.trafo_loading_percent, axis=0),
        }
        limit = plan_day.max_loading_percent
        top = max(limit + 50, float(np.nanmax(peaks["before"])))
        # classes: shades of green to yellow up to the limit, reds above it
        levels = [0.0, 0.4 * limit, 0.6 * limit, 0.8 * limit, 0.9 * limit, limit, limit + 10, limit + 25, top + 1]
        colours = colormaps["RdYlGn_r"](np.r_[np.linspace(0.05, 0.5, 5), np.linspace(0.75, 0.98, 3)])
        load_cmap = ListedColormap(colours)
        load_norm = BoundaryNorm(levels, load_cmap.N)
        titles = {"before": "before the plan", "after": "after the plan"}
        for ax, (side, peak) in zip(axes[1], peaks.items(), strict=True):
            base(ax, f"Transformers: peak loading, {titles[side]}")
            lines = list(np.stack([bus_xy[grid.line_from], bus_xy[grid.line_to]], axis=1))
            ax.add_collection(LineCollection(lines, colors="C2", linewidths=0.5, alpha=0.5, zorder=2))
            over = peak > limit
            sc = ax.scatter(
                at[:, 0],
                at[:, 1],
                c=peak,
                cmap=load_cmap,
                norm=load_norm,
                s=12 + 0.5 * peak,
                ec="0.3",
                lw=0.4,
                zorder=3,
            )
            ax.scatter(
                at[over, 0], at[over, 1], s=12 + 0.5 * peak[over] + 90, facecolors="none", ec="k", lw=1.2, zorder=4
            )
            for k in np.flatnonzero(over):
                ax.annotate(
                    _short(str(grid.bus_name[grid.trafo_lv_bus[k]])),
                    at[k],
                    xytext=(6, 6),
                    textcoords="offset points",
                    fontsize=7,
                    zorder=5,
                )
            bar = fig.colorbar(sc, ax=ax, shrink=0.8, ticks=levels[:-1], spacing="uniform")
            bar.set_label(f"peak loading (% of rating); ringed: over {limit:g} %")
    else:
        for ax in axes[1]:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "the grid has no bus coordinates", ha="center", transform=ax.transAxes)

    # chargers: the plan's peak load per bus (kW)
    ax = axes[2, 0]
    base(ax, "Chargers: planned peak load per grid bus")
    e = plan_day.day
    if grid.bus_xy is not None and e.charger_bus.size:
        per_bus = np.zeros((e.num_slots, grid.num_buses))
        np.add.at(per_bus.T, e.charger_bus, plan_day.charger_kw.T)
        peak_kw = per_bus.max(axis=0)
        has = np.flatnonzero(peak_kw > 0)
        sc = ax.scatter(
            bus_xy[has, 0],
            bus_xy[has, 1],
            c=peak_kw[has],
            cmap="viridis",
            s=15 + 120 * np.sqrt(peak_kw[has] / peak_kw.max()),
            ec="0.3",
            lw=0.4,
            zorder=3,
        )
        fig.colorbar(sc, ax=ax, shrink=0.8).set_label("peak charging load (kW)")
    depots = xy[d.fleet.depot_node]
    ax.scatter(depots[:, 0], depots[:, 1], marker="^", s=90, c="none", ec="r", lw=1.5, zorder=4, label="shuttle depots")
    ax.legend(loc="upper right", fontsize=8)

    # served demand by pickup zone
    ax = axes[2, 1]
    sim = day.fleet_day
    base(ax, f"Rides served by pickup zone ({sim.fleet.num_vehicles} shuttles)")
    origin = xy[sim.requests.origin[sim.served]]
    cells = max(4, round(float((hi - lo)[0]) / 200))
    hb = ax.hexbin(
        origin[:, 0],
        origin[:, 1],
        gridsize=cells,
        extent=(lo[0], hi[0], lo[1], hi[1]),
        mincnt=1,
        cmap="Blues",
        norm=LogNorm(),
        ec="0.85",
        lw=0.2,
        zorder=0,
    )
    fig.colorbar(hb, ax=ax, shrink=0.8).set_label("rides served per zone per day (count, log scale)")
    fig.tight_layout()
    size = (hi - lo) / 1000
    names = ", ".join(period_label(p) for p in periods)
    caption = (
        f"The district ({size[0]:.1f} km x {size[1]:.1f} km; grey: roads; x and y in metres). Top: each "
        f"signalised intersection's worst level of service over the day's periods ({names}) with "
        f"Webster's and with smartopt's plans. Middle: each transformer's highest loading over the day (% of "
        "its rating, at its low-voltage bus; green: feeder cables) before the energy plan (every car charging "
        "from arrival) and after it; ringed and named: over the limit. Bottom left: the planned charging's peak "
        "load at each grid bus with chargers (kW; triangles: shuttle depots). Bottom right: on-demand rides "
        f"served over the day by pickup zone (hexagons about {(hi - lo)[0] / cells:.0f} m across)."
    )
    return fig, caption


def _short(bus: str) -> str:
    """``"LV J01-04"`` -> ``"J01-04"``: the service area's name."""
    return bus.split(" ", 1)[-1] if bus[:3] in ("LV ", "MV ") else bus


def _plan_name(plan: str) -> str:
    return {"webster": "Webster's", "smartopt": "smartopt's"}.get(plan, plan)
