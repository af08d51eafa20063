// The p-potential of docs/formulas.md section 2:
//     phi_p(x) = (1 + max(x, 0)^2)^(p/2),   S = sum_q phi_p(d_q),   Phi = S^(1/p).
// With p ~ ln m and large deficits phi_p overflows float64, so the engines work with
// log phi_p (never overflows) and compare sums after factoring out their largest term.
#pragma once

#include <cmath>

namespace fastfair {

// log phi_p(x) = (p/2) * log1p(max(x,0)^2), accurate for tiny x and finite for huge x.
inline double log_phi(double x, double p) noexcept {
    if (!(x > 0.0)) return 0.0;
    if (x < 1e150) return 0.5 * p * std::log1p(x * x);
    // x^2 would overflow: log(1 + x^2) = 2 log x + log1p(x^-2)
    return p * std::log(x) + 0.5 * p * std::log1p(1.0 / (x * x));
}

// phi_p(x) itself (may overflow to +inf for huge deficits; use log_phi to compare).
inline double phi(double x, double p) noexcept { return std::exp(log_phi(x, p)); }

}  // namespace fastfair
