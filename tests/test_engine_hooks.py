"""Estimators on the C engine: they hear exactly what they hear on the Python handlers.

A distributor with estimators runs on the engine (``_engine_hooks``): the
engine leaves, after each step, the calls the Python handlers make to the
estimators, and the façade makes them. The machines below drive a python
and a native distributor side by side (``test_differential``'s machines,
with estimators attached), each with a recording estimator beside the real
ones; after every step the two recordings must be equal, call by call and
argument by argument (their reprs, so that an int told as a float differs),
the context of an entering call included (``competing()`` asked when it is
told). Every fifth step the saved documents (each queue's last sample, the
estimators' learned state) and every waiting call's estimate by every
estimator must be equal too. The native distributor is restarted from its
saved document at random steps and must carry on on the engine.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    Announcements,
    CallArrived,
    CallbackCancelled,
    CallbackPolicy,
    CallbackRequested,
    Distributor,
    QueueConfig,
    Strategy,
    native_available,
)
from acdcore._state import CallState
from acdcore.estimators import (
    AsteriskEstimator,
    HeadOfLineEstimator,
    LearnedEstimator,
    QueueLengthEstimator,
    WaitContext,
    WaitEstimate,
    WaitEstimator,
)
from acdcore.skills import SkillRequirement

from . import test_differential as diff
from . import test_stateful as base
from .strategies import agent_profiles

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")


@pytest.fixture(params=["python"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests use both backends at once."""
    return str(request.param)


class Recorder(WaitEstimator):
    """An estimator that writes down every call it hears (into ``log``)."""

    name = "recorder"

    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        return WaitEstimate(float(ctx.ahead), 0.0, 0.0, ctx.ahead, ctx.servers, self.name)

    def on_sample(self, queue: str, now: float, waiting: int, staffed: int) -> None:
        self.log.append(("sample", queue, now, waiting, staffed))

    def on_entered(self, ctx: WaitContext, seq: int) -> None:
        self.log.append(
            (
                "entered",
                seq,
                ctx.now,
                ctx.queue,
                ctx.priority,
                ctx.ahead,
                ctx.servers,
                ctx.waiting,
                ctx.head_wait,
                ctx.waited,
                ctx.shared,
                ctx.agents,
                ctx.competing(),
            )
        )

    def on_started(self, queue: str, now: float, waited: float, seq: int) -> None:
        self.log.append(("started", queue, now, waited, seq))

    def on_answered(self, queue: str, now: float, waited: float, seq: int, priority: int) -> None:
        self.log.append(("answered", queue, now, waited, seq, priority))

    def on_abandoned(self, queue: str, now: float, waited: float, seq: int) -> None:
        self.log.append(("abandoned", queue, now, waited, seq))

    def on_handled(self, queue: str, now: float, seconds: float) -> None:
        self.log.append(("handled", queue, now, seconds))

    def on_left(self, queue: str, now: float, seq: int) -> None:
        self.log.append(("left", queue, now, seq))


def estimators(log: list[tuple[Any, ...]]) -> list[WaitEstimator]:
    """Every built-in estimator that learns or reads a context, and a recorder."""
    return [
        LearnedEstimator(),
        HeadOfLineEstimator(),
        AsteriskEstimator(),
        QueueLengthEstimator(mean_handle=120.0),
        Recorder(log),
    ]


class WithEstimators(base.DistributorMachine):
    """Builds its distributors with :func:`estimators`, one recording per backend."""

    def build(self, backend: str | None = None) -> Distributor:
        logs = self.__dict__.setdefault("hook_logs", {})
        log = logs.setdefault(backend or "default", [])
        return Distributor(
            self.configs,
            rng=random.Random(self.seed),
            plan=self.plan,
            backend=backend,
            estimators=estimators(log),
        )


