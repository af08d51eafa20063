// Classical EF_k through threshold deficits (paper-formulas.md section 7, the paper's
// section 5.4), run by the p-potential rule of section 2.
//
// Model. n agents, one item per round, given to one agent. Every item value is 0 or one
// of L positive levels theta_0 < ... < theta_{L-1} known up front. Quality variables are
// (i, j, l) for i != j, so m = n (n - 1) L. With c_ij^l the number of items of A_j that i
// values >= theta_l, the deficit is d_ijl = (c_ij^l - c_ii^l)_+ (an integer).
// Lemma 5.10: max_l d_ijl <= k implies i is EF_k toward j, so tau-fair implies
// EF_floor(tau).
//
// State. cnt_[i][j][l]: number of items of A_j that i values exactly theta_l (the
// primitive state; zero-valued items are not counted) and D_[i][j][l] = c_ij^l - c_ii^l
// (signed, derived). Both are contiguous (n, n, L) int64 arrays.
//
// Rule. Giving the item to a lowers D[a][j][l] by one for l <= lev_a (a's level index of
// the item) and raises D[i][a][l] by one for l <= lev_i; nothing else moves. Deficits are
// integers, so every change of S is +-w(k) with w(k) = phi_p(k + 1) - phi_p(k). With the
// row prefix sums (slot 0 is the empty prefix, so lev = -1, i.e. value 0, reads 0)
//     GP[i][j][l + 1] = sum_{l' <= l, D >= 0} w(D[i][j][l']),
//     LP[i][j][l + 1] = sum_{l' <= l, D >= 1} w(D[i][j][l'] - 1),
// the change of S for candidate a is
//     delta_a = sum_{i} GP[i][a][lev_i + 1] - sum_{j} LP[a][j][lev_a + 1]
// (diagonal rows are zero), i.e. O(n) per candidate and O(n^2) per round; after the
// decision only the <= 2 (n - 1) rows (a, .) and (., a) are recomputed (O(n L)). Total
// O(n^2 + n L) per round, below the O(n^2 L) of the paper's direct evaluation. Cached
// sums are always recomputed from D (never adjusted incrementally), so they are a
// function of the state alone and a restored engine decides identically.
//
// Overflow safety. w(k) is tabulated from log phi_p as mant * 2^e (deterministic in k
// and p) and stored as mant * 2^(e - s), with s = 0 unless the largest entry would
// exceed 2^900 (huge p or deficits). Scaling by a power of two is exact, so s never
// changes a decision; the only loss is that terms more than ~2^1970 below the largest
// underflow to 0 when s > 0 (they could only ever break exact ties).
// Ties go to the lowest index.
//
// Not thread-safe; the bindings release the GIL only inside batch run().
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "fastfair/bounds.hpp"
#include "fastfair/potential.hpp"
#include "fastfair/summation.hpp"

namespace fastfair {

namespace detail {

// Exact sum of doubles as a non-overlapping expansion (Shewchuk; the algorithm of
// Python's math.fsum). Used only by the exact EF_k read-out.
class ExactSum {
public:
    void clear() noexcept { p_.clear(); }
    void add(double x) {
        std::size_t i = 0;
        for (std::size_t k = 0; k < p_.size(); ++k) {
            double y = p_[k];
            if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
            const double hi = x + y;
            const double lo = y - (hi - x);
            if (lo != 0.0) p_[i++] = lo;
            x = hi;
        }
        p_.resize(i);
        p_.push_back(x);
    }
    // Adds c * x exactly (c an integer below 2^53, so it is exact as a double).
    void add_product(double c, double x) {
        const double h = c * x;
        const double l = std::fma(c, x, -h);
        add(h);
        if (l != 0.0) add(l);
    }
    // Sign of the exact sum: that of the largest non-zero component.
    int sign() const noexcept {
        for (std::size_t k = p_.size(); k-- > 0;) {
            if (p_[k] > 0.0) return 1;
            if (p_[k] < 0.0) return -1;
        }
        return 0;
    }
    double approx() const noexcept {
        double s = 0.0;
        for (double v : p_) s += v;
        return s;
    }
    void assign(const ExactSum& o) { p_.assign(o.p_.begin(), o.p_.end()); }

private:
    std::vector<double> p_;
};

}  // namespace detail

class EFkAllocator {
public:
    // Relative tolerance for matching an item value to a level.
    static constexpr double kLevelRelTol = 1e-12;

