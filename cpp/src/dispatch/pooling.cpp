// High-capacity ride-pooling on the fleet (fleet.hpp): candidate trips per vehicle from the
// request-vehicle and request-request shareability graphs, the choice among them (greedy, then an
// exact search per independent part), the commit of chosen plans, and rebalancing of idle vehicles
// toward unserved rides.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "smartopt/dispatch/assignment.hpp"
#include "smartopt/dispatch/fleet.hpp"
#include "smartopt/dispatch/space.hpp"
#include "smartopt/parallel.hpp"

namespace smartopt::dispatch {

namespace {

void require(bool ok, const std::string &what) {
    if (!ok) throw std::invalid_argument(what);
}

constexpr std::int32_t kMostTrip = 10;  // rides per trip: candidates grow as per_vehicle ** max_trip
constexpr std::int32_t kMostThreads = 1024;
constexpr std::int64_t kParallelPairs = 50000;  // fewer request-vehicle pairs run on one thread (starting threads costs more)
constexpr std::int32_t kMostPerRequest = 10000, kMostPerVehicle = 100, kMostTripsPerSize = 1000;
constexpr std::size_t kTriedPerTrip = 16;       // candidate trips tried per trip kept, per size and vehicle
constexpr std::size_t kJoinsPerTrip = 256;      // pairs of smaller trips joined per trip kept, per size and vehicle
constexpr std::size_t kMostExactRides = 2000;   // larger parts of a batch keep their first choice (not proven)
constexpr std::size_t kMostRebalanceRides = 1000;  // rebalancing looks at the first this many rides...
constexpr std::int32_t kRebalanceNearest = 10;     // ...and at most this many idle vehicles per ride

// Rides of one batch, by their index in it (sorted), and what taking them costs.
template <class Loc>
struct Trip {
    std::vector<std::int32_t> members;
    double cost = NEVER;
    Vehicle<Loc> plan;
};

// The union of two sorted sets one element apart in size `size`, or empty if it is larger.
std::vector<std::int32_t> joined(const std::vector<std::int32_t> &a, const std::vector<std::int32_t> &b,
                                 std::size_t size) {
    std::vector<std::int32_t> out;
    std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    if (out.size() != size) out.clear();
    return out;
}

// The ride stops of a plan, in order.
template <class Loc>
void append_plan(const Vehicle<Loc> &veh, std::vector<PlanStop> &out) {
    for (const Stop<Loc> &s : veh.stops)
        if (s.kind == StopKind::pickup || s.kind == StopKind::dropoff) out.push_back({s.id, s.kind == StopKind::pickup});
}

// A choice of trips, ranked: more rides served, then less cost (s).
struct Score {
    std::int64_t served = 0;
    double cost = 0.0;
    bool better_than(const Score &o) const { return served > o.served || (served == o.served && cost < o.cost - 1e-9); }
};

// The trips of one part of a batch (linked by shared vehicles or rides) and the best choice found:
// the greedy one, improved by a depth-first search over the part's rides (fewest trips first),
// each taken by one of its trips that fits or left out (never a reassigned ride: `must`), bounded
// by the rides still open and the cheapest share of a trip each could get.
class Packing {
public:
    Packing(const TripTable &t, const std::vector<std::int32_t> &trips, const std::set<std::int32_t> &must)
        : table_(t), trips_(trips) {
        for (std::int32_t k = 0; k < static_cast<std::int32_t>(trips.size()); ++k) {
            const std::int32_t trip = trips[k];
            local_vehicle_.push_back(local(vehicles_, t.vehicle[trip]));
            trip_rides_.emplace_back();
            for (auto i = t.ride_offsets[trip]; i < t.ride_offsets[trip + 1]; ++i) {
                const std::int32_t r = local(rides_, t.rides[i]);
                if (static_cast<std::size_t>(r) >= trips_of_.size()) trips_of_.resize(static_cast<std::size_t>(r) + 1);
                trips_of_[r].push_back(k);
                trip_rides_.back().push_back(r);
            }
        }
        for (auto &list : trips_of_)
            std::stable_sort(list.begin(), list.end(), [&](std::int32_t a, std::int32_t b) { return share(a) < share(b); });
        order_.resize(rides_.size());
        for (std::size_t r = 0; r < order_.size(); ++r) order_[r] = static_cast<std::int32_t>(r);
        std::stable_sort(order_.begin(), order_.end(),
                         [&](std::int32_t a, std::int32_t b) { return trips_of_[a].size() < trips_of_[b].size(); });
        ride_used_.assign(rides_.size(), 0);
        vehicle_used_.assign(vehicles_.size(), 0);
        must_.assign(rides_.size(), 0);
        for (const auto &[id, r] : rides_) must_[r] = must.count(id) > 0;
    }

    // Starts from `greedy` (trips of this part, by their index in the table); returns whether the
    // search finished within `steps` (trips looked at; then best() is optimal).
    bool solve(const std::vector<std::int32_t> &greedy, std::int64_t steps) {
        std::map<std::int32_t, std::int32_t> local_trip;  // table index -> index in this part
        for (std::int32_t k = 0; k < static_cast<std::int32_t>(trips_.size()); ++k) local_trip.emplace(trips_[k], k);
        for (std::int32_t trip : greedy) {
            best_.push_back(local_trip.at(trip));
            best_score_.served += size(best_.back());
            best_score_.cost += table_.cost[trip];
        }
        steps_left_ = steps;
        search(0, Score{});
        return steps_left_ >= 0;
    }

