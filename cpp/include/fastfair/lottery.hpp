// Fair repeated lotteries: the stateless pieces.
//
//  * deserved_seats: the seats each entrant deserves in one lottery,
//        d_i = min(1, c * s_i)   with c >= 0 chosen so that sum_i d_i = k
//    (k * s_i / sum(s) "water-filled" at 1: the excess share of anyone owed more than a
//    seat is spread over the others in proportion to their score). Score 0 gives 0.
//  * fair_probabilities_exact: the minimiser of || y - pi ||_2 over
//    { 0 <= pi <= 1, sum pi = k } restricted to the eligible entrants (everyone else
//    gets exactly 0), with y = cumulative deserved - wins so far. One exact projection.
//  * fair_probabilities_pgd: the blog's projected gradient descent on the squared
//    objective 0.5 * || pi - y ||^2 (gradient pi - y, Lipschitz constant 1), whose
//    projection is the blog's sort-based "simplex clip" (without its final rescale).
//    Kept as a cross-check of the exact solver and as the blog's baseline.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fastfair/projection.hpp"
#include "fastfair/summation.hpp"

namespace fastfair {

// Water-filled deserved seats of one lottery. s: n finite scores >= 0 (validated by the
// caller); k in [0, number of s_i > 0]. Writes d[0:n]; sum d == k up to rounding.
//
// The cap level c only grows from pass to pass (capping removes more seats than score
// mass at level c), so an entrant capped once stays capped, and the final c is found
// by passes: c = (k - #capped) / (score mass of the free), cap every free entrant with
// c * s_i >= 1, repeat until nobody new is capped. The passes run over a short list of
// candidates, the entrants with c0 * s_i >= 1/2 for the current base level c0; the
// others' mass is summed once. Should c exceed 2 * c0 (then a non-candidate could
// cap), the candidate list is rebuilt at the new level. Cost: three O(n) scans plus
// O(#candidates) per pass. `work` is scratch (reused across calls).
namespace detail {

// The passes of deserved_seats on the scores s_i * 2^-e (Scaled) or s_i (!Scaled).
// Returns false (unscaled only) if the level c would leave [0, 2^900]: then the free
// score mass is too small next to the seats left, and the caller rescales. Scaled, the
// free entrants are then rescaled by their own maximum (the seats depend on the free
// scores only through their ratios) and the passes go on.
template <bool Scaled>
inline bool deserved_seats_passes(const double* s, std::size_t n, double k, double* d,
                                  std::vector<std::uint32_t>& work, int e,
                                  const NeumaierSum* unscaled_total = nullptr) {
    const auto S = [&](std::size_t i) { return Scaled ? std::ldexp(s[i], -e) : s[i]; };
    constexpr double kBig = 0x1.0p+900;
    const double inf = std::numeric_limits<double>::infinity();
    NeumaierSum total;
    if (!Scaled && unscaled_total != nullptr) {
        total = *unscaled_total;  // summed by the caller's first pass (same order)
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const double si = S(i);
            if (si > 0.0) total.add(si);
        }
    }
    // Candidate indices are compacted into work[0:wn] (never shrunk: no fill per call).
    if (work.size() < n) work.resize(n);
    std::uint32_t* wk = work.data();
    std::size_t wn = 0;
    // d_i == 1.0 marks a capped entrant during the passes (d is zeroed by the first
    // candidate pass).
    bool d_zeroed = false;
    double n_capped = 0.0;
    double c = total.value() > 0.0 ? k / total.value() : inf;
    for (;;) {
        if (!(c <= kBig)) {
            if (!Scaled) return false;
            if (!d_zeroed) std::fill(d, d + n, 0.0);
            d_zeroed = true;
            double fm = 0.0;  // the largest free score
            for (std::size_t i = 0; i < n; ++i)
                if (s[i] > 0.0 && d[i] != 1.0) fm = std::max(fm, s[i]);
            e = std::ilogb(fm);
            NeumaierSum fs;
            for (std::size_t i = 0; i < n; ++i)
                if (s[i] > 0.0 && d[i] != 1.0) fs.add(S(i));
            c = (k - n_capped) / fs.value();  // fs >= 1: the maximum scales to [1, 2)
        }
        // Candidates at base level c0 = c: free entrants with S_i >= 1 / (2 c0). The
        // rest's (free) mass is needed only once somebody is capped; it is then summed
        // in index order over the same set (capped entrants are never in it: they
        // have S_i >= 1 / c >= 1 / (2 c0)).
        const double c0 = c;
        const double floor_s = 0.5 / c0;
        wn = 0;
        if (!d_zeroed) {  // branch-free: the first candidate pass also zeroes d
            for (std::size_t i = 0; i < n; ++i) {
                d[i] = 0.0;
                wk[wn] = static_cast<std::uint32_t>(i);
                wn += static_cast<std::size_t>((s[i] > 0.0) & (S(i) >= floor_s));
            }
            d_zeroed = true;
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                wk[wn] = static_cast<std::uint32_t>(i);
                wn += static_cast<std::size_t>((s[i] > 0.0) & (d[i] != 1.0) &
                                               (S(i) >= floor_s));
            }
        }
        bool have_rest = false;
        double rest_sum = 0.0;
        bool rebuild = false;
        for (;;) {
            bool capped_more = false;
            NeumaierSum cand_free;
            std::size_t kept = 0;
            for (std::size_t j = 0; j < wn; ++j) {
                const std::uint32_t i = wk[j];
                const double si = S(i);
                if (c * si >= 1.0) {
                    d[i] = 1.0;
                    n_capped += 1.0;
                    capped_more = true;
                } else {
                    cand_free.add(si);
                    wk[kept++] = i;
                }
            }
            wn = kept;
            if (!capped_more) break;
            if (n_capped >= k) {  // rounding corner: nothing left
                c = 0.0;
                break;
            }
            if (!have_rest) {
                NeumaierSum rest;
                for (std::size_t i = 0; i < n; ++i) {
                    if (s[i] > 0.0 && d[i] != 1.0) {
                        const double si = S(i);
                        if (!(si >= floor_s)) rest.add(si);
                    }
                }
                rest_sum = rest.value();
                have_rest = true;
            }
            const double free_sum = rest_sum + cand_free.value();
            // free scores that scaled to 0 still hold seats: rescale (c = inf)
            c = free_sum > 0.0 ? (k - n_capped) / free_sum : inf;
            if (c > 2.0 * c0 || !(c <= kBig)) {
                rebuild = true;
                break;
            }
        }
        if (!rebuild) break;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const double v = s[i] > 0.0 ? c * S(i) : 0.0;
        d[i] = d[i] == 1.0 ? 1.0 : v;
    }
    return true;
}

}  // namespace detail

