// The VRP solver: slack induction by string removals (Christiaens & Vanden Berghe, 2020) under
// simulated annealing, generalised to time windows, pickup-and-delivery pairs, a heterogeneous
// multi-depot fleet and optional clients. Every insertion is checked in O(1) by concatenating the
// route's prefix and suffix segments with the new stop (Vidal et al. 2013: duration, time warp,
// earliest and latest start; loads as in PyVRP's load segments, extended with paired loads).
#include "smartopt/routing/vrp.hpp"

#include <algorithm>
#include <chrono>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>

namespace smartopt::routing {

namespace {

constexpr double kEps = 1e-9;
constexpr double kRouteRuinRate = 0.02;  // share of ruins that empty a whole route
constexpr double kPrizeRuinRate = 0.1;   // with optional clients: share of ruins that only drop visited ones

// splitmix64: the same stream on every platform (std distributions are not portable).
struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed) : state(seed ^ 0x9E3779B97F4A7C15ULL) {}
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    int32_t below(int32_t n) { return static_cast<int32_t>(next() % static_cast<uint64_t>(n)); }
};

// Vidal et al. (2013)'s duration segment: minimum duration, time warp, earliest and latest start.
// The default is the empty segment (joins as nothing).
struct Time {
    double duration = 0, warp = 0, early = -kInf, late = kInf;
};

// The segment algebra below is the search's innermost loop: always inlined.
#if defined(__GNUC__)
#define SMARTOPT_HOT inline __attribute__((always_inline))
#else
#define SMARTOPT_HOT inline __forceinline
#endif

SMARTOPT_HOT Time then(const Time &a, const Time &b, double travel) {
    Time s;
    const double delta = a.duration - a.warp + travel;
    const double wait = std::max(b.early - delta - a.late, 0.0);
    const double warp = std::max(a.early + delta - b.late, 0.0);
    s.duration = a.duration + b.duration + travel + wait;
    s.warp = a.warp + b.warp + warp;
    s.early = std::max(b.early - delta, a.early) - wait;
    s.late = std::min(b.late - delta, a.late) + warp;
    return s;
}

// a, started no earlier than `release` (a trip's loading waits for its goods).
Time released(double release, const Time &a) {
    return release == -kInf ? a : then(Time{0, 0, release, kInf}, a, 0.0);
}

// Loads as in PyVRP's load segments, extended with paired loads: deliveries still on board at
// entry, load added inside, peak load.
struct Load {
    double delivery = 0, added = 0, peak = 0;
};

SMARTOPT_HOT Load then(const Load &a, const Load &b) {
    return {a.delivery + b.delivery, a.added + b.added, std::max(a.peak + b.delivery, b.peak + a.added)};
}

// A stretch of consecutive stops. Without a reload inside: its time, the latest release of its
// clients (their trip's depot is before the stretch) and its load. With reloads: `time` runs to the
// arrival at the last reload, `after` from the start of its loading on (which waits for the
// release of the trip it starts, not yet known); `load` is the trip before the first reload,
// `after_load` the one after the last, `trip_peak` the peak of the trips complete inside; the same
// for distances (`first_distance`, `after_distance`, `trip_distance`: the longest complete trip).
struct Segment {
    int32_t first = 0, last = 0;
    double distance = 0;
    int32_t reloads = 0;
    Time time, after;
    double release = -kInf, after_release = -kInf;
    Load load, after_load;
    double trip_peak = 0;
    double first_distance = 0, after_distance = 0, trip_distance = 0;
};

Segment merge(const Segment &a, const Segment &b, double dist, double travel) {
    Segment s;
    s.first = a.first;
    s.last = b.last;
    s.distance = a.distance + dist + b.distance;
    s.reloads = a.reloads + b.reloads;
    if (a.reloads == 0) {  // a's stops are on b's first trip
        s.time = then(a.time, b.time, travel);
        s.release = std::max(a.release, b.release);
        s.load = then(a.load, b.load);
        if (b.reloads == 0) return s;  // (the common case: one trip)
        s.after = b.after;
        s.after_release = b.after_release;
        s.after_load = b.after_load;
        s.trip_peak = b.trip_peak;
        s.first_distance = a.distance + dist + b.first_distance;
        s.after_distance = b.after_distance;
        s.trip_distance = b.trip_distance;
    } else if (b.reloads == 0) {  // b's stops are on a's last trip
        s.time = a.time;
        s.release = a.release;
        s.load = a.load;
        s.after = then(a.after, b.time, travel);
        s.after_release = std::max(a.after_release, b.release);
        s.after_load = then(a.after_load, b.load);
        s.trip_peak = a.trip_peak;
        s.first_distance = a.first_distance;
        s.after_distance = a.after_distance + dist + b.distance;
        s.trip_distance = a.trip_distance;
    } else {  // a's last trip and b's first are one, complete
        const Time trip = released(std::max(a.after_release, b.release), a.after);
        s.time = then(then(a.time, trip, 0.0), b.time, travel);
        s.release = a.release;
        s.load = a.load;
        s.after = b.after;
        s.after_release = b.after_release;
        s.after_load = b.after_load;
        s.trip_peak = std::max({a.trip_peak, b.trip_peak, then(a.after_load, b.load).peak});
        s.first_distance = a.first_distance;
        s.after_distance = b.after_distance;
        s.trip_distance = std::max({a.trip_distance, b.trip_distance, a.after_distance + dist + b.first_distance});
    }
    return s;
}

// What the limits are checked on: a segment from a route's start (its first trip's loading).
struct Total {
    double distance = 0, duration = 0, warp = 0, early = 0, late = 0, peak = 0;
    int32_t reloads = 0;
    double longest_trip = 0;  // distance
};

Total finalise(const Segment &s) {
    Time t = released(s.release, s.time);
    double peak = s.load.peak, longest = s.distance;
    if (s.reloads > 0) {
        t = then(t, released(s.after_release, s.after), 0.0);
        peak = std::max({peak, s.trip_peak, s.after_load.peak});
        longest = std::max({s.first_distance, s.trip_distance, s.after_distance});
    }
    return {s.distance, t.duration, t.warp, t.early, t.late, peak, s.reloads, longest};
}

// The same for problems without reloads or release times (most): one trip, half the size and
// work of a Segment on the search's hot path.
struct TripSegment {
    static constexpr int32_t reloads = 0;
    int32_t first = 0, last = 0;
    double distance = 0;
    Time time;
    Load load;
};

SMARTOPT_HOT TripSegment merge(const TripSegment &a, const TripSegment &b, double dist, double travel) {
    return {a.first, b.last, a.distance + dist + b.distance, then(a.time, b.time, travel), then(a.load, b.load)};
}

SMARTOPT_HOT Total finalise(const TripSegment &s) {
    return {s.distance, s.time.duration, s.time.warp, s.time.early, s.time.late, s.load.peak, 0, s.distance};
}

// A client's release time (-inf: none; a release at 0 or before constrains nothing).
double release_of(const Problem &p, int32_t c) { return p.release[c] > 0 ? p.release[c] : -kInf; }

// Per visit, the release of the trip a reload starts (-inf elsewhere); returns the first trip's.
double trip_releases(const Problem &p, const int32_t *visits, size_t len, std::vector<double> &release) {
    release.assign(len, -kInf);
    double trip = -kInf;
    for (size_t k = len; k-- > 0;) {
        if (p.is_client[visits[k]]) {
            trip = std::max(trip, release_of(p, visits[k]));
        } else {
            release[k] = trip;
            trip = -kInf;
        }
    }
    return trip;
}

// The earliest schedule of a route that keeps every pair's ride limit: service as early as
// possible, a pickup delayed just enough for its ride (from leaving the pickup to the start of
// service at the drop-off) to fit, and the delay passed on to later stops, until nothing changes
// (the least solution of these difference constraints, as in Bellman-Ford). Returns whether the
// windows, the ride limits and the shift's end all hold; `b` gets the service starts per visit.
// Each trip's loading (at the start, from `depart`, or at a reload) waits for its clients'
// releases. `release` and `pos` (per location: -1, and left so) are workspaces.
bool ride_schedule(const Problem &p, const VehicleType &vt, const int32_t *visits, size_t len, double depart,
                   std::vector<double> &b, std::vector<double> &release, std::vector<int32_t> &pos) {
    b.assign(len, 0.0);
    depart = std::max(depart, trip_releases(p, visits, len, release));  // the first trip's
    for (size_t k = 0; k < len; ++k)
        if (p.is_client[visits[k]]) pos[visits[k]] = static_cast<int32_t>(k);
    auto forward = [&](size_t from) {
        for (size_t k = from; k < len; ++k) {
            const int32_t c = visits[k];
            const double ready = k == 0 ? p.arrive(vt.profile, vt.start, c, depart + p.service[vt.start])
                                        : p.arrive(vt.profile, visits[k - 1], c, b[k - 1] + p.service[visits[k - 1]]);
            b[k] = std::max({b[k], ready, p.tw_early[c], release[k]});
        }
    };
    forward(0);
    bool ok = true;
    // Static travel passes a pickup's delay on in full, so the times settle within len passes;
    // across into a faster period a drop-off moves by less than its pickup and the gap shrinks
    // geometrically: more passes. A pickup raised past its window ends it (times only rise).
    const size_t passes = p.time_dependent() ? len + 1000 : len;
    for (size_t pass = 0;; ++pass) {
        size_t first = len;
        bool over = false;
        for (size_t k = 0; k < len; ++k) {
            const int32_t d = visits[k], m = p.partner[d];
            if (m < 0 || p.pair_load[d] > 0 || !std::isfinite(p.max_ride[m]) || pos[m] < 0 ||
                static_cast<size_t>(pos[m]) > k)
                continue;
            const auto kp = static_cast<size_t>(pos[m]);
            const double latest_pickup = b[k] - p.service[m] - p.max_ride[m];
            if (b[kp] < latest_pickup - kEps) {
                b[kp] = latest_pickup;
                first = std::min(first, kp + 1);
                over = over || latest_pickup > p.tw_late[m] + kEps;
            }
        }
        if (first == len) break;
        if (over || pass > passes) {  // still rising: the ride limits contradict the order of the stops
            ok = false;
            break;
        }
        forward(first);
    }
    for (size_t k = 0; k < len; ++k) {
        ok = ok && b[k] <= p.tw_late[visits[k]] + kEps;
        if (p.is_client[visits[k]]) pos[visits[k]] = -1;
    }
    if (len > 0) ok = ok && p.arrive(vt.profile, visits[len - 1], vt.end, b[len - 1] + p.service[visits[len - 1]]) <= vt.shift_end + kEps;
    return ok;
}

