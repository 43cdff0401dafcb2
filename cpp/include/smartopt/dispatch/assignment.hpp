// The linear sum assignment problem, solved exactly by the Jonker-Volgenant algorithm (LAPJV,
// Computing 38, 1987): an initial reduction (rows then columns on square matrices; rows only, from
// zero column prices, on rectangular ones) and two rounds of augmenting row reduction give most
// rows a column cheaply, then a Dijkstra shortest augmenting path (dense, O(n^2) each) places
// every row left free.
#pragma once

#include <cstdint>
#include <vector>

namespace smartopt::dispatch {

// The least-cost assignment of each of `rows` rows to a distinct one of `cols` columns
// (rows <= cols) of a row-major cost matrix; +inf entries are forbidden pairs. Returns the column of
// each row. Throws std::invalid_argument on NaN or -inf entries, rows > cols, or when no assignment
// avoids the forbidden pairs ("cost matrix is infeasible").
std::vector<std::int64_t> solve_assignment(const double *cost, std::int64_t rows, std::int64_t cols);

}  // namespace smartopt::dispatch
