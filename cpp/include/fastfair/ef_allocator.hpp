// EF_c online item allocation with the p-potential rule (docs/formulas.md section 6),
// optionally with discounted memory (section 8), and the scheduler extensions
// (docs/scheduler-extensions.md): eligibility and churn (no weights).
//
// Per ordered pair (i, j), i != j: envy E_ij = v_i(A_j) - v_i(A_i) (with a discount, the
// recursion E_ij <- gamma E_ij + 1[a = j] v_i - 1[a = i] v_i), scale S_ij = the largest
// value for i of an item in j's bundle (undiscounted running maximum), quality variable
// d_ij = (E_ij)_+ / S_ij. An item counts only for the agents eligible for it (the others'
// values are taken as 0) and goes to one of them. Giving the item to a changes only the
// 2(n-1) pairs (a, j) and (i, a), so with the phi terms cached the rule costs O(n^2) per
// round (O(n) per candidate). Terms are computed as phi - 1 = expm1(log phi) (exact for
// tiny deficits); when a log term exceeds kLogFastLimit the round is re-evaluated with
// every term shifted by the largest log.
// Ties: TieBreak::Index takes the lowest index among exact minima (the original rule);
// TieBreak::Value takes, among the candidates within a relative kTieRel of the minimum S
// (the whole potential; it is summed only in rounds where the terms the round changes do
// not settle the question), the highest value to the recipient, then the largest total
// envy sum_j E_aj, then the lowest index. Not thread-safe.
#pragma once

#include <memory>
#include <thread>

#include "fastfair/online_common.hpp"

