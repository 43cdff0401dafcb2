#include "smartopt/dispatch/space.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <list>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace smartopt::dispatch {

namespace {

void check_values(const std::vector<double> &v, const char *name) {
    for (double x : v)
        if (!std::isfinite(x) || x < 0)
            throw std::invalid_argument(std::string(name) + " must hold finite values >= 0 (every node reachable)");
}

}  // namespace

NetworkSpace::NetworkSpace(std::int32_t n, std::vector<double> time_s, std::vector<double> distance_m,
                           std::vector<std::int64_t> link_offsets, std::vector<std::int32_t> link_heads,
                           std::vector<double> link_time_s, std::vector<double> link_length_m)
    : n_(n),
      time_(std::move(time_s)),
      dist_(std::move(distance_m)),
      offsets_(std::move(link_offsets)),
      heads_(std::move(link_heads)),
      link_time_(std::move(link_time_s)),
      link_length_(std::move(link_length_m)) {
    const std::size_t cells = static_cast<std::size_t>(n) * n;
    if (n <= 0 || time_.size() != cells) throw std::invalid_argument("time_s must be an (n, n) matrix, n >= 1");
    check_values(time_, "time_s");
    const bool links = !offsets_.empty();
    if (links) {
        if (offsets_.size() != static_cast<std::size_t>(n) + 1 || offsets_.front() != 0 ||
            offsets_.back() != static_cast<std::int64_t>(heads_.size()) || link_time_.size() != heads_.size() ||
            link_length_.size() != heads_.size() || !std::is_sorted(offsets_.begin(), offsets_.end()))
            throw std::invalid_argument("links must be CSR arrays over the n nodes");
        for (auto h : heads_)
            if (!valid(h)) throw std::invalid_argument("link heads must be node indices");
        check_values(link_time_, "link_time_s");
        check_values(link_length_, "link_length_m");
    }
    if (!dist_.empty()) {
        if (dist_.size() != cells) throw std::invalid_argument("distance_m must be an (n, n) matrix");
        check_values(dist_, "distance_m");
    } else if (!links) {
        dist_ = time_;
    } else {  // lengths of the fastest paths: per target, nodes in order of their time to it
        dist_.assign(cells, 0.0);
        std::vector<Loc> order(n);
        for (Loc b = 0; b < n; ++b) {
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(), [&](Loc u, Loc v) { return time(u, b) < time(v, b); });
            for (Loc a : order) {
                if (a == b) continue;
                const std::int64_t k = fastest_link(a, b);
                dist_[index(a, b)] = k < 0 ? 0.0 : link_length_[k] + dist_[index(heads_[k], b)];
            }
        }
    }
}

// The hierarchy's search spaces from the most recently used origins and towards the most recently
// used destinations, `capacity` of each kept (least recently used evicted first). A pair's answer
// is meet() of its two spaces: exactly an uncached query's, whatever is kept.
class NetworkSpace::SearchCache {
  public:
    using Space = network::ContractionHierarchy::SearchSpace;

    SearchCache(const network::ContractionHierarchy &h, std::size_t capacity)
        : h_(h),
          from_(h, false, capacity),
          to_(h, true, capacity),
          labels_(h.num_nodes()),
          position_(static_cast<std::size_t>(h.num_nodes()), -1) {}

    // Time (s) and length (m) of a fastest path a -> b, and its original links into `links` when
    // not null.
    std::pair<double, double> answer(Loc a, Loc b, std::vector<std::int32_t> *links) {
        std::lock_guard<std::mutex> lock(mutex_);
        const Space &forward = from_.get(a, labels_);
        const Space &backward = to_.get(b, labels_);
        return h_.meet(forward, backward, position_, links);
    }

  private:
    class Lru {
      public:
        Lru(const network::ContractionHierarchy &h, bool backward, std::size_t capacity)
            : h_(h), backward_(backward), capacity_(capacity) {}

        const Space &get(Loc v, network::ContractionHierarchy::Labels &labels) {
            auto it = where_.find(v);
            if (it != where_.end()) {
                order_.splice(order_.begin(), order_, it->second);
                return order_.front().second;
            }
            if (order_.size() < capacity_) {
                order_.emplace_front();
            } else {  // reuse the least recently used space's storage
                where_.erase(order_.back().first);
                order_.splice(order_.begin(), order_, std::prev(order_.end()));
            }
            order_.front().first = v;
            h_.search_space(v, backward_, labels, order_.front().second);
            where_[v] = order_.begin();
            return order_.front().second;
        }

      private:
        const network::ContractionHierarchy &h_;
        bool backward_;
        std::size_t capacity_;
        std::list<std::pair<Loc, Space>> order_;
        std::unordered_map<Loc, std::list<std::pair<Loc, Space>>::iterator> where_;
    };