class HookDifferential(diff.Differential, WithEstimators):
    """The python distributor against the native one on the engine, with
    estimators; agents also log in again with a new profile (other queues,
    region, skills, capacity), which moves the pools the engine counts
    entering calls' staff over."""

    @rule(data=st.data(), i=st.integers(0, len(base.AGENT_IDS) - 1))
    def login_as_someone_else(self, data: st.DataObject, i: int) -> None:
        aid = base.AGENT_IDS[i]
        self._advance(self.t)
        known = aid in self.acd._reads()._agents
        if known and self.acd.agent(aid).state is not base.AgentState.LOGGED_OUT:
            return
        self.profiles[aid] = data.draw(agent_profiles(aid, self.queue_names))
        self._send(AgentLoggedIn(now=self.t, profile=self.profiles[aid]))

    def _same(self, mine: list[Any], theirs: list[Any], what: object) -> None:
        super()._same(mine, theirs, what)
        if hasattr(self, "other"):
            assert self.other._eng is not None, "the engine does not hold the native state"
        logs = self.__dict__.get("hook_logs", {})
        py, nat = logs.get("python", []), logs.get("native", [])
        assert repr(py) == repr(nat), (
            f"the estimators heard differently after {what!r}:\n  python {py}\n  native {nat}"
        )
        py.clear()
        nat.clear()

    def _same_records(self, what: object) -> None:
        super()._same_records(what)
        for cid in self.acd.live_calls():
            if self.acd.call(cid).state.value != "waiting":
                continue
            for est in self.acd.estimators:
                assert self.acd.estimate(cid, est.name) == self.other.estimate(cid, est.name), (
                    cid,
                    est.name,
                    what,
                )


class HookMachine(HookDifferential):
    """Every event kind, policy and strategy, with estimators."""


class HookEnginePlan(HookDifferential, base.EnginePlanMachine):
    """Plans the engine covers (stages, added queues, regions, exits,
    moves, transfers), with estimators."""


class HookCallback(HookDifferential, base.CallbackMachine):
    """Announcements and callback offers (timed in C, worded by the façade
    from the first estimator asked at the hook's place) and callbacks:
    requests, attempts that go unanswered, retries at the caller's place,
    failures and cancellations, all on the engine."""


class HookCallbackPlan(HookDifferential, base.CallbackMachine, base.EnginePlanMachine):
    """The same under routing plans with exits (maximum waits, leave-empty,
    moves between queues): a call may hear something and end in one
    advance, or be moved with a callback into a queue with no policy."""

    def _observe(self, actions: list[Any]) -> None:
        super()._observe(actions)
        # The callback model follows the reference under plans: an exit
        # moves a callback (its place is then the new queue's) or ends it
        # (and the id may come back as another call). Both backends are
        # compared step by step all the same.
        calls = self.acd._reads()._calls
        for cid in list(self.callbacks):
            rec = calls.get(cid)
            if rec is None or not (rec.callback or rec.state is CallState.CONNECTED):
                del self.callbacks[cid]
            elif rec.callback:
                self.callbacks[cid] = (rec.queue, rec.key)


class HookCallbackRingAll(HookDifferential, base.CallbackMachine):
    """The same where every queue rings all: a callback reserves only the
    first of the agents routing picks."""

    def adjust(self, config: QueueConfig) -> QueueConfig:
        c = base.CallbackMachine.adjust(self, config)
        return attrs.evolve(
            c, strategy=Strategy.RING_ALL, requirement=SkillRequirement(), max_length=None
        )


def test_estimators_hear_the_same_on_the_engine() -> None:
    run_state_machine_as_test(HookMachine)


def test_estimators_hear_the_same_under_a_plan() -> None:
    run_state_machine_as_test(HookEnginePlan)


def test_announcements_and_callbacks_on_the_engine_are_the_same() -> None:
    run_state_machine_as_test(HookCallback)


def test_announcements_and_callbacks_under_a_plan_are_the_same() -> None:
    run_state_machine_as_test(HookCallbackPlan)


def test_callbacks_ringing_all_are_the_same() -> None:
    run_state_machine_as_test(HookCallbackRingAll)


