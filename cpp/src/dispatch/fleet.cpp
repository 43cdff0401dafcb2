#include "smartopt/dispatch/fleet.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "smartopt/dispatch/assignment.hpp"
#include "smartopt/dispatch/space.hpp"

namespace smartopt::dispatch {

namespace {

void require(bool ok, const std::string &what) {
    if (!ok) throw std::invalid_argument(what);
}

bool finite_nonnegative(double x) { return std::isfinite(x) && x >= 0; }

constexpr double kMinBatchS = 0.1;  // shorter batches would let the clock stall at large times
constexpr double kTolerance = 1e-6;  // s or m: rounding between two ways of summing a plan
constexpr double kEnergyTolerance = 1e-9;  // kWh: charging options this close tie
constexpr std::int32_t kSwapFleet = 500;  // close_day matches vehicles to the next day's places up to this fleet size
constexpr double kMostWeight = 1e6;  // wait_weight and delay_weight (s per s): costs stay far from overflow

bool same_locations(const NetworkSpace &a, const NetworkSpace &b) { return a.size() == b.size(); }
bool same_locations(const PlaneSpace &, const PlaneSpace &) { return true; }

// Adds to `broken` the rides of vehicle `veh` whose planned stops come after their latest time.
template <class Loc>
void list_broken(const Vehicle<Loc> &veh, std::vector<std::int32_t> &broken) {
    for (const Stop<Loc> &s : veh.stops) {
        if (s.kind == StopKind::charge || s.kind == StopKind::reposition || s.start <= s.latest) continue;
        if (std::find(broken.begin(), broken.end(), s.id) == broken.end()) broken.push_back(s.id);
    }
}

}  // namespace

ChargerPower::ChargerPower(std::vector<double> kw, std::size_t chargers, double slot_s)
    : kw_(std::move(kw)), chargers_(chargers), slot_s_(slot_s) {
    require(std::isfinite(slot_s_) && slot_s_ >= 1e-3, "the charging power's slot must be at least 1 ms");
    require(chargers_ == 0 ? kw_.empty() : !kw_.empty() && kw_.size() % chargers_ == 0,
            "charger power needs the same number of slots for every charger");
    slots_ = chargers_ == 0 ? 1 : kw_.size() / chargers_;
    require(static_cast<double>(slots_) * slot_s_ < 1e12, "the charging power's cycle is too long");
    cum_kwh_.assign(chargers_ * (slots_ + 1), 0.0);
    for (std::size_t c = 0; c < chargers_; ++c) {
        double *cum = &cum_kwh_[c * (slots_ + 1)];
        for (std::size_t k = 0; k < slots_; ++k) {
            const double p = kw_[c * slots_ + k];
            require(finite_nonnegative(p) && p < 1e9, "charger " + std::to_string(c) + " power must be in [0, 1e9) kW");
            cum[k + 1] = cum[k] + p * slot_s_ / 3600.0;
        }
        require(cum[slots_] >= 1e-9, "charger " + std::to_string(c) + " has no power in any slot");
    }
}

double ChargerPower::delivered_kwh(std::int32_t c, double t) const {
    const double cycle_s = static_cast<double>(slots_) * slot_s_;
    const double *cum = &cum_kwh_[static_cast<std::size_t>(c) * (slots_ + 1)];
    const double cycles = std::floor(t / cycle_s);
    const double in_cycle = t - cycles * cycle_s;
    const std::size_t k = std::min(slots_ - 1, static_cast<std::size_t>(in_cycle / slot_s_));
    const double p = kw_[static_cast<std::size_t>(c) * slots_ + k];
    return cycles * cum[slots_] + cum[k] + p * (in_cycle - static_cast<double>(k) * slot_s_) / 3600.0;
}

void ChargerPower::check(std::int32_t c, double t) const {
    require(c >= 0 && static_cast<std::size_t>(c) < chargers_, "no charger " + std::to_string(c));
    require(std::isfinite(t) && std::abs(t) < 1e15, "charging times must be finite");
}

double ChargerPower::energy_kwh(std::int32_t c, double from_s, double to_s) const {
    check(c, from_s);
    check(c, to_s);
    return to_s > from_s ? delivered_kwh(c, to_s) - delivered_kwh(c, from_s) : 0.0;
}

double ChargerPower::end_of_charge(std::int32_t c, double start_s, double kwh) const {
    check(c, start_s);
    require(!std::isnan(kwh) && kwh < 1e12, "charging energy must be a number below 1e12 kWh");
    if (!(kwh > 0)) return start_s;
    const double cycle_s = static_cast<double>(slots_) * slot_s_;
    const double *cum = &cum_kwh_[static_cast<std::size_t>(c) * (slots_ + 1)];
    const double base = std::floor(start_s / cycle_s);  // the cycle start_s lies in
    double target = delivered_kwh(c, start_s) + kwh - base * cum[slots_];
    const double cycles = std::max(0.0, std::ceil(target / cum[slots_]) - 1.0);
    target = std::max(target - cycles * cum[slots_], 0.0);  // in (0, one cycle's energy]
    // the first slot with cum[slot] < target <= cum[slot + 1] (so its power is > 0)
    const auto j = static_cast<std::size_t>(std::lower_bound(cum + 1, cum + slots_ + 1, target) - cum);
    const std::size_t slot = std::min(j, slots_) - 1;
    const double p = kw_[static_cast<std::size_t>(c) * slots_ + slot];
    const double in_slot = p > 0 ? (target - cum[slot]) / p * 3600.0 : 0.0;
    const double end = std::max(start_s, (base + cycles) * cycle_s + static_cast<double>(slot) * slot_s_ + in_slot);
    require(end < 1e15, "charging " + std::to_string(kwh) + " kWh at charger " + std::to_string(c) + " never ends");
    return end;
}

template <class Space>
Fleet<Space>::Fleet(Space space, std::vector<VehicleSpec> vehicles, std::vector<Loc> start,
                    std::vector<Loc> charger_loc, ChargerPower charger_power, FleetOptions options)
    : space_(std::move(space)),
      options_(options),
      charger_loc_(std::move(charger_loc)),
      power_(std::move(charger_power)),
      charger_free_s_(charger_loc_.size(), 0.0),
      home_(start) {
    require(!vehicles.empty() && start.size() == vehicles.size(), "one start location per vehicle, at least one");
    require(power_.chargers() == charger_loc_.size(), "one power per charger");
    for (std::size_t c = 0; c < charger_loc_.size(); ++c)
        require(space_.valid(charger_loc_[c]), "charger " + std::to_string(c) + " is not a location of the space");
    require(finite_nonnegative(options_.boarding_s), "boarding_s must be >= 0");
    for (const auto &[weight, name] : {std::pair{options_.wait_weight, "wait_weight"}, {options_.delay_weight, "delay_weight"}})
        require(finite_nonnegative(weight) && weight <= kMostWeight, std::string(name) + " must be in [0, 1e6]");
    require(0 <= options_.reserve && options_.reserve <= options_.charge_below &&
                options_.charge_below <= options_.charge_to && options_.charge_to <= 1,
            "battery fractions must satisfy 0 <= reserve <= charge_below <= charge_to <= 1");
    vehicles_.resize(vehicles.size());
    for (std::size_t v = 0; v < vehicles.size(); ++v) {
        const VehicleSpec &s = vehicles[v];
        const std::string name = "vehicle " + std::to_string(v);
        require(s.seats >= 1, name + " needs at least one seat");
        require(s.battery_kwh > 0, name + " needs a battery > 0 kWh (inf: no limit)");
        require(finite_nonnegative(s.kwh_per_km), name + " needs kwh_per_km >= 0");
        require(s.soc0 >= 0 && s.soc0 <= 1, name + " needs soc0 in [0, 1]");
        require(space_.valid(start[v]), name + " starts outside the space");
        Vehicle<Loc> &veh = vehicles_[v];
        veh.spec = s;
        most_seats_ = std::max(most_seats_, s.seats);
        veh.from = start[v];
        veh.soc_kwh = std::isfinite(s.battery_kwh) ? s.soc0 * s.battery_kwh : NEVER;
        maybe_charge(static_cast<std::int32_t>(v));
    }
}

template <class Space>
std::int32_t Fleet<Space>::add_ride(const Ride<Loc> &r) {
    const std::string name = "ride " + std::to_string(rides_.size());
    require(finite_nonnegative(r.time_s) && r.time_s >= now_, name + " is requested before the current time");
    require(space_.valid(r.origin) && space_.valid(r.destination), name + " starts or ends outside the space");
    require(r.passengers >= 1, name + " needs at least one passenger");
    require(std::isfinite(r.pickup_earliest_s) && !std::isnan(r.pickup_latest_s) && !std::isnan(r.dropoff_latest_s) &&
                !std::isnan(r.max_ride_s) && r.max_ride_s >= 0,
            name + " has a NaN or negative limit");
    rides_.push_back(r);
    records_.emplace_back();
    return static_cast<std::int32_t>(rides_.size() - 1);
}

template <class Space>
std::pair<typename Space::Loc, double> Fleet<Space>::position(std::int32_t v) const {
    const Vehicle<Loc> &veh = vehicles_[v];
    if (veh.stops.empty()) return {veh.from, std::max(veh.departed, now_)};
    // A vehicle already at its next stop, waiting for its earliest time, can leave now.
    const auto [at, t] = space_.turn_point(veh.from, veh.stops.front().loc, veh.departed, now_);
    return {at, std::max(t, now_)};
}

template <class Space>
double Fleet<Space>::budget_m(const Vehicle<Loc> &veh) const {
    if (!std::isfinite(veh.soc_kwh) || veh.spec.kwh_per_km <= 0) return NEVER;
    return (veh.soc_kwh - options_.reserve * veh.spec.battery_kwh) / veh.spec.kwh_per_km * 1000.0;
}

template <class Space>
double Fleet<Space>::to_charger_m(const Loc &at) const {
    double best = charger_loc_.empty() ? 0.0 : NEVER;
    for (const Loc &c : charger_loc_) best = std::min(best, space_.distance(at, c));
    return best;
}

template <class Space>
void Fleet<Space>::retime(Vehicle<Loc> &veh) const {
    Loc at = veh.from;
    double t = veh.departed;
    std::int32_t load = veh.load;
    veh.check_rides = false;
    for (Stop<Loc> &s : veh.stops) {
        s.eta = t + space_.time(at, s.loc);
        s.start = std::max(s.eta, s.earliest);
        if (s.kind == StopKind::charge) s.service = power_.end_of_charge(s.id, s.start, s.charge_kwh) - s.start;
        s.depart = s.start + s.service;
        if (s.kind == StopKind::pickup) {
            load += rides_[s.id].passengers;
            veh.check_rides = veh.check_rides || std::isfinite(rides_[s.id].max_ride_s);
        } else if (s.kind == StopKind::dropoff) {
            load -= rides_[s.id].passengers;
        }
        s.load = load;
        at = s.loc;
        t = s.depart;
    }
    double after = NEVER;
    for (auto s = veh.stops.rbegin(); s != veh.stops.rend(); ++s) {
        s->slack = (s->start - s->eta) + std::min(s->latest - s->start, after);
        after = s->slack;
    }
}

template <class Space>
void Fleet<Space>::replan(std::int32_t v) {
    retime(vehicles_[v]);
    for (const Stop<Loc> &s : vehicles_[v].stops) {
        if (s.kind != StopKind::pickup && s.kind != StopKind::dropoff) continue;
        RideRecord &rec = records_[s.id];
        (s.kind == StopKind::pickup ? rec.pickup_s : rec.dropoff_s) = s.start;
    }
}

template <class Space>
Vehicle<typename Space::Loc> Fleet<Space>::turned(std::int32_t v) const {
    Vehicle<Loc> veh = vehicles_[v];
    const auto [at, t] = position(v);
    if (std::isfinite(veh.soc_kwh)) veh.soc_kwh -= space_.distance(veh.from, at) / 1000.0 * veh.spec.kwh_per_km;
    veh.from = at;
    veh.departed = t;
    if (veh.cruising()) veh.stops.clear();
    retime(veh);
    return veh;
}

template <class Space>
bool Fleet<Space>::replay_ok(const Vehicle<Loc> &veh, const Loc &at0, double t0, const Ride<Loc> &r,
                             std::int32_t i, std::int32_t j) const {
    std::vector<std::pair<std::int32_t, double>> picked;  // rides picked up on the way, when
    Loc at = at0;
    double t = t0;
    auto visit = [&](const Loc &loc, double earliest, double latest, double service) {
        const double start = std::max(t + space_.time(at, loc), earliest);
        at = loc;
        t = start + service;
        return start <= latest ? start : NEVER;
    };
    auto ride_ok = [&](std::int32_t id, double drop) {
        for (const auto &[ride, pick] : picked)
            if (ride == id) return drop - pick <= rides_[id].max_ride_s;
        return true;  // on board: its deadline is in the stop's latest time
    };
    const std::int32_t stops = static_cast<std::int32_t>(veh.stops.size());
    double new_pick = NEVER;
    for (std::int32_t k = 0; k <= stops; ++k) {
        if (k > 0) {
            const Stop<Loc> &s = veh.stops[k - 1];
            const double start = visit(s.loc, s.earliest, s.latest, s.service);
            if (start == NEVER) return false;
            if (s.kind == StopKind::pickup) picked.emplace_back(s.id, start);
            if (s.kind == StopKind::dropoff && !ride_ok(s.id, start)) return false;
        }
        if (k == i) new_pick = visit(r.origin, r.pickup_earliest_s, r.pickup_latest_s, options_.boarding_s);
        if (k == j) {
            const double drop = visit(r.destination, 0.0, r.dropoff_latest_s, options_.boarding_s);
            if (new_pick == NEVER || drop == NEVER || drop - new_pick > r.max_ride_s) return false;
        }
    }
    return true;
}

template <class Space>
Insertion Fleet<Space>::best_insertion(std::int32_t v, std::int32_t id, double bound) const {
    const Vehicle<Loc> &veh = vehicles_[v];
    if (!reachable(veh.from, veh.departed, id)) {  // where it can turn lies on its way from `from`
        Insertion none;
        none.cost = bound;
        return none;
    }
    const auto [at0, t0] = position(v);
    return cheapest_insertion(vehicles_[v], v, at0, t0, id, bound);
}

template <class Space>
bool Fleet<Space>::reachable(const Loc &at, double t, std::int32_t id) const {
    // Every pickup is at least a direct drive away (shortest times obey the triangle inequality).
    if (!space_.metric()) return true;
    const Ride<Loc> &r = rides_[id];
    const double latest = r.pickup_latest_s + kTolerance;
    return t + space_.least_time(at, r.origin) <= latest && t + space_.time(at, r.origin) <= latest;
}

template <class Space>
Insertion Fleet<Space>::cheapest_insertion(const Vehicle<Loc> &veh, std::int32_t v, const Loc &at0, double t0,
                                           std::int32_t id, double bound) const {
    Insertion best;
    best.cost = bound;
    // Costs within 1e-9 s tie (they differ by rounding only): the first candidate keeps the place.
    auto cheaper = [&](double cost) { return cost < best.cost - 1e-9; };
    const Ride<Loc> &r = rides_[id];
    const std::int32_t pax = r.passengers, seats = veh.spec.seats;
    if (!veh.in_service || pax > seats || (!veh.stops.empty() && veh.stops.back().kind == StopKind::charge))
        return best;
    if (!reachable(at0, t0, id)) return best;
    const std::int32_t n = veh.cruising() ? 0 : static_cast<std::int32_t>(veh.stops.size());
    // Node k: 0 the vehicle where it can turn now, k >= 1 stop k - 1.
    auto loc = [&](std::int32_t k) -> const Loc & { return k == 0 ? at0 : veh.stops[k - 1].loc; };
    auto dep = [&](std::int32_t k) { return k == 0 ? t0 : veh.stops[k - 1].depart; };
    auto load = [&](std::int32_t k) { return k == 0 ? veh.load : veh.stops[k - 1].load; };
    double plan_m = 0.0;
    for (std::int32_t k = 0; k < n; ++k) plan_m += space_.distance(loc(k), loc(k + 1));
    const double tail_m = to_charger_m(loc(n));
    const double budget = budget_m(veh) - space_.distance(veh.from, at0);
    const double board = options_.boarding_s;
    const double delay_weight = options_.delay_weight;
    // The delay added to the drop-offs planned from node `next` on when the vehicle reaches it
    // `late` s later than planned (s, summed; a wait at a stop absorbs part of it).
    auto later_dropoffs = [&](std::int32_t next, double late) {
        double sum = 0.0;
        for (std::int32_t k = next; k <= n && late > 0.0; ++k) {
            const Stop<Loc> &s = veh.stops[k - 1];
            late = std::max(0.0, late - (s.start - s.eta));
            if (s.kind == StopKind::dropoff) sum += late;
        }
        return sum;
    };
    // The delay cost of the riders planned after a drop-off at `drop` before node `next`.
    auto tail_cost = [&](std::int32_t next, double drop) {
        if (delay_weight == 0.0 || next > n) return 0.0;
        const double late = drop + board + space_.time(r.destination, loc(next)) - veh.stops[next - 1].eta;
        return delay_weight * later_dropoffs(next, late);
    };
    // Records candidate (i, j) if its delay at node `next` fits the slack there, its energy fits and
    // (when riders not yet on board have ride limits) the full replay passes.
    auto offer = [&](std::int32_t i, std::int32_t j, double cost, double extra_m, double pick, double drop) {
        const std::int32_t next = j + 1;
        if (next <= n && drop + board + space_.time(r.destination, loc(next)) - veh.stops[next - 1].eta >
                             veh.stops[next - 1].slack)
            return;
        const double need = plan_m + extra_m + (next > n ? to_charger_m(r.destination) : tail_m);
        if (need > budget) {
            best.blocked_by_battery = true;
            return;
        }
        if (veh.check_rides && !replay_ok(veh, at0, t0, r, i, j)) return;
        best = {v, i, j, cost, pick, drop, best.blocked_by_battery};
    };
    for (std::int32_t i = 0; i <= n; ++i) {
        if (dep(i) > r.pickup_latest_s) break;
        if (load(i) + pax > seats) continue;
        const double to_origin = space_.time(loc(i), r.origin);
        const double pick = std::max(dep(i) + to_origin, r.pickup_earliest_s);
        if (pick > r.pickup_latest_s) continue;
        // The new rider's wait; with delay_weight, also the first part of its delay.
        const double wait_cost = (options_.wait_weight + delay_weight) * (pick - r.pickup_earliest_s);
        const bool last = i == n;
        const double cut = last ? 0.0 : space_.time(loc(i), loc(i + 1));
        const double cut_m = last ? 0.0 : space_.distance(loc(i), loc(i + 1));
        const double ride_t = space_.time(r.origin, r.destination);
        const double drop_direct = pick + board + ride_t;
        if (drop_direct <= r.dropoff_latest_s && drop_direct - pick <= r.max_ride_s) {
            double cost = wait_cost + to_origin + ride_t + (last ? 0.0 : space_.time(r.destination, loc(i + 1))) - cut;
            if (cheaper(cost)) cost += tail_cost(i + 1, drop_direct);
            if (cheaper(cost)) {
                const double extra_m = space_.distance(loc(i), r.origin) +
                                       space_.distance(r.origin, r.destination) +
                                       (last ? 0.0 : space_.distance(r.destination, loc(i + 1))) - cut_m;
                offer(i, i, cost, extra_m, pick, drop_direct);
            }
        }
        if (last) continue;
        const double pick_cost = wait_cost + to_origin + space_.time(r.origin, loc(i + 1)) - cut;
        if (!cheaper(pick_cost)) continue;  // a drop-off adds >= 0 (triangle inequality)
        const double pick_m = space_.distance(loc(i), r.origin) + space_.distance(r.origin, loc(i + 1)) - cut_m;
        double delay = pick + board + space_.time(r.origin, loc(i + 1)) - veh.stops[i].eta;
        double between = 0.0;  // the delay added to the drop-offs of nodes i + 1 ... j (s)
        for (std::int32_t j = i + 1; j <= n; ++j) {
            const Stop<Loc> &s = veh.stops[j - 1];
            if (s.load + pax > seats) break;
            const double shift = std::max(0.0, delay - (s.start - s.eta));
            if (s.start + shift > s.latest) break;
            if (s.kind == StopKind::dropoff) between += shift;
            const double leave = s.depart + shift;
            if (leave > r.dropoff_latest_s || leave - pick > r.max_ride_s) break;
            const double drop = leave + space_.time(s.loc, r.destination);
            if (drop <= r.dropoff_latest_s && drop - pick <= r.max_ride_s) {
                const bool end = j == n;
                double cost = pick_cost + space_.time(s.loc, r.destination) +
                              (end ? 0.0 : space_.time(r.destination, loc(j + 1)) - space_.time(s.loc, loc(j + 1)));
                if (cheaper(cost) && delay_weight > 0.0)  // the rest of its delay, and the others'
                    cost += delay_weight * (drop - pick - board - ride_t + between) + tail_cost(j + 1, drop);
                if (cheaper(cost)) {
                    const double extra_m =
                        pick_m + space_.distance(s.loc, r.destination) +
                        (end ? 0.0 : space_.distance(r.destination, loc(j + 1)) - space_.distance(s.loc, loc(j + 1)));
                    offer(i, j, cost, extra_m, pick, drop);
                }
            }
            delay = shift;
        }
    }
    return best;
}

template <class Space>
Insertion Fleet<Space>::best_insertion(std::int32_t id) const {
    Insertion best;
    bool battery = false;
    for (std::int32_t v = 0; v < static_cast<std::int32_t>(vehicles_.size()); ++v) {
        const Insertion ins = best_insertion(v, id, best.cost);
        battery = battery || ins.blocked_by_battery;
        if (ins.vehicle >= 0) best = ins;
    }
    best.blocked_by_battery = battery;
    return best;
}

template <class Space>
void Fleet<Space>::drive_to(std::int32_t v, const Loc &to, double arrive) {
    Vehicle<Loc> &veh = vehicles_[v];
    const double d = space_.distance(veh.from, to);
    if (d > 0) {
        legs_.push_back({v, veh.departed, arrive, veh.from, to, d, veh.load});
        if (std::isfinite(veh.soc_kwh)) veh.soc_kwh -= d / 1000.0 * veh.spec.kwh_per_km;
    }
    veh.from = to;
    veh.departed = arrive;
}

template <class Space>
void Fleet<Space>::turn(std::int32_t v) {
    Vehicle<Loc> &veh = vehicles_[v];
    if (veh.stops.empty()) {
        veh.departed = std::max(veh.departed, now_);
        return;
    }
    const auto [at, t] = space_.turn_point(veh.from, veh.stops.front().loc, veh.departed, now_);
    if (t > veh.departed) drive_to(v, at, t);
    veh.departed = std::max(veh.departed, now_);
}

template <class Space>
void Fleet<Space>::insert(std::int32_t id, const Insertion &at) {
    require(at.vehicle >= 0 && at.vehicle < static_cast<std::int32_t>(vehicles_.size()), "no vehicle to insert into");
    if (at.pickup_after == 0) turn(at.vehicle);
    put(vehicles_[at.vehicle], id, at);
    records_[id].vehicle = at.vehicle;
    records_[id].status = RideStatus::assigned;
    replan(at.vehicle);
}

template <class Space>
void Fleet<Space>::put(Vehicle<Loc> &veh, std::int32_t id, const Insertion &at) const {
    const Ride<Loc> &r = rides_[id];
    if (veh.cruising()) veh.stops.clear();
    Stop<Loc> pickup, dropoff;
    pickup.loc = r.origin;
    pickup.kind = StopKind::pickup;
    pickup.id = id;
    pickup.earliest = r.pickup_earliest_s;
    pickup.latest = r.pickup_latest_s;
    pickup.service = options_.boarding_s;
    dropoff.loc = r.destination;
    dropoff.kind = StopKind::dropoff;
    dropoff.id = id;
    dropoff.latest = r.dropoff_latest_s;
    dropoff.service = options_.boarding_s;
    veh.stops.insert(veh.stops.begin() + at.pickup_after, pickup);
    veh.stops.insert(veh.stops.begin() + at.dropoff_after + 1, dropoff);
    retime(veh);
}

template <class Space>
void Fleet<Space>::reject(std::int32_t id, Rejection reason) {
    records_[id].status = RideStatus::rejected;
    records_[id].reason = reason;
}

template <class Space>
std::vector<std::int32_t> Fleet<Space>::reachable_chargers(const Vehicle<Loc> &veh) const {
    std::vector<std::int32_t> out;
    std::int32_t nearest = -1;
    const double spare_kwh = veh.soc_kwh - options_.reserve * veh.spec.battery_kwh;
    for (std::int32_t c = 0; c < static_cast<std::int32_t>(charger_loc_.size()); ++c) {
        const double m = space_.distance(veh.from, charger_loc_[c]);
        if (nearest < 0 || m < space_.distance(veh.from, charger_loc_[nearest])) nearest = c;
        if (m / 1000.0 * veh.spec.kwh_per_km <= spare_kwh + kEnergyTolerance) out.push_back(c);
    }
    if (nearest >= 0 && std::find(out.begin(), out.end(), nearest) == out.end()) out.push_back(nearest);
    return out;
}

template <class Space>
void Fleet<Space>::maybe_charge(std::int32_t v) {
    Vehicle<Loc> &veh = vehicles_[v];
    const double cap = veh.spec.battery_kwh;
    if (!veh.stops.empty() || charger_loc_.empty() || !std::isfinite(cap) || !veh.in_service ||
        veh.soc_kwh >= options_.charge_below * cap)
        return;
    // The charger where the vehicle is charged first (its power changes by slot).
    std::int32_t best = -1;
    double best_end = NEVER, best_kwh = 0.0;
    for (const std::int32_t c : reachable_chargers(veh)) {
        const double start = std::max(veh.departed + space_.time(veh.from, charger_loc_[c]), charger_free_s_[c]);
        const double arrive_kwh =
            veh.soc_kwh - space_.distance(veh.from, charger_loc_[c]) / 1000.0 * veh.spec.kwh_per_km;
        const double kwh = std::max(0.0, options_.charge_to * cap - arrive_kwh);
        const double end = power_.end_of_charge(c, start, kwh);
        if (end < best_end) {
            best = c;
            best_end = end;
            best_kwh = kwh;
        }
    }
    Stop<Loc> s;
    s.loc = charger_loc_[best];
    s.kind = StopKind::charge;
    s.id = best;
    s.earliest = charger_free_s_[best];
    s.charge_kwh = best_kwh;
    veh.stops.push_back(s);
    replan(v);
    charger_free_s_[best] = veh.stops.back().depart;
}

template <class Space>
void Fleet<Space>::advance(double now) {
    require(std::isfinite(now), "the clock must stay finite");
    require(now >= now_, "time cannot go backwards");
    now_ = now;
    for (std::int32_t v = 0; v < static_cast<std::int32_t>(vehicles_.size()); ++v) {
        Vehicle<Loc> &veh = vehicles_[v];
        bool changed = false;
        while (!veh.stops.empty() && veh.stops.front().start <= now) {
            const Stop<Loc> s = veh.stops.front();
            drive_to(v, s.loc, s.eta);
            events_.push_back({s.start, s.kind, v, s.id});
            if (s.kind == StopKind::charge) {
                const double kwh = s.charge_kwh;
                // exactly at the target (rounding a hair below it would send the vehicle again)
                const double cap = veh.spec.battery_kwh;
                veh.soc_kwh = std::min(cap, std::max(veh.soc_kwh + kwh, options_.charge_to * cap));
                sessions_.push_back({v, s.id, s.start, s.depart, kwh});
            } else if (s.kind != StopKind::reposition) {
                const Ride<Loc> &r = rides_[s.id];
                RideRecord &rec = records_[s.id];
                if (s.kind == StopKind::pickup) {
                    veh.load += r.passengers;
                    rec.pickup_s = s.start;
                    rec.status = RideStatus::on_board;
                    for (Stop<Loc> &later : veh.stops)
                        if (later.kind == StopKind::dropoff && later.id == s.id)
                            later.latest = std::min(later.latest, s.start + r.max_ride_s);
                } else {
                    veh.load -= r.passengers;
                    rec.dropoff_s = s.start;
                    rec.status = RideStatus::delivered;
                }
            }
            veh.departed = s.depart;
            veh.stops.erase(veh.stops.begin());
            changed = true;
            if (veh.stops.empty()) maybe_charge(v);
        }
        if (changed) replan(v);
    }
}

template <class Space>
void Fleet<Space>::place_now(std::int32_t id) {
    const Insertion ins = best_insertion(id);
    if (ins.vehicle >= 0)
        insert(id, ins);
    else
        reject(id, ins.blocked_by_battery ? Rejection::battery : Rejection::no_vehicle);
}

template <class Space>
void Fleet<Space>::place_until(double until, double batch_s) {
    require(!std::isnan(until) && until >= now_, "time cannot go backwards");
    require(batch_s == 0 || (std::isfinite(batch_s) && batch_s >= kMinBatchS), "batch_s must be 0 or at least 0.1 s");
    const std::size_t n = rides_.size();
    auto requested = [&](std::size_t k) { return rides_[k].time_s; };
    if (batch_s == 0) {
        for (; next_ride_ < n && requested(next_ride_) <= until; ++next_ride_) {
            advance(requested(next_ride_));
            if (records_[next_ride_].status == RideStatus::pending) place_now(static_cast<std::int32_t>(next_ride_));
        }
    } else {
        while (next_ride_ < n || !pending_.empty()) {
            if (pending_.empty())  // skip to the batch of the next ride
                next_batch_s_ = std::max(next_batch_s_, std::ceil(requested(next_ride_) / batch_s) * batch_s);
            if (next_batch_s_ > until) break;
            for (; next_ride_ < n && requested(next_ride_) <= next_batch_s_; ++next_ride_)
                if (records_[next_ride_].status == RideStatus::pending)
                    pending_.push_back(static_cast<std::int32_t>(next_ride_));
            advance(next_batch_s_);
            std::vector<std::int32_t> waiting;
            assign_batch(pending_, waiting);
            pending_ = std::move(waiting);
            const double next = next_batch_s_ + batch_s;
            require(next > next_batch_s_, "times too large for batches of batch_s");
            next_batch_s_ = next;
        }
    }
    if (std::isfinite(until)) advance(until);
}

template <class Space>
void Fleet<Space>::finish() {
    for (;;) {
        double last = now_;
        for (const Vehicle<Loc> &veh : vehicles_)
            if (!veh.stops.empty()) last = std::max(last, veh.stops.back().start);
        if (last == now_ && std::none_of(vehicles_.begin(), vehicles_.end(), [&](const Vehicle<Loc> &veh) {
                return !veh.stops.empty() && veh.stops.front().start <= now_;
            }))
            return;
        advance(last);
    }
}

namespace {

bool same_kind(const VehicleSpec &a, const VehicleSpec &b) {
    return a.seats == b.seats && a.battery_kwh == b.battery_kwh && a.kwh_per_km == b.kwh_per_km && a.soc0 == b.soc0;
}

}  // namespace

template <class Space>
typename Fleet<Space>::NightPlan Fleet<Space>::night_plan(
    std::int32_t v, const Loc &home, double ready_by, const std::vector<std::vector<std::pair<double, double>>> &taken)
    const {
    const Vehicle<Loc> &veh = vehicles_[v];
    const double cap = veh.spec.battery_kwh, target = veh.spec.soc0 * cap;
    const auto kwh_between = [&](const Loc &a, const Loc &b) {
        return space_.distance(a, b) / 1000.0 * veh.spec.kwh_per_km;
    };
    NightPlan best;
    best.home_kwh = veh.soc_kwh - kwh_between(veh.from, home);
    best.home_s = veh.departed + space_.time(veh.from, home);
    if (!std::isfinite(cap) || best.home_kwh >= target - kEnergyTolerance) return best;
    for (const std::int32_t c : reachable_chargers(veh)) {
        const Loc &at = charger_loc_[c];
        double start = std::max(veh.departed + space_.time(veh.from, at), charger_free_s_[c]);
        for (bool moved = true; moved;) {  // past the next day's sessions it would start in
            moved = false;
            for (const auto &[a, b] : taken[c])
                if (a <= start && start < b) start = b, moved = true;
        }
        double until = ready_by - space_.time(at, home);
        for (const auto &[a, b] : taken[c])
            if (a > start) until = std::min(until, a);
        if (start >= until) continue;
        const double arrive_kwh = veh.soc_kwh - kwh_between(veh.from, at);
        const double need = std::min(cap, target + kwh_between(at, home)) - arrive_kwh;
        const double end = std::min(until, power_.end_of_charge(c, start, need));
        const double kwh = std::min(need, power_.energy_kwh(c, start, end));
        const double home_kwh = arrive_kwh + kwh - kwh_between(at, home);
        if (home_kwh > best.home_kwh + kEnergyTolerance ||
            (best.charger >= 0 && home_kwh > best.home_kwh - kEnergyTolerance && end < best.end)) {
            best = {c, start, end, kwh, home_kwh, end + space_.time(at, home)};
        }
    }
    return best;
}

template <class Space>
void Fleet<Space>::close_day(double day_s) {
    require(std::isfinite(day_s) && day_s > 0, "day_s must be > 0");
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    for (const Vehicle<Loc> &veh : vehicles_) require(veh.stops.empty(), "close_day needs a finished day");
    // The next day's places ("roles": a vehicle's start and its first trip or charge, day_s later)
    // and each charger's sessions then.
    std::vector<double> first_busy(vehicles_.size(), NEVER);
    for (const Leg<Loc> &g : legs_) first_busy[g.vehicle] = std::min(first_busy[g.vehicle], g.depart_s);
    std::vector<std::vector<std::pair<double, double>>> taken(charger_loc_.size());
    for (const ChargingSession &c : sessions_) {
        first_busy[c.vehicle] = std::min(first_busy[c.vehicle], c.start_s);
        taken[c.charger].emplace_back(c.start_s + day_s, c.end_s + day_s);
    }
    std::vector<std::int32_t> roles(vehicles_.size());
    for (std::int32_t r = 0; r < nv; ++r) roles[r] = r;
    std::stable_sort(roles.begin(), roles.end(), [&](std::int32_t a, std::int32_t b) { return first_busy[a] < first_busy[b]; });
    // Earliest role first: the vehicle of its kind that gets to its start with the most energy
    // (its own vehicle on a tie), charging on the way where that helps; small fleets try every
    // vehicle, large ones the role's own.
    next_day_as_.assign(vehicles_.size(), -1);
    std::vector<bool> placed(vehicles_.size(), false);
    for (const std::int32_t r : roles) {
        const double ready_by = first_busy[r] + day_s;
        std::int32_t best_v = -1;
        NightPlan best;
        for (std::int32_t v = 0; v < nv; ++v) {
            if (placed[v] || !same_kind(vehicles_[v].spec, vehicles_[r].spec) || (nv > kSwapFleet && v != r)) continue;
            if (first_busy[v] == NEVER && v != r && first_busy[r] == NEVER) continue;  // idle stays idle
            const NightPlan plan = night_plan(v, home_[r], ready_by, taken);
            const bool better = best_v < 0 || plan.home_kwh > best.home_kwh + kEnergyTolerance ||
                                (plan.home_kwh > best.home_kwh - kEnergyTolerance && v == r && best_v != r);
            if (better) best_v = v, best = plan;
        }
        if (best_v < 0) best_v = r, best = night_plan(r, home_[r], ready_by, taken);
        placed[best_v] = true;
        next_day_as_[best_v] = r;
        Vehicle<Loc> &veh = vehicles_[best_v];
        if (best.charger >= 0) {
            drive_to(best_v, charger_loc_[best.charger], veh.departed + space_.time(veh.from, charger_loc_[best.charger]));
            events_.push_back({best.start, StopKind::charge, best_v, best.charger});
            sessions_.push_back({best_v, best.charger, best.start, best.end, best.kwh, true});
            veh.soc_kwh = std::min(veh.spec.battery_kwh, veh.soc_kwh + best.kwh);
            veh.departed = best.end;
            charger_free_s_[best.charger] = best.end;
        }
        drive_to(best_v, home_[r], veh.departed + space_.time(veh.from, home_[r]));  // where that role starts
    }
}

template <class Space>
void Fleet<Space>::assign_batch(const std::vector<std::int32_t> &pending_ids, std::vector<std::int32_t> &still_pending) {
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    std::vector<std::int32_t> ids;
    std::vector<Insertion> options;  // per candidate ride, one per vehicle
    double top = 0.0;
    for (std::int32_t id : pending_ids) {
        bool any = false, battery = false;
        const std::size_t first = options.size();
        for (std::int32_t v = 0; v < nv; ++v) {
            options.push_back(best_insertion(v, id, NEVER));
            any = any || options.back().vehicle >= 0;
            battery = battery || options.back().blocked_by_battery;
            if (options.back().vehicle >= 0) top = std::max(top, options.back().cost);
        }
        if (any) {
            ids.push_back(id);
        } else {
            options.resize(first);
            reject(id, battery ? Rejection::battery : Rejection::no_vehicle);
        }
    }
    const std::int64_t rows = static_cast<std::int64_t>(ids.size()), cols = nv + rows;
    if (rows == 0) return;
    // Rides x (vehicles + one "wait" column per ride): the wait costs more than any set of
    // insertions, so the matching places as many rides as it can, then the cheapest way.
    const double wait = (top + 1.0) * static_cast<double>(rows + 1);
    std::vector<double> cost(static_cast<std::size_t>(rows * cols), NEVER);
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int32_t v = 0; v < nv; ++v) cost[r * cols + v] = options[r * nv + v].cost;
        cost[r * cols + nv + r] = wait;
    }
    const std::vector<std::int64_t> match = solve_assignment(cost.data(), rows, cols);
    for (std::int64_t r = 0; r < rows; ++r) {
        if (match[r] < nv)
            insert(ids[r], options[r * nv + match[r]]);
        else
            still_pending.push_back(ids[r]);
    }
}

