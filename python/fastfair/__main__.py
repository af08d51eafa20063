"""``python -m fastfair``: the fastfair command line (see ``fastfair --help``)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
