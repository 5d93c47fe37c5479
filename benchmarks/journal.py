"""Journal benchmark: what writing a journal costs the dispatch benchmark.

Run from the repository root::

    PYTHONPATH=src python benchmarks/journal.py                       # small and large
    PYTHONPATH=src python benchmarks/journal.py --scenario small --scenario large --events 100000
    PYTHONPATH=src python benchmarks/journal.py --scenario large --backend both --repeat 5
    PYTHONPATH=src python benchmarks/journal.py --scenario small --dir /var/tmp --fsync-events 500

It reuses ``dispatch.py``'s scenarios, world building and driver (imported, not copied):
for each scenario, one untimed pass of the dispatch driver (warm-up, then ``--events``
API calls) records every ``Distributor.advance`` and ``Distributor.handle`` call it makes,
in order, with the distributor's actions. That recorded trace is then fed, in this one
process, to a fresh distributor for each variant:

- ``no journal``: the bare API calls;
- ``flush="flush"``, ``flush=100``, ``flush="fsync"``: a ``JournalWriter`` beside the
  distributor records each call with its actions the way a live runtime does
  (``actions = acd.advance(t); journal.advance(t, actions)`` before every event,
  ``actions = acd.handle(ev); journal.event(ev, actions)``, and every deadline advance);
- ``flush="flush", actions=False``: entries without their actions.

Each repeat builds a fresh distributor per variant and gives it the warm-up part of the
trace (untimed, not journaled), then opens each variant's journal on a new file (header
written and fsync-ed, untimed). The measured window is then fed in chunks of ``--chunk``
calls (default 1,000), each chunk to every variant in turn, the first variant rotating from
one chunk to the next, so machine noise hits all variants alike; each feed is timed alone with
``time.perf_counter_ns`` and a variant's time is the sum of its feeds. Closing the journal
(final flush and fsync) is not timed. ``flush="fsync"`` syncs every entry to disk, so it gets
only the first ``--fsync-events`` calls of the window, and its ratio is against the no-journal
run over those same calls. The table gives the **median** of the ``--repeat`` repeats and
their range.

- **events** = API calls fed (advance + handle), one journal entry each.
- **events/s** = events / the wall time of the feeding loop (API calls, journal writes, the
  loop itself). There is no driver work between calls here, so the no-journal figure is not the
  same measure as ``dispatch.py``'s events/s (the sum of each call timed alone).
- **vs no journal** = median events/s / the no-journal median over the same events.
- **bytes/event** = journal file size without its header / events.

Journal files go to a temporary directory under ``--dir`` (default: ``tempfile``'s, usually
/tmp); the output names it and its filesystem (on tmpfs ``fsync`` costs nothing). After the
timing, a ``flush="flush"`` journal written by the last repeat is read back with
``read_journal``; its entries must equal the recorded trace and actions, and ``replay`` of it
into a fresh distributor (given the same warm-up first) must show no divergence. Every full
run must also end in the same ``counts()`` as the recording pass.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import Any

from dispatch import GROUPS, SCENARIOS, Driver, Scenario, build, lead_time, markdown

DEFAULT_EVENTS = 100_000
DEFAULT_FSYNC_EVENTS = 2_000
DEFAULT_CHUNK = 1_000
NO_JOURNAL = "no journal"
FSYNC = 'flush="fsync"'
REPLAYED = 'flush="flush"'  # the variant whose journal is read back and replayed

# (label, JournalWriter keyword arguments; None: no journal)
VARIANTS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    (NO_JOURNAL, None),
    ('flush="flush"', {"flush": "flush"}),
    ("flush=100", {"flush": 100}),
    (FSYNC, {"flush": "fsync"}),
    ('flush="flush", actions=False', {"flush": "flush", "actions": False}),
)

Call = tuple[Any, float]  # (event, its now) for handle(event), (None, t) for advance(t)


class Recorder:
    """Stands in for the driver's distributor: passes every call on and records it."""

    def __init__(self, acd: Any) -> None:
        self._acd = acd
        self.next_deadline = acd.next_deadline
        self.calls: list[Call] = []
        self.actions: list[tuple[Any, ...]] | None = None  # a list: keep each call's actions

    def advance(self, now: float) -> list[Any]:
        actions = self._acd.advance(now)
        self.calls.append((None, now))
        if self.actions is not None:
            self.actions.append(tuple(actions))
        return actions

    def handle(self, event: Any) -> list[Any]:
        actions = self._acd.handle(event)  # a refused event raises: not recorded
        self.calls.append((event, event.now))
        if self.actions is not None:
            self.actions.append(tuple(actions))
        return actions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._acd, name)


