// An event-driven fleet of shared shuttles: each vehicle follows a list of stops (pickups, drop-offs,
// charging) in a space (space.hpp). Rides are placed by cheapest feasible insertion, one at a time
// or in batches matched by a linear sum assignment (assignment.hpp). Every plan keeps each rider's
// promises: pickup within its window, drop-off by its deadline, at most `max_ride_s` on board; seats
// are never exceeded and the battery never drops below its reserve (a plan must leave enough energy
// to reach the nearest charger afterwards).
//
// Insertion of a ride into a vehicle with L stops tries every pickup position and every drop-off
// position after it, O(L^2) with O(1) checks each: forward time slacks (how much delay each stop and
// all after it can absorb, waits included), running seat counts and the distance budget. The
// cheapest candidate that passes is then replayed in full, O(L), to check ride times of riders not
// yet on board, which the slacks leave out.
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace smartopt::dispatch {

inline constexpr double NEVER = std::numeric_limits<double>::infinity();

template <class Loc>
struct Ride {
    double time_s = 0.0;  // when requested
    Loc origin{}, destination{};
    std::int32_t passengers = 1;
    double pickup_earliest_s = 0.0, pickup_latest_s = NEVER;
    double dropoff_latest_s = NEVER;
    double max_ride_s = NEVER;  // longest time on board
};

enum class RideStatus : std::int8_t { pending = 0, assigned = 1, on_board = 2, delivered = 3, rejected = 4 };
enum class Rejection : std::int8_t { none = 0, no_vehicle = 1, battery = 2 };

struct RideRecord {
    std::int32_t vehicle = -1;
    double pickup_s = NEVER, dropoff_s = NEVER;  // planned until done, then actual
    RideStatus status = RideStatus::pending;
    Rejection reason = Rejection::none;
};

struct VehicleSpec {
    std::int32_t seats = 1;
    double battery_kwh = NEVER;  // NEVER: no battery limit
    double kwh_per_km = 0.0;
    double soc0 = 1.0;  // initial charge, fraction of battery_kwh
};

struct FleetOptions {
    double boarding_s = 0.0;       // dwell at each pickup and drop-off
    double reserve = 0.1;          // battery floor, fraction
    double charge_below = 0.3;     // an idle vehicle below this fraction goes to charge...
    double charge_to = 0.9;        // ...up to this fraction
    double wait_weight = 0.0;      // insertion cost per s of the new rider's wait (s of driving)
    double delay_weight = 0.0;     // ...and per s of riders' delay (drop-off after earliest pickup + boarding + direct drive)
};

// reposition: an idle vehicle drives toward expected demand; a ride placed in it replaces the trip.
enum class StopKind : std::int8_t { pickup = 0, dropoff = 1, charge = 2, reposition = 3 };

template <class Loc>
struct Stop {
    Loc loc{};
    StopKind kind = StopKind::pickup;
    std::int32_t id = -1;  // ride, or charger for a charge stop, -1 for a reposition
    double earliest = 0.0, latest = NEVER;
    double service = 0.0;                        // boarding or charging time (s)
    double charge_kwh = 0.0;                     // energy to charge at a charge stop
    double eta = 0.0, start = 0.0, depart = 0.0;  // planned arrival, service start, departure (s)
    std::int32_t load = 0;                       // riders' seats taken after the stop
    double slack = NEVER;                        // delay on arrival this stop and all after absorb (s)
};

// A driven leg: from the vehicle's last place to a stop or to where it turned.
template <class Loc>
struct Leg {
    std::int32_t vehicle;
    double depart_s, arrive_s;
    Loc from, to;
    double distance_m;
    std::int32_t load;  // riders' seats taken while driving it
};

// What happened at a stop: a pickup or drop-off of a ride, the start of charging at a charger, or
// the end of a reposition trip (id -1).
struct Event {
    double time_s;
    StopKind kind;
    std::int32_t vehicle, id;
};

// A charging session; `overnight`: planned by close_day to refill the battery for the next day.
struct ChargingSession {
    std::int32_t vehicle, charger;
    double start_s, end_s, energy_kwh;
    bool overnight = false;
};

// The power each charger can draw (kW), piecewise constant over slots of `slot_s` seconds that
// repeat every cycle of slots x slot_s (e.g. 96 quarter hours: the same every day). A charging
// vehicle draws all of it.
class ChargerPower {
public:
    // kw: chargers x slots, row-major; every value finite and >= 0, every charger > 0 in some slot.
    ChargerPower(std::vector<double> kw, std::size_t chargers, double slot_s);
    std::size_t chargers() const { return chargers_; }
    // Energy (kWh) charger c delivers over [from_s, to_s).
    double energy_kwh(std::int32_t c, double from_s, double to_s) const;
    // When charging at c from start_s has delivered kwh.
    double end_of_charge(std::int32_t c, double start_s, double kwh) const;

private:
    void check(std::int32_t c, double t) const;            // a charger and a finite time, else invalid_argument
    double delivered_kwh(std::int32_t c, double t) const;  // from time 0 to t
    std::vector<double> kw_, cum_kwh_;  // cum_kwh_: per charger, slots + 1 prefix sums of one cycle
    std::size_t chargers_ = 0, slots_ = 1;
    double slot_s_ = 1.0;
};

template <class Loc>
struct Vehicle {
    VehicleSpec spec;
    Loc from{};            // where it last was...
    double departed = 0.0;  // ...and when it left (or can leave) it
    std::vector<Stop<Loc>> stops;
    std::int32_t load = 0;
    double soc_kwh = NEVER;
    bool in_service = true;
    bool check_rides = false;  // some rider planned here is not on board yet and has a ride limit
    bool cruising() const { return stops.size() == 1 && stops.front().kind == StopKind::reposition; }
};

// The best place found for a ride: cost = added driving time + wait_weight x the ride's wait +
// delay_weight x the delay it adds (s: its own, drop-off after its earliest pickup, boarding and
// direct drive, and the later drop-offs of the riders already planned). Exact when travel times
// obey the triangle inequality (shortest times).
struct Insertion {
    std::int32_t vehicle = -1, pickup_after = 0, dropoff_after = 0;
    double cost = NEVER, pickup_s = NEVER, dropoff_s = NEVER;
    bool blocked_by_battery = false;
};

// One stop of a new plan for replace_plans and assign_plans: the pickup or the drop-off of a ride.
struct PlanStop {
    std::int32_t ride;
    bool pickup;
};

// Ride-pooling's search limits (pool_trips).
struct PoolingOptions {
    std::int32_t max_trip = 3;         // most rides in one trip
    std::int32_t per_request = 30;     // each ride's cheapest vehicles kept (the request-vehicle edges)...
    std::int32_t per_vehicle = 8;      // ...and each vehicle's cheapest of the rides it kept
    std::int32_t trips_per_size = 64;  // most trips of one size per vehicle
    std::int64_t exact_steps = 100000;  // the exact search's budget per part of a batch (trips looked at)
    std::int32_t threads = 1;          // worker threads; the trips do not depend on them
    bool reassign = false;             // rides assigned but not yet picked up may move (and must stay served)
};

// One batch's candidate trips. Trip t: vehicle[t] takes rides[ride_offsets[t]:ride_offsets[t + 1]]
// (ride ids) at cost[t] (s: the driving time it adds, wait_weight x the new riders' waits and
// delay_weight x the delay it adds, as in Insertion),
// and then follows plan[plan_offsets[t]:plan_offsets[t + 1]], every ride stop it will have.
struct TripTable {
    std::vector<std::int32_t> vehicle;
    std::vector<double> cost;
    std::vector<std::int64_t> ride_offsets{0}, plan_offsets{0};
    std::vector<std::int32_t> rides;
    std::vector<PlanStop> plan;
    // The best choice of trips found (none sharing a vehicle or a ride; every reassigned ride, most
    // rides, then least cost): per independent part, the optimum if `proven`, else the best the
    // search found within its budget (see choose_trips).
    std::vector<std::int32_t> choice;
    std::vector<bool> proven;               // per trip: whether its part's choice is optimal
    // Rides assigned but not yet picked up that the trips may move, and their vehicles now: each
    // must be in the choice (its vehicle's own trip, keeping them all, is always among the trips).
    std::vector<std::int32_t> reassigned, reassigned_from;
    std::vector<std::int32_t> unplaceable;  // rides no vehicle can take now...
    std::vector<bool> battery;              // ...and whether a battery stopped one that could
};

// Fills t.choice and t.proven from t's trips (vehicle, cost, rides): per part (trips linked by a
// vehicle or a ride), the greedy choice (largest trips first, then cheapest per ride; in a part
// with reassigned rides, the best choice the search finds among the trips that keep their
// vehicle's own, sub-part by sub-part) improved by a depth-first search over the part's rides;
// `steps` (trips looked at) is the budget of all of a part's searches; proven if the last one
// finished. Every reassigned ride is served. Throws std::invalid_argument on malformed trips.
void choose_trips(TripTable &t, std::int64_t steps);

template <class Space>
class Fleet {
public:
    using Loc = typename Space::Loc;

    // chargers: locations and power; vehicles start at `start`.
    Fleet(Space space, std::vector<VehicleSpec> vehicles, std::vector<Loc> start, std::vector<Loc> charger_loc,
          ChargerPower charger_power, FleetOptions options);

    // Adds a ride (time not before the previous one); returns its id.
    std::int32_t add_ride(const Ride<Loc> &ride);
    // Moves the clock to `now` (s, not backwards): stops whose service starts by then are done.
    void advance(double now);
    // The cheapest feasible insertion of ride `id` into any vehicle, at the current time.
    Insertion best_insertion(std::int32_t id) const;
    // Cheapest insertion of ride `id` into vehicle `v` costing less than `bound`.
    Insertion best_insertion(std::int32_t v, std::int32_t id, double bound) const;
    // Commits an insertion found at the current time.
    void insert(std::int32_t id, const Insertion &at);
    void reject(std::int32_t id, Rejection reason);
    // Places the pending rides in one batch: a least-cost matching of rides to vehicles (one new
    // ride per vehicle), rides no vehicle can take rejected, the others left pending.
    void assign_batch(const std::vector<std::int32_t> &pending_ids, std::vector<std::int32_t> &still_pending);
    // Takes vehicle v out of service (it drops its riders on board, takes no new rides; the rides
    // it was to pick up are unassigned, pending again, and listed in `unassigned`) or back.
    void set_in_service(std::int32_t v, bool in_service, std::vector<std::int32_t> &unassigned);
    // Vehicle v reports it is at `at` and can leave at `ready_s` (>= now): a position update, a
    // delay or a repaired breakdown. Its plan is re-timed; rides whose promises now break are
    // listed in `broken` (they stay assigned).
    void update(std::int32_t v, const Loc &at, double ready_s, std::vector<std::int32_t> &broken);
    // Places the rides added so far that are requested by `until` (s): each on arrival when
    // batch_s == 0, else in batches at the multiples of batch_s; then the clock moves to `until`
    // (if finite). A day: add every ride, place_until(inf), finish().
    void place_until(double until, double batch_s);
    // Runs to the end of every plan (charging included).
    void finish();
    // After finish(), the day as one of a series of equal days (`day_s` long): the next day needs a
    // vehicle of each one's kind at each one's start, with its initial state of charge, by its first
    // trip (day_s after this day's). Earliest first, each such place takes the vehicle that gets there
    // with the most energy, charging on the way at the charger that leaves it the most, in time that
    // charger has free then (this day's sessions, day_s later, stay). What it cannot get back stays a
    // deficit. next_day_as()[v]: whose place vehicle v takes.
    void close_day(double day_s);
    const std::vector<std::int32_t> &next_day_as() const { return next_day_as_; }
    // New travel times from now on (a time-of-day change): legs under way finish to where they can
    // turn, then every plan is re-timed in `space` (same locations). Rides whose promises now break
    // are listed in `broken` (they stay assigned).
    void set_space(Space space, std::vector<std::int32_t> &broken);
    // Re-optimisation: replaces the plans of `vehicles` (distinct, in service, not charging) by
    // `plans`, which must hold exactly the ride stops those vehicles had (a ride on board keeps its
    // vehicle; a ride not yet picked up may move, pickup before drop-off). Committed only if every
    // promise, seat and battery limit holds and the driving time goes down by more than 1e-6 s.
    // Returns the driving time (s) of the old and of the new plans (NEVER if they break a limit).
    std::pair<double, double> replace_plans(const std::vector<std::int32_t> &vehicles,
                                            const std::vector<std::vector<PlanStop>> &plans);
    // Sends idle vehicle v (no stops, or repositioning) toward `to`; false if it is not idle or its
    // battery could not reach a charger from there.
    bool reposition(std::int32_t v, const Loc &to);
    // High-capacity ride-pooling (Alonso-Mora et al., PNAS 2017) for the pending rides `ids`: the
    // request-vehicle graph (each ride's per_request cheapest vehicles by insertion cost, kept only
    // where it is among the vehicle's per_vehicle cheapest), the request-request graph (two rides
    // an empty vehicle at either's origin could serve together) and each vehicle's trips built up
    // by size: a trip is tried when all its sub-trips one ride smaller are feasible, by inserting
    // the missing ride into each at its cheapest place. With `reassign`, rides vehicles have yet to
    // pick up join the batch: trips are built on each plan without them, and on the plan as it
    // is (its own trip keeps them all). Then the choice of trips (choose_trips), each reassigned
    // ride served. Changes nothing: assign_plans commits.
    TripTable pool_trips(const std::vector<std::int32_t> &ids, const PoolingOptions &options) const;
    // Gives vehicles `vs` (distinct, in service, not on their way to charge) new plans: each stop
    // in one plan at most; a plan holds stops of its vehicle's rides, both stops of pending rides
    // and of rides another vehicle (not on its way to charge) has yet to pick up, which move (that
    // vehicle, listed or not, gives them up); pickup before drop-off; every ride stop of a listed
    // vehicle in some plan. Committed per group of vehicles linked by moved rides, all or none: a
    // group where a plan breaks a promise, seat or battery limit stays as it was (a promise a
    // slowdown already broke is kept as planned now, as replace_plans does). Returns whether each
    // plan was taken.
    std::vector<bool> assign_plans(const std::vector<std::int32_t> &vs, const std::vector<std::vector<PlanStop>> &plans);
    // Rebalancing toward unserved rides `ids` (the first 1,000 distinct): idle vehicles (in service,
    // no stops or repositioning), each ride offered its `per_request` nearest (at most 10), matched
    // at least total time to the rides' origins and sent there (as reposition does). Returns the
    // pairs (vehicle, ride) sent.
    std::vector<std::pair<std::int32_t, std::int32_t>> rebalance_toward(const std::vector<std::int32_t> &ids,
                                                                        std::int32_t per_request);

    double now() const { return now_; }
    const Space &space() const { return space_; }
    const std::vector<Vehicle<Loc>> &vehicles() const { return vehicles_; }
    const std::vector<Ride<Loc>> &rides() const { return rides_; }
    const std::vector<RideRecord> &records() const { return records_; }
    const std::vector<Leg<Loc>> &legs() const { return legs_; }
    const std::vector<ChargingSession> &sessions() const { return sessions_; }
    const std::vector<Event> &events() const { return events_; }
    const std::vector<Loc> &charger_locations() const { return charger_loc_; }
    // Where vehicle v is (or next can turn) at the current time, and when it can leave it (not before now).
    std::pair<Loc, double> position(std::int32_t v) const;

private:
    double budget_m(const Vehicle<Loc> &veh) const;
    double to_charger_m(const Loc &at) const;
    void retime(Vehicle<Loc> &veh) const;  // times, loads and slacks of the stops, from `from`/`departed`
    void replan(std::int32_t v);  // retime, then the rides' planned times in their records
    // Vehicle v's plan from where it can turn now (reposition trips dropped), to insert into.
    Vehicle<Loc> turned(std::int32_t v) const;
    // The cheapest insertion, costing less than `bound`, of ride `id` into plan `veh` (vehicle v),
    // which can turn at `at0` at `t0`.
    Insertion cheapest_insertion(const Vehicle<Loc> &veh, std::int32_t v, const Loc &at0, double t0,
                                 std::int32_t id, double bound) const;
    // Whether a vehicle that can turn at `at` at `t` (s) might reach ride id's origin in time (false
    // only if it cannot).
    bool reachable(const Loc &at, double t, std::int32_t id) const;
    // Adds ride id's stops to plan `veh` where `at` says, and retimes it.
    void put(Vehicle<Loc> &veh, std::int32_t id, const Insertion &at) const;
    // Whether rides a and b fit in one empty vehicle with the most seats, starting at either's origin now.
    bool shareable(std::int32_t a, std::int32_t b) const;
    double driving_s(const Vehicle<Loc> &veh) const;  // from `from` through every stop
    // Promises, seats and battery of a planned vehicle; `longest_ride` overrides rides' ride limits and
    // stop k may start as late as `planned_start[k]` when that is after its latest time (a promise a
    // slowdown already broke is kept as planned, not later; the stops keep their own latest times).
    bool keeps_limits(const Vehicle<Loc> &veh, const std::vector<std::pair<std::int32_t, double>> &longest_ride,
                      const std::vector<double> &planned_start) const;
    bool replay_ok(const Vehicle<Loc> &veh, const Loc &at, double t, const Ride<Loc> &r, std::int32_t i,
                   std::int32_t j) const;
    void turn(std::int32_t v);  // moves `from` to the turn point of the leg under way
    void drive_to(std::int32_t v, const Loc &to, double arrive);
    void maybe_charge(std::int32_t v);
    // Chargers the vehicle reaches above its reserve, and the nearest (every plan leaves enough for it).
    std::vector<std::int32_t> reachable_chargers(const Vehicle<Loc> &veh) const;
    // Vehicle v's way to `home` by `ready_by`, straight or by the charger that leaves it the most
    // energy there (charger -1: straight), avoiding the next day's sessions in `taken`.
    struct NightPlan {
        std::int32_t charger = -1;
        double start = 0.0, end = 0.0, kwh = 0.0;  // charging
        double home_kwh = 0.0, home_s = 0.0;       // energy and time at `home`
    };
    NightPlan night_plan(std::int32_t v, const Loc &home, double ready_by,
                         const std::vector<std::vector<std::pair<double, double>>> &taken) const;
    void requeue_chargers();  // after re-timing: no two vehicles on one charger at once
    void place_now(std::int32_t id);

    Space space_;
    FleetOptions options_;
    std::vector<Vehicle<Loc>> vehicles_;
    std::int32_t most_seats_ = 1;  // of any vehicle
    std::vector<Loc> charger_loc_;
    ChargerPower power_;
    std::vector<double> charger_free_s_;
    std::vector<Loc> home_;  // where each vehicle starts the day
    std::vector<std::int32_t> next_day_as_;  // close_day's matching
    std::vector<Ride<Loc>> rides_;
    std::vector<RideRecord> records_;
    std::vector<Leg<Loc>> legs_;
    std::vector<ChargingSession> sessions_;
    std::vector<Event> events_;
    double now_ = 0.0;
    std::size_t next_ride_ = 0;  // place_until's progress: the next ride to place...
    std::vector<std::int32_t> pending_;  // ...the rides waiting for a batch...
    double next_batch_s_ = -1.0;          // ...and when the next batch is (-1: not set)
};

}  // namespace smartopt::dispatch
