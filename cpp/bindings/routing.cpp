// pybind11 bindings of the VRP solver: smartopt._core._routing.
// Private module: smartopt.dispatch.vrp validates user input first; the C++ side checks again.
//
// The problem crosses as typed objects, never as dictionaries: `VehicleTypeData` and `ProblemData` are
// built by keyword (smartopt.dispatch.vrp.VRPProblem.problem_data fills them by name), `solve`
// returns a `Solution`, `evaluate` a list of `RouteReport`. Adding a field to the problem touches
// four places: the C++ struct (include/smartopt/routing/vrp.hpp, checked in Problem::validate), its
// keyword and property here, the stub (src/smartopt/_core/_routing.pyi) and VRPProblem.problem_data.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "smartopt/routing/vrp.hpp"

namespace py = pybind11;
namespace rt = smartopt::routing;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

// A validated problem. The matrices are lent to the core uncopied (they can be GBs) when no one can
// write to them through numpy: the array and every array on its `.base` chain read-only (as
// VRPProblem's are) and a final non-array base refusing a writeable buffer (a read-only mmap);
// otherwise they are copied, so that no later write can undo the validation. The properties return
// read-only views whose base is this object, which numpy refuses to make writeable again.
struct ProblemData {
    rt::Problem problem;
    CArray<double> distance;
    CArray<double> duration;
    CArray<double> period_duration;
};