// Scale invariance: the seats depend on the scores only through their ratios, but
// sum(s) overflows for scores near 1e308, and k / sum(s) overflows for scores near the
// smallest subnormal (1e-310 would give c = inf) or, after capping, when the uncapped
// mass is tiny next to the capped scores. Then the scores are rescaled by a power of
// two (exact), first by the maximum, and again by the largest free score whenever the
// level would pass 2^900. The only loss: scaled scores below 2^-1022 keep fewer bits
// (their seats are below k * 2^-1022). Ordinary inputs take the unscaled passes.
inline void deserved_seats(const double* s, std::size_t n, double k, double* d,
                           std::vector<std::uint32_t>& work) {
    // One pass: the number of positive scores, their maximum and (for the unscaled
    // passes) their accurate sum in index order.
    std::size_t n_pos = 0;
    double mx = 0.0;
    NeumaierSum total;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] > 0.0) {
            ++n_pos;
            mx = std::max(mx, s[i]);
            total.add(s[i]);
        }
    }
    if (!(k >= 0.0) || k > static_cast<double>(n_pos))
        throw std::invalid_argument("k must lie in [0, number of positive scores]");
    if (k == 0.0 || n_pos == 0) {
        std::fill(d, d + n, 0.0);
        return;
    }
    if (k == static_cast<double>(n_pos)) {
        for (std::size_t i = 0; i < n; ++i) d[i] = s[i] > 0.0 ? 1.0 : 0.0;
        return;
    }
    if (mx <= 0x1.0p+900 && detail::deserved_seats_passes<false>(s, n, k, d, work, 0, &total))
        return;
    detail::deserved_seats_passes<true>(s, n, k, d, work, std::ilogb(mx));
}

