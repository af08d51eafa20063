// fastfair::LotteryPool: the state of a fair repeated lottery.
//
// Running sums (cumulative deserved seats and wins per entrant) make one lottery cost
// O(its entrants) whatever the length of the history or the size of the pool; the
// history itself is kept as one *sparse* column per lottery: the pool positions of the
// lottery's recorded entries (its entrants, score > 0) with their scores, probabilities
// and winners, plus the pool size at that lottery, k and the seed, so every draw can be
// audited and replayed. Members who did not enter a lottery (score 0: probability 0 and
// no win, by definition) take no space in its column, so members who left stop costing
// anything. Deserved seats are a deterministic function of (scores, k) and are
// recomputed when asked for, not stored.
//
// The sparse column gives bit-identical results to the dense one: deserved seats, the
// projection and pipage rounding all skip score-0 / probability-0 entries in index
// order, so dropping them changes no sum and consumes no random number.
//
// A lottery may be divided (lottery_divisions.hpp): each entry then carries a division
// code and every division its own seats k_d (sum = k); seats, probabilities and the
// rounding run per division. An undivided column stores no codes (empty vectors).
//
// A lottery is two phases so that a failed or interrupted call changes nothing:
//   prepare(pos, scores, m, n, k)  validates, computes deserved seats and probabilities
//                                  of the m entries at positions pos of a pool of n
//                                  (optionally with codes div[0:m] and seats div_k[0:D]);
//   draw(seed)                     draws the winners of the pending lottery;
//   commit()                       appends the pending lottery to the state.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fastfair/lottery.hpp"
#include "fastfair/lottery_divisions.hpp"
#include "fastfair/pipage.hpp"
#include "fastfair/rng.hpp"

namespace fastfair {

// One recorded lottery: entries at strictly increasing pool positions.
struct LotteryColumn {
    std::uint64_t pool_size = 0;  // members of the pool at this lottery
    std::vector<std::uint32_t> pos;
    std::vector<double> scores, pi;
    std::vector<std::int8_t> winners;
    // Divided lotteries only (both empty otherwise): the division code of each entry
    // and the seats of each division (codes index div_k).
    std::vector<std::uint16_t> div;
    std::vector<std::int64_t> div_k;
    bool divided() const noexcept { return !div_k.empty(); }
};

class LotteryPool {
public:
    static constexpr std::uint64_t kMaxEntrants = std::numeric_limits<std::uint32_t>::max() - 1;

    // ---- one lottery -------------------------------------------------------------
    // Validates and computes the pending lottery: m entries at strictly increasing
    // positions pos[0:m] < n with scores s[0:m] (finite, >= 0), in a pool of n >=
    // n_entrants() members (the new ones join). Throws std::invalid_argument (naming
    // the argument) before touching the state. With div_k (D = n_div >= 1 divisions):
    // div[0:m] are the entries' division codes, div_k[0:D] the seats per division, and
    // k must equal their sum.
    void prepare(const std::uint32_t* pos, const double* s, std::size_t m, std::uint64_t n,
                 std::int64_t k, const std::uint16_t* div = nullptr,
                 const std::int64_t* div_k = nullptr, std::size_t n_div = 0) {
        if (div_k != nullptr) {
            prepare_divided(pos, s, m, n, k, div, div_k, n_div);
            return;
        }
        check_column(pos, s, m, n, "scores");
        std::size_t n_pos = 0;
        for (std::size_t j = 0; j < m; ++j) n_pos += s[j] > 0.0;
        prepare_checked(pos, s, m, n, k, n_pos);
    }