    // levels: strictly increasing, finite, positive, pairwise farther apart than the
    // matching tolerance. p: finite, >= 2. Throws std::invalid_argument otherwise.
    EFkAllocator(std::size_t n, std::vector<double> levels, double p)
        : n_(n), L_(levels.size()), levels_(std::move(levels)), p_(p) {
        if (n_ < 2) throw std::invalid_argument("n_agents must be >= 2");
        if (L_ == 0) throw std::invalid_argument("levels must not be empty");
        for (std::size_t l = 0; l < L_; ++l) {
            const double v = levels_[l];
            if (!std::isfinite(v) || !(v > 0.0))
                throw std::invalid_argument("levels must be finite and > 0");
            if (l > 0 && !(v > levels_[l - 1]))
                throw std::invalid_argument("levels must be strictly increasing");
            if (l > 0 && v - levels_[l - 1] <= 2.0 * kLevelRelTol * v)
                throw std::invalid_argument(
                    "levels must differ by more than the matching tolerance (relative "
                    "2e-12); two levels this close are ambiguous");
        }
        if (!std::isfinite(p_) || !(p_ >= 2.0))
            throw std::invalid_argument("p must be finite and >= 2");
        const std::size_t sz = n_ * n_ * L_;
        cnt_.assign(sz, 0);
        D_.assign(sz, 0);
        GP_.assign(n_ * n_ * (L_ + 1), 0.0);
        LP_.assign(n_ * n_ * (L_ + 1), 0.0);
        delta_.assign(n_, 0.0);
        gain_.assign(n_, 0.0);
        rows_.assign(2 * n_, 0);
        rlev_.assign(2 * n_, 0);
        rsgn_.assign(2 * n_, 0);
        kmax_ = 0;
        t_ = 0;
        wz_.clear();
        scale_ = 0;
        ensure_table(8);
        rebuild_prefixes();
    }

    std::size_t n_agents() const noexcept { return n_; }
    std::size_t n_levels() const noexcept { return L_; }
    double p() const noexcept { return p_; }
    const std::vector<double>& levels() const noexcept { return levels_; }
    std::uint64_t rounds() const noexcept { return t_; }
    const std::vector<std::int64_t>& counts() const noexcept { return cnt_; }
    double m() const noexcept {
        return static_cast<double>(n_) * static_cast<double>(n_ - 1) *
               static_cast<double>(L_);
    }

    // Level index of value v: -1 for 0, l if v matches theta_l, -2 if no match.
    int match_level(double v) const noexcept {
        if (v == 0.0) return -1;
        if (!(v > 0.0) || !std::isfinite(v)) return -2;
        const auto it = std::lower_bound(levels_.begin(), levels_.end(), v);
        const auto check = [&](std::size_t l) {
            return std::fabs(v - levels_[l]) <= kLevelRelTol * levels_[l];
        };
        const std::size_t hi = static_cast<std::size_t>(it - levels_.begin());
        if (hi < L_ && check(hi)) return static_cast<int>(hi);
        if (hi > 0 && check(hi - 1)) return static_cast<int>(hi - 1);
        return -2;
    }