@dataclass
class Trace:
    """One scenario's recorded API calls: the warm-up, then the measured window."""

    world: dict[str, Any]
    warm: list[Call]
    window: list[Call]
    actions: list[tuple[Any, ...]]  # the window's actions, as the driver's distributor returned
    counts: dict[str, int]  # counts() after the window
    record_s: float


def record(scen: Scenario, seed: int, mod: Any) -> Trace:
    """Run dispatch.py's driver once (untimed) and keep every call it made."""
    w0 = time.perf_counter()
    world = build(scen, seed, mod)
    drv = Driver(scen, seed, mod, world)
    rec = Recorder(drv.acd)
    drv.acd = rec  # Driver.run looks its distributor's methods up when it starts
    drv.start()
    drv.run(until=lead_time(scen) + scen.login_spread + scen.warmup)
    warm = rec.calls
    rec.calls = []
    rec.actions = []
    drv.run(ops=scen.events)
    return Trace(world, warm, rec.calls, rec.actions, rec.counts(), time.perf_counter() - w0)


def fresh(mod: Any, trace: Trace, seed: int, backend: str) -> Any:
    """A distributor built as dispatch.py's driver builds it, given the warm-up."""
    acd = mod.Distributor(trace.world["queues"], rng=random.Random(f"acd:{seed}"), backend=backend)
    feed(acd, trace.warm)
    return acd


def feed(acd: Any, calls: list[Call]) -> None:
    advance = acd.advance
    handle = acd.handle
    for event, now in calls:
        if event is None:
            advance(now)
        else:
            handle(event)


def feed_journal(acd: Any, journal: Any, calls: list[Call]) -> None:
    advance = acd.advance
    handle = acd.handle
    j_advance = journal.advance
    j_event = journal.event
    for event, now in calls:
        if event is None:
            j_advance(now, advance(now))
        else:
            j_event(event, handle(event))


@dataclass
class Cell:
    """The runs of one (backend, variant) of a scenario."""

    backend: str
    variant: str
    spec: dict[str, Any] | None  # JournalWriter keyword arguments; None: no journal
    events: int = 0
    head_events: int = 0  # the first --fsync-events of the window
    ns: list[int] = field(default_factory=list)  # per repeat: the whole timed feed
    head_ns: list[int] = field(default_factory=list)  # per repeat: the first fsync-events
    bytes: int = 0
    path: str | None = None  # the last repeat's journal, kept for the replay check


def chunked(window: list[Call], head: int, size: int) -> list[list[Call]]:
    """The window in chunks of ``size`` calls, with a chunk boundary after ``head`` calls."""
    out = [window[i : min(i + size, head)] for i in range(0, head, size)]
    out += [window[i : i + size] for i in range(head, len(window), size)]
    return out


def run_repeat(
    mod: Any,
    trace: Trace,
    seed: int,
    cells: list[Cell],
    chunks: list[list[Call]],
    head_chunks: int,
    prefix: str,
) -> None:
    """One repeat: a fresh, warmed-up distributor (and a new journal) per cell, then the
    window fed chunk by chunk, each chunk to every cell in turn (the first cell rotating
    from chunk to chunk), each feed timed alone."""
    live = []
    for i, cell in enumerate(cells):
        acd = fresh(mod, trace, seed, cell.backend)
        journal = None
        path = f"{prefix}-{i}.jsonl"
        header = 0
        if cell.spec is not None:
            journal = mod.journal.JournalWriter(path, **cell.spec)
            header = os.path.getsize(path)
        live.append((cell, acd, journal, path, header, [0, 0]))  # [ns, head ns]
    gc.collect()
    pc = time.perf_counter_ns
    n = len(live)
    for k, chunk in enumerate(chunks):
        for j in range(n):
            cell, acd, journal, _, _, spent = live[(k + j) % n]
            if cell.variant == FSYNC and k >= head_chunks:
                continue
            if journal is None:
                t0 = pc()
                feed(acd, chunk)
                dt = pc() - t0
            else:
                t0 = pc()
                feed_journal(acd, journal, chunk)
                dt = pc() - t0
            spent[0] += dt
            if k < head_chunks:
                spent[1] += dt
    head = sum(len(c) for c in chunks[:head_chunks])
    for cell, acd, journal, path, header, spent in live:
        cell.head_events = head
        cell.events = head if cell.variant == FSYNC else sum(len(c) for c in chunks)
        cell.ns.append(spent[0])
        cell.head_ns.append(spent[1])
        if cell.variant != FSYNC and acd.counts() != trace.counts:
            raise SystemExit(
                f"{cell.backend}/{cell.variant}: counts {acd.counts()} after the window, the "
                f"recording pass had {trace.counts}: the distributor did not decide the same"
            )
        if journal is not None:
            journal.close()
            cell.bytes = os.path.getsize(path) - header
            if cell.path is not None:
                os.remove(cell.path)
            cell.path = path