// True when numpy lets no one write to a's memory: no array on its base chain is writeable, and a
// final non-array base (a buffer exporter) refuses a writeable buffer, as numpy's own check does.
bool read_only_chain(const py::array &a) {
    py::object h = a;
    while (py::isinstance<py::array>(h)) {
        if (h.cast<py::array>().writeable()) return false;
        h = h.attr("base");
        if (h.is_none()) return true;  // the owner: it may flip its flag, which solve and evaluate catch
    }
    Py_buffer view;
    if (PyObject_GetBuffer(h.ptr(), &view, PyBUF_WRITABLE | PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        return true;
    }
    PyBuffer_Release(&view);
    return false;
}

// value as a C-contiguous float64 array no one else can write to: lent when read_only_chain holds,
// else a read-only copy. A dtype or layout conversion already is a copy, made read-only in place; a
// subclass (np.memmap) converts to a view of the caller's memory, which the chain check covers.
CArray<double> unwriteable(const py::object &value, const char *name) {
    auto a = CArray<double>::ensure(value);
    if (!a) throw py::value_error(std::string(name) + " must be an array of numbers");
    if (read_only_chain(a)) return a;
    if (a.ptr() == value.ptr() || !a.attr("base").is_none()) a = CArray<double>::ensure(a.attr("copy")());
    a.attr("setflags")(py::arg("write") = false);
    return a;
}

// A view of the matrix's memory; its shape gives the problem's profiles and locations.
rt::Values matrices(const CArray<double> &m, const char *name, int32_t &profiles, int32_t &n) {
    if (m.ndim() != 3 || m.shape(1) != m.shape(2))
        throw py::value_error(std::string(name) + " must have shape (num_profiles, n, n)");
    if (m.shape(0) > INT32_MAX || m.shape(1) > INT32_MAX) throw py::value_error(std::string(name) + " is too large");
    profiles = static_cast<int32_t>(m.shape(0));
    n = static_cast<int32_t>(m.shape(1));
    return rt::Values(m.data(), static_cast<size_t>(m.size()));
}

// A read-only view of one of owner's matrices, keeping owner (a ProblemData) alive as its base.
py::array_t<double> matrix_view(const py::object &owner, CArray<double> ProblemData::*matrix) {
    const CArray<double> &m = owner.cast<const ProblemData &>().*matrix;
    std::vector<py::ssize_t> shape(m.shape(), m.shape() + m.ndim());
    std::vector<py::ssize_t> strides(m.strides(), m.strides() + m.ndim());
    py::array_t<double> view(shape, strides, m.data(), owner);
    view.attr("setflags")(py::arg("write") = false);
    return view;
}

ProblemData make_problem(const py::object &distance, const py::object &duration, const py::object &is_client,
                         const py::object &required, const py::object &partner, const CArray<double> &delivery,
                         const CArray<double> &pickup, const CArray<double> &service, const CArray<double> &tw_early,
                         const CArray<double> &tw_late, const CArray<double> &prize, const CArray<double> &pair_load,
                         const CArray<double> &max_ride, const CArray<double> &release,
                         std::vector<rt::VehicleType> vehicle_types, const CArray<double> &period_start,
                         const py::object &period_duration) {
    ProblemData d{rt::Problem{}, unwriteable(distance, "distance"), unwriteable(duration, "duration"),
                  unwriteable(period_duration, "period_duration")};
    rt::Problem &p = d.problem;
    int32_t pd = 0, nd = 0;
    p.distance = matrices(d.distance, "distance", p.num_profiles, p.num_locations);
    p.duration = matrices(d.duration, "duration", pd, nd);
    if (pd != p.num_profiles || nd != p.num_locations) throw py::value_error("duration must have distance's shape");
    p.is_client = integers<uint8_t>(is_client, "is_client");
    p.required = integers<uint8_t>(required, "required");
    p.partner = integers<int32_t>(partner, "partner");
    p.delivery = to_vector(delivery, "delivery");
    p.pickup = to_vector(pickup, "pickup");
    p.service = to_vector(service, "service");
    p.tw_early = to_vector(tw_early, "tw_early");
    p.tw_late = to_vector(tw_late, "tw_late");
    p.prize = to_vector(prize, "prize");
    p.pair_load = to_vector(pair_load, "pair_load");
    p.max_ride = to_vector(max_ride, "max_ride");
    p.release = to_vector(release, "release");
    p.types = std::move(vehicle_types);
    p.period_start = to_vector(period_start, "period_start");
    const CArray<double> &pm = d.period_duration;
    if (!p.period_start.empty() &&
        (pm.ndim() != 4 || pm.shape(0) != static_cast<py::ssize_t>(p.period_start.size()) ||
         pm.shape(1) != p.num_profiles || pm.shape(2) != p.num_locations || pm.shape(3) != p.num_locations))
        throw py::value_error("period_duration must have shape (len(period_start), num_profiles, n, n)");
    p.period_duration = rt::Values(d.period_duration.data(), static_cast<size_t>(d.period_duration.size()));
    without_gil([&] { p.validate(); });
    return d;
}

rt::Routes make_routes(const py::object &vehicle, const std::vector<py::object> &visits) {
    rt::Routes r;
    r.vehicle = integers<int32_t>(vehicle, "vehicle");
    if (r.vehicle.size() != visits.size()) throw py::value_error("one vehicle per route is needed");
    for (const auto &v : visits) r.visits.push_back(integers<int32_t>(v, "route"));
    return r;
}

std::vector<py::array_t<int32_t>> route_arrays(const rt::Routes &r) {
    std::vector<py::array_t<int32_t>> out;
    for (const auto &v : r.visits) out.push_back(to_numpy<int32_t>(v));
    return out;
}

// A solve's result and the reports of its routes.
struct Solution {
    rt::SolveResult result;
    std::vector<rt::RouteReport> reports;
};

// A property returning a copy of a vector member as a numpy array.
template <class Out, class C, class T>
auto array_of(std::vector<T> C::*member) {
    return [member](const C &c) { return to_numpy<Out>(c.*member); };
}

template <class T>
auto problem_array(std::vector<T> rt::Problem::*member) {
    return [member](const ProblemData &d) { return to_numpy<T>(d.problem.*member); };
}

template <class Out, class T>
auto result_array(std::vector<T> rt::SolveResult::*member) {
    return [member](const Solution &s) { return to_numpy<Out>(s.result.*member); };
}

template <class T>
auto result_value(T rt::SolveResult::*member) {
    return [member](const Solution &s) { return s.result.*member; };
}

}  // namespace

