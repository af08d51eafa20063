// PROP_c online item allocation with the p-potential rule (paper-formulas.md section 4),
// optionally with discounted memory (section 9).
//
// Per agent i: raw deficit D_i = v_i(M)/n - v_i(A_i) (with a discount gamma, the
// recursion D_i <- gamma D_i + v_i/n - 1[a = i] v_i), scale M_i = the largest value of an
// item i missed (undiscounted running maximum). Quality variable d_i = (D_i)_+ / M_i.
// The recipient minimises S(a) = sum_i phi_p(d_i(a)); by the single-term swap,
// S(a) = sum_i phi(miss_i) - phi(miss_a) + phi(get_a), so the rule is O(n) per round.
// Ties: lowest index. Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

class PropAllocator {
public:
    static constexpr int kStateVersion = 1;

    PropAllocator(std::size_t n, double p, double gamma)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)) {
        require_agents(n);
        p_ = resolve_p(p, static_cast<double>(n));
        D_.assign(n, 0.0);
        M_.assign(n, 0.0);
        total_.assign(n, 0.0);
        own_.assign(n, 0.0);
        dm_.assign(n, 0.0);
        lm_.assign(n, 0.0);
        lg_.assign(n, 0.0);
    }

    std::size_t n() const noexcept { return n_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    std::uint64_t rounds() const noexcept { return t_; }

    // values: n finite non-negative numbers (validated by the caller).
    std::int64_t step(const double* v) noexcept {
        const double nd = static_cast<double>(n_);
        const double p = p_;
        double lmax = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double vi = v[i];
            const double Di = gamma_ > 0.0 ? gamma_ * D_[i] : D_[i];
            const double miss = Di + vi / nd;
            const double get = miss - vi;
            dm_[i] = miss;
            const double lm = log_phi_ratio(miss, std::max(M_[i], vi), p);
            const double lg = log_phi_ratio(get, M_[i], p);
            lm_[i] = lm;
            lg_[i] = lg;
            lmax = std::max(lmax, std::max(lm, lg));
        }
        // S(a) - sum_i phi(miss_i) = phi(get_a) - phi(miss_a); minimise it.
        const double shift = lmax > kLogFastLimit ? lmax : 0.0;
        std::size_t best = 0;
        double best_delta = INFINITY;
        for (std::size_t i = 0; i < n_; ++i) {
            const double lm = lm_[i], lg = lg_[i];
            // Unshifted, compare phi - 1 = expm1(log phi): exact even for deficits so
            // small that phi rounds to 1.
            const double delta = (lm == lg)       ? 0.0
                                 : (shift == 0.0) ? phi_minus_1(lg) - phi_minus_1(lm)
                                                  : std::exp(lg - shift) - std::exp(lm - shift);
            if (delta < best_delta) {
                best_delta = delta;
                best = i;
            }
        }
        for (std::size_t i = 0; i < n_; ++i) {
            D_[i] = dm_[i];
            total_[i] += v[i];
            if (i != best) M_[i] = std::max(M_[i], v[i]);
        }
        D_[best] = dm_[best] - v[best];
        own_[best] += v[best];
        ++t_;
        return static_cast<std::int64_t>(best);
    }

    void run(const double* V, std::size_t T, std::int64_t* out) noexcept {
        for (std::size_t t = 0; t < T; ++t) out[t] = step(V + t * n_);
    }

    double deficit(std::size_t i) const noexcept { return norm_deficit(D_[i], M_[i]); }
    double max_deficit() const noexcept {
        double mx = 0.0;
        for (std::size_t i = 0; i < n_; ++i) mx = std::max(mx, deficit(i));
        return mx;
    }
    double log_S() const {
        return log_sum_exp(n_, [&](std::size_t i) { return log_phi(deficit(i), p_); });
    }
    double potential() const { return std::exp(log_S() / p_); }
    double bound() const {
        const double nd = static_cast<double>(n_);
        const double C = (nd - 1.0) / nd;
        if (gamma_ > 0.0) return tau_bound_discounted(p_, nd, C, nd, gamma_);
        return tau_bound(p_, nd, C, nd, static_cast<double>(t_));
    }

    // State (public for the bindings' get_state / set_state).
    std::vector<double> D_, M_, total_, own_;
    std::uint64_t t_ = 0;

private:
    std::size_t n_;
    double p_;
    double gamma_;
    std::vector<double> dm_, lm_, lg_;  // scratch, preallocated
};

}  // namespace fastfair