def rates(cell: Cell, head: bool = False) -> list[float]:
    if head:
        return [cell.head_events / ns * 1e9 for ns in cell.head_ns]
    return [cell.events / ns * 1e9 for ns in cell.ns]


def check_replay(mod: Any, trace: Trace, seed: int, cell: Cell, backend: str) -> str:
    """Read the cell's journal back and replay it; raise on any difference."""
    jr = mod.journal
    assert cell.path is not None
    read = jr.read_journal(cell.path, strict=True)
    if read.torn or read.skipped or read.warnings:
        raise SystemExit(f"{cell.path}: torn {read.torn}, skipped {read.skipped}, {read.warnings}")
    entries = read.entries
    if len(entries) != len(trace.window):
        raise SystemExit(f"journal has {len(entries)} entries, the window {len(trace.window)}")
    for entry, (event, now), actions in zip(entries, trace.window, trace.actions, strict=True):
        same = entry.advance == now if event is None else entry.event == event
        if not same or entry.actions != actions:
            raise SystemExit(f"journal entry {entry.seq} differs from the recorded call")
    acd = fresh(mod, trace, seed, backend)
    report = jr.replay(entries, acd)
    if report.divergence is not None or report.refused:  # not assert: must survive -O
        raise SystemExit(f"replay diverged: {report.divergence}; refused {report.refused[:3]}")
    where = (
        f"written on {cell.backend}, replayed on {backend}"
        if backend != cell.backend
        else f"{backend}"
    )
    return (
        f"replay: {report.entries:,} entries, no divergence ({cell.variant} journal of the "
        f"last repeat, {where}, after the same warm-up; {report.actions:,} actions, equal "
        f"to those recorded)"
    )


def filesystem(path: str) -> str:
    """The filesystem type, device and mount point that hold ``path`` (Linux)."""
    real = os.path.realpath(path)
    best = ("", "", "")
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                dev, mnt, fstype = line.split()[:3]
                mnt = mnt.replace("\\040", " ")
                inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
                if inside and len(mnt) >= len(best[0]):
                    best = (mnt, fstype, dev)
    except OSError:
        return "filesystem unknown"
    if not best[0]:
        return "filesystem unknown"
    return f"{best[1]} on {best[2]}, mounted at {best[0]}"


