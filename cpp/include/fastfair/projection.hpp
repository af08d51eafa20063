// Exact Euclidean projection onto the capped simplex
//     C_k = { x in R^n : 0 <= x_i <= 1, sum_i x_i = k },   0 <= k <= n.
//
// The projection is x_i = clip(y_i - lambda, 0, 1) for the threshold lambda solving
// f(lambda) = sum_i clip(y_i - lambda, 0, 1) = k (KKT conditions). f is continuous,
// non-increasing and piecewise linear with breakpoints y_i - 1 and y_i.
//
// lambda is found by bracketing: keep an interval (lo, hi) known to contain it and the
// "undecided" indices, those with a breakpoint strictly inside (lo, hi). Every other
// index is a constant 0, a constant 1, or linear (y_i - lambda) on the interval, and is
// folded into three accumulators. Each pass evaluates f at one pivot, halves the
// interval at it and drops the indices it decided. Pivots alternate between the root
// of the current linear model (fast in practice: usually 3-5 passes) and a random
// breakpoint of an undecided index (expected O(n) total, like quickselect).
// Once no breakpoint is left inside, f is linear there and lambda is solved exactly.
//
// Guarantees: 0 <= x_i <= 1 exactly; sum x (computed accurately) equals k to within
// a few ulps thanks to a final residual correction.
// Cost: O(n) expected time, O(n) scratch indices (reusable across calls).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fastfair/rng.hpp"
#include "fastfair/summation.hpp"

namespace fastfair {

namespace detail {
inline double clip01(double v) noexcept { return v <= 0.0 ? 0.0 : (v >= 1.0 ? 1.0 : v); }
}  // namespace detail

// The threshold lambda of the projection; requires 0 < k < n and finite y.
inline double capped_simplex_threshold(const double* y, std::size_t n, double k,
                                       std::vector<std::uint32_t>& work) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    work.resize(n);
    for (std::size_t i = 0; i < n; ++i) work[i] = static_cast<std::uint32_t>(i);
    std::size_t w = n;  // work[0:w] are the undecided indices

    double lo = -inf, hi = inf;
    double n_one = 0.0;     // indices equal to 1 on (lo, hi)
    NeumaierSum free_sum;   // sum of y over indices linear on (lo, hi)
    double n_free = 0.0;
    double w_sum = accurate_sum(y, n);  // sum of y over undecided indices
    Rng pivot_rng(0x5EEDF00DULL);       // fixed: the result must not depend on luck
    std::size_t pass = 0;

    while (w > 0) {
        double b = std::numeric_limits<double>::quiet_NaN();
        if (pass % 2 == 0) {
            // Root of the model where every undecided index is linear.
            const double est = (n_one + free_sum.value() + w_sum - k) /
                               (n_free + static_cast<double>(w));
            if (est > lo && est < hi) b = est;
        }
        if (!(b > lo && b < hi)) {
            const std::uint32_t j = work[pivot_rng.next_u64() % w];
            const double up = y[j], down = y[j] - 1.0;
            const bool up_in = up > lo && up < hi, down_in = down > lo && down < hi;
            b = (up_in && (!down_in || (pivot_rng.next_u64() & 1))) ? up : down;
        }
        ++pass;

        double fb = n_one + free_sum.value() - n_free * b;
        for (std::size_t t = 0; t < w; ++t) fb += detail::clip01(y[work[t]] - b);
        if (fb == k) return b;
        if (fb > k)
            lo = b;
        else
            hi = b;

        std::size_t kept = 0;
        w_sum = 0.0;
        for (std::size_t t = 0; t < w; ++t) {
            const std::uint32_t j = work[t];
            const double up = y[j], down = y[j] - 1.0;
            if (up <= lo) {
                // always 0 on the interval
            } else if (down >= hi) {
                n_one += 1.0;
            } else if (down <= lo && up >= hi) {
                free_sum.add(up);
                n_free += 1.0;
            } else {
                work[kept++] = j;
                w_sum += up;
            }
        }
        w = kept;
    }
    if (n_free > 0.0) {
        const double lam = (n_one + free_sum.value() - k) / n_free;
        return std::min(std::max(lam, lo), hi);
    }
    // f is constant (= k) on the interval: any point of it is a solution.
    return std::isfinite(hi) ? hi : lo;
}

// x = argmin ||x - y||_2 over C_k. Throws std::invalid_argument on bad k or NaN/inf.
inline void project_capped_simplex(const double* y, std::size_t n, double k, double* x,
                                   std::vector<std::uint32_t>& work) {
    if (!(k >= 0.0) || k > static_cast<double>(n))
        throw std::invalid_argument("k must lie in [0, n]");
    if (n > std::numeric_limits<std::uint32_t>::max())
        throw std::invalid_argument("y is too long (at most 2**32 - 1 entries)");
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(y[i])) throw std::invalid_argument("y must be finite");
    if (k == 0.0) {
        std::fill(x, x + n, 0.0);
        return;
    }
    if (k == static_cast<double>(n)) {
        std::fill(x, x + n, 1.0);
        return;
    }
    double lam = capped_simplex_threshold(y, n, k, work);
    for (std::size_t i = 0; i < n; ++i) x[i] = detail::clip01(y[i] - lam);

    // Residual correction: one Newton step on lambda over the free entries, then the
    // last few ulps go to the free entry with the most room.
    for (int round = 0; round < 2; ++round) {
        const double r = k - accurate_sum(x, n);
        if (r == 0.0) return;
        std::size_t n_free = 0, best = n;
        double best_room = -1.0;
        for (std::size_t i = 0; i < n; ++i) {
            if (x[i] > 0.0 && x[i] < 1.0) {
                ++n_free;
                const double room = std::min(x[i], 1.0 - x[i]);
                if (room > best_room) {
                    best_room = room;
                    best = i;
                }
            }
        }
        if (n_free == 0) return;
        if (round == 0 && std::fabs(r) > 4.0 * std::numeric_limits<double>::epsilon() * k) {
            lam -= r / static_cast<double>(n_free);
            for (std::size_t i = 0; i < n; ++i) x[i] = detail::clip01(y[i] - lam);
        } else {
            x[best] = detail::clip01(x[best] + r);
            return;
        }
    }
}

inline std::vector<double> project_capped_simplex(const std::vector<double>& y, double k) {
    std::vector<double> x(y.size());
    std::vector<std::uint32_t> work;
    project_capped_simplex(y.data(), y.size(), k, x.data(), work);
    return x;
}

}  // namespace fastfair
