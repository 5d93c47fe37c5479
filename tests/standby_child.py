"""A node of the standby test: follows the journal in Redis, and when the
lease is free takes over and drives the crash test's scripted switch.

    python tests/standby_child.py FILES REDIS_PORT SEED OPS NODE TTL

``FILES`` holds the reference run (``ref.json``, written by
``crash_child.py ... reference``), the shared ``acked`` file and what the
nodes write: ``takeovers.log`` (one line per promotion: node, epoch, Unix
time, the step it resumed at, the entries it caught up) and
``entries-NODE.log`` (the number of each entry this node appended, and its
epoch: the test checks no entry was appended, and so acted on, twice).

Exit codes: those of crash_child.drive (0 done, 3, 4, 5, 6), and 7 when the
node was deposed (its append was fenced) or lost its lease.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acdcore.replication import Fenced, Standby
from acdcore.runtime import RuntimeFailed
from crash_child import build, drive, resume_point


async def main(files: Path, port: int, seed: int, ops: int, node: str, ttl: float) -> int:
    client = redis.Redis(port=port)
    acd, metrics = build()
    standby = Standby(client, acd, metrics=metrics, node=node)
    standby.load()
    print("following", flush=True)
    while True:
        if client.exists("acdcore:done"):
            return 0
        standby.poll(block_ms=20)
        primary = standby.promote(ttl=ttl, snapshot_every=150)
        if primary is not None:
            break
    point = resume_point(acd, files, "acked")
    if isinstance(point, int):
        return point
    start, mid = point
    with open(files / "takeovers.log", "a") as log:
        log.write(f"{node} {primary.epoch} {time.time():.6f} {start} {standby.applied}\n")
    entries = os.open(files / f"entries-{node}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def on_entry(event: object, actions: object) -> None:
        os.write(entries, f"{primary.next_seq - 1} {primary.epoch}\n".encode())

    keeper = asyncio.get_running_loop().create_task(primary.keep())
    try:
        code = await drive(
            acd, metrics, primary, files, seed, ops, "run", start, mid, "acked", on_entry
        )
    except RuntimeFailed as exc:
        if isinstance(exc.__cause__, Fenced):
            print(f"deposed: {exc.__cause__}", file=sys.stderr)
            return 7
        raise
    finally:
        keeper.cancel()
    if code == 0:
        client.set("acdcore:done", node)
    return code


if __name__ == "__main__":
    f, p, s, n, node, ttl = sys.argv[1:7]
    sys.exit(asyncio.run(main(Path(f), int(p), int(s), int(n), node, float(ttl))))
