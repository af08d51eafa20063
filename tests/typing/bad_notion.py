"""``notion`` is a Literal: a misspelt notion must fail ``mypy --strict``.

Checked by tests/test_typing.py; never executed.
"""

from __future__ import annotations

import fastfair as ff

ff.OnlineAllocator(3, notion="propp")  # expect: arg-type
