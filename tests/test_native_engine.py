"""The C engine (acd_engine.h, through acdcore._native.engine.NativeEngine)
against its specification, the Python distributor's handlers: hand-written
scenarios and seeded random walks drive a ``Distributor(backend="python")``
and the engine with the same events and require the same actions in the
same order, the same next deadline and the same generator state after every
step; and refusals return the engine's code and change nothing."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acdcore import AcdError, native_available, snapshots
from acdcore.actions import CancelOffer, Offer, PauseAgent, Queued, Reject
from acdcore.config import AgentProfile, NoAnswerPolicy, QueueConfig, QueueMembership, Strategy
from acdcore.distributor import Distributor
from acdcore.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallEnded,
    OfferAnswered,
    OfferDeclined,
)
from acdcore.policies import CallFacts, PriorityClasses
from acdcore.skills import Channel, SkillRequirement

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")

if native_available():
    from acdcore._native.core import CHANNELS, STRATEGIES, NativeError
    from acdcore._native.engine import REASONS, EngineRefused, NativeEngine, profile_arrays


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests are about the C code."""
    return str(request.param)


Row = tuple[str, str, str | None, str | None, str | None, int, float, float]


class Twin:
    """A Python distributor and a C engine fed the same events.

    Identity as the façade will map it: queue index <-> QueueConfig name,
    agent index <-> agent id (numbered on first sight: a login or being
    named as a preferred agent), call sequence number <-> call id. Each
    step converts both sides' actions to rows ``(kind, reason, call, agent,
    queue, position, waited, ring_timeout)`` and requires them equal.
    """

    def __init__(self, queues: list[QueueConfig], seed: int = 7, start: float = 0.0) -> None:
        self.configs = queues
        self.py = Distributor(queues, rng=random.Random(seed), start=start, backend="python")
        self.eng = NativeEngine(len(queues), start, random.Random(seed))
        self.qidx = {q.name: i for i, q in enumerate(queues)}
        for i, q in enumerate(queues):
            self.eng.queue(
                i,
                STRATEGIES[q.strategy],
                q.ring_timeout,
                q.wrap_up,
                q.max_length,
                q.preferred_agent_wait,
                q.no_answer.delay,
                q.no_answer.auto_pause_after,
            )
        self.skills: dict[str, int] = {}
        self.aidx: dict[str, int] = {}
        self.anames: list[str] = []
        self.logged_once: set[str] = set()
        self.calls: dict[int, str] = {}
        self.steps = 0

    # ------------------------------------------------------------ mapping

    def skill(self, name: str) -> int:
        return self.skills.setdefault(name, len(self.skills))

    def agent_index(self, agent_id: str) -> int:
        if agent_id not in self.aidx:
            self.aidx[agent_id] = len(self.anames)
            self.anames.append(agent_id)
            self.eng.name_agent(self.aidx[agent_id])
        return self.aidx[agent_id]

    def rows_py(self, actions: list[Any]) -> list[Row]:
        out: list[Row] = []
        for a in actions:
            if isinstance(a, Offer):
                out.append(
                    ("offer", "", a.call_id, a.agent_id, a.queue, 0, a.waited, a.ring_timeout)
                )
            elif isinstance(a, Queued):
                out.append(("queued", a.reason, a.call_id, None, a.queue, a.position, 0.0, 0.0))
            elif isinstance(a, CancelOffer):
                out.append(("cancel", a.reason, a.call_id, a.agent_id, None, 0, 0.0, 0.0))
            elif isinstance(a, Reject):
                out.append(("reject", a.reason, a.call_id, None, a.queue, 0, 0.0, 0.0))
            elif isinstance(a, PauseAgent):
                out.append(("pause", a.reason, None, a.agent_id, None, 0, 0.0, 0.0))
            else:
                raise AssertionError(f"unexpected action {a!r}")
        return out

    def rows_eng(self, actions: list[tuple[Any, ...]]) -> list[Row]:
        out: list[Row] = []
        names = [q.name for q in self.configs]
        for kind, reason, call, agent, queue, n, x, y, _at in actions:
            cid = self.calls.get(call) if call >= 0 else None
            aid = self.anames[agent] if agent >= 0 else None
            qname = names[queue] if queue >= 0 else None
            if kind == 1:
                out.append(("offer", "", cid, aid, qname, 0, x, y))
            elif kind == 2:
                out.append(("queued", REASONS[reason], cid, None, qname, n, 0.0, 0.0))
            elif kind == 3:
                out.append(("cancel", REASONS[reason], cid, aid, None, 0, 0.0, 0.0))
            elif kind == 4:
                out.append(("reject", REASONS[reason], cid, None, qname, 0, 0.0, 0.0))
            elif kind == 5:
                assert qname is not None
                why = self.configs[queue].no_answer.pause_reason
                out.append(("pause", why, None, aid, None, 0, 0.0, 0.0))
            else:
                raise AssertionError(f"unexpected kind {kind}")
        return out

    def compare(self, py_actions: list[Any], eng_actions: list[tuple[Any, ...]]) -> list[Row]:
        self.steps += 1
        want = self.rows_py(py_actions)
        got = self.rows_eng(eng_actions)
        assert got == want, f"step {self.steps}:\n engine {got}\n python {want}"
        assert self.eng.next_deadline() == self.py.next_deadline()
        assert self.eng.now == self.py.now
        assert self.eng.rng_state() == self.py._rng.getstate()
        self.eng.check()
        self.py.check()
        for seq, cid in self.calls.items():
            view = self.eng.call(seq)
            if cid in self.py.live_calls():
                assert view is not None
                state = {1: "waiting", 2: "ringing", 3: "connected"}[view[0]]
                assert self.py.call(cid).state.value == state
            else:
                assert view is None
        return want

    # ------------------------------------------------------------- events

    def login(
        self,
        now: float,
        agent_id: str,
        skills: Mapping[str, int] | None = None,
        queues: Mapping[str, QueueMembership] | list[str] | None = None,
        capacity: Mapping[Channel, int] | None = None,
        exclusive: frozenset[Channel] | None = None,
    ) -> list[Row]:
        if queues is None:
            queues = [q.name for q in self.configs]
        kw: dict[str, Any] = {}
        if exclusive is not None:
            kw["exclusive"] = exclusive
        profile = AgentProfile(
            agent_id, skills=skills or {}, queues=queues, capacity=capacity, **kw
        )
        py = self.py.handle(AgentLoggedIn(now=now, profile=profile))
        idx = self.agent_index(agent_id)
        order = sum(1 for a in self.anames if a in self.logged_once)
        if agent_id in self.logged_once:
            order = self.py._agents[agent_id].order
        self.logged_once.add(agent_id)
        sk, cap, excl, mems = profile_arrays(profile, self.qidx, self.skill)
        eng = self.eng.login(now, idx, order, sk, cap, excl, mems)
        assert self.py._agents[agent_id].order == order
        return self.compare(py, eng)

    def arrive(
        self,
        now: float,
        call_id: str,
        queue: str,
        requirement: Mapping[str, int] | None = None,
        channel: Channel = Channel.VOICE,
        priority: int = 0,
        preferred: str | None = None,
    ) -> list[Row]:
        ev = CallArrived(
            now=now,
            call_id=call_id,
            queue=queue,
            channel=channel,
            requirement=requirement,
            priority=priority,
            preferred_agent=preferred,
        )
        seq = self.eng.next_seq
        config = self.configs[self.qidx[queue]]
        req = ev.requirement if ev.requirement is not None else config.requirement
        items = req.items()
        cls = self.eng.klass(
            [self.skill(n) for n, _ in items], [m for _, m in items], CHANNELS[channel]
        )
        facts = CallFacts(seq=seq, arrived=now, priority=priority, emergency=False, attributes={})
        key = config.policy.key(facts)
        pref = -1 if preferred is None else self.agent_index(preferred)
        self.calls[seq] = call_id
        py = self.py.handle(ev)
        got, eng = self.eng.arrive(now, self.qidx[queue], cls, key, pref)
        assert got == seq
        return self.compare(py, eng)

    def event(self, ev: Any, fn: str, *args: Any) -> list[Row]:
        py = self.py.handle(ev)
        eng = getattr(self.eng, fn)(ev.now, *args)
        return self.compare(py, eng)

    def seq(self, call_id: str) -> int:
        return next(s for s, c in self.calls.items() if c == call_id)

    def logout(self, now: float, a: str) -> list[Row]:
        return self.event(AgentLoggedOut(now=now, agent_id=a), "logout", self.aidx[a])

    def pause(self, now: float, a: str) -> list[Row]:
        return self.event(AgentPaused(now=now, agent_id=a), "pause", self.aidx[a])

    def resume(self, now: float, a: str) -> list[Row]:
        return self.event(AgentResumed(now=now, agent_id=a), "resume", self.aidx[a])

    def abandon(self, now: float, c: str) -> list[Row]:
        return self.event(CallAbandoned(now=now, call_id=c), "abandon", self.seq(c))

    def answer(self, now: float, c: str, a: str) -> list[Row]:
        ev = OfferAnswered(now=now, call_id=c, agent_id=a)
        return self.event(ev, "answer", self.seq(c), self.aidx[a])

    def decline(self, now: float, c: str, a: str) -> list[Row]:
        ev = OfferDeclined(now=now, call_id=c, agent_id=a)
        return self.event(ev, "decline", self.seq(c), self.aidx[a])

    def end(self, now: float, c: str) -> list[Row]:
        return self.event(CallEnded(now=now, call_id=c), "end", self.seq(c))

    def advance(self, now: float) -> list[Row]:
        return self.compare(self.py.advance(now), self.eng.advance(now))


