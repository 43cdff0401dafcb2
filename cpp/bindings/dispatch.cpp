// pybind11 bindings of the dispatch core: smartopt._core._dispatch.
// - solve_assignment: linear sum assignment (LAPJV) of a (rows <= columns) cost matrix.
// - NetworkFleet / PlaneFleet: the event-driven shuttle fleet on a road network or in the plane.
// Private module: smartopt.dispatch validates user input first; the C++ side checks again.
//
// No dictionaries cross the boundary: the fleet's tables (records, legs, sessions, events,
// vehicles, plans) come back as structured numpy arrays, one row per item, with the fields each
// method's docstring lists (locations: an int32 node, or a (2,) float64 point in the plane); the
// codes in them are the enums RideStatus, Rejection and StopKind (enum.IntEnum in Python).
#include "arrays.hpp"

#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "smartopt/dispatch/assignment.hpp"
#include "smartopt/dispatch/fleet.hpp"
#include "smartopt/dispatch/space.hpp"

namespace py = pybind11;
namespace dp = smartopt::dispatch;

namespace {

using smartopt::bindings::CArray;
using smartopt::bindings::integers;
using smartopt::bindings::to_numpy;
using smartopt::bindings::to_vector;
using smartopt::bindings::without_gil;

py::array_t<std::int64_t> solve_assignment(const CArray<double> &cost) {
    if (cost.ndim() != 2) throw py::value_error("cost_matrix must be two-dimensional");
    const std::int64_t rows = cost.shape(0), cols = cost.shape(1);
    const double *data = cost.data();
    return to_numpy<std::int64_t>(without_gil([&] { return dp::solve_assignment(data, rows, cols); }));
}

// Locations to and from numpy: network nodes as int32 (k,), points as float64 (k, 2).
template <class Loc>
struct Locations;

template <>
struct Locations<std::int32_t> {
    static std::vector<std::int32_t> read(const py::array &a, const char *name) {
        return integers<std::int32_t>(a, name);
    }
    static py::array write(const std::vector<std::int32_t> &v) { return to_numpy<std::int32_t>(v); }
};

template <>
struct Locations<dp::Point> {
    static std::vector<dp::Point> read(const py::array &a, const char *name) {
        const auto xy = CArray<double>::ensure(a);
        if (!xy || xy.ndim() != 2 || xy.shape(1) != 2) throw py::value_error(std::string(name) + " must have shape (k, 2)");
        std::vector<dp::Point> out(static_cast<std::size_t>(xy.shape(0)));
        for (std::size_t k = 0; k < out.size(); ++k) out[k] = {xy.data()[2 * k], xy.data()[2 * k + 1]};
        return out;
    }
    static py::array write(const std::vector<dp::Point> &v) {
        py::array_t<double> out({static_cast<py::ssize_t>(v.size()), py::ssize_t{2}});
        double *p = out.mutable_data();
        for (std::size_t k = 0; k < v.size(); ++k) {
            p[2 * k] = v[k].x;
            p[2 * k + 1] = v[k].y;
        }
        return out;
    }
};

// Pulls one field of every element of `items` into a numpy array.
template <class Out, class T, class F>
py::array_t<Out> column(const std::vector<T> &items, F field) {
    py::array_t<Out> out(static_cast<py::ssize_t>(items.size()));
    Out *p = out.mutable_data();
    for (std::size_t k = 0; k < items.size(); ++k) p[k] = static_cast<Out>(field(items[k]));
    return out;
}

// A structured array of n rows from named columns (each of n rows; a column's further axes become
// the field's shape).
py::array table(std::initializer_list<std::pair<const char *, py::array>> columns, py::ssize_t n) {
    py::list spec;
    for (const auto &[name, col] : columns) {
        py::tuple shape(col.ndim() - 1);
        for (py::ssize_t a = 1; a < col.ndim(); ++a) shape[a - 1] = col.shape(a);
        spec.append(py::make_tuple(name, col.dtype(), shape));
    }
    py::array out(py::dtype::from_args(spec), std::vector<py::ssize_t>{n});
    for (const auto &[name, col] : columns) out[py::str(name)] = col;
    return out;
}

// Plans for `n` vehicles from CSR arrays: plan k is the ride stops rides/pickup[offsets[k]:offsets[k + 1]].
std::vector<std::vector<dp::PlanStop>> read_plans(std::size_t n, const py::object &offsets, const py::object &rides,
                                                  const py::object &pickup) {
    const auto off = integers<std::int64_t>(offsets, "offsets");
    const auto r = integers<std::int32_t>(rides, "rides");
    const auto p = integers<bool>(pickup, "pickup");
    if (off.size() != n + 1 || p.size() != r.size() || off.front() != 0 ||
        off.back() != static_cast<std::int64_t>(r.size()) || !std::is_sorted(off.begin(), off.end()))
        throw py::value_error("offsets must cut rides into one plan per vehicle");
    std::vector<std::vector<dp::PlanStop>> plans(n);
    for (std::size_t k = 0; k < n; ++k)
        for (auto i = off[k]; i < off[k + 1]; ++i) plans[k].push_back({r[i], p[i]});
    return plans;
}

// The vehicles of a fleet, as numpy arrays come: one entry per vehicle.
struct VehicleSpecs {
    std::vector<dp::VehicleSpec> specs;
};

VehicleSpecs vehicle_specs(const py::object &seats, const CArray<double> &battery_kwh,
                           const CArray<double> &kwh_per_km, const CArray<double> &soc0) {
    const auto s = integers<std::int32_t>(seats, "seats");
    const auto b = to_vector(battery_kwh, "battery_kwh");
    const auto k = to_vector(kwh_per_km, "kwh_per_km");
    const auto q = to_vector(soc0, "soc0");
    if (b.size() != s.size() || k.size() != s.size() || q.size() != s.size())
        throw py::value_error("vehicle arrays must have one entry per vehicle");
    VehicleSpecs out;
    for (std::size_t v = 0; v < s.size(); ++v) out.specs.push_back({s[v], b[v], k[v], q[v]});
    return out;
}

// A road-network space as numpy arrays come, or a contraction hierarchy (see NetworkSpace):
// checked when built.
struct NetworkArgs {
    std::int32_t n = 0;
    std::vector<double> time_s, distance_m, link_time_s, link_length_m;
    std::vector<std::int64_t> link_offsets;
    std::vector<std::int32_t> link_heads;
    std::shared_ptr<const smartopt::network::ContractionHierarchy> hierarchy;
    std::size_t cache_spaces = 0;
    std::vector<double> node_xy;  // empty: no lower bound on times
    double max_speed_mps = 0.0;
    dp::NetworkSpace build() const {
        dp::NetworkSpace out = hierarchy ? dp::NetworkSpace(hierarchy, cache_spaces)
                                         : dp::NetworkSpace(n, time_s, distance_m, link_offsets, link_heads,
                                                            link_time_s, link_length_m);
        if (!node_xy.empty()) out.bound_by(node_xy, max_speed_mps);
        return out;
    }
};

NetworkArgs hierarchy_args(std::shared_ptr<smartopt::network::ContractionHierarchy> hierarchy,
                           std::int64_t cache_spaces) {
    if (!hierarchy) throw py::value_error("hierarchy must be a ContractionHierarchy");
    if (cache_spaces < 1) throw py::value_error("cache_spaces must be >= 1, got " + std::to_string(cache_spaces));
    NetworkArgs a;
    a.n = hierarchy->num_nodes();
    a.hierarchy = std::move(hierarchy);
    a.cache_spaces = static_cast<std::size_t>(cache_spaces);
    return a;
}

NetworkArgs network_args(const CArray<double> &time_s, const CArray<double> &distance_m,
                         const py::object &link_offsets, const py::object &link_heads,
                         const CArray<double> &link_time_s, const CArray<double> &link_length_m) {
    if (!time_s || time_s.ndim() != 2 || time_s.shape(0) != time_s.shape(1))
        throw py::value_error("time_s must be a square matrix");
    NetworkArgs a;
    a.n = static_cast<std::int32_t>(time_s.shape(0));
    a.time_s.assign(time_s.data(), time_s.data() + time_s.size());
    a.distance_m.assign(distance_m.data(), distance_m.data() + distance_m.size());
    a.link_offsets = integers<std::int64_t>(link_offsets, "link_offsets");
    a.link_heads = integers<std::int32_t>(link_heads, "link_heads");
    a.link_time_s = to_vector(link_time_s, "link_time_s");
    a.link_length_m = to_vector(link_length_m, "link_length_m");
    return a;
}

// How each space's travel times are given to set_space.
template <class Space>
struct SpaceArgs;
template <>
struct SpaceArgs<dp::NetworkSpace> {
    using type = NetworkArgs;
    static dp::NetworkSpace build(const NetworkArgs &a) { return a.build(); }
};
template <>
struct SpaceArgs<dp::PlaneSpace> {
    using type = std::pair<double, bool>;  // speed (m/s), Manhattan metric
    static dp::PlaneSpace build(const type &a) { return dp::PlaneSpace(a.first, a.second); }
};

template <class Space>
using FleetOf = dp::Fleet<Space>;

template <class Space>
void bind_fleet(py::module_ &m, const char *name) {
    using Fleet = FleetOf<Space>;
    using Loc = typename Space::Loc;
    using L = Locations<Loc>;
    py::class_<Fleet>(m, name)
        .def(
            "add_rides",
            [](Fleet &f, const CArray<double> &time_s, const py::array &origin, const py::array &destination,
               const py::object &passengers, const CArray<double> &pickup_earliest_s,
               const CArray<double> &pickup_latest_s, const CArray<double> &dropoff_latest_s,
               const CArray<double> &max_ride_s) {
                const auto t = to_vector(time_s, "time_s");
                const auto o = L::read(origin, "origin"), d = L::read(destination, "destination");
                const auto p = integers<std::int32_t>(passengers, "passengers");
                const auto pe = to_vector(pickup_earliest_s, "pickup_earliest_s");
                const auto pl = to_vector(pickup_latest_s, "pickup_latest_s");
                const auto dl = to_vector(dropoff_latest_s, "dropoff_latest_s");
                const auto mr = to_vector(max_ride_s, "max_ride_s");
                const std::size_t n = t.size();
                if (o.size() != n || d.size() != n || p.size() != n || pe.size() != n || pl.size() != n ||
                    dl.size() != n || mr.size() != n)
                    throw py::value_error("ride arrays must have one entry per ride");
                const auto first = static_cast<std::int32_t>(f.rides().size());
                without_gil([&] {
                    for (std::size_t k = 0; k < n; ++k) f.add_ride({t[k], o[k], d[k], p[k], pe[k], pl[k], dl[k], mr[k]});
                    return 0;
                });
                return first;
            },
            py::arg("time_s"), py::arg("origin"), py::arg("destination"), py::arg("passengers"),
            py::arg("pickup_earliest_s"), py::arg("pickup_latest_s"), py::arg("dropoff_latest_s"),
            py::arg("max_ride_s"), "Adds rides; returns the id of the first.")
        .def(
            "place_until",
            [](Fleet &f, double until, double batch_s) {
                without_gil([&] {
                    f.place_until(until, batch_s);
                    return 0;
                });
            },
            py::arg("until"), py::arg("batch_s"))
        .def("finish", [](Fleet &f) { without_gil([&] { f.finish(); return 0; }); })
        .def(
            "close_day", [](Fleet &f, double day_s) { without_gil([&] { f.close_day(day_s); return 0; }); },
            py::arg("day_s"), "After finish(): overnight charging back to each vehicle's initial state of charge.")
        .def(
            "next_day_as", [](const Fleet &f) { return to_numpy<std::int32_t>(f.next_day_as()); },
            "After close_day: whose place each vehicle takes the next day (-1: close_day has not run).")
        .def("advance", [](Fleet &f, double now) { without_gil([&] { f.advance(now); return 0; }); }, py::arg("now"))
        .def(
            "submit",
            [](Fleet &f, std::int32_t id) {
                if (id < 0 || id >= static_cast<std::int32_t>(f.rides().size())) throw py::value_error("unknown ride");
                const dp::Insertion ins = without_gil([&] {
                    const dp::Insertion best = f.best_insertion(id);
                    if (best.vehicle >= 0)
                        f.insert(id, best);
                    else
                        f.reject(id, best.blocked_by_battery ? dp::Rejection::battery : dp::Rejection::no_vehicle);
                    return best;
                });
                const dp::RideRecord &r = f.records()[id];
                return std::make_tuple(ins.vehicle, ins.cost, r.pickup_s, r.dropoff_s, r.reason);
            },
            py::arg("id"), "Places ride `id` now: (vehicle, cost s, pickup s, drop-off s, rejection reason).")
        .def(
            "pool_trips",
            [](const Fleet &f, const py::object &ids, std::int32_t max_trip, std::int32_t per_request,
               std::int32_t per_vehicle, std::int32_t trips_per_size, std::int64_t exact_steps, std::int32_t threads,
               bool reassign) {
                const auto rides = integers<std::int32_t>(ids, "ids");
                const dp::PoolingOptions options{max_trip,    per_request, per_vehicle, trips_per_size,
                                                 exact_steps, threads,     reassign};
                const dp::TripTable t = without_gil([&] { return f.pool_trips(rides, options); });
                std::vector<std::int32_t> plan_rides;
                std::vector<bool> plan_pickup;
                for (const dp::PlanStop &s : t.plan) {
                    plan_rides.push_back(s.ride);
                    plan_pickup.push_back(s.pickup);
                }
                py::dict out;
                out["vehicle"] = to_numpy<std::int32_t>(t.vehicle);
                out["cost"] = to_numpy<double>(t.cost);
                out["ride_offsets"] = to_numpy<std::int64_t>(t.ride_offsets);
                out["rides"] = to_numpy<std::int32_t>(t.rides);
                out["plan_offsets"] = to_numpy<std::int64_t>(t.plan_offsets);
                out["plan_rides"] = to_numpy<std::int32_t>(plan_rides);
                out["plan_pickup"] = to_numpy<bool>(plan_pickup);
                out["choice"] = to_numpy<std::int32_t>(t.choice);
                out["proven"] = to_numpy<bool>(t.proven);
                out["unplaceable"] = to_numpy<std::int32_t>(t.unplaceable);
                out["battery"] = to_numpy<bool>(t.battery);
                out["reassigned"] = to_numpy<std::int32_t>(t.reassigned);
                out["reassigned_from"] = to_numpy<std::int32_t>(t.reassigned_from);
                return out;
            },
            py::arg("ids"), py::arg("max_trip"), py::arg("per_request"), py::arg("per_vehicle"),
            py::arg("trips_per_size"), py::arg("exact_steps"), py::arg("threads"), py::arg("reassign") = false,
            "Candidate trips of pending rides `ids` (changes nothing). A dict of arrays: trip t is vehicle[t] "
            "taking rides[ride_offsets[t]:ride_offsets[t+1]] at cost[t] (s), its plan then the ride stops "
            "plan_rides/plan_pickup[plan_offsets[t]:plan_offsets[t+1]]; choice: the best choice of trips "
            "found, optimal among the trips marked proven; "
            "unplaceable: rides no vehicle can take, battery: whether a battery stopped one; with reassign, "
            "also the rides vehicles have yet to pick up (reassigned, from vehicles reassigned_from), each served "
            "by the choice.")
        .def(
            "assign_plans",
            [](Fleet &f, const py::object &vehicles, const py::object &offsets, const py::object &rides,
               const py::object &pickup) {
                const auto vs = integers<std::int32_t>(vehicles, "vehicles");
                const auto plans = read_plans(vs.size(), offsets, rides, pickup);
                return to_numpy<bool>(without_gil([&] { return f.assign_plans(vs, plans); }));
            },
            py::arg("vehicles"), py::arg("offsets"), py::arg("rides"), py::arg("pickup"),
            "New plans (plan k: rides[offsets[k]:offsets[k+1]]) holding pending rides and rides other vehicles have "
            "yet to pick up (they move); committed per group of vehicles linked by moved rides, all or none; "
            "whether each was taken.")
        .def(
            "rebalance_toward",
            [](Fleet &f, const py::object &ids, std::int32_t per_request) {
                const auto rides = integers<std::int32_t>(ids, "ids");
                const auto pairs = without_gil([&] { return f.rebalance_toward(rides, per_request); });
                std::vector<std::int32_t> v, r;
                for (const auto &[vehicle, ride] : pairs) {
                    v.push_back(vehicle);
                    r.push_back(ride);
                }
                return py::make_tuple(to_numpy<std::int32_t>(v), to_numpy<std::int32_t>(r));
            },
            py::arg("ids"), py::arg("per_request"),
            "Sends idle vehicles toward waiting rides' origins, matched at least total time: the (vehicles, rides) sent.")
        .def(
            "reject",
            [](Fleet &f, std::int32_t id, bool battery) {
                if (id < 0 || id >= static_cast<std::int32_t>(f.rides().size())) throw py::value_error("unknown ride");
                f.reject(id, battery ? dp::Rejection::battery : dp::Rejection::no_vehicle);
            },
            py::arg("id"), py::arg("battery"))
        .def(
            "set_in_service",
            [](Fleet &f, std::int32_t v, bool in_service) {
                std::vector<std::int32_t> unassigned;
                f.set_in_service(v, in_service, unassigned);
                return to_numpy<std::int32_t>(unassigned);
            },
            py::arg("vehicle"), py::arg("in_service"))
        .def(
            "update",
            [](Fleet &f, std::int32_t v, const py::array &at, double ready_s) {
                const auto loc = L::read(at, "position");
                if (loc.size() != 1) throw py::value_error("position must be one location");
                std::vector<std::int32_t> broken;
                f.update(v, loc[0], ready_s, broken);
                return to_numpy<std::int32_t>(broken);
            },
            py::arg("vehicle"), py::arg("position"), py::arg("ready_s"))
        .def(
            "set_space",
            [](Fleet &f, const typename SpaceArgs<Space>::type &args) {
                std::vector<std::int32_t> broken;
                without_gil([&] {
                    f.set_space(SpaceArgs<Space>::build(args), broken);
                    return 0;
                });
                return to_numpy<std::int32_t>(broken);
            },
            py::arg("space"), "New travel times from now on; returns the rides whose promises now break.")
        .def(
            "plans",
            [](const Fleet &f) {
                std::vector<dp::Stop<Loc>> stops;
                std::vector<std::int32_t> vehicle;
                for (std::int32_t v = 0; v < static_cast<std::int32_t>(f.vehicles().size()); ++v)
                    for (const auto &s : f.vehicles()[v].stops) {
                        stops.push_back(s);
                        vehicle.push_back(v);
                    }
                std::vector<Loc> at;
                for (const auto &s : stops) at.push_back(s.loc);
                const auto ride = [&](const dp::Stop<Loc> &x) -> const dp::Ride<Loc> * {
                    const bool rider = x.kind == dp::StopKind::pickup || x.kind == dp::StopKind::dropoff;
                    return rider ? &f.rides()[x.id] : nullptr;
                };
                using S = dp::Stop<Loc>;
                return table(
                    {{"vehicle", to_numpy<std::int32_t>(vehicle)},
                     {"kind", column<std::int8_t>(stops, [](const S &x) { return x.kind; })},
                     {"id", column<std::int32_t>(stops, [](const S &x) { return x.id; })},
                     {"location", L::write(at)},
                     {"earliest_s", column<double>(stops, [](const S &x) { return x.earliest; })},
                     {"latest_s", column<double>(stops, [](const S &x) { return x.latest; })},
                     {"start_s", column<double>(stops, [](const S &x) { return x.start; })},
                     {"passengers", column<std::int32_t>(stops, [&](const S &x) { return ride(x) ? ride(x)->passengers : 0; })},
                     {"max_ride_s",
                      column<double>(stops, [&](const S &x) { return ride(x) ? ride(x)->max_ride_s : dp::NEVER; })}},
                    static_cast<py::ssize_t>(stops.size()));
            },
            "Every vehicle's planned stops in order: vehicle, kind (StopKind), id, location, earliest_s, latest_s, "
            "start_s, and for ride stops the ride's passengers and max_ride_s (longest time on board, s).")
        .def(
            "replace_plans",
            [](Fleet &f, const py::object &vehicles, const py::object &offsets, const py::object &rides,
               const py::object &pickup) {
                const auto vs = integers<std::int32_t>(vehicles, "vehicles");
                const auto plans = read_plans(vs.size(), offsets, rides, pickup);
                return without_gil([&] { return f.replace_plans(vs, plans); });
            },
            py::arg("vehicles"), py::arg("offsets"), py::arg("rides"), py::arg("pickup"),
            "New plans (plan k: rides[offsets[k]:offsets[k+1]]); returns the old and new driving time (s).")
        .def(
            "reposition",
            [](Fleet &f, std::int32_t v, const py::array &to) {
                const auto loc = L::read(to, "to");
                if (loc.size() != 1) throw py::value_error("to must be one location");
                return f.reposition(v, loc[0]);
            },
            py::arg("vehicle"), py::arg("to"), "Sends an idle vehicle toward `to`; False if it is not idle.")
        .def_property_readonly("now", &Fleet::now)
        .def(
            "records",
            [](const Fleet &f) {
                const auto &r = f.records();
                using R = dp::RideRecord;
                return table({{"vehicle", column<std::int32_t>(r, [](const R &x) { return x.vehicle; })},
                              {"pickup_s", column<double>(r, [](const R &x) { return x.pickup_s; })},
                              {"dropoff_s", column<double>(r, [](const R &x) { return x.dropoff_s; })},
                              {"status", column<std::int8_t>(r, [](const R &x) { return x.status; })},
                              {"reason", column<std::int8_t>(r, [](const R &x) { return x.reason; })}},
                             static_cast<py::ssize_t>(r.size()));
            },
            "Per ride: vehicle (-1: none), pickup_s, dropoff_s (planned until done), status (RideStatus), "
            "reason (Rejection).")
        .def(
            "legs",
            [](const Fleet &f) {
                const auto &g = f.legs();
                std::vector<Loc> from, to;
                for (const auto &x : g) {
                    from.push_back(x.from);
                    to.push_back(x.to);
                }
                using G = dp::Leg<Loc>;
                return table({{"vehicle", column<std::int32_t>(g, [](const G &x) { return x.vehicle; })},
                              {"depart_s", column<double>(g, [](const G &x) { return x.depart_s; })},
                              {"arrive_s", column<double>(g, [](const G &x) { return x.arrive_s; })},
                              {"from", L::write(from)},
                              {"to", L::write(to)},
                              {"distance_m", column<double>(g, [](const G &x) { return x.distance_m; })},
                              {"load", column<std::int32_t>(g, [](const G &x) { return x.load; })}},
                             static_cast<py::ssize_t>(g.size()));
            },
            "Every driven leg: vehicle, depart_s, arrive_s, from, to (locations), distance_m, load (riders).")
        .def(
            "sessions",
            [](const Fleet &f) {
                const auto &s = f.sessions();
                using C = dp::ChargingSession;
                return table({{"vehicle", column<std::int32_t>(s, [](const C &x) { return x.vehicle; })},
                              {"charger", column<std::int32_t>(s, [](const C &x) { return x.charger; })},
                              {"start_s", column<double>(s, [](const C &x) { return x.start_s; })},
                              {"end_s", column<double>(s, [](const C &x) { return x.end_s; })},
                              {"energy_kwh", column<double>(s, [](const C &x) { return x.energy_kwh; })},
                              {"overnight", column<bool>(s, [](const C &x) { return x.overnight; })}},
                             static_cast<py::ssize_t>(s.size()));
            },
            "Every charging session: vehicle, charger, start_s, end_s, energy_kwh, overnight.")
        .def(
            "events",
            [](const Fleet &f, std::size_t since) {
                const auto &all = f.events();
                const std::vector<dp::Event> e(all.begin() + static_cast<std::ptrdiff_t>(std::min(since, all.size())),
                                               all.end());
                using E = dp::Event;
                return table({{"time_s", column<double>(e, [](const E &x) { return x.time_s; })},
                              {"kind", column<std::int8_t>(e, [](const E &x) { return x.kind; })},
                              {"vehicle", column<std::int32_t>(e, [](const E &x) { return x.vehicle; })},
                              {"id", column<std::int32_t>(e, [](const E &x) { return x.id; })}},
                             static_cast<py::ssize_t>(e.size()));
            },
            py::arg("since") = 0, "Events from the `since`-th on: time_s, kind (StopKind), vehicle, id.")
        .def(
            "vehicles",
            [](const Fleet &f) {
            const auto &vs = f.vehicles();
            std::vector<Loc> at;
            std::vector<double> ready;
            for (std::int32_t v = 0; v < static_cast<std::int32_t>(vs.size()); ++v) {
                const auto [loc, t] = f.position(v);
                at.push_back(loc);
                ready.push_back(t);
            }
            using V = dp::Vehicle<Loc>;
            return table({{"position", L::write(at)},
                          {"position_s", to_numpy<double>(ready)},
                          {"load", column<std::int32_t>(vs, [](const V &x) { return x.load; })},
                          {"seats", column<std::int32_t>(vs, [](const V &x) { return x.spec.seats; })},
                          {"soc_kwh", column<double>(vs, [](const V &x) { return x.soc_kwh; })},
                          {"stops", column<std::int32_t>(vs, [](const V &x) { return x.stops.size(); })},
                          {"in_service", column<bool>(vs, [](const V &x) { return x.in_service; })}},
                         static_cast<py::ssize_t>(vs.size()));
            },
            "Per vehicle: position (location) and position_s (when it is there), load, seats, soc_kwh, stops "
            "(planned), in_service.");
}

}  // namespace