// A route's times under time-dependent travel, by simulation: its earliest schedule, with time
// warp as the segments count it (a stop reached after its window is served at the window's end
// and the lateness added up), then, when nothing is late, the latest start of loading that still
// ends as early (a backward pass through the latest departures). duration = end - start + warp.
struct RouteTimes {
    double start = 0, end = 0, warp = 0, duration = 0;
};

RouteTimes route_times(const Problem &p, const VehicleType &vt, const int32_t *visits, size_t len,
                       std::vector<double> &release) {
    const double first_release = trip_releases(p, visits, len, release);
    RouteTimes out;
    double begin = std::max(vt.shift_start, first_release);  // of loading at the start depot
    if (begin > vt.shift_end) {
        out.warp += begin - vt.shift_end;
        begin = vt.shift_end;
    }
    double t = begin + p.service[vt.start];
    int32_t prev = vt.start;
    for (size_t k = 0; k < len; ++k) {
        const int32_t c = visits[k];
        double b = std::max({p.arrive(vt.profile, prev, c, t), p.tw_early[c], release[k]});
        if (b > p.tw_late[c]) {
            out.warp += b - p.tw_late[c];
            b = p.tw_late[c];
        }
        t = b + p.service[c];
        prev = c;
    }
    out.end = p.arrive(vt.profile, prev, vt.end, t);
    if (out.end > vt.shift_end) {
        out.warp += out.end - vt.shift_end;
        out.end = vt.shift_end;
    }
    out.start = begin;
    if (out.warp == 0) {
        double late = out.end;
        int32_t next = vt.end;
        for (size_t k = len; k-- > 0;) {
            late = std::min(p.tw_late[visits[k]], p.latest_departure(vt.profile, visits[k], next, late) - p.service[visits[k]]);
            next = visits[k];
        }
        const double latest = p.latest_departure(vt.profile, vt.start, next, late) - p.service[vt.start];
        out.start = std::max(begin, std::min(vt.shift_end, latest));
    }
    out.duration = out.end - out.start + out.warp;
    return out;
}

// One client's segment; a depot's is a reload there (a TripSegment has none).
template <class Seg>
Seg node_segment(const Problem &p, int32_t c) {
    Seg s;
    s.first = s.last = c;
    const Time stop{p.service[c], 0, p.tw_early[c], p.tw_late[c]};
    if (!p.is_client[c]) {  // (TripSegment problems have no reloads)
        if constexpr (std::is_same_v<Seg, Segment>) {
            s.reloads = 1;
            s.after = stop;
        }
        return s;
    }
    s.time = stop;
    if constexpr (std::is_same_v<Seg, Segment>) s.release = release_of(p, c);
    s.load.delivery = p.delivery[c];
    s.load.added = p.pickup[c] + p.pair_load[c];
    s.load.peak = std::max(s.load.delivery, s.load.added);
    return s;
}

// A route's start (the first trip's loading: the depot's service time) or end, in the vehicle's
// shift.
template <class Seg>
Seg start_segment(const Problem &p, const VehicleType &vt) {
    Seg s;
    s.first = s.last = vt.start;
    s.time = Time{p.service[vt.start], 0, vt.shift_start, vt.shift_end};
    return s;
}

template <class Seg>
Seg end_segment(const VehicleType &vt) {
    Seg s;
    s.first = s.last = vt.end;
    s.time = Time{0, 0, vt.shift_start, vt.shift_end};
    return s;
}

template <class Seg>
struct RouteOf {
    int32_t vehicle = 0, type = 0;
    int32_t locked = 0;          // visits 1..locked are fixed
    std::vector<int32_t> nodes;  // start, visits..., end
    std::vector<Seg> fwd;        // fwd[k]: nodes[0..k]
    std::vector<Seg> bwd;        // bwd[k]: nodes[k..end]
    Total totals;                // of fwd.back(); its times exact under time-dependent travel
    std::vector<int32_t> riding; // riding[k]: pairs picked up at or before nodes[k], delivered after (if reloads)
    double cost = 0;
    double bound_cost = 0;       // by the segments' times: insertions' costs are measured against it
    bool rides = false;          // holds a pair with a ride limit
    int32_t size() const { return static_cast<int32_t>(nodes.size()) - 2; }  // visits, reloads included
    const Total &total() const { return totals; }
};

// A client, or a pickup-and-delivery pair, to insert.
struct Unit {
    int32_t first;        // the client, or the pair's pickup
    int32_t second;       // -1, or the pair's delivery
    int64_t missed = 0;   // > 0: a required unit the current solution leaves out (1 + its absences)
    bool group = false;   // an optional unit the prize ruin took out: back only with a group
};

struct Insertion {
    double delta = kInf;
    int32_t route = -1, after_first = -1, after_second = -1;  // insert after nodes[after_*] (old indices)
    int32_t retype = -1;  // >= 0: the route moves to an empty vehicle of this type first
    int32_t reload = -1;  // >= 0: a reload at this depot goes in next to the client
    bool reload_first = false;  // the reload comes before the client (else after it)
};

// Seg: Segment where some vehicle may reload or some client has a release time, else TripSegment.
template <class Seg>
class Solver {
    using Route = RouteOf<Seg>;

   public:
    // Set-up that grows with the instance (neighbour lists, the first construction) stops at the
    // time limit too; the time counts from Options::started.
    Solver(const Problem &p, const Options &o, const WarmStart *warm)
        : p_(p), o_(o), rng_(o.seed), n_(p.num_locations), start_(o.started) {
        build_node_segments();
        build_neighbours();
        build_fleet(warm);
        absences_.assign(n_, 0);
        pos_scratch_.assign(n_, -1);
        route_mark_.assign(state_.routes.size(), 0);
    }

    SolveResult run(const WarmStart *warm) {
        if (warm != nullptr) apply_warm_start(*warm);
        std::vector<int32_t> all;
        for (int32_t c : clients_)
            if (state_.route_of[c] < 0) all.push_back(c);
        std::vector<Unit> units = to_units(all);
        shuffle(units);
        SolveResult res;
        res.complete = recreate(units) && !out_of_time();
        best_ = state_;
        State trial = state_;
        changed_.assign(2, {});
        is_changed_.assign(2, std::vector<char>(state_.routes.size(), 0));
        res.trace_time_s.push_back(elapsed());
        res.trace_objective.push_back(objective(state_));
        double next_report = elapsed();
        auto report = [&](int64_t iterations) {
            if (!o_.on_progress || elapsed() < next_report) return;
            next_report = elapsed() + o_.progress_interval_s;
            o_.on_progress(iterations, elapsed(), objective(best_));
        };
        report(0);

        const double t0 = initial_temperature();
        const double tf = t0 / 100.0;
        int64_t it = 0;
        while (has_free_client()) {
            const double frac = progress(it);
            if (frac >= 1.0) break;
            const double temp = t0 * std::pow(tf / t0, frac);
            copy_changes(trial, kTrial);
            // some ruins drop visited optional clients near a seed and let the groups decide again
            const bool prizes = !optional_.empty() && rng_.uniform() < kPrizeRuinRate;
            std::vector<int32_t> removed = prizes ? ruin_prizes(trial) : ruin(trial);
            const size_t ruined = removed.size();
            for (int32_t c : clients_)
                if (trial.route_of[c] < 0 && !contains(removed, c)) removed.push_back(c);
            std::vector<Unit> todo = to_units(removed);
            if (prizes)  // the ruined clients come first, one unit each (no pairs)
                for (size_t i = 0; i < ruined; ++i) todo[i].group = true;
            sort_units(todo);
            // required clients that were left out go first, the most often left out first
            for (Unit &u : todo)
                if (p_.required[u.first] && state_.route_of[u.first] < 0) u.missed = 1 + absences_[u.first];
            std::stable_sort(todo.begin(), todo.end(), [](const Unit &a, const Unit &b) { return a.missed > b.missed; });
            swap_in(trial);
            recreate(todo);
            swap_in(trial);  // trial holds the new solution again, state_ the current one
            ++it;
            count_absences(trial);
            if (accept(trial, state_, temp)) {
                std::swap(state_, trial);
                if (better(state_, best_)) {
                    copy_changes(best_, kBest);
                    ++res.improvements;
                    res.time_to_best_s = elapsed();
                    res.trace_time_s.push_back(res.time_to_best_s);
                    res.trace_objective.push_back(objective(best_));
                }
            }
            report(it);
        }
        res.iterations = it;
        res.time_limit_reached = out_of_time();
        state_ = best_;
        fill_result(res);
        return res;
    }

   private:
    struct State {
        std::vector<Route> routes;
        std::vector<int32_t> route_of, pos_of;  // per location; -1 when not routed
        std::vector<int32_t> empty_of_type;     // an empty route of each type, or -1
        double route_cost = 0;
    };

    const Problem &p_;
    const Options &o_;
    Rng rng_;
    int32_t n_;
    std::chrono::steady_clock::time_point start_;
    std::vector<Seg> node_seg_;
    std::vector<int32_t> clients_;
    std::vector<int32_t> optional_;  // optional clients outside pairs
    std::vector<std::vector<int32_t>> neighbours_;  // clients by distance, nearest first
    std::vector<std::vector<int32_t>> type_routes_;
    std::vector<std::vector<int32_t>> alternatives_;  // per type: other types a route can move to as it is
    bool mixed_fleet_ = false;                          // some type has an alternative
    std::vector<int64_t> absences_;                     // per client: iterations it was left out
    Insertion cheapest_;              // the cheapest insertion found that needs no ride check
    const Unit *unit_ = nullptr;      // the unit being placed (find, find_in)
    std::vector<Insertion> checks_;   // cheaper ones that change a route with ride limits
    bool no_retype_ = false;          // find_in: insertions that move a route to another type are not offered
    bool no_reload_ = false;          // chains: insertions with a new reload are not offered (undo stays exact)
    std::vector<int32_t> pos_scratch_;  // per location: -1 (ride_schedule's workspace)
    std::vector<double> release_scratch_;  // route_times' and ride_schedule's workspaces
    std::vector<double> start_scratch_;
    std::vector<int32_t> nodes_scratch_;  // schedule_ok's route with the insertion
    std::vector<int32_t> near_routes_;  // single_positions' workspace: routes near a client
    std::vector<char> route_mark_;      // per route: listed in near_routes_
    std::unordered_map<int32_t, int32_t> route_of_vehicle_;
    State state_, best_;
    // Per copy of state_ kept in step (kTrial, kBest): routes refreshed since it last matched
    // (copy_changes), once each, and per route whether it is listed.
    static constexpr int kTrial = 0, kBest = 1;
    std::vector<std::vector<int32_t>> changed_;
    std::vector<std::vector<char>> is_changed_;

