// fastfair::LotteryPool: the state of a fair repeated lottery.
//
// Running sums (cumulative deserved seats and wins per entrant) make one lottery O(n)
// whatever the length of the history; the history itself is kept as one column per
// lottery (scores, probabilities, winners; each of the pool's size at that lottery)
// plus k and the seed, so every draw can be audited and replayed. Deserved seats are
// a deterministic function of (scores, k) and are recomputed when asked for, not
// stored (a third less memory: 17 bytes per entrant and lottery).
//
// A lottery is two phases so that a failed or interrupted call changes nothing:
//   prepare(scores, k)  validates, computes deserved seats and probabilities (pending);
//   draw(seed)          draws the winners of the pending lottery (pending);
//   commit()            appends the pending lottery to the state.
// Not thread-safe.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastfair/lottery.hpp"
#include "fastfair/pipage.hpp"
#include "fastfair/rng.hpp"

namespace fastfair {

class LotteryPool {
public:
    // ---- one lottery -------------------------------------------------------------
    // Validates and computes the pending lottery's deserved seats and probabilities.
    // Throws std::invalid_argument (naming the argument) before touching the state.
    void prepare(const double* scores, std::size_t n, std::int64_t k) {
        if (n < n_entrants_)
            throw std::invalid_argument(
                "scores must have one entry per pool member: the pool has " +
                std::to_string(n_entrants_) + " members, got " + std::to_string(n) +
                " scores");
        if (n >= std::numeric_limits<std::uint32_t>::max())
            throw std::invalid_argument("scores is too long (at most 2**32 - 2 entries)");
        std::size_t n_pos = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = scores[i];
            if (!std::isfinite(v) || v < 0.0)
                throw std::invalid_argument("scores must be finite and >= 0, got " +
                                            std::to_string(v) + " at index " +
                                            std::to_string(i));
            n_pos += v > 0.0;
        }
        if (k < 0 || static_cast<std::uint64_t>(k) > n_pos)
            throw std::invalid_argument(
                "k must lie in [0, number of entrants with a score > 0] = [0, " +
                std::to_string(n_pos) + "], got " + std::to_string(k));
        pending_ok_ = false;
        p_scores_.assign(scores, scores + n);
        p_deserved_.resize(n);
        p_pi_.resize(n);
        target_.resize(n);
        eligible_.resize(n);
        const double kd = static_cast<double>(k);
        deserved_seats(scores, n, kd, p_deserved_.data(), scratch_.idx);
        for (std::size_t i = 0; i < n; ++i) {
            eligible_[i] = scores[i] > 0.0;
            target_[i] = i < n_entrants_ ? (cum_deserved_[i] + p_deserved_[i]) - wins_[i]
                                         : p_deserved_[i];
        }
        fair_probabilities_exact(target_.data(), eligible_.data(), n, kd, p_pi_.data(),
                                 scratch_);
        p_k_ = k;
        p_winners_.clear();
        prepared_ = true;
    }

    // Draws the winners of the prepared lottery with a generator seeded by `seed`.
    void draw(std::uint64_t seed) {
        if (!prepared_) throw std::logic_error("draw() needs prepare() first");
        p_winners_.resize(p_pi_.size());
        Rng rng(seed);
        const std::size_t ones = pipage_round(p_pi_.data(), p_pi_.size(), rng,
                                              p_winners_.data());
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
        append(std::move(p_scores_), p_k_, p_seed_, p_deserved_, std::move(p_pi_),
               std::move(p_winners_));
        p_scores_.clear();
        p_pi_.clear();
        p_winners_.clear();
        prepared_ = pending_ok_ = false;
    }

    const std::vector<double>& pending_probabilities() const { return p_pi_; }
    const std::vector<std::int8_t>& pending_winners() const { return p_winners_; }

