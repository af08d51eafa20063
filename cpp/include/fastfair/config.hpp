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