    // One round with pre-matched level indices lev[i] in {-1, 0..L-1}. Returns the
    // recipient. No allocation unless the deficit table must grow (amortised, rare).
    std::size_t step_levels(const int* lev) {
        const std::size_t W = L_ + 1;
        // gain_a = sum_i GP[i][a][lev_i + 1]: slot 0 is the empty prefix (lev_i = -1)
        // and the diagonal rows are zero, so no branch is needed.
        std::fill(gain_.begin(), gain_.end(), 0.0);
        for (std::size_t i = 0; i < n_; ++i) {
            const double* g = &GP_[i * n_ * W + static_cast<std::size_t>(lev[i] + 1)];
            for (std::size_t a = 0; a < n_; ++a) gain_[a] += g[a * W];
        }
        std::size_t best = 0;
        double best_delta = std::numeric_limits<double>::infinity();
        for (std::size_t a = 0; a < n_; ++a) {
            const double* lp = &LP_[a * n_ * W + static_cast<std::size_t>(lev[a] + 1)];
            double loss = 0.0;
            for (std::size_t j = 0; j < n_; ++j) loss += lp[j * W];
            const double d = gain_[a] - loss;
            delta_[a] = d;
            if (d < best_delta) {
                best_delta = d;
                best = a;
            }
        }
        apply(lev, best);
        return best;
    }

    // Gives the item (level indices lev) to agent a and updates all state.
    void apply(const int* lev, std::size_t a) {
        // exact per-level counts
        for (std::size_t i = 0; i < n_; ++i)
            if (lev[i] >= 0) ++cnt_[(i * n_ + a) * L_ + static_cast<std::size_t>(lev[i])];
        ++t_;
        // the rows that move: (a, j) down by one for l <= lev_a, (i, a) up for l <= lev_i
        std::size_t nr = 0;
        if (lev[a] >= 0)
            for (std::size_t j = 0; j < n_; ++j)
                if (j != a) {
                    rows_[nr] = a * n_ + j;
                    rlev_[nr] = lev[a];
                    rsgn_[nr] = -1;
                    ++nr;
                }
        for (std::size_t i = 0; i < n_; ++i)
            if (i != a && lev[i] >= 0) {
                rows_[nr] = i * n_ + a;
                rlev_[nr] = lev[i];
                rsgn_[nr] = 1;
                ++nr;
            }
        if (nr == 0) return;
        // deficits grow by at most one per round: table index kmax_ + 2 must exist
        if (static_cast<std::size_t>(kmax_) + 3 > wz_.size())
            ensure_table(2 * static_cast<std::size_t>(kmax_) + 8);
        update_rows(nr);
    }
    // Deficits (n, n, L) as doubles, diagonal zero.
    void deficits(double* out) const noexcept {
        for (std::size_t q = 0; q < D_.size(); ++q)
            out[q] = D_[q] > 0 ? static_cast<double>(D_[q]) : 0.0;
    }

    double max_deficit() const noexcept {
        std::int64_t mx = 0;
        for (std::int64_t v : D_) mx = std::max(mx, v);
        return static_cast<double>(mx);
    }

    // log S = log sum_q phi_p(d_q) over the m quality variables (overflow-safe).
    double log_potential_sum() const {
        double g = 0.0;
        for (std::int64_t v : D_) g = std::max(g, log_phi(static_cast<double>(v), p_));
        NeumaierSum s;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                if (i == j) continue;
                const std::int64_t* row = &D_[(i * n_ + j) * L_];
                for (std::size_t l = 0; l < L_; ++l)
                    s.add(std::exp(log_phi(static_cast<double>(row[l]), p_) - g));
            }
        return g + std::log(s.value());
    }

    // Phi = S^(1/p).
    double potential() const { return std::exp(log_potential_sum() / p_); }

    double bound() const noexcept {
        return tau_bound(p_, m(), 2.0, static_cast<double>(n_), static_cast<double>(t_));
    }

