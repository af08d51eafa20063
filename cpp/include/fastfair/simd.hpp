// fastfair::simd: runtime dispatch of the vector kernels (the build targets the
// baseline ISA only: SSE2 on x86-64, never -march=native).
//
// Levels: 0 = baseline (SSE2 on x86-64, plain C++ elsewhere), 1 = AVX2, 2 = AVX-512F.
// level() is the highest level that both the CPU (and OS) support and the cap allows;
// tests lower the cap to run every kernel the build contains on the same inputs.
// Every level gives bit-identical results: the kernels only differ in how many lanes
// compute element-wise values, counts, maxima and compactions (exact at any width),
// and in lane sums whose only use is a comparison proven equal to that of the plain
// sequential sum (see projection.hpp, sign_vs_k).
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "fastfair/config.hpp"  // FASTFAIR_HAVE_X86_DISPATCH (GCC/Clang on x86-64)

#define FASTFAIR_X86_DISPATCH FASTFAIR_HAVE_X86_DISPATCH
#if FASTFAIR_X86_DISPATCH
#include <immintrin.h>
#endif

namespace fastfair {
namespace simd {

inline int cpu_level() noexcept {
#if FASTFAIR_X86_DISPATCH
    static const int level = [] {
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("popcnt")) return 0;
        if (__builtin_cpu_supports("avx512f")) return 2;  // also checks the OS state
        if (__builtin_cpu_supports("avx2")) return 1;
        return 0;
    }();
    return level;
#else
    return 0;
#endif
}

// Highest level allowed (process-wide; tests and benchmarks lower it). Starts from the
// environment: FASTFAIR_SIMD=scalar or avx2 caps it (the variable the online engines
// read too), anything else leaves every level the CPU has.
inline std::atomic<int>& cap() noexcept {
    static std::atomic<int> c{[] {
        const char* s = std::getenv("FASTFAIR_SIMD");
        if (s != nullptr && std::strcmp(s, "scalar") == 0) return 0;
        if (s != nullptr && std::strcmp(s, "avx2") == 0) return 1;
        return 2;
    }()};
    return c;
}

inline int level() noexcept {
    const int c = cap().load(std::memory_order_relaxed);
    const int l = cpu_level();
    return c < l ? c : l;
}

}  // namespace simd
}  // namespace fastfair