    // Dense form: scores of every member, positions 0..n-1; only the entrants
    // (score > 0) are recorded. Divided: div[0:n] holds every member's code (those of
    // members with score 0 are not read).
    void prepare_dense(const double* scores, std::size_t n, std::int64_t k,
                       const std::uint16_t* div = nullptr, const std::int64_t* div_k = nullptr,
                       std::size_t n_div = 0) {
        if (n < n_entrants_)
            throw std::invalid_argument(
                "scores must have one entry per pool member: the pool has " +
                std::to_string(n_entrants_) + " members, got " + std::to_string(n) +
                " scores");
        if (n > kMaxEntrants)
            throw std::invalid_argument("scores is too long (at most 2**32 - 2 entries)");
        if (div_k == nullptr) {
            // One branch-free pass validates and compacts the entrants (score > 0); the
            // column it builds is valid by construction (positions increasing, < n).
            if (dense_pos_.size() < n) dense_pos_.resize(n);  // never shrunk: no fill
            if (dense_s_.size() < n) dense_s_.resize(n);
            std::uint32_t* dp = dense_pos_.data();
            double* ds = dense_s_.data();
            std::size_t m = 0;
            bool ok = true;
            for (std::size_t i = 0; i < n; ++i) {
                const double v = scores[i];
                ok &= (std::fabs(v) <= std::numeric_limits<double>::max()) & (v >= 0.0);
                dp[m] = static_cast<std::uint32_t>(i);
                ds[m] = v;
                m += static_cast<std::size_t>(v > 0.0);
            }
            if (!ok) throw_bad_dense_score(scores, n);
            prepare_checked(dp, ds, m, n, k, m);
            return;
        }
        throw_bad_dense_score(scores, n);  // divided: validated first, as before
        dense_pos_.clear();
        dense_s_.clear();
        dense_div_.clear();
        for (std::size_t i = 0; i < n; ++i)
            if (scores[i] > 0.0) {
                dense_pos_.push_back(static_cast<std::uint32_t>(i));
                dense_s_.push_back(scores[i]);
                if (div_k != nullptr) dense_div_.push_back(div[i]);
            }
        prepare(dense_pos_.data(), dense_s_.data(), dense_pos_.size(), n, k,
                div_k != nullptr ? dense_div_.data() : nullptr, div_k, n_div);
    }

    // Draws the winners of the prepared lottery with a generator seeded by `seed`.
    void draw(std::uint64_t seed) {
        if (!prepared_) throw std::logic_error("draw() needs prepare() first");
        p_.winners.resize(p_.pi.size());
        Rng rng(seed);
        if (p_.divided()) {
            const std::size_t D = p_.div_k.size();
            const std::size_t bad = divided_pipage_round(p_.pi.data(), p_.pi.size(),
                                                         p_.div_k.data(), D, rng,
                                                         p_.winners.data(), div_scratch_);
            if (bad != D)
                throw std::runtime_error("internal error: pipage_round missed the seats of "
                                         "division " + std::to_string(bad));
            p_seed_ = seed;
            pending_ok_ = true;
            return;
        }
        const std::size_t ones = pipage_round(p_.pi.data(), p_.pi.size(), rng,
                                              p_.winners.data());
        if (ones != static_cast<std::size_t>(p_k_))
            throw std::runtime_error("internal error: pipage_round drew " +
                                     std::to_string(ones) + " winners instead of " +
                                     std::to_string(p_k_));
        p_seed_ = seed;
        pending_ok_ = true;
    }

    // Appends the drawn pending lottery to the state and history.
    void commit() {
        if (!pending_ok_) throw std::logic_error("commit() needs prepare() and draw()");
        append(std::move(p_), p_k_, p_seed_, p_deserved_);
        p_ = LotteryColumn();
        prepared_ = pending_ok_ = false;
    }

    // The pending lottery's entries (positions, probabilities, winners after draw()).
    const LotteryColumn& pending() const noexcept { return p_; }

