"""The native core's per-agent class verdicts and bucket bookkeeping, against
the python backend, on shapes the random machines rarely reach: a queue with
more than 64 requirement classes (the verdicts beyond the first word), classes
that appear after an agent logged in, skills changed while calls wait, and
calls whose sort keys tie across classes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from acdcore import (
    AcdError,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentProfile,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    Offer,
    OfferAnswered,
    QueueConfig,
    SkillRequirement,
    native_available,
)

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")

QUEUES = ("q0", "q1", "q2")
SKILLS = [f"s{i}" for i in range(12)]


@pytest.fixture(params=["python"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests use both backends at once."""
    return str(request.param)


def _requirements(rng: random.Random, n: int) -> list[SkillRequirement]:
    """``n`` distinct requirements of one to three skills."""
    seen: dict[tuple[tuple[str, int], ...], SkillRequirement] = {}
    while len(seen) < n:
        picked = rng.sample(SKILLS, rng.randint(1, 3))
        req = SkillRequirement({s: rng.randint(1, 9) for s in picked})
        seen.setdefault(req.items(), req)
    return list(seen.values())


def _skills(rng: random.Random) -> dict[str, int]:
    return {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(3, 10))}


def _same(calls: list[Any]) -> list[Any]:
    """Run each backend's step; both must return the same actions or refuse
    alike (same error type and message)."""
    out = []
    for fn in calls:
        try:
            out.append(("ok", fn()))
        except AcdError as exc:
            out.append((type(exc).__name__, str(exc)))
    assert out[0] == out[1], out
    return out[0][1] if out[0][0] == "ok" else []


def _drive(seed: int, steps: int, same_time: bool) -> None:
    rng = random.Random(seed)
    reqs = _requirements(rng, 150)
    dists = [
        Distributor([QueueConfig(q) for q in QUEUES], rng=random.Random(seed), backend=b)
        for b in ("python", "native")
    ]
    agents: dict[str, bool] = {}  # logged in -> True
    offered: dict[str, str] = {}  # call -> agent
    waiting: list[str] = []
    now = 0.0
    calls = 0

    def track(actions: list[Any]) -> None:
        for act in actions:
            if type(act) is Offer:
                offered[act.call_id] = act.agent_id
                if act.call_id in waiting:
                    waiting.remove(act.call_id)
            elif type(act) is CancelOffer:
                offered.pop(act.call_id, None)

    def both(event: Any) -> None:
        track(_same([lambda d=d: d.advance(event.now) for d in dists]))
        track(_same([lambda d=d: d.handle(event) for d in dists]))

    for _ in range(steps):
        if not same_time:
            now += rng.random()
        r = rng.random()
        if r < 0.45:
            calls += 1
            # Requirements drawn from the first ones early, from all later:
            # classes keep appearing while agents are logged in.
            pool = reqs[: min(len(reqs), 20 + calls)]
            call_id = f"c{calls}"
            waiting.append(call_id)
            both(
                CallArrived(
                    now=now,
                    call_id=call_id,
                    queue=rng.choice(QUEUES),
                    requirement=rng.choice(pool),
                    priority=rng.choice((0, 0, 0, 1)),
                )
            )
        elif r < 0.6:
            name = f"a{rng.randrange(30)}"
            if agents.get(name):
                if rng.random() < 0.5:
                    both(AgentSkillsChanged(now=now, agent_id=name, skills=_skills(rng)))
                else:
                    busy = [c for c, a in offered.items() if a == name]
                    if not busy:
                        both(AgentLoggedOut(now=now, agent_id=name))
                        agents[name] = False
            else:
                queues = rng.sample(QUEUES, rng.randint(1, 3))
                profile = AgentProfile(name, skills=_skills(rng), queues=queues)
                both(AgentLoggedIn(now=now, profile=profile))
                agents[name] = True
        elif r < 0.85 and offered:
            call_id = rng.choice(sorted(offered))
            agent = offered.pop(call_id)
            both(OfferAnswered(now=now, call_id=call_id, agent_id=agent))
            both(CallEnded(now=now, call_id=call_id))
        elif waiting:
            call_id = rng.choice(waiting)
            both(CallAbandoned(now=now, call_id=call_id))
            waiting.remove(call_id)
        assert dists[0].snapshot() == dists[1].snapshot()


@pytest.mark.parametrize("seed", range(4))
def test_many_classes_match_the_reference(seed: int) -> None:
    _drive(seed, 1500, same_time=False)


@pytest.mark.parametrize("seed", range(2))
def test_tied_keys_across_classes_match_the_reference(seed: int) -> None:
    # Every event at one instant: FIFO keys (arrived, seq) differ only by seq.
    _drive(100 + seed, 800, same_time=True)
