"""The process the crash test kills: a runtime with a data directory, driven
by a scripted switch.

    python tests/crash_child.py DIRECTORY SEED OPS reference|run

The switch's script is ``OPS`` steps; step ``i`` happens at clock ``i + 1``
(an injected clock: the run goes as fast as the machine allows) and submits
one event chosen from the distributor's state and a generator seeded by
``(SEED, i)``: arrivals (one caller in four a VIP), answers, declines, hang-ups
of waiting and ringing callers, ends of calls, agents pausing, resuming,
logging out and in. Ring timeouts, wrap-ups, no-answer delays, maximum waits,
announcements and callbacks come from the distributor's own deadlines.

After every journal entry the child computes a digest of the state and the
entry's actions.

- ``reference``: runs the whole script in a fresh directory and writes the
  digests (``ref.json`` beside the directory) and the final state.
- ``run``: recovers from the directory, finds the recovered state among the
  reference's digests (a state the uninterrupted run also had: no call lost,
  every call where it was), resumes the script there, checks every later
  entry against the reference (the same decisions), and at the end writes
  the final state. Exit codes: 0 done, 3 a refused event, 4 a recovered
  state the reference never had, 5 a later entry that differs, 6 a step the
  switch saw accepted (``acked`` beside the directory) is not in the
  recovered state.

Each start appends one line to ``recoveries.log``: the step it resumed at,
the snapshot it started from and the entries it replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    Announcements,
    CallAbandoned,
    CallArrived,
    CallbackPolicy,
    CallEnded,
    Distributor,
    Event,
    Metrics,
    NoAnswerPolicy,
    OfferAnswered,
    OfferDeclined,
    PriorityClasses,
    QueueConfig,
    RoutingPlan,
    snapshots,
)
from acdcore.runtime import Runtime
from acdcore.store import Store

AGENTS = [f"a{i}" for i in range(6)]
PLAN = {
    "default": {"queue": "general"},
    "queues": {
        "general": {"max_wait": 40, "on_max_wait": {"kind": "destination", "target": "voicemail"}}
    },
}


def build() -> tuple[Distributor, Metrics]:
    queues = [
        QueueConfig(
            "general",
            ring_timeout=4.0,
            wrap_up=2.0,
            no_answer=NoAnswerPolicy(delay=3.0),
        ),
        QueueConfig(
            "vip",
            policy=PriorityClasses(),
            ring_timeout=3.0,
            wrap_up=1.0,
            announce=Announcements(every=10.0, first=5.0),
            callback=CallbackPolicy(threshold=20.0, retries=1, retry_delay=5.0, dial_timeout=4.0),
        ),
    ]
    acd = Distributor(queues, rng=random.Random(7), plan=RoutingPlan.from_dict(PLAN))
    return acd, Metrics(acd.queues)


class Clock:
    """The injected clock: the script moves it."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Switch:
    """The scripted switch's side of the actions: it performs them all."""

    async def perform(self, action: Action) -> None:
        return None


def step_event(acd: Distributor, seed: int, i: int) -> Event:
    """The event of step ``i``: a function of the state and (seed, i) only."""
    rng = random.Random(seed * 1_000_003 + i)
    calls = acd.snapshot()["calls"]
    waiting = [c for c, v in calls.items() if v[0] == "waiting"]
    ringing = [(c, v[3]) for c, v in calls.items() if v[0] == "ringing" and v[3]]
    talking = [c for c, v in calls.items() if v[0] == "connected"]
    now = 0.0  # the runtime stamps its clock
    roll = rng.random()
    if roll < 0.30 and ringing:
        cid, offers = ringing[rng.randrange(len(ringing))]
        return OfferAnswered(now=now, call_id=cid, agent_id=offers[0])
    if roll < 0.36 and ringing:
        cid, offers = ringing[rng.randrange(len(ringing))]
        return OfferDeclined(now=now, call_id=cid, agent_id=offers[-1])
    if roll < 0.55 and talking:
        return CallEnded(now=now, call_id=talking[rng.randrange(len(talking))])
    if roll < 0.60 and (waiting or ringing):
        pool = waiting + [c for c, _ in ringing]
        return CallAbandoned(now=now, call_id=pool[rng.randrange(len(pool))])
    if roll < 0.66:
        aid = AGENTS[rng.randrange(len(AGENTS))]
        known = aid in acd.snapshot()["agents"]
        state = acd.agent(aid).state.value if known else "logged-out"
        if state == "logged-out":
            profile = AgentProfile(aid, queues=["general", "vip"])
            return AgentLoggedIn(now=now, profile=profile)
        if state == "paused":
            return AgentResumed(now=now, agent_id=aid)
        if state == "available":
            return (
                AgentPaused(now=now, agent_id=aid)
                if rng.random() < 0.7
                else AgentLoggedOut(now=now, agent_id=aid)
            )
    queue = "vip" if rng.random() < 0.25 else "general"
    return CallArrived(now=now, call_id=f"c{i}", queue=queue, priority=rng.randrange(2))