    // Whether the search can move anything: some client is not locked in place.
    bool has_free_client() const {
        for (int32_t c : clients_) {
            const int32_t r = state_.route_of[c];
            if (r < 0 || state_.pos_of[c] > state_.routes[r].locked) return true;
        }
        return false;
    }

    double elapsed() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    bool out_of_time() const { return o_.time_limit_s > 0 && elapsed() >= o_.time_limit_s; }

    // Fraction of the budget used: iterations when limited (deterministic), else time.
    double progress(int64_t it) const {
        const double by_time = o_.time_limit_s > 0 ? elapsed() / o_.time_limit_s : 0.0;
        if (o_.max_iterations >= 0) {
            const double by_iter = o_.max_iterations == 0 ? 1.0 : static_cast<double>(it) / o_.max_iterations;
            return by_time >= 1.0 ? 1.0 : by_iter;
        }
        return by_time;
    }

    double dist(int32_t prof, int32_t a, int32_t b) const {
        return p_.distance[(static_cast<size_t>(prof) * n_ + a) * n_ + b];
    }
    double time(int32_t prof, int32_t a, int32_t b) const {
        return p_.duration[(static_cast<size_t>(prof) * n_ + a) * n_ + b];
    }
    SMARTOPT_HOT Seg join(int32_t prof, const Seg &a, const Seg &b) const {
        return merge(a, b, dist(prof, a.last, b.first), time(prof, a.last, b.first));
    }

    void build_node_segments() {
        node_seg_.resize(n_);
        for (int32_t c = 0; c < n_; ++c) node_seg_[c] = node_segment<Seg>(p_, c);
    }