    // v_i(A_i) from the exact per-level counts.
    void utilities(double* out) const noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            NeumaierSum s;
            const std::int64_t* c = &cnt_[(i * n_ + i) * L_];
            for (std::size_t l = 0; l < L_; ++l)
                if (c[l] != 0) s.add(static_cast<double>(c[l]) * levels_[l]);
            out[i] = s.value();
        }
    }

    // Exact smallest k such that the allocation is EF_k: for every i != j,
    // v_i(A_i) >= v_i(A_j) minus the k items of A_j that i values most. Sums are exact
    // (expansion arithmetic), so ties are decided correctly.
    std::int64_t efk() const {
        detail::ExactSum e, e2;
        std::int64_t kmax = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            const std::int64_t* own = &cnt_[(i * n_ + i) * L_];
            for (std::size_t j = 0; j < n_; ++j) {
                if (j == i) continue;
                const std::int64_t* oth = &cnt_[(i * n_ + j) * L_];
                e.clear();
                for (std::size_t l = 0; l < L_; ++l) {
                    if (oth[l] != 0) e.add_product(static_cast<double>(oth[l]), levels_[l]);
                    if (own[l] != 0)
                        e.add_product(-static_cast<double>(own[l]), levels_[l]);
                }
                if (e.sign() <= 0) continue;
                std::int64_t k = 0;
                for (std::size_t l = L_; l-- > 0;) {
                    const std::int64_t c = oth[l];
                    if (c == 0) continue;
                    const double th = levels_[l];
                    e2.assign(e);
                    e2.add_product(-static_cast<double>(c), th);
                    if (e2.sign() > 0) {
                        e.assign(e2);
                        k += c;
                        continue;
                    }
                    // smallest r in [1, c] with e - r * th <= 0
                    const auto still_envious = [&](std::int64_t r) {
                        e2.assign(e);
                        e2.add_product(-static_cast<double>(r), th);
                        return e2.sign() > 0;
                    };
                    double guess = std::ceil(e.approx() / th);
                    if (!(guess >= 1.0)) guess = 1.0;
                    if (guess > static_cast<double>(c)) guess = static_cast<double>(c);
                    std::int64_t r = static_cast<std::int64_t>(guess);
                    while (r > 1 && !still_envious(r - 1)) --r;
                    while (still_envious(r)) ++r;
                    k += r;
                    break;
                }
                kmax = std::max(kmax, k);
            }
        }
        return kmax;
    }

    // Restores the primitive state (per-level counts and rounds) and rebuilds all
    // derived arrays. The caller validates (counts non-negative, shape n*n*L).
    void restore(const std::vector<std::int64_t>& counts, std::uint64_t rounds) {
        cnt_ = counts;
        t_ = rounds;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                std::int64_t* row = &D_[(i * n_ + j) * L_];
                const std::int64_t* cij = &cnt_[(i * n_ + j) * L_];
                const std::int64_t* cii = &cnt_[(i * n_ + i) * L_];
                std::int64_t acc = 0;
                for (std::size_t l = L_; l-- > 0;) {
                    acc += cij[l] - cii[l];
                    row[l] = (i == j) ? 0 : acc;
                }
            }
        kmax_ = 0;
        for (std::int64_t v : D_) kmax_ = std::max(kmax_, v);
        wz_.clear();
        scale_ = 0;
        ensure_table(std::max<std::size_t>(8, static_cast<std::size_t>(kmax_) + 3));
        rebuild_prefixes();
    }

    // Last round's per-candidate change of S, in the internal scale (testing aid).
    const std::vector<double>& last_deltas() const noexcept { return delta_; }