    const network::ContractionHierarchy &h_;
    std::mutex mutex_;
    Lru from_, to_;
    network::ContractionHierarchy::Labels labels_;
    std::vector<std::int32_t> position_;
};

NetworkSpace::NetworkSpace(std::shared_ptr<const network::ContractionHierarchy> hierarchy, std::size_t cache_spaces)
    : n_(hierarchy ? hierarchy->num_nodes() : 0), hierarchy_(std::move(hierarchy)) {
    if (!hierarchy_) throw std::invalid_argument("hierarchy must be given");
    if (cache_spaces < 1) throw std::invalid_argument("cache_spaces must be >= 1");
    if (!hierarchy_->strongly_connected())
        throw std::invalid_argument("the network is disconnected: some node cannot reach another");
    searches_ = std::make_shared<SearchCache>(*hierarchy_, cache_spaces);
}

void NetworkSpace::bound_by(std::vector<double> node_xy, double max_speed_mps) {
    if (node_xy.size() != 2 * static_cast<std::size_t>(n_))
        throw std::invalid_argument("node_xy must hold (x, y) for each of the n nodes");
    for (double c : node_xy)
        if (!std::isfinite(c)) throw std::invalid_argument("node_xy must be finite");
    if (!(max_speed_mps > 0)) throw std::invalid_argument("max_speed_mps must be > 0 (inf: no bound)");
    xy_ = std::move(node_xy);
    slowness_ = 1.0 / max_speed_mps;
}

double NetworkSpace::least_time(Loc a, Loc b) const {
    if (xy_.empty()) return 0.0;
    const std::size_t i = 2 * static_cast<std::size_t>(a), j = 2 * static_cast<std::size_t>(b);
    return std::hypot(xy_[i] - xy_[j], xy_[i + 1] - xy_[j + 1]) * slowness_;
}

double NetworkSpace::time(Loc a, Loc b) const {
    return hierarchy_ ? searches_->answer(a, b, nullptr).first : time_[index(a, b)];
}

double NetworkSpace::distance(Loc a, Loc b) const {
    return hierarchy_ ? searches_->answer(a, b, nullptr).second : dist_[index(a, b)];
}

std::int64_t NetworkSpace::fastest_link(Loc a, Loc b) const {
    std::int64_t best = -1;
    double best_time = std::numeric_limits<double>::infinity();
    for (std::int64_t k = offsets_[a]; k < offsets_[a + 1]; ++k) {
        const double t = link_time_[k] + time(heads_[k], b);
        if (t < best_time) {
            best_time = t;
            best = k;
        }
    }
    return best;
}

std::pair<NetworkSpace::Loc, double> NetworkSpace::turn_point(Loc from, Loc to, double departed, double now) const {
    if (hierarchy_) {  // along the path answered
        std::vector<std::int32_t> links;
        const double total = searches_->answer(from, to, &links).first;
        Loc at = from;
        double t = departed;
        for (std::size_t k = 0; k < links.size() && t < now; ++k) {
            t += hierarchy_->link_time(links[k]);
            at = hierarchy_->link_head(links[k]);
        }
        if (at == to || t < now) return {to, departed + total};
        return {at, t};
    }
    Loc at = from;
    double t = departed;
    for (std::int32_t steps = 0; !offsets_.empty() && at != to && t < now && steps < n_; ++steps) {
        const std::int64_t k = fastest_link(at, to);
        if (k < 0) break;
        t += link_time_[k];
        at = heads_[k];
    }
    if (at == to || t < now) return {to, departed + time(from, to)};
    return {at, t};
}

PlaneSpace::PlaneSpace(double speed_mps, bool manhattan) : speed_(speed_mps), manhattan_(manhattan) {
    if (!(speed_mps > 0) || !std::isfinite(speed_mps)) throw std::invalid_argument("speed_mps must be > 0");
}

bool PlaneSpace::valid(Loc a) { return std::isfinite(a.x) && std::isfinite(a.y); }

double PlaneSpace::distance(Loc a, Loc b) const {
    const double dx = std::abs(a.x - b.x), dy = std::abs(a.y - b.y);
    return manhattan_ ? dx + dy : std::hypot(dx, dy);
}

std::pair<PlaneSpace::Loc, double> PlaneSpace::turn_point(Loc from, Loc to, double departed, double now) const {
    const double total = distance(from, to);
    const double done = (now - departed) * speed_;
    if (done <= 0) return {from, departed};
    if (done >= total) return {to, departed + total / speed_};
    const double f = done / total;  // along the straight line: a shortest path in both metrics
    return {{from.x + f * (to.x - from.x), from.y + f * (to.y - from.y)}, now};
}

}  // namespace smartopt::dispatch
