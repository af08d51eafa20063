// fastfair::parallel: deterministic use of several cores by the O(n) kernels.
//
// A kernel splits its input into chunks whose boundaries depend on n only (never on
// the number of threads) and merges the per-chunk results in chunk order, so its
// output is bit-identical whatever the thread count. for_chunks hands contiguous
// groups of chunks to at most max_threads() threads (the calling thread takes the
// first group); a thread that cannot be started is replaced by the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <vector>

namespace fastfair {
namespace parallel {

// Inputs below this size run on the calling thread (starting a thread costs ~50 us).
constexpr std::size_t kThreadsAbove = 1000000 - 1;

// The hardware's threads (at most 8), or FASTFAIR_THREADS when set to a number >= 1
// (FASTFAIR_THREADS=1: every call on the calling thread).
inline int default_threads() noexcept {
    if (const char* s = std::getenv("FASTFAIR_THREADS")) {
        const long v = std::strtol(s, nullptr, 10);
        if (v >= 1) return static_cast<int>(std::min(v, 64L));
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(std::min(hw, 8u));
}

// Upper bound on the threads of one call (>= 1). Process-wide; set by tests.
inline std::atomic<int>& max_threads() noexcept {
    static std::atomic<int> v{default_threads()};
    return v;
}

// Calls f(c) for every chunk c in [0, n_chunks). f must not throw.
template <class F>
void for_chunks(std::size_t n_chunks, bool worth_threads, const F& f) {
    std::size_t t = worth_threads ? static_cast<std::size_t>(std::max(1, max_threads().load()))
                                  : 1;
    t = std::min(t, n_chunks);
    if (t <= 1) {
        for (std::size_t c = 0; c < n_chunks; ++c) f(c);
        return;
    }
    const auto group = [&](std::size_t g) {
        const std::size_t lo = n_chunks * g / t, hi = n_chunks * (g + 1) / t;
        for (std::size_t c = lo; c < hi; ++c) f(c);
    };
    std::vector<std::thread> pool;
    std::vector<std::size_t> not_started;
    pool.reserve(t - 1);
    for (std::size_t g = 1; g < t; ++g) {
        try {
            pool.emplace_back(group, g);
        } catch (const std::system_error&) {
            not_started.push_back(g);
        }
    }
    group(0);
    for (const std::size_t g : not_started) group(g);
    for (auto& th : pool) th.join();
}

}  // namespace parallel
}  // namespace fastfair