namespace fastfair {

namespace ef_detail {

// Row i of the fast pass (docs/numerics.md "The fast potential"): for every j, the
// normalised envy of pair (i, j) if i receives the item (x[j]) and if j receives it
// (x[n + j]); the diagonal gives 0. With Recip (p <= 64) the divisions become products
// with the cached 1 / S and 1 / v_i: x within 2 ulp of the exact path's quotient, which
// moves F by at most 2p ulp (inside the bound, docs/numerics.md).
template <bool Recip>
FASTFAIR_ALWAYS_INLINE void row_x_impl(std::size_t n, std::size_t i, double vi,
                                       const double* __restrict E,
                                       const double* __restrict S,
                                       const double* __restrict R,
                                       double* __restrict x) noexcept {
    const double rv = 1.0 / vi;
    for (std::size_t j = 0; j < n; ++j) {
        const double e = E[j], s = S[j];
        const double er = e - vi, eg = e + vi;
        const double sg = s < vi ? vi : s;  // std::max(s, vi)
        double qr, qg;
        if (Recip) {
            const double rs = R[j];  // 1 / s, or 0 when s == 0
            qr = er * rs;
            qg = eg * (s < vi ? rv : rs);
        } else {
            qr = er / (s > 0.0 ? s : 1.0);
            qg = eg / (sg > 0.0 ? sg : 1.0);
        }
        const double xr = s > 0.0 ? qr : 0.0;
        const double xg = sg > 0.0 ? qg : 0.0;
        const double xr1 = er > 0.0 ? xr : 0.0;
        const double xg1 = eg > 0.0 ? xg : 0.0;
        x[j] = j == i ? 0.0 : xr1;
        x[n + j] = j == i ? 0.0 : xg1;
    }
}
FASTFAIR_ALWAYS_INLINE void row_x_body(std::size_t n, std::size_t i, double vi,
                                       const double* E, const double* S, const double* R,
                                       double* x) noexcept {
    if (R != nullptr)
        row_x_impl<true>(n, i, vi, E, S, R, x);
    else
        row_x_impl<false>(n, i, vi, E, S, R, x);
}
// 1 / S (0 where S == 0) of one row.
FASTFAIR_ALWAYS_INLINE void recip_body(std::size_t n, const double* __restrict S,
                                       double* __restrict R) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        const double r = 1.0 / (S[j] > 0.0 ? S[j] : 1.0);
        R[j] = S[j] > 0.0 ? r : 0.0;
    }
}
// The cached fast phi - 1 of pair (i, j) from its envy and scale (x = E / S).
FASTFAIR_ALWAYS_INLINE void cache_x_body(std::size_t n, const double* __restrict E,
                                         const double* __restrict S,
                                         double* __restrict x) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        const double e = E[j], s = S[j];
        const double q = e / (s > 0.0 ? s : 1.0);
        const double xx = s > 0.0 ? q : 0.0;
        x[j] = e > 0.0 ? xx : 0.0;
    }
}
// Accumulate row i: delta[j] += F(j gets) - c[j] and its magnitude mag[j] += F + c; the
// row's own term (i gets) is returned through out[0..2] = (sum F(i gets) - c, sum of the
// magnitudes, sum c), summed in 8 lanes (lane l takes j = l mod 8, then a fixed tree) on
// every target, so the sums are the same everywhere.
FASTFAIR_ALWAYS_INLINE void lanes_tail(std::size_t j0, std::size_t n, const double* F,
                                       const double* c, double* delta, double* mag,
                                       double* a, double* b, double* cs) noexcept {
    for (std::size_t j = j0; j < n; ++j) {
        const double fr = F[j], fg = F[n + j], cj = c[j];
        delta[j] += fg - cj;
        mag[j] += fg + cj;
        a[j & 7] += fr - cj;
        b[j & 7] += fr + cj;
        cs[j & 7] += cj;
    }
}
FASTFAIR_ALWAYS_INLINE void lanes_out(const double* a, const double* b, const double* cs,
                                      double* out) noexcept {
    out[0] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    out[1] = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
    out[2] = ((cs[0] + cs[1]) + (cs[2] + cs[3])) + ((cs[4] + cs[5]) + (cs[6] + cs[7]));
}
[[maybe_unused]] FASTFAIR_KERNEL_OPTS static void row_acc_scalar(
    std::size_t n, const double* F, const double* c, double* delta, double* mag,
    double* out) noexcept {
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0},
           cs[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    lanes_tail(0, n, F, c, delta, mag, a, b, cs);
    lanes_out(a, b, cs, out);
}
#if FASTFAIR_HAVE_X86_DISPATCH
[[maybe_unused]] FASTFAIR_KERNEL_AVX2 static void row_acc_avx2(
    std::size_t n, const double* F, const double* c, double* delta, double* mag,
    double* out) noexcept {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256d fr0 = _mm256_loadu_pd(F + j), fr1 = _mm256_loadu_pd(F + j + 4);
        const __m256d fg0 = _mm256_loadu_pd(F + n + j), fg1 = _mm256_loadu_pd(F + n + j + 4);
        const __m256d cj0 = _mm256_loadu_pd(c + j), cj1 = _mm256_loadu_pd(c + j + 4);
        _mm256_storeu_pd(delta + j, _mm256_add_pd(_mm256_loadu_pd(delta + j), _mm256_sub_pd(fg0, cj0)));
        _mm256_storeu_pd(delta + j + 4, _mm256_add_pd(_mm256_loadu_pd(delta + j + 4), _mm256_sub_pd(fg1, cj1)));
        _mm256_storeu_pd(mag + j, _mm256_add_pd(_mm256_loadu_pd(mag + j), _mm256_add_pd(fg0, cj0)));
        _mm256_storeu_pd(mag + j + 4, _mm256_add_pd(_mm256_loadu_pd(mag + j + 4), _mm256_add_pd(fg1, cj1)));
        a0 = _mm256_add_pd(a0, _mm256_sub_pd(fr0, cj0));
        a1 = _mm256_add_pd(a1, _mm256_sub_pd(fr1, cj1));
        b0 = _mm256_add_pd(b0, _mm256_add_pd(fr0, cj0));
        b1 = _mm256_add_pd(b1, _mm256_add_pd(fr1, cj1));
        c0 = _mm256_add_pd(c0, cj0);
        c1 = _mm256_add_pd(c1, cj1);
    }
    alignas(32) double a[8], b[8], cs[8];
    _mm256_store_pd(a, a0);
    _mm256_store_pd(a + 4, a1);
    _mm256_store_pd(b, b0);
    _mm256_store_pd(b + 4, b1);
    _mm256_store_pd(cs, c0);
    _mm256_store_pd(cs + 4, c1);
    lanes_tail(j, n, F, c, delta, mag, a, b, cs);
    lanes_out(a, b, cs, out);
}
[[maybe_unused]] FASTFAIR_KERNEL_AVX512 static void row_acc_avx512(
    std::size_t n, const double* F, const double* c, double* delta, double* mag,
    double* out) noexcept {
    __m512d av = _mm512_setzero_pd(), bv = av, cv = av;
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m512d fr = _mm512_loadu_pd(F + j), fg = _mm512_loadu_pd(F + n + j);
        const __m512d cj = _mm512_loadu_pd(c + j);
        _mm512_storeu_pd(delta + j, _mm512_add_pd(_mm512_loadu_pd(delta + j), _mm512_sub_pd(fg, cj)));
        _mm512_storeu_pd(mag + j, _mm512_add_pd(_mm512_loadu_pd(mag + j), _mm512_add_pd(fg, cj)));
        av = _mm512_add_pd(av, _mm512_sub_pd(fr, cj));
        bv = _mm512_add_pd(bv, _mm512_add_pd(fr, cj));
        cv = _mm512_add_pd(cv, cj);
    }
    alignas(64) double a[8], b[8], cs[8];
    _mm512_store_pd(a, av);
    _mm512_store_pd(b, bv);
    _mm512_store_pd(cs, cv);
    lanes_tail(j, n, F, c, delta, mag, a, b, cs);
    lanes_out(a, b, cs, out);
}
#endif
FASTFAIR_MULTIVERSION(void, row_x,
                      (std::size_t n, std::size_t i, double vi, const double* E,
                       const double* S, const double* R, double* x),
                      (n, i, vi, E, S, R, x))