def kinds(rows: list[Row]) -> list[tuple[str, str | None, str | None]]:
    return [(r[0], r[2], r[3]) for r in rows]


# ------------------------------------------------------------- scenarios


def test_offer_answer_wrap_up_and_the_next_call() -> None:
    t = Twin([QueueConfig("sales", wrap_up=10.0, ring_timeout=20.0)])
    assert t.login(0.0, "ann") == []
    rows = t.arrive(1.0, "c1", "sales")
    assert kinds(rows) == [("queued", "c1", None), ("offer", "c1", "ann")]
    t.answer(2.0, "c1", "ann")
    assert kinds(t.arrive(3.0, "c2", "sales")) == [("queued", "c2", None)]
    assert t.end(30.0, "c1") == []  # wrap-up until 40
    assert t.py.next_deadline() == 40.0
    assert kinds(t.advance(45.0)) == [("offer", "c2", "ann")]
    t.answer(45.0, "c2", "ann")
    t.end(46.0, "c2")
    t.advance(100.0)
    assert t.eng.counts() == (0, 2, 0, 0)


def test_ring_all_answered_elsewhere_and_ring_timeout() -> None:
    t = Twin([QueueConfig("help", strategy=Strategy.RING_ALL, ring_timeout=5.0)])
    for a in ("a", "b", "c"):
        t.login(0.0, a)
    rows = t.arrive(1.0, "c1", "help")
    assert [r[3] for r in rows if r[0] == "offer"] == ["a", "b", "c"]
    rows = t.answer(2.0, "c1", "b")
    assert [(r[1], r[3]) for r in rows] == [
        ("answered-elsewhere", "a"),
        ("answered-elsewhere", "c"),
    ]
    t.arrive(3.0, "c2", "help")
    t.decline(4.0, "c2", "a")  # still rings c
    rows = t.advance(8.0)  # rings out at 8: c misses, the call goes back
    assert ("cancel", "c2", "c") in kinds(rows)
    t.advance(20.0)
    t.end(21.0, "c1")
    t.advance(60.0)