    std::int64_t steps_left() const { return std::max<std::int64_t>(steps_left_, 0); }
    std::vector<std::int32_t> best() const {
        std::vector<std::int32_t> out;
        for (std::int32_t k : best_) out.push_back(trips_[k]);
        return out;
    }

private:
    static std::int32_t local(std::map<std::int32_t, std::int32_t> &ids, std::int32_t id) {
        return ids.emplace(id, static_cast<std::int32_t>(ids.size())).first->second;
    }
    std::int64_t size(std::int32_t k) const { return static_cast<std::int64_t>(trip_rides_[k].size()); }
    double share(std::int32_t k) const { return table_.cost[trips_[k]] / static_cast<double>(size(k)); }
    bool fits(std::int32_t k) {
        --steps_left_;
        return !vehicle_used_[local_vehicle_[k]] &&
               std::none_of(trip_rides_[k].begin(), trip_rides_[k].end(), [&](std::int32_t r) { return ride_used_[r]; });
    }
    void take(std::int32_t k, char used) {
        vehicle_used_[local_vehicle_[k]] = used;
        for (std::int32_t r : trip_rides_[k]) ride_used_[r] = used;
    }

    void search(std::size_t at, Score now) {
        if (steps_left_ < 0) return;
        while (at < order_.size() && ride_used_[order_[at]]) ++at;
        if (at == order_.size()) {
            if (now.better_than(best_score_)) {
                best_score_ = now;
                best_ = chosen_;
            }
            return;
        }
        Score bound = now;  // every open ride served, each at its cheapest share of a fitting trip
        for (std::size_t i = at; i < order_.size(); ++i) {
            if (ride_used_[order_[i]]) continue;
            bool open = false;
            for (std::int32_t k : trips_of_[order_[i]]) {
                if (!fits(k)) continue;
                bound.served += 1;
                bound.cost += share(k);
                open = true;
                break;
            }
            if (!open && must_[order_[i]]) return;  // a reassigned ride left without a trip
        }
        if (!bound.better_than(best_score_)) return;
        const std::int32_t ride = order_[at];
        for (std::int32_t k : trips_of_[ride]) {
            if (!fits(k)) continue;
            take(k, 1);
            chosen_.push_back(k);
            search(at + 1, {now.served + size(k), now.cost + table_.cost[trips_[k]]});
            chosen_.pop_back();
            take(k, 0);
        }
        if (must_[ride]) return;
        ride_used_[ride] = 1;  // left out
        search(at + 1, now);
        ride_used_[ride] = 0;
    }

    const TripTable &table_;
    const std::vector<std::int32_t> &trips_;
    std::map<std::int32_t, std::int32_t> vehicles_, rides_;  // ids to local indices
    std::vector<std::int32_t> local_vehicle_;
    std::vector<std::vector<std::int32_t>> trip_rides_;  // per trip, its local rides
    std::vector<std::vector<std::int32_t>> trips_of_;  // per local ride, its trips, cheapest share first
    std::vector<std::int32_t> order_;                  // rides, fewest trips first
    std::vector<char> ride_used_, vehicle_used_, must_;
    std::vector<std::int32_t> chosen_, best_;
    Score best_score_;
    std::int64_t steps_left_ = 0;
};

// The parts of `trips` (trips linked by a shared vehicle or ride), each in the order of `trips`.
std::vector<std::vector<std::int32_t>> split(const TripTable &t, const std::vector<std::int32_t> &trips) {
    std::vector<std::size_t> parent(trips.size());
    for (std::size_t i = 0; i < trips.size(); ++i) parent[i] = i;
    auto root = [&](std::size_t i) {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    };
    std::map<std::int32_t, std::size_t> by_vehicle, by_ride;  // a trip of each
    for (std::size_t i = 0; i < trips.size(); ++i) {
        auto link = [&](std::map<std::int32_t, std::size_t> &seen, std::int32_t key) {
            const auto [it, added] = seen.emplace(key, i);
            if (!added) parent[root(i)] = root(it->second);
        };
        const std::int32_t k = trips[i];
        link(by_vehicle, t.vehicle[k]);
        for (auto r = t.ride_offsets[k]; r < t.ride_offsets[k + 1]; ++r) link(by_ride, t.rides[r]);
    }
    std::map<std::size_t, std::vector<std::int32_t>> parts;
    for (std::size_t i = 0; i < trips.size(); ++i) parts[root(i)].push_back(trips[i]);
    std::vector<std::vector<std::int32_t>> out;
    for (auto &[first, part] : parts) out.push_back(std::move(part));
    return out;
}

// The greedy choice among `trips`: largest trips first, then cheapest per ride.
std::vector<std::int32_t> greedy(const TripTable &t, const std::vector<std::int32_t> &trips) {
    auto size = [&](std::int32_t k) { return t.ride_offsets[k + 1] - t.ride_offsets[k]; };
    std::vector<std::int32_t> order = trips;
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        if (size(a) != size(b)) return size(a) > size(b);
        return t.cost[a] / static_cast<double>(size(a)) < t.cost[b] / static_cast<double>(size(b));
    });
    std::set<std::int32_t> vehicles, rides;
    std::vector<std::int32_t> chosen;
    for (std::int32_t k : order) {
        const auto begin = t.rides.begin() + t.ride_offsets[k], end = t.rides.begin() + t.ride_offsets[k + 1];
        if (vehicles.count(t.vehicle[k]) || std::any_of(begin, end, [&](std::int32_t r) { return rides.count(r); }))
            continue;
        chosen.push_back(k);
        vehicles.insert(t.vehicle[k]);
        rides.insert(begin, end);
    }
    return chosen;
}

