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

#include "fastfair/config.hpp"
#include "fastfair/rng.hpp"
#include "fastfair/summation.hpp"

namespace fastfair {

namespace detail {

// Written as two selects: GCC turns std::min/std::max here into unpredictable branches.
inline double clip01(double v) noexcept {
    v = v > 0.0 ? v : 0.0;
    return v < 1.0 ? v : 1.0;
}

// sum_i clip01(v_i - b): branch-free so the compiler can vectorise it.
FASTFAIR_NOINLINE inline double clipped_sum(const double* v, std::size_t n, double b) noexcept {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += clip01(v[i] - b);
    return s;
}

// What is known about f on the current bracket (lo, hi).
struct Bracket {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    double n_one = 0.0;     // entries equal to 1 on the whole bracket
    double free_sum = 0.0;  // sum of y over entries linear (y - lambda) on the bracket
    double n_free = 0.0;
};

// Moves every value of src[0:n] that the bracket decides into the accumulators and
// the undecided ones (a breakpoint strictly inside) to dst; returns how many.
// dst may equal src (in-place compaction). Branch-free: the data are random.
FASTFAIR_NOINLINE inline std::size_t partition_undecided(const double* src, std::size_t n, double* dst,
                                       Bracket& br) noexcept {
    std::size_t kept = 0;
    double n_one = 0.0, free_sum = 0.0, n_free = 0.0;
    const double lo = br.lo, hi = br.hi;
    for (std::size_t t = 0; t < n; ++t) {
        const double up = src[t], down = up - 1.0;
        const bool zero = up <= lo;
        const bool one = down >= hi;
        const bool lin = (down <= lo) & (up >= hi);
        // multiplications by 0/1, not selects: GCC would branch on these
        const double lin01 = static_cast<double>(lin);
        n_one += static_cast<double>(one);
        free_sum += up * lin01;
        n_free += lin01;
        dst[kept] = up;
        kept += static_cast<std::size_t>(!(zero | one | lin));
    }
    br.n_one += n_one;
    br.free_sum += free_sum;
    br.n_free += n_free;
    return kept;
}

// Narrows the bracket at pivot b given fb = f(b); returns true if b solves f = k.
inline bool narrow(Bracket& br, double b, double fb, double k) noexcept {
    if (fb == k) return true;
    if (fb > k)
        br.lo = b;
    else
        br.hi = b;
    return false;
}

// Solves f(lambda) = k on the bracket, the undecided values being v[0:w] (modified).
inline double solve_bracket(double* v, std::size_t w, double k, Bracket& br, Rng& rng) {
    std::size_t pass = 0;
    while (w > 0) {
        double b = std::numeric_limits<double>::quiet_NaN();
        if (pass++ % 2 == 0) {
            // Root of the model where every undecided value is linear.
            double w_sum = 0.0;
            for (std::size_t t = 0; t < w; ++t) w_sum += v[t];
            const double est =
                (br.n_one + br.free_sum + w_sum - k) / (br.n_free + static_cast<double>(w));
            if (est > br.lo && est < br.hi) b = est;
        }
        if (!(b > br.lo && b < br.hi)) {
            // A random breakpoint of an undecided value (expected O(n) overall).
            const double up = v[rng.next_u64() % w], down = up - 1.0;
            const bool up_in = up > br.lo && up < br.hi;
            const bool down_in = down > br.lo && down < br.hi;
            b = (up_in && (!down_in || (rng.next_u64() & 1))) ? up : down;
        }
        const double fb = br.n_one + br.free_sum - br.n_free * b + clipped_sum(v, w, b);
        if (narrow(br, b, fb, k)) return b;
        w = partition_undecided(v, w, v, br);
    }
    if (br.n_free > 0.0) {
        const double lam = (br.n_one + br.free_sum - k) / br.n_free;
        return std::min(std::max(lam, br.lo), br.hi);
    }
    // f is constant (= k) on the bracket: any point of it is a solution.
    return std::isfinite(br.hi) ? br.hi : br.lo;
}

}  // namespace detail

// The threshold lambda of the projection; requires 0 < k < n and finite y.
// work is scratch space (resized to n; reuse it across calls to avoid allocation).
// If n_free is given it receives the number of entries strictly between 0 and 1 at
// the solution (as counted by the bracket).
inline double capped_simplex_threshold(const double* y, std::size_t n, double k,
                                       std::vector<double>& work,
                                       double* n_free = nullptr) {
    work.resize(n);
    detail::Bracket br;
    Rng rng(0x5EEDF00DULL);  // fixed: the result must not depend on luck
    std::size_t w = n;
    constexpr std::size_t kSampleAbove = 2048;
    if (n > kSampleAbove) {
        const std::size_t kSample = std::min<std::size_t>(4096, n / 16);
        // Floyd-Rivest style start: the thresholds of a random sample for targets
        // k_s -/+ 3 standard deviations bracket lambda with high probability, so a
        // single pass over y decides almost every entry.
        std::vector<double> sample(kSample);
        for (auto& s : sample) s = y[rng.next_u64() % n];
        const double ns = static_cast<double>(kSample);
        const double ks = k * ns / static_cast<double>(n);
        const double d = 3.0 * std::sqrt(ks * (1.0 - ks / ns)) + 1.0;
        std::vector<double> scratch;
        auto sample_threshold = [&](double target) {
            scratch.assign(sample.begin(), sample.end());
            detail::Bracket sb;
            return detail::solve_bracket(scratch.data(), kSample, target, sb, rng);
        };
        const double p_lo = ks + d < ns ? sample_threshold(ks + d) : br.lo;
        const double p_hi = ks - d > 0.0 ? sample_threshold(ks - d) : br.hi;
        // f at both pivots in one pass (an infinite pivot gives n or 0 exactly).
        double f_lo = 0.0, f_hi = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            f_lo += detail::clip01(y[i] - p_lo);
            f_hi += detail::clip01(y[i] - p_hi);
        }
        if (f_lo == k || f_hi == k) {
            const double b = f_lo == k ? p_lo : p_hi;
            if (n_free) *n_free = static_cast<double>(n);  // only a Newton step size
            return b;
        }
        if (f_lo < k) {
            br.hi = p_lo;
        } else if (f_hi > k) {
            br.lo = p_hi;
        } else {
            br.lo = p_lo;
            br.hi = p_hi;
        }
        w = detail::partition_undecided(y, n, work.data(), br);
    } else {
        std::copy(y, y + n, work.begin());
    }
    const double lam = detail::solve_bracket(work.data(), w, k, br, rng);
    if (n_free) *n_free = br.n_free > 0.0 ? br.n_free : static_cast<double>(n);
    return lam;
}

