// pybind11 bindings of the exact EV charging schedules: smartopt._core._charging.
// Private module: smartopt.energy.charging validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <vector>

#include "smartopt/energy/charging.hpp"

namespace py = pybind11;
namespace en = smartopt::energy;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

en::ChargingProblem make_problem(const py::object &arrival, const py::object &departure,
                                 const CArray<double> &energy, const CArray<double> &max_power,
                                 const CArray<double> &base) {
    en::ChargingProblem p;
    p.arrival = integers<int32_t>(arrival, "arrival");
    p.departure = integers<int32_t>(departure, "departure");
    p.energy = to_vector(energy, "energy");
    p.max_power = to_vector(max_power, "max_power");
    p.base = to_vector(base, "base");
    p.num_slots = static_cast<int32_t>(p.base.size());
    return p;
}

// A schedule: power (n_ev, T), energy served per EV (power x slots), the max-flow runs it took and,
// of max_served, the EVs in its bottleneck.
struct Schedule {
    py::array_t<double> power, served;
    int32_t max_flows = 0;
    py::array_t<bool> bottleneck;
};

// Runs `solve` without the GIL and returns power (n_ev, T), served (n_ev,), the max-flow count and
// the bottleneck EVs (max_served only);
// std::invalid_argument becomes ValueError.
template <class Solve>
Schedule run(const en::ChargingProblem &p, Solve solve) {
    const en::ChargingSchedule s = without_gil([&] { return solve(p); });
    const auto n = static_cast<py::ssize_t>(p.energy.size());
    py::array_t<double> power({n, static_cast<py::ssize_t>(p.num_slots)});
    std::copy(s.power.begin(), s.power.end(), power.mutable_data());
    return {power, to_numpy<double>(s.served), s.max_flows, to_numpy<bool>(s.bottleneck)};
}

}  // namespace

PYBIND11_MODULE(_charging, m) {
    m.doc() = "Exact EV charging schedules as flows: lexicographic valley filling and most energy served.";
    py::class_<Schedule>(m, "Schedule", "Power (n_ev, T), served energy per EV, max-flow runs, bottleneck EVs")
        .def_readonly("power", &Schedule::power)
        .def_readonly("served", &Schedule::served)
        .def_readonly("max_flows", &Schedule::max_flows)
        .def_readonly("bottleneck", &Schedule::bottleneck);
    m.def(
        "valley_fill",
        [](const py::object &arrival, const py::object &departure, const CArray<double> &energy,
           const CArray<double> &max_power, const CArray<double> &base, const py::object &slot_class,
           const CArray<double> &slot_capacity) {
            const auto cls = integers<int32_t>(slot_class, "slot_class");
            const auto cap = to_vector(slot_capacity, "slot_capacity");
            return run(make_problem(arrival, departure, energy, max_power, base),
                       [&](const en::ChargingProblem &p) { return en::valley_fill(p, cls, cap); });
        },
        py::arg("arrival"), py::arg("departure"), py::arg("energy"), py::arg("max_power"), py::arg("base"),
        py::arg("slot_class"), py::arg("slot_capacity"));
    m.def(
        "max_served",
        [](const py::object &arrival, const py::object &departure, const CArray<double> &energy,
           const CArray<double> &max_power, const CArray<double> &base, const CArray<double> &slot_capacity) {
            const auto cap = to_vector(slot_capacity, "slot_capacity");
            return run(make_problem(arrival, departure, energy, max_power, base),
                       [&](const en::ChargingProblem &p) { return en::max_served(p, cap); });
        },
        py::arg("arrival"), py::arg("departure"), py::arg("energy"), py::arg("max_power"), py::arg("base"),
        py::arg("slot_capacity"));
}
