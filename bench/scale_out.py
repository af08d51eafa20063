"""Scale-out measurement: 8 independent EF streams, serial vs threads vs processes
(vs dask when installed). Run: python bench/scale_out.py [--rounds N] [--agents N].

Each task builds its own OnlineAllocator and its own values from a seed (nothing big
is shipped), runs the stream with ``run`` (GIL released in C++) and returns a summary
(rounds, max deficit, bound). Prints one line per method with the wall time and the
speed-up over serial. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

import fastfair as ff


def stream_summary(seed: int, rounds: int, agents: int) -> tuple[int, float, float]:
    """One EF stream, values generated where it runs; only a summary travels."""
    values = np.random.default_rng(seed).exponential(size=(rounds, agents))
    alloc = ff.OnlineAllocator(agents, notion="ef")
    alloc.run(values)
    return alloc.rounds, alloc.max_deficit, alloc.bound()


def run_only(values: np.ndarray) -> float:
    alloc = ff.OnlineAllocator(values.shape[1], notion="ef")
    alloc.run(values)
    return alloc.max_deficit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    seeds = list(range(a.streams))
    data = [np.random.default_rng(s).exponential(size=(a.rounds, a.agents)) for s in seeds]
    print(f"{a.streams} EF streams x {a.rounds:,} rounds, {a.agents} agents, "
          f"{a.workers} workers, {os.cpu_count()} CPUs; best of {a.repeat}")

    def best(fn):
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    serial = best(lambda: [run_only(v) for v in data])
    print(f"serial (run only)        {serial:7.2f} s  1.00x")
    with ThreadPoolExecutor(a.workers) as pool:
        t = best(lambda: list(pool.map(run_only, data)))
    print(f"threads (run only)       {t:7.2f} s  {serial / t:.2f}x")
    serial_full = best(lambda: [stream_summary(s, a.rounds, a.agents) for s in seeds])
    print(f"serial (generate + run)  {serial_full:7.2f} s  1.00x")
    with ThreadPoolExecutor(a.workers) as pool:
        t = best(lambda: list(pool.map(stream_summary, seeds, [a.rounds] * a.streams,
                                       [a.agents] * a.streams)))
    print(f"threads (generate + run) {t:7.2f} s  {serial_full / t:.2f}x")
    with ProcessPoolExecutor(a.workers) as pool:
        list(pool.map(stream_summary, [0] * a.workers, [10] * a.workers,
                      [a.agents] * a.workers))  # start the workers
        t = best(lambda: list(pool.map(stream_summary, seeds, [a.rounds] * a.streams,
                                       [a.agents] * a.streams)))
    print(f"processes (gen. + run)   {t:7.2f} s  {serial_full / t:.2f}x")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask: not installed (pip install 'dask[distributed]')")
        return
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(stream_summary, [0] * a.workers, [10] * a.workers,
                                 [a.agents] * a.workers, pure=False))
        t = best(lambda: client.gather(client.map(
            stream_summary, seeds, [a.rounds] * a.streams, [a.agents] * a.streams,
            pure=False)))
    print(f"dask LocalCluster        {t:7.2f} s  {serial_full / t:.2f}x")


if __name__ == "__main__":
    main()
