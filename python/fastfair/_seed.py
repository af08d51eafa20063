"""Turn the public ``seed`` argument into the 64-bit seed of fastfair's C++ generator."""

from __future__ import annotations

import hashlib
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


#: Longest seed string accepted (characters).
MAX_SEED_STRING = 65_536

#: The documented rule that turns a string seed into the 64-bit seed.
SEED_STRING_RULE = (
    "SHA-256 of the string's UTF-8 bytes; the first 8 bytes of the digest, read as a "
    "little-endian unsigned 64-bit integer"
)

StrSeedLike = Union[str, int, np.integer, np.random.Generator, None]


def sha256_seed(data: bytes) -> int:
    """The first 8 bytes of the SHA-256 of ``data``, read as a little-endian unsigned
    64-bit integer: the one rule behind string seeds and waitlist seeds."""
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little")


def seed_from_string(text: str, name: str = "seed") -> int:
    """The 64-bit seed of a string seed (e.g. published lottery numbers or a public
    randomness-beacon value): the first 8 bytes of the SHA-256 of its UTF-8 bytes,
    little-endian. The same string gives the same seed everywhere.

    """
    if not isinstance(text, str):
        msg = f"{name} must be a str, got {type(text).__name__}"
        raise TypeError(msg)
    if not text:
        msg = f"{name} must not be an empty string"
        raise ValueError(msg)
    if len(text) > MAX_SEED_STRING:
        msg = f"{name} must be at most {MAX_SEED_STRING} characters, got {len(text)}"
        raise ValueError(msg)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{name} must be valid Unicode text (it holds a lone surrogate)"
        raise ValueError(msg) from None
    return sha256_seed(raw)

