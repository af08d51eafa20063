// Baseline online allocation rules the paper compares against (docs/formulas.md
// section 9): round-robin, max-deficit greedy (Table 1) and the horizon-tuned
// exponential potential of Benade et al. (2018), Appendix B. All share one tracker of
// bundle values v_i(A_j), largest missed items and largest bundle items, so their PROP_c
// and EF_c deficits can be read out and compared with the p-potential rule.
// Ties: lowest index. Not thread-safe.
#pragma once

#include "fastfair/online_common.hpp"

namespace fastfair {

class BaselineTracker {
public:
    explicit BaselineTracker(std::size_t n) : n_(n) {
        require_agents(n);
        VA_.assign(n * n, 0.0);
        Sc_.assign(n * n, 0.0);
        total_.assign(n, 0.0);
        miss_.assign(n, 0.0);
    }
    std::size_t n() const noexcept { return n_; }
    std::uint64_t rounds() const noexcept { return t_; }

    void apply(const double* v, std::size_t a) noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            const double vi = v[i];
            total_[i] += vi;
            VA_[i * n_ + a] += vi;
            Sc_[i * n_ + a] = std::max(Sc_[i * n_ + a], vi);
            if (i != a) miss_[i] = std::max(miss_[i], vi);
        }
        ++t_;
    }
    // Raw PROP deficit D_i = v_i(M)/n - v_i(A_i) and the normalised d_i = (D_i)_+/M_i.
    double raw_deficit(std::size_t i) const noexcept {
        return total_[i] / static_cast<double>(n_) - VA_[i * n_ + i];
    }
    double deficit(std::size_t i) const noexcept {
        return norm_deficit(raw_deficit(i), miss_[i]);
    }
    double envy(std::size_t i, std::size_t j) const noexcept {
        return VA_[i * n_ + j] - VA_[i * n_ + i];
    }
    double ef_deficit(std::size_t i, std::size_t j) const noexcept {
        return i == j ? 0.0 : norm_deficit(envy(i, j), Sc_[i * n_ + j]);
    }

    std::vector<double> VA_, Sc_, total_, miss_;
    std::uint64_t t_ = 0;

private:
    std::size_t n_;
};

// Item t goes to agent (t - 1) mod n.
class RoundRobin {
public:
    explicit RoundRobin(std::size_t n) : tr_(n) {}
    std::int64_t step(const double* v) noexcept {
        const std::size_t a = static_cast<std::size_t>(tr_.rounds() % tr_.n());
        tr_.apply(v, a);
        return static_cast<std::int64_t>(a);
    }
    BaselineTracker tr_;
};

// Item t goes to argmax_i (v_i(M^{t-1})/n - v_i(A_i^{t-1})), the raw deficit measured
// before the item (docs/formulas.md section 9, Table 1).
class GreedyMaxDeficit {
public:
    explicit GreedyMaxDeficit(std::size_t n) : tr_(n) {}
    std::int64_t step(const double* v) noexcept {
        std::size_t best = 0;
        double bd = tr_.raw_deficit(0);
        for (std::size_t i = 1; i < tr_.n(); ++i) {
            const double d = tr_.raw_deficit(i);
            if (d > bd) {
                bd = d;
                best = i;
            }
        }
        tr_.apply(v, best);
        return static_cast<std::int64_t>(best);
    }
    BaselineTracker tr_;
};

// Benade et al. (2018): a_t = argmin_a sum_{i != j} exp(lam x_ij(a)), with
// x_ij = v_i(A_j) - v_i(A_i), values in [0, 1], lam = sqrt(2 ln(n(n-1)) / horizon) by
// default (docs/formulas.md section 9). Evaluated with every term shifted by the largest
// exponent, so it never overflows. O(n^2) exponentials per round.
class Benade2018 {
public:
    Benade2018(std::size_t n, double horizon, double lam) : tr_(n), horizon_(horizon) {
        require_agents(n, 2);
        if (!(std::isfinite(horizon) && horizon >= 1.0))
            throw std::invalid_argument("horizon must be a finite number >= 1, got " +
                                        std::to_string(horizon));
        const double nd = static_cast<double>(n);
        if (std::isnan(lam)) {
            lam = std::sqrt(2.0 * std::log(nd * (nd - 1.0)) / horizon);
            if (!(lam > 0.0)) lam = std::sqrt(2.0 * std::log(2.0) / horizon);
        }
        if (!(std::isfinite(lam) && lam > 0.0))
            throw std::invalid_argument("lam must be a finite number > 0, got " +
                                        std::to_string(lam));
        lam_ = lam;
        delta_.assign(n, 0.0);
    }
    double lam() const noexcept { return lam_; }
    double horizon() const noexcept { return horizon_; }

    std::int64_t step(const double* v) noexcept {
        const std::size_t n = tr_.n();
        double shift = -INFINITY;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                if (i != j) shift = std::max(shift, lam_ * (tr_.envy(i, j) + v[i]));
        for (std::size_t a = 0; a < n; ++a) delta_[a] = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = v[i];
            if (vi == 0.0) continue;
            for (std::size_t j = 0; j < n; ++j) {
                if (i == j) continue;
                const double x = tr_.envy(i, j);
                const double old = std::exp(lam_ * x - shift);
                delta_[i] += std::exp(lam_ * (x - vi) - shift) - old;  // i receives
                delta_[j] += std::exp(lam_ * (x + vi) - shift) - old;  // j receives
            }
        }
        std::size_t best = 0;
        for (std::size_t a = 1; a < n; ++a)
            if (delta_[a] < delta_[best]) best = a;
        tr_.apply(v, best);
        return static_cast<std::int64_t>(best);
    }
    BaselineTracker tr_;

private:
    double horizon_;
    double lam_ = 0.0;
    std::vector<double> delta_;
};

}  // namespace fastfair
