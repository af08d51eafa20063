// Classical EF_k through threshold deficits (docs/formulas.md section 7, the paper's
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
// primitive state; zero-valued items are not counted), a contiguous (n, n, L) int64
// array, and bt_[i][j][b], its sums over blocks of kBlock levels. The signed deficit
// D[i][j][l] = c_ij^l - c_ii^l (c^l: the counts at levels >= l) is derived, upwards
// from the block sums, only when a row's sums must be recomputed, so a round updates
// 2 n counts instead of 2 (n - 1) rows of deficits.
//
// Rule. Giving the item to a lowers D[a][j][l] by one for l <= lev_a (a's level index of
// the item) and raises D[i][a][l] by one for l <= lev_i; nothing else moves. Deficits are
// integers, so every change of S is +-w(k) with w(k) = phi_p(k + 1) - phi_p(k). With the
// row prefix sums (lev = -1, i.e. value 0, reads 0)
//     G[i][j](lev) = sum_{l' <= lev, D >= 0} w(D[i][j][l']),
//     Lo[i][j](lev) = sum_{l' <= lev, D >= 1} w(D[i][j][l'] - 1),
// the change of S for candidate a is
//     delta_a = sum_{i} G[i][a](lev_i) - sum_{j} Lo[a][j](lev_a)
// (diagonal rows are zero), i.e. O(n) per candidate and O(n^2) per round; after the
// decision only the <= 2 (n - 1) rows (a, .) and (., a) can change. Total O(n^2 + n L)
// per round, below the O(n^2 L) of the paper's direct evaluation. The prefix sums of a
// row are always recomputed from D in level order (never adjusted incrementally), so
// they are a function of the state alone and a restored engine decides identically.
//
// Skipping work (exact: every stored bit is that of a full recompute, so decisions
// are those of the plain O(n L)-per-round update). Levels form blocks of kBlock. Every
// row keeps, per block b, an upper bound of its deficits ub(b) = key_[b] + U_, with U_
// the row's count of rises: a rise (+1 anywhere) raises all its bounds at once in O(1),
// a fall leaves them valid, a recompute of block b sets key_[b] = (its max) - U_. pk_
// holds the prefix maxima of key_, so "does a move of the levels <= lev touch a block
// with ub >= 0?" is one load. A block with ub <= -1 has only zero terms (w is taken at
// D >= 0 only), hence:
// (a) a moved row whose moved blocks all have ub <= -1 keeps its sums (they were and
//     stay 0 there, and later prefixes add the same terms to the same value);
// (b) otherwise its sums are recomputed from its first block with ub >= 0 (earlier
//     prefixes are 0); a zero block repeats the running sums (x + 0 == x) and is not
//     rewritten if they did not change; the recompute stops at the first block end
//     past lev whose prefix did not change; and with several blocks, the zero blocks
//     after the last block with ub >= 0 are not stored at all: tail_ marks the slot
//     whose value every later slot shares (reads use min(slot, tail_)).
// In a fair allocation most threshold deficits are far below 0 (agents mostly hold the
// items they value): in the benchmark streams about half of the moved rows take (a),
// most recomputed blocks are zero blocks, and Lo terms (D >= 1) are so rare that the
// loss sums are skipped outright while no row has one. The bookkeeping of a round has
// fixed trip counts and no data-dependent branch (the diagonal rows carry a hugely
// negative bound, so they need no test either).
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
#include <cstring>
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
    // Levels per block of the deficit upper bounds (see "Skipping work"); 16 measured
    // best of 8, 16, 32 at L = 64, and keeps L <= 16 in the one-block fast path.
    static constexpr std::size_t kBlock = 16;

    // Magnitude limits of the levels. Utilities are sums of counts (< 2^63, one item
    // per round) times levels, so levels <= 2^960 (about 9.7e288) can never overflow
    // them; efk() compares exact sums of count * level products after scaling the top
    // level to [1, 2), exact only while the smallest level is >= 2^-900 times the top.
    static constexpr double kMaxLevel = 0x1.0p+960;
    static constexpr double kMaxLevelSpan = 0x1.0p+900;

    // Bytes an engine of n agents and L levels allocates (its per-pair arrays), and
    // those of the weight table for deficits up to kmax (grown as deficits grow).
    static double bytes_needed(double n, double L) noexcept {
        const double nb = std::ceil(L / static_cast<double>(kBlock));
        return n * n * (8.0 * L + 16.0 * (L + 1.0) + 24.0 * nb + 17.0) + 64.0 * n;
    }
    static double table_bytes(double kmax) noexcept { return 36.0 * (2.0 * kmax + 8.0); }

    // levels: strictly increasing, finite, positive, pairwise farther apart than the
    // matching tolerance, at most kMaxLevel, spanning at most kMaxLevelSpan. p: finite,
    // >= 2. Throws std::invalid_argument otherwise.
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
        if (!(levels_.back() <= kMaxLevel))
            throw std::invalid_argument(
                "levels must be <= 2^960 (about 9.7e288) so that utilities cannot "
                "overflow");
        if (!(levels_.back() <= kMaxLevelSpan * levels_.front()))
            throw std::invalid_argument(
                "levels must span at most a factor 2^900 (about 8.5e270) from the "
                "smallest to the largest");
        if (!std::isfinite(p_) || !(p_ >= 2.0))
            throw std::invalid_argument("p must be finite and >= 2");
        rw_ = 2 * (L_ + 1);
        nb_ = (L_ + kBlock - 1) / kBlock;
        const std::size_t sz = n_ * n_ * L_;
        cnt_.assign(sz, 0);
        bt_.assign(n_ * n_ * nb_, 0);
        PS_.assign(n_ * n_ * rw_, 0.0);
        key_.assign(n_ * n_ * nb_, 0);
        pk_.assign(n_ * n_ * nb_, 0);
        U_.assign(n_ * n_, 0);
        lo_nz_.assign(n_ * n_, 0);
        tail_.assign(n_ * n_, L_);
        todo_.assign(2 * n_, 0);
        last_.assign(2 * n_, 0);
        delta_.assign(n_, 0.0);
        gain_.assign(n_, 0.0);
        loss_.assign(n_, 0.0);
        lofs_.assign(n_, 0);
        build_hash();
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
    // Values are usually 0 or the levels themselves, bit for bit: a small hash of those
    // bit patterns answers them in O(1) without a data-dependent branch; anything else
    // takes the tolerant binary search (same answer for exact levels, so the fast path
    // changes no result).
    int match_level(double v) const noexcept {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        for (std::size_t h = hash_slot(bits);; h = (h + 1) & hmask_) {
            const std::uint64_t k = hkey_[h];
            if (k == bits) return hval_[h];
            if (k == kEmptyKey) break;  // not in the table
        }
        return match_level_slow(v);
    }

    // One round with pre-matched level indices lev[i] in {-1, 0..L-1}. Returns the
    // recipient. No allocation unless the deficit table must grow (amortised, rare).
    std::size_t step_levels(const int* lev) {
        // fixed n lets the compiler keep the n running sums in registers
        std::size_t best;
        switch (n_) {
            case 2: best = choose<2>(lev); break;
            case 3: best = choose<3>(lev); break;
            case 4: best = choose<4>(lev); break;
            case 5: best = choose<5>(lev); break;
            case 6: best = choose<6>(lev); break;
            case 7: best = choose<7>(lev); break;
            case 8: best = choose<8>(lev); break;
            case 9: best = choose<9>(lev); break;
            case 10: best = choose<10>(lev); break;
            case 11: best = choose<11>(lev); break;
            case 12: best = choose<12>(lev); break;
            case 13: best = choose<13>(lev); break;
            case 14: best = choose<14>(lev); break;
            case 15: best = choose<15>(lev); break;
            case 16: best = choose<16>(lev); break;
            default: best = choose<0>(lev); break;
        }
        apply(lev, best);
        return best;
    }

    // Gives the item (level indices lev) to agent a and updates all state.
    void apply(const int* lev, std::size_t a) {
        ++t_;
        // deficits grow by at most one per round: table index kmax_ + 2 must exist
        if (static_cast<std::size_t>(kmax_) + 3 > wz_.size())
            ensure_table(2 * static_cast<std::size_t>(kmax_) + 8);
        // rows whose deficits moved: (a, j) down for l <= lev_a (c_aa rose), (i, a) up
        // for l <= lev_i; list those that need their sums recomputed, i.e. unless every
        // block they moved has ub = key + U <= -1 ("Skipping work" (a)); no branch
        std::size_t nr = 0;
        const int la = lev[a];
        const std::size_t bla = static_cast<std::size_t>(la < 0 ? 0 : la) / kBlock;
        for (std::size_t j = 0; j < n_; ++j) {  // falls: bounds stay valid
            const std::size_t row = a * n_ + j;
            todo_[nr] = row;
            last_[nr] = bla;
            nr += (la >= 0 && pk_[row * nb_ + bla] + U_[row] >= 0);
        }
        for (std::size_t i = 0; i < n_; ++i) {
            const int l = lev[i];
            const std::int64_t in = l >= 0;
            const std::size_t row = i * n_ + a, lc = static_cast<std::size_t>(l < 0 ? 0 : l);
            // A_a gains the item for every i who values it: cnt_[i][a][lev_i] += 1
            // (value-0 items add 0 to slot 0: no branch)
            cnt_[row * L_ + lc] += in;
            bt_[row * nb_ + lc / kBlock] += in;
            // rises: one more for every bound of the row
            const std::int64_t u = U_[row] + in;
            U_[row] = u;
            todo_[nr] = row;
            last_[nr] = lc / kBlock;
            nr += (in && pk_[row * nb_ + lc / kBlock] + u >= 0);
        }
        std::size_t r = 0;
        if (nb_ == 1)  // small L: rows in pairs, so that two add chains interleave
            for (; r + 2 <= nr; r += 2) recompute_whole<2>(&todo_[r]);
        for (; r < nr; ++r) recompute(todo_[r], last_[r]);
    }

    // Signed deficits D (n, n, L) as int64, diagonal zero.
    std::vector<std::int64_t> signed_deficits() const {
        std::vector<std::int64_t> d(n_ * n_ * L_, 0);
        for (std::size_t row = 0; row < n_ * n_; ++row)
            if (row / n_ != row % n_) row_deficits(row, &d[row * L_], 0);
        return d;
    }

    // Deficits (n, n, L) as doubles, diagonal zero.
    void deficits(double* out) const {
        const std::vector<std::int64_t> d = signed_deficits();
        for (std::size_t q = 0; q < d.size(); ++q)
            out[q] = d[q] > 0 ? static_cast<double>(d[q]) : 0.0;
    }

    double max_deficit() const {
        std::int64_t mx = 0;
        for (std::int64_t v : signed_deficits()) mx = std::max(mx, v);
        return static_cast<double>(mx);
    }

    // log S = log sum_q phi_p(d_q) over the m quality variables (overflow-safe).
    double log_potential_sum() const {
        const std::vector<std::int64_t> d = signed_deficits();
        double g = 0.0;
        for (std::int64_t v : d) g = std::max(g, log_phi(static_cast<double>(v), p_));
        NeumaierSum s;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                if (i == j) continue;
                const std::int64_t* row = &d[(i * n_ + j) * L_];
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
        // levels scaled by a power of two (exact) so that the top one is in [1, 2):
        // products of counts (< 2^63) and levels stay finite and, the levels spanning at
        // most 2^900, above the underflow range, so each product splits exactly (fma)
        std::vector<double> lv(L_);
        const int top = std::ilogb(levels_.back());
        for (std::size_t l = 0; l < L_; ++l) lv[l] = std::ldexp(levels_[l], -top);
        detail::ExactSum e, e2;
        std::int64_t kmax = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            const std::int64_t* own = &cnt_[(i * n_ + i) * L_];
            for (std::size_t j = 0; j < n_; ++j) {
                if (j == i) continue;
                const std::int64_t* oth = &cnt_[(i * n_ + j) * L_];
                e.clear();
                for (std::size_t l = 0; l < L_; ++l) {
                    if (oth[l] != 0) e.add_product(static_cast<double>(oth[l]), lv[l]);
                    if (own[l] != 0)
                        e.add_product(-static_cast<double>(own[l]), lv[l]);
                }
                if (e.sign() <= 0) continue;
                std::int64_t k = 0;
                for (std::size_t l = L_; l-- > 0;) {
                    const std::int64_t c = oth[l];
                    if (c == 0) continue;
                    const double th = lv[l];
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
        std::fill(bt_.begin(), bt_.end(), 0);
        for (std::size_t q = 0; q < n_ * n_; ++q)
            for (std::size_t l = 0; l < L_; ++l) bt_[q * nb_ + l / kBlock] += cnt_[q * L_ + l];
        kmax_ = 0;
        for (std::int64_t v : signed_deficits()) kmax_ = std::max(kmax_, v);
        wz_.clear();
        scale_ = 0;
        ensure_table(std::max<std::size_t>(8, static_cast<std::size_t>(kmax_) + 3));
        rebuild_prefixes();
    }

    // Last round's per-candidate change of S, in the internal scale (testing aid).
    const std::vector<double>& last_deltas() const noexcept { return delta_; }

    // Testing aid: the cached prefix sums as the rounds read them, (n, n, L + 1, 2)
    // (slot s of row (i, j): G and Lo over the levels < s), zero tails expanded.
    void prefix_sums(double* out) const noexcept {
        for (std::size_t row = 0; row < n_ * n_; ++row)
            for (std::size_t x = 0; x <= L_; ++x) {
                const std::size_t y = std::min(x, nb_ == 1 ? L_ : tail_[row]);
                out[(row * (L_ + 1) + x) * 2] = PS_[row * rw_ + 2 * y];
                out[(row * (L_ + 1) + x) * 2 + 1] = PS_[row * rw_ + 2 * y + 1];
            }
    }

private:
    // D of the off-diagonal row (i, j) at the levels >= l0 into out[l0..L): suffix sums
    // of cnt_ij - cnt_ii from the top level down.
    void row_deficits(std::size_t row, std::int64_t* out, std::size_t l0) const noexcept {
        const std::size_t i = row / n_;
        const std::int64_t* cij = &cnt_[row * L_];
        const std::int64_t* cii = &cnt_[(i * n_ + i) * L_];
        std::int64_t acc = 0;
        for (std::size_t l = L_; l-- > l0;) {
            acc += cij[l] - cii[l];
            out[l] = acc;
        }
    }

    // Returns the candidate of least delta_[a] (ties: lowest index), where
    // delta_[a] = gain_a - loss_a with gain_a = sum_i G[i][a](lev_i) and
    // loss_a = sum_j Lo[a][j](lev_a), each summed in index order. The inner loops run
    // over a, so the n sums are independent chains (one chain per a would serialise on
    // the add latency). Slot 0 of a row is the empty prefix (lev = -1) and diagonal rows
    // are zero, so no branch is needed. N = n_, or 0 for any n (sums kept in members).
    template <std::size_t N>
    std::size_t choose(const int* lev) noexcept {
        return nb_ == 1 ? choose<N, false>(lev) : choose<N, true>(lev);
    }

    // Tail: read slot min(s, tail_) (rows of several blocks leave zero tails unstored).
    template <std::size_t N, bool Tail>
    std::size_t choose(const int* lev) noexcept {
        const std::size_t n = N != 0 ? N : n_;
        double gl[N != 0 ? N : 1], ll[N != 0 ? N : 1];
        std::size_t ol[N != 0 ? N : 1];
        double* gain = N != 0 ? gl : gain_.data();
        double* loss = N != 0 ? ll : loss_.data();
        std::size_t* lo = N != 0 ? ol : lofs_.data();
        const std::size_t rs = n * rw_;  // stride between first-index rows
        const double* ps = PS_.data();
        for (std::size_t a = 0; a < n; ++a) {
            gain[a] = 0.0;
            loss[a] = 0.0;
            lo[a] = static_cast<std::size_t>(lev[a] + 1);
        }
        const std::size_t* tl = tail_.data();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t si = static_cast<std::size_t>(lev[i] + 1);
            const double* g = ps + i * rs;
            for (std::size_t a = 0; a < n; ++a)
                gain[a] += g[a * rw_ + 2 * (Tail ? std::min(si, tl[i * n + a]) : si)];
        }
        // Lo terms need D >= 1, rare in a fair allocation: while no row has any, every
        // loss is exactly 0 (a sum of +0.0) and the n^2 loads are skipped
        if (lo_rows_ != 0)
            for (std::size_t j = 0; j < n; ++j) {
                const double* row = ps + j * rw_ + 1;
                for (std::size_t a = 0; a < n; ++a)
                    loss[a] += row[a * rs + 2 * (Tail ? std::min(lo[a], tl[a * n + j]) : lo[a])];
            }
        // first minimum without a data-dependent branch
        std::size_t best = 0;
        double best_delta = std::numeric_limits<double>::infinity();
        for (std::size_t a = 0; a < n; ++a) {
            const double d = gain[a] - loss[a];
            delta_[a] = d;
            const bool lt = d < best_delta;
            best = lt ? a : best;
            best_delta = lt ? d : best_delta;
        }
        return best;
    }

    // Recomputes the prefix sums of `row` (moved up to block bl) as described in
    // "Skipping work" (b). D is derived on the way up: D at the first level of block b is
    // the sum over the blocks >= b of bt_ij - bt_ii, and falls by cnt_ij - cnt_ii per
    // level. Refreshes the bounds of the computed blocks and raises kmax_.
    void recompute(std::size_t row, std::size_t bl) noexcept {
        const std::size_t ii = (row / n_) * (n_ + 1);
        const std::int64_t* cij = &cnt_[row * L_];
        const std::int64_t* cii = &cnt_[ii * L_];
        const std::int64_t* bij = &bt_[row * nb_];
        const std::int64_t* bii = &bt_[ii * nb_];
        double* ps = &PS_[row * rw_];
        std::int64_t* key = &key_[row * nb_];
        const std::int64_t u = U_[row];
        std::int64_t* pk = &pk_[row * nb_];
        const double* pt = pt_.data();
        double g = 0.0, s = 0.0;
        // one block of levels l0..l1-1 from D = dk at l0; returns its exact max
        const auto block = [&](std::size_t l0, std::size_t l1, std::int64_t& dk) {
            std::int64_t mx = std::numeric_limits<std::int64_t>::min();
            for (std::size_t l = l0; l < l1; ++l) {
                const std::int64_t k = dk;
                dk -= cij[l] - cii[l];
                mx = std::max(mx, k);
                // q = max(k + 1, 0): G term w(k) if k >= 0, Lo term w(k - 1) if k >= 1
                const double* t =
                    pt + 2 * static_cast<std::size_t>(std::max<std::int64_t>(k + 1, 0));
                g += t[0];
                s += t[1];
                ps[2 * l + 2] = g;
                ps[2 * l + 3] = s;
            }
            return mx;
        };
        if (nb_ == 1) {  // small L: the whole row, no shortcut to look for
            recompute_whole<1>(&row);
            return;
        }
        // slots <= tail_ are stored; all later ones equal the one at tail_ (zero terms)
        const std::size_t told = tail_[row];
        std::size_t f = 0;
        while (key[f] + u <= -1) ++f;  // exists: pk_[bl] + u >= 0
        std::size_t last = nb_ - 1;    // last block that may hold a non-zero term
        while (key[last] + u <= -1) --last;
        // stale slots before f would be read once the tail moves past them: start at
        // the block of the first stale slot then (its blocks are zero: it fills zeros)
        f = std::min(f, told / kBlock);
        std::int64_t dk = 0;
        for (std::size_t b = nb_; b-- > f;) dk += bij[b] - bii[b];
        std::int64_t top = kmax_;
        bool same = false;  // did the previous block end on its old (stored) prefix?
        std::size_t b = f;
        for (; b <= last; ++b) {
            if (b > bl && same) break;  // unchanged terms from here on: nothing changes
            const std::size_t l0 = b * kBlock, l1 = std::min(L_, l0 + kBlock);
            // old block-end prefix, if stored (sums of terms >= +0 are never -0 or NaN,
            // so == means identical bits)
            const bool stored = l1 <= told;
            const double og = ps[2 * l1], os = ps[2 * l1 + 1];
            if (key[b] + u <= -1) {  // zero block: every prefix equals the running sums
                dk -= bij[b] - bii[b];
                same = stored && og == g && os == s;
                if (same) continue;  // already stored
                for (std::size_t l = l0; l < l1; ++l) {
                    ps[2 * l + 2] = g;
                    ps[2 * l + 3] = s;
                }
                continue;
            }
            const std::int64_t mx = block(l0, l1, dk);
            key[b] = mx - u;
            top = std::max(top, mx);
            same = stored && og == g && os == s;
        }
        // no early stop: the blocks after `last` are zero, so their slots are left to
        // the tail instead of being filled with the final sums
        if (b > last) tail_[row] = std::min(L_, (last + 1) * kBlock);
        kmax_ = top;
        for (std::size_t c = f; c < nb_; ++c) pk[c] = c == 0 ? key[0] : std::max(pk[c - 1], key[c]);
        note_lo(row);
    }

    // Recomputes R whole rows of a one-block engine (nb_ == 1), interleaved.
    template <int R>
    void recompute_whole(const std::size_t* rows) noexcept {
        const double* pt = pt_.data();
        const std::int64_t* cij[R];
        const std::int64_t* cii[R];
        double* ps[R];
        std::int64_t dk[R], mx[R];
        double g[R], s[R];
        for (int r = 0; r < R; ++r) {
            const std::size_t row = rows[r], ii = (row / n_) * (n_ + 1);
            cij[r] = &cnt_[row * L_];
            cii[r] = &cnt_[ii * L_];
            ps[r] = &PS_[row * rw_];
            dk[r] = bt_[row] - bt_[ii];  // nb_ == 1: bt_ is c^0
            mx[r] = std::numeric_limits<std::int64_t>::min();
            g[r] = 0.0;
            s[r] = 0.0;
        }
        for (std::size_t l = 0; l < L_; ++l)
            for (int r = 0; r < R; ++r) {
                const std::int64_t k = dk[r];
                dk[r] -= cij[r][l] - cii[r][l];
                mx[r] = std::max(mx[r], k);
                const double* t =
                    pt + 2 * static_cast<std::size_t>(std::max<std::int64_t>(k + 1, 0));
                g[r] += t[0];
                s[r] += t[1];
                ps[r][2 * l + 2] = g[r];
                ps[r][2 * l + 3] = s[r];
            }
        for (int r = 0; r < R; ++r) {
            key_[rows[r]] = pk_[rows[r]] = mx[r] - U_[rows[r]];
            kmax_ = std::max(kmax_, mx[r]);
            note_lo(rows[r]);
        }
    }

    // Keeps lo_rows_ = the number of rows with a non-zero Lo sum (their last Lo prefix,
    // a sum of terms >= 0, is 0 only if every term is). A rescale may underflow a sum to
    // 0 without clearing its flag: that only costs the skip, never a wrong sum.
    void note_lo(std::size_t row) noexcept {
        const bool nz = PS_[row * rw_ + 2 * tail_[row] + 1] != 0.0;
        lo_rows_ += static_cast<std::size_t>(nz) - static_cast<std::size_t>(lo_nz_[row]);
        lo_nz_[row] = nz;
    }

    // Recomputes every sum and exact bound from the counts (construction, restore).
    void rebuild_prefixes() noexcept {
        // NaN old values defeat every shortcut of recompute(): all blocks get computed
        std::fill(PS_.begin(), PS_.end(), std::numeric_limits<double>::quiet_NaN());
        std::fill(U_.begin(), U_.end(), 0);
        std::fill(lo_nz_.begin(), lo_nz_.end(), 0);
        std::fill(tail_.begin(), tail_.end(), L_);  // every slot gets stored below
        lo_rows_ = 0;
        const std::int64_t keep = kmax_;
        for (std::size_t i = 0; i < n_; ++i)
            for (std::size_t j = 0; j < n_; ++j) {
                const std::size_t row = i * n_ + j;
                double* ps = &PS_[row * rw_];
                if (i != j) {
                    std::fill_n(&key_[row * nb_], nb_, 0);  // ub 0: compute every block
                    recompute(row, nb_ - 1);
                    ps[0] = ps[1] = 0.0;  // the empty prefix
                } else {  // never recomputed: sums 0, bounds hugely negative
                    std::fill_n(ps, rw_, 0.0);
                    std::fill_n(&key_[row * nb_], nb_, kDiagBound);
                    std::fill_n(&pk_[row * nb_], nb_, kDiagBound);
                }
            }
        kmax_ = keep;
    }

    // wz_[0] = 0 and wz_[k + 1] = w(k) = phi_p(k + 1) - phi_p(k), each stored as
    // mant * 2^(e - scale_) with (mant, e) a deterministic function of k and p.
    // pt_ holds the per-deficit term pair: pt_[2 q], pt_[2 q + 1] with q = max(D + 1, 0)
    // are the G term wz_[q] and the Lo term wz_[max(q - 1, 0)], one adjacent load each.
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
        pt_.resize(2 * size);
        for (std::size_t q = 0; q < size; ++q) {
            pt_[2 * q] = wz_[q];
            pt_[2 * q + 1] = wz_[q == 0 ? 0 : q - 1];
        }
        if (new_scale != scale_ && old != 0) {
            const int shift = scale_ - new_scale;  // exact rescale of cached sums
            for (double& v : PS_) v = std::ldexp(v, shift);
        }
        scale_ = new_scale;
    }

    // Open-addressing hash of the bit patterns of the levels and of +0.0, built once.
    // It prefers a collision-free multiplier (tried from a fixed list, table sizes up
    // to 32 (L + 1)), so that a match is one probe and its branch always goes the same
    // way; should none be found (large L), linear probing still answers correctly.
    void build_hash() {
        std::vector<std::uint64_t> keys(L_ + 1);
        for (std::size_t l = 0; l <= L_; ++l) {  // the levels, then +0.0 (bits 0)
            const double v = l < L_ ? levels_[l] : 0.0;
            std::memcpy(&keys[l], &v, sizeof(std::uint64_t));
        }
        const auto fill = [&](bool stop_on_collision) {
            hkey_.assign(hmask_ + 1, kEmptyKey);
            hval_.assign(hmask_ + 1, -2);
            for (std::size_t l = 0; l <= L_; ++l) {
                std::size_t h = hash_slot(keys[l]);
                while (hkey_[h] != kEmptyKey) {
                    if (stop_on_collision) return false;
                    h = (h + 1) & hmask_;
                }
                hkey_[h] = keys[l];
                hval_[h] = l < L_ ? static_cast<int>(l) : -1;
            }
            return true;
        };
        std::size_t size = 8;
        int shift = 61;
        while (size < 2 * (L_ + 1)) {
            size *= 2;
            --shift;
        }
        for (int grow = 0; grow < 5; ++grow, size *= 2, --shift) {
            hmask_ = size - 1;
            hshift_ = shift;
            std::uint64_t x = 0x9E3779B97F4A7C15ULL;  // splitmix64 stream of multipliers
            for (int trial = 0; trial < 64; ++trial) {
                x += 0x9E3779B97F4A7C15ULL;
                std::uint64_t z = x;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
                hmul_ = (z ^ (z >> 31)) | 1ULL;
                if (fill(true)) return;
            }
        }
        hmask_ = (size / 2) - 1;  // largest size tried, with probing
        hshift_ = shift + 1;
        fill(false);
    }

    std::size_t hash_slot(std::uint64_t bits) const noexcept {
        return static_cast<std::size_t>((bits * hmul_) >> hshift_);
    }

    int match_level_slow(double v) const noexcept {
        if (v == 0.0) return -1;  // -0.0
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

    // Empty hash slot: a NaN bit pattern (its value -2 is also the right answer should
    // an input carry exactly this NaN).
    static constexpr std::uint64_t kEmptyKey = 0x7FF8DEADBEEF0001ULL;
    // Key of the diagonal rows: stays negative after any feasible number of rises.
    static constexpr std::int64_t kDiagBound = std::numeric_limits<std::int64_t>::min() / 2;

    std::size_t n_, L_;
    std::vector<double> levels_;
    double p_;
    std::size_t rw_ = 0;  // doubles per row of PS_: 2 (L + 1) interleaved prefixes
    std::size_t nb_ = 1;  // blocks per row
    std::vector<std::int64_t> cnt_;
    std::vector<double> PS_;          // (n, n, L + 1) interleaved (G, Lo) prefix sums
    std::vector<std::int64_t> bt_;    // (n, n, nb_) counts summed per block of levels
    std::vector<std::int64_t> key_, pk_;  // (n, n, nb_) bound keys and their prefix maxima
    std::vector<std::int64_t> U_;         // (n, n) rises per row (see "Skipping work")
    std::vector<unsigned char> lo_nz_;    // (n, n) row has a non-zero Lo sum
    std::vector<std::size_t> tail_;       // (n, n) slots past it repeat it (nb_ > 1)
    std::size_t lo_rows_ = 0;             // how many rows do
    std::vector<std::size_t> todo_, last_;  // rows to recompute this round, last moved block
    std::vector<double> wz_, wm_, pt_;
    std::vector<int> we_;
    std::vector<double> gain_, loss_;
    std::vector<std::size_t> lofs_;
    std::vector<std::uint64_t> hkey_;
    std::vector<int> hval_;
    std::size_t hmask_ = 7;
    int hshift_ = 61;
    std::uint64_t hmul_ = 0x9E3779B97F4A7C15ULL;
    int scale_ = 0;
    std::int64_t kmax_ = 0;
    std::uint64_t t_ = 0;
    std::vector<double> delta_;
};

}  // namespace fastfair
