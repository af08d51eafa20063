"""Turn the public ``seed`` argument into the 64-bit seed of fastfair's C++ generator."""

from __future__ import annotations

import numbers
import secrets
from typing import Union

import numpy as np

SeedLike = Union[int, np.integer, np.random.Generator, np.random.SeedSequence,
                 np.random.BitGenerator, None]

_U64 = 1 << 64


def resolve_seed(seed: SeedLike, name: str = "seed") -> int:
    """Return the uint64 seed the C++ generator is started from.

    * an ``int`` in ``[0, 2**64)`` seeds the generator directly, so the same int gives
      the same draws on every platform;
    * ``None`` draws a fresh 64-bit seed from the operating system's entropy;
    * a :class:`numpy.random.Generator` draws the 64-bit seed from that generator
      (advancing it), so seeded NumPy workflows stay reproducible; a
      :class:`numpy.random.BitGenerator` (``PCG64(1)``, ...) likewise;
    * a :class:`numpy.random.SeedSequence` gives its first 64-bit word
      (``generate_state(1, uint64)``), the same every time.
    """
    if seed is None:
        return secrets.randbits(64)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, _U64, dtype=np.uint64))
    if isinstance(seed, np.random.BitGenerator):  # e.g. np.random.PCG64(1): advanced
        return int(np.random.Generator(seed).integers(0, _U64, dtype=np.uint64))
    if isinstance(seed, np.random.SeedSequence):  # deterministic, not advanced
        return int(seed.generate_state(1, np.uint64)[0])
    if isinstance(seed, (bool, np.bool_)):
        msg = f"{name} must be an int, a numpy.random.Generator or None, got a bool"
        raise TypeError(msg)
    if isinstance(seed, numbers.Integral):
        value = int(seed)
        if not 0 <= value < _U64:
            msg = f"{name} must lie in [0, 2**64), got {value}"
            raise ValueError(msg)
        return value
    msg = (
        f"{name} must be an int, a numpy.random.Generator, BitGenerator or "
        f"SeedSequence, or None, got {type(seed).__name__}"
    )
    raise TypeError(msg)
