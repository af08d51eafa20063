// The fairness guarantee tau_p(t) of docs/formulas.md section 3 (derived constants),
// and its discounted, time-uniform form of section 8.
//   m: number of quality variables, K: reference actions, C: second-moment constant.
//   p == 2:  tau = sqrt(C m t / K)                                  (exact p = 2 form)
//   p  > 2:  tau = sqrt(m^(2/p) (p^2 + e C (p - 1) t / K) - 1)
// Discounted by gamma in (0, 1):
//   p == 2:  tau = sqrt(C m / (K (1 - gamma^2)))
//   p  > 2:  a = e C (p - 1) m^(2/p) / K,
//            R = max(sqrt(p^2 m^(2/p) + a), m^(1/p) + sqrt(a / (1 - gamma^2))),
//            tau = sqrt(R^2 - 1).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace fastfair {

constexpr double kE = 2.718281828459045235360287471352662498;

// Default exponent p = max(2, ln m) (SPEC decision).
inline double default_p(double m) noexcept {
    return m > 1.0 ? std::max(2.0, std::log(m)) : 2.0;
}

inline double tau_bound(double p, double m, double C, double K, double t) noexcept {
    if (m <= 0.0) return 0.0;
    if (p == 2.0) return std::sqrt(C * m * t / K);
    const double v = std::pow(m, 2.0 / p) * (p * p + kE * C * (p - 1.0) * t / K) - 1.0;
    return std::sqrt(std::max(v, 0.0));
}

inline double tau_bound_discounted(double p, double m, double C, double K,
                                   double gamma) noexcept {
    if (m <= 0.0) return 0.0;
    if (p == 2.0) return std::sqrt(C * m / (K * (1.0 - gamma * gamma)));
    const double m2p = std::pow(m, 2.0 / p);
    const double a = kE * C * (p - 1.0) * m2p / K;
    const double r = std::max(std::sqrt(p * p * m2p + a),
                              std::pow(m, 1.0 / p) + std::sqrt(a / (1.0 - gamma * gamma)));
    return std::sqrt(std::max(r * r - 1.0, 0.0));
}

// Scheduler extensions (eligibility, churn, weights): the proof of section 3 only uses
// "min <= average over a reference distribution", so the per-round constant C/K may
// change from round to round. Write sigma2_t for that round's second moment; the bound
// replaces t C / K by Sigma_t = sum_{s <= t} sigma2_s and m by the current m_t:
//   p == 2:  tau = sqrt(m_t Sigma_t)
//   p  > 2:  tau = sqrt(m_t^(2/p) (p^2 + e (p - 1) Sigma_t) - 1)
// Discounted: the time-uniform bound with C/K replaced by the largest sigma2 seen.
// Rounds with today's constant at the current m are counted as an integer ("plain"),
// so with no extension in use the bound is exactly today's tau_bound(p, m, C, K, t).
inline double tau_bound_moment(double p, double m, double sigma) noexcept {
    if (m <= 0.0) return 0.0;
    if (p == 2.0) return std::sqrt(m * sigma);
    const double v = std::pow(m, 2.0 / p) * (p * p + kE * (p - 1.0) * sigma) - 1.0;
    return std::sqrt(std::max(v, 0.0));
}

struct MomentSum {
    std::uint64_t plain = 0;  // rounds with today's constant C/K at the current m
    double extra = 0.0;       // sum of sigma2 over every other round
    double peak = 0.0;        // largest sigma2 among the rounds counted in extra

    void add(double sigma2) noexcept {
        extra += sigma2;
        peak = std::max(peak, sigma2);
    }
    // m is about to change: today's constant of the plain rounds so far becomes history.
    void fold(double plain_sigma2) noexcept {
        if (plain == 0) return;
        extra += static_cast<double>(plain) * plain_sigma2;
        peak = std::max(peak, plain_sigma2);
        plain = 0;
    }
    // C, K: today's constants at the current m (plain rounds have sigma2 = C / K).
    double bound(double p, double m, double C, double K, double gamma) const noexcept {
        const bool today = extra == 0.0 && peak == 0.0;
        if (gamma > 0.0) {
            if (today) return tau_bound_discounted(p, m, C, K, gamma);
            const double c = std::max(peak, plain > 0 ? C / K : 0.0);
            return tau_bound_discounted(p, m, c, 1.0, gamma);
        }
        if (today) return tau_bound(p, m, C, K, static_cast<double>(plain));
        return tau_bound_moment(p, m, extra + static_cast<double>(plain) * (C / K));
    }
};

}  // namespace fastfair