    void build_neighbours() {
        const int32_t k = std::max<int32_t>(o_.num_neighbours, 1);
        for (int32_t c = 0; c < n_; ++c)
            if (p_.is_client[c]) clients_.push_back(c);
        for (int32_t c : clients_)
            if (!p_.required[c] && p_.partner[c] < 0) optional_.push_back(c);
        const std::vector<int32_t> &clients = clients_;
        const size_t keep = std::min<size_t>(clients.size(), std::max<size_t>(k, 100));
        neighbours_.assign(n_, {});
        size_t done = 0;
        for (int32_t c : clients) {
            if (++done % 64 == 0 && out_of_time()) return;  // no time for the search anyway
            std::vector<std::pair<double, int32_t>> d;
            d.reserve(clients.size());
            for (int32_t o : clients)
                if (o != c) d.emplace_back(std::min(dist(0, c, o), dist(0, o, c)), o);
            const size_t m = std::min(keep, d.size());
            std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(m), d.end());
            for (size_t i = 0; i < m; ++i) neighbours_[c].push_back(d[i].second);
        }
    }

    // One route per vehicle, but of each type no more vehicles than there are clients (each used
    // vehicle serves one at least) plus the warm start's: vehicles keep their numbers (type by type),
    // the warm start's first, then the lowest free ones.
    void build_fleet(const WarmStart *warm) {
        const auto ntypes = static_cast<int32_t>(p_.types.size());
        type_routes_.assign(ntypes, {});
        state_.route_of.assign(n_, -1);
        state_.pos_of.assign(n_, -1);
        state_.empty_of_type.assign(ntypes, -1);
        std::vector<int32_t> given = warm != nullptr ? warm->routes.vehicle : std::vector<int32_t>{};
        std::sort(given.begin(), given.end());
        int64_t first = 0;  // the first vehicle of type t
        for (int32_t t = 0; t < ntypes; ++t) {
            const int64_t last = first + p_.types[t].count;
            const auto lo = std::lower_bound(given.begin(), given.end(), first);
            const auto hi = std::lower_bound(given.begin(), given.end(), last);
            std::vector<int32_t> ids(lo, hi);
            const int64_t want = std::min<int64_t>(p_.types[t].count, static_cast<int64_t>(clients_.size() + ids.size()));
            for (int64_t v = first; v < last && static_cast<int64_t>(ids.size()) < want; ++v)
                if (!std::binary_search(lo, hi, static_cast<int32_t>(v))) ids.push_back(static_cast<int32_t>(v));
            std::sort(ids.begin(), ids.end());
            for (int32_t vehicle : ids) {
                Route r;
                r.vehicle = vehicle;
                r.type = t;
                r.nodes = {p_.types[t].start, p_.types[t].end};
                route_of_vehicle_[vehicle] = static_cast<int32_t>(state_.routes.size());
                type_routes_[t].push_back(static_cast<int32_t>(state_.routes.size()));
                state_.routes.push_back(std::move(r));
            }
            first = last;
        }
        for (int32_t r = 0; r < static_cast<int32_t>(state_.routes.size()); ++r) refresh(state_, r);
        alternatives_.assign(ntypes, {});
        for (int32_t a = 0; a < ntypes; ++a)
            for (int32_t b = 0; b < ntypes; ++b) {
                const VehicleType &x = p_.types[a], &y = p_.types[b];
                if (a != b && y.count > 0 && x.start == y.start && x.end == y.end && x.profile == y.profile &&
                    x.shift_start == y.shift_start && x.shift_end == y.shift_end && x.reload_depots == y.reload_depots)
                    alternatives_[a].push_back(b);
            }
        for (const auto &alt : alternatives_) mixed_fleet_ = mixed_fleet_ || !alt.empty();
    }

    // Makes `to` (the trial, or the best solution) equal to state_ again by copying the routes
    // changed since it last was (and the per-location arrays): O(changed routes + n), not a copy of
    // every route (with an unlimited fleet there is one per client).
    void copy_changes(State &to, int which) {
        for (int32_t r : changed_[which]) {
            to.routes[r] = state_.routes[r];
            is_changed_[which][r] = 0;
        }
        changed_[which].clear();
        to.route_of = state_.route_of;
        to.pos_of = state_.pos_of;
        to.empty_of_type = state_.empty_of_type;
        to.route_cost = state_.route_cost;
    }

    // Recomputes route r's segments and cost and the positions of its visits.
    void refresh(State &s, int32_t r) {
        for (size_t w = 0; w < changed_.size(); ++w)
            if (!is_changed_[w][r]) {
                is_changed_[w][r] = 1;
                changed_[w].push_back(r);
            }
        Route &rt = s.routes[r];
        const VehicleType &vt = p_.types[rt.type];
        const auto m = rt.nodes.size();
        rt.fwd.resize(m);
        rt.bwd.resize(m);
        rt.fwd[0] = start_segment<Seg>(p_, vt);
        for (size_t k = 1; k < m; ++k) {
            const Seg &node = k + 1 == m ? end_segment<Seg>(vt) : node_seg_[rt.nodes[k]];
            rt.fwd[k] = join(vt.profile, rt.fwd[k - 1], node);
        }
        rt.bwd[m - 1] = end_segment<Seg>(vt);
        for (size_t k = m - 1; k-- > 0;) {
            const Seg &node = k == 0 ? start_segment<Seg>(p_, vt) : node_seg_[rt.nodes[k]];
            rt.bwd[k] = join(vt.profile, node, rt.bwd[k + 1]);
        }
        rt.totals = finalise(rt.fwd.back());
        rt.bound_cost = route_cost(vt, rt.totals, rt.size());
        if (p_.time_dependent()) {
            const RouteTimes times = route_times(p_, vt, rt.nodes.data() + 1, m - 2, release_scratch_);
            rt.totals.duration = times.duration;
            rt.totals.warp = times.warp;
        }
        if (!vt.reload_depots.empty()) {  // where a reload may go: not while a pair rides
            rt.riding.assign(m, 0);
            for (size_t k = 1; k < m; ++k) {
                const int32_t c = rt.nodes[k];
                const bool paired = k + 1 < m && p_.is_client[c] && p_.partner[c] >= 0;
                rt.riding[k] = rt.riding[k - 1] + (paired ? (p_.pair_load[c] > 0 ? 1 : -1) : 0);
            }
        }
        rt.rides = false;
        for (size_t k = 1; k + 1 < m; ++k) {
            if (!p_.is_client[rt.nodes[k]]) continue;  // a reload
            s.route_of[rt.nodes[k]] = r;
            s.pos_of[rt.nodes[k]] = static_cast<int32_t>(k);
            rt.rides = rt.rides || (p_.partner[rt.nodes[k]] >= 0 && std::isfinite(p_.max_ride[rt.nodes[k]]));
        }
        const double old = rt.cost;
        rt.cost = route_cost(vt, rt.total(), rt.size());
        s.route_cost += rt.cost - old;
        int32_t &rep = s.empty_of_type[rt.type];
        if (rt.size() == 0 && rep < 0) rep = r;
        if (rt.size() > 0 && rep == r) {
            rep = -1;
            for (int32_t o : type_routes_[rt.type])
                if (s.routes[o].size() == 0) {
                    rep = o;
                    break;
                }
        }
    }

    static double route_cost(const VehicleType &vt, const Total &total, int32_t size) {
        if (size == 0) return 0.0;
        return vt.fixed_cost + vt.unit_distance_cost * total.distance + vt.unit_duration_cost * total.duration;
    }

    double skipped_prize(const State &s) const {
        double sum = 0;
        for (int32_t c = 0; c < n_; ++c)
            if (p_.is_client[c] && !p_.required[c] && s.route_of[c] < 0) sum += p_.prize[c];
        return sum;
    }
    int32_t missing(const State &s) const {
        int32_t m = 0;
        for (int32_t c = 0; c < n_; ++c) m += p_.is_client[c] && p_.required[c] && s.route_of[c] < 0;
        return m;
    }
    double objective(const State &s) const { return s.route_cost + skipped_prize(s); }

    bool better(const State &a, const State &b) const {
        const int32_t ma = missing(a), mb = missing(b);
        if (ma != mb) return ma < mb;
        return objective(a) < objective(b) - kEps * std::max(1.0, std::abs(objective(b)));
    }

    // Fewer required clients missing wins; among as many missing, a set missed less often so far
    // (absence counts, as in SISR's fleet minimisation); else simulated annealing on the objective.
    bool accept(const State &cand, const State &cur, double temp) {
        const int32_t mc = missing(cand), mu = missing(cur);
        if (mc != mu) return mc < mu;
        if (mc > 0) {
            const int64_t ac = absence_sum(cand), au = absence_sum(cur);
            if (ac != au) return ac < au;
        }
        return objective(cand) < objective(cur) - temp * std::log(std::max(rng_.uniform(), 1e-300));
    }

    int64_t absence_sum(const State &s) const {
        int64_t sum = 0;
        for (int32_t c : clients_)
            if (p_.required[c] && s.route_of[c] < 0) sum += absences_[c];
        return sum;
    }

    void count_absences(const State &s) {
        for (int32_t c : clients_)
            if (p_.required[c] && s.route_of[c] < 0) ++absences_[c];
    }

    double initial_temperature() const {
        double variable = 0;
        int32_t arcs = 0;
        for (const Route &r : state_.routes) {
            if (r.size() == 0) continue;
            variable += r.cost - p_.types[r.type].fixed_cost;
            arcs += r.size() + 1;
        }
        return arcs > 0 && variable > 0 ? 0.5 * variable / arcs : 1.0;
    }

    // Whether a route of segment s may move to an empty vehicle of type t (same ends and shift).
    bool fits_type(const Total &s, const Route &rt, int32_t t) const {
        return rt.locked == 0 && state_.empty_of_type[t] >= 0 && s.warp <= rt.total().warp + kEps && fits_limits(s, t);
    }

    bool fits_limits(const Total &s, int32_t t) const {
        const VehicleType &vt = p_.types[t];
        return s.peak <= vt.capacity + kEps && s.duration <= vt.max_duration + kEps &&
               s.distance <= vt.max_distance + kEps && s.reloads <= vt.max_reloads &&
               s.longest_trip <= vt.max_trip_distance + kEps;
    }

    // Whether the new route segment keeps every limit the route kept before.
    bool fits(const Total &s, const Route &rt) const {
        const VehicleType &vt = p_.types[rt.type];
        const Total &cur = rt.total();
        return s.reloads <= vt.max_reloads && s.warp <= cur.warp + kEps && (s.peak <= vt.capacity + kEps || s.peak <= cur.peak + kEps) &&
               (s.duration <= vt.max_duration + kEps || s.duration <= cur.duration + kEps) &&
               (s.distance <= vt.max_distance + kEps || s.distance <= cur.distance + kEps) &&
               (s.longest_trip <= vt.max_trip_distance + kEps || s.longest_trip <= cur.longest_trip + kEps);
    }

    // ride: the segment from a pair's pickup to its delivery; the ride is from leaving the one to
    // reaching the other, at its shortest.
    bool ride_ok(const Seg &ride) const {
        const double time = ride.time.duration - p_.service[ride.first] - p_.service[ride.last];
        return ride.time.warp <= kEps && time <= p_.max_ride[ride.first] + kEps;
    }

    // A paired stop joins its unit through the pickup (the stop with the positive pair load).
    std::vector<Unit> to_units(const std::vector<int32_t> &clients) const {
        std::vector<Unit> units;
        for (int32_t c : clients) {
            if (p_.partner[c] < 0)
                units.push_back({c, -1});
            else if (p_.pair_load[c] > 0)
                units.push_back({c, p_.partner[c]});
        }
        return units;
    }

    void shuffle(std::vector<Unit> &u) {
        for (size_t i = u.size(); i > 1; --i) std::swap(u[i - 1], u[static_cast<size_t>(rng_.below(static_cast<int32_t>(i)))]);
    }

    // SISR's orders: random (4), largest demand first (4), farthest first (2), closest first (1).
    void sort_units(std::vector<Unit> &u) {
        shuffle(u);
        const int32_t pick = rng_.below(11);
        if (pick < 4) return;
        const int32_t depot = p_.types[0].start;
        auto demand = [&](const Unit &x) {
            return p_.delivery[x.first] + p_.pickup[x.first] + std::abs(p_.pair_load[x.first]);
        };
        auto far = [&](const Unit &x) { return dist(0, depot, x.first); };
        if (pick < 8)
            std::stable_sort(u.begin(), u.end(), [&](const Unit &a, const Unit &b) { return demand(a) > demand(b); });
        else if (pick < 10)
            std::stable_sort(u.begin(), u.end(), [&](const Unit &a, const Unit &b) { return far(a) > far(b); });
        else
            std::stable_sort(u.begin(), u.end(), [&](const Unit &a, const Unit &b) { return far(a) < far(b); });
    }

    static bool contains(const std::vector<int32_t> &v, int32_t x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    }

    // SISR ruin: strings (or split strings) removed from routes near a random seed client; now and
    // then a whole route instead (the way from more, shorter routes to fewer, longer ones, which
    // removing strings of about 10 clients hardly takes).
    std::vector<int32_t> ruin(State &s) {
        constexpr double kAvgRemoved = 10.0, kMaxString = 10.0;
        std::vector<int32_t> removed;
        int32_t routed = 0, used = 0;
        for (const Route &r : s.routes)
            if (r.size() > r.locked) {
                routed += r.size() - r.locked;
                ++used;
            }
        if (used == 0) return removed;
        if (used > 1 && rng_.uniform() < kRouteRuinRate) {
            int32_t pick = rng_.below(used);
            for (int32_t r = 0; r < static_cast<int32_t>(s.routes.size()); ++r) {
                const Route &rt = s.routes[r];
                if (rt.size() > rt.locked && pick-- == 0) {
                    remove_string(s, r, rt.locked + 1, rt.size() - rt.locked, removed);
                    break;
                }
            }
            return removed;
        }
        const double ls_max = std::min(kMaxString, static_cast<double>(routed) / used);
        const double ks_max = 4.0 * kAvgRemoved / (1.0 + ls_max) - 1.0;
        const auto ks = static_cast<int32_t>(1.0 + rng_.uniform() * ks_max);
        const int32_t seed = clients_[static_cast<size_t>(rng_.below(static_cast<int32_t>(clients_.size())))];
        std::vector<int32_t> ruined;
        auto visit = [&](int32_t c) {
            const int32_t r = s.route_of[c];
            if (r < 0 || contains(ruined, r)) return;
            Route &rt = s.routes[r];
            if (s.pos_of[c] <= rt.locked) return;
            ruined.push_back(r);
            const int32_t free = rt.size() - rt.locked;
            const auto lmax = std::min<double>(free, ls_max);
            const auto len = std::min<int32_t>(free, static_cast<int32_t>(1.0 + rng_.uniform() * lmax));
            remove_string(s, r, s.pos_of[c], len, removed);
        };
        visit(seed);
        for (int32_t c : neighbours_[seed]) {
            if (static_cast<int32_t>(ruined.size()) >= ks) break;
            visit(c);
        }
        return removed;
    }

    // Prize ruin: the visited (free) optional clients among a random optional client and its
    // nearest optional neighbours, 1 to 10 of them; they go back only as members of a group
    // (insert_clusters, Unit::group), so visited clients can give way to a group that pays off better.
    std::vector<int32_t> ruin_prizes(State &s) {
        std::vector<int32_t> removed;
        const int32_t seed = optional_[static_cast<size_t>(rng_.below(static_cast<int32_t>(optional_.size())))];
        const int32_t ks = 1 + rng_.below(std::min<int32_t>(10, static_cast<int32_t>(optional_.size())));
        int32_t seen = 0;
        auto drop = [&](int32_t c) {
            ++seen;
            const int32_t r = s.route_of[c];
            if (r < 0 || s.pos_of[c] <= s.routes[r].locked) return;
            take_out(s, c);
            removed.push_back(c);
        };
        drop(seed);
        for (int32_t c : neighbours_[seed]) {
            if (seen >= ks) break;
            if (!p_.required[c] && p_.partner[c] < 0) drop(c);
        }
        return removed;
    }

    // Removes a string of len stops of route r that holds position pos.
    void remove_string(State &s, int32_t r, int32_t pos, int32_t len, std::vector<int32_t> &removed) {
        Route &rt = s.routes[r];
        const int32_t lo = rt.locked + 1, hi = rt.size();  // free positions
        const int32_t free = hi - lo + 1;
        int32_t keep = 0;
        if (len < free && rng_.uniform() < 0.5) {  // split string: keep a middle block
            keep = 1;
            while (len + keep < free && rng_.uniform() < 0.5) ++keep;
        }
        const int32_t span = len + keep;
        const int32_t first_min = std::max(lo, pos - span + 1), first_max = std::min(pos, hi - span + 1);
        const int32_t first = first_min + rng_.below(first_max - first_min + 1);
        const int32_t keep_at = keep > 0 ? first + rng_.below(len + 1) : first + span;
        // reloads stay (taking one out could overload the trips it joins) until their trip is empty
        std::vector<int32_t> gone;
        for (int32_t k = first; k < first + span; ++k)
            if ((k < keep_at || k >= keep_at + keep) && p_.is_client[rt.nodes[k]]) gone.push_back(rt.nodes[k]);
        // a paired stop takes its partner along, unless the partner is locked (then both stay)
        std::vector<int32_t> all;
        for (int32_t g : gone) {
            const int32_t mate = p_.partner[g];
            if (mate >= 0 && s.route_of[mate] >= 0 && s.pos_of[mate] <= s.routes[s.route_of[mate]].locked) continue;
            all.push_back(g);
            if (mate >= 0 && s.route_of[mate] >= 0 && !contains(all, mate) && !contains(gone, mate)) all.push_back(mate);
        }
        for (int32_t g : all) take_out(s, g);
        removed.insert(removed.end(), all.begin(), all.end());
    }

    // Takes client c out of its route, and a reload that is left starting an empty trip.
    void take_out(State &s, int32_t c) {
        const int32_t r = s.route_of[c];
        Route &rt = s.routes[r];
        const auto k = static_cast<size_t>(s.pos_of[c]);
        rt.nodes.erase(rt.nodes.begin() + static_cast<std::ptrdiff_t>(k));
        s.route_of[c] = s.pos_of[c] = -1;
        // nodes[k - 1] and nodes[k] are now neighbours: an empty trip is a reload after the start or
        // a reload, or before the end
        const size_t last = rt.nodes.size() - 1;
        for (size_t j : {k - 1, k})
            if (j > static_cast<size_t>(rt.locked) && j < last && !p_.is_client[rt.nodes[j]] &&
                (!p_.is_client[rt.nodes[j - 1]] || j + 1 == last)) {
                rt.nodes.erase(rt.nodes.begin() + static_cast<std::ptrdiff_t>(j));
                break;
            }
        refresh(s, r);
    }

    void swap_in(State &trial) { std::swap(state_, trial); }

    // Inserts each unit at its cheapest feasible place (positions skipped with probability 1 %). A
    // single client is tried next to its nearest neighbours and at the ends of their routes; only if
    // that fails and it was routed before (a unit left out already keeps its cheap retries) every
    // position is tried. Optional units that do not pay for themselves alone get a second chance
    // together with their neighbours (insert_clusters), where those of a prize ruin go directly.
    // Returns false if the time limit stopped it before every unit was tried.
    bool recreate(const std::vector<Unit> &units) {
        std::vector<Unit> rejected;
        bool complete = true;
        for (const Unit &u : units) {
            if (out_of_time()) {
                complete = false;
                break;
            }
            if (u.group) {
                rejected.push_back(u);
                continue;
            }
            Insertion best = find(u, true);
            if (best.route < 0 && u.missed == 0) best = find(u, false);
            if (best.route < 0) continue;
            if (!required(u) && best.delta >= prize(u)) {
                rejected.push_back(u);
                continue;
            }
            insert(u, best);
        }
        if (complete) insert_clusters(rejected);
        retype_routes();
        return complete;
    }

    bool required(const Unit &u) const { return p_.required[u.first] || (u.second >= 0 && p_.required[u.second]); }
    double prize(const Unit &u) const { return p_.prize[u.first] + (u.second >= 0 ? p_.prize[u.second] : 0.0); }

    void insert(const Unit &u, Insertion x) {
        if (x.retype >= 0) x.route = move_route(x.route, x.retype);
        place(state_.routes[x.route].nodes, u, x);
        refresh(state_, x.route);
    }

    // Puts unit u into a route's nodes (start .. end) as insertion x says: a single client with a
    // reload before or after it, a pair with a reload after its delivery.
    static void place(std::vector<int32_t> &nodes, const Unit &u, const Insertion &x) {
        const bool after_last = x.reload >= 0 && !x.reload_first;
        if (u.second >= 0) {
            const auto at = nodes.begin() + x.after_second + 1;
            if (after_last)
                nodes.insert(at, {u.second, x.reload});
            else
                nodes.insert(at, u.second);
        }
        const auto at = nodes.begin() + x.after_first + 1;
        if (x.reload < 0 || (after_last && u.second >= 0))
            nodes.insert(at, u.first);
        else if (x.reload_first)
            nodes.insert(at, {x.reload, u.first});
        else
            nodes.insert(at, {u.first, x.reload});
    }

    // Optional clients that pay off only together (a group far from every route, close to each
    // other). Each rejected unit seeds a chain: the seed, then its nearest optional neighbours that
    // are left out, one by one; cut back to its prefix with the largest net gain (prizes collected
    // minus cost added). kFree: every unit at its cheapest place. If no prefix of that gains, two
    // more chains are built and the better one stays (neither when no prefix gains): kOwnRoute, the
    // seed alone on an empty vehicle and the neighbours that fit on that route at their cheapest
    // places in it (a group of its own, even when the nearest routes have room); kSeedRoute, the
    // seed at its cheapest place and the neighbours that fit on the seed's route (a group that
    // skips the neighbours that do not fit). With the prize ruin this trades visited optional
    // clients for a group. Deterministic for a seed like the rest of the search.
    enum ChainMode { kFree, kOwnRoute, kSeedRoute };
    struct Chain {
        std::vector<std::pair<Unit, Insertion>> steps;
        double gain = 0;
        size_t keep = 0;        // steps in the best prefix
        bool retyped = false;
        bool one_route = true;  // every step went onto the seed's route
        bool opened = false;    // the seed went onto an empty vehicle
    };

    // Builds a chain from seed, cuts it to its best prefix, returns it.
    Chain build_chain(const Unit &seed, ChainMode mode) {
        constexpr size_t kMaxChain = 12;
        Chain ch;
        const double before = state_.route_cost;
        double collected = 0;
        int32_t home = -1;  // kOwnRoute, kSeedRoute: the chain's route
        no_retype_ = mode != kFree;
        no_reload_ = true;
        auto add = [&](const Unit &u) {
            Insertion x;
            if (mode == kFree || (mode == kSeedRoute && home < 0)) {
                x = find(u, true);
                if (x.route < 0) x = find(u, false);
            } else {
                x = find_in(u, home);
            }
            if (x.route < 0) return;
            if (x.retype >= 0) {  // insert() would move the route too; here the new index is kept
                ch.retyped = true;
                x.route = move_route(x.route, x.retype);
                x.retype = -1;
            }
            if (home < 0) {
                home = x.route;
                ch.opened = state_.routes[home].size() == 0;
            }
            ch.one_route = ch.one_route && x.route == home;
            insert(u, x);
            ch.steps.emplace_back(u, x);
            collected += prize(u);
            const double gain = collected - (state_.route_cost - before);
            if (gain > ch.gain + kEps * std::max(1.0, collected)) {
                ch.gain = gain;
                ch.keep = ch.steps.size();
            }
        };
        add(seed);
        if (!ch.steps.empty())
            for (int32_t c : neighbours_[seed.first]) {
                if (ch.steps.size() >= kMaxChain) break;
                if (state_.route_of[c] >= 0 || p_.required[c]) continue;
                const int32_t m = p_.partner[c];
                if (m >= 0 && (state_.route_of[m] >= 0 || p_.required[m])) continue;
                add(m < 0 ? Unit{c, -1} : p_.pair_load[c] > 0 ? Unit{c, m} : Unit{m, c});
            }
        no_retype_ = false;
        no_reload_ = false;
        undo(ch, ch.keep);
        return ch;
    }

    // Takes the chain's steps after the first `keep` out again (last in, first out: each route's
    // visits are as before them).
    void undo(Chain &ch, size_t keep) {
        while (ch.steps.size() > keep) {
            const Unit &u = ch.steps.back().first;
            take_out(state_, u.first);
            if (u.second >= 0) take_out(state_, u.second);
            ch.steps.pop_back();
        }
    }

    void insert_clusters(const std::vector<Unit> &rejected) {
        for (const Unit &seed : rejected) {
            if (state_.route_of[seed.first] >= 0) continue;  // joined an earlier chain
            if (out_of_time()) return;
            const Chain free = build_chain(seed, kFree);
            // kept; or a move to another vehicle, not undone exactly: the routes are not as before
            if (free.keep > 0 || free.retyped) continue;
            // both chains start from the same routes, so the better one's places hold on a replay
            std::vector<std::pair<Unit, Insertion>> kept;
            double gain = 0;
            for (ChainMode mode : {kOwnRoute, kSeedRoute}) {
                if (free.one_route && (mode == kSeedRoute || free.opened)) continue;  // kFree's chain again
                Chain ch = build_chain(seed, mode);
                if (ch.gain > gain + kEps * std::max(1.0, gain)) {
                    gain = ch.gain;
                    kept = ch.steps;
                }
                undo(ch, 0);
            }
            for (const auto &[u, x] : kept) insert(u, x);
        }
    }

    // The cheapest insertion of u into route r (every position), or, for r < 0, into an empty
    // vehicle of any type; never onto another vehicle type.
    Insertion find_in(const Unit &u, int32_t r) {
        start_search(u);
        const bool saved = no_retype_;
        no_retype_ = true;
        std::vector<int32_t> routes;
        if (r >= 0)
            routes.push_back(r);
        else
            for (int32_t e : state_.empty_of_type)
                if (e >= 0) routes.push_back(e);
        for (int32_t x : routes) {
            const Route &rt = state_.routes[x];
            if (u.second >= 0)
                try_pair(u, x, false);
            else
                for (int32_t k = rt.locked; k <= rt.size(); ++k) try_single(u.first, x, k, false);
        }
        no_retype_ = saved;
        return checked(u);
    }

    // Moves route r's visits to an empty vehicle of type t; returns the new route's index.
    int32_t move_route(int32_t r, int32_t t) {
        const int32_t target = state_.empty_of_type[t];
        swap_visits(r, target);
        return target;
    }

    // Routes a and b exchange their visits (each vehicle keeps its own ends).
    void swap_visits(int32_t a, int32_t b) {
        Route &x = state_.routes[a], &y = state_.routes[b];
        std::swap(x.nodes, y.nodes);
        std::swap(x.nodes.front(), y.nodes.front());
        std::swap(x.nodes.back(), y.nodes.back());
        refresh(state_, a);
        refresh(state_, b);
    }

    // Every route moves to the cheapest vehicle type that can drive it unchanged (an empty
    // vehicle, or by exchanging vehicles with another route).
    void retype_routes() {
        if (!mixed_fleet_) return;
        for (int32_t r = 0; r < static_cast<int32_t>(state_.routes.size()); ++r) {
            const Route &rt = state_.routes[r];
            if (rt.size() == 0 || alternatives_[rt.type].empty()) continue;
            int32_t best_type = -1;
            double best_cost = rt.cost - kEps * std::max(1.0, rt.cost);
            for (int32_t t : alternatives_[rt.type]) {
                if (!fits_type(rt.total(), rt, t)) continue;
                const double c = route_cost(p_.types[t], rt.total(), rt.size());
                if (c < best_cost) {
                    best_cost = c;
                    best_type = t;
                }
            }
            if (best_type >= 0) move_route(r, best_type);
        }
        std::vector<int32_t> used;
        for (int32_t r = 0; r < static_cast<int32_t>(state_.routes.size()); ++r)
            if (state_.routes[r].size() > 0 && state_.routes[r].locked == 0) used.push_back(r);
        for (size_t i = 0; i < used.size(); ++i)
            for (size_t j = i + 1; j < used.size(); ++j) {
                const Route &a = state_.routes[used[i]], &b = state_.routes[used[j]];
                if (a.type == b.type || !contains(alternatives_[a.type], b.type)) continue;
                const double now = a.cost + b.cost;
                const double swapped = route_cost(p_.types[b.type], a.total(), a.size()) +
                                       route_cost(p_.types[a.type], b.total(), b.size());
                if (swapped < now - kEps * std::max(1.0, now) && fits_limits(a.total(), b.type) &&
                    fits_limits(b.total(), a.type))
                    swap_visits(used[i], used[j]);
            }
    }

    void start_search(const Unit &u) {
        cheapest_ = Insertion{};
        checks_.clear();
        unit_ = &u;
    }

    // A feasible insertion by the O(1) checks; one into a route with ride limits (or of a pair with
    // one) waits for the full schedule check in find(). Under time-dependent travel the segments
    // bound the times from below, and any other insertion cheaper than the cheapest so far is
    // simulated at once (so the cheaper ones found later still prune the positions tried).
    void offer(const Insertion &x, bool check) {
        if (x.delta >= cheapest_.delta || (no_retype_ && x.retype >= 0)) return;
        if (check)
            checks_.push_back(x);
        else if (!p_.time_dependent() || schedule_ok(x, *unit_))
            cheapest_ = x;
    }

    // The cheapest insertion of unit u that passes every check; quick: granular positions with
    // blinks (see recreate), else every position.
    Insertion find(const Unit &u, bool quick) {
        start_search(u);
        if (u.second < 0)
            single_positions(u.first, quick);
        else
            pair_positions(u, quick);
        return checked(u);
    }

    // cheapest_, or the cheapest of checks_ below it whose schedule holds.
    Insertion checked(const Unit &u) {
        std::sort(checks_.begin(), checks_.end(), [](const Insertion &a, const Insertion &b) { return a.delta < b.delta; });
        int32_t tried = 0;
        for (const Insertion &x : checks_) {
            if (x.delta >= cheapest_.delta || ++tried > 25) break;
            if (schedule_ok(x, u)) return x;
        }
        return cheapest_;
    }

    // The route with x's insertion, simulated: its ride limits; under time-dependent travel also its
    // exact time warp and duration (no worse than the route's now, as fits() asks of segments).
    bool schedule_ok(const Insertion &x, const Unit &u) {
        const Route &rt = state_.routes[x.route];
        std::vector<int32_t> &nodes = nodes_scratch_;
        nodes.assign(rt.nodes.begin(), rt.nodes.end());
        place(nodes, u, x);
        const VehicleType &vt = p_.types[x.retype >= 0 ? x.retype : rt.type];
        const int32_t *visits = nodes.data() + 1;
        const size_t len = nodes.size() - 2;
        if (p_.time_dependent()) {
            const RouteTimes t = route_times(p_, vt, visits, len, release_scratch_);
            const bool within = t.duration <= vt.max_duration + kEps || (x.retype < 0 && t.duration <= rt.total().duration + kEps);
            if (t.warp > rt.total().warp + kEps || !within) return false;
            if (!rt.rides && (u.second < 0 || !std::isfinite(p_.max_ride[u.first]))) return true;
        }
        return ride_schedule(p_, vt, visits, len, vt.shift_start, start_scratch_, release_scratch_, pos_scratch_);
    }

    // c after nodes[k] of route r; where the vehicles may reload, also with a reload just before
    // or after c (a new trip).
    void try_single(int32_t c, int32_t r, int32_t k, bool blink) {
        const Route &rt = state_.routes[r];
        if (k < rt.locked || k > rt.size()) return;
        if (blink && rng_.uniform() < 0.01) return;
        const VehicleType &vt = p_.types[rt.type];
        const int32_t a = rt.nodes[k], b = rt.nodes[k + 1];
        const double fixed = rt.size() == 0 ? vt.fixed_cost : 0.0;
        const bool may_retype = rt.size() > 0 && !alternatives_[rt.type].empty();
        // when only distance costs: skip what the added distance alone makes no cheaper
        const bool by_distance = !may_retype && vt.unit_duration_cost == 0.0;
        const double base = dist(vt.profile, a, b);
        const double dd = dist(vt.profile, a, c) + dist(vt.profile, c, b) - base;
        if (!by_distance || fixed + vt.unit_distance_cost * dd < cheapest_.delta) {
            const Seg s = join(vt.profile, join(vt.profile, rt.fwd[k], node_seg_[c]), rt.bwd[k + 1]);
            offer_single(finalise(s), rt, r, k, may_retype, -1, false);
        }
        if (no_reload_ || vt.reload_depots.empty() || rt.total().reloads >= vt.max_reloads || rt.riding[k] > 0) return;
        // a reload after the start, after a reload or before the end would start an empty trip
        const bool before = k > 0 && p_.is_client[a];
        const bool after = k + 1 < static_cast<int32_t>(rt.nodes.size()) - 1 && p_.is_client[b];
        for (int32_t d : vt.reload_depots) {
            const double via_d_c = dist(vt.profile, a, d) + dist(vt.profile, d, c) + dist(vt.profile, c, b) - base;
            if (before && (!by_distance || fixed + vt.unit_distance_cost * via_d_c < cheapest_.delta)) {
                const Seg head = join(vt.profile, join(vt.profile, rt.fwd[k], node_seg_[d]), node_seg_[c]);
                offer_single(finalise(join(vt.profile, head, rt.bwd[k + 1])), rt, r, k, may_retype, d, true);
            }
            const double via_c_d = dist(vt.profile, a, c) + dist(vt.profile, c, d) + dist(vt.profile, d, b) - base;
            if (after && (!by_distance || fixed + vt.unit_distance_cost * via_c_d < cheapest_.delta)) {
                const Seg head = join(vt.profile, join(vt.profile, rt.fwd[k], node_seg_[c]), node_seg_[d]);
                offer_single(finalise(join(vt.profile, head, rt.bwd[k + 1])), rt, r, k, may_retype, d, false);
            }
        }
    }

    // Offers a single client's insertion into route r after nodes[k] (with a reload at `reload`
    // unless -1) whose route would total s, on r's vehicle and on the types it may move to.
    void offer_single(const Total &s, const Route &rt, int32_t r, int32_t k, bool may_retype, int32_t reload,
                      bool reload_first) {
        const VehicleType &vt = p_.types[rt.type];
        const int32_t size = rt.size() + (reload >= 0 ? 2 : 1);
        if (fits(s, rt)) offer({route_cost(vt, s, size) - rt.bound_cost, r, k, -1, -1, reload, reload_first}, rt.rides);
        if (!may_retype) return;
        for (int32_t t : alternatives_[rt.type])
            if (fits_type(s, rt, t))
                offer({route_cost(p_.types[t], s, size) - rt.bound_cost, r, k, -1, t, reload, reload_first}, rt.rides);
    }

    // Granular: next to the nearest neighbours and at both ends of the routes that visit one of the
    // stored neighbours (O(stored neighbours), not O(routes)); else everywhere.
    void single_positions(int32_t c, bool granular) {
        if (granular) {
            const auto k = static_cast<size_t>(std::max<int32_t>(o_.num_neighbours, 1));
            const auto &nb = neighbours_[c];
            for (size_t i = 0; i < std::min(k, nb.size()); ++i) {
                const int32_t r = state_.route_of[nb[i]];
                if (r < 0) continue;
                const int32_t pos = state_.pos_of[nb[i]];
                try_single(c, r, pos, true);
                try_single(c, r, pos - 1, true);
            }
            // route ends: of the routes that visit one of c's stored neighbours (every used route
            // on small instances), in route order
            near_routes_.clear();
            for (int32_t o : nb) {
                const int32_t r = state_.route_of[o];
                if (r >= 0 && !route_mark_[r]) {
                    route_mark_[r] = 1;
                    near_routes_.push_back(r);
                }
            }
            std::sort(near_routes_.begin(), near_routes_.end());
            for (int32_t r : near_routes_) {
                route_mark_[r] = 0;
                const Route &rt = state_.routes[r];
                try_single(c, r, rt.locked, true);
                try_single(c, r, rt.size(), true);
            }
        } else {
            for (int32_t r = 0; r < static_cast<int32_t>(state_.routes.size()); ++r) {
                const Route &rt = state_.routes[r];
                if (rt.size() == 0) continue;
                for (int32_t k = rt.locked; k <= rt.size(); ++k) try_single(c, r, k, false);
            }
        }
        for (int32_t r : state_.empty_of_type)
            if (r >= 0) try_single(c, r, 0, granular);
    }

    // Pickup after nodes[i], delivery after nodes[j] (j >= i, old indices): O(size^2) per route at
    // worst; a delivery that is late or a ride over its limit ends the scan over j.
    void try_pair(const Unit &u, int32_t r, bool blink) {
        const Route &rt = state_.routes[r];
        const VehicleType &vt = p_.types[rt.type];
        const Seg &pick = node_seg_[u.first], &drop = node_seg_[u.second];
        const bool check = rt.rides || std::isfinite(p_.max_ride[u.first]);
        const double warp = rt.total().warp + kEps, cap = std::max(vt.capacity, rt.total().peak) + kEps;
        const bool reloads = !no_reload_ && !vt.reload_depots.empty() && rt.total().reloads < vt.max_reloads;
        for (int32_t i = rt.locked; i <= rt.size(); ++i) {
            Seg head = join(vt.profile, rt.fwd[i], pick);  // start .. pickup
            Seg ride = pick;                               // pickup .. current stop
            const Total h = finalise(head);
            if (h.warp > warp || h.peak > cap) continue;
            for (int32_t j = i; j <= rt.size(); ++j) {
                if (j > i) {
                    if (!p_.is_client[rt.nodes[j]]) break;  // a pair rides within one trip
                    head = join(vt.profile, head, node_seg_[rt.nodes[j]]);
                    ride = join(vt.profile, ride, node_seg_[rt.nodes[j]]);
                    const Total t = finalise(head);
                    if (t.warp > warp || t.peak > cap) break;
                }
                const Seg to_drop = join(vt.profile, head, drop);
                if (finalise(to_drop).warp > warp || !ride_ok(join(vt.profile, ride, drop))) break;  // later j: later still
                if (blink && rng_.uniform() < 0.01) continue;
                offer_pair(finalise(join(vt.profile, to_drop, rt.bwd[j + 1])), rt, r, i, j, -1, check);
                // with a reload after the delivery, when no one else rides and a trip follows
                if (!reloads || rt.riding[j] > 0 || !p_.is_client[rt.nodes[j + 1]]) continue;
                for (int32_t d : vt.reload_depots) {
                    const Seg back = join(vt.profile, to_drop, node_seg_[d]);
                    offer_pair(finalise(join(vt.profile, back, rt.bwd[j + 1])), rt, r, i, j, d, check);
                }
            }
        }
    }

    // Offers pair u's insertion into route r (pickup after nodes[i], delivery after nodes[j], a
    // reload at `reload` after the delivery unless -1) whose route would total s.
    void offer_pair(const Total &s, const Route &rt, int32_t r, int32_t i, int32_t j, int32_t reload, bool check) {
        const VehicleType &vt = p_.types[rt.type];
        const int32_t size = rt.size() + (reload >= 0 ? 3 : 2);
        if (fits(s, rt)) offer({route_cost(vt, s, size) - rt.bound_cost, r, i, j, -1, reload, false}, check);
        if (rt.size() == 0) return;
        for (int32_t t : alternatives_[rt.type])
            if (fits_type(s, rt, t)) offer({route_cost(p_.types[t], s, size) - rt.bound_cost, r, i, j, t, reload, false}, check);
    }

    void pair_positions(const Unit &u, bool blink) {
        for (int32_t r = 0; r < static_cast<int32_t>(state_.routes.size()); ++r)
            if (state_.routes[r].size() > 0) try_pair(u, r, blink);
        for (int32_t r : state_.empty_of_type)
            if (r >= 0) try_pair(u, r, blink);
    }

    void apply_warm_start(const WarmStart &w) {
        for (size_t i = 0; i < w.routes.vehicle.size(); ++i) {
            const int32_t r = route_of_vehicle_.at(w.routes.vehicle[i]);
            Route &rt = state_.routes[r];
            rt.nodes.insert(rt.nodes.begin() + 1, w.routes.visits[i].begin(), w.routes.visits[i].end());
            rt.locked = w.locked[i];
            // Unlocked reloads that start an empty trip go: the search never makes one, and take_out
            // (so undo) relies on it.
            for (auto k = static_cast<int32_t>(rt.nodes.size()) - 2; k > rt.locked; --k) {
                const bool last = k + 2 == static_cast<int32_t>(rt.nodes.size());
                if (!p_.is_client[rt.nodes[k]] && (!p_.is_client[rt.nodes[k - 1]] || last))
                    rt.nodes.erase(rt.nodes.begin() + k);
            }
            refresh(state_, r);
            // Unlocked visits that break a limit the locked part keeps are set free again.
            const Total &t = rt.total();
            const VehicleType &vt = p_.types[rt.type];
            const bool bad = t.warp > kEps || t.peak > vt.capacity + kEps || t.duration > vt.max_duration + kEps ||
                             t.distance > vt.max_distance + kEps || t.reloads > vt.max_reloads ||
                             t.longest_trip > vt.max_trip_distance + kEps;
            if (bad && rt.size() > rt.locked) {
                for (int32_t k = rt.locked + 1; k <= rt.size(); ++k)
                    if (p_.is_client[rt.nodes[k]]) state_.route_of[rt.nodes[k]] = state_.pos_of[rt.nodes[k]] = -1;
                rt.nodes.erase(rt.nodes.begin() + rt.locked + 1, rt.nodes.end() - 1);
                refresh(state_, r);
            }
        }
    }

    void fill_result(SolveResult &res) const {
        for (const Route &r : state_.routes) {
            if (r.size() == 0) continue;
            res.routes.vehicle.push_back(r.vehicle);
            res.routes.visits.emplace_back(r.nodes.begin() + 1, r.nodes.end() - 1);
            const VehicleType &vt = p_.types[r.type];
            const Total &t = r.total();
            res.violations = res.violations || t.warp > kEps || t.peak > vt.capacity + kEps ||
                             t.duration > vt.max_duration + kEps || t.distance > vt.max_distance + kEps ||
                             t.reloads > vt.max_reloads || t.longest_trip > vt.max_trip_distance + kEps;
        }
        for (int32_t c = 0; c < n_; ++c)
            if (p_.is_client[c] && state_.route_of[c] < 0) res.unvisited.push_back(c);
        res.objective = objective(state_);
        res.missing_required = missing(state_);
        res.runtime_s = elapsed();
    }
};

}  // namespace