def test_a_distributor_with_estimators_runs_on_the_engine() -> None:
    """Estimators alone no longer keep a distributor off the engine, and
    the engine's staffing counts follow logins, pauses and logouts."""
    q = QueueConfig(name="q")
    d = Distributor([q], backend="native", estimators=[LearnedEstimator()])
    assert d._eng is not None
    prof = AgentProfile(agent_id="a", queues=("q",))
    d.handle(AgentLoggedIn(now=0.0, profile=prof))
    assert d._eng.eng.staffed(0) == 1
    assert d._reads()._queues["q"].sampled == (0, 1)
    d.handle(CallArrived(now=1.0, call_id="c", queue="q"))
    assert d._eng is not None


def test_competing_counts_nobody_when_nobody_could_take_the_call() -> None:
    """The reference's competing count with no staffed agent who could take
    the call is 0, whether the calls ahead share its requirement object or
    only its value (it counted the shared object's calls before)."""
    req = SkillRequirement({"fr": 1})
    seen: list[tuple[Any, ...]] = []
    for backend in ("python", "native"):
        log: list[tuple[Any, ...]] = []
        d = Distributor([QueueConfig(name="q")], backend=backend, estimators=[Recorder(log)])
        d.handle(CallArrived(now=0.0, call_id="a", queue="q", requirement=req))
        d.handle(CallArrived(now=1.0, call_id="b", queue="q", requirement=req))
        d.handle(
            CallArrived(now=2.0, call_id="c", queue="q", requirement=SkillRequirement({"fr": 1}))
        )
        entered = [e for e in log if e[0] == "entered"]
        assert [e[-1] for e in entered] == [0, 0, 0], backend
        seen.append(tuple(entered))
    assert repr(seen[0]) == repr(seen[1])


def test_a_regional_stage_with_no_region_counts_only_agents_of_no_region() -> None:
    """The servers of a call at a regional stage whose caller has no region
    are the agents routing would offer it to: those of no region too (the
    reference counted every agent then); and a plain call of the same queue
    and requirement, staffing unchanged, still counts every agent (the
    reference's cache of the count mistook one for the other once regional
    stages counted right). Shrunk from the plan machine."""
    from acdcore import RoutingPlan, Rule, Step
    from acdcore.conditions import Present

    steps = (Step(regional=True, expires_after=2.5), Step())
    plan = RoutingPlan(
        rules=[Rule(name="plain", queue="q", when=Present("plain"))],
        default=Rule(name="r", queue="q", steps=steps),
    )
    got = []
    for backend in ("python", "native"):
        log: list[tuple[Any, ...]] = []
        d = Distributor(
            [QueueConfig(name="q")], plan=plan, backend=backend, estimators=[Recorder(log)]
        )
        for aid, region in (("a0", None), ("a1", "north")):
            prof = AgentProfile(agent_id=aid, queues=("q",), region=region)
            d.handle(AgentLoggedIn(now=0.0, profile=prof))
        d.handle(CallArrived(now=0.0, call_id="c0", queue="q"))  # offered to a0
        d.handle(CallArrived(now=0.0, call_id="c1", queue="q"))  # waits: a1 is in north
        for cid in ("c2", "c3"):  # c2 offered to a1, c3 waits
            d.handle(CallArrived(now=0.0, call_id=cid, queue="q", attributes={"plain": 1}))
        entered = [e for e in log if e[0] == "entered"]
        # (seq, servers, agents): c1 counts a0 alone, c3 both agents
        assert [(e[1], e[6], e[11]) for e in entered] == [(1, 1, 1), (3, 2, 2)], backend
        got.append(repr(log))
    assert got[0] == got[1]


class Flaky(Recorder):
    """A recorder whose first ``on_entered`` raises."""

    name = "flaky"

    def on_entered(self, ctx: WaitContext, seq: int) -> None:
        if not self.log:
            self.log.append(("raised", seq))
            raise RuntimeError("the estimator failed")
        super().on_entered(ctx, seq)


