"""acdcore.skillrouter.SkillRouter on both backends: each strategy's
documented tie-breaks, refused calls that change nothing, and random operation
sequences checked against a plain model and, on native, against python."""

from __future__ import annotations

import math
import random
from typing import Any

import attrs
import pytest
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import acdcore.backend
from acdcore.config import Strategy
from acdcore.errors import (
    AcdError,
    ConfigError,
    DuplicateItem,
    InvalidAgentState,
    InvalidValue,
    TimeWentBackwards,
    UnknownAgent,
    UnknownItem,
)
from acdcore.skillrouter import SkillRouter
from acdcore.skills import Channel, SkillRequirement
from acdcore.workqueue import Queue

V, C, E = Channel.VOICE, Channel.CHAT, Channel.EMAIL


def observe(r: SkillRouter) -> tuple[Any, ...]:
    """Everything a caller can observe, plus the strategy memory and the RNG."""
    return (
        tuple(attrs.astuple(r.agent(a), recurse=False) for a in r.agents()),
        tuple(r.free_agents()),
        r.now,
        r._q.rr_last,
        r._rng.getstate(),
    )


def team(strategy: Strategy, seed: int = 0) -> SkillRouter:
    return SkillRouter(strategy, rng=random.Random(seed))


# ------------------------------------------------------------ tie-breaks


def test_longest_idle_then_agent_order(backend: str) -> None:
    r = team(Strategy.LONGEST_IDLE)
    assert r.backend == backend
    r.add_agent("late", skills={"x": 1}, now=5.0)
    r.add_agent("b", skills={"x": 1}, now=5.0)
    r.add_agent("c", skills={"x": 1}, now=6.0)
    assert r.pick({"x": 1}, now=7.0) == ["late"]  # idle since 5 like b, added first
    r.assign("late", "t", now=7.0)
    r.release("late", "t", now=8.0)  # idle since 8 now
    assert r.pick({"x": 1}, now=8.0) == ["b"]
    r.assign("b", "u", now=8.0)
    assert r.pick({"x": 1}, now=8.0) == ["c"]


def test_fewest_calls_then_longest_idle_then_order(backend: str) -> None:
    r = team(Strategy.FEWEST_CALLS)
    for aid in ("a", "b", "c"):
        r.add_agent(aid, skills={}, now=0.0)
    r.assign("a", 1, now=1.0)
    r.release("a", 1, now=2.0)
    assert r.pick(now=3.0) == ["b"]  # b and c have 0 calls and idle since 0: order
    r.assign("b", 2, now=3.0)
    r.release("b", 2, now=3.5)
    assert r.pick(now=4.0) == ["c"]
    r.assign("c", 3, now=4.0)
    r.release("c", 3, now=5.0)
    assert r.pick(now=6.0) == ["a"]  # all one call; a idle since 2, the longest


def test_least_talk_time_then_longest_idle(backend: str) -> None:
    r = team(Strategy.LEAST_TALK_TIME)
    for aid in ("a", "b", "c"):
        r.add_agent(aid, skills={}, now=0.0)
    r.assign("a", 1, now=0.0)
    r.assign("b", 2, now=0.0)
    r.release("a", 1, now=10.0)  # 10 s
    r.release("b", 2, now=10.0)  # 10 s too
    assert r.pick(now=10.0) == ["c"]  # no talk time
    r.assign("c", 3, now=10.0)
    assert r.pick(now=11.0) == ["a"]  # a and b equal talk, equal idle: order
    r.release("c", 3, now=30.0)  # 20 s
    assert r.agent("c").talk_time == 20.0
    assert r.pick(now=30.0) == ["a"]


def test_round_robin_remembers_the_last_pick_and_wraps(backend: str) -> None:
    r = team(Strategy.ROUND_ROBIN)
    for aid in ("a", "b", "c"):
        r.add_agent(aid, skills={"x": 1}, now=0.0)
    r.add_agent("d", skills={}, now=0.0)  # never eligible for x
    picks = [r.pick({"x": 1}, now=1.0)[0] for _ in range(5)]
    assert picks == ["a", "b", "c", "a", "b"]
    r.pause("c")
    assert r.pick({"x": 1}, now=1.0) == ["a"]  # after b: c paused, d not eligible, wrap
    assert r.pick(now=1.0) == ["b"]  # memory is shared by all requirements
    assert r.pick(now=1.0) == ["d"]


