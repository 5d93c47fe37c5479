"""Load test of ``acdcore serve`` on loopback: events/s, latency, nothing lost or doubled.

Starts ``acdcore serve`` in a subprocess on a free loopback port over a
temporary data directory (flush = "flush": every entry is handed to the OS
before the reply), then runs at once:

- ``--clients`` submitters (asyncio, one ``httpx2.AsyncClient`` each), each
  sending up to ``--events`` events over its own call ids: arrivals in
  ``support`` or ``sales`` and abandons of its calls still waiting (no agent
  is logged in, so every event is valid);
- ``--subscribers`` WebSocket subscribers on ``/stream`` (a third each on
  ``queue=support``, ``queue=sales`` and no filter), recording every entry.

The load stops after ``--events`` per client or ``--seconds``. The service
is then stopped cleanly and its journal read back with
:func:`acdcore.journal.read_journal`: the multiset of events the clients were
told ``accepted`` must equal the events in the journal (none lost, none
twice, each at the ``seq`` its reply gave), and each subscriber must have
seen every entry its filter lets through from its first ``next_seq`` on, in
order, with no gap. Prints a table; exits 1 if a check fails.

    PYTHONPATH=src python benchmarks/service_load.py --clients 20 --subscribers 20
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.service_load_client import (
    QUEUES,
    ClientLog,
    Server,
    Subscriber,
    check_journal,
    check_subscriber,
    expected_seqs,
    journal_entries,
    percentile,
    submitter,
    wait_for,
    write_config,
)


async def run(args: argparse.Namespace, root: Path) -> int:
    import httpx2

    config = write_config(root)
    server = Server(config)
    try:
        health = await asyncio.to_thread(server.wait_ready, 30.0)
        print(f"serving on {server.base} (next_seq {health['next_seq']}), data in {root}")
        stop_subs = asyncio.Event()
        filters = [(None, *QUEUES)[i % 3] for i in range(args.subscribers)]
        subs = [Subscriber(server.ws, queue=q) for q in filters]
        sub_tasks = [asyncio.create_task(s.run(stop_subs)) for s in subs]
        for s in subs:
            await asyncio.wait_for(s.hello.wait(), 10)

        logs = [ClientLog(i) for i in range(args.clients)]
        limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
        clients = [
            httpx2.AsyncClient(base_url=server.base, timeout=30.0, limits=limits)
            for _ in range(args.clients)
        ]
        begun = time.perf_counter()
        deadline = time.monotonic() + args.seconds
        try:
            await asyncio.gather(
                *(
                    submitter(c, i, logs[i], events=args.events, deadline=deadline, seed=args.seed)
                    for i, c in enumerate(clients)
                )
            )
        finally:
            elapsed = time.perf_counter() - begun
            for c in clients:
                await c.aclose()

        # Every subscriber must reach the last entry that concerns it.
        entries = journal_entries(config.parent / "data")
        lasts = {}
        for s in subs:
            assert s.start is not None
            want = expected_seqs(entries, s.queue, s.start)
            lasts[id(s)] = want[-1] if want else None
        caught_up = await wait_for(
            lambda: all(lasts[id(s)] is None or (s.last or -1) >= lasts[id(s)] for s in subs),
            timeout=60.0,
        )
        drained = time.perf_counter() - begun
        stop_subs.set()
        await asyncio.gather(*sub_tasks)
    finally:
        status = await asyncio.to_thread(server.stop)
    print(f"service stopped cleanly: exit status {status}")

    entries = journal_entries(config.parent / "data")
    failures: list[str] = []
    try:
        jc = check_journal(entries, logs)
    except AssertionError as exc:
        failures.append(f"journal: {exc}")
        jc = None
    checked = 0
    for s in subs:
        assert s.start is not None
        try:
            checked += check_subscriber(s, entries, s.start)
        except AssertionError as exc:
            failures.append(str(exc))
    if not caught_up:
        failures.append("some subscriber did not catch up within 60 s")

    sent = [x for log in logs for x in log.sent]
    accepted = [x for x in sent if x.outcome == "accepted"]
    lat = [x.latency * 1000 for x in accepted if x.latency is not None]
    rate = len(accepted) / elapsed if elapsed else 0.0
    rows = [
        ("clients / subscribers", f"{args.clients} / {args.subscribers}"),
        ("events sent", f"{len(sent)}"),
        (
            "accepted / refused / no reply",
            f"{len(accepted)} / "
            f"{sum(x.outcome == 'refused' for x in sent)} / "
            f"{sum(x.outcome == 'unknown' for x in sent)}",
        ),
        ("load phase", f"{elapsed:.2f} s"),
        ("accepted events/s", f"{rate:,.0f}"),
        ("POST /events latency p50", f"{percentile(lat, 50):.2f} ms"),
        ("POST /events latency p90", f"{percentile(lat, 90):.2f} ms"),
        ("POST /events latency p99", f"{percentile(lat, 99):.2f} ms"),
        ("POST /events latency max", f"{max(lat, default=float('nan')):.2f} ms"),
        (
            "journal entries (events)",
            f"{len(entries)} ({sum(e.event is not None for e in entries)})",
        ),
        ("journal = accepted (multiset)", "yes" if jc and jc.in_journal == jc.accepted else "NO"),
        (
            "subscriber entries checked",
            f"{checked:,} (all {sum(s.queue is None for s in subs)}, "
            f"by queue {sum(s.queue is not None for s in subs)})",
        ),
        ("subscriber resumes (TooSlow)", f"{sum(s.resumed for s in subs)}"),
        ("all subscribers caught up after", f"{drained:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if failures:
        print("\nFAILED:")
        for f in failures:
            print(" -", f)
        return 1
    print("\nOK: no event lost or applied twice; every subscriber saw every entry, in order")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20, help="concurrent submitters (20)")
    ap.add_argument("--subscribers", type=int, default=20, help="WebSocket subscribers (20)")
    ap.add_argument("--events", type=int, default=500, help="events per client at most (500)")
    ap.add_argument("--seconds", type=float, default=60.0, help="the load's time limit (60)")
    ap.add_argument("--seed", type=int, default=0, help="the clients' scripts' seed (0)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args(argv)
    if args.keep:
        return asyncio.run(run(args, Path(tempfile.mkdtemp(prefix="acd-load-"))))
    with tempfile.TemporaryDirectory(prefix="acd-load-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