    // ---- restoring a recorded history (load / unpickle) ----------------------------
    // Appends one recorded lottery after checking it is well formed. The deserved seats
    // and running sums are rebuilt by the same operations as the live pool, so they are
    // bit-identical.
    void append_record(const double* scores, std::size_t n, std::int64_t k,
                       std::uint64_t seed, const double* pi, const std::int8_t* winners) {
        if (n < n_entrants_)
            throw std::invalid_argument("record " + std::to_string(k_.size()) +
                                        " has fewer entrants than the one before");
        if (n >= std::numeric_limits<std::uint32_t>::max())
            throw std::invalid_argument("record " + std::to_string(k_.size()) +
                                        " is too long (at most 2**32 - 2 entrants)");
        std::int64_t ones = 0;
        std::uint64_t n_pos = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isfinite(scores[i]) || scores[i] < 0.0 ||
                !(pi[i] >= 0.0 && pi[i] <= 1.0) || (winners[i] != 0 && winners[i] != 1))
                throw std::invalid_argument("record " + std::to_string(k_.size()) +
                                            " holds an invalid value at entrant " +
                                            std::to_string(i));
            ones += winners[i];
            n_pos += scores[i] > 0.0;
        }
        if (k < 0 || ones != k || static_cast<std::uint64_t>(k) > n_pos)
            throw std::invalid_argument("record " + std::to_string(k_.size()) +
                                        ": k differs from the number of winners or "
                                        "exceeds the number of entrants");
        p_deserved_.resize(n);
        deserved_seats(scores, n, static_cast<double>(k), p_deserved_.data());
        append(std::vector<double>(scores, scores + n), k, seed, p_deserved_,
               std::vector<double>(pi, pi + n), std::vector<std::int8_t>(winners, winners + n));
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
            const std::size_t n = scores_[t].size();
            int f = 0;
            try {
                replay.prepare(scores_[t].data(), n, k_[t]);
                if (replay.p_pi_ != pi_[t]) f |= 2;
            } catch (const std::invalid_argument&) {
                f |= 8;
            }
            redraw.resize(n);
            Rng rng(seeds_[t]);
            pipage_round(pi_[t].data(), n, rng, redraw.data());
            if (redraw != winners_[t]) f |= 4;
            flags[t] = f;
            if (f & 8) {
                replay.p_deserved_.assign(n, 0.0);  // unusable record: deserves nothing
            } else {
                replay.p_deserved_.resize(n);
                deserved_seats(scores_[t].data(), n, static_cast<double>(k_[t]),
                               replay.p_deserved_.data());
            }
            replay.append(scores_[t], k_[t], seeds_[t], replay.p_deserved_, pi_[t],
                          winners_[t]);
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
    const std::vector<std::vector<double>>& scores() const noexcept { return scores_; }
    // Deserved seats of lottery t (recomputed from its scores and k), into d[0:n_t].
    void deserved_column(std::size_t t, double* d) const {
        deserved_seats(scores_.at(t).data(), scores_[t].size(), static_cast<double>(k_[t]),
                       d);
    }
    const std::vector<std::vector<double>>& probabilities() const noexcept { return pi_; }
    const std::vector<std::vector<std::int8_t>>& winners() const noexcept {
        return winners_;
    }

private:
    void append(std::vector<double> scores, std::int64_t k, std::uint64_t seed,
                const std::vector<double>& deserved, std::vector<double> pi,
                std::vector<std::int8_t> winners) {
        const std::size_t n = scores.size();
        // Reserve first so that a bad_alloc leaves the state as it was.
        scores_.reserve(scores_.size() + 1);
        pi_.reserve(pi_.size() + 1);
        winners_.reserve(winners_.size() + 1);
        k_.reserve(k_.size() + 1);
        seeds_.reserve(seeds_.size() + 1);
        if (n > n_entrants_) {
            cum_deserved_.reserve(n);
            wins_.reserve(n);
            cum_deserved_.resize(n, 0.0);
            wins_.resize(n, 0.0);
        }
        for (std::size_t i = 0; i < n; ++i) {
            cum_deserved_[i] += deserved[i];
            wins_[i] += static_cast<double>(winners[i]);
        }
        n_entrants_ = std::max(n_entrants_, n);
        scores_.push_back(std::move(scores));
        pi_.push_back(std::move(pi));
        winners_.push_back(std::move(winners));
        k_.push_back(k);
        seeds_.push_back(seed);
    }

    // state
    std::size_t n_entrants_ = 0;
    std::vector<double> cum_deserved_, wins_;
    std::vector<std::vector<double>> scores_, pi_;
    std::vector<std::vector<std::int8_t>> winners_;
    std::vector<std::int64_t> k_;
    std::vector<std::uint64_t> seeds_;
    // pending lottery and scratch (not state)
    bool prepared_ = false, pending_ok_ = false;
    std::vector<double> p_scores_, p_deserved_, p_pi_, target_;
    std::vector<std::int8_t> p_winners_;
    std::vector<std::uint8_t> eligible_;
    std::int64_t p_k_ = 0;
    std::uint64_t p_seed_ = 0;
    FairScratch scratch_;
};

}  // namespace fastfair