FASTFAIR_MULTIVERSION(void, recip, (std::size_t n, const double* S, double* R), (n, S, R))
FASTFAIR_MULTIVERSION(void, cache_x,
                      (std::size_t n, const double* E, const double* S, double* x),
                      (n, E, S, x))

}  // namespace ef_detail

class EfAllocator {
public:
    static constexpr int kStateVersion = 2;

    // Bytes of state and cache an engine of n agents needs (E, S, two caches).
    static double bytes_for(std::size_t n) noexcept {
        const double nd = static_cast<double>(n);
        return 4.0 * 8.0 * nd * nd + 64.0 * nd;
    }

    EfAllocator(std::size_t n, double p, double gamma, TieBreak tie = TieBreak::Index)
        : n_(n), p_(0.0), gamma_(resolve_gamma(gamma)), tie_(tie) {
        require_agents(n);
        require_bytes(bytes_for(n), "notion='ef' with this many agents");
        const double nd = static_cast<double>(n);
        p_ = resolve_p(p, nd * (nd - 1.0));
        const std::size_t nn = n * n;
        E_.assign(nn, 0.0);
        S_.assign(nn, 0.0);
        own_.assign(n, 0.0);
        lc_.assign(nn, 0.0);
        pc_.assign(nn, 0.0);
        act_.assign(n, 1);
        n_active_ = n;
        resize_scratch();
        lc_max_ = 0.0;
    }

    std::size_t n() const noexcept { return n_; }
    std::size_t n_active() const noexcept { return n_active_; }
    double p() const noexcept { return p_; }
    double gamma() const noexcept { return gamma_; }
    TieBreak tie_break() const noexcept { return tie_; }
    std::uint64_t rounds() const noexcept { return t_; }
    // Rounds of this object decided by the fast potential alone / handed to the exact
    // path by it (diagnostics for the tests; not part of the state).
    std::uint64_t fast_rounds() const noexcept { return fast_rounds_; }
    std::uint64_t exact_rounds() const noexcept { return exact_rounds_; }
    // Of the fast rounds, those settled by exact deltas of a few candidates.
    std::uint64_t resolved_rounds() const noexcept { return resolved_rounds_; }

    // Recompute the cached log phi / phi terms from (E, S).
    void refresh_cache() noexcept {
        cache_fast_ = false;
        lc_max_ = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                const std::size_t k = i * n_ + j;
                if (i == j) {
                    lc_[k] = 0.0;
                    pc_[k] = 0.0;
                    continue;
                }
                set_cache(k);
                lc_max_ = std::max(lc_max_, lc_[k]);
            }
    }

    // values: n finite numbers in [0, kMaxValue]; mask: nullptr or n bytes (0/1). The
    // caller guarantees at least one active agent is eligible.
    std::int64_t step(const double* v, const std::uint8_t* mask = nullptr) noexcept {
        const int mode = fast_potential_mode().load(std::memory_order_relaxed);
        const bool fast = gamma_ == 0.0 && n_ >= 2 &&
                          (mode >= 2 || (mode == 1 && n_ >= kFastMinAgents));
        const bool plain = mask == nullptr && n_active_ == n_;
        if (!plain) {
            for (std::size_t i = 0; i < n_; ++i) {
                const std::uint8_t e = act_[i] & (mask == nullptr ? 1 : (mask[i] != 0));
                e_[i] = e;
                ve_[i] = e ? v[i] : 0.0;
            }
            v = ve_.data();
        }
        if (fast) {
            if (!cache_fast_) refresh_cache_fast();
            const std::int64_t r = plain ? step_fast<false>(v) : step_fast<true>(v);
            if (r >= 0) return r;
            ++exact_rounds_;
            refresh_cache();  // the exact path's caches
        } else if (cache_fast_) {
            refresh_cache();
        }
        return plain ? step_impl<false>(v) : step_impl<true>(v);
    }

    void run(const double* V, std::size_t T, std::int64_t* out,
             const std::uint8_t* mask = nullptr, std::size_t mask_stride = 0) noexcept {
        std::unique_ptr<Helper> helper;
        if (n_ >= kThreadMinAgents && T >= 8 && gamma_ == 0.0 && online_threads() >= 2 &&
            fast_potential_mode().load(std::memory_order_relaxed) >= 1) {
            try {
                helper = std::make_unique<Helper>(*this);
            } catch (...) {  // no thread available: one thread it is
            }
        }
        helper_ = helper.get();
        for (std::size_t t = 0; t < T; ++t)
            out[t] = step(V + t * n_, mask == nullptr ? nullptr : mask + t * mask_stride);
        helper_ = nullptr;
    }

    // run() splits the fast pass across two threads from this many agents on.
    static constexpr std::size_t kThreadMinAgents = 64;
    // Auto mode (the default) decides with the fast potential from this many agents on:
    // below it the exact path's few positive deficits cost less than the fast pass plus
    // its certification (measured on uniform random streams: exact 90 ns vs fast 500 ns
    // a round at n = 8, 670 vs 1,550 ns at n = 32, 6.0 vs 4.5 us at n = 48).
    static constexpr std::size_t kFastMinAgents = 40;

    bool any_eligible(const std::uint8_t* mask) const noexcept {
        for (std::size_t i = 0; i < n_; ++i)
            if (act_[i] && (mask == nullptr || mask[i])) return true;
        return false;
    }

    // Churn: the new agent's 2(n-1) pairs start at envy 0 and count only new items.
    std::size_t add_agent() {
        grow_to(n_ + 1);
        return n_ - 1;
    }
    // Grow to n1 agents in one reallocation; the new agents are active, at envy 0.
    void grow_to(std::size_t n1) {
        if (n1 <= n_) return;
        require_agents(n1);
        require_bytes(bytes_for(n1), "add_agent with notion='ef'");
        const double nd = static_cast<double>(n_);
        moments_.fold(n_ >= 2 ? 2.0 / nd : 0.0);  // one agent: every item is forced
        std::vector<double> E(n1 * n1, 0.0), S(n1 * n1, 0.0);
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                E[i * n1 + j] = E_[i * n_ + j];
                S[i * n1 + j] = S_[i * n_ + j];
            }
        E_.swap(E);
        S_.swap(S);
        own_.resize(n1, 0.0);
        act_.resize(n1, 1);
        n_active_ += n1 - n_;
        n_ = n1;
        lc_.assign(n1 * n1, 0.0);
        pc_.assign(n1 * n1, 0.0);
        resize_scratch();
        refresh_cache();
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
        return moments_.bound(p_, nd * (nd - 1.0), 2.0, nd, gamma_);
    }

    // State (public for the bindings' get_state / set_state); call refresh_cache()
    // after writing E_ or S_, refresh_active() after writing act_.
    std::vector<double> E_, S_, own_;
    std::vector<std::uint8_t> act_;
    MomentSum moments_;
    std::uint64_t t_ = 0;