def test_linear_by_position_then_order(backend: str) -> None:
    r = team(Strategy.LINEAR)
    r.add_agent("a", skills={}, position=5, now=0.0)
    r.add_agent("b", skills={}, position=1, now=0.0)
    r.add_agent("c", skills={}, position=1, now=0.0)
    assert r.pick(now=1.0) == ["b"]
    r.assign("b", "t", now=1.0)
    assert r.pick(now=1.0) == ["c"]
    r.assign("c", "u", now=1.0)
    assert r.pick(now=1.0) == ["a"]


def test_most_skilled_sums_required_levels_then_idle_then_order(backend: str) -> None:
    r = team(Strategy.MOST_SKILLED)
    r.add_agent("a", skills={"x": 5, "y": 1, "z": 10}, now=0.0)
    r.add_agent("b", skills={"x": 3, "y": 3}, now=0.0)
    r.add_agent("c", skills={"x": 2, "y": 4}, now=0.0)
    # x+y: a 6, b 6, c 6 (z is not required); all idle since 0: order
    assert r.pick({"x": 1, "y": 1}, now=1.0) == ["a"]
    r.assign("a", 1, now=1.0)
    r.release("a", 1, now=2.0)
    assert r.pick({"x": 1, "y": 1}, now=2.0) == ["b"]  # a idle since 2 now
    assert r.pick({"x": 3}, now=2.0) == ["a"]  # only a and b qualify; a has 5


def test_random_draws_one_randrange_over_agent_order(backend: str) -> None:
    r = team(Strategy.RANDOM, seed=42)
    twin = random.Random(42)
    for aid in ("a", "b", "c", "d"):
        r.add_agent(aid, skills={"x": 2} if aid != "c" else {}, now=0.0)
    for _ in range(20):
        eligible = ["a", "b", "d"]
        assert r.pick({"x": 1}, now=1.0) == [eligible[twin.randrange(3)]]
    r.pause("a")
    r.pause("b")
    r.pause("d")
    state = r._rng.getstate()
    assert r.pick({"x": 1}, now=1.0) == []
    assert r._rng.getstate() == state  # nothing drawn when nobody is eligible


def test_weighted_random_draws_by_weight(backend: str) -> None:
    r = team(Strategy.WEIGHTED_RANDOM, seed=3)
    twin = random.Random(3)
    r.add_agent("a", skills={}, weight=1, now=0.0)
    r.add_agent("b", skills={}, weight=5, now=0.0)
    r.add_agent("c", skills={}, weight=2, now=0.0)
    for _ in range(30):
        x = twin.randrange(8)
        want = "a" if x < 1 else "b" if x < 6 else "c"
        assert r.pick(now=1.0) == [want]


def test_ring_all_returns_every_free_eligible_agent_in_order(backend: str) -> None:
    r = team(Strategy.RING_ALL)
    r.add_agent("z", skills={"x": 1}, now=1.0)
    r.add_agent("y", skills={"x": 1}, now=1.0)
    r.add_agent("n", skills={}, now=1.0)
    r.add_agent("w", skills={"x": 9}, now=2.0)
    r.assign("z", "t", now=3.0)
    r.release("z", "t", now=3.0)  # z is now the most recently idle
    assert r.pick({"x": 1}, now=4.0) == ["z", "y", "w"]  # agent order, not idle order
    assert r._q.rr_last == r.agent("w").order
    r.pause("y")
    assert r.pick({"x": 1}, now=4.0) == ["z", "w"]


def test_channels_capacity_and_exclusivity(backend: str) -> None:
    r = team(Strategy.LONGEST_IDLE)
    r.add_agent("multi", skills={}, capacity={C: 2, V: 1, E: 1}, exclusive=[V], now=0.0)
    assert r.pick(channel=C, now=0.0) == ["multi"]
    r.assign("multi", "chat1", channel=C, now=0.0)
    assert r.pick(channel=C, now=0.0) == ["multi"]  # a second chat fits
    assert r.pick(channel=V, now=0.0) == []  # voice is exclusive: not with a chat going
    r.assign("multi", "mail", channel=E, now=0.0)
    r.assign("multi", "chat2", channel=C, now=0.0)
    assert r.pick(channel=C, now=0.0) == [] and r.free_agents() == []
    with pytest.raises(InvalidAgentState, match="no free chat slot"):
        r.assign("multi", "chat3", channel=C, now=0.0)
    for w in ("chat1", "mail", "chat2"):
        r.release("multi", w, now=1.0)
    r.assign("multi", "call", channel=V, now=1.0)
    assert r.agent("multi").free_channels == ()  # the voice call blocks everything
    assert r.pick(channel=E, now=1.0) == []
    r.check()


