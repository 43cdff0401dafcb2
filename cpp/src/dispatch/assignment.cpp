#include "smartopt/dispatch/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace smartopt::dispatch {

namespace {

constexpr double INF = std::numeric_limits<double>::infinity();

// The solver's state: row-major costs, the column of each row (x), the row of each column (y) and
// the column prices v; the reduced cost of (i, j) is c[i][j] - v[j] - u[i] >= 0, zero on matched pairs.
class Lapjv {
public:
    Lapjv(const double *cost, int rows, int cols)
        : c_(cost), n_(rows), m_(cols), x_(rows, -1), y_(cols, -1), v_(cols, 0.0), d_(cols), pred_(cols), order_(cols) {}

    std::vector<int> solve() {
        std::vector<int> free_rows = reduce();
        if (m_ > 1)
            for (int round = 0; round < 2 && !free_rows.empty(); ++round) free_rows = reduce_rows(free_rows);
        for (int f : free_rows) augment(f);
        return x_;
    }

private:
    const double *row(int i) const { return c_ + static_cast<std::int64_t>(i) * m_; }

    // Initial prices and matches. Square: rows are reduced by their least cost u, columns by their
    // least remaining cost (v), and each row takes a free column where its reduced cost is zero.
    // Rectangular: prices stay 0 (a column left unmatched must end at price 0) and each row takes
    // its cheapest column if free. Either way every matched pair has the least reduced cost of its
    // row. Returns the rows left free.
    std::vector<int> reduce() {
        std::vector<double> u(n_);
        for (int i = 0; i < n_; ++i) u[i] = *std::min_element(row(i), row(i) + m_);
        if (n_ == m_) {
            std::fill(v_.begin(), v_.end(), INF);
            for (int i = 0; i < n_; ++i)
                for (int j = 0; j < m_; ++j) v_[j] = std::min(v_[j], row(i)[j] - u[i]);
        }
        std::vector<int> free_rows;
        for (int i = 0; i < n_; ++i) {
            const double *ci = row(i);
            for (int j = 0; j < m_ && x_[i] < 0; ++j) {
                if (y_[j] < 0 && ci[j] - u[i] == v_[j]) {
                    x_[i] = j;
                    y_[j] = i;
                }
            }
            if (x_[i] < 0) free_rows.push_back(i);
        }
        return free_rows;
    }

    // Augmenting row reduction: a free row takes its cheapest column (lowering that column's price to
    // its second-best margin), evicting the column's row, which tries again at once if the price
    // fell, else waits for the next round. Bounded, so floating-point ties cannot cycle.
    std::vector<int> reduce_rows(std::vector<int> todo) {
        std::vector<int> still_free;
        std::int64_t budget = 8 * static_cast<std::int64_t>(n_) + 64;
        std::size_t k = 0;
        while (k < todo.size()) {
            const int i = todo[k++];
            if (--budget < 0) {
                still_free.push_back(i);
                continue;
            }
            const double *ci = row(i);
            double u1 = ci[0] - v_[0], u2 = INF;
            int j1 = 0, j2 = -1;
            for (int j = 1; j < m_; ++j) {
                const double h = ci[j] - v_[j];
                if (h < u2) {
                    if (h >= u1) {
                        u2 = h;
                        j2 = j;
                    } else {
                        u2 = u1;
                        j2 = j1;
                        u1 = h;
                        j1 = j;
                    }
                }
            }
            int evicted = y_[j1];
            const bool price_fell = u1 < u2;
            if (price_fell) {
                v_[j1] -= u2 - u1;
            } else if (evicted >= 0) {
                j1 = j2;
                evicted = y_[j2];
            }
            x_[i] = j1;
            y_[j1] = i;
            if (evicted >= 0) {
                x_[evicted] = -1;
                if (price_fell)
                    todo[--k] = evicted;
                else
                    still_free.push_back(evicted);
            }
        }
        return still_free;
    }

