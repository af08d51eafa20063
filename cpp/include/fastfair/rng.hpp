// fastfair::Rng: the one portable random generator of fastfair.
//
// Algorithm (documented so anyone can re-implement it and replay a draw):
//   * seeding: the 64-bit seed s is expanded into the 256-bit state with splitmix64
//     (state word w_k = splitmix64 output number k+1 of the sequence started at s);
//   * draws: xoshiro256** 1.0 (Blackman & Vigna 2018) gives 64-bit words;
//   * uniform01(): the top 53 bits of one word times 2^-53, a double in [0, 1).
// Only integer arithmetic is used, so the same seed gives the same draws on every
// platform and compiler (std::uniform_real_distribution is deliberately not used:
// its output differs between standard libraries).
#pragma once

#include <array>
#include <cstdint>

namespace fastfair {

inline std::uint64_t splitmix64_next(std::uint64_t& x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

class Rng {
public:
    using State = std::array<std::uint64_t, 4>;

    explicit Rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

    void reseed(std::uint64_t seed) noexcept {
        std::uint64_t x = seed;
        for (auto& w : s_) w = splitmix64_next(x);
    }

    // xoshiro256** 1.0
    std::uint64_t next_u64() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // A double in [0, 1) with 53 random bits.
    double uniform01() noexcept {
        return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
    }

    const State& state() const noexcept { return s_; }
    void set_state(const State& s) noexcept { s_ = s; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    State s_{};
};

}  // namespace fastfair