inline void deserved_seats(const double* s, std::size_t n, double k, double* d) {
    std::vector<std::uint32_t> work;
    deserved_seats(s, n, k, d, work);
}

// Reusable scratch for the solvers (keep one per caller: no allocation per lottery).
struct FairScratch {
    std::vector<double> y;                 // compacted targets
    std::vector<double> x;                 // compacted solution
    std::vector<double> x_prev;            // pgd: previous iterate
    std::vector<std::uint32_t> idx;        // compacted -> original index
    std::vector<double> proj_work;         // project_capped_simplex work space
    std::vector<std::pair<double, int>> breaks;  // pgd: sorted breakpoints
};

// Gather the eligible entries of target into scratch.y / scratch.idx. eligible may be
// null (everyone eligible). Returns the number of eligible entrants.
inline std::size_t gather_eligible(const double* target, const std::uint8_t* eligible,
                                   std::size_t n, FairScratch& w) {
    w.y.resize(n);
    w.idx.resize(n);
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (eligible == nullptr || eligible[i]) {
            w.y[m] = target[i];
            w.idx[m] = static_cast<std::uint32_t>(i);
            ++m;
        }
    }
    return m;
}

inline void scatter_eligible(std::size_t m, std::size_t n, const FairScratch& w,
                             double* pi) {
    std::fill(pi, pi + n, 0.0);
    for (std::size_t j = 0; j < m; ++j) pi[w.idx[j]] = w.x[j];
}

// Exact fair probabilities: pi = projection of target (= deserved - received) onto the
// capped simplex of the eligible entrants; 0 elsewhere. k in [0, #eligible].
inline void fair_probabilities_exact(const double* target, const std::uint8_t* eligible,
                                     std::size_t n, double k, double* pi,
                                     FairScratch& w) {
    if ((eligible == nullptr || std::memchr(eligible, 0, n) == nullptr) && target != pi) {
        // everyone eligible: the gather would copy target as is and the scatter x as is
        if (!(k >= 0.0) || k > static_cast<double>(n))
            throw std::invalid_argument("k must lie in [0, number of eligible entrants]");
        project_capped_simplex(target, n, k, pi, w.proj_work);
        return;
    }
    const std::size_t m = gather_eligible(target, eligible, n, w);
    if (!(k >= 0.0) || k > static_cast<double>(m))
        throw std::invalid_argument("k must lie in [0, number of eligible entrants]");
    w.x.resize(m);
    project_capped_simplex(w.y.data(), m, k, w.x.data(), w.proj_work);
    scatter_eligible(m, n, w, pi);
}

// The blog's projection_simplex_clip without the final rescale: sort the 2n breakpoints
// of f(t) = sum_i clip(r_i + t, 0, 1), sweep them to the segment where f reaches k and
// solve the linear piece. O(n log n). 0 < k < n required.
inline void simplex_clip_sort(const double* r, std::size_t n, double k, double* x,
                              std::vector<std::pair<double, int>>& breaks) {
    breaks.resize(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        breaks[2 * i] = {-r[i], +1};       // x_i starts to rise
        breaks[2 * i + 1] = {1.0 - r[i], -1};  // x_i reaches 1
    }
    std::sort(breaks.begin(), breaks.end());
    double f = 0.0, t = breaks[0].first;
    long active = 0;
    for (std::size_t j = 0; j < breaks.size(); ++j) {
        const double b = breaks[j].first;
        const double f_next = f + static_cast<double>(active) * (b - t);
        if (f_next >= k && active > 0) {
            t = t + (k - f) / static_cast<double>(active);
            break;
        }
        f = f_next;
        t = b;
        active += breaks[j].second;
    }
    for (std::size_t i = 0; i < n; ++i) x[i] = detail::clip01(r[i] + t);
}

