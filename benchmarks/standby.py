"""Hot standby benchmark: what shipping the journal to Redis costs, and how far a
standby lags.

Run from the repository root (needs redis-server and redis-py)::

    PYTHONPATH=src python benchmarks/standby.py
    PYTHONPATH=src python benchmarks/standby.py --scenario large --events 100000 --repeat 3

It records ``dispatch.py``'s driver once per scenario (``journal.py``'s recording,
imported), starts a throw-away ``redis-server`` on a free loopback port, and feeds the
measured window, in chunks of ``--chunk`` calls interleaved across the variants (the first
rotating from chunk to chunk, each feed timed alone), to a fresh warmed-up distributor per
variant:

- ``no journal``: the bare API calls;
- ``file, flush="flush"``: a ``JournalWriter``, as a data directory's store writes;
- ``Redis primary``: an ``acdcore.replication.Primary`` holding the lease, one fenced
  ``XADD`` (a Lua call) per entry; a standby process follows the stream meanwhile
  (``XREAD BLOCK``) and reports its **lag**: for each entry, the time from Redis assigning
  the entry's id (the append) to the standby having applied it.

Ratios are of events/s to the no-journal run over the same calls, median of ``--repeat``.
After the run the standby's final state must equal the primary's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from typing import Any

from dispatch import SCENARIOS
from journal import chunked, feed, feed_journal, fresh, record

import acdcore
from acdcore.journal import JournalWriter
from acdcore.replication import Standby

FOLLOWER = r"""
import json, sys, time, redis
from acdcore import Distributor, QueueConfig, snapshots
from acdcore.replication import Standby
from dataclasses import replace
port, out, name, events, seed, backend = sys.argv[1:7]
port, events, seed = int(port), int(events), int(seed)
from dispatch import SCENARIOS
from journal import fresh, record
import acdcore
# The same recording as the primary's (the driver is deterministic).
trace = record(replace(SCENARIOS[name], events=events), seed, acdcore)
acd = fresh(acdcore, trace, seed, backend)
client = redis.Redis(port=port)
sb = Standby(client, acd, node="follower")
sb.next_seq = int(client.get("bench:start"))
lags = []
print("ready", flush=True)
while not client.exists("bench:stop") or sb.next_seq < int(client.get("bench:stop")):
    for _stream, entries in client.xread({"acdcore:journal": sb.last_id}, count=1000, block=50) or []:
        for sid, fields in entries:
            sb._apply(sid.decode(), fields)
            lags.append(time.time() - int(sid.decode().split("-")[0]) / 1000)
state = snapshots.dumps(snapshots.save(acd))
json.dump({"lags": lags, "state": state}, open(out, "w"))
"""


HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    import redis

    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--scenario", default="small", choices=sorted(SCENARIOS))
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", default="native")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed")
    scen = SCENARIOS[args.scenario]
    scen = replace(scen, events=args.events)
    trace = record(scen, args.seed, acdcore)
    port = free_port()
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.02)
    results: dict[str, list[float]] = {
        "no journal": [],
        'file, flush="flush"': [],
        "Redis primary": [],
    }
    lags: list[float] = []
    try:
        for rep in range(args.repeat):
            client.flushall()
            bare = fresh(acdcore, trace, args.seed, args.backend)
            filed = fresh(acdcore, trace, args.seed, args.backend)
            journal = JournalWriter(os.path.join(tmp, f"j{rep}.jsonl"), flush="flush")
            shipped = fresh(acdcore, trace, args.seed, args.backend)
            node = Standby(client, fresh(acdcore, trace, args.seed, args.backend), node="bench")
            primary = node.promote(ttl=3600)
            assert primary is not None
            client.set("bench:start", primary.next_seq)
            out = os.path.join(tmp, f"follow{rep}.json")
            follower = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    FOLLOWER,
                    str(port),
                    out,
                    args.scenario,
                    str(args.events),
                    str(args.seed),
                    args.backend,
                ],
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([SRC, HERE])},
            )
            assert follower.stdout is not None
            follower.stdout.readline()  # ready
            cells: list[tuple[str, Any, Any]] = [
                ("no journal", bare, None),
                ('file, flush="flush"', filed, journal),
                ("Redis primary", shipped, primary),
            ]
            spent = dict.fromkeys(results, 0)
            chunks = chunked(trace.window, 0, args.chunk)
            gc.collect()
            pc = time.perf_counter_ns
            for k, chunk in enumerate(chunks):
                for j in range(len(cells)):
                    label, acd, sink = cells[(k + j) % len(cells)]
                    t0 = pc()
                    if sink is None:
                        feed(acd, chunk)
                    else:
                        feed_journal(acd, sink, chunk)
                    spent[label] += pc() - t0
            journal.close()
            client.set("bench:stop", primary.next_seq)
            follower.wait(timeout=600)
            with open(out) as f:
                followed = json.load(f)
            if followed["state"] != acdcore.snapshots.dumps(acdcore.snapshots.save(shipped)):
                raise SystemExit("the standby's state differs from the primary's")
            lags += followed["lags"]
            n = len(trace.window)
            for label in results:
                results[label].append(n / (spent[label] / 1e9))
    finally:
        proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    base = statistics.median(results["no journal"])
    print(
        f"scenario {args.scenario}, backend {args.backend}, {len(trace.window)} events, "
        f"median of {args.repeat}"
    )
    print("| variant | events/s | vs no journal |")
    print("|---|--:|--:|")
    for label, rs in results.items():
        med = statistics.median(rs)
        print(f"| {label} | {med:,.0f} | {med / base:.3f}x |")
    lags.sort()
    q = statistics.quantiles(lags, n=100)
    print(
        f"standby lag over {len(lags)} entries: p50 {q[49] * 1000:.2f} ms, "
        f"p99 {q[98] * 1000:.2f} ms, max {lags[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
