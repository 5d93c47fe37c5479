"""Backlog benchmark: memory per waiting call, and the matching core against a backlog.

Run from the repository root::

    PYTHONPATH=src python benchmarks/match_core.py                   # about 1-2 min
    PYTHONPATH=src python benchmarks/match_core.py --calls 20000 --agents 2000 --reps 1

It uses the queues and agent profiles of ``dispatch.py``'s large scenario (100 queues,
200 skills, agents in 10-20 queues, calls needing 1-3 skills) and one stream of
``--calls`` arrivals drawn like that scenario's (queue weights, per-queue requirement
pool, priorities, emergencies, preferred agents, caller numbers), arriving as a Poisson
process at the large scenario's rate. No agent is logged in, so every call waits.

Each measurement runs in its own child process (the backend is fixed at import time and
RSS is per process):

- ``api-python`` and ``api-native``: fill the backlog through ``Distributor.handle``
  (``CallArrived``), reading the process's resident memory (``/proc/self/statm``, after
  ``gc.collect()``) before the first call and at each quarter of the backlog; then log the
  ``--agents`` agents in through the public API, one ``AgentLoggedIn`` each, in profile
  order, all at one instant 60 s after the last arrival (so every membership delay and
  preferred-agent reservation has run out). Each login is timed alone; every ``Offer``
  returned is one decision.
- ``api-native`` runs on the C engine (the large scenario's configuration is one it
  covers); its memory per waiting call is the engine's.
- ``core`` (native only, with the engine off: ``ACDCORE_ENGINE=0``): the same fill, then the agents are created in the C core without
  a Python call per decision: an ``AgentRecord`` per agent, ``NativeCore.profile`` and
  ``NativeCore.sync(avail=True)`` (they enter the free lists; no decision is made), and
  one timed call of ``acd_match_agents`` runs the whole matching loop in C: each agent, in
  order, takes the best eligible waiting calls until it is full. Its return value is the
  number of (agent, call) pairs made: the decisions.

Memory per waiting call = (RSS with the backlog - RSS before the first call) / calls:
everything the process holds for a waiting call (the call record, its id and attributes,
the policy-order index, the C core's slot and skip-list links, allocator overhead), as an
embedding application would see it. The call objects are built one at a time and dropped
after ``handle``; the requirement objects come from the scenario's shared pool (64 per
queue), as in ``dispatch.py``, so they are in the baseline.

The parent checks that the three runs made the same set of (agent, call) pairs.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dispatch  # the benchmark next to this one (sys.path above)

MODES = ("api-python", "api-native", "core")
BACKEND_OF = {"api-python": "python", "api-native": "native", "core": "native"}
CHECKPOINTS = 4  # RSS is read at each quarter of the backlog
LOGIN_AFTER = 60.0  # agents log in this long after the last arrival
TARGET_BYTES = 1024
TARGET_DECISIONS = 2_000_000


def rss_bytes() -> int:
    """The process's resident set size now (not the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def arrivals(world: dict[str, Any], n: int, rate: float, seed: int, acd: Any) -> Any:
    """``n`` CallArrived events drawn like ``dispatch.Driver.new_call``, built lazily."""
    rng = random.Random(f"backlog:{seed}")
    names, cum = world["queue_names"], world["queue_cum_weights"]
    reqs, members = world["requirements"], world["members"]
    t = 0.0
    for i in range(n):
        t += rng.expovariate(rate)
        q = rng.choices(names, cum_weights=cum)[0]
        r = rng.random()
        priority = 0 if r < 0.87 else (1 if r < 0.97 else 2)
        preferred = None
        if rng.random() < dispatch.P_PREFERRED and members[q]:
            preferred = rng.choice(members[q])
        yield acd.CallArrived(
            now=t,
            call_id=f"c{i}",
            queue=q,
            attributes={"caller": f"+1555{rng.randrange(dispatch.CALLERS):07d}"},
            requirement=rng.choice(reqs[q]),
            priority=priority,
            emergency=rng.random() < 0.005,
            preferred_agent=preferred,
        )