// The reassigned rides among `trips`.
std::set<std::int32_t> musts(const TripTable &t, const std::vector<std::int32_t> &trips, const std::set<std::int32_t> &must) {
    std::set<std::int32_t> out;
    for (std::int32_t k : trips)
        for (auto i = t.ride_offsets[k]; i < t.ride_offsets[k + 1]; ++i)
            if (must.count(t.rides[i])) out.insert(t.rides[i]);
    return out;
}

// The best choice found in one part, starting from `start` (serving every ride in `must`):
// improved by the exact search within `steps` (less what it uses) unless the part is too large;
// whether it is optimal.
std::pair<std::vector<std::int32_t>, bool> solve_part(const TripTable &t, const std::vector<std::int32_t> &trips,
                                                      const std::set<std::int32_t> &must,
                                                      const std::vector<std::int32_t> &start, std::int64_t &steps) {
    std::set<std::int32_t> rides;
    for (std::int32_t k : trips) rides.insert(t.rides.begin() + t.ride_offsets[k], t.rides.begin() + t.ride_offsets[k + 1]);
    if (rides.size() > kMostExactRides) return {start, false};  // the search recurses once per ride
    Packing packing(t, trips, must);
    const bool optimal = packing.solve(start, steps);
    steps = packing.steps_left();
    return {packing.best(), optimal};
}

}  // namespace

void choose_trips(TripTable &t, std::int64_t steps) {
    const std::int32_t nt = static_cast<std::int32_t>(t.vehicle.size());
    require(steps >= 0, "exact_steps must be >= 0");
    require(t.cost.size() == t.vehicle.size() && t.ride_offsets.size() == t.vehicle.size() + 1 &&
                t.ride_offsets.front() == 0 && t.ride_offsets.back() == static_cast<std::int64_t>(t.rides.size()) &&
                std::is_sorted(t.ride_offsets.begin(), t.ride_offsets.end()),
            "trips need one vehicle, cost and ride list each (ride_offsets from 0 to the rides, not decreasing)");
    for (std::int32_t k = 0; k < nt; ++k) {
        const auto first = t.ride_offsets[k], last = t.ride_offsets[k + 1];
        require(first < last, "trip " + std::to_string(k) + " needs at least one ride");
        require(t.vehicle[k] >= 0 && std::isfinite(t.cost[k]), "trip " + std::to_string(k) + " needs a vehicle >= 0 and a finite cost");
        std::set<std::int32_t> rides(t.rides.begin() + first, t.rides.begin() + last);
        require(rides.size() == static_cast<std::size_t>(last - first) && *rides.begin() >= 0,
                "trip " + std::to_string(k) + " needs distinct rides >= 0");
    }
    // Reassigned rides: each must be in the choice. A trip keeps its vehicle's own when the
    // reassigned rides it takes are exactly those the vehicle has.
    require(t.reassigned.size() == t.reassigned_from.size(), "one vehicle per reassigned ride");
    std::map<std::int32_t, std::int32_t> owner;  // reassigned ride -> its vehicle
    std::map<std::int32_t, std::int64_t> owned;   // vehicle -> how many
    for (std::size_t i = 0; i < t.reassigned.size(); ++i) {
        require(owner.emplace(t.reassigned[i], t.reassigned_from[i]).second,
                "ride " + std::to_string(t.reassigned[i]) + " is reassigned twice");
        ++owned[t.reassigned_from[i]];
    }
    const std::set<std::int32_t> must(t.reassigned.begin(), t.reassigned.end());
    const std::set<std::int32_t> listed(t.rides.begin(), t.rides.end());
    for (std::int32_t r : must) require(listed.count(r) > 0, "reassigned ride " + std::to_string(r) + " is in no trip");
    auto keeps_own = [&](std::int32_t k) {
        std::int64_t own = 0;
        for (auto i = t.ride_offsets[k]; i < t.ride_offsets[k + 1]; ++i) {
            const auto it = owner.find(t.rides[i]);
            if (it == owner.end()) continue;
            if (it->second != t.vehicle[k]) return false;
            ++own;
        }
        const auto it = owned.find(t.vehicle[k]);
        return own == (it == owned.end() ? 0 : it->second);
    };

    t.choice.clear();
    t.proven.assign(static_cast<std::size_t>(nt), false);
    std::vector<std::int32_t> all(static_cast<std::size_t>(nt));
    for (std::int32_t k = 0; k < nt; ++k) all[k] = k;
    for (const auto &trips : split(t, all)) {
        const std::set<std::int32_t> part_must = musts(t, trips, must);
        std::int64_t budget = steps;  // per part
        std::vector<std::int32_t> start;
        if (part_must.empty()) {
            start = greedy(t, trips);
        } else {  // from the best choice without reassignment: trips that keep their vehicle's own
            std::vector<std::int32_t> kept;
            std::copy_if(trips.begin(), trips.end(), std::back_inserter(kept), keeps_own);
            std::set<std::int32_t> served;
            for (const auto &sub : split(t, kept)) {
                for (std::int32_t k : solve_part(t, sub, musts(t, sub, must), greedy(t, sub), budget).first) {
                    start.push_back(k);
                    served.insert(t.rides.begin() + t.ride_offsets[k], t.rides.begin() + t.ride_offsets[k + 1]);
                }
            }
            require(std::includes(served.begin(), served.end(), part_must.begin(), part_must.end()),
                    "no choice of trips serves every reassigned ride (a vehicle's own trip is missing)");
        }
        const auto [best, optimal] = solve_part(t, trips, part_must, start, budget);
        t.choice.insert(t.choice.end(), best.begin(), best.end());
        for (std::int32_t k : trips) t.proven[k] = optimal;
    }
    std::sort(t.choice.begin(), t.choice.end());
}