PYBIND11_MODULE(_routing, m) {
    m.doc() = "Rich vehicle routing: SISR ruin and recreate under simulated annealing, O(1) segment checks.";

    const rt::VehicleType dv;  // the defaults
    py::class_<rt::VehicleType>(m, "VehicleTypeData", "count identical vehicles (see smartopt.dispatch.VehicleType)")
        .def(py::init([](int32_t count, int32_t start, int32_t end, int32_t profile, double capacity,
                         double fixed_cost, double unit_distance_cost, double unit_duration_cost, double shift_start,
                         double shift_end, double max_duration, double max_distance,
                         std::vector<int32_t> reload_depots, int32_t max_reloads, double max_trip_distance) {
                 rt::VehicleType t;
                 t.count = count;
                 t.start = start;
                 t.end = end;
                 t.profile = profile;
                 t.capacity = capacity;
                 t.fixed_cost = fixed_cost;
                 t.unit_distance_cost = unit_distance_cost;
                 t.unit_duration_cost = unit_duration_cost;
                 t.shift_start = shift_start;
                 t.shift_end = shift_end;
                 t.max_duration = max_duration;
                 t.max_distance = max_distance;
                 t.reload_depots = std::move(reload_depots);
                 t.max_reloads = max_reloads;
                 t.max_trip_distance = max_trip_distance;
                 return t;
             }),
             py::kw_only(), py::arg("count") = dv.count, py::arg("start") = dv.start, py::arg("end") = dv.end,
             py::arg("profile") = dv.profile, py::arg("capacity") = dv.capacity, py::arg("fixed_cost") = dv.fixed_cost,
             py::arg("unit_distance_cost") = dv.unit_distance_cost,
             py::arg("unit_duration_cost") = dv.unit_duration_cost, py::arg("shift_start") = dv.shift_start,
             py::arg("shift_end") = dv.shift_end, py::arg("max_duration") = dv.max_duration,
             py::arg("max_distance") = dv.max_distance, py::arg("reload_depots") = dv.reload_depots,
             py::arg("max_reloads") = dv.max_reloads, py::arg("max_trip_distance") = dv.max_trip_distance)
        .def_readonly("count", &rt::VehicleType::count)
        .def_readonly("start", &rt::VehicleType::start)
        .def_readonly("end", &rt::VehicleType::end)
        .def_readonly("profile", &rt::VehicleType::profile)
        .def_readonly("capacity", &rt::VehicleType::capacity)
        .def_readonly("fixed_cost", &rt::VehicleType::fixed_cost)
        .def_readonly("unit_distance_cost", &rt::VehicleType::unit_distance_cost)
        .def_readonly("unit_duration_cost", &rt::VehicleType::unit_duration_cost)
        .def_readonly("shift_start", &rt::VehicleType::shift_start)
        .def_readonly("shift_end", &rt::VehicleType::shift_end)
        .def_readonly("max_duration", &rt::VehicleType::max_duration)
        .def_readonly("max_distance", &rt::VehicleType::max_distance)
        .def_readonly("reload_depots", &rt::VehicleType::reload_depots)
        .def_readonly("max_reloads", &rt::VehicleType::max_reloads)
        .def_readonly("max_trip_distance", &rt::VehicleType::max_trip_distance);

    py::class_<ProblemData>(m, "ProblemData", "A validated VRP in the core's layout: one entry per location")
        .def(py::init(&make_problem), py::kw_only(), py::arg("distance"), py::arg("duration"), py::arg("is_client"),
             py::arg("required"), py::arg("partner"), py::arg("delivery"), py::arg("pickup"), py::arg("service"),
             py::arg("tw_early"), py::arg("tw_late"), py::arg("prize"), py::arg("pair_load"), py::arg("max_ride"),
             py::arg("release"), py::arg("vehicle_types"), py::arg("period_start") = py::array_t<double>(0),
             py::arg("period_duration") = py::array_t<double>(0))
        .def_property_readonly("distance",
                               [](const py::object &self) { return matrix_view(self, &ProblemData::distance); })
        .def_property_readonly("duration",
                               [](const py::object &self) { return matrix_view(self, &ProblemData::duration); })
        .def_property_readonly("is_client", problem_array(&rt::Problem::is_client))
        .def_property_readonly("required", problem_array(&rt::Problem::required))
        .def_property_readonly("partner", problem_array(&rt::Problem::partner))
        .def_property_readonly("delivery", problem_array(&rt::Problem::delivery))
        .def_property_readonly("pickup", problem_array(&rt::Problem::pickup))
        .def_property_readonly("service", problem_array(&rt::Problem::service))
        .def_property_readonly("tw_early", problem_array(&rt::Problem::tw_early))
        .def_property_readonly("tw_late", problem_array(&rt::Problem::tw_late))
        .def_property_readonly("prize", problem_array(&rt::Problem::prize))
        .def_property_readonly("pair_load", problem_array(&rt::Problem::pair_load))
        .def_property_readonly("max_ride", problem_array(&rt::Problem::max_ride))
        .def_property_readonly("release", problem_array(&rt::Problem::release))
        .def_property_readonly("period_start", problem_array(&rt::Problem::period_start))
        .def_property_readonly("period_duration",
                               [](const py::object &self) { return matrix_view(self, &ProblemData::period_duration); })
        .def_property_readonly("vehicle_types", [](const ProblemData &d) { return d.problem.types; })
        .def_property_readonly("num_locations", [](const ProblemData &d) { return d.problem.num_locations; })
        .def_property_readonly("num_profiles", [](const ProblemData &d) { return d.problem.num_profiles; })
        .def_property_readonly("num_vehicles", [](const ProblemData &d) { return d.problem.num_vehicles(); });

    py::class_<rt::RouteReport>(m, "RouteReport", "One route's schedule and totals; per-visit arrays")
        .def_readonly("distance", &rt::RouteReport::distance)
        .def_readonly("duration", &rt::RouteReport::duration)
        .def_readonly("time_warp", &rt::RouteReport::time_warp)
        .def_readonly("max_load", &rt::RouteReport::max_load)
        .def_readonly("cost", &rt::RouteReport::cost)
        .def_readonly("start_time", &rt::RouteReport::start_time)
        .def_readonly("end_time", &rt::RouteReport::end_time)
        .def_readonly("ride_excess", &rt::RouteReport::ride_excess)
        .def_readonly("pair_errors", &rt::RouteReport::pair_errors)
        .def_readonly("reloads", &rt::RouteReport::reloads)
        .def_readonly("longest_trip", &rt::RouteReport::longest_trip)
        .def_property_readonly("arrival", array_of<double>(&rt::RouteReport::arrival))
        .def_property_readonly("service_start", array_of<double>(&rt::RouteReport::service_start))
        .def_property_readonly("load_after", array_of<double>(&rt::RouteReport::load_after));

    py::class_<Solution>(m, "Solution", "What solve found: routes, their reports and search statistics")
        .def_property_readonly("vehicle", [](const Solution &s) { return to_numpy<int32_t>(s.result.routes.vehicle); })
        .def_property_readonly("visits", [](const Solution &s) { return route_arrays(s.result.routes); })
        .def_property_readonly("unvisited", result_array<int32_t>(&rt::SolveResult::unvisited))
        .def_property_readonly("objective", result_value(&rt::SolveResult::objective))
        .def_property_readonly("missing_required", result_value(&rt::SolveResult::missing_required))
        .def_property_readonly("violations", result_value(&rt::SolveResult::violations))
        .def_property_readonly("iterations", result_value(&rt::SolveResult::iterations))
        .def_property_readonly("improvements", result_value(&rt::SolveResult::improvements))
        .def_property_readonly("runtime_s", result_value(&rt::SolveResult::runtime_s))
        .def_property_readonly("time_to_best_s", result_value(&rt::SolveResult::time_to_best_s))
        .def_property_readonly("trace_time_s", result_array<double>(&rt::SolveResult::trace_time_s))
        .def_property_readonly("trace_objective", result_array<double>(&rt::SolveResult::trace_objective))
        .def_property_readonly("complete", result_value(&rt::SolveResult::complete))
        .def_property_readonly("time_limit_reached", result_value(&rt::SolveResult::time_limit_reached))
        .def_readonly("reports", &Solution::reports);

    m.def(
        "solve",
        [](const ProblemData &data, double time_limit_s, int64_t max_iterations, uint64_t seed,
           int32_t num_neighbours, const py::object &warm_vehicle, const std::vector<py::object> &warm_visits,
           const py::object &warm_locked, const py::object &progress) {
            rt::Options o;  // the time limit counts from here
            if (!progress.is_none())  // called from the search thread: takes the GIL for the call
                o.on_progress = [progress](int64_t iterations, double elapsed_s, double best) {
                    py::gil_scoped_acquire gil;
                    progress(iterations, elapsed_s, best);
                };
            o.time_limit_s = time_limit_s;
            o.max_iterations = max_iterations;
            o.seed = seed;
            o.num_neighbours = num_neighbours;
            rt::WarmStart warm;
            warm.routes = make_routes(warm_vehicle, warm_visits);
            warm.locked = integers<int32_t>(warm_locked, "locked");
            const bool has_warm = !warm.routes.vehicle.empty();
            // rt::solve validates the problem again although ProblemData did: the owner of a lent
            // matrix can still make it writeable and change it; one O(n^2) pass is the price of
            // never searching an invalid problem.
            return without_gil([&] {
                Solution s{rt::solve(data.problem, o, has_warm ? &warm : nullptr), {}};
                s.reports = rt::evaluate_validated(data.problem, s.result.routes);
                return s;
            });
        },
        py::arg("data"), py::arg("time_limit_s"), py::arg("max_iterations"), py::arg("seed"),
        py::arg("num_neighbours"), py::arg("warm_vehicle"), py::arg("warm_visits"), py::arg("warm_locked"),
        py::arg("progress") = py::none());
    m.def(
        "evaluate",
        [](const ProblemData &data, const py::object &vehicle, const std::vector<py::object> &visits) {
            const rt::Routes routes = make_routes(vehicle, visits);
            // Validated again, as in solve: an owner may have made its lent matrix writeable and
            // changed it since ProblemData checked it. Its one caller, evaluate_routes, builds the
            // ProblemData per call, so this costs what it already pays once more (16 ms at
            // n = 3000), small beside any solve whose routes it scores.
            return without_gil([&] { return rt::evaluate(data.problem, routes); });
        },
        py::arg("data"), py::arg("vehicle"), py::arg("visits"));
    m.def(
        "arrival_time",
        [](const ProblemData &data, int32_t profile, const py::object &origin, const py::object &destination,
           const CArray<double> &depart) {
            const rt::Problem &p = data.problem;
            const std::vector<int32_t> a = integers<int32_t>(origin, "origin"), b = integers<int32_t>(destination, "destination");
            const std::vector<double> t = to_vector(depart, "depart");
            if (a.size() != t.size() || b.size() != t.size())
                throw py::value_error("origin, destination and depart must have the same length");
            if (profile < 0 || profile >= p.num_profiles) throw py::value_error("profile out of range");
            for (size_t i = 0; i < t.size(); ++i)
                if (a[i] < 0 || a[i] >= p.num_locations || b[i] < 0 || b[i] >= p.num_locations)
                    throw py::value_error("origin and destination must be locations");
            std::vector<double> out(t.size());
            without_gil([&] {
                p.validate();  // as in solve: a lent matrix may have changed since
                for (size_t i = 0; i < t.size(); ++i) out[i] = p.arrive(profile, a[i], b[i], t[i]);
            });
            return to_numpy<double>(out);
        },
        py::arg("data"), py::arg("profile"), py::arg("origin"), py::arg("destination"), py::arg("depart"));
}
