// Compensated (Neumaier) summation: the sum of n doubles with an error of a few ulps
// of the result instead of O(n) ulps, at about twice the cost of a plain loop.
#pragma once

#include <cmath>
#include <cstddef>

namespace fastfair {

class NeumaierSum {
public:
    void add(double x) noexcept {
        const double t = sum_ + x;
        if (std::fabs(sum_) >= std::fabs(x))
            comp_ += (sum_ - t) + x;
        else
            comp_ += (x - t) + sum_;
        sum_ = t;
    }
    double value() const noexcept { return sum_ + comp_; }

private:
    double sum_ = 0.0;
    double comp_ = 0.0;
};

inline double accurate_sum(const double* x, std::size_t n) noexcept {
    NeumaierSum s;
    for (std::size_t i = 0; i < n; ++i) s.add(x[i]);
    return s.value();
}

}  // namespace fastfair