private:
    void resize_scratch() {
        delta_.assign(n_, 0.0);
        ve_.assign(n_, 0.0);
        e_.assign(n_, 0);
        idx_.assign(n_, 0);
        fmag_.assign(n_, 0.0);
        fx_.assign(2 * n_, 0.0);
        fF_.assign(6 * n_, 0.0);  // 2n terms, then 2n + 2n compaction scratch
        fpos_.assign(2 * n_, 0);
        fcol_.assign(2 * n_, 0.0);
    }

    // pc_ = the fast phi - 1 of every pair (lc_ is then unused), O(n^2) fast terms.
    void refresh_cache_fast() noexcept {
        const std::size_t n = n_;
        const int level = online_simd_level();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t row = i * n;
            FASTFAIR_DISPATCH(ef_detail::cache_x, level, n, E_.data() + row, S_.data() + row,
                              fx_.data());
            fast_phi_m1_batch(fx_.data(), pc_.data() + row, n, p_, level);
            pc_[row + i] = 0.0;
        }
        recip_ = p_ <= 64.0;
        if (recip_) {
            rS_.resize(n * n);
            for (std::size_t i = 0; i < n; ++i)
                FASTFAIR_DISPATCH(ef_detail::recip, level, n, S_.data() + i * n,
                                  rS_.data() + i * n);
        }
        cache_fast_ = true;
    }

    // The round decided by the fast potential (docs/numerics.md "The fast potential"):
    // the recipient when the error bounds prove it is the exact path's choice, -1 (state
    // untouched) when they cannot (near-ties, huge envies).
    template <bool Masked>
    std::int64_t step_fast(const double* v) noexcept {
        const std::size_t n = n_;
        const int level = online_simd_level();
        double* dl = delta_.data();
        double* mag = fmag_.data();
        for (std::size_t a = 0; a < n; ++a) {
            dl[a] = 0.0;
            mag[a] = 0.0;
        }
        // Rows [0, h) here, rows [h, n) on the helper thread when one runs (n >= 64
        // inside run()); the helper's sums are added afterwards. The split only changes
        // roundings inside the bound, so the decisions are the same for any thread count.
        const std::size_t h = helper_ != nullptr ? n / 2 : n;
        if (h < n) helper_->start(v, level);
        double csum = row_pass(v, 0, h, level, dl, mag, fx_.data(), fF_.data(), fpos_.data());
        if (h < n) {
            csum += helper_->wait();
            const double* hd = helper_->dl.data();
            const double* hm = helper_->mag.data();
            for (std::size_t a = 0; a < n; ++a) {
                dl[a] += hd[a];
                mag[a] += hm[a];
            }
        }
        // Out of the fast range anywhere (the exact path might shift): exact path.
        if (!(csum < kFastPhiMax)) return -1;
        for (std::size_t a = 0; a < n; ++a)
            if (!(mag[a] < kFastPhiMax)) return -1;
        // |fast delta - exact delta| <= err(a): the two terms of every pair within the
        // kernel bound, their subtractions and two sums of at most 2n terms.
        const double nd = static_cast<double>(n);
        const double rel = 2.5 * kFastPhiRel + 8.0 * nd * 0x1p-53;
        const double abs_ = 8.0 * nd * kFastPhiAbs;
        auto err = [&](std::size_t a) { return mag[a] == 0.0 ? 0.0 : rel * mag[a] + abs_; };
        std::size_t b = n;
        double bd = INFINITY;
        for (std::size_t a = 0; a < n; ++a) {
            if (Masked && !e_[a]) continue;
            if (dl[a] < bd) {
                bd = dl[a];
                b = a;
            }
        }
        if (b == n) return -1;
        const double eb = err(b);
        const double ub = bd + eb;
        const bool by_value = tie_ == TieBreak::Value;
        // The exact path ties every candidate within best + kTieRel * (S + best),
        // S = m + sum of the exact cached terms (see step_impl); bounds of S.
        const double md = nd * (nd - 1.0);
        const double srel = kFastPhiRel + 4.0 * nd * nd * 0x1p-53;
        const double S_hi = md + csum * (1.0 + srel) + md * kFastPhiAbs;
        const double S_lo = md + csum * (1.0 - srel) - md * kFastPhiAbs;
        auto lim_up = [&](double best) {
            return best + kTieRel * (S_hi + best) * (1.0 + 1e-14) + 1e-300;
        };
        auto lim_down = [&](double best) {
            return best + kTieRel * (S_lo + best) * (1.0 - 1e-14) - 1e-300;
        };
        bool settled = true;
        for (std::size_t a = 0; a < n && settled; ++a) {
            if (a == b || (Masked && !e_[a])) continue;
            const double ea = err(a);
            if (dl[a] - ea > ub) continue;
            if (ea == 0.0 && eb == 0.0 && dl[a] == bd) continue;  // exact tie, a > b
            settled = false;
        }
        if (settled && by_value) {
            const double hi = lim_up(ub), lo = lim_down(bd - eb);
            std::size_t best = b;
            double best_env = NAN;
            for (std::size_t a = 0; a < n && settled; ++a) {
                if (a == b || (Masked && !e_[a])) continue;
                const double ea = err(a);
                if (dl[a] - ea > hi) continue;
                if (!(dl[a] + ea < lo)) {
                    settled = false;
                    break;
                }
                tie_step(v, a, best, best_env);
            }
            if (settled) b = best;
        }
        if (!settled) {
            // Exact deltas for the candidates the bounds cannot rule out, in the exact
            // path's own order; the others are surely beyond the minimum (or the tie
            // limit). Many survivors (genuine ties): the whole exact path is cheaper.
            const double thr = by_value ? lim_up(ub) : ub;
            std::size_t cnt = 0;
            for (std::size_t a = 0; a < n; ++a) {
                if (Masked && !e_[a]) continue;
                if (dl[a] - err(a) <= thr) idx_[cnt++] = static_cast<std::uint32_t>(a);
            }
            if (cnt > n / 2 + 1) return -1;
            double* ex = fmag_.data();  // reused: exact deltas, by survivor
            std::size_t bt = n;
            double btd = INFINITY;
            for (std::size_t c = 0; c < cnt; ++c) {
                ex[c] = exact_delta(v, idx_[c]);
                if (ex[c] < btd) {
                    btd = ex[c];
                    bt = idx_[c];
                }
            }
            if (bt == n) return -1;
            b = bt;
            if (by_value) {
                const double hi = lim_up(btd), lo = lim_down(btd);
                std::size_t best = bt;
                double best_env = NAN;
                for (std::size_t c = 0; c < cnt; ++c) {
                    const std::size_t a = idx_[c];
                    if (a == bt || ex[c] > hi) continue;
                    if (!(ex[c] <= lo)) return -1;  // within the limit's rounding band
                    tie_step(v, a, best, best_env);
                }
                b = best;
            }
            ++resolved_rounds_;
        }
        count_round<Masked>();
        apply_fast(v, b, level);
        ++fast_rounds_;
        return static_cast<std::int64_t>(b);
    }

    // The fast pass over rows [r0, r1): adds each row's terms to dl / mag (zeroed by the
    // caller) and returns the sum of the rows' cached terms. Reads the state only.
    // fx: 2n, fF: 6n, pos: 2n entries of scratch.
    double row_pass(const double* v, std::size_t r0, std::size_t r1, int level, double* dl,
                    double* mag, double* fx, double* fF, std::uint32_t* pos) const noexcept {
        const std::size_t n = n_;
        double csum = 0.0;
        double racc[3];
        for (std::size_t i = r0; i < r1; ++i) {
            const double vi = v[i];
            const std::size_t row = i * n;
            if (vi == 0.0) {  // no pair of row i changes
                for (std::size_t j = 0; j < n; ++j) csum += pc_[row + j];
                continue;
            }
            FASTFAIR_DISPATCH(ef_detail::row_x, level, n, i, vi, E_.data() + row,
                              S_.data() + row, recip_ ? rS_.data() + row : nullptr, fx);
            fast_phi_m1_sparse(fx, fF, 2 * n, p_, level, fF + 2 * n, fF + 4 * n, pos);
            FASTFAIR_DISPATCH(ef_detail::row_acc, level, n, fF, pc_.data() + row, dl, mag,
                              racc);
            dl[i] += racc[0];
            mag[i] += racc[1];
            csum += racc[2];
        }
        return csum;
    }

    // A second thread for the row pass, alive for one run() call: the main thread hands
    // it a round (start) and waits for it (wait); both spin briefly, then yield.
    struct Helper {
        explicit Helper(const EfAllocator& e)
            : eng(e), dl(e.n_, 0.0), mag(e.n_, 0.0), fx(2 * e.n_, 0.0), fF(6 * e.n_, 0.0),
              pos(2 * e.n_, 0),
              th([this] { loop(); }) {}
        ~Helper() {
            quit.store(true, std::memory_order_release);
            go.fetch_add(1, std::memory_order_acq_rel);
            th.join();
        }
        void start(const double* v_, int level_) noexcept {
            v = v_;
            level = level_;
            go.fetch_add(1, std::memory_order_acq_rel);
        }
        double wait() noexcept {
            const std::uint64_t want = go.load(std::memory_order_relaxed);
            spin([&] { return done.load(std::memory_order_acquire) == want; });
            return csum;
        }
        template <class Ready>
        static void spin(Ready ready) noexcept {
            for (int k = 0; !ready(); ++k) {
                if (k > 4000) std::this_thread::yield();
            }
        }
        void loop() noexcept {
            std::uint64_t seen = 0;
            for (;;) {
                spin([&] { return go.load(std::memory_order_acquire) != seen; });
                seen = go.load(std::memory_order_acquire);
                if (quit.load(std::memory_order_acquire)) return;
                const std::size_t n = eng.n_;
                std::fill(dl.begin(), dl.end(), 0.0);
                std::fill(mag.begin(), mag.end(), 0.0);
                csum = eng.row_pass(v, n / 2, n, level, dl.data(), mag.data(), fx.data(),
                                    fF.data(), pos.data());
                done.store(seen, std::memory_order_release);
            }
        }
        const EfAllocator& eng;
        std::vector<double> dl, mag, fx, fF;
        std::vector<std::uint32_t> pos;
        const double* v = nullptr;
        int level = 0;
        double csum = 0.0;
        std::atomic<std::uint64_t> go{0}, done{0};
        std::atomic<bool> quit{false};
        std::thread th;
    };

    // One step of the exact path's value tie loop (value, then total envy, then index).
    void tie_step(const double* v, std::size_t a, std::size_t& best,
                  double& best_env) const noexcept {
        if (v[a] > v[best]) {
            best = a;
            best_env = NAN;
        } else if (v[a] == v[best]) {
            if (std::isnan(best_env)) best_env = envy_sum(best);
            const double env = envy_sum(a);
            if (env > best_env) {
                best = a;
                best_env = env;
            }
        }
    }

    // The exact path's cached term of pair k (set_cache), computed from the state.
    double exact_cached(std::size_t k) const noexcept {
        const double l = log_phi_ratio(E_[k], S_[k], p_);
        return l == 0.0 ? 0.0 : phi_minus_1(std::min(l, kLogFastLimit));
    }
    static double exact_term(double l) noexcept {
        return l == 0.0 ? 0.0 : phi_minus_1(std::min(l, kLogFastLimit));
    }
    // The exact path's delta_[a] (step_impl pass 1, unshifted), the same terms summed in
    // the same order: rows i ascending, pair (i, a) for i != a, row a's own sum at i = a.
    double exact_delta(const double* v, std::size_t a) const noexcept {
        const std::size_t n = n_;
        double acc = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (vi == 0.0) continue;
            if (i == a) {
                double di = 0.0;
                for (std::size_t j = 0; j < n; ++j) {
                    const std::size_t k = a * n + j;
                    const double e = E_[k];
                    if (j == a || !(e + vi > 0.0) || !(e > 0.0)) continue;
                    di += exact_term(log_phi_ratio(e - vi, S_[k], p_)) - exact_cached(k);
                }
                acc += di;
            } else {
                const std::size_t k = i * n + a;
                const double e = E_[k];
                if (!(e + vi > 0.0)) continue;
                acc += exact_term(log_phi_ratio(e + vi, std::max(S_[k], vi), p_)) -
                       exact_cached(k);
            }
        }
        return acc;
    }

    // Apply the decision; the changed pairs' cached fast terms from the new state.
    void apply_fast(const double* v, std::size_t best, int level) noexcept {
        const std::size_t n = n_;
        const double vb = v[best];
        const std::size_t rb = best * n;
        if (vb != 0.0) {
            for (std::size_t j = 0; j < n; ++j)
                if (j != best) E_[rb + j] -= vb;
            FASTFAIR_DISPATCH(ef_detail::cache_x, level, n, E_.data() + rb, S_.data() + rb,
                              fx_.data());
            fast_phi_m1_batch(fx_.data(), pc_.data() + rb, n, p_, level);
            pc_[rb + best] = 0.0;
        }
        double* ce = fcol_.data();
        double* cs = fcol_.data() + n;
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            const std::size_t k = i * n + best;
            if (i != best && vi != 0.0) {
                E_[k] += vi;
                S_[k] = std::max(S_[k], vi);
            }
            ce[i] = E_[k];
            cs[i] = S_[k];
        }
        FASTFAIR_DISPATCH(ef_detail::cache_x, level, n, ce, cs, fx_.data());
        fast_phi_m1_batch(fx_.data(), fF_.data(), n, p_, level);
        for (std::size_t i = 0; i < n; ++i) pc_[i * n + best] = i == best ? 0.0 : fF_[i];
        if (recip_) {
            FASTFAIR_DISPATCH(ef_detail::recip, level, n, cs, fF_.data());
            for (std::size_t i = 0; i < n; ++i) rS_[i * n + best] = fF_[i];
        }
        own_[best] += vb;
        ++t_;
    }

    // Count the round in the moment sum of bound().
    template <bool Masked>
    void count_round() noexcept {
        if (Masked) {
            std::size_t k = 0;
            for (std::size_t i = 0; i < n_; ++i) k += e_[i];
            if (k == n_)
                ++moments_.plain;
            else
                moments_.add(k >= 2 ? 2.0 / static_cast<double>(k) : 0.0);
        } else {
            ++moments_.plain;
        }
    }

    template <bool Masked>
    std::int64_t step_impl(const double* v) noexcept {
        const std::size_t n = n_;
        const double p = p_;
        count_round<Masked>();
        if (gamma_ > 0.0) {
            for (std::size_t k = 0; k < n * n; ++k) E_[k] *= gamma_;
            refresh_cache();
        }
        double lmax = lc_max_;
        double touched = 0.0;  // sum of the cached phi - 1 of the pairs this round can change
        for (std::size_t a = 0; a < n; ++a) delta_[a] = 0.0;
        // Pass 1: for every pair (i, j), the change of its phi term if i receives (its
        // envy drops by v_i) and if j receives (its envy grows by v_i, its scale becomes
        // max(S_ij, v_i)). Pairs whose envy stays <= 0 either way contribute nothing.
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (vi == 0.0) continue;  // no pair of row i changes
            const std::size_t row = i * n;
            const double* Ei = E_.data() + row;
            // Branch-free compaction of the pairs whose envy can be positive after the
            // round (E_ij + v_i > 0); the diagonal has E = 0 and is skipped below.
            std::size_t cnt = 0;
            for (std::size_t j = 0; j < n; ++j) {
                idx_[cnt] = static_cast<std::uint32_t>(j);
                cnt += static_cast<std::size_t>(Ei[j] + vi > 0.0);
            }
            double di = 0.0;
            for (std::size_t c = 0; c < cnt; ++c) {
                const std::size_t j = idx_[c];
                if (j == i) continue;
                const std::size_t k = row + j;
                const double e = Ei[j];
                const double s = S_[k];
                touched += pc_[k];
                if (e > 0.0) {  // i receives: envy decreases
                    const double lr = log_phi_ratio(e - vi, s, p);
                    lmax = std::max(lmax, lr);
                    di += (lr == 0.0 ? 0.0 : phi_minus_1(std::min(lr, kLogFastLimit))) - pc_[k];
                }
                const double lg = log_phi_ratio(e + vi, std::max(s, vi), p);  // j receives
                lmax = std::max(lmax, lg);
                delta_[j] += (lg == 0.0 ? 0.0 : phi_minus_1(std::min(lg, kLogFastLimit))) - pc_[k];
            }
            delta_[i] += di;
        }
        double S_floor;  // lower bound of the minimum S (in the shifted units if shifted)
        const double md = static_cast<double>(n) * static_cast<double>(n - 1);
        if (lmax > kLogFastLimit) {
            touched = shifted_deltas(v, lmax);
            S_floor = md * std::exp(-lmax) + touched;
        } else {
            S_floor = md + touched;
        }
        std::size_t best = n;
        double best_delta = INFINITY;
        for (std::size_t a = 0; a < n; ++a) {
            if (Masked && !e_[a]) continue;
            if (delta_[a] < best_delta) {
                best_delta = delta_[a];
                best = a;
            }
        }
        if (tie_ == TieBreak::Value) {
            const bool shifted = lmax > kLogFastLimit;
            double lim = best_delta + kTieRel * (S_floor + best_delta);
            // S_floor leaves out the terms no candidate changes. When a candidate lies
            // beyond that tolerance but within the largest S could be, measure against
            // the whole potential (O(n^2), only in such rounds).
            const double S_up = shifted ? md : md * std::exp(lmax);
            const double lim_up = best_delta + kTieRel * S_up;
            bool unsure = false;
            for (std::size_t a = 0; a < n && !unsure; ++a)
                unsure = a != best && !(Masked && !e_[a]) && delta_[a] > lim &&
                         delta_[a] <= lim_up;
            if (unsure) lim = best_delta + kTieRel * (whole_S(shifted ? lmax : 0.0) + best_delta);
            double best_env = NAN;  // computed lazily (value ties only)
            for (std::size_t a = 0; a < n; ++a) {
                if (a == best || (Masked && !e_[a]) || !(delta_[a] <= lim)) continue;
                if (v[a] > v[best]) {
                    best = a;
                    best_env = NAN;
                } else if (v[a] == v[best]) {
                    if (std::isnan(best_env)) best_env = envy_sum(best);
                    const double ea = envy_sum(a);
                    if (ea > best_env) {
                        best = a;
                        best_env = ea;
                    }
                }
            }
        }
        // Apply: pairs (best, j) lose v_best, pairs (i, best) gain v_i; their cached
        // terms are recomputed from the new state (the same values pass 1 produced).
        const double vb = v[best];
        if (vb != 0.0) {
            for (std::size_t j = 0; j < n; ++j) {
                if (j == best) continue;
                const std::size_t k = best * n + j;
                E_[k] -= vb;
                set_cache(k);
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (i == best || vi == 0.0) continue;
            const std::size_t k = i * n + best;
            E_[k] += vi;
            S_[k] = std::max(S_[k], vi);
            set_cache(k);
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

    // S of the state before the round: m + sum (phi - 1), or sum phi e^-shift.
    double whole_S(double shift) const noexcept {
        double s = 0.0;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                if (i == j) continue;
                const std::size_t k = i * n_ + j;
                s += shift == 0.0 ? pc_[k] : std::exp(lc_[k] - shift);
            }
        const double md = static_cast<double>(n_) * static_cast<double>(n_ - 1);
        return shift == 0.0 ? md + s : s;
    }

    double envy_sum(std::size_t a) const noexcept {
        double s = 0.0;
        for (std::size_t j = 0; j < n_; ++j) s += E_[a * n_ + j];
        return s;
    }

    // Overflow-safe re-evaluation of the deltas with every term scaled by exp(-shift);
    // returns the scaled sum of the terms the round can change.
    double shifted_deltas(const double* v, double shift) noexcept {
        const std::size_t n = n_;
        double touched = 0.0;
        for (std::size_t a = 0; a < n; ++a) delta_[a] = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (vi == 0.0) continue;
            for (std::size_t j = 0; j < n; ++j) {
                if (j == i) continue;
                const std::size_t k = i * n + j;
                const double e = E_[k], s = S_[k];
                if (!(e + vi > 0.0)) continue;
                const double old = std::exp(lc_[k] - shift);
                touched += old;
                if (e > 0.0) delta_[i] += std::exp(log_phi_ratio(e - vi, s, p_) - shift) - old;
                delta_[j] +=
                    std::exp(log_phi_ratio(e + vi, std::max(s, vi), p_) - shift) - old;
            }
        }
        return touched;
    }

    void set_cache(std::size_t k) noexcept {
        const double l = log_phi_ratio(E_[k], S_[k], p_);
        lc_[k] = l;
        pc_[k] = l == 0.0 ? 0.0 : phi_minus_1(std::min(l, kLogFastLimit));
    }

    std::size_t n_;
    std::size_t n_active_ = 0;
    double p_;
    double gamma_;
    TieBreak tie_;
    double lc_max_;
    std::vector<double> lc_, pc_;  // cached log phi and phi - 1 (expm1, clamped) per pair
    std::vector<double> delta_;    // scratch: S(a) - S(no change) per candidate
    std::vector<double> ve_;       // scratch: values with ineligible agents zeroed
    std::vector<std::uint8_t> e_;  // scratch: eligible and active
    std::vector<std::uint32_t> idx_;  // scratch: compacted column indices of one row
    std::uint64_t fast_rounds_ = 0, exact_rounds_ = 0, resolved_rounds_ = 0;
    Helper* helper_ = nullptr;  // the second thread of the current run(), if any
    bool cache_fast_ = false;  // pc_ holds fast terms (lc_ unused) instead of exact ones
    std::vector<double> fmag_, fx_, fF_, fcol_;  // scratch of the fast pass
    std::vector<std::uint32_t> fpos_;
    std::vector<double> rS_;  // fast mode with p <= 64: 1 / S_ per pair (0 where S_ == 0)
    bool recip_ = false;
};

}  // namespace fastfair