def test_pause_resume_and_skills(backend: str) -> None:
    r = team(Strategy.LONGEST_IDLE)
    r.add_agent("a", skills={"x": 2}, now=0.0)
    assert r.pick({"x": 3}, now=0.0) == []
    r.set_skills("a", {"x": 3})
    assert r.pick({"x": 3}, now=0.0) == ["a"]
    r.pause("a", reason="lunch")
    assert r.agent("a").paused == "lunch" and not r.agent("a").free
    assert r.pick(now=1.0) == [] and r.free_agents() == []
    r.resume("a", now=2.0)
    assert r.agent("a").idle_since == 0.0  # resuming does not reset idleness
    assert r.free_agents() == ["a"]
    r.remove_agent("a")
    assert "a" not in r and r.pick(now=2.0) == []
    r.add_agent("a", skills={}, now=3.0)  # back, last in order
    assert r.agent("a").order == 1
    r.check()


def test_next_for_takes_the_first_item_the_agent_may_take(backend: str) -> None:
    q: Queue[str] = Queue()
    needs = {"t1": {"fr": 5}, "t2": {"en": 1}, "t3": {}, "chat": {}}
    channels = {"chat": C}
    for n, t in enumerate(["t1", "chat", "t2", "t3"]):
        q.insert(t, arrived=float(n))
    r = team(Strategy.LONGEST_IDLE)
    r.add_agent("en", skills={"en": 4}, now=0.0)
    r.add_agent("fr", skills={"fr": 5}, capacity={C: 1, V: 1}, now=0.0)

    def nxt(agent: str) -> str | None:
        return r.next_for(
            agent, q, needs.__getitem__, channel_of=lambda t: channels.get(t, V), now=1.0
        )

    assert nxt("en") == "t2"  # t1 needs French, chat needs a chat slot
    assert nxt("fr") == "t1"
    r.assign("fr", "call", channel=V, now=1.0)
    assert nxt("fr") is None  # voice is exclusive and busy
    r.pause("en")
    assert nxt("en") is None
    assert list(q) == ["t1", "chat", "t2", "t3"]  # a pure read
    r.release("fr", "call", now=1.0)
    with pytest.raises(InvalidValue, match="requirement_of"):
        r.next_for("fr", q, lambda t: "fr", now=1.0)  # type: ignore[arg-type,return-value]
    with pytest.raises(TimeWentBackwards):
        r.next_for("fr", q, needs.__getitem__, now=0.5)
    assert (
        r.next_for("fr", q, needs.__getitem__, channel_of=lambda t: channels.get(t, V), now=1.0)
        == "t1"
    )


# ----------------------------------------------------------------- errors


