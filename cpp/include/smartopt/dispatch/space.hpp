// The spaces vehicles drive in: travel time (s) and distance (m) between locations, and where a
// vehicle driving a leg can first change course.
// - NetworkSpace: locations are road-network nodes; travel times from an all-pairs matrix of
//   shortest times. Given the network's links, distances are the lengths of those fastest paths and
//   a vehicle can turn at the next node it reaches; from a bare matrix it can only turn at stops.
//   Or, for networks too large for n x n matrices, from a contraction hierarchy: point-to-point
//   queries on the search spaces of recent origins and destinations.
// - PlaneSpace: locations are points in the plane (m), Euclidean or Manhattan distances at a
//   constant speed; a vehicle can turn anywhere (it drives the straight line, a shortest path in
//   both metrics).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "smartopt/network/ch.hpp"

namespace smartopt::dispatch {

class NetworkSpace {
public:
    using Loc = std::int32_t;

    // time_s: (n, n) row-major shortest travel times. Links (CSR over tail nodes: offsets n + 1,
    // heads, link times s, lengths m) may be empty; then distance_m (n, n) must be given, or is taken
    // as the time matrix when empty too. Throws std::invalid_argument on inconsistent sizes, NaN,
    // negative or infinite values (a network where some node cannot reach another).
    NetworkSpace(std::int32_t n, std::vector<double> time_s, std::vector<double> distance_m,
                 std::vector<std::int64_t> link_offsets, std::vector<std::int32_t> link_heads,
                 std::vector<double> link_time_s, std::vector<double> link_length_m);

    // Fastest paths on `hierarchy`, the upward search spaces of the `cache_spaces` (>= 1) most
    // recently used origins and destinations kept. Throws std::invalid_argument unless every node
    // reaches every other. Answers do not depend on what is kept (each is what an uncached query
    // gives); the cache is guarded by a mutex.
    NetworkSpace(std::shared_ptr<const network::ContractionHierarchy> hierarchy, std::size_t cache_spaces);

    std::int32_t size() const { return n_; }
    bool valid(Loc a) const { return a >= 0 && a < n_; }
    // Whether times obey the triangle inequality: shortest paths (links or a hierarchy), not a bare matrix.
    bool metric() const { return hierarchy_ != nullptr || !offsets_.empty(); }
    // Bounds travel times from below by the straight line between nodes at `node_xy` ((n, 2) row-major,
    // m) driven at `max_speed_mps`, the fastest straight-line speed of any link (> 0; inf: no bound).
    void bound_by(std::vector<double> node_xy, double max_speed_mps);
    // A lower bound on time(a, b) (s), cheap to compute: 0 without bound_by.
    double least_time(Loc a, Loc b) const;
    double time(Loc a, Loc b) const;
    double distance(Loc a, Loc b) const;
    // A vehicle that left `from` at `departed` (s) toward `to`: the first node on its path it reaches
    // at or after `now`, and when. Without links: `to` and its arrival time.
    std::pair<Loc, double> turn_point(Loc from, Loc to, double departed, double now) const;

private:
    std::size_t index(Loc a, Loc b) const { return static_cast<std::size_t>(a) * n_ + b; }
    // The out-link of `a` that starts a fastest path to `b` (least link time + time onward), or -1.
    std::int64_t fastest_link(Loc a, Loc b) const;
    class SearchCache;

    std::int32_t n_;
    std::shared_ptr<const network::ContractionHierarchy> hierarchy_;
    std::shared_ptr<SearchCache> searches_;
    std::vector<double> time_, dist_;
    std::vector<double> xy_;  // node coordinates (m) for least_time, and 1 / the fastest speed (s/m)
    double slowness_ = 0.0;
    std::vector<std::int64_t> offsets_;
    std::vector<std::int32_t> heads_;
    std::vector<double> link_time_, link_length_;
};

struct Point {
    double x = 0.0, y = 0.0;
};

class PlaneSpace {
public:
    using Loc = Point;

    // speed in m/s (> 0); manhattan: |dx| + |dy| instead of the straight line.
    PlaneSpace(double speed_mps, bool manhattan);

    static bool valid(Loc a);
    static bool metric() { return true; }
    double least_time(Loc a, Loc b) const { return time(a, b); }
    double distance(Loc a, Loc b) const;
    double time(Loc a, Loc b) const { return distance(a, b) / speed_; }
    std::pair<Loc, double> turn_point(Loc from, Loc to, double departed, double now) const;

private:
    double speed_;
    bool manhattan_;
};

}  // namespace smartopt::dispatch