int32_t Problem::num_vehicles() const {
    int64_t n = 0;
    for (const VehicleType &t : types) n += t.count;
    return static_cast<int32_t>(n);
}

double Problem::arrive(int32_t prof, int32_t a, int32_t b, double t) const {
    const size_t cells = static_cast<size_t>(num_profiles) * num_locations * num_locations;
    const size_t cell = (static_cast<size_t>(prof) * num_locations + a) * num_locations + b;
    if (period_start.empty()) return t + duration[cell];
    // the period t is in (the first also before its start)
    size_t k = static_cast<size_t>(std::max<std::ptrdiff_t>(
        std::upper_bound(period_start.begin(), period_start.end(), t) - period_start.begin() - 1, 0));
    double left = 1.0;  // share of the arc still to drive
    for (;; ++k) {
        const double full = period_duration[k * cells + cell];
        if (k + 1 == period_start.size() || t + left * full <= period_start[k + 1]) return t + left * full;
        left -= (period_start[k + 1] - t) / full;  // (full > 0: else the arc ended in period k)
        t = period_start[k + 1];
    }
}

double Problem::latest_departure(int32_t prof, int32_t a, int32_t b, double t) const {
    const size_t cells = static_cast<size_t>(num_profiles) * num_locations * num_locations;
    const size_t cell = (static_cast<size_t>(prof) * num_locations + a) * num_locations + b;
    if (period_start.empty()) return t - duration[cell];
    // the period just before t (the drive ends at t)
    size_t k = static_cast<size_t>(std::max<std::ptrdiff_t>(
        std::lower_bound(period_start.begin(), period_start.end(), t) - period_start.begin() - 1, 0));
    double left = 1.0;
    for (;; --k) {
        const double full = period_duration[k * cells + cell];
        if (k == 0 || t - left * full >= period_start[k]) return t - left * full;
        left -= (t - period_start[k]) / full;
        t = period_start[k];
    }
}