template <class Space>
void Fleet<Space>::set_in_service(std::int32_t v, bool in_service, std::vector<std::int32_t> &unassigned) {
    require(v >= 0 && v < static_cast<std::int32_t>(vehicles_.size()), "unknown vehicle " + std::to_string(v));
    Vehicle<Loc> &veh = vehicles_[v];
    veh.in_service = in_service;
    if (in_service) {
        maybe_charge(v);
        return;
    }
    turn(v);
    std::vector<std::int32_t> dropped;  // rides not picked up yet
    for (const Stop<Loc> &s : veh.stops)
        if (s.kind == StopKind::pickup && records_[s.id].status == RideStatus::assigned) dropped.push_back(s.id);
    std::vector<Stop<Loc>> kept;
    for (const Stop<Loc> &s : veh.stops) {
        const bool ride = s.kind == StopKind::pickup || s.kind == StopKind::dropoff;
        if (s.kind != StopKind::reposition && !(ride && std::count(dropped.begin(), dropped.end(), s.id) > 0))
            kept.push_back(s);
    }
    for (std::int32_t id : dropped) {
        records_[id] = RideRecord{};
        unassigned.push_back(id);
    }
    veh.stops = std::move(kept);
    replan(v);
}

template <class Space>
void Fleet<Space>::update(std::int32_t v, const Loc &at, double ready_s, std::vector<std::int32_t> &broken) {
    require(v >= 0 && v < static_cast<std::int32_t>(vehicles_.size()), "unknown vehicle " + std::to_string(v));
    require(space_.valid(at), "the vehicle's position is not a location of the space");
    require(!std::isnan(ready_s) && ready_s >= now_, "ready_s must not be before the current time");
    Vehicle<Loc> &veh = vehicles_[v];
    drive_to(v, at, std::max(veh.departed, now_));
    veh.departed = ready_s;
    replan(v);
    list_broken(veh, broken);
    requeue_chargers();
}