def _last_acknowledged(path: Path) -> int:
    """The last step the switch saw accepted (-1: none)."""
    if not path.exists():
        return -1
    lines = [x for x in path.read_text().splitlines() if x]
    return int(lines[-1]) if lines else -1


def digest(acd: Distributor, metrics: Metrics | None = None) -> str:
    """The state's digest: the distributor's (and the metrics', if given:
    its state grows with the run, so it is compared at the end only)."""
    text = snapshots.dumps(snapshots.save(acd, metrics=metrics))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def actions_digest(actions: list[Action]) -> str:
    return hashlib.sha256(repr(actions).encode()).hexdigest()[:24]


def resume_point(acd: Distributor, files: Path, acked: str) -> tuple[int, bool] | int:
    """Where the script resumes for the state ``acd`` is in (the step, and
    whether that step's advance is already done), or an exit code: 4 when
    the state is not one the uninterrupted run had, 6 when a step the
    switch saw accepted (the ``acked`` file) is missing from it."""
    ref = json.loads((files / "ref.json").read_text())
    where = {st: (op, phase) for op, entries in enumerate(ref["steps"]) for phase, st, _ in entries}
    where[ref["initial"]] = (-1, "event")
    found = where.get(digest(acd))
    if found is None:
        print("the recovered state is not one the uninterrupted run had", file=sys.stderr)
        return 4
    op, phase = found
    start = op + 1 if phase == "event" else op
    last = _last_acknowledged(files / acked)
    if start <= last:
        print(f"step {last} was acknowledged but recovery resumes at {start}", file=sys.stderr)
        return 6
    return start, phase == "advance"  # its advance is done: the repeat is empty


async def drive(
    acd: Distributor,
    metrics: Metrics,
    store: Any,
    files: Path,
    seed: int,
    ops: int,
    mode: str,
    start: int = 0,
    resumed_mid_step: bool = False,
    acked: str = "acked",
    on_entry: Any = None,
) -> int:
    """Run the script from step ``start`` with a runtime journaling into
    ``store`` (see the module docstring); ``files`` holds ref.json, the
    acked file and the final states. ``on_entry(event, actions)`` (optional)
    is called after each entry is checked. Returns the exit code."""
    ref: dict[str, Any] = json.loads((files / "ref.json").read_text()) if mode == "run" else {}
    steps: list[list[tuple[str, str, str]]] = [[] for _ in range(ops)]
    current = [start]
    bad: list[str] = []

    def observe(event: Event | None, actions: list[Action]) -> None:
        nonlocal resumed_mid_step
        phase = "advance" if event is None else "event"
        entry = (phase, digest(acd), actions_digest(actions))
        if mode == "reference":
            steps[current[0]].append(entry)
        elif resumed_mid_step and phase == "advance" and not actions:
            return
        elif not bad:
            resumed_mid_step = False
            expected = [e for e in ref["steps"][current[0]] if e[0] == phase]
            if list(entry) not in expected:
                bad.append(f"step {current[0]} {phase}: the state or actions differ")
        if on_entry is not None:
            on_entry(event, actions)

    initial = digest(acd)
    clock = Clock(max(acd.now, float(start)))
    acks = os.open(files / acked, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    print("ready", flush=True)
    async with Runtime(
        acd, Switch(), clock=clock, store=store, metrics=metrics, observe=observe
    ) as rt:
        for i in range(start, ops):
            current[0] = i
            clock.t = float(i + 1)
            await rt.poke()  # the deadlines due by now fire first: the script sees their outcome
            event = step_event(acd, seed, i)
            result = await rt.submit(event)
            if not result.accepted:
                print(f"step {i}: {event!r} refused: {result.error!r}", file=sys.stderr)
                return 3
            if bad:
                print(bad[0], file=sys.stderr)
                return 5
            os.write(acks, f"{i}\n".encode())  # the switch saw it accepted
    acd.check()
    final = snapshots.dumps(snapshots.save(acd, metrics=metrics))
    (files / f"final-{mode}.json").write_text(final)
    if mode == "reference":
        (files / "ref.json").write_text(json.dumps({"initial": initial, "steps": steps}))
    return 0


async def main(directory: Path, seed: int, ops: int, mode: str) -> int:
    acd, metrics = build()
    store = Store(directory, flush="flush", snapshot_every=150, snapshot_seconds=None)
    recovery = store.recover(acd, metrics)
    start, mid = 0, False
    if mode == "run":
        point = resume_point(acd, directory.parent, f"acked-{directory.name}")
        if isinstance(point, int):
            return point
        start, mid = point
    with open(directory.parent / "recoveries.log", "a") as log:
        log.write(f"{start} {recovery.snapshot} {recovery.replayed} {recovery.torn}\n")
    code = await drive(
        acd,
        metrics,
        store,
        directory.parent,
        seed,
        ops,
        mode,
        start,
        mid,
        f"acked-{directory.name}",
    )
    store.close()
    return code


if __name__ == "__main__":
    d, s, n, m = sys.argv[1:5]
    sys.exit(asyncio.run(main(Path(d), int(s), int(n), m)))