    // ---- restoring a recorded history (load / unpickle) ----------------------------
    // Appends one recorded lottery after checking it is well formed. The deserved seats
    // and running sums are rebuilt by the same operations as the live pool, so they are
    // bit-identical.
    // Divided records pass div[0:m] and div_k[0:n_div] (n_div >= 1): every code below
    // n_div, every division's winners equal to its seats, seats <= its entrants.
    void append_record(const std::uint32_t* pos, const double* s, const double* pi,
                       const std::int8_t* winners, std::size_t m, std::uint64_t n,
                       std::int64_t k, std::uint64_t seed, const std::uint16_t* div = nullptr,
                       const std::int64_t* div_k = nullptr, std::size_t n_div = 0) {
        const std::string rec = "record " + std::to_string(k_.size());
        check_column(pos, s, m, n, rec.c_str());
        if (div_k != nullptr) {
            check_divisions(div, s, m, div_k, n_div, rec, div_scratch_.counts);
            // winners per division (values checked 0/1 below before they count)
            std::vector<std::int64_t>& won = div_won_;
            won.assign(n_div, 0);
            for (std::size_t j = 0; j < m; ++j) won[div[j]] += winners[j] == 1;
            for (std::size_t d = 0; d < n_div; ++d)
                if (won[d] != div_k[d])
                    throw std::invalid_argument(rec + ": division " + std::to_string(d) +
                                                " has " + std::to_string(won[d]) +
                                                " winners but " + std::to_string(div_k[d]) +
                                                " seats");
        }
        std::int64_t ones = 0;
        std::uint64_t n_pos = 0;
        for (std::size_t j = 0; j < m; ++j) {
            if (!(pi[j] >= 0.0 && pi[j] <= 1.0) || (winners[j] != 0 && winners[j] != 1))
                throw std::invalid_argument(rec + " holds an invalid value at entry " +
                                            std::to_string(j));
            ones += winners[j];
            n_pos += s[j] > 0.0;
        }
        if (k < 0 || ones != k || static_cast<std::uint64_t>(k) > n_pos)
            throw std::invalid_argument(rec +
                                        ": k differs from the number of winners or "
                                        "exceeds the number of entrants");
        LotteryColumn col;
        col.pool_size = n;
        col.pos.assign(pos, pos + m);
        col.scores.assign(s, s + m);
        col.pi.assign(pi, pi + m);
        col.winners.assign(winners, winners + m);
        p_deserved_.resize(m);
        if (div_k != nullptr) {
            col.div.assign(div, div + m);
            col.div_k.assign(div_k, div_k + n_div);
            div_scratch_.ix.build(div, m, n_div);
            divided_deserved_seats(s, m, div_k, n_div, p_deserved_.data(), div_scratch_);
        } else {
            deserved_seats(s, m, static_cast<double>(k), p_deserved_.data());
        }
        append(std::move(col), k, seed, p_deserved_);
    }

    // ---- audit -----------------------------------------------------------------------
    // For every recorded lottery t, flags (0 = consistent):
    //   2: probabilities re-derived from the recorded history before t differ (bitwise);
    //   4: winners re-drawn from the recorded probabilities and seed differ;
    //   8: the recorded inputs are rejected by prepare() (e.g. k too large).
    std::vector<int> verify() const {
        std::vector<int> flags(k_.size(), 0);
        LotteryPool replay;
        std::vector<std::int8_t> redraw;
        for (std::size_t t = 0; t < k_.size(); ++t) {
            const LotteryColumn& col = cols_[t];
            const std::size_t m = col.pos.size();
            int f = 0;
            const bool dv = col.divided();
            const std::size_t D = col.div_k.size();
            try {
                replay.prepare(col.pos.data(), col.scores.data(), m, col.pool_size, k_[t],
                               dv ? col.div.data() : nullptr, dv ? col.div_k.data() : nullptr,
                               D);
                if (replay.p_.pi != col.pi) f |= 2;
            } catch (const std::invalid_argument&) {
                f |= 8;
            }
            redraw.resize(m);
            Rng rng(seeds_[t]);
            if (dv && !(f & 8)) {
                replay.div_scratch_.ix.build(col.div.data(), m, D);
                divided_pipage_round(col.pi.data(), m, col.div_k.data(), D, rng,
                                     redraw.data(), replay.div_scratch_);
            } else {
                pipage_round(col.pi.data(), m, rng, redraw.data());
            }
            if (redraw != col.winners) f |= 4;
            flags[t] = f;
            if (f & 8) {
                replay.p_deserved_.assign(m, 0.0);  // unusable record: deserves nothing
            } else {
                replay.p_deserved_.resize(m);
                replay.deserved_of(col, k_[t], replay.p_deserved_.data());
            }
            replay.accumulate(col, replay.p_deserved_);  // running sums only
        }
        return flags;
    }