def test_random_and_weighted_random_draws() -> None:
    queues = [
        QueueConfig("r", strategy=Strategy.RANDOM, ring_timeout=3.0),
        QueueConfig("w", strategy=Strategy.WEIGHTED_RANDOM, ring_timeout=3.0),
    ]
    t = Twin(queues, seed=11)
    for i in range(6):
        mems = {"r": QueueMembership(), "w": QueueMembership(weight=1 + 3 * i)}
        t.login(0.0, f"a{i}", queues=mems)
    now = 1.0
    for k in range(40):
        t.arrive(now, f"c{k}", "r" if k % 2 else "w")
        now += 0.5
        for seq, cid in list(t.calls.items()):
            view = t.eng.call(seq)
            if view is not None and view[0] == 2 and k % 3 == 0:
                t.answer(now, cid, t.anames[_ringing_agent(t, cid)])
            elif view is not None and view[0] == 3 and k % 2 == 0:
                t.end(now, cid)
        now += 0.5
        if t.py.next_deadline() is not None and t.py.next_deadline() <= now:  # type: ignore[operator]
            t.advance(now)


def _ringing_agent(t: Twin, call_id: str) -> int:
    return t.aidx[t.py._calls[call_id].offers[0]]


def test_round_robin_and_linear_with_several_agents_free() -> None:
    queues = [
        QueueConfig("rr", strategy=Strategy.ROUND_ROBIN),
        QueueConfig("lin", strategy=Strategy.LINEAR),
    ]
    t = Twin(queues)
    for i in range(4):
        mems = {"rr": QueueMembership(), "lin": QueueMembership(position=(7 * i) % 4)}
        t.login(0.0, f"a{i}", queues=mems)
    taken = []
    for k in range(10):
        rows = t.arrive(1.0 + k, f"c{k}", "rr" if k < 6 else "lin")
        who = next(r[3] for r in rows if r[0] == "offer")
        taken.append(who)
        t.answer(1.0 + k, f"c{k}", str(who))
        t.end(1.5 + k, f"c{k}")
    assert taken[:6] == ["a0", "a1", "a2", "a3", "a0", "a1"]


def test_no_answer_delay_and_auto_pause() -> None:
    policy = NoAnswerPolicy(delay=7.0, auto_pause_after=2, pause_reason="missed")
    t = Twin([QueueConfig("q", ring_timeout=4.0, no_answer=policy)])
    t.login(0.0, "a")
    t.login(0.0, "b")
    t.arrive(1.0, "c1", "q")  # a (longest idle, order 0)
    t.decline(2.0, "c1", "a")  # a held until 9; c1 to b
    t.advance(6.0)  # b misses at 6: c1 back, nobody free
    t.advance(9.0)  # a wakes: c1 to a
    rows = t.advance(13.0)  # a misses a second time: paused
    assert ("pause", None, "a") in kinds(rows)
    t.advance(20.0)
    t.resume(20.0, "a")
    t.advance(40.0)
    t.pause(41.0, "b")
    t.advance(42.0)
    t.resume(42.0, "b")
    t.advance(80.0)