def fill(dist: Any, events: Any, n: int, nat: Any) -> dict[str, Any]:
    """Feed the backlog; RSS (and the C core's own count) at each checkpoint."""
    marks = {n * k // CHECKPOINTS for k in range(1, CHECKPOINTS + 1)}
    gc.collect()
    points = [(0, rss_bytes(), nat.memory() if nat is not None else 0)]
    handle, advance = dist.handle, dist.advance
    pc = time.perf_counter_ns
    api_ns = 0
    for done, ev in enumerate(events, 1):
        t0 = pc()
        advance(ev.now)
        handle(ev)
        api_ns += pc() - t0
        if done in marks:
            del ev
            gc.collect()
            points.append((done, rss_bytes(), nat.memory() if nat is not None else 0))
    waiting = dist.counts()["waiting"]
    if waiting != n:
        raise SystemExit(f"expected {n} waiting calls, the distributor has {waiting}")
    return {"points": points, "api_s": api_ns / 1e9, "waiting": waiting}


def run_child(mode: str, agents: int, calls: int, seed: int) -> dict[str, Any]:
    backend = BACKEND_OF[mode]
    acd = dispatch.load_backend(backend)
    scen = replace(dispatch.SCENARIOS["large"], agents=agents)
    world = dispatch.build(scen, seed, acd)
    profiles = world["profiles"]
    rate = dispatch.arrival_rate(dispatch.SCENARIOS["large"])
    dist = acd.Distributor(world["queues"], rng=random.Random(f"acd:{seed}"), backend=backend)
    nat = dist._nat
    filled = fill(dist, arrivals(world, calls, rate, seed, acd), calls, nat)
    now = dist.now + LOGIN_AFTER
    if dist.advance(now):
        raise SystemExit("a deadline fired before the logins: the backlog is not idle")
    pc = time.perf_counter_ns
    pairs: list[tuple[str, str]] = []
    out: dict[str, Any] = {"mode": mode, "backend": backend, "fill": filled}
    if mode == "core":
        from acdcore._state import AgentRecord

        ffi, lib = nat.ffi, nat.lib
        t0 = pc()
        recs = []
        for i, prof in enumerate(profiles):
            rec = AgentRecord(agent_id=prof.agent_id, order=i, profile=prof)
            rec.set_profile(prof)
            nat.profile(rec, list(prof.queues.items()))
            nat.sync(rec, avail=True, guarded=False)
            recs.append(rec)
        setup_ns = pc() - t0
        n = len(recs)
        cap = 8 * n  # at most ACD_NCH sessions an agent
        idx = ffi.new("int[]", [rec.slot for rec in recs])
        out_agent = ffi.new("int[]", cap)
        out_slot = ffi.new("int[]", cap)
        gc.disable()
        t0 = pc()
        made = lib.acd_match_agents(nat.core, n, idx, now, cap, out_agent, out_slot)
        match_ns = pc() - t0
        gc.enable()
        if made < 0:
            raise SystemExit(f"acd_match_agents returned error {made}")
        agent_of, call_of = nat._agents, nat._calls
        for i in range(made):
            pairs.append((agent_of[out_agent[i]].agent_id, call_of[out_slot[i]].call_id))
        out.update(decisions=made, time_s=match_ns / 1e9, setup_s=setup_ns / 1e9)
    else:
        Offer = acd.Offer
        handle = dist.handle
        samples = array.array("q")
        other = 0
        for prof in profiles:
            ev = acd.AgentLoggedIn(now=now, profile=prof)
            t0 = pc()
            acts = handle(ev)
            samples.append(pc() - t0)
            for act in acts:
                if type(act) is Offer:
                    pairs.append((act.agent_id, act.call_id))
                else:
                    other += 1
        s = sorted(samples)
        out.update(
            decisions=len(pairs),
            time_s=sum(s) / 1e9,
            login_p50_us=dispatch.percentile(s, 0.5),
            login_p99_us=dispatch.percentile(s, 0.99),
            other_actions=other,
        )
    if nat is not None:  # what the core holds (the core run bypasses the Python view)
        waiting_after = sum(nat.waiting(q) for q in world["queue_names"])
    else:
        waiting_after = dist.counts()["waiting"]
    out.update(
        agents=len(profiles),
        calls=calls,
        waiting_after=waiting_after,
        pairs=pairs,
        python=sys.version.split()[0],
        acdcore_file=acd.__file__,
    )
    return out


def trace_child(mode: str, calls: int, seed: int, top: int = 12) -> dict[str, Any]:
    """The Python allocations a waiting call leaves behind, by source line (tracemalloc)."""
    import linecache
    import tracemalloc

    backend = BACKEND_OF[mode]
    acd = dispatch.load_backend(backend)
    world = dispatch.build(dispatch.SCENARIOS["large"], seed, acd)
    rate = dispatch.arrival_rate(dispatch.SCENARIOS["large"])
    dist = acd.Distributor(world["queues"], rng=random.Random(f"acd:{seed}"), backend=backend)
    events = arrivals(world, calls, rate, seed, acd)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for ev in events:
        dist.advance(ev.now)
        dist.handle(ev)
    del ev
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    diffs = after.compare_to(before, "lineno")
    total = sum(d.size_diff for d in diffs)
    sites = []
    for d in diffs[:top]:
        frame = d.traceback[0]
        where = frame.filename.replace(os.sep, "/")
        where = "/".join(where.split("/")[-2:])
        code = linecache.getline(frame.filename, frame.lineno).strip()
        code = code if len(code) <= 60 else code[:57] + "..."
        sites.append((f"{where}:{frame.lineno}", code, d.size_diff / calls, d.count_diff / calls))
    return {"mode": mode, "backend": backend, "calls": calls, "total": total, "sites": sites}


def spawn(mode: str, args: argparse.Namespace) -> dict[str, Any] | None:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        mode,
        "--agents",
        str(args.agents),
        "--calls",
        str(args.calls),
        "--seed",
        str(args.seed),
    ]
    if args.where:
        cmd.append("--where")
    env = dict(os.environ, ACDCORE_BACKEND=BACKEND_OF[mode])
    if mode == "core":
        # The matching core alone: the one behind the Python handlers (the
        # engine owns a core of its own, which this mode cannot reach).
        env["ACDCORE_ENGINE"] = "0"
    w0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode == dispatch.UNAVAILABLE:
        sys.stderr.write(proc.stderr)
        return None
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{mode} failed with exit code {proc.returncode}")
    row: dict[str, Any] = json.loads(proc.stdout)
    row["wall_s"] = time.perf_counter() - w0
    return row


