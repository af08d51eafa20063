// PROP_c online item allocation with the p-potential rule (docs/formulas.md section 4),
// optionally with discounted memory (section 8), and the scheduler extensions
// (docs/scheduler-extensions.md): eligibility, churn and weights.
//
// Per agent i: raw deficit D_i = sum_t s_i(t) v_i(t) - v_i(A_i), where the share
// s_i(t) = w_i / W_t for the agents eligible for item t (W_t the sum of their weights;
// 1/n with no extension) and 0 for the others (with a discount gamma, the recursion
// D_i <- gamma D_i + s_i v_i - 1[a = i] v_i). Scale M_i = the largest value of an item i
// was eligible for and missed (undiscounted running maximum). d_i = (D_i)_+ / M_i.
// The recipient (an eligible agent) minimises S(a) = sum_i phi_p(d_i(a)); by the
// single-term swap, S(a) = sum_i phi(miss_i) - phi(miss_a) + phi(get_a): O(n) per round.
// Ties: TieBreak::Index takes the lowest index among exact minima (the original rule);
// TieBreak::Value takes, among the actions within a relative kTieRel of the minimum S,
// the highest value to the recipient, then the largest raw deficit, then the lowest
// index. Removed agents are never eligible again (their deficit only decays with a
// discount). Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

namespace prop_detail {

// The fast pass of one round (docs/numerics.md "The fast potential"), in three
// branch-free loops that vectorise: (1) for every agent the raw deficit if it misses the
// item and its normalised deficits if it misses (x[i]) and if it gets the item (x[n+i]),
// the same float64 divisions as the exact path's; (2) F = fast phi - 1 of all 2n; (3)
// dF = F(get) - F(miss), which approximates the exact path's delta within
// err = kFastPhiRel * (F(get) + F(miss)) + 2 kFastPhiAbs; err = 0 marks a delta known
// exactly (both squared deficits are 0: 0 on both paths).
FASTFAIR_ALWAYS_INLINE void deficits_body(std::size_t n, const double* v, const double* D,
                                          const double* M, const double* w, double W,
                                          double gamma, double* __restrict dm,
                                          double* __restrict x) noexcept {
    const double g = gamma > 0.0 ? gamma : 1.0;  // D * 1.0 == D exactly
    for (std::size_t i = 0; i < n; ++i) {
        const double vi = v[i];
        const double miss = g * D[i] + vi * w[i] / W;  // the exact path's expression
        const double get = miss - vi;
        dm[i] = miss;
        const double Mi = M[i];
        const double sm = Mi < vi ? vi : Mi;
        // computed unconditionally, then selected
        const double qm = miss / (sm > 0.0 ? sm : 1.0);
        const double qg = get / (Mi > 0.0 ? Mi : 1.0);
        const double xm = sm > 0.0 ? qm : 0.0;
        const double xg = Mi > 0.0 ? qg : 0.0;
        x[i] = miss > 0.0 ? xm : 0.0;
        x[n + i] = get > 0.0 ? xg : 0.0;
    }
}
FASTFAIR_ALWAYS_INLINE void deltas_body(std::size_t n, const double* x, const double* F,
                                        double* __restrict dF,
                                        double* __restrict err) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const double fm = F[i], fg = F[n + i];
        dF[i] = fg - fm;
        // x^2 == 0 for both <=> the sum of the squares is 0
        const double sq = x[i] * x[i] + x[n + i] * x[n + i];
        err[i] = sq == 0.0 ? 0.0 : kFastPhiRel * (fg + fm) + 2.0 * kFastPhiAbs;
    }
}
FASTFAIR_MULTIVERSION(void, deficits,
                      (std::size_t n, const double* v, const double* D, const double* M,
                       const double* w, double W, double gamma, double* dm, double* x),
                      (n, v, D, M, w, W, gamma, dm, x))
FASTFAIR_MULTIVERSION(void, deltas,
                      (std::size_t n, const double* x, const double* F, double* dF,
                       double* err),
                      (n, x, F, dF, err))

}  // namespace prop_detail

class PropAllocator {
public:
    static constexpr int kStateVersion = 2;