template <class Space>
void Fleet<Space>::requeue_chargers() {
    // A charge stop is always its vehicle's last and only stop. Per charger, in order of start,
    // each waits for the session before it (running or planned) to end.
    std::vector<double> free(charger_loc_.size(), -NEVER);
    for (const ChargingSession &c : sessions_) free[c.charger] = std::max(free[c.charger], c.end_s);
    std::vector<std::pair<double, std::int32_t>> queue;  // (start, vehicle)
    for (std::int32_t c = 0; c < static_cast<std::int32_t>(charger_loc_.size()); ++c) {
        queue.clear();
        for (std::int32_t v = 0; v < static_cast<std::int32_t>(vehicles_.size()); ++v) {
            const auto &stops = vehicles_[v].stops;
            if (!stops.empty() && stops.back().kind == StopKind::charge && stops.back().id == c)
                queue.emplace_back(stops.back().start, v);
        }
        std::sort(queue.begin(), queue.end());
        for (const auto &[start, v] : queue) {
            Stop<Loc> &s = vehicles_[v].stops.back();
            if (s.earliest < free[c]) {
                s.earliest = free[c];
                replan(v);
            }
            free[c] = vehicles_[v].stops.back().depart;
        }
        charger_free_s_[c] = std::max(charger_free_s_[c], free[c]);
    }
}

