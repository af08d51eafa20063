// Proportionality for public decisions (PDM, docs/formulas.md section 5), optionally
// with discounted memory (section 8), and the scheduler extensions
// (docs/scheduler-extensions.md): available alternatives and churn.
//
// Each round every agent values every alternative, u_i(x) >= 0. With u*_i the maximum
// over the available alternatives: D_i <- (gamma) D_i + u*_i / n_a - u_i(x_t) (n_a the
// number of active agents), running-max scale R_i = max_s u*_i(s), quality variable
// d_i = (D_i)_+ / R_i. Removed agents' values are ignored (their variables freeze; with a
// discount they still decay). The rule picks the available alternative minimising
// S(x) = sum_i phi_p(d_i(x)); O(n * alternatives) per round.
// Ties: TieBreak::Index takes the lowest index among exact minima (the original rule);
// TieBreak::Value ("welfare") takes, among the alternatives within a relative kTieRel of
// the minimum S, the highest total value sum_i u_i(x) over active agents, then the
// lowest index. Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

class PublicDecisionMaker {
public:
    static constexpr int kStateVersion = 2;

    PublicDecisionMaker(std::size_t n, double p, double gamma,
                        TieBreak tie = TieBreak::Index)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)), tie_(tie) {
        require_agents(n);
        p_ = resolve_p(p, static_cast<double>(n));
        D_.assign(n, 0.0);
        R_.assign(n, 0.0);
        U_.assign(n, 0.0);
        act_.assign(n, 1);
        n_active_ = n;
        base_.assign(n, 0.0);
        rn_.assign(n, 0.0);
    }

    std::size_t n() const noexcept { return n_; }
    std::size_t n_active() const noexcept { return n_active_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    TieBreak tie_break() const noexcept { return tie_; }
    std::uint64_t rounds() const noexcept { return t_; }

    // Grow the scratch for `alts` alternatives (allocates only when alts grows).
    void reserve(std::size_t alts) {
        if (l_.size() < alts * n_) l_.resize(alts * n_);
    }

    // u: row-major (n, alts), finite and in [0, kMaxValue] (validated by the caller);
    // avail: nullptr or alts bytes (0/1) with at least one 1; at least one active agent;
    // reserve(alts) must have been called.
    std::int64_t step(const double* u, std::size_t alts,
                      const std::uint8_t* avail = nullptr) noexcept {
        const std::size_t n = n_;
        const double nd = static_cast<double>(n_active_);
        if (n_active_ == n)
            ++moments_.plain;
        else
            moments_.add((nd - 1.0) / (nd * nd));
        double lmax = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double* ui = u + i * alts;
            const bool on = act_[i] != 0;
            double ustar = 0.0;
            if (on)
                for (std::size_t x = 0; x < alts; ++x)
                    if (avail == nullptr || avail[x]) ustar = std::max(ustar, ui[x]);
            const double Di = gamma_ > 0.0 ? gamma_ * D_[i] : D_[i];
            const double base = Di + ustar / nd;
            const double Rn = std::max(R_[i], ustar);
            base_[i] = base;
            rn_[i] = Rn;
            double* li = l_.data() + i * alts;
            for (std::size_t x = 0; x < alts; ++x) {
                const double l = log_phi_ratio(on ? base - ui[x] : base, Rn, p_);
                li[x] = l;
                lmax = std::max(lmax, l);
            }
        }
        const double shift = lmax > kLogFastLimit ? lmax : 0.0;
        // Unshifted, sum phi - 1 = expm1(log phi) (S(x) - n), exact for tiny deficits;
        // shifted, sum exp(log phi - shift) = S(x) exp(-shift).
        const double one = std::exp(-shift);
        std::size_t best = alts;
        double best_s = INFINITY;
        for (std::size_t x = 0; x < alts; ++x) {
            if (avail != nullptr && !avail[x]) continue;
            const double s = sum_for(x, alts, shift, one);
            if (s < best_s) {
                best_s = s;
                best = x;
            }
        }
        if (tie_ == TieBreak::Value) {
            const double S = (shift == 0.0 ? static_cast<double>(n) : 0.0) + best_s;
            const double lim = best_s + kTieRel * S;
            double best_w = NAN;
            for (std::size_t x = 0; x < alts; ++x) {
                if (x == best || (avail != nullptr && !avail[x])) continue;
                if (!(sum_for(x, alts, shift, one) <= lim)) continue;
                if (std::isnan(best_w)) best_w = welfare(u, alts, best);
                const double w = welfare(u, alts, x);
                if (w > best_w) {
                    best = x;
                    best_w = w;
                }
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double ux = act_[i] ? u[i * alts + best] : 0.0;
            D_[i] = base_[i] - ux;
            R_[i] = rn_[i];
            U_[i] += ux;
        }
        ++t_;
        return static_cast<std::int64_t>(best);
    }

    // avail: nullptr, one row of alts bytes for every round (stride 0) or T rows.
    void run(const double* U, std::size_t T, std::size_t alts, std::int64_t* out,
             const std::uint8_t* avail = nullptr, std::size_t avail_stride = 0) noexcept {
        for (std::size_t t = 0; t < T; ++t)
            out[t] = step(U + t * n_ * alts, alts,
                          avail == nullptr ? nullptr : avail + t * avail_stride);
    }

    std::size_t add_agent() {
        grow_to(n_ + 1);
        return n_ - 1;
    }
    // Grow to n agents in one reallocation (new agents active, deficit 0).
    void grow_to(std::size_t n) {
        if (n <= n_) return;
        require_agents(n);
        const double nd = static_cast<double>(n_);
        moments_.fold((nd - 1.0) / (nd * nd));
        D_.resize(n, 0.0);
        R_.resize(n, 0.0);
        U_.resize(n, 0.0);
        act_.resize(n, 1);
        n_active_ += n - n_;
        n_ = n;
        base_.resize(n_, 0.0);  // amortised: scratch contents never outlive a step
        rn_.resize(n_, 0.0);
        l_.clear();
    }
    void remove_agent(std::size_t i) noexcept {
        if (act_[i]) --n_active_;
        act_[i] = 0;
    }
    bool active(std::size_t i) const noexcept { return act_[i] != 0; }
    void refresh_active() noexcept {
        n_active_ = 0;
        for (std::size_t i = 0; i < n_; ++i) n_active_ += act_[i] ? 1 : 0;
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
        return moments_.bound(p_, nd, (nd - 1.0) / nd, nd, gamma_);
    }

    std::vector<double> D_, R_, U_;
    std::vector<std::uint8_t> act_;
    MomentSum moments_;
    std::uint64_t t_ = 0;

private:
    double sum_for(std::size_t x, std::size_t alts, double shift, double one) const noexcept {
        double s = 0.0;
        if (shift == 0.0) {
            for (std::size_t i = 0; i < n_; ++i) {
                const double l = l_[i * alts + x];
                if (l != 0.0) s += phi_minus_1(l);
            }
        } else {
            for (std::size_t i = 0; i < n_; ++i) {
                const double l = l_[i * alts + x];
                s += l == 0.0 ? one : std::exp(l - shift);
            }
        }
        return s;
    }
    double welfare(const double* u, std::size_t alts, std::size_t x) const noexcept {
        double w = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            if (act_[i]) w += u[i * alts + x];
        return w;
    }

    std::size_t n_;
    std::size_t n_active_ = 0;
    double p_;
    double gamma_;
    TieBreak tie_;
    std::vector<double> base_, rn_, l_;
};

}  // namespace fastfair
