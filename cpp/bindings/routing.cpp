// pybind11 bindings of the VRP solver: smartopt._core._routing.
// Private module: smartopt.dispatch.vrp validates user input first; the C++ side checks again.
#include "arrays.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "smartopt/routing/vrp.hpp"

namespace py = pybind11;
namespace rt = smartopt::routing;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

// A view of the matrices' memory, not a copy: the caller's arrays outlive the call.
rt::Values matrices(const CArray<double> &m, const char *name, int32_t &profiles, int32_t &n) {
    if (m.ndim() != 3 || m.shape(1) != m.shape(2))
        throw py::value_error(std::string(name) + " must have shape (num_profiles, n, n)");
    if (m.shape(0) > INT32_MAX || m.shape(1) > INT32_MAX) throw py::value_error(std::string(name) + " is too large");
    profiles = static_cast<int32_t>(m.shape(0));
    n = static_cast<int32_t>(m.shape(1));
    return rt::Values(m.data(), static_cast<size_t>(m.size()));
}

// Vehicle types come as columns: one entry per type in each array of `types`.
std::vector<rt::VehicleType> vehicle_types(const py::dict &types) {
    auto ints = [&](const char *k) { return to_vector(types[k].cast<CArray<int32_t>>(), k); };
    auto reals = [&](const char *k) { return to_vector(types[k].cast<CArray<double>>(), k); };
    const auto count = ints("count"), start = ints("start"), end = ints("end"), profile = ints("profile");
    const auto capacity = reals("capacity"), fixed = reals("fixed_cost"), unit_d = reals("unit_distance_cost"),
               unit_t = reals("unit_duration_cost"), s0 = reals("shift_start"), s1 = reals("shift_end"),
               max_dur = reals("max_duration"), max_dist = reals("max_distance");
    for (const auto *v : {&start, &end, &profile})
        if (v->size() != count.size()) throw py::value_error("vehicle type columns differ in length");
    for (const auto *v : {&capacity, &fixed, &unit_d, &unit_t, &s0, &s1, &max_dur, &max_dist})
        if (v->size() != count.size()) throw py::value_error("vehicle type columns differ in length");
    std::vector<rt::VehicleType> out(count.size());
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = {count[i], start[i], end[i],   profile[i], capacity[i], fixed[i],
                  unit_d[i], unit_t[i], s0[i], s1[i],      max_dur[i],  max_dist[i]};
    }
    return out;
}

rt::Problem make_problem(const CArray<double> &distance, const CArray<double> &duration, const py::dict &loc,
                         const py::dict &types) {
    rt::Problem p;
    int32_t pd = 0, nd = 0;
    p.distance = matrices(distance, "distance", p.num_profiles, p.num_locations);
    p.duration = matrices(duration, "duration", pd, nd);
    if (pd != p.num_profiles || nd != p.num_locations) throw py::value_error("duration must have distance's shape");
    auto reals = [&](const char *k) { return to_vector(loc[k].cast<CArray<double>>(), k); };
    p.is_client = to_vector(loc["is_client"].cast<CArray<uint8_t>>(), "is_client");
    p.required = to_vector(loc["required"].cast<CArray<uint8_t>>(), "required");
    p.partner = to_vector(loc["partner"].cast<CArray<int32_t>>(), "partner");
    p.delivery = reals("delivery");
    p.pickup = reals("pickup");
    p.service = reals("service");
    p.tw_early = reals("tw_early");
    p.tw_late = reals("tw_late");
    p.prize = reals("prize");
    p.pair_load = reals("pair_load");
    p.max_ride = reals("max_ride");
    p.types = vehicle_types(types);
    return p;
}

rt::Routes make_routes(const CArray<int32_t> &vehicle, const py::list &visits) {
    rt::Routes r;
    r.vehicle = to_vector(vehicle, "vehicle");
    if (r.vehicle.size() != visits.size()) throw py::value_error("one vehicle per route is needed");
    for (const auto &v : visits) r.visits.push_back(to_vector(v.cast<CArray<int32_t>>(), "route"));
    return r;
}

py::list route_list(const rt::Routes &r) {
    py::list out;
    for (const auto &v : r.visits) out.append(to_numpy<int32_t>(v));
    return out;
}