def memory_table(rows: list[dict[str, Any]]) -> str:
    heads = [
        "backend (run)",
        "calls waiting",
        "RSS before MiB",
        "RSS with backlog MiB",
        "bytes/call",
        "bytes/call, 2nd half",
        "of which C core (core mode)",
        "fill us/CallArrived",
        f"<= {TARGET_BYTES} B",
    ]
    lines = []
    for r in rows:
        pts = r["fill"]["points"]
        n0, rss0, c0 = pts[0]
        n1, rss1, c1 = pts[-1]
        nh, rssh, _ = pts[len(pts) // 2]
        per = (rss1 - rss0) / (n1 - n0)
        half = (rss1 - rssh) / (n1 - nh) if n1 > nh else float("nan")
        lines.append(
            [
                f"{r['backend']} ({r['mode']})",
                f"{n1:,}",
                f"{rss0 / 2**20:.1f}",
                f"{rss1 / 2**20:.1f}",
                f"{per:,.0f}",
                f"{half:,.0f}",
                f"{(c1 - c0) / (n1 - n0):,.0f}" if r["mode"] == "core" else "-",
                f"{r['fill']['api_s'] / n1 * 1e6:.1f}",
                "met" if per <= TARGET_BYTES else "MISSED",
            ]
        )
    return dispatch.markdown(heads, lines, left=1)


def match_table(groups: dict[str, list[dict[str, Any]]]) -> str:
    heads = [
        "run",
        "agents",
        "calls waiting",
        "decisions",
        "time ms (median)",
        "decisions/s",
        "us/decision",
        "login p50/p99 us",
        "vs api-python",
    ]
    base = None
    if groups.get("api-python"):
        base = statistics.median(r["decisions"] / r["time_s"] for r in groups["api-python"])
    lines = []
    for mode, rs in groups.items():
        t = statistics.median(r["time_s"] for r in rs)
        r = rs[0]
        rate = r["decisions"] / t
        lat = f"{r['login_p50_us']:.0f}/{r['login_p99_us']:.0f}" if "login_p50_us" in r else "-"
        lines.append(
            [
                mode if mode != "core" else "core (acd_match_agents)",
                f"{r['agents']:,}",
                f"{r['calls']:,}",
                f"{r['decisions']:,}",
                f"{t * 1e3:.1f}",
                f"{rate:,.0f}",
                f"{t / max(1, r['decisions']) * 1e6:.2f}",
                lat,
                f"{rate / base:.1f}x" if base else "-",
            ]
        )
    return dispatch.markdown(heads, lines, left=1)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=10_000, help="agents logged in at once")
    p.add_argument("--calls", type=int, default=100_000, help="calls waiting (the backlog)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--mode", action="append", choices=MODES, help="run only these (default: all three)"
    )
    p.add_argument("--reps", type=int, default=3, help="repetitions of the core run (median)")
    p.add_argument("--json", help="also write the raw results (without the pairs) here")
    p.add_argument(
        "--where",
        action="store_true",
        help="instead: where the Python heap of a waiting call goes, by source line "
        "(tracemalloc, api runs only; slow, use a smaller --calls)",
    )
    p.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        gc.collect()
        if args.where:
            json.dump(trace_child(args.worker, args.calls, args.seed), sys.stdout)
        else:
            json.dump(run_child(args.worker, args.agents, args.calls, args.seed), sys.stdout)
        return
    if args.where:
        for mode in [m for m in args.mode or MODES if m != "core"]:
            r = spawn(mode, args)
            if r is None:
                continue
            print(
                f"{r['backend']}: {r['total'] / r['calls']:,.0f} bytes of Python heap per waiting "
                f"call (tracemalloc, {r['calls']:,} calls), top sites:"
            )
            lines = [
                [site, f"`{code}`", f"{size:,.0f}", f"{count:.2f}"]
                for site, code, size, count in r["sites"]
            ]
            heads = ["allocated at", "line", "bytes/call", "blocks/call"]
            print(dispatch.markdown(heads, lines))
            print()
        return

    started = time.perf_counter()
    groups: dict[str, list[dict[str, Any]]] = {}
    for mode in args.mode or MODES:
        for rep in range(args.reps if mode == "core" else 1):
            print(f"running {mode} ({rep + 1})...", file=sys.stderr, flush=True)
            row = spawn(mode, args)
            if row is None:
                print(f"skipped {mode}: backend unavailable", file=sys.stderr)
                break
            groups.setdefault(mode, []).append(row)
    if not groups:
        raise SystemExit("nothing was measured")
    firsts = [rs[0] for rs in groups.values()]
    print(memory_table(firsts))
    print()
    print(match_table(groups))
    print()
    for mode, rs in groups.items():
        r = rs[0]
        extra = ""
        if mode == "core":
            times = ", ".join(f"{x['time_s'] * 1e3:.1f}" for x in rs)
            extra = (
                f"; match times {times} ms; setting up the agents in Python (AgentRecord, "
                f"profile, sync) took {r['setup_s']:.2f} s, not counted"
            )
        else:
            extra = f"; {r['other_actions']:,} actions other than Offer"
        print(
            f"{mode}: {r['decisions']:,} decisions, {r['waiting_after']:,} calls still waiting; "
            f"child wall {r['wall_s']:.0f} s{extra}"
        )
    sets = {mode: [frozenset(map(tuple, r["pairs"])) for r in rs] for mode, rs in groups.items()}
    ok = True
    for mode, ss in sets.items():
        if len(set(ss)) > 1:
            ok = False
            print(f"{mode}: repetitions made different pairs")
    ref_mode = next(iter(sets))
    ref = sets[ref_mode][0]
    for mode, ss in sets.items():
        if mode == ref_mode:
            continue
        same = ss[0] == ref
        ok = ok and same
        print(
            f"(agent, call) pairs of {mode} vs {ref_mode}: "
            + (
                f"identical ({len(ref):,} pairs)"
                if same
                else f"DIFFER: {len(ss[0] - ref):,} only in {mode}, {len(ref - ss[0]):,} only in "
                f"{ref_mode}, e.g. {sorted(ss[0] - ref)[:3]} vs {sorted(ref - ss[0])[:3]}"
            )
        )
    print("\ntargets (issue):")
    for r in firsts:
        pts = r["fill"]["points"]
        per = (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
        print(
            f"  {r['backend']} ({r['mode']}): <= {TARGET_BYTES} bytes of RSS per waiting call: "
            f"{per:,.0f} -> {'met' if per <= TARGET_BYTES else 'MISSED'}"
        )
    if groups.get("core"):
        rs = groups["core"]
        rate = rs[0]["decisions"] / statistics.median(x["time_s"] for x in rs)
        print(
            f"  matching core >= {TARGET_DECISIONS:,} decisions/s: {rate:,.0f} -> "
            f"{'met' if rate >= TARGET_DECISIONS else 'MISSED'}"
        )
    r = firsts[0]
    print(
        f"\nseed {args.seed}, Python {r['python']}, acdcore from {r['acdcore_file']}; "
        f"{time.perf_counter() - started:.0f} s wall in all"
    )
    if args.json:
        with open(args.json, "w") as fh:
            slim = {
                m: [{k: v for k, v in x.items() if k != "pairs"} for x in rs]
                for m, rs in groups.items()
            }
            json.dump(slim, fh, indent=1)
    if not ok:
        raise SystemExit("the runs made different (agent, call) pairs")


if __name__ == "__main__":
    main()