def test_refused_calls_change_nothing(backend: str) -> None:
    r = team(Strategy.ROUND_ROBIN)
    r.add_agent("a", skills={"x": 1}, capacity={V: 1, C: 1}, now=1.0)
    r.add_agent("b", skills={}, now=1.0)
    r.assign("a", "w", channel=C, now=2.0)
    r.pick(now=2.0)
    before = observe(r)
    refused: dict[str, tuple[type[AcdError], Any]] = {
        "unknown agent pick-less": (UnknownAgent, lambda: r.pause("zz")),
        "unknown assign": (UnknownAgent, lambda: r.assign("zz", "q", now=3.0)),
        "unknown release": (UnknownAgent, lambda: r.release("zz", "w", now=3.0)),
        "unknown remove": (UnknownAgent, lambda: r.remove_agent("zz")),
        "unknown agent view": (UnknownAgent, lambda: r.agent("zz")),
        "unknown skills": (UnknownAgent, lambda: r.set_skills("zz", {})),
        "unknown next_for": (UnknownAgent, lambda: r.next_for("zz", Queue(), dict, now=3.0)),
        "duplicate agent": (InvalidAgentState, lambda: r.add_agent("a", skills={}, now=3.0)),
        "empty id": (InvalidValue, lambda: r.add_agent("", skills={}, now=3.0)),
        "bad level": (InvalidValue, lambda: r.add_agent("c", skills={"x": 11}, now=3.0)),
        "bool level": (InvalidValue, lambda: r.add_agent("c", skills={"x": True}, now=3.0)),
        "bad weight": (InvalidValue, lambda: r.add_agent("c", skills={}, weight=0, now=3.0)),
        "bad capacity": (
            InvalidValue,
            lambda: r.add_agent("c", skills={}, capacity={V: -1}, now=3.0),
        ),
        "bad channel key": (
            InvalidValue,
            lambda: r.add_agent("c", skills={}, capacity={"v": 1}, now=3.0),
        ),
        "skills not a mapping": (InvalidValue, lambda: r.set_skills("a", [("x", 1)])),
        "bad new skill": (InvalidValue, lambda: r.set_skills("a", {"x": 0})),
        "nan now": (InvalidValue, lambda: r.pick(now=math.nan)),
        "time backwards": (TimeWentBackwards, lambda: r.pick(now=0.5)),
        "backwards add": (TimeWentBackwards, lambda: r.add_agent("c", skills={}, now=0.0)),
        "backwards release": (TimeWentBackwards, lambda: r.release("a", "w", now=0.0)),
        "bad requirement": (InvalidValue, lambda: r.pick({"x": 0}, now=3.0)),
        "requirement not a mapping": (InvalidValue, lambda: r.pick("x", now=3.0)),
        "bad pick channel": (InvalidValue, lambda: r.pick(channel="voice", now=3.0)),
        "duplicate work": (DuplicateItem, lambda: r.assign("b", "w", now=3.0)),
        "unhashable work": (InvalidValue, lambda: r.assign("b", ["w"], now=3.0)),
        "release not held": (UnknownItem, lambda: r.release("b", "w", now=3.0)),
        "release unknown work": (UnknownItem, lambda: r.release("a", "nope", now=3.0)),
        "no free slot": (InvalidAgentState, lambda: r.assign("a", "v", channel=C, now=3.0)),
        "no such channel": (InvalidAgentState, lambda: r.assign("b", "v", channel=E, now=3.0)),
        "remove with work": (InvalidAgentState, lambda: r.remove_agent("a")),
        "resume not paused": (InvalidAgentState, lambda: r.resume("a", now=3.0)),
        "empty reason": (InvalidValue, lambda: r.pause("a", reason="")),
    }
    for what, (error, call) in refused.items():
        with pytest.raises(error):
            call()
        assert observe(r) == before, what
        r.check()
    r.pause("b")
    before = observe(r)
    with pytest.raises(InvalidAgentState, match="already paused"):
        r.pause("b")
    with pytest.raises(InvalidAgentState, match="paused"):
        r.assign("b", "x", now=3.0)
    assert observe(r) == before
    with pytest.raises(KeyError):  # UnknownAgent is a KeyError
        r.agent("zz")


def test_bad_configuration(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="Strategy"):
        SkillRouter("longest-idle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"random\.Random"):
        SkillRouter(rng=7)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="backend"):
        SkillRouter(backend="c")
    monkeypatch.setattr(acdcore.backend, "native_available", lambda: False)
    with pytest.raises(ConfigError, match="not built"):
        SkillRouter(backend="native")


def test_check_finds_a_broken_router(backend: str) -> None:
    r = team(Strategy.LONGEST_IDLE)
    r.add_agent("a", skills={}, now=0.0)
    r.check()
    r._free.pop("a")  # corrupt on purpose
    with pytest.raises(AssertionError):
        r.check()


# ------------------------------------------------------ model and backends


@attrs.define
class MAgent:
    """The model's agent: plain fields, rules written out from the docs."""

    aid: str
    order: int
    skills: dict[str, int]
    cap: dict[Channel, int]
    excl: frozenset[Channel]
    weight: int
    position: int
    paused: bool = False
    work: dict[str, tuple[Channel, float]] = attrs.Factory(dict)
    idle: float = 0.0
    calls: int = 0
    talk: float = 0.0

    def fits(self, ch: Channel) -> bool:
        if self.cap.get(ch, 0) == 0:
            return False
        if any(c != ch and (c in self.excl or ch in self.excl) for c, _ in self.work.values()):
            return False
        return sum(1 for c, _ in self.work.values() if c == ch) < self.cap[ch]

    def meets(self, req: dict[str, int]) -> bool:
        return all(self.skills.get(k, 0) >= v for k, v in req.items())