def test_preferred_agent_reserved_then_released() -> None:
    t = Twin([QueueConfig("q", preferred_agent_wait=10.0, ring_timeout=30.0)])
    t.login(0.0, "a")
    t.login(0.0, "b")
    t.arrive(1.0, "c0", "q")  # to a
    t.answer(1.0, "c0", "a")
    rows = t.arrive(2.0, "c1", "q", preferred="a")  # a busy: held for a until 12
    assert kinds(rows) == [("queued", "c1", None)]
    assert t.py.next_deadline() == 12.0
    rows = t.advance(12.0)  # recheck: b takes it
    assert kinds(rows) == [("offer", "c1", "b")]
    t.arrive(13.0, "c2", "q", preferred="zed")  # never logged in: named, held
    t.login(14.0, "zed")  # takes the call reserved for it
    t.arrive(15.0, "c3", "q", preferred="a")
    t.end(16.0, "c0")  # a free: takes c3
    t.advance(100.0)


def test_queue_full_rejects_and_counts() -> None:
    t = Twin([QueueConfig("q", max_length=1)])
    t.arrive(0.0, "c1", "q")
    rows = t.arrive(1.0, "c2", "q")
    assert rows == [("reject", "queue-full", "c2", None, "q", 0, 0.0, 0.0)]
    t.login(2.0, "a")
    t.arrive(3.0, "c3", "q")
    assert t.eng.counts() == (2, 0, 0, 1)
    t.abandon(4.0, "c3")
    t.abandon(4.0, "c1")
    assert t.eng.counts() == (0, 0, 2, 1)


def test_logout_withdraws_ringing_offers_and_requeues() -> None:
    t = Twin(
        [
            QueueConfig("all", strategy=Strategy.RING_ALL, ring_timeout=30.0),
            QueueConfig("one", ring_timeout=30.0),
        ]
    )
    t.login(0.0, "a", queues=["all", "one"])
    t.login(0.0, "b", queues=["all"])
    t.arrive(1.0, "c1", "all")  # rings a and b
    rows = t.logout(2.0, "a")  # b still rings
    assert kinds(rows) == [("cancel", "c1", "a")]
    t.login(3.0, "a", queues=["one"], capacity={Channel.VOICE: 1})
    t.arrive(4.0, "c2", "one")
    rows = t.logout(5.0, "a")  # nobody left: c2 goes back
    assert kinds(rows) == [("cancel", "c2", "a"), ("queued", "c2", None)]
    t.advance(100.0)


def test_pending_logout_completes_when_the_last_call_ends() -> None:
    t = Twin([QueueConfig("q", wrap_up=5.0)])
    t.login(0.0, "a", capacity={Channel.VOICE: 1, Channel.CHAT: 2}, exclusive=frozenset())
    t.arrive(1.0, "c1", "q")
    t.arrive(1.0, "c2", "q", channel=Channel.CHAT)
    t.answer(2.0, "c1", "a")
    t.answer(2.0, "c2", "a")
    t.logout(3.0, "a")
    assert t.eng.agent(t.aidx["a"]) == (True, False, True, 2)
    t.end(4.0, "c1")
    assert t.eng.agent(t.aidx["a"]) == (True, False, True, 1)
    t.end(5.0, "c2")
    assert t.eng.agent(t.aidx["a"]) == (False, False, False, 0)
    t.arrive(6.0, "c3", "q")
    t.login(7.0, "a")
    t.advance(50.0)


def test_multi_channel_capacity_and_exclusive_voice() -> None:
    t = Twin([QueueConfig("q", ring_timeout=9.0, wrap_up=1.0)])
    t.login(
        0.0, "a", capacity={Channel.VOICE: 1, Channel.CHAT: 3}, exclusive=frozenset({Channel.VOICE})
    )
    t.login(0.0, "b", capacity={Channel.CHAT: 2}, exclusive=frozenset())
    for k in range(6):
        t.arrive(1.0 + k, f"m{k}", "q", channel=Channel.CHAT)
    t.arrive(8.0, "v1", "q")  # voice waits: a busy with chats
    t.advance(20.0)
    t.advance(40.0)