namespace detail {

// Above this |threshold| the projection is re-solved on y - pivot (see below). Below
// it, y_i - lambda is exact for the free entries (Sterbenz, |lambda| >= 2) or off by
// at most ulp(2), the rounding of lambda itself is removed by the common offset of
// finish_projection, and an entry within ulp(lambda) <= 2^-42 (2.3e-13) of a kink may
// be clipped on the wrong side of it: every entry stays within ~2.3e-13 of exact.
constexpr double kShiftAbove = 1024.0;

// The threshold of the projection of z, given that it lies in [-1, 0] (true for
// z = y - y_(ceil k), see project_capped_simplex). z must be finite. work is scratch.
inline double threshold_in_unit_bracket(const double* z, std::size_t n, double k,
                                        std::vector<double>& work) {
    work.resize(n);
    Bracket br;
    br.lo = -1.0;
    br.hi = 0.0;
    Rng rng(0x5EEDF00DULL);
    const std::size_t w = partition_undecided(z, n, work.data(), br);
    return solve_bracket(work.data(), w, k, br, rng);
}

// Writes x = clip(z - lam) for the threshold lam of the projection (z(i) gives the
// shifted input) and removes the rounding residual of sum x without breaking ties:
// every correction is a function of an entry's value only, so equal inputs give
// bit-identical outputs. First Newton steps on lam over the free entries (0 < x < 1),
// then, once lam cannot move by less than its ulp, one common offset r / n_free added
// to every free entry. The result has sum x == k to within about eps * k.
template <class Z>
inline void finish_projection(const Z& z, std::size_t n, double k, double lam, double* x) {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    double r = 0.0, n_free = 0.0, free_mass = 0.0;
    // x = clip(z - lam); returns the residual k - sum x (accurate sum: four interleaved
    // Kahan lanes, every x_i in [0, 1]) and counts the free entries.
    const auto clip_and_sum = [&](bool from_z, double delta) {
        // Two simple loops: fused, GCC turns the clip into unpredictable branches.
        if (from_z) {
            for (std::size_t i = 0; i < n; ++i) x[i] = clip01(z(i) - lam);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const double xi = x[i];
                const bool fr = (xi > 0.0) & (xi < 1.0);
                x[i] = fr ? clip01(xi + delta) : xi;
            }
        }
        // The ones are counted (exactly) and only the free entries are summed, so the
        // residual (k - #ones) - sum(free) is resolved to the ulps of the free mass,
        // not of k (k - #ones is exact: a multiple of ulp(k), below k).
        constexpr std::size_t L = 4;
        double sum[L] = {}, comp[L] = {}, nf[L] = {}, no[L] = {};
        const std::size_t n_main = n - n % L;
        for (std::size_t i = 0; i < n_main; i += L) {
            for (std::size_t l = 0; l < L; ++l) {
                const double xi = x[i + l];
                const double fr = static_cast<double>((xi > 0.0) & (xi < 1.0));
                nf[l] += fr;
                no[l] += static_cast<double>(xi >= 1.0);
                const double yk = xi * fr - comp[l];
                const double t = sum[l] + yk;
                comp[l] = (t - sum[l]) - yk;
                sum[l] = t;
            }
        }
        NeumaierSum total;
        double nfree = 0.0, nones = 0.0;
        for (std::size_t i = n_main; i < n; ++i) {
            const bool fr = (x[i] > 0.0) & (x[i] < 1.0);
            if (fr) total.add(x[i]);
            nfree += static_cast<double>(fr);
            nones += static_cast<double>(x[i] >= 1.0);
        }
        for (std::size_t l = 0; l < L; ++l) {
            total.add(sum[l]);
            total.add(-comp[l]);
            nfree += nf[l];
            nones += no[l];
        }
        r = (k - nones) - total.value();
        n_free = nfree;
        free_mass = k - nones;
    };
    clip_and_sum(true, 0.0);
    // a residual this small is left alone (eps of the free mass, or of 1 if none)
    const auto good = [&] { return eps * std::max(std::fabs(free_mass), 1e-300); };
    for (int round = 0; round < 4 && std::fabs(r) > good() && n_free > 0.0; ++round) {
        const double next = lam - r / n_free;
        if (next == lam) break;  // lam moves in ulps: the offset below does the rest
        const double old_r = r;
        const double old_lam = lam;
        lam = next;
        clip_and_sum(true, 0.0);
        if (std::fabs(r) > std::fabs(old_r)) {  // a step across a kink: undo, stop
            lam = old_lam;
            clip_and_sum(true, 0.0);
            break;
        }
    }
    for (int round = 0; round < 2 && std::fabs(r) > good() && n_free > 0.0; ++round)
        clip_and_sum(false, r / n_free);
}

}  // namespace detail

