// pybind11 bindings of the exact battery dispatch: smartopt._core._battery.
// Private module: smartopt.energy.battery validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "smartopt/energy/battery.hpp"

namespace py = pybind11;
namespace en = smartopt::energy;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

// A dispatch: charge and discharge power (kW) and state of charge (kWh) per slot.
struct Dispatch {
    py::array_t<double> charge, discharge, soc;
    bool feasible = false;  // the final state of charge is reachable
};

// "min_peak" shaves the peak of `series` (net load, kW); "cost" minimises the cost under `series`
// (prices). Returns charge, discharge (kW), soc (kWh) and whether the final charge is reachable.
Dispatch dispatch(const std::string &objective, const CArray<double> &series, double power_kw, double eta_charge,
                  double eta_discharge, double soc_min_kwh, double soc_max_kwh, double soc0_kwh,
                  double soc_final_kwh, double slot_h) {
    if (objective != "min_peak" && objective != "cost") throw py::value_error("objective must be min_peak or cost");
    const en::Battery b{power_kw, eta_charge, eta_discharge, soc_min_kwh, soc_max_kwh, soc0_kwh, soc_final_kwh, slot_h};
    const std::vector<double> values = to_vector(series, "series");
    const en::BatteryDispatch out = without_gil(
        [&] { return objective == "min_peak" ? en::shave_peak(b, values) : en::least_cost(b, values); });
    return {to_numpy<double>(out.charge_kw), to_numpy<double>(out.discharge_kw), to_numpy<double>(out.soc_kwh),
            out.feasible};
}

}  // namespace

PYBIND11_MODULE(_battery, m) {
    m.doc() = "Exact battery dispatch: peak shaving (bisection with a greedy check), least cost (convex DP).";
    py::class_<Dispatch>(m, "Dispatch", "Charge, discharge (kW) and state of charge (kWh) per slot")
        .def_readonly("charge", &Dispatch::charge)
        .def_readonly("discharge", &Dispatch::discharge)
        .def_readonly("soc", &Dispatch::soc)
        .def_readonly("feasible", &Dispatch::feasible);
    m.def("dispatch", &dispatch, py::arg("objective"), py::arg("series"), py::arg("power_kw"), py::arg("eta_charge"),
          py::arg("eta_discharge"), py::arg("soc_min_kwh"), py::arg("soc_max_kwh"), py::arg("soc0_kwh"),
          py::arg("soc_final_kwh"), py::arg("slot_h"));
}