class Model:
    def __init__(self, strategy: Strategy, seed: int) -> None:
        self.strategy = strategy
        self.rng = random.Random(seed)
        self.agents: dict[str, MAgent] = {}
        self.next_order = 0
        self.last: int | None = None

    def pick(self, req: dict[str, int], ch: Channel) -> list[str]:
        ok = sorted(
            (a for a in self.agents.values() if not a.paused and a.fits(ch) and a.meets(req)),
            key=lambda a: a.order,
        )
        if not ok:
            return []
        s = self.strategy
        if s is Strategy.RING_ALL:
            chosen = ok
        elif s is Strategy.RANDOM:
            chosen = [ok[self.rng.randrange(len(ok))]]
        elif s is Strategy.WEIGHTED_RANDOM:
            x = self.rng.randrange(sum(a.weight for a in ok))
            for a in ok:
                if x < a.weight:
                    chosen = [a]
                    break
                x -= a.weight
        elif s is Strategy.ROUND_ROBIN:
            after = [a for a in ok if self.last is not None and a.order > self.last]
            chosen = [(after or ok)[0]]
        else:
            lead = {
                Strategy.LONGEST_IDLE: lambda a: (a.idle,),
                Strategy.FEWEST_CALLS: lambda a: (a.calls, a.idle),
                Strategy.LEAST_TALK_TIME: lambda a: (a.talk, a.idle),
                Strategy.LINEAR: lambda a: (a.position,),
                Strategy.MOST_SKILLED: lambda a: (-sum(a.skills.get(k, 0) for k in req), a.idle),
            }[s]
            chosen = [min(ok, key=lambda a: (*lead(a), a.order))]
        self.last = chosen[-1].order
        return [a.aid for a in chosen]


IDS = ["a0", "a1", "a2", "a3"]
WORK = ["w0", "w1", "w2", "w3", "w4"]
skill_sets = st.dictionaries(st.sampled_from(["x", "y"]), st.integers(1, 10), max_size=2)
reqs = st.dictionaries(st.sampled_from(["x", "y"]), st.integers(1, 6), max_size=2)
channels = st.sampled_from([V, V, C, E])
capacities = st.sampled_from([None, {V: 1, C: 2}, {C: 1}, {V: 1, C: 1, E: 1}])
exclusives = st.sampled_from([(V,), (), (V, E)])


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except AcdError as exc:
        return type(exc).__name__, str(exc)