// x = argmin ||x - y||_2 over C_k. Throws std::invalid_argument on bad k or NaN/inf.
//
// Shift invariance. The projection of y + c (c a constant) is that of y, but in
// floating point x_i = y_i - lambda loses everything below ulp(lambda): at
// |lambda| = 1e16 every free entry would be wrong by up to 1. So when the threshold
// found on y is not small (|lambda| > 1024, or max |y| > 2^900 where sums may
// overflow), the
// problem is solved again on z = y - pivot with pivot = y_(ceil k), the ceil(k)-th
// largest entry. Then lambda_z lies in [-1, 0] (at most ceil(k) - 1 entries exceed the
// pivot, so f(0) < k, and ceil(k) entries are >= it, so f(-1) >= k; both hold in
// floating point too, as y_i >= pivot gives y_i - pivot >= 0), every free entry has
// |z_i| < 1 and is computed exactly when |pivot| >= 2 (Sterbenz), and entries whose
// shift overflows are saturated and clipped to exactly 0 or 1, as they must be. Equal inputs
// give bit-identical outputs (see finish_projection).
inline void project_capped_simplex(const double* y, std::size_t n, double k, double* x,
                                   std::vector<double>& work) {
    if (!(k >= 0.0) || k > static_cast<double>(n))
        throw std::invalid_argument("k must lie in [0, n]");
    double big = 0.0;  // max |y_i|
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(y[i])) throw std::invalid_argument("y must be finite");
        big = std::max(big, std::fabs(y[i]));
    }
    if (k == 0.0) {
        std::fill(x, x + n, 0.0);
        return;
    }
    if (k == static_cast<double>(n)) {
        std::fill(x, x + n, 1.0);
        return;
    }
    // no sum of the bracket search can overflow below 2^900 (n < 2^64)
    const double lam =
        big <= 0x1.0p+900 ? capped_simplex_threshold(y, n, k, work) : big;
    if (std::fabs(lam) <= detail::kShiftAbove) {
        detail::finish_projection([y](std::size_t i) { return y[i]; }, n, k, lam, x);
        return;
    }
    // pivot = y_(ceil k): 0-based rank ceil(k) - 1 in decreasing order
    work.assign(y, y + n);
    const auto rank = static_cast<std::size_t>(std::ceil(k)) - 1;
    std::nth_element(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(rank),
                     work.end(), [](double a, double b) { return a > b; });
    const double pivot = work[rank];
    // z = y - pivot, saturated at +-2^1000: an overflow to +-inf would give inf * 0 =
    // NaN in the bracket's sums; a saturated entry is decided (0 or 1) all the same
    constexpr double kSat = 0x1.0p+1000;
    for (std::size_t i = 0; i < n; ++i) x[i] = std::min(std::max(y[i] - pivot, -kSat), kSat);
    const double lam_z = detail::threshold_in_unit_bracket(x, n, k, work);
    detail::finish_projection([y, pivot](std::size_t i) { return y[i] - pivot; }, n, k,
                              lam_z, x);
}

inline std::vector<double> project_capped_simplex(const std::vector<double>& y, double k) {
    std::vector<double> x(y.size());
    std::vector<double> work;
    project_capped_simplex(y.data(), y.size(), k, x.data(), work);
    return x;
}

}  // namespace fastfair
