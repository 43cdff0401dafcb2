"""Conversion between pandapower nets and smartopt grids (pandapower is an optional dependency,
imported only when a function here runs)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt

from smartopt.energy.grid import BASE_KVA, MAX_GRID_VALUE, VECTOR_GROUPS, Grid

_UNSUPPORTED = {
    "trafo3w": "3-winding transformers are not supported",
    "dcline": "DC lines are not supported",
    "motor": "motors are not supported; a load with their P and Q is",
    **{table: f"{table} controllers (FACTS) are not supported" for table in ("svc", "tcsc", "ssc", "vsc")},
}
"""Element tables grid_from_pandapower refuses when a row is in service, and why."""


def _in_service(table: Any) -> Any:
    return table[table["in_service"].astype(bool)] if len(table) else table


def _refuse(name: str, table: Any, bad: Any, reason: str) -> None:
    """Raises ValueError naming the first row of ``table`` (a pandapower element table called
    ``name``) where the boolean mask ``bad`` holds, with ``reason``."""
    flags = np.asarray(bad, dtype=bool)
    if flags.any():
        raise ValueError(f"{name} {table.index[int(np.flatnonzero(flags)[0])]}: {reason}")


def _column(table: Any, name: str, default: float) -> npt.NDArray[np.float64]:
    if name not in table:
        return np.full(len(table), default)
    return np.asarray(table[name].astype(float).fillna(default).to_numpy(), dtype=float)


def _trafo_taps(trafo: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.str_]]:
    """Tap ratio (pu of the tapped winding's rated voltage) and side of each transformer, as
    pandapower applies them: only ratio tap changers ("Ratio", "Symmetrical" without a phase step)."""
    n = len(trafo)
    pos, neutral = _column(trafo, "tap_pos", np.nan), _column(trafo, "tap_neutral", 0.0)
    step = _column(trafo, "tap_step_percent", np.nan)
    kind = trafo["tap_changer_type"].astype(object).to_numpy() if "tap_changer_type" in trafo else np.full(n, None)
    side = trafo["tap_side"].astype(object).to_numpy() if "tap_side" in trafo else np.full(n, None)
    ratio, out_side = np.ones(n), np.full(n, "hv")
    for k in range(n):
        if not np.isfinite(pos[k]) or pos[k] == neutral[k] or kind[k] not in ("Ratio", "Symmetrical", "Ideal"):
            continue
        if kind[k] == "Ideal" or _column(trafo, "tap_step_degree", 0.0)[k] != 0.0:
            raise ValueError(f"trafo {trafo.index[k]}: phase-shifting tap changers are not supported")
        if not np.isfinite(step[k]) or side[k] not in ("hv", "lv"):
            raise ValueError(f"trafo {trafo.index[k]}: tap_pos is set but tap_step_percent or tap_side is missing")
        ratio[k] = 1.0 + (pos[k] - neutral[k]) * step[k] / 100.0
        out_side[k] = side[k]
    for col in ("tap2_pos",):
        if col in trafo and trafo[col].notna().any():
            raise ValueError(f"trafo {trafo.index[trafo[col].notna()][0]}: second tap changers are not supported")
    return ratio, out_side


def _shunts(
    net: Any, pos: dict[int, int], vn: npt.NDArray[np.float64], ward: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Bus, P (kW) and Q (kvar) at 1 pu of the in-service shunts (``p_mw``/``q_mvar`` per step at
    ``vn_kv``, times ``step``, as pandapower scales them to the bus voltage) and the wards'
    constant-impedance parts (``pz_mw``/``qz_mvar`` at 1 pu)."""
    shunt = _in_service(net.shunt) if "shunt" in net else net.load.iloc[:0]
    if "step_dependency_table" in shunt:
        reason = "shunt characteristic tables (step_dependency_table) are not supported"
        _refuse("shunt", shunt, shunt["step_dependency_table"].fillna(False).astype(bool), reason)
    bus = np.array([pos[int(b)] for b in shunt["bus"]], dtype=np.int64)
    rated = _column(shunt, "vn_kv", np.nan)
    scale = 1000.0 * _column(shunt, "step", 1.0) * (vn[bus] / np.where(np.isnan(rated), vn[bus], rated)) ** 2
    return (
        np.concatenate([bus, [pos[int(b)] for b in ward["bus"]]]).astype(np.int64),
        np.concatenate([_column(shunt, "p_mw", 0.0) * scale, ward["pz_mw"].to_numpy(dtype=float) * 1000.0]),
        np.concatenate([_column(shunt, "q_mvar", 0.0) * scale, ward["qz_mvar"].to_numpy(dtype=float) * 1000.0]),
    )


def _impedances(net: Any, pos: dict[int, int]) -> dict[str, npt.NDArray[Any]]:
    """The Grid's impedance fields of the in-service ``impedance`` rows (pu of their ``sn_mva``
    rescaled to the grid's 1 MVA base)."""
    imp = _in_service(net.impedance) if "impedance" in net else net.load.iloc[:0]
    for col in ("gf_pu", "bf_pu", "gt_pu", "bt_pu"):
        if col in imp:
            _refuse("impedance", imp, _column(imp, col, 0.0) != 0, f"shunt parts ({col}) are not supported")
    to_base = (BASE_KVA / 1000.0) / _column(imp, "sn_mva", 1.0)
    return {
        "impedance_from_bus": np.array([pos[int(b)] for b in imp["from_bus"]], dtype=np.int64),
        "impedance_to_bus": np.array([pos[int(b)] for b in imp["to_bus"]], dtype=np.int64),
        **{
            f"impedance_{name}_pu": _column(imp, f"{column}_pu", 0.0) * to_base
            for name, column in (("r", "rft"), ("x", "xft"), ("rtf", "rtf"), ("xtf", "xtf"))
        },
    }


def _pv_generators(net: Any, pos: dict[int, int], ext: Any) -> dict[str, npt.NDArray[Any]]:
    """The Grid's voltage-controlled generator fields of the in-service ``gen`` rows: P (kW, times
    scaling), voltage set point (pu) and Q limits (kvar; unlimited where pandapower's are NaN)."""
    gen = _in_service(net.gen) if "gen" in net else net.load.iloc[:0]
    if len(gen):
        _refuse("gen", gen, gen["bus"].isin(ext["bus"]), "a generator at an ext_grid's bus is not supported")
        _refuse("gen", gen, gen["bus"].duplicated(), "two in-service generators at one bus are not supported")
        _refuse("gen", gen, _column(gen, "slack", 0.0) != 0, "slack generators are not supported; use an ext_grid")
        if "reactive_capability_curve" in gen:
            reason = "reactive capability curves are not supported (min_q_mvar/max_q_mvar are)"
            _refuse("gen", gen, gen["reactive_capability_curve"].fillna(False).astype(bool), reason)
    return {
        "pv_bus": np.array([pos[int(b)] for b in gen["bus"]], dtype=np.int64),
        "pv_p_kw": _column(gen, "p_mw", 0.0) * _column(gen, "scaling", 1.0) * 1000.0,
        "pv_vm_pu": _column(gen, "vm_pu", 1.0),
        "pv_min_q_kvar": np.maximum(_column(gen, "min_q_mvar", -np.inf) * 1000.0, -MAX_GRID_VALUE),
        "pv_max_q_kvar": np.minimum(_column(gen, "max_q_mvar", np.inf) * 1000.0, MAX_GRID_VALUE),
    }


def _with_xwards(
    xward: Any,
    pos: dict[int, int],
    vn: npt.NDArray[np.float64],
    names: list[str],
    impedance: dict[str, npt.NDArray[Any]],
    pv: dict[str, npt.NDArray[Any]],
) -> tuple[npt.NDArray[np.float64], list[str], dict[str, npt.NDArray[Any]], dict[str, npt.NDArray[Any]]]:
    """Bus voltages, names, impedances and voltage-controlled generators with each extended ward's
    internal bus (appended after the others) behind its impedance (``r_ohm + j x_ohm``), holding
    ``vm_pu`` with P = 0 and unlimited Q, as pandapower models it (its ``ps``/``pz`` parts are a ward's)."""
    r_ohm, x_ohm = _column(xward, "r_ohm", 0.0), _column(xward, "x_ohm", 0.0)
    _refuse(
        "xward", xward, (r_ohm == 0) & (x_ohm == 0), "a zero internal impedance (r_ohm = x_ohm = 0) is not supported"
    )
    bus = np.array([pos[int(b)] for b in xward["bus"]], dtype=np.int64)
    aux = np.arange(vn.size, vn.size + bus.size)
    z_base = vn[bus] ** 2 / (BASE_KVA / 1000.0)
    r, x = r_ohm / z_base, x_ohm / z_base
    more_impedance = {"from_bus": bus, "to_bus": aux, "r_pu": r, "x_pu": x, "rtf_pu": r, "xtf_pu": x}
    unlimited = np.full(bus.size, MAX_GRID_VALUE)
    more_pv = {"bus": aux, "p_kw": 0.0 * r, "vm_pu": _column(xward, "vm_pu", 1.0), "min_q_kvar": -unlimited}
    more_pv["max_q_kvar"] = unlimited
    return (
        np.concatenate([vn, vn[bus]]),
        [*names, *(f"xward {i} internal bus" for i in xward.index)],
        {k: np.concatenate([v, more_impedance[k.removeprefix("impedance_")]]) for k, v in impedance.items()},
        {k: np.concatenate([v, more_pv[k.removeprefix("pv_")]]) for k, v in pv.items()},
    )


def grid_from_pandapower(net: Any) -> Grid:
    """The smartopt :class:`Grid` of a pandapower net.

    Buses come in ``net.bus.index`` order, so ``power_flow(...).vm_pu[:, i]`` is the bus at
    ``net.bus.index[i]``; a line whose switch is open at one end keeps its other end (and its
    charging current) through one extra bus per open end, appended after the net's buses. Converted:
    in-service lines (parallel, derating, capacitance), two-winding transformers (T model, ratio tap
    changers, phase shift), the in-service ext_grids (the first is ``slack_bus``, the others
    ``extra_slack_bus``), loads and sgens (P, Q times scaling),
    storage (a generator feeding in ``-p_mw``), shunts (``p_mw``/``q_mvar`` times ``step`` at
    ``vn_kv``), wards and extended wards (constant power ``ps_mw``/``qs_mvar`` as loads after the net's
    loads, constant impedance ``pz_mw``/``qz_mvar`` as shunts; an extended ward's voltage source as a
    voltage-controlled generator on an extra bus behind its impedance, after the open line ends),
    series impedances (``impedance``, without shunt
    parts), voltage-controlled generators (``gen``: P times scaling, ``vm_pu``, Q limits), and
    switches (closed bus-bus switches become ties; open line switches cut the line at that end).
    Raises ``ValueError`` naming the table, index and reason for what it cannot represent exactly
    (3-winding transformers, ZIP loads, ...; see ``_UNSUPPORTED``).

    Asymmetric loads and sgens (below) are included as single-phase ones, so the balanced
    ``power_flow`` sees their total power too.

    For the unbalanced power flow also: loads and sgens of ``type`` "delta" (others are wye), each
    ``asymmetric_load``/``asymmetric_sgen`` as three single-phase loads/generators after the others
    (phases a, b, c, or ab, bc, ca for delta ones), lines' ``r0_ohm_per_km``/``x0_ohm_per_km``/
    ``c0_nf_per_km``, transformers' ``vector_group`` and zero-sequence data, and the first
    ext_grid's ``s_sc_max_mva``, ``rx_max``, ``x0x_max``, ``r0x0_max``, where the net has them.
    """
    import pandas as pd

    for table, reason in _UNSUPPORTED.items():
        if table in net and len(net[table]):
            _refuse(table, net[table], net[table]["in_service"].astype(bool), f"{reason} (this row is in service)")
    bus = net.bus
    if not bus["in_service"].astype(bool).all():
        raise ValueError(f"bus {bus.index[~bus['in_service'].astype(bool)][0]} is out of service; remove it first")
    pos = {int(b): i for i, b in enumerate(bus.index)}
    vn = bus["vn_kv"].to_numpy(dtype=float)
    names = [str(n) if n is not None and n == n else f"bus {b}" for b, n in zip(bus.index, bus["name"], strict=True)]

    switch = net.switch if "switch" in net else None
    open_ends: dict[tuple[str, int], list[int]] = {}
    ties: list[tuple[int, int]] = []
    if switch is not None and len(switch):
        reason = "open transformer switches are not supported; take the transformer out of service instead"
        _refuse("switch", switch, (switch["et"] == "t") & ~switch["closed"].astype(bool), reason)
        for _, s in switch.iterrows():
            closed = bool(s["closed"])
            if s["et"] == "b" and closed:
                ties.append((pos[int(s["bus"])], pos[int(s["element"])]))
            elif s["et"] == "l" and not closed:
                open_ends.setdefault((s["et"], int(s["element"])), []).append(int(s["bus"]))

    line = _in_service(net.line)
    f_hz = float(net.f_hz)
    line_from, line_to, keep = [], [], []
    for k, (idx, row) in enumerate(line.iterrows()):
        ends = [pos[int(row["from_bus"])], pos[int(row["to_bus"])]]
        opened = open_ends.get(("l", int(idx)), [])
        for j, pp_bus in enumerate((int(row["from_bus"]), int(row["to_bus"]))):
            if pp_bus in opened:
                ends[j] = -1
        if ends[0] < 0 and ends[1] < 0:
            continue
        for j in range(2):
            if ends[j] < 0:  # an extra bus for the open end
                ends[j] = len(vn)
                vn = np.append(vn, vn[ends[1 - j]])
                names.append(f"line {idx} open end")
        line_from.append(ends[0])
        line_to.append(ends[1])
        keep.append(k)
    line = line.iloc[keep]
    if "g_us_per_km" in line:
        _refuse(
            "line", line, line["g_us_per_km"].astype(float) != 0, "shunt conductance (g_us_per_km) is not supported"
        )
    parallel = line["parallel"].to_numpy(dtype=float)

    trafo = _in_service(net.trafo)
    for col in ("leakage_resistance_ratio_hv", "leakage_reactance_ratio_hv"):
        if col in trafo:
            ratio = trafo[col].astype(float)
            _refuse("trafo", trafo, ratio.notna() & (ratio != 0.5), f"{col} other than 0.5 is not supported")
    _refuse("trafo", trafo, trafo["df"].astype(float) != 1.0, "derating factors (df) other than 1 are not supported")
    tap_ratio, tap_side = _trafo_taps(trafo)
    t_parallel = trafo["parallel"].to_numpy(dtype=float)

    ext = _in_service(net.ext_grid)
    if len(ext) == 0:
        raise ValueError("the net needs an in-service ext_grid (the slack)")
    ext_bus = [pos[int(b)] for b in ext["bus"]]
    _refuse("ext_grid", ext, ext["bus"].duplicated(), "two in-service ext_grids at one bus are not supported")
    load = _in_service(net.load)
    for col in (
        "const_z_p_percent",
        "const_i_p_percent",
        "const_z_q_percent",
        "const_i_q_percent",
        "const_z_percent",
        "const_i_percent",
    ):
        if col in load:
            _refuse(
                "load",
                load,
                load[col].astype(float) != 0,
                f"loads with {col} != 0 are not supported (constant power only)",
            )
    sgen = _in_service(net.sgen)
    storage = _in_service(net.storage) if "storage" in net else net.sgen.iloc[:0]

    def powers(table: Any, sign: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        scale = _column(table, "scaling", 1.0) * 1000.0 * sign
        return table["p_mw"].to_numpy(dtype=float) * scale, table["q_mvar"].to_numpy(dtype=float) * scale

    wards = [_in_service(net[table]) for table in ("ward", "xward") if table in net]
    ward = pd.concat([w[["bus", "ps_mw", "qs_mvar", "pz_mw", "qz_mvar"]] for w in wards]) if wards else load.iloc[:0]
    shunt_bus, shunt_p, shunt_q = _shunts(net, pos, vn, ward)
    impedance, pv = _impedances(net, pos), _pv_generators(net, pos, ext)
    if "xward" in net and len(_in_service(net.xward)):
        vn, names, impedance, pv = _with_xwards(_in_service(net.xward), pos, vn, names, impedance, pv)
    load_p, load_q = powers(load, 1.0)
    sgen_p, sgen_q = powers(sgen, 1.0)
    sto_p, sto_q = powers(storage, -1.0)
    asym = {name: _asymmetric(net, name) for name in ("asymmetric_load", "asymmetric_sgen")}
    load_kind, sgen_kind = (
        table["type"].fillna("wye").to_numpy(dtype=str) if "type" in table else np.full(len(table), "wye")
        for table in (load, sgen)
    )
    return Grid(
        bus_vn_kv=vn,
        bus_name=np.array(names),
        line_from=np.array(line_from, dtype=np.int64),
        line_to=np.array(line_to, dtype=np.int64),
        line_r_ohm_per_km=line["r_ohm_per_km"].to_numpy(dtype=float) / parallel,
        line_x_ohm_per_km=line["x_ohm_per_km"].to_numpy(dtype=float) / parallel,
        line_b_us_per_km=2 * np.pi * f_hz * line["c_nf_per_km"].to_numpy(dtype=float) * 1e-3 * parallel,
        line_length_km=line["length_km"].to_numpy(dtype=float),
        line_max_i_ka=line["max_i_ka"].to_numpy(dtype=float) * line["df"].to_numpy(dtype=float) * parallel,
        trafo_hv_bus=np.array([pos[int(b)] for b in trafo["hv_bus"]], dtype=np.int64),
        trafo_lv_bus=np.array([pos[int(b)] for b in trafo["lv_bus"]], dtype=np.int64),
        trafo_sn_kva=trafo["sn_mva"].to_numpy(dtype=float) * 1000.0 * t_parallel,
        trafo_vk_percent=trafo["vk_percent"].to_numpy(dtype=float),
        trafo_vkr_percent=trafo["vkr_percent"].to_numpy(dtype=float),
        trafo_pfe_kw=trafo["pfe_kw"].to_numpy(dtype=float) * t_parallel,
        trafo_i0_percent=trafo["i0_percent"].to_numpy(dtype=float),
        trafo_vn_hv_kv=trafo["vn_hv_kv"].to_numpy(dtype=float),
        trafo_vn_lv_kv=trafo["vn_lv_kv"].to_numpy(dtype=float),
        trafo_tap_ratio=tap_ratio,
        trafo_tap_side=tap_side,
        trafo_shift_degree=_column(trafo, "shift_degree", 0.0),
        switch_bus_a=np.array([a for a, _ in ties], dtype=np.int64),
        switch_bus_b=np.array([b for _, b in ties], dtype=np.int64),
        load_bus=np.array(
            [pos[int(b)] for b in [*load["bus"], *ward["bus"], *asym["asymmetric_load"][0]]], dtype=np.int64
        ),
        load_p_kw=np.concatenate([load_p, ward["ps_mw"].to_numpy(dtype=float) * 1000.0, asym["asymmetric_load"][1]]),
        load_q_kvar=np.concatenate(
            [load_q, ward["qs_mvar"].to_numpy(dtype=float) * 1000.0, asym["asymmetric_load"][2]]
        ),
        load_phase=_phases(
            np.where(load_kind == "delta", "delta", "abc"), np.full(len(ward), "abc"), asym["asymmetric_load"][3]
        ),
        gen_bus=np.array(
            [pos[int(b)] for b in [*sgen["bus"], *storage["bus"], *asym["asymmetric_sgen"][0]]], dtype=np.int64
        ),
        gen_p_kw=np.concatenate([sgen_p, sto_p, asym["asymmetric_sgen"][1]]),
        gen_q_kvar=np.concatenate([sgen_q, sto_q, asym["asymmetric_sgen"][2]]),
        gen_phase=_phases(
            np.where(sgen_kind == "delta", "delta", "abc"), np.full(len(storage), "abc"), asym["asymmetric_sgen"][3]
        ),
        slack_bus=ext_bus[0],
        slack_vm_pu=float(ext["vm_pu"].iloc[0]),
        slack_va_degree=float(ext["va_degree"].iloc[0]),
        extra_slack_bus=np.array(ext_bus[1:], dtype=np.int64),
        extra_slack_vm_pu=ext["vm_pu"].to_numpy(dtype=float)[1:],
        extra_slack_va_degree=ext["va_degree"].to_numpy(dtype=float)[1:],
        shunt_bus=shunt_bus,
        shunt_p_kw=shunt_p,
        shunt_q_kvar=shunt_q,
        **cast(dict[str, Any], impedance),
        **cast(dict[str, Any], pv),
        **_zero_sequence(line, trafo, ext, f_hz),
    )


def _phases(*parts: npt.NDArray[np.str_]) -> npt.NDArray[np.str_] | None:
    """The phase connections of a Grid's loads or generators; None when all are three-phase wye."""
    phase = np.concatenate(parts).astype(str)
    return None if (phase == "abc").all() else phase


def _asymmetric(net: Any, name: str) -> tuple[list[int], Any, Any, Any]:
    """Buses, P (kW), Q (kvar) and phase connection of the single-phase elements an ``asymmetric_load``
    or ``asymmetric_sgen`` table stands for: each in-service row becomes three, on phases a, b, c
    or, where its ``type`` is "delta", ab, bc, ca, in that order."""
    table = _in_service(net[name]) if name in net else None
    if table is None or not len(table):
        return [], np.zeros(0), np.zeros(0), np.zeros(0, str)
    kind = table["type"].fillna("wye").to_numpy(dtype=str) if "type" in table else np.full(len(table), "wye")
    scale = _column(table, "scaling", 1.0)[:, None] * 1000.0
    p = table[["p_a_mw", "p_b_mw", "p_c_mw"]].to_numpy(dtype=float) * scale
    q = table[["q_a_mvar", "q_b_mvar", "q_c_mvar"]].to_numpy(dtype=float) * scale
    phases = np.where((kind == "delta")[:, None], ["ab", "bc", "ca"], ["a", "b", "c"])
    return np.repeat(table["bus"].to_numpy(dtype=int), 3).tolist(), p.reshape(-1), q.reshape(-1), phases.reshape(-1)


def _zero_sequence(line: Any, trafo: Any, ext: Any, f_hz: float) -> dict[str, Any]:
    """The unbalanced power flow's Grid fields a net has: lines' r0/x0/c0, transformers' vector groups
    and zero-sequence data (vk0/vkr0 fall back to vk/vkr in a vector group where every transformer
    has about 0, as in runpp_3ph), the first ext_grid's short-circuit data (its ``_max`` case, as
    runpp_3ph)."""
    out: dict[str, Any] = {}
    r0, x0 = _column(line, "r0_ohm_per_km", np.nan), _column(line, "x0_ohm_per_km", np.nan)
    known = np.isfinite(r0 + x0) & (np.maximum(r0, x0) > 0)  # others NaN: the unbalanced flow names them
    if known.any():
        parallel = line["parallel"].to_numpy(dtype=float)
        r0, x0 = np.where(known, r0, np.nan), np.where(known, x0, np.nan)
        out["line_r0_ohm_per_km"], out["line_x0_ohm_per_km"] = r0 / parallel, x0 / parallel
        out["line_b0_us_per_km"] = 2 * np.pi * f_hz * _column(line, "c0_nf_per_km", 0.0) * 1e-3 * parallel
    if len(trafo) and "vector_group" in trafo and trafo["vector_group"].notna().all():
        out["trafo_vector_group"] = trafo["vector_group"].to_numpy(dtype=str)
        if not np.isin(np.char.lower(out["trafo_vector_group"]), [g.lower() for g in VECTOR_GROUPS]).all():
            return out  # the unbalanced flow names the group it cannot model
        group = out["trafo_vector_group"]
        for col, fallback in (("vk0_percent", "vk_percent"), ("vkr0_percent", "vkr_percent")):
            value, base = _column(trafo, col, np.nan), trafo[fallback].to_numpy(dtype=float)
            unset = {g: not np.abs(value[group == g]).max() > 1e-8 for g in set(group)}  # NaN too
            out[f"trafo_{col}"] = np.where([unset[g] for g in group], base, value)
        for col in ("mag0_percent", "mag0_rx", "si0_hv_partial"):
            if col in trafo and trafo[col].notna().all():
                out[f"trafo_{col}"] = trafo[col].to_numpy(dtype=float)
    first = ext.iloc[0]
    if "s_sc_max_mva" in ext and np.isfinite(float(first["s_sc_max_mva"])):
        out["slack_s_sc_mva"] = float(first["s_sc_max_mva"])
        for col, name in (("rx_max", "slack_rx"), ("x0x_max", "slack_x0x"), ("r0x0_max", "slack_r0x0")):
            if col in ext and np.isfinite(float(first[col])):
                out[name] = float(first[col])
    return out


def simbench_profiles(net: Any) -> dict[str, npt.NDArray[np.float64]]:
    """SimBench's year of quarter-hour profiles (35,136 snapshots) of a SimBench net, in the order of
    ``grid_from_pandapower(net)``'s loads and generators, keyed by :func:`power_flow`'s arguments:
    ``power_flow(grid, **simbench_profiles(net))`` runs the year. ``p_kw``/``q_kvar``: load demand
    ``(T, n_load)`` (wards' and extended wards' constant power after the loads, constant); ``gen_p_kw``/``gen_q_kvar``:
    sgens, then storage feeding in minus its charging power ``(T, n_gen)``; Q of sgens and storage
    stays at the net's value (SimBench has no Q profiles for them). Needs the simbench package."""
    import simbench

    profiles = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    n_t = profiles[("load", "p_mw")].shape[0]

    def year(table: str, column: str, sign: float = 1.0) -> npt.NDArray[np.float64]:
        rows = _in_service(net[table]) if table in net else net.load.iloc[:0]
        if (table, column) in profiles and len(rows):
            values = profiles[(table, column)].loc[:, rows.index].to_numpy(dtype=float)
        else:  # no profile: the net's own value in every snapshot
            values = np.broadcast_to(rows[column].to_numpy(dtype=float), (n_t, len(rows)))
        return np.asarray(sign * 1000.0 * values)

    loads = ("load", "ward", "xward")
    return {
        "p_kw": np.ascontiguousarray(
            np.hstack([year(table, "p_mw" if table == "load" else "ps_mw") for table in loads])
        ),
        "q_kvar": np.ascontiguousarray(
            np.hstack([year(table, "q_mvar" if table == "load" else "qs_mvar") for table in loads])
        ),
        "gen_p_kw": np.ascontiguousarray(np.hstack([year("sgen", "p_mw"), year("storage", "p_mw", -1.0)])),
        "gen_q_kvar": np.ascontiguousarray(np.hstack([year("sgen", "q_mvar"), year("storage", "q_mvar", -1.0)])),
    }


def grid_to_pandapower(grid: Grid, f_hz: float = 60.0) -> Any:
    """A pandapower net of ``grid`` (same bus order, nominal loads and generators), e.g. to check
    smartopt's power flow against pandapower's. Line susceptance becomes capacitance at ``f_hz``;
    generators become sgens; tap ratios become one tap step of ``(ratio - 1) * 100`` %. The
    unbalanced flow's data goes along where the grid has it (zero-sequence line and transformer
    data, vector groups, the slack's short-circuit data; single-phase loads and generators become
    asymmetric loads and sgens, delta ones get ``type="delta"``), so ``runpp_3ph`` runs on the net."""
    import pandapower as pp

    net = pp.create_empty_network(f_hz=f_hz)
    for vn, name in zip(grid.bus_vn_kv, grid.bus_name, strict=True):
        pp.create_bus(net, vn_kv=float(vn), name=str(name))
    for k in range(grid.num_lines):
        pp.create_line_from_parameters(
            net,
            int(grid.line_from[k]),
            int(grid.line_to[k]),
            length_km=float(grid.line_length_km[k]),
            r_ohm_per_km=float(grid.line_r_ohm_per_km[k]),
            x_ohm_per_km=float(grid.line_x_ohm_per_km[k]),
            c_nf_per_km=float(grid.line_b_us_per_km[k] / (2 * np.pi * f_hz) * 1e3),
            max_i_ka=float(grid.line_max_i_ka[k]),
            **_line_zero_sequence(grid, k, f_hz),
        )
    for k in range(grid.num_trafos):
        pp.create_transformer_from_parameters(
            net,
            int(grid.trafo_hv_bus[k]),
            int(grid.trafo_lv_bus[k]),
            sn_mva=float(grid.trafo_sn_kva[k] / 1000.0),
            vn_hv_kv=float(grid.trafo_vn_hv_kv[k]),
            vn_lv_kv=float(grid.trafo_vn_lv_kv[k]),
            vkr_percent=float(grid.trafo_vkr_percent[k]),
            vk_percent=float(grid.trafo_vk_percent[k]),
            pfe_kw=float(grid.trafo_pfe_kw[k]),
            i0_percent=float(grid.trafo_i0_percent[k]),
            shift_degree=float(grid.trafo_shift_degree[k]),
            tap_side=str(grid.trafo_tap_side[k]),
            tap_neutral=0,
            tap_pos=1,
            tap_step_percent=float((grid.trafo_tap_ratio[k] - 1.0) * 100.0),
            tap_changer_type="Ratio",
            **_trafo_zero_sequence(grid, k),
        )
    for a, b in zip(grid.switch_bus_a, grid.switch_bus_b, strict=True):
        pp.create_switch(net, int(a), int(b), et="b", closed=True)
    short_circuit = (
        {}
        if grid.slack_s_sc_mva is None
        else {"s_sc_max_mva": grid.slack_s_sc_mva, "rx_max": grid.slack_rx, "x0x_max": grid.slack_x0x}
        | {"r0x0_max": grid.slack_r0x0}
    )
    pp.create_ext_grid(net, grid.slack_bus, vm_pu=grid.slack_vm_pu, va_degree=grid.slack_va_degree, **short_circuit)
    for bus, vm, va in zip(grid.extra_slack_bus, grid.extra_slack_vm_pu, grid.extra_slack_va_degree, strict=True):
        pp.create_ext_grid(net, int(bus), vm_pu=float(vm), va_degree=float(va))
    for kind, (buses, p_kw, q_kvar, phase) in (
        ("load", (grid.load_bus, grid.load_p_kw, grid.load_q_kvar, grid.load_phase)),
        ("sgen", (grid.gen_bus, grid.gen_p_kw, grid.gen_q_kvar, grid.gen_phase)),
    ):
        for k, (bus, p, q) in enumerate(zip(buses, p_kw / 1000.0, q_kvar / 1000.0, strict=True)):
            connection = "abc" if phase is None else str(phase[k])
            delta = "delta" if connection in ("delta", "ab", "bc", "ca") else "wye"
            if connection in ("abc", "delta"):
                getattr(pp, f"create_{kind}")(net, int(bus), p_mw=float(p), q_mvar=float(q), type=delta)
                continue
            at = connection[0]  # the phase, or a delta pair ab, bc, ca by its first phase (pandapower's columns)
            powers = {f"p_{at}_mw": float(p), f"q_{at}_mvar": float(q)}
            getattr(pp, f"create_asymmetric_{kind}")(net, int(bus), type=delta, **powers)
    for k in range(grid.pv_bus.size):
        pp.create_gen(
            net,
            int(grid.pv_bus[k]),
            p_mw=float(grid.pv_p_kw[k]) / 1000.0,
            vm_pu=float(grid.pv_vm_pu[k]),
            min_q_mvar=float(grid.pv_min_q_kvar[k]) / 1000.0,
            max_q_mvar=float(grid.pv_max_q_kvar[k]) / 1000.0,
        )
    for bus, p, q in zip(grid.shunt_bus, grid.shunt_p_kw, grid.shunt_q_kvar, strict=True):
        pp.create_shunt(net, int(bus), p_mw=float(p) / 1000.0, q_mvar=float(q) / 1000.0)
    for k in range(grid.num_impedances):
        pp.create_impedance(
            net,
            int(grid.impedance_from_bus[k]),
            int(grid.impedance_to_bus[k]),
            rft_pu=float(grid.impedance_r_pu[k]),
            xft_pu=float(grid.impedance_x_pu[k]),
            rtf_pu=float(grid.impedance_rtf_pu[k]),
            xtf_pu=float(grid.impedance_xtf_pu[k]),
            sn_mva=BASE_KVA / 1000.0,
        )
    return net


def _line_zero_sequence(grid: Grid, k: int, f_hz: float) -> dict[str, float]:
    if grid.line_r0_ohm_per_km is None or grid.line_x0_ohm_per_km is None:
        return {}
    b0 = 0.0 if grid.line_b0_us_per_km is None else float(grid.line_b0_us_per_km[k])
    return {
        "r0_ohm_per_km": float(grid.line_r0_ohm_per_km[k]),
        "x0_ohm_per_km": float(grid.line_x0_ohm_per_km[k]),
        "c0_nf_per_km": b0 / (2 * np.pi * f_hz) * 1e3,
    }


def _trafo_zero_sequence(grid: Grid, k: int) -> dict[str, Any]:
    if grid.trafo_vector_group is None:
        return {}

    def value(field: str, default: float) -> float:
        given = getattr(grid, f"trafo_{field}")
        return default if given is None else float(given[k])

    return {
        "vector_group": str(grid.trafo_vector_group[k]),
        "vk0_percent": value("vk0_percent", float(grid.trafo_vk_percent[k])),
        "vkr0_percent": value("vkr0_percent", float(grid.trafo_vkr_percent[k])),
        "mag0_percent": value("mag0_percent", 100.0),
        "mag0_rx": value("mag0_rx", 0.0),
        "si0_hv_partial": value("si0_hv_partial", 0.9),
    }