class RouterVsModel(RuleBasedStateMachine):
    """The router under test (and, on native, a python twin) against Model."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.model: Model | None = None
        self.routers: list[SkillRouter] = []

    def _all(self, fn: Any) -> tuple[str, Any]:
        results = [outcome(lambda r=r: fn(r)) for r in self.routers]
        assert all(x == results[0] for x in results), f"backends differ: {results}"
        return results[0]

    @rule(strategy=st.sampled_from(list(Strategy)), seed=st.integers(0, 3))
    def build(self, strategy: Strategy, seed: int) -> None:
        if self.model is not None:
            return
        self.model = Model(strategy, seed)
        backends = [acdcore.backend.BACKEND]
        if backends[0] == "native":
            backends.append("python")
        self.routers = [SkillRouter(strategy, rng=random.Random(seed), backend=b) for b in backends]
        note(f"strategy {strategy.value}, backends {backends}")

    @rule(dt=st.sampled_from([0.0, 0.0, 1.0, 2.5]))
    def tick(self, dt: float) -> None:
        self.now += dt

    @rule(
        aid=st.sampled_from(IDS),
        skills=skill_sets,
        cap=capacities,
        excl=exclusives,
        weight=st.integers(1, 4),
        position=st.integers(0, 2),
    )
    def add(
        self, aid: str, skills: dict[str, int], cap: Any, excl: Any, weight: int, position: int
    ) -> None:
        if self.model is None:
            return
        got = self._all(
            lambda r: r.add_agent(
                aid,
                skills=skills,
                capacity=cap,
                exclusive=excl,
                weight=weight,
                position=position,
                now=self.now,
            )
        )
        m = self.model
        if aid in m.agents:
            assert got[0] == "InvalidAgentState"
            return
        assert got == ("ok", None)
        m.agents[aid] = MAgent(
            aid,
            m.next_order,
            dict(skills),
            dict(cap or {V: 1}),
            frozenset(excl),
            weight,
            position,
            idle=self.now,
        )
        m.next_order += 1

    @rule(aid=st.sampled_from(IDS))
    def remove(self, aid: str) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.remove_agent(aid))
        a = self.model.agents.get(aid)
        if a is None:
            assert got[0] == "UnknownAgent"
        elif a.work:
            assert got[0] == "InvalidAgentState"
        else:
            assert got[0] == "ok"
            del self.model.agents[aid]

    @rule(aid=st.sampled_from(IDS), skills=skill_sets)
    def skills(self, aid: str, skills: dict[str, int]) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.set_skills(aid, skills))
        a = self.model.agents.get(aid)
        assert got[0] == ("ok" if a is not None else "UnknownAgent")
        if a is not None:
            a.skills = dict(skills)

    @rule(aid=st.sampled_from(IDS))
    def pause_or_resume(self, aid: str) -> None:
        if self.model is None:
            return
        a = self.model.agents.get(aid)
        if a is not None and a.paused:
            got = self._all(lambda r: r.resume(aid, now=self.now))
            a.paused = False
        else:
            got = self._all(lambda r: r.pause(aid))
            if a is not None:
                a.paused = True
        assert got[0] == ("ok" if a is not None else "UnknownAgent")

    @rule(req=reqs, ch=channels)
    def pick(self, req: dict[str, int], ch: Channel) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.pick(SkillRequirement(req), channel=ch, now=self.now))
        assert got == ("ok", self.model.pick(req, ch))

    @rule(req=reqs, ch=channels, work=st.sampled_from(WORK))
    def pick_and_assign(self, req: dict[str, int], ch: Channel, work: str) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.pick(req, channel=ch, now=self.now))
        want = self.model.pick(req, ch)
        assert got == ("ok", want)
        if not want:
            return
        aid = want[0]
        held = any(work in a.work for a in self.model.agents.values())
        done = self._all(lambda r: r.assign(aid, work, channel=ch, now=self.now))
        if held:
            assert done[0] == "DuplicateItem"
            return
        assert done == ("ok", None)
        a = self.model.agents[aid]
        a.work[work] = (ch, self.now)
        a.calls += 1

    @rule(aid=st.sampled_from(IDS), work=st.sampled_from(WORK), ch=channels)
    def assign(self, aid: str, work: str, ch: Channel) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.assign(aid, work, channel=ch, now=self.now))
        a = self.model.agents.get(aid)
        if a is None:
            assert got[0] == "UnknownAgent"
        elif any(work in b.work for b in self.model.agents.values()):
            assert got[0] == "DuplicateItem"
        elif a.paused or not a.fits(ch):
            assert got[0] == "InvalidAgentState"
        else:
            assert got == ("ok", None)
            a.work[work] = (ch, self.now)
            a.calls += 1

    @rule(aid=st.sampled_from(IDS), work=st.sampled_from(WORK))
    def release(self, aid: str, work: str) -> None:
        if self.model is None:
            return
        got = self._all(lambda r: r.release(aid, work, now=self.now))
        a = self.model.agents.get(aid)
        if a is None:
            assert got[0] == "UnknownAgent"
        elif work not in a.work:
            assert got[0] == "UnknownItem"
        else:
            assert got == ("ok", None)
            _, since = a.work.pop(work)
            a.talk += self.now - since
            a.idle = self.now

    @rule(aid=st.sampled_from(IDS), data=st.data())
    def next_for(self, aid: str, data: st.DataObject) -> None:
        if self.model is None:
            return
        items = data.draw(st.lists(st.tuples(reqs, channels), max_size=6))
        q: Queue[int] = Queue()
        for n in range(len(items)):
            q.insert(n, arrived=0.0)
        got = self._all(
            lambda r: r.next_for(
                aid, q, lambda n: items[n][0], channel_of=lambda n: items[n][1], now=self.now
            )
        )
        a = self.model.agents.get(aid)
        if a is None:
            assert got[0] == "UnknownAgent"
            return
        want = None
        if not a.paused:
            want = next((n for n, (rq, ch) in enumerate(items) if a.fits(ch) and a.meets(rq)), None)
        assert got == ("ok", want)

    @invariant()
    def agree(self) -> None:
        if self.model is None:
            return
        views = [observe(r)[:3] for r in self.routers]
        assert all(v == views[0] for v in views)
        m = self.model
        for r in self.routers:
            r.check()
            assert r.agents() == sorted(m.agents, key=lambda k: m.agents[k].order)
            for aid, a in m.agents.items():
                v = r.agent(aid)
                assert (v.order, v.calls_taken, v.idle_since, v.talk_time) == (
                    a.order,
                    a.calls,
                    a.idle,
                    a.talk,
                )
                assert set(v.work) == set(a.work) and (v.paused is not None) == a.paused


def test_router_matches_the_model_and_the_backends_agree() -> None:
    run_state_machine_as_test(RouterVsModel)