template <class Space>
bool Fleet<Space>::shareable(std::int32_t a, std::int32_t b) const {
    // An empty vehicle at the first pickup now does no worse than any vehicle arriving later, unless
    // a later earliest pickup makes it wait with a rider on board: then the pair is not ruled out.
    if (rides_[a].pickup_earliest_s > now_ || rides_[b].pickup_earliest_s > now_) return true;
    for (const auto &[first, second] : {std::pair{a, b}, std::pair{b, a}}) {
        Vehicle<Loc> empty;
        empty.spec.seats = most_seats_;
        empty.from = rides_[first].origin;
        empty.departed = now_;
        const Insertion one = cheapest_insertion(empty, 0, empty.from, now_, first, NEVER);
        if (one.vehicle < 0) continue;
        put(empty, first, one);
        if (cheapest_insertion(empty, 0, empty.from, now_, second, NEVER).vehicle >= 0) return true;
    }
    return false;
}

template <class Space>
TripTable Fleet<Space>::pool_trips(const std::vector<std::int32_t> &ids, const PoolingOptions &o) const {
    require(o.max_trip >= 1 && o.max_trip <= kMostTrip, "max_trip must be in [1, 10]");
    require(o.per_request >= 1 && o.per_request <= kMostPerRequest, "per_request must be in [1, 10000]");
    require(o.per_vehicle >= 1 && o.per_vehicle <= kMostPerVehicle, "per_vehicle must be in [1, 100]");
    require(o.trips_per_size >= 1 && o.trips_per_size <= kMostTripsPerSize, "trips_per_size must be in [1, 1000]");
    require(o.threads >= 1 && o.threads <= kMostThreads, "threads must be in [1, 1024]");
    require(o.exact_steps >= 0, "exact_steps must be >= 0");
    std::set<std::int32_t> distinct;
    for (std::int32_t id : ids) {
        require(id >= 0 && id < static_cast<std::int32_t>(rides_.size()) && records_[id].status == RideStatus::pending,
                "trips hold pending rides only");
        require(distinct.insert(id).second, "ride " + std::to_string(id) + " is listed twice");
    }
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    TripTable out;
    // The batch's rides by local index: the pending `ids`, then (reassign) the rides each vehicle
    // in service and not on its way to charge has yet to pick up, own[v].
    std::vector<std::int32_t> all = ids;
    std::vector<std::vector<std::int32_t>> own(static_cast<std::size_t>(nv));
    if (o.reassign) {
        for (std::int32_t v = 0; v < nv; ++v) {
            const Vehicle<Loc> &veh = vehicles_[v];
            const auto charge = [](const Stop<Loc> &s) { return s.kind == StopKind::charge; };
            if (!veh.in_service || std::any_of(veh.stops.begin(), veh.stops.end(), charge)) continue;
            for (const Stop<Loc> &s : veh.stops) {
                if (s.kind != StopKind::pickup) continue;
                own[v].push_back(static_cast<std::int32_t>(all.size()));
                all.push_back(s.id);
                out.reassigned.push_back(s.id);
                out.reassigned_from.push_back(v);
            }
        }
    }
    const std::int32_t nr = static_cast<std::int32_t>(ids.size());
    const std::int32_t nq = static_cast<std::int32_t>(all.size());
    const int threads = static_cast<std::int64_t>(nq) * nv < kParallelPairs ? 1 : o.threads;
    // Vehicles as they can be planned now, for those within reach of some ride's origin (every
    // vehicle when times may break the triangle inequality) or with rides to reassign.
    std::vector<std::pair<Loc, double>> at(static_cast<std::size_t>(nv));
    std::vector<char> near(static_cast<std::size_t>(nv), 0);
    parallel_rows(nv, threads, [&](std::int64_t v, int) {
        const Vehicle<Loc> &veh = vehicles_[v];
        // Where it can turn lies on its way from `from`: not nearer any origin than `from` is then.
        for (std::int32_t r = 0; r < nq && !near[v]; ++r) near[v] = reachable(veh.from, veh.departed, all[r]);
        if (!near[v] && own[v].empty()) return;
        at[v] = position(static_cast<std::int32_t>(v));
        near[v] = !own[v].empty();
        for (std::int32_t r = 0; r < nq && !near[v]; ++r) near[v] = reachable(at[v].first, at[v].second, all[r]);
    });
    // Each vehicle's plan now (base) and, with rides to reassign, without them (stripped).
    std::vector<Vehicle<Loc>> base(static_cast<std::size_t>(nv)), stripped(static_cast<std::size_t>(nv));
    parallel_rows(nv, threads, [&](std::int64_t v, int) {
        if (!near[v]) return;
        base[v] = turned(static_cast<std::int32_t>(v));
        if (own[v].empty()) return;
        std::set<std::int32_t> mine;
        for (std::int32_t r : own[v]) mine.insert(all[r]);
        const auto moves = [&](const Stop<Loc> &s) {
            return (s.kind == StopKind::pickup || s.kind == StopKind::dropoff) && mine.count(s.id) > 0;
        };
        stripped[v] = base[v];
        auto &stops = stripped[v].stops;
        stops.erase(std::remove_if(stops.begin(), stops.end(), moves), stops.end());
        retime(stripped[v]);
    });
    auto plan_of = [&](std::int32_t v) -> const Vehicle<Loc> & { return own[v].empty() ? base[v] : stripped[v]; };

    // Request-vehicle edges, (cost, vehicle): each ride's per_request cheapest vehicles, inserted
    // into their plans without the rides to reassign; and each pending ride's into the plans as
    // they are, of vehicles with rides to reassign (on_top).
    std::vector<std::vector<std::pair<double, std::int32_t>>> edges(static_cast<std::size_t>(nq)),
        on_top(static_cast<std::size_t>(nr));
    std::vector<char> battery(static_cast<std::size_t>(nr), 0);
    const auto cheapest = [&](std::vector<std::pair<double, std::int32_t>> &e) {
        const auto keep = std::min<std::size_t>(e.size(), static_cast<std::size_t>(o.per_request));
        std::partial_sort(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(keep), e.end());
        e.resize(keep);
    };
    parallel_rows(nq, threads, [&](std::int64_t r, int) {
        const bool pending = r < nr;
        for (std::int32_t v = 0; v < nv; ++v) {
            if (!near[v] || !reachable(at[v].first, at[v].second, all[r])) continue;
            const Vehicle<Loc> &plan = plan_of(v);
            const Insertion ins = cheapest_insertion(plan, v, plan.from, plan.departed, all[r], NEVER);
            if (pending) battery[r] = battery[r] || ins.blocked_by_battery;
            if (ins.vehicle >= 0) edges[r].emplace_back(ins.cost, v);
            if (!pending || own[v].empty()) continue;
            const Insertion top = cheapest_insertion(base[v], v, base[v].from, base[v].departed, all[r], NEVER);
            battery[r] = battery[r] || top.blocked_by_battery;
            if (top.vehicle >= 0) on_top[r].emplace_back(top.cost, v);
        }
        cheapest(edges[r]);
        if (pending) cheapest(on_top[r]);
    });
    // Each vehicle's rides, cheapest first: (cost, ride index).
    std::vector<std::vector<std::pair<double, std::int32_t>>> rides_of(static_cast<std::size_t>(nv)),
        rides_on_top(static_cast<std::size_t>(nv));
    for (std::int32_t r = 0; r < nq; ++r) {
        if (r < nr && edges[r].empty() && on_top[r].empty()) {
            out.unplaceable.push_back(ids[r]);
            out.battery.push_back(battery[r] != 0);
        }
        for (const auto &[cost, v] : edges[r]) rides_of[v].emplace_back(cost, r);
        if (r < nr)
            for (const auto &[cost, v] : on_top[r]) rides_on_top[v].emplace_back(cost, r);
    }
    for (auto *lists : {&rides_of, &rides_on_top}) {
        for (auto &list : *lists) {
            std::sort(list.begin(), list.end());
            if (list.size() > static_cast<std::size_t>(o.per_vehicle)) list.resize(static_cast<std::size_t>(o.per_vehicle));
        }
    }

    // Request-request edges between rides that share a vehicle's list.
    std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
    if (o.max_trip >= 2)
        for (const auto *lists : {&rides_of, &rides_on_top})
            for (const auto &list : *lists)
                for (std::size_t i = 0; i < list.size(); ++i)
                    for (std::size_t j = i + 1; j < list.size(); ++j)
                        pairs.emplace_back(std::min(list[i].second, list[j].second), std::max(list[i].second, list[j].second));
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    std::vector<char> shared(pairs.size(), 0);
    parallel_rows(static_cast<std::int64_t>(pairs.size()), threads,
                  [&](std::int64_t k, int) { shared[k] = shareable(all[pairs[k].first], all[pairs[k].second]); });
    auto rr = [&](std::int32_t a, std::int32_t b) {
        const auto it = std::lower_bound(pairs.begin(), pairs.end(), std::pair{std::min(a, b), std::max(a, b)});
        return shared[static_cast<std::size_t>(it - pairs.begin())] != 0;
    };

    // Vehicle v's trips from plan `start` over its rides `list`: the rides, then trips one ride
    // larger while any is feasible; members and costs relative to `start`.
    auto grow = [&](std::int32_t v, const Vehicle<Loc> &start, const std::vector<std::pair<double, std::int32_t>> &list) {
        std::vector<Trip<Loc>> mine;
        for (const auto &[cost, r] : list) {
            const Insertion ins = cheapest_insertion(start, v, start.from, start.departed, all[r], NEVER);
            Trip<Loc> t{{r}, ins.cost, start};
            put(t.plan, all[r], ins);
            mine.push_back(std::move(t));
        }
        const std::size_t most = static_cast<std::size_t>(o.trips_per_size);
        for (std::size_t first = 0, size = 2; size <= static_cast<std::size_t>(o.max_trip); ++size) {
            const std::size_t last = mine.size();  // trips of size - 1: mine[first:last]
            std::map<std::vector<std::int32_t>, std::size_t> smaller;
            for (std::size_t k = first; k < last; ++k) smaller.emplace(mine[k].members, k);
            std::set<std::vector<std::int32_t>> tried;
            std::size_t joins = 0;
            auto room = [&] {
                return mine.size() - last < most && tried.size() < kTriedPerTrip * most && joins < kJoinsPerTrip * most;
            };
            for (std::size_t a = first; a < last && room(); ++a) {
                for (std::size_t b = a + 1; b < last && room(); ++b, ++joins) {
                    std::vector<std::int32_t> members = joined(mine[a].members, mine[b].members, size);
                    if (members.empty() || (size == 2 && !rr(members[0], members[1])) || !tried.insert(members).second)
                        continue;
                    // Every sub-trip one ride smaller must be feasible; the cheapest completion wins.
                    std::size_t from = last;
                    std::int32_t added = -1;
                    Insertion how;
                    bool all_feasible = true;
                    for (std::size_t drop = 0; drop < members.size() && all_feasible; ++drop) {
                        std::vector<std::int32_t> sub = members;
                        sub.erase(sub.begin() + static_cast<std::ptrdiff_t>(drop));
                        const auto it = smaller.find(sub);
                        all_feasible = it != smaller.end();
                        if (!all_feasible) break;
                        const Trip<Loc> &s = mine[it->second];
                        const double bound = from == last ? NEVER : mine[from].cost + how.cost - s.cost;
                        const Insertion ins =
                            cheapest_insertion(s.plan, v, s.plan.from, s.plan.departed, all[members[drop]], bound);
                        if (ins.vehicle < 0) continue;
                        from = it->second;
                        how = ins;
                        added = members[drop];
                    }
                    if (!all_feasible || from == last) continue;
                    Trip<Loc> t{std::move(members), mine[from].cost + how.cost, mine[from].plan};
                    put(t.plan, all[added], how);
                    mine.push_back(std::move(t));
                }
            }
            if (mine.size() == last) break;
            first = last;
        }
        return mine;
    };
    // Each vehicle's trips: from its plan without its rides to reassign; with them, also its plan
    // as it is (keeping them all) and the trips on top of it, over pending rides. Each priced as
    // its final plan stands (the driving time it adds to the plan without the rides to reassign,
    // wait_weight x its riders' waits and delay_weight x the delay it adds: its riders' drop-offs
    // after their earliest pickups, boarding and direct drives, and the later drop-offs of the
    // riders already planned); of two with the same rides, the cheaper kept.
    const double delay_weight = options_.delay_weight;
    std::vector<double> direct_s(delay_weight > 0.0 ? static_cast<std::size_t>(nq) : 0);
    for (std::size_t r = 0; r < direct_s.size(); ++r)
        direct_s[r] = space_.time(rides_[all[r]].origin, rides_[all[r]].destination);
    const auto dropoffs_s = [](const Vehicle<Loc> &plan) {  // the plan's drop-off times, summed
        double sum = 0.0;
        for (const Stop<Loc> &s : plan.stops)
            if (s.kind == StopKind::dropoff) sum += s.start;
        return sum;
    };
    std::vector<std::vector<Trip<Loc>>> trips(static_cast<std::size_t>(nv));
    parallel_rows(nv, threads, [&](std::int64_t v32, int) {
        const auto v = static_cast<std::int32_t>(v32);
        if (!near[v]) return;
        std::vector<Trip<Loc>> found = grow(v, plan_of(v), rides_of[v]);
        if (!own[v].empty()) {
            std::vector<Trip<Loc>> kept = grow(v, base[v], rides_on_top[v]);
            kept.insert(kept.begin(), Trip<Loc>{{}, 0.0, base[v]});
            for (Trip<Loc> &t : kept) {
                std::vector<std::int32_t> members;
                std::merge(t.members.begin(), t.members.end(), own[v].begin(), own[v].end(), std::back_inserter(members));
                t.members = std::move(members);
                found.push_back(std::move(t));
            }
        }
        const double start_s = driving_s(plan_of(v));
        const double start_dropoffs_s = delay_weight > 0.0 ? dropoffs_s(plan_of(v)) : 0.0;
        std::map<std::vector<std::int32_t>, std::size_t> index;  // members -> place in trips[v]
        for (Trip<Loc> &t : found) {
            t.cost = driving_s(t.plan) - start_s;
            for (const Stop<Loc> &s : t.plan.stops) {
                const bool rider = std::any_of(t.members.begin(), t.members.end(), [&](std::int32_t r) { return all[r] == s.id; });
                if (s.kind == StopKind::pickup && rider)
                    t.cost += options_.wait_weight * (s.start - rides_[s.id].pickup_earliest_s);
            }
            if (delay_weight > 0.0) {
                double delay = dropoffs_s(t.plan) - start_dropoffs_s;
                for (std::int32_t r : t.members)
                    delay -= rides_[all[r]].pickup_earliest_s + options_.boarding_s + direct_s[r];
                t.cost += delay_weight * delay;
            }
            const auto [it, added] = own[v].empty() ? std::pair{index.end(), true} : index.emplace(t.members, trips[v].size());
            if (added)
                trips[v].push_back(std::move(t));
            else if (t.cost < trips[v][it->second].cost)
                trips[v][it->second] = std::move(t);
        }
    });

    for (std::int32_t v = 0; v < nv; ++v) {
        for (const Trip<Loc> &t : trips[v]) {
            out.vehicle.push_back(v);
            out.cost.push_back(t.cost);
            for (std::int32_t r : t.members) out.rides.push_back(all[r]);
            out.ride_offsets.push_back(static_cast<std::int64_t>(out.rides.size()));
            append_plan(t.plan, out.plan);
            out.plan_offsets.push_back(static_cast<std::int64_t>(out.plan.size()));
        }
        trips[v].clear();
    }
    choose_trips(out, o.exact_steps);
    return out;
}

