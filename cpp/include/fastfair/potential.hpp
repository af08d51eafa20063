// The p-potential of docs/formulas.md section 2:
//     phi_p(x) = (1 + max(x, 0)^2)^(p/2),   S = sum_q phi_p(d_q),   Phi = S^(1/p).
// With p ~ ln m and large deficits phi_p overflows float64, so the engines work with
// log phi_p (never overflows) and compare sums after factoring out their largest term.
//
// The engines decide with a fast, vectorisable evaluation of phi_p - 1 (no libm call:
// polynomial log and exp with a proven error bound, docs/numerics.md "The fast
// potential") and fall back to the exact log-space evaluation below whenever that bound
// cannot separate the best candidate from the others, so every decision is the one the
// exact evaluation makes.
#pragma once

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fastfair/config.hpp"
#include "fastfair/simd.hpp"

#if FASTFAIR_HAVE_X86_DISPATCH
#include <immintrin.h>
#endif

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

// ---- the fast potential ------------------------------------------------------------
//
// fast_phi_m1(x, h) ~ (1 + x^2)^h - 1 for a float64 x >= 0 (h = p/2 >= 1), with
//     |fast_phi_m1(x, h) - exact(x)| <= kFastPhiRel * fast_phi_m1(x, h) + kFastPhiAbs
// where exact(x) is what the exact path computes (phi_minus_1(log_phi(x, p)), see
// online_common.hpp), for every x whose result is below kFastPhiMax; larger results
// (and x = inf) come out as +inf, and the engines then take the exact path.
// The derivation of the bound is in docs/numerics.md; tests/test_fast_potential.py
// checks it on millions of points. Only IEEE add, sub, mul, div and integer bit
// operations: the same on every target (no libm, no FMA needed).
constexpr double kFastPhiRel = 1e-10;
constexpr double kFastPhiAbs = 1e-300;
constexpr double kFastPhiMax = 1e270;  // log(1e270) = 621.7 < kLogFastLimit = 650

namespace fastphi_detail {

FASTFAIR_ALWAYS_INLINE std::uint64_t bits(double d) noexcept {
    std::uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
}
FASTFAIR_ALWAYS_INLINE double from_bits(std::uint64_t u) noexcept {
    double d;
    std::memcpy(&d, &u, sizeof d);
    return d;
}

constexpr double kLn2 = 6.93147180559945286227e-01;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: x + kRound rounds x
constexpr std::uint64_t kSqrtHalfBits = 0x3FE6A09E667F3BCDull;  // sqrt(1/2)
constexpr double kTwo52 = 4503599627370496.0;

// Branch-free body; `h` is p / 2. Written so that a compiler vectorises loops over it.
FASTFAIR_ALWAYS_INLINE double phi_m1(double x, double h) noexcept {
    const double y = x * x;
    // ln(1 + y) = e ln 2 + ln(1 + t), 1 + t = m in [sqrt(1/2), sqrt(2)).
    const double u = 1.0 + y;
    const std::uint64_t ub = bits(u);
    const std::uint64_t tmp = ub - kSqrtHalfBits;  // u >= 1: no wrap-around
    const std::uint64_t e = tmp >> 52;             // 0 <= e <= 1025
    const double m = from_bits(ub - (e << 52));
    const double ed = from_bits(e | 0x4330000000000000ull) - kTwo52;  // exact
    // e == 0: 1 + y < sqrt(2) and t = y exactly (keeps tiny y accurate); else m - 1 is
    // exact (Sterbenz).
    const double m1 = m - 1.0;
    const double t = e == 0 ? y : m1;
    const double s = t / (2.0 + t);  // ln(1 + t) = 2 atanh(s), |s| <= 0.1716
    // atanh(s) / s = sum_j z^j / (2j + 1), z = s^2 <= 0.0295, through z^7 (Estrin's
    // scheme: short dependency chains; every term is positive).
    const double z = s * s;
    const double z2 = z * z;
    const double z4 = z2 * z2;
    const double pl = ((1.0 + z * (1.0 / 3)) + z2 * (1.0 / 5 + z * (1.0 / 7))) +
                      z4 * ((1.0 / 9 + z * (1.0 / 11)) + z2 * (1.0 / 13 + z * (1.0 / 15)));
    const double ln1p = ed * kLn2 + (2.0 * s) * pl;
    const double L = h * ln1p;  // L = ln phi >= 0
    // exp(L) - 1 = 2^k (1 + q) - 1, q = expm1(r), r = L - k ln 2, |r| <= ln(2) / 2.
    const double kr = L * kInvLn2 + kRound;
    const double kd = kr - kRound;
    const double r = (L - kd * kLn2Hi) - kd * kLn2Lo;
    // expm1(r) / r = sum_j r^j / (j + 1)!, through r^10 (Estrin).
    const double r2 = r * r;
    const double r4 = r2 * r2;
    const double r8 = r4 * r4;
    const double e01 = 1.0 + r * (1.0 / 2);
    const double e23 = 1.0 / 6 + r * (1.0 / 24);
    const double e45 = 1.0 / 120 + r * (1.0 / 720);
    const double e67 = 1.0 / 5040 + r * (1.0 / 40320);
    const double e89 = 1.0 / 362880 + r * (1.0 / 3628800);
    const double e10 = 1.0 / 39916800;
    const double q = r * (((e01 + r2 * e23) + r4 * (e45 + r2 * e67)) + r8 * (e89 + r2 * e10));
    // k <= 897 whenever L < 622; other lanes are replaced by +inf below.
    const std::uint64_t kb = bits(kr) - bits(kRound);
    const double two = from_bits(((kb + 1023) & 0x7FFull) << 52);
    double f = two * q + (two - 1.0);
    // (1 + y)^h - 1 >= h y >= y (Bernoulli): raising f to y only moves it towards the
    // true value, and y > 0 never gives 0 (the exact path is > 0 there too).
    f = f < y ? y : f;
    const double fin = f < kFastPhiMax ? f : INFINITY;
    return L < 622.0 ? fin : INFINITY;
}

// p = 2k, k = 1..8: phi - 1 = (1 + y)^k - 1 = sum_j C(k, j) y^j, Horner with positive
// coefficients and y >= 0 (relative error <= 2k * 2^-53, no approximation).
template <int K>
FASTFAIR_ALWAYS_INLINE double phi_m1_even(double x) noexcept {
    constexpr double c[9][9] = {{0},
                                {0, 1},
                                {0, 2, 1},
                                {0, 3, 3, 1},
                                {0, 4, 6, 4, 1},
                                {0, 5, 10, 10, 5, 1},
                                {0, 6, 15, 20, 15, 6, 1},
                                {0, 7, 21, 35, 35, 21, 7, 1},
                                {0, 8, 28, 56, 70, 56, 28, 8, 1}};
    const double y = x * x;
    double acc = c[K][K];
    for (int j = K - 1; j >= 1; --j) acc = c[K][j] + y * acc;
    const double f = y * acc;
    return f < kFastPhiMax ? f : INFINITY;
}

}  // namespace fastphi_detail