def test_an_agent_taking_more_than_64_calls_at_once() -> None:
    """route_agent's loop continues past the core's 64 calls per answer."""
    t = Twin([QueueConfig("q", ring_timeout=50.0)])
    for k in range(90):
        t.arrive(float(k // 10), f"m{k}", "q", channel=Channel.CHAT)
    rows = t.login(10.0, "bulk", capacity={Channel.CHAT: 100}, exclusive=frozenset())
    assert [r[2] for r in rows] == [f"m{k}" for k in range(90)]
    t.advance(100.0)


def test_the_action_buffer_is_read_where_it_is_after_it_grows() -> None:
    """The wrapper keeps a view of the engine's action buffer while steps
    leave no more actions than before (acd_engine_actions: it moves only to
    grow). Steps of 1, 9, 3, 20, 2, 45 and 130 actions, with the engine
    allocating calls between them, must each be read in full and in place."""
    t = Twin([QueueConfig("q", ring_timeout=500.0)])
    now = 0.0
    for batch, name in enumerate([1, 9, 3, 20, 2, 45, 130]):
        for k in range(name):
            now += 0.01
            t.arrive(now, f"b{batch}c{k}", "q", channel=Channel.CHAT)
        now += 0.01
        rows = t.login(now, f"a{batch}", capacity={Channel.CHAT: name}, exclusive=frozenset())
        assert [r[2] for r in rows] == [f"b{batch}c{k}" for k in range(name)]


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walk(strategy: Strategy, seed: int) -> None:
    """Seeded random valid events, every strategy, ties in time common."""
    rnd = random.Random(seed * 1000 + len(strategy.value))
    policy = NoAnswerPolicy(delay=rnd.choice([0.0, 2.0]), auto_pause_after=rnd.choice([None, 2]))
    queues = [
        QueueConfig(
            "q0",
            strategy=strategy,
            ring_timeout=3.0,
            wrap_up=rnd.choice([0.0, 2.0]),
            no_answer=policy,
            max_length=rnd.choice([None, 4]),
            preferred_agent_wait=2.0,
        ),
        QueueConfig(
            "q1",
            strategy=strategy,
            policy=PriorityClasses(),
            requirement=SkillRequirement({"fr": 2}),
            ring_timeout=2.0,
            preferred_agent_wait=0.0,
        ),
    ]
    t = Twin(queues, seed=seed)
    agents = [f"a{i}" for i in range(5)]
    now = 0.0
    ncalls = 0
    for _ in range(250):
        now += rnd.choice([0.0, 0.0, 0.5, 1.0, 2.5])
        due = t.py.next_deadline()
        if due is not None and due <= now:
            t.advance(now)
            continue
        pick = rnd.random()
        live = t.py.live_calls()
        if pick < 0.3:
            ncalls += 1
            q = rnd.choice(["q0", "q1"])
            pref = rnd.choice([None, None, rnd.choice([*agents, "ghost"])])
            ch = rnd.choice([Channel.VOICE, Channel.VOICE, Channel.CHAT])
            t.arrive(now, f"c{ncalls}", q, channel=ch, priority=rnd.randint(0, 2), preferred=pref)
        elif pick < 0.45:
            a = rnd.choice(agents)
            rec = t.py._agents.get(a)
            if rec is None or not rec.logged_in:
                mems = {
                    q: QueueMembership(
                        priority=rnd.randint(0, 1),
                        delay=rnd.choice([0.0, 0.0, 1.5]),
                        position=rnd.randint(0, 3),
                        weight=rnd.randint(1, 4),
                    )
                    for q in rnd.sample(["q0", "q1"], rnd.randint(1, 2))
                }
                cap = {Channel.VOICE: 1, Channel.CHAT: rnd.randint(0, 2)}
                excl = rnd.choice([frozenset(), frozenset({Channel.VOICE})])
                t.login(now, a, {"fr": rnd.randint(1, 3)}, mems, cap, excl)
            elif not rec.pending_logout:
                t.logout(now, a)
        elif pick < 0.52:
            a = rnd.choice(agents)
            rec = t.py._agents.get(a)
            if rec is not None and rec.logged_in:
                if rec.paused is None:
                    t.pause(now, a)
                else:
                    t.resume(now, a)
        elif live:
            cid = rnd.choice(live)
            call = t.py._calls[cid]
            state = call.state.value
            if state == "ringing":
                who = rnd.choice(list(call.offers))
                r = rnd.random()
                if r < 0.5:
                    t.answer(now, cid, who)
                elif r < 0.8:
                    t.decline(now, cid, who)
                else:
                    t.abandon(now, cid)
            elif state == "connected":
                t.end(now, cid)
            elif rnd.random() < 0.3:
                t.abandon(now, cid)
    t.advance(now + 100.0)


# -------------------------------------------------------------- refusals


def snapshot(eng: NativeEngine, seqs: range, agents: range) -> tuple[Any, ...]:
    return (
        eng.now,
        eng.next_seq,
        eng.next_deadline(),
        eng.counts(),
        eng.rng_state(),
        eng.last_actions(),
        [eng.call(s) for s in seqs],
        [eng.agent(a) for a in agents],
    )


def refused(code: int, fn: Any, *args: Any) -> None:
    with pytest.raises(EngineRefused) as info:
        fn(*args)
    assert info.value.code == code
    assert isinstance(info.value, NativeError)


def test_the_action_buffer_is_read_where_it_is_after_a_step_nobody_read() -> None:
    """A step can grow (move) the action buffer without anyone unpacking it
    (a caller going to C directly, as the façade's hot handlers do); the
    next step read through the wrapper must still be read where the buffer
    is now (the status block's acap), not through a view of the old one."""
    eng = NativeEngine(1, 0.0, random.Random(3))
    eng.queue(0, STRATEGIES[Strategy.LONGEST_IDLE], 500.0, 0.0, None, 0.0, 0.0, None)
    chat = CHANNELS[Channel.CHAT]
    cls = eng.klass([], [], chat)
    seq, acts = eng.arrive(0.1, 0, cls, (0.1, 0), -1)  # read: a view of the first buffer
    assert [a[:3] for a in acts] == [(2, 1, 0)]  # Queued, "arrived", call 0
    for k in range(1, 200):  # unread: one Queued each
        t = 0.1 + k / 1000
        assert eng.lib.acd_engine_arrive(eng.eng, t, 0, cls, (t, k, *[-math.inf] * 4), -1) == k
    cap = [0] * 8
    cap[chat] = 500
    prof = eng._profile("login", [], cap, 0, [(0, 0.0, 0.0, 0.0, 1)])
    assert eng.lib.acd_engine_login(eng.eng, 1.0, 0, 0, 0, *prof) == 0  # 200 offers, unread
    assert eng._status.nact == 200 and eng._status.acap >= 200
    seq, acts = eng.arrive(2.0, 0, cls, (2.0, 200), -1)  # read: two actions
    assert seq == 200
    assert [a[:4] for a in acts] == [(2, 1, 200, -1), (1, 0, 200, 0)]  # Queued, then its Offer
    assert eng.last_actions() == acts
    eng.check()


def test_refusals_return_their_code_and_change_nothing() -> None:
    eng = NativeEngine(2, 0.0, random.Random(3))
    for q in range(2):
        eng.queue(q, 8, 10.0, 0.0, 3, 5.0, 1.0, 2)
    cls = eng.klass([], [], 0)
    assert eng.klass([], [], 0) == cls
    assert eng.klass([0], [1], 0) != cls
    eng.login(0.0, 0, 0, [], [1, 0, 0, 0, 0, 0, 0, 0], 1, [(0, 0.0, 0.0, 0.0, 1)])
    eng.login(0.0, 1, 1, [], [1, 0, 0, 0, 0, 0, 0, 0], 1, [(0, 0.0, 0.0, 0.0, 1)])
    eng.name_agent(5)
    ringing, _ = eng.arrive(1.0, 0, cls, [1.0, 0], -1)
    assert eng.call(ringing) == (2, 0, -1, 2)
    waiting, _ = eng.arrive(1.0, 1, cls, [1.0, 1], -1)
    assert eng.call(waiting) == (1, 1, -1, 0)
    eng.check()
    seqs, agents = range(4), range(7)
    before = snapshot(eng, seqs, agents)
    cap = [1, 0, 0, 0, 0, 0, 0, 0]
    mem = [(0, 0.0, 0.0, 0.0, 1)]
    cases: list[tuple[int, str, tuple[Any, ...]]] = [
        (-3, "advance", (math.nan,)),
        (-3, "advance", (math.inf,)),
        (-16, "advance", (0.5,)),
        (-16, "pause", (0.5, 0)),
        (-15, "pause", (11.0, 0)),  # the ring timeout is due at 11
        (-3, "pause", (math.nan, 0)),
        (-2, "pause", (1.0, -1)),
        (-11, "pause", (1.0, 5)),  # named, never logged in
        (-11, "logout", (1.0, 6)),
        (-13, "resume", (1.0, 0)),  # not paused
        (-13, "login", (1.0, 0, 0, [], cap, 1, mem)),  # already logged in
        (-2, "login", (1.0, 2, 2, [], cap, 1, [(9, 0.0, 0.0, 0.0, 1)])),
        (-3, "login", (1.0, 2, 2, [], cap, 1, [(0, 0.0, 0.0, 0.0, 0)])),  # weight 0
        (-3, "login", (1.0, 2, 2, [], cap, 1, [(0, 0.0, -1.0, 0.0, 1)])),  # delay < 0
        (-3, "login", (1.0, 2, 2, [], cap, 1, mem + mem)),  # a queue twice
        (-3, "login", (1.0, 2, 2, [(0, 300)], cap, 1, mem)),  # level > 255
        (-2, "arrive", (1.0, 2, cls, [1.0], -1)),
        (-2, "arrive", (1.0, 0, 99, [1.0], -1)),
        (-3, "arrive", (1.0, 0, cls, [math.nan], -1)),
        (-3, "arrive", (1.0, 0, cls, [0.0] * 7, -1)),
        (-10, "abandon", (1.0, 99)),
        (-10, "answer", (1.0, 99, 0)),
        (-11, "answer", (1.0, ringing, 5)),
        (-14, "answer", (1.0, waiting, 0)),
        (-14, "decline", (1.0, waiting, 1)),
        (-12, "end", (1.0, ringing)),
        (-12, "end", (1.0, waiting)),
    ]
    for code, fn, args in cases:
        refused(code, getattr(eng, fn), *args)
        assert snapshot(eng, seqs, agents) == before, (code, fn, args)
        eng.check()
    # A connected call cannot be abandoned; a logging-out agent cannot log out.
    eng.answer(1.0, ringing, 1)
    eng.logout(2.0, 1)
    before = snapshot(eng, seqs, agents)
    refused(-12, eng.abandon, 2.0, ringing)
    refused(-13, eng.logout, 2.0, 1)
    refused(-13, eng.login, 2.0, 1, 1, [], cap, 1, mem)
    assert snapshot(eng, seqs, agents) == before
    eng.check()
    # The queue's own settings are checked too.
    refused(-3, eng.queue, 0, 0, 0.0, 0.0, None, 0.0, 0.0, None)
    refused(-2, eng.queue, 2, 0, 1.0, 0.0, None, 0.0, 0.0, None)
    refused(-3, eng.queue, 0, 99, 1.0, 0.0, None, 0.0, 0.0, None)
    refused(-2, eng.name_agent, -1)
    assert snapshot(eng, seqs, agents) == before


# ------------------------------------------------- named agents come and go


@settings(deadline=None, max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["arrive", "arrive", "arrive", "abandon", "answer", "end", "login"]),
            st.integers(0, 7),
        ),
        max_size=120,
    )
)
def test_preferred_agents_never_logged_in_do_not_grow_the_tables(
    steps: list[tuple[str, int]],
) -> None:
    """A call may name any preferred agent. The façade gives a name never
    logged in an index only while a live call names it (then it is spare
    for the next new name), so distinct names that come and go cannot grow
    its tables; the decisions are the Python handlers' all along. Found by
    reading: every name ever seen kept an index, and the engine an agent
    entry, for good."""
    configs = [QueueConfig("q", ring_timeout=5.0, preferred_agent_wait=10.0)]
    eng_d = Distributor(configs, backend="native", rng=random.Random(1))
    ref_d = Distributor(configs, backend="python", rng=random.Random(1))
    facade = eng_d._eng
    assert facade is not None
    live: list[str] = []
    ringing: dict[str, str] = {}
    connected: list[str] = []
    now = 0.0
    for i, (op, n) in enumerate(steps):
        now += 1.0
        assert eng_d.advance(now) == ref_d.advance(now)
        event: Any = None
        if op == "arrive":
            pref = f"named{i}" if n < 5 else f"a{n}"  # mostly a name seen once
            event = CallArrived(now=now, call_id=f"c{i}", queue="q", preferred_agent=pref)
        elif op == "login":
            event = AgentLoggedIn(
                now=now, profile=AgentProfile(f"a{n}", queues={"q": QueueMembership()})
            )
        elif op == "abandon" and live:
            event = CallAbandoned(now=now, call_id=live[n % len(live)])
        elif op == "answer" and ringing:
            cid = sorted(ringing)[n % len(ringing)]
            event = OfferAnswered(now=now, call_id=cid, agent_id=ringing[cid])
        elif op == "end" and connected:
            event = CallEnded(now=now, call_id=connected[n % len(connected)])
        if event is None:
            continue
        outcomes = []
        for d in (eng_d, ref_d):
            try:
                outcomes.append(("ok", d.handle(event)))
            except AcdError as exc:
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1], event
        live = list(ref_d.live_calls())
        ringing = {}
        connected = []
        for cid in live:
            view = ref_d.call(cid)
            if view.state.value == "ringing" and view.offered_to:
                ringing[cid] = view.offered_to[0]
            elif view.state.value == "connected":
                connected.append(cid)
        # Every index in use is an agent once logged in or a name a live
        # call holds, and the counts are the live calls'.
        held: dict[int, int] = {}
        for facts in facade.calls.values():
            if facts.preferred_agent is not None:
                idx = facade.aidx[facts.preferred_agent]
                if idx not in facade.agents:
                    held[idx] = held.get(idx, 0) + 1
        in_use = len(facade.ids) - len(getattr(facade, "spare", ()))
        assert in_use == len(facade.agents) + len(held), (in_use, held)
        assert facade.named == held
    assert snapshots.save(eng_d) == snapshots.save(ref_d)


