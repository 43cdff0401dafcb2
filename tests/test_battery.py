"""Battery dispatch: the exact C++ solvers (peak shaving by bisection, least cost by convex dynamic
programming) against the linear program (OR-Tools GLOP, run here), closed-form cases and bad input.

Tolerances: peak and cost 1e-6 relative (plus 1e-6 absolute); state of charge and power limits 1e-7.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartopt._core import _battery
from smartopt.energy import Battery, dispatch_battery

REL, ABS, FEAS = 1e-6, 1e-6, 1e-7


@st.composite
def cases(draw: st.DrawFn) -> tuple[Any, Battery, Any]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = draw(st.integers(1, 30))
    net = rng.uniform(-50, 200, t)
    soc_min = draw(st.sampled_from([0.0, 0.1]))
    soc_max = draw(st.sampled_from([0.9, 1.0]))
    battery = Battery(
        energy_kwh=draw(st.sampled_from([10.0, 100.0, 400.0])),
        power_kw=draw(st.sampled_from([0.0, 20.0, 100.0])),
        charge_efficiency=draw(st.sampled_from([1.0, 0.95, 0.8])),
        discharge_efficiency=draw(st.sampled_from([1.0, 0.9])),
        soc_min=soc_min,
        soc_max=soc_max,
        soc0=draw(st.floats(soc_min, soc_max)),
        soc_final=draw(st.one_of(st.none(), st.floats(0.0, soc_max))),
    )
    return net, battery, rng.choice([0.05, 0.1, 0.3], t)


def assert_feasible(result: Any, battery: Battery) -> None:
    """Power limits, state-of-charge bounds and bookkeeping hold."""
    assert result.charge_kw.min() >= -FEAS and result.discharge_kw.min() >= -FEAS
    assert max(result.charge_kw.max(), result.discharge_kw.max()) <= battery.power_kw + FEAS
    soc = result.soc * battery.energy_kwh
    assert soc.min() >= battery.soc_min * battery.energy_kwh - FEAS
    assert soc.max() <= battery.soc_max * battery.energy_kwh + FEAS
    assert soc[-1] >= battery.final * battery.energy_kwh - FEAS
    step = (
        battery.charge_efficiency * result.charge_kw - result.discharge_kw / battery.discharge_efficiency
    ) * result.slot_h
    np.testing.assert_allclose(np.diff(soc), step, rtol=0, atol=FEAS)


@settings(max_examples=80, deadline=None)
@given(cases())
def test_exact_dispatch_matches_the_linear_program(case: tuple[Any, Battery, Any]) -> None:
    net, battery, price = case
    for objective in ("min_peak", "cost"):
        exact = dispatch_battery(net, battery, objective=objective, price=price)
        lp = dispatch_battery(net, battery, objective=objective, price=price, method="glop")
        assert exact.status == lp.status
        if exact.status != "optimal":
            continue
        assert_feasible(exact, battery)
        if objective == "min_peak":
            assert exact.peak_kw == pytest.approx(lp.peak_kw, rel=REL, abs=ABS)
        else:
            assert exact.cost == pytest.approx(lp.cost, rel=REL, abs=ABS)


def test_peak_shaving_closed_form() -> None:
    # A 1 h peak of 300 kW over 100 kW; a lossless 100 kW / 200 kWh battery, full at the start, may
    # end empty: it cuts the peak by its power, to 200 kW.
    battery = Battery(200.0, 100.0, 1.0, 1.0, soc_min=0.0, soc_max=1.0, soc0=1.0, soc_final=0.0)
    net = np.array([100.0] * 4 + [300.0] * 4 + [100.0] * 4)
    result = dispatch_battery(net, battery)
    assert result.peak_kw == pytest.approx(200.0)
    # Half the energy: 100 kWh over 1 h flattens the peak to 200 kW too; 50 kWh only to 250 kW.
    half = dispatch_battery(net, Battery(50.0, 100.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0))
    assert half.peak_kw == pytest.approx(250.0)


def test_least_cost_buys_cheap_and_sells_dear() -> None:
    # Lossless 10 kWh / 10 kW, empty at start and end: charge in the cheap hour, discharge in the dear.
    battery = Battery(10.0, 10.0, 1.0, 1.0, soc_min=0.0, soc_max=1.0, soc0=0.0, soc_final=0.0)
    result = dispatch_battery(np.zeros(8), battery, slot_h=0.25, objective="cost", price=[0.1] * 4 + [0.3] * 4)
    np.testing.assert_allclose(result.charge_kw, [10.0] * 4 + [0.0] * 4, atol=1e-9)
    np.testing.assert_allclose(result.discharge_kw, [0.0] * 4 + [10.0] * 4, atol=1e-9)
    assert result.cost == pytest.approx(-2.0)
    # With 80 % round trip efficiency the spread of 0.1 to 0.3 still pays; at 0.1 to 0.12 it does not.
    lossy = Battery(10.0, 10.0, 0.9, 0.9, soc_min=0.0, soc_max=1.0, soc0=0.0, soc_final=0.0)
    idle = dispatch_battery(np.zeros(8), lossy, objective="cost", price=[0.1] * 4 + [0.12] * 4)
    assert not idle.charge_kw.any() and not idle.discharge_kw.any()


def test_unreachable_final_charge_is_infeasible() -> None:
    battery = Battery(100.0, 10.0, 1.0, 1.0, soc_min=0.0, soc_max=1.0, soc0=0.0, soc_final=1.0)
    for objective in ("min_peak", "cost"):
        result = dispatch_battery(np.zeros(4), battery, objective=objective, price=np.ones(4))
        assert result.status == "infeasible" and not result.charge_kw.any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"energy_kwh": 0.0}, "energy_kwh must be a finite number > 0"),
        ({"power_kw": -1.0}, "power_kw must be a finite number >= 0"),
        ({"charge_efficiency": 1.2}, r"charge_efficiency must be in \(0, 1\]"),
        ({"soc0": 0.95}, "need 0 <= soc_min <= soc0 <= soc_max <= 1"),
        ({"soc_final": 0.95}, r"soc_final must be in \[0, soc_max=0.9\]"),
    ],
)
def test_bad_battery_names_the_field(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Battery(**({"energy_kwh": 100.0, "power_kw": 50.0} | kwargs))


def test_bad_dispatch_input_names_the_field() -> None:
    battery = Battery(100.0, 50.0)
    with pytest.raises(ValueError, match=r"net_load_kw\[1\]=nan is not finite"):
        dispatch_battery([1.0, np.nan], battery)
    with pytest.raises(ValueError, match="net_load_kw has no time slots"):
        dispatch_battery([], battery)
    with pytest.raises(ValueError, match='objective "cost" needs a price per slot'):
        dispatch_battery([1.0], battery, objective="cost")
    with pytest.raises(ValueError, match="price must be >= 0 for the exact method"):
        dispatch_battery([1.0], battery, objective="cost", price=[-1.0])
    with pytest.raises(ValueError, match=r"price must have shape \(1,\)"):
        dispatch_battery([1.0], battery, objective="cost", price=[1.0, 2.0])
    with pytest.raises(ValueError, match="objective must be one of"):
        dispatch_battery([1.0], battery, objective="flat")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5),
    st.lists(st.one_of(st.floats(-2.0, 2.0), st.just(float("nan"))), min_size=8, max_size=8),
)
def test_core_rejects_bad_values_without_crashing(series: list[float], values: list[float]) -> None:
    for objective in ("min_peak", "cost"):
        try:
            out = _battery.dispatch(objective, series, *values)
        except ValueError:
            continue
        assert np.isfinite(out.soc).all()


def test_frame_repr_and_plot() -> None:
    result = dispatch_battery([100.0, 300.0, 100.0], Battery(100.0, 50.0), slot_h=1.0)
    assert list(result.to_frame().columns) == ["time_h", "net_load_kw", "charge_kw", "discharge_kw", "grid_kw", "soc"]
    assert "3 slots, min_peak by exact: optimal, peak 300.0 -> 250.0 kW" in repr(result)
    assert result.plot().get_ylabel() == "load (kW)"