private:
    // wz_[0] = 0 and wz_[k + 1] = w(k) = phi_p(k + 1) - phi_p(k), each stored as
    // mant * 2^(e - scale_) with (mant, e) a deterministic function of k and p.
    void ensure_table(std::size_t size) {
        const std::size_t old = wz_.size();
        if (size <= old) return;
        wm_.resize(size);
        we_.resize(size);
        const std::size_t first = old == 0 ? 1 : old;
        for (std::size_t q = first; q < size; ++q) {
            const double k = static_cast<double>(q - 1);
            const double a = log_phi(k + 1.0, p_);
            const double b = log_phi(k, p_);
            const double ld = a + std::log(-std::expm1(b - a));  // log w(k)
            const double e = std::floor(ld / 0.6931471805599453);
            wm_[q] = std::exp(ld - e * 0.6931471805599453);
            we_[q] = static_cast<int>(e);
        }
        // w is increasing in k: the top entry sets the scale (keep it <= 2^900)
        const int new_scale = std::max(0, we_[size - 1] - 900);
        wz_.resize(size);
        wz_[0] = 0.0;
        for (std::size_t q = 1; q < size; ++q) wz_[q] = std::ldexp(wm_[q], we_[q] - new_scale);
        if (new_scale != scale_ && old != 0) {
            const int shift = scale_ - new_scale;  // exact rescale of cached sums
            for (double& v : GP_) v = std::ldexp(v, shift);
            for (double& v : LP_) v = std::ldexp(v, shift);
        }
        scale_ = new_scale;
    }

    // Applies the +-1 moves to the nr listed rows and recomputes their prefix sums.
    // Rows go in blocks of four so the running sums form eight independent chains.
    void update_rows(std::size_t nr) noexcept {
        std::int64_t mx = kmax_;
        std::size_t r = 0;
        for (; r + 4 <= nr; r += 4) update_block<4>(r, mx);
        for (; r < nr; ++r) update_block<1>(r, mx);
        kmax_ = mx;
    }

    template <int R>
    void update_block(std::size_t r0, std::int64_t& mx) noexcept {
        const std::size_t W = L_ + 1;
        const double* wz = wz_.data();
        std::int64_t* d[R];
        double* gp[R];
        double* lp[R];
        int lv[R];
        std::int64_t sg[R];
        double g[R], s[R];
        for (int r = 0; r < R; ++r) {
            const std::size_t row = rows_[r0 + static_cast<std::size_t>(r)];
            d[r] = &D_[row * L_];
            gp[r] = &GP_[row * W + 1];
            lp[r] = &LP_[row * W + 1];
            lv[r] = rlev_[r0 + static_cast<std::size_t>(r)];
            sg[r] = rsgn_[r0 + static_cast<std::size_t>(r)];
            g[r] = 0.0;
            s[r] = 0.0;
        }
        std::int64_t m = mx;
        for (std::size_t l = 0; l < L_; ++l) {
            const int li = static_cast<int>(l);
            for (int r = 0; r < R; ++r) {
                const std::int64_t k = d[r][l] + (li <= lv[r] ? sg[r] : 0);
                d[r][l] = k;
                m = std::max(m, k);
                // gain term w(k) if k >= 0; loss term w(k - 1) if k >= 1
                g[r] += wz[static_cast<std::size_t>(std::max<std::int64_t>(k + 1, 0))];
                s[r] += wz[static_cast<std::size_t>(std::max<std::int64_t>(k, 0))];
                gp[r][l] = g[r];
                lp[r][l] = s[r];
            }
        }
        mx = m;
    }

    void rebuild_row(std::size_t i, std::size_t j) noexcept {
        const std::size_t W = L_ + 1;
        const std::int64_t* row = &D_[(i * n_ + j) * L_];
        double* gp = &GP_[(i * n_ + j) * W];
        double* lp = &LP_[(i * n_ + j) * W];
        double g = 0.0, s = 0.0;
        gp[0] = 0.0;
        lp[0] = 0.0;
        for (std::size_t l = 0; l < L_; ++l) {
            const std::int64_t k = row[l];
            g += wz_[static_cast<std::size_t>(std::max<std::int64_t>(k + 1, 0))];
            s += wz_[static_cast<std::size_t>(std::max<std::int64_t>(k, 0))];
            gp[l + 1] = g;
            lp[l + 1] = s;
        }
    }

    void rebuild_prefixes() noexcept {
        const std::size_t W = L_ + 1;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                if (i == j) {
                    std::fill_n(&GP_[(i * n_ + j) * W], W, 0.0);
                    std::fill_n(&LP_[(i * n_ + j) * W], W, 0.0);
                } else {
                    rebuild_row(i, j);
                }
            }
    }

    std::size_t n_, L_;
    std::vector<double> levels_;
    double p_;
    std::vector<std::int64_t> cnt_, D_;
    std::vector<double> GP_, LP_;
    std::vector<double> wz_, wm_;
    std::vector<int> we_;
    std::vector<double> gain_;
    std::vector<std::size_t> rows_;
    std::vector<int> rlev_, rsgn_;
    int scale_ = 0;
    std::int64_t kmax_ = 0;
    std::uint64_t t_ = 0;
    std::vector<double> delta_;
};

}  // namespace fastfair