struct PgdInfo {
    std::size_t iterations = 0;
    bool converged = false;
    double last_change = 0.0;  // max |pi_new - pi_old| of the last iteration
};

// Projected gradient descent on 0.5 * ||pi - target||^2 over the eligible entrants.
// start: n values (only eligible entries are used) or null for the uniform k / m.
// Each iteration: pi <- simplex_clip(pi - step * (pi - target)); converged once the
// largest change of an entry is <= tol. step in (0, 1] (1 / L with L = 1 converges in
// one step; smaller steps contract by (1 - step) per iteration).
inline PgdInfo fair_probabilities_pgd(const double* target, const std::uint8_t* eligible,
                                      std::size_t n, double k, const double* start,
                                      double step, double tol, std::size_t max_iter,
                                      double* pi, FairScratch& w) {
    const std::size_t m = gather_eligible(target, eligible, n, w);
    if (!(k >= 0.0) || k > static_cast<double>(m))
        throw std::invalid_argument("k must lie in [0, number of eligible entrants]");
    PgdInfo info;
    w.x.resize(m);
    w.x_prev.resize(m);
    if (k == 0.0 || k == static_cast<double>(m)) {  // the feasible set is one point
        std::fill(w.x.begin(), w.x.end(), k == 0.0 ? 0.0 : 1.0);
        info.converged = true;
        scatter_eligible(m, n, w, pi);
        return info;
    }
    // The iteration is invariant under adding a constant to the targets (so is the
    // projection): solve on y - y_(ceil k) when that pivot is not small, so that large
    // targets (1e16) keep their fractional parts (see project_capped_simplex).
    {
        w.proj_work.assign(w.y.begin(), w.y.begin() + static_cast<std::ptrdiff_t>(m));
        const auto rank = static_cast<std::size_t>(std::ceil(k)) - 1;
        std::nth_element(w.proj_work.begin(),
                         w.proj_work.begin() + static_cast<std::ptrdiff_t>(rank),
                         w.proj_work.end(), [](double a, double b) { return a > b; });
        const double pivot = w.proj_work[rank];
        if (std::fabs(pivot) > 1.0)
            for (std::size_t j = 0; j < m; ++j)  // saturated: no inf, no inf - inf later
                w.y[j] = std::min(std::max(w.y[j] - pivot, -0x1.0p+900), 0x1.0p+900);
    }
    for (std::size_t j = 0; j < m; ++j)
        w.x[j] = start ? start[w.idx[j]] : k / static_cast<double>(m);
    std::vector<double>& grad_pt = w.x_prev;  // reused: holds pi - step * grad
    while (info.iterations < max_iter) {
        for (std::size_t j = 0; j < m; ++j)
            grad_pt[j] = w.x[j] - step * (w.x[j] - w.y[j]);
        // grad_pt becomes the new iterate; compare with the old one in w.x
        simplex_clip_sort(grad_pt.data(), m, k, grad_pt.data(), w.breaks);
        double change = 0.0;
        for (std::size_t j = 0; j < m; ++j)
            change = std::max(change, std::fabs(grad_pt[j] - w.x[j]));
        std::swap(w.x, w.x_prev);  // w.x <- new iterate
        ++info.iterations;
        info.last_change = change;
        if (change <= tol) {
            info.converged = true;
            break;
        }
    }
    scatter_eligible(m, n, w, pi);
    return info;
}

}  // namespace fastfair