template <class Space>
std::vector<bool> Fleet<Space>::assign_plans(const std::vector<std::int32_t> &vs,
                                             const std::vector<std::vector<PlanStop>> &plans) {
    require(vs.size() == plans.size(), "one plan per vehicle");
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    const std::int32_t rides = static_cast<std::int32_t>(rides_.size());
    const auto to_charge = [&](std::int32_t v) {
        const auto &stops = vehicles_[v].stops;
        return std::any_of(stops.begin(), stops.end(), [](const Stop<Loc> &s) { return s.kind == StopKind::charge; });
    };
    std::vector<std::int32_t> plan_of(static_cast<std::size_t>(nv), -1);
    for (std::size_t p = 0; p < vs.size(); ++p) {
        const std::int32_t v = vs[p];
        require(v >= 0 && v < nv && plan_of[v] < 0, "assign_plans needs distinct known vehicles");
        plan_of[v] = static_cast<std::int32_t>(p);
        require(vehicles_[v].in_service, "vehicle " + std::to_string(v) + " is out of service");
        require(!to_charge(v), "vehicle " + std::to_string(v) + " is on its way to charge");
    }
    // Checked in full before anything changes: each stop in one plan at most; a plan holds stops of
    // its vehicle's rides, of pending rides, and of rides another vehicle (not on its way to charge)
    // has yet to pick up, which move (that vehicle gives them up); pickup before drop-off; every
    // ride stop of a listed vehicle is in some plan.
    std::vector<std::int32_t> group(static_cast<std::size_t>(nv));  // vehicles linked by moved rides
    for (std::int32_t v = 0; v < nv; ++v) group[v] = v;
    auto root = [&](std::int32_t v) {
        while (group[v] != v) v = group[v] = group[group[v]];
        return v;
    };
    std::set<std::pair<std::int32_t, bool>> placed;
    std::set<std::int32_t> givers;  // unlisted vehicles that give up rides
    for (std::size_t p = 0; p < vs.size(); ++p) {
        const std::int32_t v = vs[p];
        std::set<std::int32_t> picked;  // rides whose pickup is in this plan
        for (const PlanStop &ps : plans[p]) {
            require(ps.ride >= 0 && ps.ride < rides, "unknown ride " + std::to_string(ps.ride));
            const RideRecord &rec = records_[ps.ride];
            const bool moves = rec.status == RideStatus::assigned && rec.vehicle != v && !to_charge(rec.vehicle);
            const bool known = rec.status == RideStatus::pending || moves ||
                               (rec.vehicle == v && (rec.status == RideStatus::assigned ||
                                                     (rec.status == RideStatus::on_board && !ps.pickup)));
            require(known && placed.insert({ps.ride, ps.pickup}).second,
                    "ride " + std::to_string(ps.ride) + " is neither in vehicle " + std::to_string(v) +
                        "'s plan, pending nor yet to be picked up by another vehicle, or is listed twice");
            if (moves) {
                group[root(rec.vehicle)] = root(v);
                if (plan_of[rec.vehicle] < 0) givers.insert(rec.vehicle);
            }
            if (ps.pickup) picked.insert(ps.ride);
            require(ps.pickup || picked.count(ps.ride) || rec.status == RideStatus::on_board,
                    "ride " + std::to_string(ps.ride) + ": its drop-off must follow its pickup in the same plan");
        }
    }
    for (const auto &[ride, pickup] : placed)
        require(placed.count({ride, !pickup}) > 0 || records_[ride].status == RideStatus::on_board,
                "ride " + std::to_string(ride) + " needs its pickup and drop-off");
    for (const std::int32_t v : vs)
        for (const Stop<Loc> &s : vehicles_[v].stops)
            require(s.kind == StopKind::reposition || placed.count({s.id, s.kind == StopKind::pickup}) > 0,
                    "vehicle " + std::to_string(v) + "'s plan leaves out some of its ride stops");

    // Committed group by group, all of a group's plans or none (a plan that breaks a limit).
    std::map<std::int32_t, std::vector<std::int32_t>> groups;  // root -> vehicles: listed in order, then givers
    std::vector<std::int32_t> order;                           // roots, by their first plan
    for (const std::int32_t v : vs) {
        auto &members = groups[root(v)];
        if (members.empty()) order.push_back(root(v));
        members.push_back(v);
    }
    for (const std::int32_t u : givers) groups[root(u)].push_back(u);
    std::vector<bool> taken(vs.size(), false);
    for (const std::int32_t g : order) {
        const std::vector<std::int32_t> &members = groups[g];
        const std::size_t legs = legs_.size();
        std::vector<std::pair<std::int32_t, Vehicle<Loc>>> saved;
        std::vector<std::pair<std::int32_t, RideRecord>> records;
        for (const std::int32_t w : members) {
            saved.emplace_back(w, vehicles_[w]);
            for (const Stop<Loc> &s : vehicles_[w].stops)
                if (s.kind != StopKind::reposition) records.emplace_back(s.id, records_[s.id]);
            if (plan_of[w] >= 0)
                for (const PlanStop &ps : plans[plan_of[w]]) records.emplace_back(ps.ride, records_[ps.ride]);
        }
        bool ok = true;
        for (const std::int32_t w : members) {
            turn(w);
            Vehicle<Loc> &veh = vehicles_[w];
            auto own_stop = [&](std::int32_t ride, bool pickup) {
                return std::find_if(veh.stops.begin(), veh.stops.end(), [&](const Stop<Loc> &s) {
                    return s.id == ride && s.kind == (pickup ? StopKind::pickup : StopKind::dropoff);
                });
            };
            // A promise a slowdown already broke is kept as planned now, not later (keeps_limits).
            std::vector<std::pair<std::int32_t, double>> longest_ride;
            for (const Stop<Loc> &s : veh.stops)
                if (s.kind == StopKind::pickup)
                    longest_ride.emplace_back(s.id, std::max(rides_[s.id].max_ride_s, own_stop(s.id, false)->start - s.start));
            std::vector<Stop<Loc>> stops;
            std::vector<double> planned_start;
            if (plan_of[w] < 0) {  // a giver keeps the stops not moved
                for (const Stop<Loc> &s : veh.stops) {
                    if (placed.count({s.id, s.kind == StopKind::pickup})) continue;
                    stops.push_back(s);
                    planned_start.push_back(s.start);
                }
            }
            for (const PlanStop &ps : plan_of[w] < 0 ? std::vector<PlanStop>{} : plans[plan_of[w]]) {
                const auto own = own_stop(ps.ride, ps.pickup);
                planned_start.push_back(own != veh.stops.end() ? own->start : -NEVER);
                if (own != veh.stops.end()) {
                    stops.push_back(*own);
                    continue;
                }
                const Ride<Loc> &r = rides_[ps.ride];
                Stop<Loc> s;
                s.loc = ps.pickup ? r.origin : r.destination;
                s.kind = ps.pickup ? StopKind::pickup : StopKind::dropoff;
                s.id = ps.ride;
                s.earliest = ps.pickup ? r.pickup_earliest_s : 0.0;
                s.latest = ps.pickup ? r.pickup_latest_s : r.dropoff_latest_s;
                s.service = options_.boarding_s;
                stops.push_back(s);
                records_[ps.ride].vehicle = w;
                records_[ps.ride].status = RideStatus::assigned;
            }
            veh.stops = std::move(stops);
            replan(w);
            ok = ok && keeps_limits(veh, longest_ride, planned_start);
        }
        if (!ok) {
            for (const auto &[w, veh] : saved) vehicles_[w] = veh;
            legs_.resize(legs);
            for (auto it = records.rbegin(); it != records.rend(); ++it) records_[it->first] = it->second;
        } else {
            for (const std::int32_t w : members)
                if (vehicles_[w].stops.empty()) maybe_charge(w);
        }
        for (const std::int32_t w : members)
            if (plan_of[w] >= 0) taken[plan_of[w]] = ok;
    }
    return taken;
}

