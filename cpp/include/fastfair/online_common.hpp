// Shared pieces of the online engines (docs/formulas.md sections 2-6, 8):
// the normalised deficit term of one quality variable, overflow-safe sums of
// exp(log phi), and the constants that decide when the fast (unshifted) path is safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastfair/bounds.hpp"
#include "fastfair/potential.hpp"

namespace fastfair {

// exp(l) is computed directly (no shift) while every log term stays below this;
// exp(650) ~ 1e282, so sums of up to 2^60 such terms are still finite.
constexpr double kLogFastLimit = 650.0;

// log phi_p of the normalised deficit 1[scale > 0] * max(raw, 0) / scale.
inline double log_phi_ratio(double raw, double scale, double p) noexcept {
    return (raw > 0.0 && scale > 0.0) ? log_phi(raw / scale, p) : 0.0;
}

inline double norm_deficit(double raw, double scale) noexcept {
    return (raw > 0.0 && scale > 0.0) ? raw / scale : 0.0;
}

// phi - 1 from l = log phi >= 0, accurate even when phi rounds to 1 (tiny deficits):
// a 4-term Taylor series for l < 1e-3 (relative error < 1e-14), exp(l) - 1 above
// (relative error < 3e-13). Cheaper than std::expm1 in the hot loops.
inline double phi_minus_1(double l) noexcept {
    if (l < 1e-3) return l * (1.0 + l * (0.5 + l * (1.0 / 6.0 + l * (1.0 / 24.0))));
    return std::exp(l) - 1.0;
}

// log(sum_i exp(l[i])) for the given log terms (never overflows).
template <class Get>
double log_sum_exp(std::size_t count, Get get) {
    if (count == 0) return -INFINITY;
    double mx = -INFINITY;
    for (std::size_t k = 0; k < count; ++k) mx = std::max(mx, get(k));
    double s = 0.0;
    for (std::size_t k = 0; k < count; ++k) s += std::exp(get(k) - mx);
    return mx + std::log(s);
}

// p: NaN means "use the default max(2, ln m)". Otherwise p must be finite and >= 2.
inline double resolve_p(double p, double m) {
    if (std::isnan(p)) return default_p(m);
    if (!std::isfinite(p) || p < 2.0)
        throw std::invalid_argument("p must be a finite number >= 2, got " +
                                    std::to_string(p));
    return p;
}

// gamma: 0 means "no discount"; otherwise it must lie strictly inside (0, 1).
inline double resolve_gamma(double gamma) {
    if (gamma == 0.0) return 0.0;
    if (!(gamma > 0.0 && gamma < 1.0))
        throw std::invalid_argument("discount must lie strictly between 0 and 1, got " +
                                    std::to_string(gamma));
    return gamma;
}

inline void require_agents(std::size_t n, std::size_t min_n = 1) {
    if (n < min_n || n > (std::size_t{1} << 24))
        throw std::invalid_argument("n_agents must be an integer in [" +
                                    std::to_string(min_n) + ", 2^24], got " +
                                    std::to_string(n));
}

// Item values (and public-decision values) are at most DBL_MAX / 2^64 ~ 9.7e288, so
// no sum over fewer than 2^64 rounds (utilities, envies, raw deficits) can overflow.
constexpr double kMaxValue = 1.7976931348623157e308 / 18446744073709551616.0;

// Stored raw quantities of a restored state must leave room for that growth, and a
// normalised deficit (raw / scale) above this is refused (the next step could give inf).
constexpr double kMaxStateMagnitude = 1.7976931348623157e308 / 4.0;
constexpr double kMaxStateRatio = 1e300;

// tie_break="value" (and "welfare"): potentials within this relative distance of the
// minimum count as tied (the float state makes exact ties inexact).
constexpr double kTieRel = 1e-12;

// Engines refuse sizes whose state would need more than this many bytes.
constexpr double kMaxEngineBytes = 8.0 * 1024.0 * 1024.0 * 1024.0;

enum class TieBreak : int { Index = 0, Value = 1 };

inline void require_bytes(double bytes, const char* what) {
    if (bytes > kMaxEngineBytes) {
        throw std::length_error(std::string(what) + " would need " +
                                std::to_string(static_cast<long long>(bytes)) +
                                " bytes of state (limit " +
                                std::to_string(static_cast<long long>(kMaxEngineBytes)) +
                                " bytes)");
    }
}

}  // namespace fastfair