template <class Space>
void Fleet<Space>::set_space(Space space, std::vector<std::int32_t> &broken) {
    require(same_locations(space_, space), "the new travel times must cover the same locations");
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    for (std::int32_t v = 0; v < nv; ++v) turn(v);
    space_ = std::move(space);
    for (std::int32_t v = 0; v < nv; ++v) {
        replan(v);
        list_broken(vehicles_[v], broken);
    }
    requeue_chargers();
}

template <class Space>
double Fleet<Space>::driving_s(const Vehicle<Loc> &veh) const {
    if (veh.cruising()) return 0.0;  // a reposition trip serves no ride
    double total = 0.0;
    Loc at = veh.from;
    for (const Stop<Loc> &s : veh.stops) {
        total += space_.time(at, s.loc);
        at = s.loc;
    }
    return total;
}

template <class Space>
bool Fleet<Space>::keeps_limits(const Vehicle<Loc> &veh,
                                const std::vector<std::pair<std::int32_t, double>> &longest_ride,
                                const std::vector<double> &planned_start) const {
    std::vector<std::pair<std::int32_t, double>> picked;  // rides picked up in the plan, when
    double plan_m = 0.0;
    Loc at = veh.from;
    for (std::size_t k = 0; k < veh.stops.size(); ++k) {
        const Stop<Loc> &s = veh.stops[k];
        plan_m += space_.distance(at, s.loc);
        at = s.loc;
        const double latest = std::max(s.latest, planned_start[k]);
        if (s.start > latest + kTolerance || s.load > veh.spec.seats || s.load < 0) return false;
        if (s.kind == StopKind::pickup) picked.emplace_back(s.id, s.start);
        if (s.kind != StopKind::dropoff) continue;
        for (const auto &[id, pick] : picked) {
            if (id != s.id) continue;
            double limit = rides_[id].max_ride_s;
            for (const auto &[ride, longest] : longest_ride)
                if (ride == id) limit = longest;
            if (s.start - pick > limit + kTolerance) return false;
        }
    }
    return plan_m + to_charger_m(at) <= budget_m(veh) + kTolerance;
}