template <class Space>
std::vector<std::pair<std::int32_t, std::int32_t>> Fleet<Space>::rebalance_toward(
    const std::vector<std::int32_t> &requested, std::int32_t per_request) {
    require(per_request >= 1, "per_request must be >= 1");
    std::vector<std::int32_t> ids;  // distinct, the first kMostRebalanceRides in order
    std::set<std::int32_t> seen;
    for (std::int32_t id : requested) {
        require(id >= 0 && id < static_cast<std::int32_t>(rides_.size()), "unknown ride " + std::to_string(id));
        if (ids.size() < kMostRebalanceRides && seen.insert(id).second) ids.push_back(id);
    }
    const auto nearest = static_cast<std::size_t>(std::min(per_request, kRebalanceNearest));
    std::vector<std::int32_t> idle;
    std::vector<Loc> at;
    for (std::int32_t v = 0; v < static_cast<std::int32_t>(vehicles_.size()); ++v) {
        const Vehicle<Loc> &veh = vehicles_[v];
        if (!veh.in_service || !(veh.stops.empty() || veh.cruising())) continue;
        idle.push_back(v);
        at.push_back(position(v).first);
    }
    if (idle.empty() || ids.empty()) return {};
    // Each ride's nearest idle vehicles: (time, index into idle).
    std::vector<std::vector<std::pair<double, std::int32_t>>> near(ids.size());
    std::vector<std::int32_t> columns;
    for (std::size_t r = 0; r < ids.size(); ++r) {
        auto &n = near[r];
        for (std::size_t k = 0; k < idle.size(); ++k)
            n.emplace_back(space_.time(at[k], rides_[ids[r]].origin), static_cast<std::int32_t>(k));
        const auto keep = std::min(n.size(), nearest);
        std::partial_sort(n.begin(), n.begin() + static_cast<std::ptrdiff_t>(keep), n.end());
        n.resize(keep);
        for (const auto &e : n) columns.push_back(e.second);
    }
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
    // Rides x (their vehicles + one "stay" column per ride, dearer than any set of drives).
    const std::int64_t rows = static_cast<std::int64_t>(ids.size());
    const std::int64_t cols = static_cast<std::int64_t>(columns.size()) + rows;
    double top = 0.0;
    for (const auto &n : near)
        for (const auto &e : n) top = std::max(top, e.first);
    const double stay = (top + 1.0) * static_cast<double>(rows + 1);
    std::vector<double> cost(static_cast<std::size_t>(rows * cols), NEVER);
    for (std::int64_t r = 0; r < rows; ++r) {
        for (const auto &[time, k] : near[r]) {
            const auto c = std::lower_bound(columns.begin(), columns.end(), k) - columns.begin();
            cost[r * cols + c] = time;
        }
        cost[r * cols + static_cast<std::int64_t>(columns.size()) + r] = stay;
    }
    const std::vector<std::int64_t> match = solve_assignment(cost.data(), rows, cols);
    std::vector<std::pair<std::int32_t, std::int32_t>> out;
    for (std::int64_t r = 0; r < rows; ++r) {
        if (match[r] >= static_cast<std::int64_t>(columns.size())) continue;
        const std::int32_t v = idle[columns[match[r]]];
        if (reposition(v, rides_[ids[r]].origin)) out.emplace_back(v, ids[r]);
    }
    return out;
}

#define SMARTOPT_POOLING(Space)                                                                                \
    template TripTable Fleet<Space>::pool_trips(const std::vector<std::int32_t> &, const PoolingOptions &) const; \
    template std::vector<bool> Fleet<Space>::assign_plans(const std::vector<std::int32_t> &,                  \
                                                          const std::vector<std::vector<PlanStop>> &);        \
    template std::vector<std::pair<std::int32_t, std::int32_t>> Fleet<Space>::rebalance_toward(               \
        const std::vector<std::int32_t> &, std::int32_t);                                                      \
    template bool Fleet<Space>::shareable(std::int32_t, std::int32_t) const;
SMARTOPT_POOLING(NetworkSpace)
SMARTOPT_POOLING(PlaneSpace)
#undef SMARTOPT_POOLING

}  // namespace smartopt::dispatch