    // ---- read access -------------------------------------------------------------
    std::size_t n_entrants() const noexcept { return n_entrants_; }
    std::size_t n_lotteries() const noexcept { return k_.size(); }
    const std::vector<double>& cumulative_deserved() const noexcept { return cum_deserved_; }
    const std::vector<double>& wins() const noexcept { return wins_; }
    const std::vector<std::int64_t>& lottery_sizes() const noexcept { return k_; }
    const std::vector<std::uint64_t>& seeds() const noexcept { return seeds_; }
    const std::vector<LotteryColumn>& columns() const noexcept { return cols_; }
    // Deserved seats of the entries of lottery t (recomputed from its scores and k).
    // Allocates its own scratch (history reads, not a hot path).
    void deserved_column(std::size_t t, double* d) const {
        const LotteryColumn& col = cols_.at(t);
        if (col.divided()) {
            DivisionScratch w;
            w.ix.build(col.div.data(), col.div.size(), col.div_k.size());
            divided_deserved_seats(col.scores.data(), col.scores.size(), col.div_k.data(),
                                   col.div_k.size(), d, w);
            return;
        }
        deserved_seats(col.scores.data(), col.scores.size(), static_cast<double>(k_[t]), d);
    }

private:
    // Deserved seats of a (valid) recorded column, with this pool's scratch.
    void deserved_of(const LotteryColumn& col, std::int64_t k, double* d) {
        const std::size_t m = col.scores.size();
        if (col.divided()) {
            div_scratch_.ix.build(col.div.data(), m, col.div_k.size());
            divided_deserved_seats(col.scores.data(), m, col.div_k.data(), col.div_k.size(), d,
                                   div_scratch_);
        } else {
            deserved_seats(col.scores.data(), m, static_cast<double>(k), d);
        }
    }

    // The undivided prepare once the column is known to be valid (n_pos entries > 0).
    void prepare_checked(const std::uint32_t* pos, const double* s, std::size_t m,
                         std::uint64_t n, std::int64_t k, std::size_t n_pos) {
        if (k < 0 || static_cast<std::uint64_t>(k) > n_pos)
            throw std::invalid_argument(
                "k must lie in [0, number of entrants with a score > 0] = [0, " +
                std::to_string(n_pos) + "], got " + std::to_string(k));
        begin_pending(pos, s, m, n);
        const double kd = static_cast<double>(k);
        deserved_seats(s, m, kd, p_deserved_.data(), scratch_.idx);
        fill_targets(pos, s, m);
        fair_probabilities_exact(target_.data(), eligible_.data(), m, kd, p_.pi.data(),
                                 scratch_);
        p_.div.clear();
        p_.div_k.clear();
        p_k_ = k;
        prepared_ = true;
    }

    // Throws for the first score that is not finite and >= 0 (none: returns).
    static void throw_bad_dense_score(const double* scores, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            if (!std::isfinite(scores[i]) || scores[i] < 0.0)
                throw std::invalid_argument("scores must be finite and >= 0, got " +
                                            std::to_string(scores[i]) + " at index " +
                                            std::to_string(i));
    }

    // The pending lottery's entries are copied and its buffers sized (prepare, both
    // forms, after validation).
    void begin_pending(const std::uint32_t* pos, const double* s, std::size_t m,
                       std::uint64_t n) {
        pending_ok_ = prepared_ = false;
        p_.pool_size = n;
        p_.pos.assign(pos, pos + m);
        p_.scores.assign(s, s + m);
        p_.winners.clear();
        p_deserved_.resize(m);
        p_.pi.resize(m);
        target_.resize(m);
        eligible_.resize(m);
    }

    // Targets (cumulative deserved, this lottery's p_deserved_ included, minus wins)
    // and eligibility (score > 0) of the pending entries.
    void fill_targets(const std::uint32_t* pos, const double* s, std::size_t m) {
        for (std::size_t j = 0; j < m; ++j) {
            const std::size_t i = pos[j];
            eligible_[j] = s[j] > 0.0;
            target_[j] = i < n_entrants_ ? (cum_deserved_[i] + p_deserved_[j]) - wins_[i]
                                         : p_deserved_[j];
        }
    }