def test_an_estimator_that_raises_leaves_the_distributor_whole() -> None:
    """An estimator's exception reaches the caller of the event, and the
    distributor carries on: the call it was told of is live and waits, the
    next arrival is taken, and the state is whole (the engine tells the
    estimators as the event's last act)."""
    for backend in ("python", "native"):
        log: list[tuple[Any, ...]] = []
        d = Distributor([QueueConfig(name="q")], backend=backend, estimators=[Flaky(log)])
        with pytest.raises(RuntimeError, match="the estimator failed"):
            d.handle(CallArrived(now=0.0, call_id="c0", queue="q"))
        d.handle(CallArrived(now=1.0, call_id="c1", queue="q"))
        assert d.live_calls() == ["c0", "c1"], backend
        assert [c.position for c in map(d.call, d.live_calls())] == [1, 2], backend
        d.check()
        assert log[1][:2] == ("entered", 1), backend


def _announcing(backend: str, est: WaitEstimator | None = None) -> Distributor:
    """One queue announcing after 5 s and every 10 s, offering callbacks
    over 20 s; one agent, whose offers ring for 100 s."""
    q = QueueConfig(
        name="q",
        ring_timeout=100.0,
        announce=Announcements(every=10.0, first=5.0, prompts=2),
        callback=CallbackPolicy(threshold=20.0),
    )
    d = Distributor([q], backend=backend, estimators=est or [QueueLengthEstimator(60.0)])
    d.handle(AgentLoggedIn(now=0.0, profile=AgentProfile(agent_id="a", queues=("q",))))
    return d


def test_announcements_and_callbacks_run_on_the_engine() -> None:
    """Announcements, callback offers and a callback requested keep a
    distributor on the engine, saying what the Python handlers say."""
    out: dict[str, list[Any]] = {}
    for backend in ("python", "native"):
        d = _announcing(backend)
        acts = []
        for i in range(4):
            acts += d.handle(CallArrived(now=float(i), call_id=f"c{i}", queue="q"))
        acts += d.advance(30.0)
        if backend == "native":
            assert d._eng is not None, "announcements kept it off the engine"
        kinds = [type(a).__name__ for a in acts]
        assert "Announce" in kinds and "OfferCallback" in kinds, kinds
        acts += d.handle(CallbackRequested(now=31.0, call_id="c3"))
        acts += d.advance(100.0)
        acts += d.handle(CallbackCancelled(now=100.0, call_id="c3"))
        if backend == "native":
            assert d._eng is not None
        out[backend] = acts
    assert out["python"] == out["native"]


class RaisesOnce(QueueLengthEstimator):
    """An estimator whose first estimate raises."""

    name = "raises-once"

    def __init__(self) -> None:
        super().__init__(60.0)
        self.raised = False

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        if not self.raised:
            self.raised = True
            raise RuntimeError("the estimate failed")
        return super().estimate(ctx)


def test_an_estimate_that_raises_mid_step_leaves_the_engine_whole() -> None:
    """An announcement's estimate that raises goes to the caller (the
    step's actions with it), after the engine and the façade's bookkeeping
    are done: the distributor stays on the engine, checks clean, and
    carries on."""
    d = _announcing("native", RaisesOnce())
    d.handle(CallArrived(now=0.0, call_id="c0", queue="q"))  # offered to a
    d.handle(CallArrived(now=1.0, call_id="c1", queue="q"))  # waits
    with pytest.raises(RuntimeError, match="the estimate failed"):
        d.advance(6.0)  # c1's first announcement
    assert d._eng is not None
    d.check()
    acts = d.advance(16.0)  # the next one is said
    assert [type(a).__name__ for a in acts] == ["Announce", "OfferCallback"]
    acts = d.handle(CallArrived(now=17.0, call_id="c2", queue="q"))
    assert [type(a).__name__ for a in acts] == ["Queued"]
    d.check()


