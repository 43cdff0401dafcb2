// pybind11 bindings of phase balancing: smartopt._core._phases.
// Private module: smartopt.energy.phases validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "smartopt/energy/phases.hpp"

namespace py = pybind11;
namespace en = smartopt::energy;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

en::PhaseProblem make_problem(const CArray<double> &profile, bool neutral) {
    if (profile.ndim() != 2) throw py::value_error("profile must be two-dimensional (n_load, T)");
    en::PhaseProblem p;
    p.num_loads = static_cast<int32_t>(profile.shape(0));
    p.num_slots = static_cast<int32_t>(profile.shape(1));
    p.profile.assign(profile.data(), profile.data() + profile.size());
    p.neutral = neutral;
    return p;
}

// An assignment: the phase of each load, its score (worst phase peak kW, sum of squares) and the
// moves it took to find.
struct Assignment {
    py::array_t<int8_t> phase;
    double worst_kw = 0.0, sum_sq = 0.0;
    int64_t evaluations = 0;
};

Assignment to_python(const en::PhaseAssignment &a) {
    return {to_numpy<int8_t>(a.phase), a.worst_kw, a.sum_sq, a.evaluations};
}

}  // namespace

PYBIND11_MODULE(_phases, m) {
    m.doc() = "Phase balancing of single-phase loads: scores, largest-first greedy, iterated local search.";
    py::class_<Assignment>(m, "Assignment", "Each load's phase, the worst spread or neutral measure (kW), the sum of squares")
        .def_readonly("phase", &Assignment::phase)
        .def_readonly("worst_kw", &Assignment::worst_kw)
        .def_readonly("sum_sq", &Assignment::sum_sq)
        .def_readonly("evaluations", &Assignment::evaluations);
    m.def(
        "evaluate",
        [](const CArray<double> &profile, const py::object &phase, bool neutral) {
            const auto p = make_problem(profile, neutral);
            const auto start = integers<int8_t>(phase, "phase");
            return to_python(without_gil([&] { return en::evaluate_phases(p, start); }));
        },
        py::arg("profile"), py::arg("phase"), py::arg("neutral") = false);
    m.def(
        "greedy",
        [](const CArray<double> &profile, bool neutral) {
            const auto p = make_problem(profile, neutral);
            return to_python(without_gil([&] { return en::greedy_phases(p); }));
        },
        py::arg("profile"), py::arg("neutral") = false);
    m.def(
        "improve",
        [](const CArray<double> &profile, const py::object &start, uint64_t seed, int32_t max_kicks,
           double time_limit_s, int64_t max_iterations, bool neutral) {
            const auto p = make_problem(profile, neutral);
            const auto first = integers<int8_t>(start, "start");
            return to_python(without_gil(
                [&] { return en::improve_phases(p, first, seed, max_kicks, time_limit_s, max_iterations); }));
        },
        py::arg("profile"), py::arg("start"), py::arg("seed"), py::arg("max_kicks"), py::arg("time_limit_s"),
        py::arg("max_iterations") = -1, py::arg("neutral") = false);
}
