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

// The hierarchy's rows of the most recently used origins and destinations (least recently used
// evicted first). A pair a -> b is answered by a's row from it if kept, else by b's row towards it
// if kept, else both rows are computed (the next questions from a or towards b find one) and a's
// answers. Either row holds a fastest path and its length, so every answer is exact.
class NetworkSpace::RowCache {
  public:
    using Row = network::ContractionHierarchy::Row;

    RowCache(const network::ContractionHierarchy &h, std::size_t capacity)
        : from_(h, false, std::max<std::size_t>(1, capacity / 2)),
          to_(h, true, std::max<std::size_t>(1, capacity - capacity / 2)) {}

    // f(row, other) with the cache locked: the row answering a -> b and the pair's other node in it.
    template <class F>
    auto with_pair(Loc a, Loc b, F f) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (const Row *r = from_.find(a)) return f(*r, b);
        if (const Row *r = to_.find(b)) return f(*r, a);
        to_.get(b);
        return f(from_.get(a), b);
    }

    std::vector<std::int32_t> &links() { return links_; }  // scratch for path unpacking, under the lock

  private:
    class Lru {
      public:
        Lru(const network::ContractionHierarchy &h, bool to_node, std::size_t capacity)
            : h_(h), to_node_(to_node), capacity_(capacity) {}

        const Row *find(Loc v) {
            auto it = where_.find(v);
            if (it == where_.end()) return nullptr;
            order_.splice(order_.begin(), order_, it->second);
            return &order_.front();
        }

        const Row &get(Loc v) {
            if (const Row *r = find(v)) return *r;
            if (order_.size() < capacity_) {
                order_.emplace_front();
            } else {  // reuse the least recently used row's storage
                where_.erase(order_.back().node);
                order_.splice(order_.begin(), order_, std::prev(order_.end()));
            }
            h_.one_to_all(v, to_node_, order_.front());
            where_[v] = order_.begin();
            return order_.front();
        }

      private:
        const network::ContractionHierarchy &h_;
        bool to_node_;
        std::size_t capacity_;
        std::list<Row> order_;
        std::unordered_map<Loc, std::list<Row>::iterator> where_;
    };

    std::mutex mutex_;
    Lru from_, to_;
    std::vector<std::int32_t> links_;
};

NetworkSpace::NetworkSpace(std::shared_ptr<const network::ContractionHierarchy> hierarchy, std::size_t cache_rows)
    : n_(hierarchy ? hierarchy->num_nodes() : 0), hierarchy_(std::move(hierarchy)) {
    if (!hierarchy_) throw std::invalid_argument("hierarchy must be given");
    if (cache_rows < 2) throw std::invalid_argument("cache_rows must be >= 2");
    if (!hierarchy_->strongly_connected())
        throw std::invalid_argument("the network is disconnected: some node cannot reach another");
    rows_ = std::make_shared<RowCache>(*hierarchy_, cache_rows);
}

double NetworkSpace::time(Loc a, Loc b) const {
    if (!hierarchy_) return time_[index(a, b)];
    return rows_->with_pair(
        a, b, [&](const RowCache::Row &r, Loc other) { return r.time[static_cast<std::size_t>(hierarchy_->rank(other))]; });
}

double NetworkSpace::distance(Loc a, Loc b) const {
    if (!hierarchy_) return dist_[index(a, b)];
    return rows_->with_pair(a, b, [&](const RowCache::Row &r, Loc other) {
        return r.length[static_cast<std::size_t>(hierarchy_->rank(other))];
    });
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
    if (hierarchy_) {  // along the path of the row answering from -> to
        return rows_->with_pair(from, to, [&](const RowCache::Row &r, Loc other) -> std::pair<Loc, double> {
            auto &links = rows_->links();
            hierarchy_->path_links(r, other, links);
            Loc at = from;
            double t = departed;
            for (std::size_t k = 0; k < links.size() && t < now; ++k) {
                t += hierarchy_->link_time(links[k]);
                at = hierarchy_->link_head(links[k]);
            }
            if (at == to || t < now) return {to, departed + r.time[static_cast<std::size_t>(hierarchy_->rank(other))]};
            return {at, t};
        });
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
