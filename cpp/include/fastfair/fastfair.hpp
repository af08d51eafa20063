// Umbrella header of the fastfair C++17 core (header-only, knows nothing of Python).
#pragma once

#include "fastfair/pipage.hpp"
#include "fastfair/projection.hpp"
#include "fastfair/rng.hpp"
#include "fastfair/summation.hpp"
#include "fastfair/bounds.hpp"
#include "fastfair/potential.hpp"
