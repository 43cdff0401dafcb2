// Vehicle routing: a rich VRP model (capacities, time windows, pickup-and-delivery pairs, a
// heterogeneous fleet from several depots, optional clients with prizes, release times, several
// trips per route with reloads at depots) and its solver, a ruin and recreate search (slack
// induction by string removals) under simulated annealing, with O(1) insertion checks by
// concatenating route segments (duration, time warp, load, trips).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

namespace smartopt::routing {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A kind of vehicle; `count` identical vehicles of it exist (the solver builds at most one route per
// client of them, so a huge count costs no memory).
struct VehicleType {
    int32_t count = 1;
    int32_t start = 0;    // location the vehicles leave from
    int32_t end = 0;      // location they return to
    int32_t profile = 0;  // which distance and duration matrices they use
    double capacity = kInf;
    double fixed_cost = 0.0;          // per vehicle used
    double unit_distance_cost = 1.0;  // per distance unit
    double unit_duration_cost = 0.0;  // per time unit of the route's duration (waiting included)
    double shift_start = 0.0;         // earliest departure
    double shift_end = kInf;          // latest return
    double max_duration = kInf;
    double max_distance = kInf;
    // Depots the vehicles may return to between trips (to reload: every trip's load counts from
    // its start), at most max_reloads times per route.
    std::vector<int32_t> reload_depots;
    int32_t max_reloads = std::numeric_limits<int32_t>::max();
    double max_trip_distance = kInf;  // between the start, reloads and the end (e.g. a battery's range)
};

// Read-only numbers, owned (a vector) or borrowed (memory that must outlive every use, e.g. a
// numpy array's during a call): the matrices can be large, and the bindings lend them uncopied.
class Values {
   public:
    Values() = default;
    Values(std::vector<double> v)  // NOLINT(google-explicit-constructor): a vector is owned values
        : own_(std::make_shared<const std::vector<double>>(std::move(v))), ptr_(own_->data()), size_(own_->size()) {}
    Values(const double *ptr, size_t size) : ptr_(ptr), size_(size) {}
    const double *data() const { return ptr_; }
    size_t size() const { return size_; }
    double operator[](size_t i) const { return ptr_[i]; }

   private:
    std::shared_ptr<const std::vector<double>> own_;
    const double *ptr_ = nullptr;
    size_t size_ = 0;
};

// Locations 0..num_locations-1; the clients are those with is_client = 1, the others (depots,
// vehicles' current positions) are route ends and reload stops. Matrices are (num_profiles, n, n),
// row-major. A reload at a depot takes its service time and starts within its time window.
//
// Time-dependent travel: with periods, period_duration (num_periods, num_profiles, n, n) gives each
// arc's travel time at the speed of the period starting at period_start[k] (ascending; the first
// also holds before it, the last after), and a vehicle crossing into the next period drives the
// rest of the arc at that period's speed (Ichoua, Gendreau and Potvin 2003: leaving later never
// arrives earlier). `duration` is then a lower bound of every period's (their minimum), which the
// search's O(1) checks use before each candidate's exact check.
struct Problem {
    int32_t num_locations = 0;
    int32_t num_profiles = 1;
    Values distance;
    Values duration;
    std::vector<uint8_t> is_client;
    std::vector<double> delivery;   // load carried from the route's start to the client
    std::vector<double> pickup;     // load taken at the client to the route's end
    std::vector<double> service;    // time spent at the client (at a depot: a reload)
    std::vector<double> tw_early;   // earliest start of service
    std::vector<double> tw_late;    // latest start of service
    std::vector<double> prize;      // of an optional client: what skipping it costs
    std::vector<uint8_t> required;  // 1: must be visited
    std::vector<int32_t> partner;   // of a paired stop: the other stop of its pair, else -1
    std::vector<double> pair_load;  // q > 0 picked up at a pair's pickup, -q dropped at its delivery
    std::vector<double> max_ride;   // at a pair's pickup: longest time from leaving it to serving the delivery
    std::vector<double> release;    // of a client: its trip's loading starts no earlier (<= 0: none)
    std::vector<VehicleType> types;
    std::vector<double> period_start;  // empty: static travel times (`duration`)
    Values period_duration;

    // Throws std::invalid_argument naming the first inconsistent field.
    void validate() const;
    int32_t num_vehicles() const;
    bool time_dependent() const { return !period_start.empty(); }
    // Arrival at b leaving a at time t (profile prof), and the latest departure from a that
    // arrives at b by t: exact under time-dependent travel, t +/- duration otherwise.
    double arrive(int32_t prof, int32_t a, int32_t b, double t) const;
    double latest_departure(int32_t prof, int32_t a, int32_t b, double t) const;
};

struct Options {
    double time_limit_s = 1.0;
    int64_t max_iterations = -1;  // < 0: none; with a limit and no time-out the search is deterministic
    uint64_t seed = 0;
    int32_t num_neighbours = 40;  // insertion positions are tried next to this many nearest clients
    // The time limit counts from here (set-up included): by default the moment the options are made.
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    // If set, called with (iterations, seconds since started, best objective) after the first
    // solution and then every progress_interval_s of the search; it does not change the search.
    std::function<void(int64_t, double, double)> on_progress;
    double progress_interval_s = 1.0;
};

// A solution in plain form: the vehicles used (0 .. num_vehicles-1, type by type) and their visits
// (clients, and the reload depots between trips).
struct Routes {
    std::vector<int32_t> vehicle;
    std::vector<std::vector<int32_t>> visits;
};

// A warm start: routes to begin from; the first locked[r] visits of route r stay fixed, in order.
struct WarmStart {
    Routes routes;
    std::vector<int32_t> locked;
};

struct SolveResult {
    Routes routes;
    std::vector<int32_t> unvisited;  // clients left out (optional ones skipped, required ones at fault)
    double objective = 0.0;          // route costs + prizes of skipped optional clients
    int32_t missing_required = 0;
    bool violations = false;  // some route breaks a limit (only possible when a warm start's locked part does)
    int64_t iterations = 0;
    int64_t improvements = 0;
    double runtime_s = 0.0;       // from Options::started
    double time_to_best_s = 0.0;
    bool complete = true;             // every client was tried (false: the time limit cut the first construction short)
    bool time_limit_reached = false;  // the search stopped on the clock
    std::vector<double> trace_time_s;  // new best solutions: when, and their objective
    std::vector<double> trace_objective;
};

// One route's schedule and totals (time warp: how much it is late in total).
struct RouteReport {
    double distance = 0, duration = 0, time_warp = 0, max_load = 0, cost = 0, start_time = 0, end_time = 0;
    double ride_excess = 0;               // total ride time above the pairs' limits (leave pickup .. serve drop-off)
    int32_t pair_errors = 0;              // pairs split across routes or delivered before picked up
    int32_t reloads = 0;                  // reload visits (max_load is the largest of a trip)
    double longest_trip = 0;              // distance of the longest trip
    std::vector<double> arrival;          // per visit: arrival time
    std::vector<double> service_start;    // per visit: start of service
    std::vector<double> load_after;       // per visit: load on board when leaving
};

SolveResult solve(const Problem &problem, const Options &options, const WarmStart *warm);

// Checks that every vehicle index and client is valid and used once; throws std::invalid_argument.
std::vector<RouteReport> evaluate(const Problem &problem, const Routes &routes);
// The same for a problem that passed validate() already (e.g. the routes solve() returned).
std::vector<RouteReport> evaluate_validated(const Problem &problem, const Routes &routes);

}  // namespace smartopt::routing
