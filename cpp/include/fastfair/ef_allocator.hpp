// EF_c online item allocation with the p-potential rule (paper-formulas.md section 6),
// optionally with discounted memory (section 9).
//
// Per ordered pair (i, j), i != j: envy E_ij = v_i(A_j) - v_i(A_i) (with a discount, the
// recursion E_ij <- gamma E_ij + 1[a = j] v_i - 1[a = i] v_i), scale S_ij = the largest
// value for i of an item in j's bundle (undiscounted running maximum), quality variable
// d_ij = (E_ij)_+ / S_ij. Giving the item to a changes only the 2(n-1) pairs (a, j) and
// (i, a), so with the phi terms cached the rule costs O(n^2) per round (O(n) per
// candidate). Terms are computed as exp(log phi); when a log term exceeds
// kLogFastLimit the round is re-evaluated with every term shifted by the largest log.
// Ties: lowest index. Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

class EfAllocator {
public:
    static constexpr int kStateVersion = 1;

    EfAllocator(std::size_t n, double p, double gamma)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)) {
        require_agents(n);
        const double nd = static_cast<double>(n);
        p_ = resolve_p(p, nd * (nd - 1.0));
        const std::size_t nn = n * n;
        E_.assign(nn, 0.0);
        S_.assign(nn, 0.0);
        own_.assign(n, 0.0);
        lc_.assign(nn, 0.0);
        pc_.assign(nn, 1.0);
        lr_.assign(nn, 0.0);
        lg_.assign(nn, 0.0);
        xr_.assign(nn, 1.0);
        xg_.assign(nn, 1.0);
        delta_.assign(n, 0.0);
        lc_max_ = 0.0;
    }

    std::size_t n() const noexcept { return n_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    std::uint64_t rounds() const noexcept { return t_; }

    // Recompute the cached log phi / phi terms from (E, S).
    void refresh_cache() noexcept {
        lc_max_ = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                const std::size_t k = i * n_ + j;
                const double l = i == j ? 0.0 : log_phi_ratio(E_[k], S_[k], p_);
                lc_[k] = l;
                pc_[k] = l == 0.0 ? 1.0 : std::exp(std::min(l, kLogFastLimit));
                lc_max_ = std::max(lc_max_, l);
            }
    }

    std::int64_t step(const double* v) noexcept {
        const std::size_t n = n_;
        const double p = p_;
        if (gamma_ > 0.0) {
            for (std::size_t k = 0; k < n * n; ++k) E_[k] *= gamma_;
            refresh_cache();
        }
        double lmax = lc_max_;
        for (std::size_t a = 0; a < n; ++a) delta_[a] = 0.0;
        // Pass 1: new log terms of every pair under "row agent receives" (lr) and
        // "column agent receives" (lg), and the unshifted deltas.
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            const std::size_t row = i * n;
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t k = row + j;
                if (j == i || vi == 0.0) {
                    lr_[k] = lc_[k];
                    lg_[k] = lc_[k];
                    xr_[k] = pc_[k];
                    xg_[k] = pc_[k];
                    continue;
                }
                const double e = E_[k];
                const double s = S_[k];
                double lr = 0.0, xr = 1.0;
                if (e > 0.0) {  // envy decreases when i receives: zero stays zero
                    lr = log_phi_ratio(e - vi, s, p);
                    if (lr != 0.0) xr = std::exp(std::min(lr, kLogFastLimit));
                    delta_[i] += xr - pc_[k];
                }
                double lg = 0.0, xg = 1.0;
                const double eg = e + vi;
                if (eg > 0.0) {
                    lg = log_phi_ratio(eg, std::max(s, vi), p);
                    if (lg != 0.0) xg = std::exp(std::min(lg, kLogFastLimit));
                    delta_[j] += xg - pc_[k];
                }
                lr_[k] = lr;
                lg_[k] = lg;
                xr_[k] = xr;
                xg_[k] = xg;
                lmax = std::max(lmax, std::max(lr, lg));
            }
        }
        if (lmax > kLogFastLimit) shifted_deltas(v, lmax);
        std::size_t best = 0;
        double best_delta = delta_[0];
        for (std::size_t a = 1; a < n; ++a)
            if (delta_[a] < best_delta) {
                best_delta = delta_[a];
                best = a;
            }
        // Apply: pairs (best, j) lose v_best, pairs (i, best) gain v_i.
        const double vb = v[best];
        if (vb != 0.0) {
            for (std::size_t j = 0; j < n; ++j) {
                if (j == best) continue;
                const std::size_t k = best * n + j;
                E_[k] -= vb;
                lc_[k] = lr_[k];
                pc_[k] = xr_[k];
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (i == best || vi == 0.0) continue;
            const std::size_t k = i * n + best;
            E_[k] += vi;
            S_[k] = std::max(S_[k], vi);
            lc_[k] = lg_[k];
            pc_[k] = xg_[k];
        }
        own_[best] += vb;
        // lc_max_ is an upper bound; tighten it only when it matters.
        lc_max_ = std::max(lc_max_, lmax);
        if (lc_max_ > kLogFastLimit) {
            lc_max_ = 0.0;
            for (std::size_t k = 0; k < n * n; ++k) lc_max_ = std::max(lc_max_, lc_[k]);
        }
        ++t_;
        return static_cast<std::int64_t>(best);
    }

    void run(const double* V, std::size_t T, std::int64_t* out) noexcept {
        for (std::size_t t = 0; t < T; ++t) out[t] = step(V + t * n_);
    }

    double deficit(std::size_t i, std::size_t j) const noexcept {
        return i == j ? 0.0 : norm_deficit(E_[i * n_ + j], S_[i * n_ + j]);
    }
    double max_deficit() const noexcept {
        double mx = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) mx = std::max(mx, deficit(i, j));
        return mx;
    }
    double log_S() const {
        if (n_ < 2) return -INFINITY;
        const std::size_t m = n_ * (n_ - 1);
        return log_sum_exp(m, [&](std::size_t q) {
            const std::size_t i = q / (n_ - 1), r = q % (n_ - 1);
            const std::size_t j = r < i ? r : r + 1;
            return log_phi(deficit(i, j), p_);
        });
    }
    double potential() const { return n_ < 2 ? 0.0 : std::exp(log_S() / p_); }
    double bound() const {
        const double nd = static_cast<double>(n_);
        const double m = nd * (nd - 1.0);
        if (gamma_ > 0.0) return tau_bound_discounted(p_, m, 2.0, nd, gamma_);
        return tau_bound(p_, m, 2.0, nd, static_cast<double>(t_));
    }

    // State (public for the bindings' get_state / set_state); call refresh_cache()
    // after writing E_ or S_.
    std::vector<double> E_, S_, own_;
    std::uint64_t t_ = 0;

private:
    // Overflow-safe re-evaluation of the deltas with every term scaled by exp(-shift).
    void shifted_deltas(const double* v, double shift) noexcept {
        const std::size_t n = n_;
        for (std::size_t a = 0; a < n; ++a) delta_[a] = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            if (v[i] == 0.0) continue;
            for (std::size_t j = 0; j < n; ++j) {
                if (j == i) continue;
                const std::size_t k = i * n + j;
                const double old = std::exp(lc_[k] - shift);
                if (lr_[k] != lc_[k]) delta_[i] += std::exp(lr_[k] - shift) - old;
                if (lg_[k] != lc_[k]) delta_[j] += std::exp(lg_[k] - shift) - old;
            }
        }
    }

    std::size_t n_;
    double p_;
    double gamma_;
    double lc_max_;
    std::vector<double> lc_, pc_;          // cached log phi and phi (clamped) per pair
    std::vector<double> lr_, lg_, xr_, xg_;  // scratch: candidate terms
    std::vector<double> delta_;
};

}  // namespace fastfair
