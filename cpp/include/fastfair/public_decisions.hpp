// Proportionality for public decisions (PDM, paper-formulas.md section 5), optionally
// with discounted memory (section 9).
//
// Each round every agent values every alternative, u_i(x) >= 0. With u*_i = max_x u_i(x):
// D_i <- (gamma) D_i + u*_i / n - u_i(x_t), running-max scale R_i = max_s u*_i(s), quality
// variable d_i = (D_i)_+ / R_i. The rule picks the alternative minimising
// S(x) = sum_i phi_p(d_i(x)); O(n * alternatives) per round. Ties: lowest index.
// Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

class PublicDecisionMaker {
public:
    static constexpr int kStateVersion = 1;

    PublicDecisionMaker(std::size_t n, double p, double gamma)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)) {
        require_agents(n);
        p_ = resolve_p(p, static_cast<double>(n));
        D_.assign(n, 0.0);
        R_.assign(n, 0.0);
        U_.assign(n, 0.0);
        base_.assign(n, 0.0);
        rn_.assign(n, 0.0);
    }

    std::size_t n() const noexcept { return n_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    std::uint64_t rounds() const noexcept { return t_; }

    // Grow the scratch for `alts` alternatives (allocates only when alts grows).
    void reserve(std::size_t alts) {
        if (l_.size() < alts * n_) l_.resize(alts * n_);
    }

    // u: row-major (n, alts), finite and non-negative (validated by the caller);
    // reserve(alts) must have been called.
    std::int64_t step(const double* u, std::size_t alts) noexcept {
        const std::size_t n = n_;
        const double nd = static_cast<double>(n);
        double lmax = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double* ui = u + i * alts;
            double ustar = 0.0;
            for (std::size_t x = 0; x < alts; ++x) ustar = std::max(ustar, ui[x]);
            const double Di = gamma_ > 0.0 ? gamma_ * D_[i] : D_[i];
            const double base = Di + ustar / nd;
            const double Rn = std::max(R_[i], ustar);
            base_[i] = base;
            rn_[i] = Rn;
            double* li = l_.data() + i * alts;
            for (std::size_t x = 0; x < alts; ++x) {
                const double l = log_phi_ratio(base - ui[x], Rn, p_);
                li[x] = l;
                lmax = std::max(lmax, l);
            }
        }
        const double shift = lmax > kLogFastLimit ? lmax : 0.0;
        // Unshifted, sum phi - 1 = expm1(log phi) (S(x) - n), exact for tiny deficits;
        // shifted, sum exp(log phi - shift) = S(x) exp(-shift).
        const double one = std::exp(-shift);
        std::size_t best = 0;
        double best_s = INFINITY;
        for (std::size_t x = 0; x < alts; ++x) {
            double s = 0.0;
            if (shift == 0.0) {
                for (std::size_t i = 0; i < n; ++i) {
                    const double l = l_[i * alts + x];
                    if (l != 0.0) s += phi_minus_1(l);
                }
            } else {
                for (std::size_t i = 0; i < n; ++i) {
                    const double l = l_[i * alts + x];
                    s += l == 0.0 ? one : std::exp(l - shift);
                }
            }
            if (s < best_s) {
                best_s = s;
                best = x;
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double ux = u[i * alts + best];
            D_[i] = base_[i] - ux;
            R_[i] = rn_[i];
            U_[i] += ux;
        }
        ++t_;
        return static_cast<std::int64_t>(best);
    }

    void run(const double* U, std::size_t T, std::size_t alts, std::int64_t* out) noexcept {
        for (std::size_t t = 0; t < T; ++t) out[t] = step(U + t * n_ * alts, alts);
    }

    double deficit(std::size_t i) const noexcept { return norm_deficit(D_[i], R_[i]); }
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

    std::vector<double> D_, R_, U_;
    std::uint64_t t_ = 0;

private:
    std::size_t n_;
    double p_;
    double gamma_;
    std::vector<double> base_, rn_, l_;
};

}  // namespace fastfair
