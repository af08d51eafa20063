"""A corpus of hostile pool files loaded in separate processes: a clean ValueError (or,
for a bit flip under a recomputed checksum that still forms a valid pool, a pool that
loads and verifies) passes; a signal, abort or any other exception fails.

One driver subprocess imports fastfair once and forks a child per file, so a crash in
one load kills only that child and the corpus stays fast."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the crafting helpers beside this file
import pool_craft as pc  # noqa: E402

DRIVER = textwrap.dedent(
    """
    import json, os, sys
    import fastfair as ff
    out = {}
    for name in sorted(os.listdir(sys.argv[1])):
        path = os.path.join(sys.argv[1], name)
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                pool = ff.LotteryPool.load(path)
                pool.verify()
                code = 0
            except ValueError:
                code = 1
            except BaseException:
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            out[name] = "signal %d" % os.WTERMSIG(status)
        else:
            out[name] = {0: "loaded", 1: "ValueError", 2: "other exception"}.get(
                os.WEXITSTATUS(status), "exit %d" % os.WEXITSTATUS(status))
    print(json.dumps(out))
    """
)


def test_hostile_corpus_in_subprocesses(tmp_path):
    cases = pc.all_cases()
    assert len(cases) >= 30
    names = {}
    for j, (label, data) in enumerate(cases):
        fname = f"{j:03d}.ffl"
        (tmp_path / fname).write_bytes(data)
        names[fname] = label
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path)],
                          capture_output=True, timeout=120, check=True)
    results = json.loads(proc.stdout)
    assert set(results) == set(names)
    bad = {names[f]: r for f, r in results.items()
           if not (r == "ValueError" or (r == "loaded" and "bit flip" in names[f]))}
    assert not bad, bad
    # the corpus is hostile: nearly all of it must be refused
    assert sum(r == "ValueError" for r in results.values()) >= len(cases) - 4