def scenario_table(cells: list[Cell], fsync_events: int) -> str:
    base = {c.backend: c for c in cells if c.variant == NO_JOURNAL}
    lines = []
    for c in cells:
        rs = rates(c)
        med = statistics.median(rs)
        ref = base[c.backend]
        ref_med = statistics.median(rates(ref, head=c.variant == FSYNC))
        lines.append(
            [
                c.backend,
                c.variant,
                f"{c.events:,}",
                f"{med:,.0f}",
                f"{min(rs):,.0f}-{max(rs):,.0f}",
                f"{med / ref_med:.3f}x" + (f" ({fsync_events:,} ev)" if c.variant == FSYNC else ""),
                f"{c.bytes / c.events:.1f}" if c.variant != NO_JOURNAL else "-",
            ]
        )
    heads = ["backend", "variant", "events", "events/s", "range", "vs no journal", "bytes/event"]
    return markdown(heads, lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, *GROUPS],
        help="scenario or group of dispatch.py to run (repeatable; default: small, large)",
    )
    p.add_argument(
        "--events",
        type=int,
        default=DEFAULT_EVENTS,
        help=f"measured events (advance + handle calls; default {DEFAULT_EVENTS:,})",
    )
    p.add_argument(
        "--fsync-events",
        type=int,
        default=DEFAULT_FSYNC_EVENTS,
        help=f'events of the flush="fsync" runs (default {DEFAULT_FSYNC_EVENTS:,})',
    )
    p.add_argument(
        "--backend",
        choices=["python", "native", "both"],
        help="backend to measure (default: the default backend, acdcore.BACKEND)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs of each variant (default 3)")
    p.add_argument(
        "--chunk",
        type=int,
        default=DEFAULT_CHUNK,
        help=f"calls fed to one variant before the next one's turn (default {DEFAULT_CHUNK:,})",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=float, help="simulated seconds of warm-up traffic")
    p.add_argument("--dir", help="directory for the journal files (default: tempfile's)")
    args = p.parse_args(argv)
    if min(args.repeat, args.events, args.fsync_events, args.chunk) < 1:
        p.error("--repeat, --events, --fsync-events and --chunk must be >= 1")

    import acdcore
    import acdcore.journal

    both = args.backend == "both"
    backends = ["python", "native"] if both else [args.backend or acdcore.BACKEND]
    if "native" in backends and not acdcore.native_available():
        if args.backend == "native":
            raise SystemExit("backend native: the extension is not built in this checkout")
        backends.remove("native")
        print("native backend not built: measuring python only", file=sys.stderr)

    names: list[str] = []
    for item in args.scenario or ["small", "large"]:
        for name in GROUPS.get(item, (item,)):
            if name not in names:
                names.append(name)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="acd-journal-bench-", dir=args.dir) as tmp:
        print(
            f"Python {sys.version.split()[0]}, acdcore from {acdcore.__file__}\n"
            f"backend: {', '.join(backends)} (default backend {acdcore.BACKEND})\n"
            f"journal directory: {tmp} ({filesystem(tmp)})\n"
            f"seed {args.seed}; {args.repeat} repeats, each feeding every variant the window in "
            f"chunks of {args.chunk:,} calls, round-robin; events/s = median of the repeats"
        )
        for name in names:
            scen = replace(SCENARIOS[name], events=args.events)
            if args.warmup is not None:
                scen = replace(scen, warmup=args.warmup)
            print(f"recording {name}...", file=sys.stderr, flush=True)
            trace = record(scen, args.seed, acdcore)
            n_head = min(args.fsync_events, len(trace.window))
            chunks = chunked(trace.window, n_head, args.chunk)
            head_chunks = -(-n_head // args.chunk)
            cells = [Cell(b, label, spec) for b in backends for label, spec in VARIANTS]
            w0 = time.perf_counter()
            for r in range(args.repeat):
                print(f"  {name}: repeat {r + 1}/{args.repeat}", file=sys.stderr, flush=True)
                prefix = os.path.join(tmp, f"{name}-r{r}")
                run_repeat(acdcore, trace, args.seed, cells, chunks, head_chunks, prefix)
            timed_s = time.perf_counter() - w0
            handles = sum(1 for ev, _ in trace.window if ev is not None)
            print(
                f"\n{name}: {scen.agents:,} agents, {scen.queues} queues; warm-up "
                f"{len(trace.warm):,} calls (fed untimed to every fresh distributor), window "
                f"{len(trace.window):,} calls ({handles:,} handle, "
                f"{len(trace.window) - handles:,} advance); recording pass "
                f"{trace.record_s:.1f} s; {args.repeat} repeats x {len(cells)} variants (warm-ups "
                f"included) {timed_s:.1f} s wall"
            )
            print(scenario_table(cells, n_head))
            replayed = [c for c in cells if c.variant == REPLAYED]
            print(check_replay(acdcore, trace, args.seed, replayed[-1], backends[0]))
            for c in cells:
                if c.path is not None:
                    os.remove(c.path)
    print(
        f"\nevents/s = API calls fed / wall time of the feeding loop (calls + journal writes); "
        f'flush="fsync" runs only the first --fsync-events calls of the window and is compared '
        f"with no journal over the same calls; bytes/event = journal size without its header / "
        f"entries. {time.perf_counter() - started:.0f} s wall in all"
    )


if __name__ == "__main__":
    main()