void Problem::validate() const {
    const int32_t n = num_locations;
    auto need = [](bool ok, const char *what) {
        if (!ok) throw std::invalid_argument(what);
    };
    need(n > 0, "num_locations must be > 0");
    need(num_profiles > 0, "num_profiles must be > 0");
    const size_t cells = static_cast<size_t>(num_profiles) * n * n;
    need(distance.size() == cells, "distance must have shape (num_profiles, n, n)");
    need(duration.size() == cells, "duration must have shape (num_profiles, n, n)");
    bool dist_ok = true, dur_ok = true;  // one branch-free pass (NaN fails both comparisons)
    for (size_t i = 0; i < cells; ++i) dist_ok &= (distance[i] >= 0) & (distance[i] <= DBL_MAX);
    if (duration.data() != distance.data())  // (often the same matrix)
        for (size_t i = 0; i < cells; ++i) dur_ok &= (duration[i] >= 0) & (duration[i] <= DBL_MAX);
    need(dist_ok, "distance must be finite and >= 0");
    need(dur_ok, "duration must be finite and >= 0");
    const auto un = static_cast<size_t>(n);
    for (const auto *v : {&delivery, &pickup, &service, &tw_early, &tw_late, &prize, &pair_load, &max_ride, &release})
        need(v->size() == un, "per-location arrays must have num_locations entries");
    need(is_client.size() == un && required.size() == un && partner.size() == un,
         "per-location arrays must have num_locations entries");
    for (int32_t c = 0; c < n; ++c) {
        need(delivery[c] >= 0 && pickup[c] >= 0 && service[c] >= 0 && prize[c] >= 0,
             "delivery, pickup, service and prize must be >= 0");
        need(std::isfinite(delivery[c]) && std::isfinite(pickup[c]) && std::isfinite(service[c]) &&
                 std::isfinite(prize[c]) && std::isfinite(pair_load[c]),
             "delivery, pickup, service, prize and pair_load must be finite");
        need(!std::isnan(tw_early[c]) && !std::isnan(tw_late[c]) && std::isfinite(tw_early[c]) && tw_early[c] <= tw_late[c],
             "time windows need finite earliest <= latest");
        need(!std::isnan(max_ride[c]) && max_ride[c] >= 0, "max_ride must be >= 0");
        need(std::isfinite(release[c]), "release must be finite");
        const int32_t m = partner[c];
        if (m >= 0) {
            need(m < n && m != c && is_client[c] && is_client[m] && partner[m] == c, "partner must pair two clients both ways");
            need(pair_load[c] == -pair_load[m] && pair_load[c] != 0,
                 "a pair's loads must be +q at the pickup and -q at the delivery, q > 0");
        } else {
            need(pair_load[c] == 0, "pair_load must be 0 outside pairs");
        }
    }
    need(!types.empty(), "at least one vehicle type is needed");
    int64_t vehicles = 0;
    for (const VehicleType &t : types) {
        for (int32_t d : t.reload_depots)
            need(d >= 0 && d < n && !is_client[d], "reload depots must be non-client locations");
        need(t.max_reloads >= 0, "max_reloads must be >= 0");
        need(t.count >= 0 && t.start >= 0 && t.start < n && t.end >= 0 && t.end < n, "vehicle type has a bad count or end");
        need(!is_client[t.start] && !is_client[t.end], "vehicles must start and end at non-client locations");
        need(t.profile >= 0 && t.profile < num_profiles, "vehicle profile out of range");
        need(t.capacity >= 0 && t.fixed_cost >= 0 && t.unit_distance_cost >= 0 && t.unit_duration_cost >= 0 &&
                 t.max_duration >= 0 && t.max_distance >= 0 && t.max_trip_distance >= 0,
             "vehicle type values must be >= 0");
        need(std::isfinite(t.fixed_cost) && std::isfinite(t.unit_distance_cost) && std::isfinite(t.unit_duration_cost),
             "vehicle costs must be finite");
        need(std::isfinite(t.shift_start) && t.shift_start <= t.shift_end, "shift needs finite start <= end");
        vehicles += t.count;
    }
    need(vehicles > 0 && vehicles <= INT32_MAX, "the fleet needs 1 .. 2^31 - 1 vehicles");
    if (period_start.empty()) {
        need(period_duration.size() == 0, "period_duration needs period_start");
        return;
    }
    need(period_duration.size() / cells == period_start.size() && period_duration.size() % cells == 0,
         "period_duration must have shape (num_periods, num_profiles, n, n)");
    for (size_t k = 0; k < period_start.size(); ++k)
        need(std::isfinite(period_start[k]) && (k == 0 || period_start[k - 1] < period_start[k]),
             "period_start must be finite and increasing");
    bool ok = true, instant = true;  // finite, >= duration (their lower bound); 0 only where always 0
    for (size_t i = 0; i < period_duration.size(); ++i) {
        ok &= (period_duration[i] <= DBL_MAX) & (period_duration[i] >= duration[i % cells]);
        instant &= (duration[i % cells] > 0) | (period_duration[i] == 0);
    }
    need(ok, "period_duration must be finite and >= duration (duration: their minimum)");
    need(instant, "period_duration: an arc that takes no time in one period must take none in every period");
}

