// The fairness guarantee tau_p(t) of paper-formulas.md section 3 (derived constants),
// and its discounted, time-uniform form of section 9.
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

}  // namespace fastfair