// 2k when p is an even integer 2k with 1 <= k <= 8 (the polynomial kernel), else 0.
inline int even_p_k(double p) noexcept {
    for (int k = 1; k <= 8; ++k)
        if (p == 2.0 * k) return k;
    return 0;
}

// Which instruction set the fast loops use: 0 = portable (SSE2 on x86-64), 1 = AVX2,
// 2 = AVX-512 (F, DQ and VL): fastfair::simd's level (its cap is the tests' and
// benchmarks' switch, _core._set_simd_level), limited to what these kernels need.
inline int simd_supported() noexcept {
    static const int level = [] {
        int l = simd::cpu_level();
#if FASTFAIR_HAVE_X86_DISPATCH
        if (l >= 2 && !(__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")))
            l = 1;
#endif
        return l;
    }();
    return level;
}
inline int online_simd_level() noexcept {
    const int l = simd::level(), s = simd_supported();
    return l < s ? l : s;
}
// Threads a batch call may use (1 or 2). One by default: on the shared 2-core machine
// measured, a second spinning thread made EF runs 2.2x slower (the other core is busy);
// FASTFAIR_THREADS=2 opts in (dedicated cores). Tests switch it through the hidden
// _core._set_online_threads.
inline std::atomic<int>& online_threads_setting() noexcept {
    static std::atomic<int> k{[] {
        const char* s = std::getenv("FASTFAIR_THREADS");
        return (s != nullptr && std::strcmp(s, "2") == 0) ? 2 : 1;
    }()};
    return k;
}
inline int online_threads() noexcept {
    return online_threads_setting().load(std::memory_order_relaxed);
}

// Where the engines use the fast potential: 0 = nowhere (the exact path only), 1 = where
// it is measured faster (auto, the default: EF), 2 = everywhere (PROP too; tests).
// PROP's exact path only evaluates the agents whose deficit can be positive (few, in
// practice), so there the fast pass is not faster on the machines measured
// (docs/numerics.md); it stays available, and tested, behind mode 2.
inline std::atomic<int>& fast_potential_mode() noexcept {
    static std::atomic<int> mode{1};
    return mode;
}

}  // namespace fastfair

namespace fastfair {
namespace fastphi_detail {
template <int K>
FASTFAIR_ALWAYS_INLINE void even_loop(const double* __restrict x, double* __restrict out,
                                      std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = phi_m1_even<K>(x[i]);
}
FASTFAIR_ALWAYS_INLINE void batch_body(const double* __restrict x, double* __restrict out,
                                       std::size_t n, double h) noexcept {
    switch (even_p_k(2.0 * h)) {
        case 1: return even_loop<1>(x, out, n);
        case 2: return even_loop<2>(x, out, n);
        case 3: return even_loop<3>(x, out, n);
        case 4: return even_loop<4>(x, out, n);
        case 5: return even_loop<5>(x, out, n);
        case 6: return even_loop<6>(x, out, n);
        case 7: return even_loop<7>(x, out, n);
        case 8: return even_loop<8>(x, out, n);
        default: break;
    }
    for (std::size_t i = 0; i < n; ++i) out[i] = phi_m1(x[i], h);
}
FASTFAIR_MULTIVERSION(void, batch, (const double* x, double* out, std::size_t n, double h),
                      (x, out, n, h))
}  // namespace fastphi_detail

namespace fastphi_detail {
// Compaction of the nonzero entries of x (their values and positions), for the general
// kernel: a row of the EF pass has mostly zero deficits, and F(0) = 0 needs no kernel.
FASTFAIR_ALWAYS_INLINE std::size_t compact_body(const double* __restrict x, std::size_t n,
                                                double* __restrict val,
                                                std::uint32_t* __restrict pos) noexcept {
    std::size_t c = 0;
    for (std::size_t i = 0; i < n; ++i) {
        val[c] = x[i];
        pos[c] = static_cast<std::uint32_t>(i);
        c += x[i] != 0.0;
    }
    return c;
}
[[maybe_unused]] FASTFAIR_KERNEL_OPTS static std::size_t compact_scalar(
    const double* x, std::size_t n, double* val, std::uint32_t* pos) noexcept {
    return compact_body(x, n, val, pos);
}
#if FASTFAIR_HAVE_X86_DISPATCH
[[maybe_unused]] FASTFAIR_KERNEL_AVX2 static std::size_t compact_avx2(
    const double* x, std::size_t n, double* val, std::uint32_t* pos) noexcept {
    return compact_body(x, n, val, pos);
}
[[maybe_unused]] FASTFAIR_KERNEL_AVX512 static std::size_t compact_avx512(
    const double* x, std::size_t n, double* val, std::uint32_t* pos) noexcept {
    std::size_t c = 0, i = 0;
    const __m256i step = _mm256_set1_epi32(8);
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; i + 8 <= n; i += 8) {
        const __m512d v = _mm512_loadu_pd(x + i);
        const __mmask8 m = _mm512_cmp_pd_mask(v, _mm512_setzero_pd(), _CMP_NEQ_UQ);
        // compress in registers, then a full store (c + 8 <= i + 8 <= n: in bounds);
        // compress-to-memory is microcoded and slow on some CPUs
        _mm512_storeu_pd(val + c, _mm512_maskz_compress_pd(m, v));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(pos + c),
                            _mm256_maskz_compress_epi32(m, idx));
        c += static_cast<std::size_t>(__builtin_popcount(m));
        idx = _mm256_add_epi32(idx, step);
    }
    for (; i < n; ++i) {
        val[c] = x[i];
        pos[c] = static_cast<std::uint32_t>(i);
        c += x[i] != 0.0;
    }
    return c;
}
#endif
}  // namespace fastphi_detail

