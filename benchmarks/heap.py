"""The engine's deadline heap: pushes + pops per second, the pure-Python
reference (PyDeadlineHeap) against the C heap through its Python face
(NativeDeadlineHeap).

    PYTHONPATH=src python benchmarks/heap.py [--n 200000] [--size 1000] [--repeat 3]

Three workloads, each with the same seeded instants on both heaps (a quarter
of them equal to another, so seq breaks many ties):

- fill-drain: push n entries, then pop them all;
- steady: keep about --size entries, one push and one pop per step, n steps;
- pop_due: push n entries, then pop them with pop_due in 100 advancing steps.

Each cell is the best of --repeat runs, in operations (a push or a pop) per
second. The native figures include the cffi call and the tuple built per
entry: that is what a Python caller pays; the engine will call the C
functions directly. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from typing import Any

from acdcore import native_available
from acdcore._native.heap import NativeDeadlineHeap, PyDeadlineHeap


def instants(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [
        float(rng.randrange(n)) / 4 if rng.random() < 0.25 else rng.random() * n for _ in range(n)
    ]


def fill_drain(cls: Callable[[], Any], whens: list[float], size: int) -> int:
    h = cls()
    push, pop = h.push, h.pop
    for i, w in enumerate(whens):
        push(w, 1, i, 0)
    for _ in whens:
        pop()
    return 2 * len(whens)


def steady(cls: Callable[[], Any], whens: list[float], size: int) -> int:
    h = cls()
    push, pop = h.push, h.pop
    for i in range(size):
        push(whens[i % len(whens)], 1, i, 0)
    for i, w in enumerate(whens):
        push(w, 1, i, 0)
        pop()
    return 2 * len(whens)


def pop_due(cls: Callable[[], Any], whens: list[float], size: int) -> int:
    h = cls()
    push = h.push
    for i, w in enumerate(whens):
        push(w, 1, i, 0)
    top = max(whens)
    popped = 0
    for step in range(1, 101):
        popped += len(h.pop_due(top * step / 100))
    popped += len(h.pop_due(math.inf))
    assert popped == len(whens)
    return 2 * len(whens)


def best_rate(
    work: Callable[..., int], cls: Callable[[], Any], whens: list[float], size: int, repeat: int
) -> float:
    best = math.inf
    ops = 0
    for _ in range(repeat):
        start = time.perf_counter()
        ops = work(cls, whens, size)
        best = min(best, time.perf_counter() - start)
    return ops / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    whens = instants(args.n, args.seed)
    heaps: list[tuple[str, Callable[[], Any]]] = [("python", PyDeadlineHeap)]
    if native_available():
        heaps.append(("native", NativeDeadlineHeap))
    else:
        print("native extension not built: python only")
    print(f"n={args.n:,} size={args.size:,} best of {args.repeat}; pushes + pops per second")
    print(f"{'workload':<12}" + "".join(f"{name:>14}" for name, _ in heaps) + "   native/python")
    for label, work in (("fill-drain", fill_drain), ("steady", steady), ("pop_due", pop_due)):
        rates = [best_rate(work, cls, whens, args.size, args.repeat) for _, cls in heaps]
        ratio = f"{rates[1] / rates[0]:>15.2f}x" if len(rates) == 2 else ""
        print(f"{label:<12}" + "".join(f"{r:>14,.0f}" for r in rates) + ratio)


if __name__ == "__main__":
    main()