py::list report_list(const std::vector<rt::RouteReport> &reports) {
    py::list out;
    for (const auto &r : reports) {
        py::dict d;
        d["distance"] = r.distance;
        d["duration"] = r.duration;
        d["time_warp"] = r.time_warp;
        d["max_load"] = r.max_load;
        d["cost"] = r.cost;
        d["start_time"] = r.start_time;
        d["end_time"] = r.end_time;
        d["ride_excess"] = r.ride_excess;
        d["pair_errors"] = r.pair_errors;
        d["arrival"] = to_numpy<double>(r.arrival);
        d["service_start"] = to_numpy<double>(r.service_start);
        d["load_after"] = to_numpy<double>(r.load_after);
        out.append(d);
    }
    return out;
}

}  // namespace

PYBIND11_MODULE(_routing, m) {
    m.doc() = "Rich vehicle routing: SISR ruin and recreate under simulated annealing, O(1) segment checks.";
    m.def(
        "solve",
        [](const CArray<double> &distance, const CArray<double> &duration, const py::dict &loc, const py::dict &types,
           double time_limit_s, int64_t max_iterations, uint64_t seed, int32_t num_neighbours,
           const CArray<int32_t> &warm_vehicle, const py::list &warm_visits, const CArray<int32_t> &warm_locked,
           const py::object &progress) {
            rt::Options o;  // the time limit counts from here, copying the problem included
            if (!progress.is_none())  // called from the search thread: takes the GIL for the call
                o.on_progress = [progress](int64_t iterations, double elapsed_s, double best) {
                    py::gil_scoped_acquire gil;
                    progress(iterations, elapsed_s, best);
                };
            const rt::Problem p = make_problem(distance, duration, loc, types);
            o.time_limit_s = time_limit_s;
            o.max_iterations = max_iterations;
            o.seed = seed;
            o.num_neighbours = num_neighbours;
            rt::WarmStart warm;
            warm.routes = make_routes(warm_vehicle, warm_visits);
            warm.locked = to_vector(warm_locked, "locked");
            const bool has_warm = !warm.routes.vehicle.empty();
            std::vector<rt::RouteReport> reports;
            const rt::SolveResult res = without_gil([&] {
                rt::SolveResult out = rt::solve(p, o, has_warm ? &warm : nullptr);
                reports = rt::evaluate_validated(p, out.routes);
                return out;
            });
            py::dict d;
            d["vehicle"] = to_numpy<int32_t>(res.routes.vehicle);
            d["visits"] = route_list(res.routes);
            d["unvisited"] = to_numpy<int32_t>(res.unvisited);
            d["objective"] = res.objective;
            d["missing_required"] = res.missing_required;
            d["violations"] = res.violations;
            d["iterations"] = res.iterations;
            d["improvements"] = res.improvements;
            d["runtime_s"] = res.runtime_s;
            d["time_to_best_s"] = res.time_to_best_s;
            d["trace_time_s"] = to_numpy<double>(res.trace_time_s);
            d["trace_objective"] = to_numpy<double>(res.trace_objective);
            d["complete"] = res.complete;
            d["time_limit_reached"] = res.time_limit_reached;
            d["reports"] = report_list(reports);
            return d;
        },
        py::arg("distance"), py::arg("duration"), py::arg("locations"), py::arg("types"), py::arg("time_limit_s"),
        py::arg("max_iterations"), py::arg("seed"), py::arg("num_neighbours"), py::arg("warm_vehicle"),
        py::arg("warm_visits"), py::arg("warm_locked"), py::arg("progress") = py::none());
    m.def(
        "evaluate",
        [](const CArray<double> &distance, const CArray<double> &duration, const py::dict &loc, const py::dict &types,
           const CArray<int32_t> &vehicle, const py::list &visits) {
            const rt::Problem p = make_problem(distance, duration, loc, types);
            const rt::Routes routes = make_routes(vehicle, visits);
            return report_list(without_gil([&] { return rt::evaluate(p, routes); }));
        },
        py::arg("distance"), py::arg("duration"), py::arg("locations"), py::arg("types"), py::arg("vehicle"),
        py::arg("visits"));
}