    // The divided form of prepare (lottery_divisions.hpp): the same steps per division.
    void prepare_divided(const std::uint32_t* pos, const double* s, std::size_t m,
                         std::uint64_t n, std::int64_t k, const std::uint16_t* div,
                         const std::int64_t* div_k, std::size_t n_div) {
        check_column(pos, s, m, n, "scores");
        if (m > 0 && div == nullptr)
            throw std::invalid_argument("divisions: one division code per entry is needed");
        const std::int64_t total =
            check_divisions(div, s, m, div_k, n_div, "divisions", div_scratch_.counts);
        if (k != total)
            throw std::invalid_argument("k must equal the sum of the division seats (" +
                                        std::to_string(total) + "), got " + std::to_string(k));
        begin_pending(pos, s, m, n);
        p_.div.assign(div, div + m);
        p_.div_k.assign(div_k, div_k + n_div);
        div_scratch_.ix.build(div, m, n_div);
        divided_deserved_seats(s, m, div_k, n_div, p_deserved_.data(), div_scratch_);
        fill_targets(pos, s, m);
        divided_fair_probabilities(target_.data(), eligible_.data(), m, div_k, n_div,
                                   p_.pi.data(), div_scratch_);
        p_k_ = k;
        prepared_ = true;
    }

    // Positions strictly increasing and < n; n >= n_entrants_ and not too large;
    // scores finite and >= 0. `what` names the input in messages.
    void check_column(const std::uint32_t* pos, const double* s, std::size_t m,
                      std::uint64_t n, const char* what) const {
        if (n < n_entrants_)
            throw std::invalid_argument(std::string(what) + ": a pool of " +
                                        std::to_string(n) + " members is smaller than "
                                        "the " + std::to_string(n_entrants_) +
                                        " members so far");
        if (n > kMaxEntrants)
            throw std::invalid_argument(std::string(what) +
                                        ": the pool is too large (at most 2**32 - 2 "
                                        "members)");
        if (m > n)
            throw std::invalid_argument(std::string(what) + ": more entries than members");
        for (std::size_t j = 0; j < m; ++j) {
            if (pos[j] >= n || (j > 0 && pos[j] <= pos[j - 1]))
                throw std::invalid_argument(std::string(what) +
                                            ": positions must be strictly increasing "
                                            "and below the pool size (entry " +
                                            std::to_string(j) + ")");
            if (!std::isfinite(s[j]) || s[j] < 0.0)
                throw std::invalid_argument(std::string(what) +
                                            " must be finite and >= 0, got " +
                                            std::to_string(s[j]) + " at entry " +
                                            std::to_string(j));
        }
    }

    void append(LotteryColumn col, std::int64_t k, std::uint64_t seed,
                const std::vector<double>& deserved) {
        // Reserve first so that a bad_alloc leaves the state as it was.
        cols_.reserve(cols_.size() + 1);
        k_.reserve(k_.size() + 1);
        seeds_.reserve(seeds_.size() + 1);
        accumulate(col, deserved);
        cols_.push_back(std::move(col));
        k_.push_back(k);
        seeds_.push_back(seed);
    }

    // Adds a column to the running sums (and grows the pool to its size).
    void accumulate(const LotteryColumn& col, const std::vector<double>& deserved) {
        const auto n = static_cast<std::size_t>(col.pool_size);
        if (n > n_entrants_) {
            cum_deserved_.reserve(n);
            wins_.reserve(n);
            cum_deserved_.resize(n, 0.0);
            wins_.resize(n, 0.0);
        }
        for (std::size_t j = 0; j < col.pos.size(); ++j) {
            cum_deserved_[col.pos[j]] += deserved[j];
            wins_[col.pos[j]] += static_cast<double>(col.winners[j]);
        }
        n_entrants_ = std::max(n_entrants_, n);
    }

    // state
    std::size_t n_entrants_ = 0;
    std::vector<double> cum_deserved_, wins_;
    std::vector<LotteryColumn> cols_;
    std::vector<std::int64_t> k_;
    std::vector<std::uint64_t> seeds_;
    // pending lottery and scratch (not state)
    bool prepared_ = false, pending_ok_ = false;
    LotteryColumn p_;
    std::vector<double> p_deserved_, target_, dense_s_;
    std::vector<std::uint32_t> dense_pos_;
    std::vector<std::uint16_t> dense_div_;
    std::vector<std::int64_t> div_won_;
    std::vector<std::uint8_t> eligible_;
    std::int64_t p_k_ = 0;
    std::uint64_t p_seed_ = 0;
    FairScratch scratch_;
    DivisionScratch div_scratch_;
};

}  // namespace fastfair