    // Dijkstra from free row f over the columns by reduced cost until a free column is reached; the
    // prices of the columns settled before the last distance level move so reduced costs stay >= 0,
    // then the path is flipped. `order_` holds settled columns [0, low), the columns at the current
    // least distance [low, up) and the rest [up, m).
    void augment(int f) {
        const double *cf = row(f);
        for (int j = 0; j < m_; ++j) {
            d_[j] = cf[j] - v_[j];
            pred_[j] = f;
            order_[j] = j;
        }
        int low = 0, up = 0, settled = 0, end = -1;
        double dmin = 0.0;
        while (end < 0) {
            if (up == low) {
                settled = low;
                dmin = d_[order_[up++]];
                for (int k = up; k < m_; ++k) {
                    const int j = order_[k];
                    const double h = d_[j];
                    if (h <= dmin) {
                        if (h < dmin) {
                            up = low;
                            dmin = h;
                        }
                        std::swap(order_[k], order_[up++]);
                    }
                }
                for (int k = low; k < up && end < 0; ++k)
                    if (y_[order_[k]] < 0) end = order_[k];
                if (end >= 0) break;
            }
            const int j1 = order_[low++];
            const int i = y_[j1];
            const double *ci = row(i);
            const double u = ci[j1] - v_[j1] - dmin;
            for (int k = up; k < m_; ++k) {
                const int j = order_[k];
                const double h = ci[j] - v_[j] - u;
                if (h < d_[j]) {
                    d_[j] = h;
                    pred_[j] = i;
                    if (h == dmin) {
                        if (y_[j] < 0) {
                            end = j;
                            break;
                        }
                        std::swap(order_[k], order_[up++]);
                    }
                }
            }
        }
        for (int k = 0; k < settled; ++k) {
            const int j = order_[k];
            v_[j] += d_[j] - dmin;
        }
        for (int j = end;;) {
            const int i = pred_[j];
            y_[j] = i;
            std::swap(j, x_[i]);
            if (i == f) break;
        }
    }

    const double *c_;
    int n_, m_;
    std::vector<int> x_, y_;
    std::vector<double> v_, d_;
    std::vector<int> pred_, order_;
};

}  // namespace

std::vector<std::int64_t> solve_assignment(const double *cost, std::int64_t rows, std::int64_t cols) {
    if (rows < 0 || cols < 0 || rows > cols) throw std::invalid_argument("the cost matrix needs rows <= columns");
    if (cols > std::numeric_limits<int>::max() / 2) throw std::invalid_argument("the cost matrix is too large");
    if (rows == 0) return {};
    const std::int64_t size = rows * cols;
    double lo = INF, hi = -INF;
    bool forbidden = false;
    for (std::int64_t k = 0; k < size; ++k) {
        const double c = cost[k];
        if (std::isnan(c) || c == -INF) throw std::invalid_argument("matrix contains invalid numeric entries");
        if (c == INF) {
            forbidden = true;
        } else {
            lo = std::min(lo, c);
            hi = std::max(hi, c);
        }
    }
    if (lo == INF) throw std::invalid_argument("cost matrix is infeasible");
    // Forbidden pairs cost `big`: more than any assignment of allowed pairs can differ by, so the
    // optimum uses one only when every assignment must.
    std::vector<double> allowed;
    const double big = static_cast<double>(rows) * (hi - lo) + (hi - lo) + std::abs(hi) + 1.0;
    if (forbidden) {
        if (!std::isfinite(big)) throw std::invalid_argument("the finite costs span too wide a range");
        allowed.assign(cost, cost + size);
        for (double &c : allowed)
            if (c == INF) c = big;
    }
    const double *c = forbidden ? allowed.data() : cost;
    const std::vector<int> col = Lapjv(c, static_cast<int>(rows), static_cast<int>(cols)).solve();
    std::vector<std::int64_t> out(col.begin(), col.end());
    for (std::int64_t i = 0; i < rows; ++i)
        if (cost[i * cols + out[i]] == INF) throw std::invalid_argument("cost matrix is infeasible");
    return out;
}

}  // namespace smartopt::dispatch