SolveResult solve(const Problem &problem, const Options &options, const WarmStart *warm) {
    problem.validate();
    if (!(options.time_limit_s >= 0 && options.time_limit_s <= DBL_MAX))
        throw std::invalid_argument("time_limit_s must be finite and >= 0 (0: none)");
    if (options.time_limit_s == 0 && options.max_iterations < 0)
        throw std::invalid_argument("a time limit or an iteration limit is needed");
    if (warm != nullptr) {
        const Routes &r = warm->routes;
        if (warm->locked.size() != r.vehicle.size()) throw std::invalid_argument("locked needs one entry per route");
        evaluate(problem, r);  // checks vehicles and visits
        for (size_t i = 0; i < r.vehicle.size(); ++i)
            if (warm->locked[i] < 0 || warm->locked[i] > static_cast<int32_t>(r.visits[i].size()))
                throw std::invalid_argument("locked[" + std::to_string(i) + "] must be in [0, len(route)]");
    }
    bool trips = std::any_of(problem.release.begin(), problem.release.end(), [](double r) { return r > 0; });
    for (const VehicleType &t : problem.types) trips = trips || !t.reload_depots.empty();
    if (trips) return Solver<Segment>(problem, options, warm).run(warm);
    return Solver<TripSegment>(problem, options, warm).run(warm);
}