    PropAllocator(std::size_t n, double p, double gamma, TieBreak tie = TieBreak::Index,
                  const double* weights = nullptr)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)), tie_(tie) {
        require_agents(n);
        p_ = resolve_p(p, static_cast<double>(n));
        D_.assign(n, 0.0);
        M_.assign(n, 0.0);
        total_.assign(n, 0.0);
        own_.assign(n, 0.0);
        w_.assign(n, 1.0);
        if (weights != nullptr) w_.assign(weights, weights + n);
        act_.assign(n, 1);
        resize_scratch();
        refresh_weights();
    }

    std::size_t n() const noexcept { return n_; }
    std::size_t n_active() const noexcept { return n_active_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    TieBreak tie_break() const noexcept { return tie_; }
    std::uint64_t rounds() const noexcept { return t_; }
    bool unit_weights() const noexcept { return unit_w_; }

    // values: n finite numbers in [0, kMaxValue]; mask: nullptr (everyone active is
    // eligible) or n bytes (0/1). The caller guarantees that at least one active agent
    // is eligible (validated by the bindings).
    std::int64_t step(const double* v, const std::uint8_t* mask = nullptr) noexcept {
        const bool by_value = tie_ == TieBreak::Value;
        const bool fast = fast_potential_mode().load(std::memory_order_relaxed) >= 2;
        if (mask == nullptr && n_active_ == n_) {
            if (fast) {
                const std::int64_t r =
                    by_value ? step_fast<false, true>(v) : step_fast<false, false>(v);
                if (r >= 0) return r;
                ++exact_rounds_;
            }
            return by_value ? step_impl<false, true>(v) : step_impl<false, false>(v);
        }
        for (std::size_t i = 0; i < n_; ++i) {
            const std::uint8_t e = act_[i] & (mask == nullptr ? 1 : (mask[i] != 0));
            e_[i] = e;
            ve_[i] = e ? v[i] : 0.0;
        }
        if (fast) {
            const std::int64_t r = by_value ? step_fast<true, true>(ve_.data())
                                            : step_fast<true, false>(ve_.data());
            if (r >= 0) return r;
            ++exact_rounds_;
        }
        return by_value ? step_impl<true, true>(ve_.data()) : step_impl<true, false>(ve_.data());
    }

    // Rounds of this object decided by the fast potential alone / handed to the exact
    // path by it (diagnostics for the tests; not part of the state).
    std::uint64_t fast_rounds() const noexcept { return fast_rounds_; }
    std::uint64_t exact_rounds() const noexcept { return exact_rounds_; }

    // mask: nullptr, one row of n bytes for every round (mask_stride 0) or T rows.
    void run(const double* V, std::size_t T, std::int64_t* out,
             const std::uint8_t* mask = nullptr, std::size_t mask_stride = 0) noexcept {
        for (std::size_t t = 0; t < T; ++t)
            out[t] = step(V + t * n_, mask == nullptr ? nullptr : mask + t * mask_stride);
    }

    // True when the mask (nullptr: none) leaves at least one active agent eligible.
    bool any_eligible(const std::uint8_t* mask) const noexcept {
        for (std::size_t i = 0; i < n_; ++i)
            if (act_[i] && (mask == nullptr || mask[i])) return true;
        return false;
    }

    // Churn. add_agent: a new agent with deficit 0, counting only items from now on.
    // Amortised O(1) with unit weights (O(n) with weights, for sigma2).
    std::size_t add_agent(double weight) {
        require_agents(n_ + 1);
        moments_.fold(plain_sigma2());
        D_.push_back(0.0);
        M_.push_back(0.0);
        total_.push_back(0.0);
        own_.push_back(0.0);
        w_.push_back(weight);
        act_.push_back(1);
        ++n_;
        resize_scratch();
        // the same sum, in the same order, as refresh_weights (new agent last)
        W_all_ += weight;
        ++n_active_;
        unit_w_ = unit_w_ && weight == 1.0;
        sigma2_all_ = sigma2_of(W_all_, n_active_, nullptr);
        return n_ - 1;
    }
    // Grow to n agents in one reallocation (new agents active, weight 1, deficit 0).
    void grow_to(std::size_t n) {
        if (n <= n_) return;
        require_agents(n);
        moments_.fold(plain_sigma2());
        D_.resize(n, 0.0);
        M_.resize(n, 0.0);
        total_.resize(n, 0.0);
        own_.resize(n, 0.0);
        w_.resize(n, 1.0);
        act_.resize(n, 1);
        n_ = n;
        resize_scratch();
        refresh_weights();
    }
    void remove_agent(std::size_t i) noexcept {
        act_[i] = 0;
        refresh_weights();
    }
    bool active(std::size_t i) const noexcept { return act_[i] != 0; }
    double weight(std::size_t i) const noexcept { return w_[i]; }

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
        return moments_.bound(p_, nd, (nd - 1.0) / nd, nd, gamma_);
    }

    // Rebuild the derived quantities after the bindings wrote w_ / act_.
    void refresh_weights() noexcept {
        unit_w_ = true;
        n_active_ = 0;
        double W = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            if (w_[i] != 1.0) unit_w_ = false;
            if (!act_[i]) continue;
            W += w_[i];
            ++n_active_;
        }
        W_all_ = W;
        sigma2_all_ = n_active_ == 0 ? 0.0 : sigma2_of(W, n_active_, nullptr);
    }
    void resize_scratch() {  // amortised: scratch contents never outlive a step
        dm_.resize(n_, 0.0);
        lm_.resize(n_, 0.0);
        lg_.resize(n_, 0.0);
        delta_.resize(n_, 0.0);
        ve_.resize(n_, 0.0);
        e_.resize(n_, 0);
        fdF_.resize(n_, 0.0);
        ferr_.resize(n_, 0.0);
        ffm_.resize(2 * n_, 0.0);
        fx_.resize(2 * n_, 0.0);
    }

    // State (public for the bindings' get_state / set_state).
    std::vector<double> D_, M_, total_, own_, w_;
    std::vector<std::uint8_t> act_;
    MomentSum moments_;
    std::uint64_t t_ = 0;

