// Randomized pipage rounding for the uniform matroid (Karimi et al. 2017, Alg. 3; the
// loop of the fair-lottery blog), in one O(n) pass.
//
// Input: pi in [0, 1]^n with sum pi = K, an integer. Output: x in {0, 1}^n with exactly
// K ones and E[x_i] = pi_i for every i.
//
// One fractional "carry" entry c is kept. Each next fractional entry j is paired with
// it and the pair's mass s = pi_c + pi_j is moved so that one of the two becomes
// integral, with probabilities that keep both expectations:
//   s < 1:  c takes all of s with prob. pi_c / s, else j does (the loser becomes 0);
//   s >= 1: c becomes 1 with prob. (1 - pi_j) / (2 - s), else j does (the other
//           keeps s - 1).
// The entry that becomes integral is set to exactly 0 or 1 and written out at once;
// the fractional one is the new carry. Mass is conserved up to rounding, so the last
// carry is within ~n ulps of 0 or 1 and is rounded. Each pairing uses one uniform01().
#pragma once

#include <cstddef>
#include <cstdint>

#include "fastfair/rng.hpp"

namespace fastfair {

// Writes one draw into out[0:n] (values 0 or 1) and returns the number of ones.
// pi must already be validated (finite, in [0, 1], integral sum).
inline std::size_t pipage_round(const double* pi, std::size_t n, Rng& rng,
                                std::int8_t* out) noexcept {
    std::size_t ones = 0;
    bool have_carry = false;
    std::size_t c = 0;
    double pc = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
        const double pj = pi[j];
        if (pj <= 0.0 || pj >= 1.0) {
            const bool one = pj >= 1.0;
            out[j] = one ? 1 : 0;
            ones += one;
            continue;
        }
        if (!have_carry) {
            have_carry = true;
            c = j;
            pc = pj;
            continue;
        }
        const double s = pc + pj;
        const double u = rng.uniform01();
        if (s < 1.0) {
            if (u * s < pc) {  // c keeps the mass, j is settled at 0
                out[j] = 0;
                pc = s;
            } else {           // j keeps the mass, c is settled at 0
                out[c] = 0;
                c = j;
                pc = s;
            }
        } else {
            const double rest = s - 1.0;
            if (u * (2.0 - s) < 1.0 - pj) {  // c is settled at 1, j carries the rest
                out[c] = 1;
                ++ones;
                c = j;
                pc = rest;
            } else {                          // j is settled at 1, c carries the rest
                out[j] = 1;
                ++ones;
                pc = rest;
            }
            if (pc <= 0.0) {  // s == 1 exactly: both ends are integral now
                out[c] = 0;
                have_carry = false;
            }
        }
    }
    if (have_carry) {
        const bool one = pc >= 0.5;
        out[c] = one ? 1 : 0;
        ones += one;
    }
    return ones;
}

}  // namespace fastfair