template <class Space>
std::pair<double, double> Fleet<Space>::replace_plans(const std::vector<std::int32_t> &vs,
                                                      const std::vector<std::vector<PlanStop>> &plans) {
    require(vs.size() == plans.size(), "one plan per vehicle");
    const std::int32_t nv = static_cast<std::int32_t>(vehicles_.size());
    std::vector<char> listed(static_cast<std::size_t>(nv), 0);
    // The ride stops the vehicles hold now, by (ride, is pickup), and whose they are.
    std::vector<std::pair<std::pair<std::int32_t, bool>, Stop<Loc>>> held;
    std::vector<std::int32_t> owner;
    for (std::int32_t v : vs) {
        require(v >= 0 && v < nv && !listed[v], "replace_plans needs distinct known vehicles");
        listed[v] = 1;
        const Vehicle<Loc> &veh = vehicles_[v];
        require(veh.in_service, "vehicle " + std::to_string(v) + " is out of service");
        for (const Stop<Loc> &s : veh.stops) {
            require(s.kind != StopKind::charge, "vehicle " + std::to_string(v) + " is on its way to charge");
            if (s.kind == StopKind::reposition) continue;
            held.push_back({{s.id, s.kind == StopKind::pickup}, s});
            owner.push_back(v);
        }
    }
    auto find = [&](std::int32_t ride, bool pickup) -> std::ptrdiff_t {
        for (std::size_t k = 0; k < held.size(); ++k)
            if (held[k].first == std::make_pair(ride, pickup)) return static_cast<std::ptrdiff_t>(k);
        return -1;
    };
    std::vector<char> used(held.size(), 0);
    for (std::size_t p = 0; p < plans.size(); ++p) {
        for (std::size_t k = 0; k < plans[p].size(); ++k) {
            const PlanStop &ps = plans[p][k];
            const std::ptrdiff_t at = find(ps.ride, ps.pickup);
            require(at >= 0 && !used[at], "plans must hold each stop of the vehicles' rides exactly once");
            used[at] = 1;
            if (ps.pickup) continue;
            const bool picked_here = std::any_of(plans[p].begin(), plans[p].begin() + static_cast<std::ptrdiff_t>(k),
                                                 [&](const PlanStop &q) { return q.pickup && q.ride == ps.ride; });
            const bool on_board = find(ps.ride, true) < 0;
            require(picked_here || (on_board && owner[at] == vs[p]),
                    "ride " + std::to_string(ps.ride) + ": its drop-off must follow its pickup in the same plan");
        }
    }
    require(std::all_of(used.begin(), used.end(), [](char u) { return u != 0; }),
            "plans must hold each stop of the vehicles' rides exactly once");
    // A promise a slowdown already broke is kept as planned now, not later: the latest time of a
    // late stop and the ride limit of a ride planned longer than it become what is planned.
    std::vector<std::pair<std::int32_t, double>> longest_ride;
    for (const auto &[key, stop] : held) {
        if (!key.second) continue;
        const Stop<Loc> &drop = held[find(key.first, false)].second;
        longest_ride.emplace_back(key.first, std::max(rides_[key.first].max_ride_s, drop.start - stop.start));
    }
    // Saved before the vehicles turn, so that a refused replacement leaves the fleet as it was.
    std::vector<Vehicle<Loc>> saved;
    std::vector<std::pair<std::int32_t, RideRecord>> records;
    const std::size_t legs = legs_.size();
    for (std::int32_t v : vs) saved.push_back(vehicles_[v]);
    for (const auto &h : held) records.emplace_back(h.first.first, records_[h.first.first]);
    double before = 0.0;
    for (std::int32_t v : vs) {
        turn(v);
        replan(v);
        before += driving_s(vehicles_[v]);
    }
    double after = 0.0;
    bool ok = true;
    for (std::size_t p = 0; p < vs.size(); ++p) {
        Vehicle<Loc> &veh = vehicles_[vs[p]];
        if (!plans[p].empty() || !veh.cruising()) veh.stops.clear();
        std::vector<double> planned_start(veh.stops.size(), -NEVER);  // a reposition trip kept: no limit raised
        for (const PlanStop &ps : plans[p]) {
            const Stop<Loc> &stop = held[find(ps.ride, ps.pickup)].second;
            veh.stops.push_back(stop);
            planned_start.push_back(stop.start);  // a promise already broken: no later than planned
            records_[ps.ride].vehicle = vs[p];
        }
        replan(vs[p]);
        ok = ok && keeps_limits(veh, longest_ride, planned_start);
        after += driving_s(veh);
    }
    if (!ok || after >= before - kTolerance) {
        for (std::size_t p = 0; p < vs.size(); ++p) vehicles_[vs[p]] = saved[p];
        for (const auto &[id, rec] : records) records_[id] = rec;
        legs_.resize(legs);
    } else {
        for (std::int32_t v : vs)
            if (vehicles_[v].stops.empty()) maybe_charge(v);
    }
    return {before, ok ? after : NEVER};
}

template <class Space>
bool Fleet<Space>::reposition(std::int32_t v, const Loc &to) {
    require(v >= 0 && v < static_cast<std::int32_t>(vehicles_.size()), "unknown vehicle " + std::to_string(v));
    require(space_.valid(to), "the reposition target is not a location of the space");
    Vehicle<Loc> &veh = vehicles_[v];
    if (!veh.in_service || !(veh.stops.empty() || veh.cruising())) return false;
    const auto [at, t] = position(v);
    const double need = space_.distance(veh.from, at) + space_.distance(at, to) + to_charger_m(to);
    if (need > budget_m(veh)) return false;  // it could not reach a charger afterwards
    turn(v);
    veh.stops.clear();
    Stop<Loc> s;
    s.loc = to;
    s.kind = StopKind::reposition;
    veh.stops.push_back(s);
    replan(v);
    return true;
}

template class Fleet<NetworkSpace>;
template class Fleet<PlaneSpace>;

}  // namespace smartopt::dispatch