std::vector<RouteReport> evaluate(const Problem &p, const Routes &routes) {
    p.validate();
    return evaluate_validated(p, routes);
}

std::vector<RouteReport> evaluate_validated(const Problem &p, const Routes &routes) {
    const int32_t n = p.num_locations;
    if (routes.vehicle.size() != routes.visits.size()) throw std::invalid_argument("one vehicle per route is needed");
    std::vector<int64_t> bound;  // bound[t]: one past the last vehicle of type t
    for (const VehicleType &t : p.types) bound.push_back((bound.empty() ? 0 : bound.back()) + t.count);
    std::vector<int32_t> vehicles = routes.vehicle;
    std::sort(vehicles.begin(), vehicles.end());
    std::vector<uint8_t> seen(n, 0);
    std::vector<double> depart(n, std::nan(""));  // departure from each visit of the current route
    std::vector<int32_t> pos(n, -1);
    std::vector<RouteReport> out;
    for (size_t r = 0; r < routes.vehicle.size(); ++r) {
        const int32_t v = routes.vehicle[r];
        const auto twice = std::equal_range(vehicles.begin(), vehicles.end(), v);
        if (v < 0 || v >= bound.back() || twice.second - twice.first > 1)
            throw std::invalid_argument("route " + std::to_string(r) + ": vehicle " + std::to_string(v) + " is unknown or used twice");
        const auto type = std::upper_bound(bound.begin(), bound.end(), static_cast<int64_t>(v)) - bound.begin();
        const VehicleType &vt = p.types[static_cast<size_t>(type)];
        const auto &visits = routes.visits[r];
        for (int32_t c : visits) {
            const bool reload = c >= 0 && c < n && !p.is_client[c] &&
                                std::find(vt.reload_depots.begin(), vt.reload_depots.end(), c) != vt.reload_depots.end();
            if (reload) continue;
            if (c < 0 || c >= n || !p.is_client[c] || seen[c])
                throw std::invalid_argument("route " + std::to_string(r) + ": location " + std::to_string(c) +
                                            " is not a client nor a reload depot of its vehicle, or is visited twice");
            seen[c] = 1;
        }
        const auto at = [&](const Values &m, int32_t a, int32_t b) {
            return m[(static_cast<size_t>(vt.profile) * n + a) * n + b];
        };
        // The schedule starts as early as the route's minimum duration allows (segment's earliest start).
        Segment seg = start_segment<Segment>(p, vt);
        for (int32_t c : visits)
            seg = merge(seg, node_segment<Segment>(p, c), at(p.distance, seg.last, c), at(p.duration, seg.last, c));
        seg = merge(seg, end_segment<Segment>(vt), at(p.distance, seg.last, vt.end), at(p.duration, seg.last, vt.end));
        Total total = finalise(seg);
        std::vector<double> release;
        const RouteTimes times = p.time_dependent() ? route_times(p, vt, visits.data(), visits.size(), release) : RouteTimes{};
        if (p.time_dependent()) {
            total.duration = times.duration;
            total.warp = times.warp;
        }
        RouteReport rep;
        rep.distance = total.distance;
        rep.duration = total.duration;
        rep.time_warp = total.warp;
        rep.max_load = total.peak;
        rep.reloads = total.reloads;
        rep.longest_trip = total.longest_trip;
        rep.cost = visits.empty() ? 0.0 : vt.fixed_cost + vt.unit_distance_cost * total.distance + vt.unit_duration_cost * total.duration;
        // Per trip (split at the reloads): the latest release and the deliveries it carries.
        std::vector<double> trip_release(1, -kInf), trip_delivery(1, 0.0);
        for (int32_t c : visits) {
            if (!p.is_client[c]) {
                trip_release.push_back(-kInf);
                trip_delivery.push_back(0.0);
                continue;
            }
            trip_release.back() = std::max(trip_release.back(), release_of(p, c));
            trip_delivery.back() += p.delivery[c];
        }
        // Service starts: as early as the ride limits allow on routes with such pairs, else (or when
        // no schedule keeps every ride limit and window: ride_excess shows by how much the rides
        // break theirs) as early as the minimum duration allows (time-dependent: as late as the
        // earliest end allows).
        bool rides = false;
        for (int32_t c : visits) rides = rides || (p.partner[c] >= 0 && std::isfinite(p.max_ride[c]));
        std::vector<double> begin;
        rides = rides && ride_schedule(p, vt, visits.data(), visits.size(), vt.shift_start, begin, release, pos);
        if (rides) {
            const double start = visits.empty() ? vt.shift_start
                                 : p.time_dependent()
                                     ? p.latest_departure(vt.profile, vt.start, visits[0], begin[0]) - p.service[vt.start]
                                     : begin[0] - (p.service[vt.start] + at(p.duration, vt.start, visits[0]));
            rep.start_time = std::max(vt.shift_start, start);
        } else {
            rep.start_time = p.time_dependent() ? times.start : std::max(vt.shift_start, std::min(total.early, total.late));
        }
        // the start of loading at the start depot: after the first trip's release
        double t = std::max(rep.start_time, trip_release[0]) + p.service[vt.start], load = trip_delivery[0];
        size_t trip = 0;
        int32_t riding = 0;  // pairs picked up and not yet delivered
        int32_t prev = vt.start;
        for (size_t k = 0; k < visits.size(); ++k) {
            const int32_t c = visits[k];
            t = p.arrive(vt.profile, prev, c, t);
            rep.arrival.push_back(t);
            // a reload's loading waits for the release of the trip it starts
            const double ready = p.is_client[c] ? p.tw_early[c] : std::max(p.tw_early[c], trip_release[trip + 1]);
            t = rides ? begin[k] : std::max(t, ready);
            rep.service_start.push_back(t);
            t += p.service[c];
            prev = c;
            if (!p.is_client[c]) {  // a reload: the next trip's deliveries on board
                rep.pair_errors += riding;  // pairs split across trips
                ++trip;
                load = trip_delivery[trip];
                rep.load_after.push_back(load);
                continue;
            }
            depart[c] = t;
            load += p.pickup[c] + p.pair_load[c] - p.delivery[c];
            rep.load_after.push_back(load);
            const int32_t m = p.partner[c];
            if (m >= 0 && p.pair_load[c] > 0) ++riding;
            if (m >= 0 && p.pair_load[c] < 0) {  // a delivery: its pickup must be earlier on this route
                if (std::isnan(depart[m])) {
                    ++rep.pair_errors;
                } else {
                    --riding;
                    rep.ride_excess += std::max(0.0, rep.service_start.back() - depart[m] - p.max_ride[m]);
                }
            }
        }
        for (int32_t c : visits) {
            if (!p.is_client[c]) continue;
            const int32_t m = p.partner[c];
            if (m >= 0 && p.pair_load[c] > 0 && std::isnan(depart[m])) ++rep.pair_errors;  // never delivered
            depart[c] = std::nan("");
        }
        rep.end_time = p.arrive(vt.profile, prev, vt.end, t);
        out.push_back(std::move(rep));
    }
    return out;
}

}  // namespace smartopt::routing