// out[i] = fast_phi_m1(x[i], p / 2) with the loop of the given SIMD level. For the general
// kernel, count >= 32 and scratch (val, pos: count entries each, val2 too) given, only the
// nonzero entries go through the kernel (the others are 0 exactly).
inline void fast_phi_m1_sparse(const double* x, double* out, std::size_t n, double p,
                               int level, double* val, double* val2,
                               std::uint32_t* pos) noexcept {
    if (even_p_k(p) != 0 || n < 32) {
        FASTFAIR_DISPATCH(fastphi_detail::batch, level, x, out, n, 0.5 * p);
        return;
    }
    const std::size_t c = FASTFAIR_DISPATCH(fastphi_detail::compact, level, x, n, val, pos);
    FASTFAIR_DISPATCH(fastphi_detail::batch, level, val, val2, c, 0.5 * p);
    for (std::size_t i = 0; i < n; ++i) out[i] = 0.0;
    for (std::size_t k = 0; k < c; ++k) out[pos[k]] = val2[k];
}

// out[i] = fast_phi_m1(x[i], p / 2) with the loop of the given SIMD level (tests).
inline void fast_phi_m1_batch(const double* x, double* out, std::size_t n, double p,
                              int level) noexcept {
    FASTFAIR_DISPATCH(fastphi_detail::batch, level, x, out, n, 0.5 * p);
}
}  // namespace fastfair