def test_a_restored_state_whose_callbacks_ended_runs_on_the_engine() -> None:
    """A restored native distributor runs on the engine and saves what it
    was given: the callbacks that were cancelled are counted, and a
    callback the customer answered keeps its number and attempts while it
    is connected. Shrunk from HookCallback when callbacks were the Python
    handlers' (the engine had no place for either)."""
    from acdcore import CallEnded, OfferAnswered, snapshots

    d = _announcing("native")
    for i in range(3):
        d.handle(CallArrived(now=float(i), call_id=f"c{i}", queue="q"))  # c0 rings a
    d.handle(CallbackRequested(now=3.0, call_id="c1", number="+4420"))
    d.handle(CallbackRequested(now=4.0, call_id="c2"))
    d.handle(CallbackCancelled(now=5.0, call_id="c2"))
    d.handle(OfferAnswered(now=6.0, call_id="c0", agent_id="a"))
    d.advance(7.0)
    acts = d.handle(CallEnded(now=7.0, call_id="c0"))  # a is reserved for c1: it is dialled
    assert [type(a).__name__ for a in acts] == ["PlaceCallback"]
    d.handle(OfferAnswered(now=8.0, call_id="c1", agent_id="a"))  # the customer picked up
    doc = snapshots.loads(snapshots.dumps(snapshots.save(d)))
    fresh = Distributor([d.queues["q"]], backend="native", estimators=[QueueLengthEstimator(60.0)])
    snapshots.restore(doc, fresh)
    assert fresh._eng is not None, "the engine did not take the restored state"
    assert snapshots.save(fresh) == doc
    assert fresh.call("c1") == d.call("c1")
    assert fresh.counts() == d.counts()


def test_a_callback_policy_past_the_engines_numbers_stays_on_the_python_handlers() -> None:
    """Retries beyond a C int (2**53, shrunk from test_hostile) are the
    Python handlers' to count: the native distributor is built, runs them
    there, and decides as the python one does."""
    q = QueueConfig(name="q", callback=CallbackPolicy(threshold=0.0, retries=2**53))
    out = []
    for backend in ("python", "native"):
        d = Distributor([q], backend=backend)
        if backend == "native":
            assert d._eng is None
        acts = d.handle(CallArrived(now=0.0, call_id="c", queue="q"))
        acts += d.handle(CallbackRequested(now=1.0, call_id="c"))
        out.append(acts)
    assert out[0] == out[1]


class Constant(WaitEstimator):
    """An estimator that always says 100 s."""

    name = "constant"

    def estimate(self, ctx: WaitContext) -> WaitEstimate:
        return WaitEstimate(100.0, 50.0, 200.0, ctx.ahead, ctx.servers, self.name)


def test_a_call_that_hears_something_and_ends_in_one_advance() -> None:
    """A call announced every 3 s, its repeats skipped (the position and
    estimate do not move), offered a callback once, and sent away by its
    queue's maximum wait, all in one advance: what it heard is bound while
    it is live, so the repeats stay skipped. The façade once forgot it
    before wording them, and every repeat spoke and offered a callback
    again (found by a reviewer's random walks)."""
    from acdcore import Exit, QueueRules, RoutingPlan, Rule

    q = QueueConfig(
        name="q",
        announce=Announcements(every=3.0, first=0.0, min_change=15.0),
        callback=CallbackPolicy(threshold=10.0),
    )
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="q"),
        queues={"q": QueueRules(max_wait=10.0, on_max_wait=Exit("reject"))},
    )
    out = {}
    for backend in ("python", "native"):
        d = Distributor([q], plan=plan, backend=backend, estimators=[Constant()])
        acts = d.handle(CallArrived(now=0.0, call_id="c", queue="q"))
        acts += d.advance(20.0)
        out[backend] = acts
    kinds = [type(a).__name__ for a in out["python"]]
    assert kinds == ["Queued", "Announce", "OfferCallback", "Reject"], kinds
    assert out["native"] == out["python"]