def test_an_advance_with_nothing_due_moves_only_the_clock() -> None:
    """``advance(t)`` with no deadline due at or before ``t`` does not call
    into C (the benchmark's commonest call); every read after it still sees
    the clock at ``t``, as the Python handlers' do."""
    queues = [QueueConfig("q", ring_timeout=10.0, wrap_up=5.0, requirement={"x": 5})]
    py = Distributor(queues, backend="python", rng=random.Random(1))
    nat = Distributor(queues, backend="native", rng=random.Random(1))
    assert nat._eng is not None
    prof = AgentProfile("a", skills={"x": 1}, queues={"q": QueueMembership()})
    for d in (py, nat):
        d.handle(AgentLoggedIn(now=1.0, profile=prof))  # cannot take the call
        d.handle(CallArrived(now=2.0, call_id="c", queue="q"))
        assert d.next_deadline() is None
    eng = nat._eng.eng
    assert [r[0] for r in eng.last_actions()] == [2]  # the arrival's Queued
    assert nat.advance(2.0) == [] and eng.last_actions() == []  # C's clock is there already
    for t in (7.5, 7.5, 30.0):
        assert py.advance(t) == nat.advance(t) == []
        assert eng._lag == t and eng.last_actions() == []  # no call into C: C's clock is behind
        assert snapshots.save(py) == snapshots.save(nat)  # the saved clock is t
        assert py.now == nat.now == t
        assert py.snapshot() == nat.snapshot()
        assert py.call("c") == nat.call("c")
        assert py.explain("c") == nat.explain("c")
        nat.check()
    nat._eng.eng.check()  # C's own invariants, at C's clock caught up
    assert nat._eng.eng.now == 30.0
    # An event after a clock-only advance carries its own instant.
    for d in (py, nat):
        d.handle(CallAbandoned(now=31.0, call_id="c"))
    assert snapshots.save(py) == snapshots.save(nat)
    for d in (py, nat):
        d.handle(CallArrived(now=31.0, call_id="e", queue="q"))
        d.advance(40.0)  # clock-only
        d.handle(CallArrived(now=40.0, call_id="f", queue="q"))  # at the lagging instant
    assert snapshots.save(py) == snapshots.save(nat)  # a read in between...
    assert [r[0] for r in eng.last_actions()] == [2]  # ...keeps the last event's Queued


