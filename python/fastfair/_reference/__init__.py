"""Slow, obviously-correct NumPy references (tests, benchmarks, ``fastfair bench``)."""
