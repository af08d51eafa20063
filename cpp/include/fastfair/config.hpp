// Build-wide macros of the fastfair core.
#pragma once

// Keeps a small hot loop out of its caller. GCC sometimes turns the selects of a
// branch-free loop into unpredictable branches once it is inlined into a larger
// function (measured: the partition pass of the projection ran 4x slower inlined).
#if defined(__GNUC__) || defined(__clang__)
#define FASTFAIR_NOINLINE __attribute__((noinline))
#else
#define FASTFAIR_NOINLINE
#endif

// Runtime SIMD dispatch of the online kernels (no -march flags): a kernel body marked
// FASTFAIR_ALWAYS_INLINE is instantiated once per target (FASTFAIR_KERNEL_AVX2 / _AVX512
// wrappers next to a plain one) and the caller picks the wrapper from
// fastfair::online_simd_level() (potential.hpp; the level of fastfair::simd).
#if defined(__GNUC__) || defined(__clang__)
#define FASTFAIR_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FASTFAIR_ALWAYS_INLINE inline
#endif
// GCC: no fused multiply-add in the kernels (the same roundings on every target) and no
// trapping math (lets the branch-free selects vectorise; results are unchanged).
#if defined(__GNUC__) && !defined(__clang__)
#define FASTFAIR_KERNEL_OPTS __attribute__((optimize("no-trapping-math", "fp-contract=off")))
#else
#define FASTFAIR_KERNEL_OPTS
#endif
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define FASTFAIR_HAVE_X86_DISPATCH 1
#define FASTFAIR_KERNEL_AVX2 __attribute__((target("avx2"))) FASTFAIR_KERNEL_OPTS
#if defined(__clang__)
#define FASTFAIR_KERNEL_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))
#else
#define FASTFAIR_KERNEL_AVX512                                                  \
    __attribute__((target("avx512f,avx512dq,avx512vl,prefer-vector-width=512"))) \
    FASTFAIR_KERNEL_OPTS
#endif
#else
#define FASTFAIR_HAVE_X86_DISPATCH 0
#endif

// FASTFAIR_MULTIVERSION(ret, name, (params), (args)) defines name_scalar, name_avx2 and
// name_avx512 around an always-inline name_body; FASTFAIR_DISPATCH(name, level, args...)
// calls the one for the level (0 portable, 1 AVX2, 2 AVX-512).
#if FASTFAIR_HAVE_X86_DISPATCH
#define FASTFAIR_MULTIVERSION(ret, name, params, args)                          \
    [[maybe_unused]] FASTFAIR_KERNEL_OPTS static ret name##_scalar params {     \
        return name##_body args;                                                \
    }                                                                           \
    [[maybe_unused]] FASTFAIR_KERNEL_AVX2 static ret name##_avx2 params {       \
        return name##_body args;                                                \
    }                                                                           \
    [[maybe_unused]] FASTFAIR_KERNEL_AVX512 static ret name##_avx512 params {   \
        return name##_body args;                                                \
    }
#define FASTFAIR_DISPATCH(name, level, ...)                    \
    ((level) >= 2   ? name##_avx512(__VA_ARGS__)               \
     : (level) == 1 ? name##_avx2(__VA_ARGS__)                 \
                    : name##_scalar(__VA_ARGS__))
#else
#define FASTFAIR_MULTIVERSION(ret, name, params, args)                      \
    [[maybe_unused]] FASTFAIR_KERNEL_OPTS static ret name##_scalar params { \
        return name##_body args;                                            \
    }
#define FASTFAIR_DISPATCH(name, level, ...) ((void)(level), name##_scalar(__VA_ARGS__))
#endif