def test_a_class_is_numbered_by_value_whatever_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """EngineNumbers.klass remembers a plain class by the requirement
    object's identity; the number is still the value's: equal requirements
    (other objects) share it, another channel or requirement does not, and
    emptying the memo changes no number."""
    from acdcore import _engine_numbers

    d = Distributor([QueueConfig("q")], backend="native")
    st = d._eng
    assert st is not None
    r1, r2, r3 = (
        SkillRequirement({"a": 2}),
        SkillRequirement({"a": 2}),
        SkillRequirement({"a": 3}),
    )
    c1 = st.klass(r1, Channel.VOICE)
    assert st.klass(r1, Channel.VOICE) == c1 == st.klass(r2, Channel.VOICE)
    assert st.klass(r1, Channel.CHAT) != c1
    assert st.klass(r3, Channel.VOICE) not in (c1, st.klass(r1, Channel.CHAT))
    c3 = st.klass(r3, Channel.VOICE)
    monkeypatch.setattr(_engine_numbers, "PLAIN_MEMO", 1)
    assert st.klass(SkillRequirement({"a": 2}), Channel.VOICE) == c1  # a new object: emptied
    assert len(st.plain) == 1
    for _ in range(3):
        assert [st.klass(r, Channel.VOICE) for r in (r3, r1, r2)] == [c3, c1, c1]
        assert len(st.plain) == 1


@pytest.mark.parametrize("length", [0, 1, 3, 6, 7])
def test_a_sort_key_is_padded_to_six_numbers_or_refused(length: int) -> None:
    """padded_key: a key of up to 6 numbers (list or tuple) is padded with
    -inf; a longer one is refused with the engine's malformed-argument code
    and the engine is left as it was."""
    eng = NativeEngine(1, 0.0, random.Random(3))
    eng.queue(0, STRATEGIES[Strategy.LONGEST_IDLE], 10.0, 0.0, None, 0.0, 0.0, None)
    cls = eng.klass([], [], 0)
    key = [float(i) for i in range(length)]
    if length > 6:
        with pytest.raises(EngineRefused) as info:
            eng.arrive(1.0, 0, cls, key, -1)
        assert info.value.code == -3
        assert eng.next_seq == 0 and eng.counts() == (0, 0, 0, 0)
    else:
        seq, acts = eng.arrive(1.0, 0, cls, key, -1)
        assert (seq, [a[:3] for a in acts]) == (0, [(2, 1, 0)])
        eng.check()