private:
    // sigma2 = max_{i in E} s_i (1 - s_i), s_i = w_i / W (unweighted: (k - 1) / k^2).
    double sigma2_of(double W, std::size_t k, const std::uint8_t* e) const noexcept {
        if (unit_w_) {
            const double kd = static_cast<double>(k);
            return (kd - 1.0) / (kd * kd);
        }
        double mx = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            if (!(e == nullptr ? act_[i] : e[i])) continue;
            const double s = w_[i] / W;
            mx = std::max(mx, s * (1.0 - s));
        }
        return mx;
    }
    double plain_sigma2() const noexcept {
        const double nd = static_cast<double>(n_);
        return (nd - 1.0) / (nd * nd);
    }

    // The eligible agents' total weight W and count k of this round.
    template <bool Masked>
    double round_weight(std::size_t& k) const noexcept {
        if (!Masked) {
            k = n_;
            return W_all_;
        }
        double W = 0.0;
        k = 0;
        for (std::size_t i = 0; i < n_; ++i)
            if (e_[i]) {
                W += w_[i];
                ++k;
            }
        return W;
    }
    // Count the round in the moment sum of bound().
    template <bool Masked>
    void count_round(double W, std::size_t k) noexcept {
        if (Masked) {
            if (k == n_ && unit_w_)
                ++moments_.plain;
            else
                moments_.add(sigma2_of(W, k, e_.data()));
        } else if (unit_w_) {
            ++moments_.plain;
        } else {
            moments_.add(sigma2_all_);
        }
    }

    // The round decided by the fast potential (docs/numerics.md "The fast potential"):
    // returns the recipient when the error bounds prove it is the exact path's choice,
    // -1 (state untouched) when they cannot (near-ties, huge deficits).
    template <bool Masked, bool by_value>
    std::int64_t step_fast(const double* v) noexcept {
        const std::size_t n = n_;
        std::size_t k = 0;
        const double W = round_weight<Masked>(k);
        double* dF = fdF_.data();
        double* er = ferr_.data();
        const int level = online_simd_level();
        double* x = fx_.data();
        double* F = ffm_.data();  // F[i] = F(miss_i), F[n + i] = F(get_i)
        FASTFAIR_DISPATCH(prop_detail::deficits, level, n, v, D_.data(), M_.data(), w_.data(),
                          W, gamma_, dm_.data(), x);
        fast_phi_m1_batch(x, F, 2 * n, p_, level);
        FASTFAIR_DISPATCH(prop_detail::deltas, level, n, x, F, dF, er);
        // Any term out of the fast range (the exact path would shift): exact path.
        double emax = 0.0;
        for (std::size_t i = 0; i < n; ++i) emax = er[i] > emax ? er[i] : emax;
        if (!(emax < INFINITY)) return -1;
        std::size_t b = n;
        double bd = INFINITY;
        for (std::size_t i = 0; i < n; ++i) {
            if (Masked && !e_[i]) continue;
            if (dF[i] < bd) {
                bd = dF[i];
                b = i;
            }
        }
        if (b == n) return -1;
        // b is the exact path's choice (lowest index among its exact minima) when every
        // other candidate's exact delta is surely larger, or is exactly equal (both
        // known exactly) at a higher index (b is the first fast minimum).
        const double ub = bd + er[b];
        for (std::size_t i = 0; i < n; ++i) {
            if (i == b || (Masked && !e_[i])) continue;
            if (dF[i] - er[i] > ub) continue;
            if (er[i] == 0.0 && er[b] == 0.0 && dF[i] == bd) continue;
            return -1;
        }
        if (by_value) {
            // The exact path ties every candidate within lim = best + kTieRel * S,
            // S = n + sum_i (phi(miss_i) - 1) + best; bound lim from both sides.
            double base = 0.0;
            for (std::size_t i = 0; i < n; ++i) base += ffm_[i];
            const double nd = static_cast<double>(n);
            const double slack = kFastPhiRel + 4.0 * nd * 0x1p-53;
            const double base_hi = base * (1.0 + slack) + nd * kFastPhiAbs;
            const double base_lo = base * (1.0 - slack) - nd * kFastPhiAbs;
            const double lb = bd - er[b];
            const double lim_hi = ub + kTieRel * (nd + base_hi + ub) * (1.0 + 1e-14) + 1e-300;
            const double lim_lo = lb + kTieRel * (nd + base_lo + lb) * (1.0 - 1e-14) - 1e-300;
            // The exact path's tie loop, over the candidates surely within lim.
            std::size_t best = b;
            for (std::size_t i = 0; i < n; ++i) {
                if (i == b || (Masked && !e_[i])) continue;
                if (dF[i] - er[i] > lim_hi) continue;
                if (!(dF[i] + er[i] < lim_lo)) return -1;
                if (v[i] > v[best] || (v[i] == v[best] && D_[i] > D_[best])) best = i;
            }
            b = best;
        }
        count_round<Masked>(W, k);
        apply(v, b);
        ++fast_rounds_;
        return static_cast<std::int64_t>(b);
    }

    void apply(const double* v, std::size_t best) noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            D_[i] = dm_[i];
            total_[i] += v[i];
            if (i != best) M_[i] = std::max(M_[i], v[i]);
        }
        D_[best] = dm_[best] - v[best];
        own_[best] += v[best];
        ++t_;
    }

    template <bool Masked, bool by_value>
    std::int64_t step_impl(const double* v) noexcept {
        const std::size_t n = n_;
        const double p = p_;
        std::size_t k_elig = 0;
        const double W = round_weight<Masked>(k_elig);
        count_round<Masked>(W, k_elig);
        double lmax = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            const double Di = gamma_ > 0.0 ? gamma_ * D_[i] : D_[i];
            const double miss = Di + vi * w_[i] / W;  // ineligible: vi = 0, miss = Di
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
        std::size_t best = n;
        double best_delta = INFINITY;
        double base = 0.0;  // sum_i (phi(miss_i) - 1), or sum_i phi(miss_i) e^-shift
        for (std::size_t i = 0; i < n; ++i) {
            const double lm = lm_[i], lg = lg_[i];
            // Unshifted, compare phi - 1 = expm1(log phi): exact even for deficits so
            // small that phi rounds to 1.
            double delta;
            if (!by_value) {  // the original expression, operation for operation
                delta = (lm == lg)       ? 0.0
                        : (shift == 0.0) ? phi_minus_1(lg) - phi_minus_1(lm)
                                         : std::exp(lg - shift) - std::exp(lm - shift);
            } else if (shift == 0.0) {
                const double a = lm == 0.0 ? 0.0 : phi_minus_1(lm);
                delta = lm != lg ? phi_minus_1(lg) - a : 0.0;
                base += a;
            } else {
                const double a = std::exp(lm - shift);
                delta = lm != lg ? std::exp(lg - shift) - a : 0.0;
                base += a;
            }
            if (by_value) delta_[i] = delta;
            if (Masked && !e_[i]) continue;
            if (delta < best_delta) {
                best_delta = delta;
                best = i;
            }
        }
        if (by_value) {
            const double S = (shift == 0.0 ? static_cast<double>(n) : 0.0) + base + best_delta;
            const double lim = best_delta + kTieRel * S;
            for (std::size_t i = 0; i < n; ++i) {
                if (i == best || (Masked && !e_[i]) || !(delta_[i] <= lim)) continue;
                if (v[i] > v[best] || (v[i] == v[best] && D_[i] > D_[best])) best = i;
            }
        }
        apply(v, best);
        return static_cast<std::int64_t>(best);
    }

    std::size_t n_;
    std::size_t n_active_ = 0;
    double p_;
    double gamma_;
    TieBreak tie_;
    bool unit_w_ = true;
    double W_all_ = 0.0;       // sum of the active agents' weights
    double sigma2_all_ = 0.0;  // sigma2 of a round where every active agent is eligible
    std::vector<double> dm_, lm_, lg_, delta_, ve_;  // scratch, preallocated
    std::vector<std::uint8_t> e_;                    // scratch: eligible and active
    std::vector<double> fdF_, ferr_, ffm_, fx_;  // scratch of the fast pass
    std::uint64_t fast_rounds_ = 0, exact_rounds_ = 0;
};

}  // namespace fastfair