PYBIND11_MODULE(_dispatch, m) {
    m.doc() = "Dispatch core: linear sum assignment (LAPJV) and the event-driven shuttle fleet.";
    py::native_enum<dp::RideStatus>(m, "RideStatus", "enum.IntEnum", "Where a ride stands.")
        .value("PENDING", dp::RideStatus::pending)
        .value("ASSIGNED", dp::RideStatus::assigned)
        .value("ON_BOARD", dp::RideStatus::on_board)
        .value("DELIVERED", dp::RideStatus::delivered)
        .value("REJECTED", dp::RideStatus::rejected)
        .finalize();
    py::native_enum<dp::Rejection>(m, "Rejection", "enum.IntEnum", "Why a ride was rejected.")
        .value("NONE", dp::Rejection::none)
        .value("NO_VEHICLE", dp::Rejection::no_vehicle)
        .value("BATTERY", dp::Rejection::battery)
        .finalize();
    py::native_enum<dp::StopKind>(m, "StopKind", "enum.IntEnum", "A planned stop's (and an event's) kind.")
        .value("PICKUP", dp::StopKind::pickup)
        .value("DROPOFF", dp::StopKind::dropoff)
        .value("CHARGE", dp::StopKind::charge)
        .value("REPOSITION", dp::StopKind::reposition)
        .finalize();
    m.def(
        "choose_trips",
        [](const py::object &vehicle, const py::object &ride_offsets, const py::object &rides, const CArray<double> &cost,
           std::int64_t exact_steps, const py::object &reassigned, const py::object &reassigned_from) {
            dp::TripTable t;
            t.vehicle = integers<std::int32_t>(vehicle, "vehicle");
            t.ride_offsets = integers<std::int64_t>(ride_offsets, "ride_offsets");
            t.rides = integers<std::int32_t>(rides, "rides");
            t.cost = to_vector(cost, "cost");
            t.reassigned = integers<std::int32_t>(reassigned, "reassigned");
            t.reassigned_from = integers<std::int32_t>(reassigned_from, "reassigned_from");
            without_gil([&] {
                dp::choose_trips(t, exact_steps);
                return 0;
            });
            return py::make_tuple(to_numpy<std::int32_t>(t.choice), to_numpy<bool>(t.proven));
        },
        py::arg("vehicle"), py::arg("ride_offsets"), py::arg("rides"), py::arg("cost"), py::arg("exact_steps"),
        py::arg("reassigned") = py::tuple(), py::arg("reassigned_from") = py::tuple(),
        "Trips to take (every reassigned ride, most rides, then least cost), part by part: (choice, proven per "
        "trip). reassigned_from: each reassigned ride's vehicle now.");
    m.def("solve_assignment", &solve_assignment, py::arg("cost"),
          "The column of each row in a least-cost assignment of a (rows <= columns) cost matrix.");
    py::module_::import("smartopt._core._network");  // registers ContractionHierarchy
    py::class_<NetworkArgs>(m, "NetworkSpaceArgs")
        .def(py::init(&network_args), py::arg("time_s"), py::arg("distance_m"), py::arg("link_offsets"),
             py::arg("link_heads"), py::arg("link_time_s"), py::arg("link_length_m"))
        .def(
            "bound_by",
            [](NetworkArgs &a, const CArray<double> &node_xy, double max_speed_mps) {
                if (!node_xy || node_xy.ndim() != 2 || node_xy.shape(0) != a.n || node_xy.shape(1) != 2)
                    throw py::value_error("node_xy must have shape (n, 2)");
                a.node_xy.assign(node_xy.data(), node_xy.data() + node_xy.size());  // checked by build()
                a.max_speed_mps = max_speed_mps;
            },
            py::arg("node_xy"), py::arg("max_speed_mps"),
            "Bounds times from below by straight lines between node_xy (m) at max_speed_mps (inf: no bound).")
        .def_static("from_hierarchy", &hierarchy_args, py::arg("hierarchy"), py::arg("cache_spaces"),
                    "Fastest paths on a contraction hierarchy, the search spaces of cache_spaces recent origins and "
                    "destinations kept.");
    bind_fleet<dp::NetworkSpace>(m, "NetworkFleet");
    bind_fleet<dp::PlaneSpace>(m, "PlaneFleet");
    py::class_<VehicleSpecs>(m, "VehicleSpecs")
        .def(py::init(&vehicle_specs), py::arg("seats"), py::arg("battery_kwh"), py::arg("kwh_per_km"),
             py::arg("soc0"));
    py::class_<dp::FleetOptions>(m, "FleetOptions")
        .def(py::init([](double boarding_s, double reserve, double charge_below, double charge_to,
                         double wait_weight, double delay_weight) {
                 return dp::FleetOptions{boarding_s, reserve, charge_below, charge_to, wait_weight, delay_weight};
             }),
             py::arg("boarding_s"), py::arg("reserve"), py::arg("charge_below"), py::arg("charge_to"),
             py::arg("wait_weight"), py::arg("delay_weight"));
    py::class_<dp::ChargerPower>(m, "ChargerPower")
        .def(py::init([](const CArray<double> &kw, double slot_s) {
                 if (kw.ndim() != 2) throw py::value_error("charger_kw must have shape (chargers, slots)");
                 std::vector<double> flat(kw.data(), kw.data() + kw.size());
                 const auto chargers = static_cast<std::size_t>(kw.shape(0));
                 return without_gil([&] { return dp::ChargerPower(std::move(flat), chargers, slot_s); });
             }),
             py::arg("kw"), py::arg("slot_s"))
        .def("energy_kwh", &dp::ChargerPower::energy_kwh, py::arg("charger"), py::arg("from_s"), py::arg("to_s"))
        .def("end_of_charge", &dp::ChargerPower::end_of_charge, py::arg("charger"), py::arg("start_s"),
             py::arg("kwh"));
    m.def(
        "network_fleet",
        [](const NetworkArgs &space, const VehicleSpecs &vehicles, const py::object &start,
           const py::object &charger_node, const dp::ChargerPower &charger_power, const dp::FleetOptions &options) {
            auto specs = vehicles.specs;
            auto st = integers<std::int32_t>(start, "start");
            auto cn = integers<std::int32_t>(charger_node, "charger_node");
            return without_gil([&] {
                return new FleetOf<dp::NetworkSpace>(space.build(), std::move(specs), std::move(st), std::move(cn),
                                                     charger_power, options);
            });
        },
        py::arg("space"), py::arg("vehicles"), py::arg("start"), py::arg("charger_node"), py::arg("charger_power"),
        py::arg("options"), py::return_value_policy::take_ownership);
    m.def(
        "plane_fleet",
        [](double speed_mps, bool manhattan, const VehicleSpecs &vehicles, const py::array &start_xy,
           const py::array &charger_xy, const dp::ChargerPower &charger_power, const dp::FleetOptions &options) {
            auto specs = vehicles.specs;
            auto st = Locations<dp::Point>::read(start_xy, "start_xy");
            auto cx = Locations<dp::Point>::read(charger_xy, "charger_xy");
            return without_gil([&] {
                return new FleetOf<dp::PlaneSpace>(dp::PlaneSpace(speed_mps, manhattan), std::move(specs), std::move(st),
                                                   std::move(cx), charger_power, options);
            });
        },
        py::arg("speed_mps"), py::arg("manhattan"), py::arg("vehicles"), py::arg("start_xy"), py::arg("charger_xy"),
        py::arg("charger_power"), py::arg("options"), py::return_value_policy::take_ownership);
}
