// Deterministic parallel loop over independent rows, shared by the compiled modules.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace smartopt {

// Runs work(row, worker) for row in [0, n_rows) on up to n_threads threads (dynamic scheduling).
// Each worker index owns its scratch space, so results never depend on the thread count. The first
// exception thrown by a worker stops the loop and is rethrown here.
template <class Work>
void parallel_rows(int64_t n_rows, int n_threads, Work work) {
    const int n_workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_threads, n_rows)));
    if (n_workers == 1) {
        for (int64_t r = 0; r < n_rows; ++r) work(r, 0);
        return;
    }
    std::atomic<int64_t> next{0};
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n_workers));
    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(n_workers));
    auto worker = [&](int w) {
        try {
            for (int64_t r = next++; r < n_rows; r = next++) work(r, w);
        } catch (...) {
            errors[static_cast<size_t>(w)] = std::current_exception();
            next = n_rows;
        }
    };
    // Worker 0 is this thread; a thread the system refuses leaves its rows to the others.
    for (int w = 1; w < n_workers; ++w) {
        try {
            threads.emplace_back(worker, w);
        } catch (...) {  // std::system_error, or std::bad_alloc for the thread's state
            break;
        }
    }
    worker(0);
    for (auto &t : threads) t.join();
    for (auto &e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace smartopt
