"""Stateful property test: random event sequences against the distributor.

After every step the distributor's own ``check()`` runs (call accounting,
capacity, queue order, free sets, pending deadlines, work conservation), and
this machine checks what it can see from outside: every offer goes to an agent
who is eligible for the call, the offers it believes outstanding match the
distributor's, every call ends in exactly one outcome, refused events leave
the state untouched, and replaying the journal gives the same actions.

Two rules attack determinism on purpose. ``reuse_id`` brings back the id of a
call in any state (live ones must be refused; an ended one, even one whose
agent is still wrapping it up or one that ended at this very instant, is a new
call in every respect). ``read`` calls a random read-only method between
events; the journal replay at the end runs without any of those reads, so a
read that changed a later decision makes the replay differ.
"""

from __future__ import annotations

import contextlib
import math
import random

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from acdcore import (
    AcdError,
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    AgentState,
    Announce,
    Announcements,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackFailed,
    CallbackPolicy,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallState,
    CallTransferred,
    CancelOffer,
    Distributor,
    Event,
    Offer,
    OfferAnswered,
    OfferCallback,
    OfferDeclined,
    Overflow,
    PauseAgent,
    PlaceCallback,
    QueueConfig,
    Queued,
    Reject,
    RoutingPlan,
    SelfService,
    SkillRequirement,
    Strategy,
    SurgeMode,
    _deadlines,
)
from acdcore.plans import _weaker_or_equal
from acdcore.router import skill_eligible

from .helpers import read_only_calls
from .strategies import (
    AGENT_IDS,
    QUEUE_NAMES,
    agent_profiles,
    call_attributes,
    channels,
    plan_call_attributes,
    queue_configs,
    requirements,
    routing_plans,
    skill_maps,
)

# Steps checked per machine in this process (printed by conftest at the end).
STEPS: dict[str, int] = {}


class DistributorMachine(RuleBasedStateMachine):
    """Drives one distributor with random events and checks it after each."""

    def __init__(self) -> None:
        super().__init__()
        self.acd: Distributor
        self.t = 0.0
        self.journal: list[tuple[str, float | Event]] = []
        self.emitted: list[Action] = []
        self.offers: dict[str, list[str]] = {}  # call -> agents ringing (from actions)
        self.live: dict[str, str] = {}  # call -> "waiting" | "ringing" | "connected"
        self.outcomes: list[tuple[str, str]] = []  # (call, final outcome), in order
        self.callbacks: dict[str, tuple[str, tuple[float, ...]]] = {}  # call -> (queue, key)
        self.rotations: dict[str, int] = {}  # call -> rotation of its last announcement
        self.next_call = 0  # the next fresh id is f"c{next_call}"
        self.arrivals = 0  # accepted CallArrived events (fresh and reused ids)
        self.dead: set[int] = set()  # scheduling numbers of deadlines seen dead
        self.seed = 0

    @initialize(
        data=st.data(),
        n_queues=st.integers(1, 3),
        seed=st.integers(0, 2**16),
    )
    def setup(self, data: st.DataObject, n_queues: int, seed: int) -> None:
        names = QUEUE_NAMES[:n_queues]
        self.configs = [self.adjust(data.draw(queue_configs(n))) for n in names]
        self.queue_names = names
        self.profiles = {a: data.draw(agent_profiles(a, names)) for a in AGENT_IDS}
        self.seed = seed
        self.plan = self.make_plan(data, names)
        self.acd = self.build()
        for aid in AGENT_IDS[: data.draw(st.integers(0, len(AGENT_IDS)), label="logged in")]:
            self._send(AgentLoggedIn(now=0.0, profile=self.profiles[aid]))

    def build(self, backend: str | None = None) -> Distributor:
        """A distributor for this example (the default backend unless asked)."""
        return Distributor(
            self.configs, rng=random.Random(self.seed), plan=self.plan, backend=backend
        )

    def adjust(self, config: QueueConfig) -> QueueConfig:
        """Hook for variants that constrain the queue configurations."""
        return config

    def make_plan(self, data: st.DataObject, names: tuple[str, ...]) -> RoutingPlan | None:
        """Hook for variants that route with a plan."""
        return None

    # -------------------------------------------------------------- driving

    def _ended(self, cid: str, outcome: str) -> None:
        """The model's side of a call's one outcome: it must be live here."""
        assert cid in self.live, f"{cid} ended ({outcome}) but is not live"
        del self.live[cid]
        self.outcomes.append((cid, outcome))
        self.offers.pop(cid, None)
        self.callbacks.pop(cid, None)
        self.rotations.pop(cid, None)

    def _observe(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Offer):
                event("offer")
                view = self.acd.agent(a.agent_id)
                assert view.state is not AgentState.LOGGED_OUT
                # Checked against the current state when the offer is still
                # outstanding (later actions of this step may have ended it).
                agent = self.acd._reads()._agents[a.agent_id]
                call = self.acd._reads()._calls.get(a.call_id)
                if call is not None and a.agent_id in call.offers:
                    assert skill_eligible(agent, call), (
                        f"{a.agent_id} offered ineligible {a.call_id}"
                    )
                self.offers.setdefault(a.call_id, []).append(a.agent_id)
                self.live[a.call_id] = "ringing"
            elif isinstance(a, CancelOffer):
                event(f"cancel: {a.reason}")
                self.offers[a.call_id].remove(a.agent_id)
                if not self.offers[a.call_id]:
                    del self.offers[a.call_id]
            elif isinstance(a, Queued):
                self.live[a.call_id] = "waiting"
            elif isinstance(a, PauseAgent):
                event("auto-pause")
            elif isinstance(a, Reject):
                event("rejected")
                self._ended(a.call_id, "rejected")
            elif isinstance(a, SelfService):
                event(f"self-service: {a.reason}")
                self._ended(a.call_id, "self-service")
            elif isinstance(a, Overflow):
                event(f"overflow: {a.reason}")
                if a.destination is not None:
                    self._ended(a.call_id, "overflowed")
            elif isinstance(a, SurgeMode):
                event("surge mode changed")
            elif isinstance(a, PlaceCallback):
                event(f"callback attempt {min(a.attempt, 3)}")
                assert a.call_id in self.callbacks
                self.offers.setdefault(a.call_id, []).append(a.agent_id)
                self.live[a.call_id] = "ringing"
            elif isinstance(a, CallbackFailed):
                event("callback failed")
                self._ended(a.call_id, "callback-failed")
            elif isinstance(a, Announce):
                event("announcement")
                last = self.rotations.get(a.call_id)
                prompts = self.acd.queues[a.queue].announce
                assert prompts is not None
                if last is not None and prompts.prompts > 1:
                    assert a.rotation != last, f"{a.call_id} hears prompt {last} twice in a row"
                self.rotations[a.call_id] = a.rotation
            elif isinstance(a, OfferCallback):
                event("callback offered")
        for a in actions:
            if (
                isinstance(a, CancelOffer)
                and a.reason == "callback-unanswered"
                and self.live.get(a.call_id) == "ringing"
                and a.call_id not in self.offers
            ):
                self.live[a.call_id] = "callback-pending"
        self.emitted += actions

    def _advance(self, now: float) -> None:
        self.journal.append(("advance", now))
        self._observe(self.acd.advance(now))

    def _send(self, ev: Event) -> list[Action]:
        self._advance(ev.now)
        self.journal.append(("event", ev))
        actions = self._apply(ev)
        if isinstance(ev, CallArrived):
            self.arrivals += 1
        self._observe(actions)
        return actions

    def _apply(self, ev: Event) -> list[Action]:
        """Hand an accepted event to the distributor (or distributors)."""
        return self.acd.handle(ev)

    def _refused(self, ev: Event | None, advance_to: float | None = None) -> None:
        """The event (or advance) must raise an AcdError and change nothing."""
        before = self.acd.snapshot()
        try:
            if ev is not None:
                self.acd.handle(ev)
            else:
                assert advance_to is not None
                self.acd.advance(advance_to)
        except AcdError:
            pass
        else:
            raise AssertionError(f"bad input accepted: {ev or advance_to!r}")
        assert self.acd.snapshot() == before, f"refused {ev!r} changed the state"

    # ---------------------------------------------------------------- rules

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5, 5.0, 15.0, 40.0]))
    def tick(self, dt: float) -> None:
        self.t += dt
        self._advance(self.t)

    @rule(dt=st.sampled_from([0.0, 1.0, 2.5]))
    def jump_to_deadline(self, dt: float) -> None:
        due = self.acd.next_deadline()
        if due is not None:
            self.t = max(self.t, due + dt)
            self._advance(self.t)

    @rule(i=st.integers(0, len(AGENT_IDS) - 1))
    def login(self, i: int) -> None:
        aid = AGENT_IDS[i]
        ev = AgentLoggedIn(now=self.t, profile=self.profiles[aid])
        self._advance(self.t)
        known = aid in self.acd._reads()._agents
        if known and self.acd.agent(aid).state is not AgentState.LOGGED_OUT:
            self._refused(ev)
        else:
            self._send(ev)

    @rule(i=st.integers(0, len(AGENT_IDS) - 1))
    def logout(self, i: int) -> None:
        aid = AGENT_IDS[i]
        self._advance(self.t)
        ev = AgentLoggedOut(now=self.t, agent_id=aid)
        if aid not in self.acd._reads()._agents:
            self._refused(ev)
            return
        view = self.acd.agent(aid)
        if view.state is AgentState.LOGGED_OUT or view.pending_logout:
            self._refused(ev)
        else:
            self._send(ev)

    @rule(i=st.integers(0, len(AGENT_IDS) - 1), reason=st.sampled_from(["break", "lunch"]))
    def pause(self, i: int, reason: str) -> None:
        aid = AGENT_IDS[i]
        self._advance(self.t)
        ev = AgentPaused(now=self.t, agent_id=aid, reason=reason)
        if (
            aid in self.acd._reads()._agents
            and self.acd.agent(aid).state is not AgentState.LOGGED_OUT
        ):
            self._send(ev)
        else:
            self._refused(ev)

    @rule(i=st.integers(0, len(AGENT_IDS) - 1))
    def resume(self, i: int) -> None:
        aid = AGENT_IDS[i]
        self._advance(self.t)
        ev = AgentResumed(now=self.t, agent_id=aid)
        if aid in self.acd._reads()._agents and self.acd.agent(aid).paused_reason is not None:
            self._send(ev)
        else:
            self._refused(ev)

    @rule(i=st.integers(0, len(AGENT_IDS) - 1), skills=skill_maps)
    def change_skills(self, i: int, skills: dict[str, int]) -> None:
        aid = AGENT_IDS[i]
        self._advance(self.t)
        ev = AgentSkillsChanged(now=self.t, agent_id=aid, skills=skills)
        if aid in self.acd._reads()._agents:
            self._send(ev)
        else:
            self._refused(ev)

    @rule(data=st.data())
    def strip_skills_while_ringing(self, data: st.DataObject) -> None:
        """An agent loses its skills while an offer rings for it: offers it
        no longer qualifies for are withdrawn at once ("skills-changed") and
        their calls go back to their places. The random skill changes above
        rarely land while one of its offers rings."""
        self._advance(self.t)
        ringing = sorted(
            {aid for cid in self.acd.live_calls() for aid in self.acd.call(cid).offered_to}
        )
        if ringing:
            aid = data.draw(st.sampled_from(ringing))
            self._send(AgentSkillsChanged(now=self.t, agent_id=aid, skills={}))

    @rule(
        q=st.integers(0, 2),
        channel=channels,
        attributes=call_attributes,
        requirement=st.one_of(st.none(), requirements),
        priority=st.integers(0, 3),
        emergency=st.booleans(),
        preferred=st.one_of(st.none(), st.sampled_from(AGENT_IDS)),
    )
    def arrive(
        self,
        q: int,
        channel: object,
        attributes: dict[str, object],
        requirement: object,
        priority: int,
        emergency: bool,
        preferred: str | None,
    ) -> None:
        cid = f"c{self.next_call}"
        self.next_call += 1
        queue = self.queue_names[q % len(self.queue_names)]
        ev = CallArrived(
            now=self.t,
            call_id=cid,
            queue=queue,
            channel=channel,  # type: ignore[arg-type]
            attributes=attributes,
            requirement=requirement,  # type: ignore[arg-type]
            priority=priority,
            emergency=emergency,
            preferred_agent=preferred,
        )
        self.live[cid] = "waiting"
        self._send(ev)

    @rule(q=st.integers(0, 2), n=st.integers(1, 4))
    def burst(self, q: int, n: int) -> None:
        """Several plain voice calls at the same instant (ties on purpose)."""
        for _ in range(n):
            cid = f"c{self.next_call}"
            self.next_call += 1
            self.live[cid] = "waiting"
            queue = self.queue_names[q % len(self.queue_names)]
            self._send(CallArrived(now=self.t, call_id=cid, queue=queue))

    @precondition(lambda self: self.next_call > 0)
    @rule(k=st.integers(0, 100), q=st.integers(0, 2), recent=st.booleans())
    def reuse_id(self, k: int, q: int, recent: bool) -> None:
        """A call arrives with an id used before: refused while that call is
        live (waiting, ringing, connected, a pending callback), a new call
        once it has ended (also while its agent wraps it up, or at the very
        instant it ended)."""
        self._advance(self.t)
        ended = [c for c, _ in self.outcomes[-2:]]
        cands = ended if recent and ended else [f"c{i}" for i in range(self.next_call)]
        cid = cands[k % len(cands)]
        queue = self.queue_names[q % len(self.queue_names)]
        ev = CallArrived(now=self.t, call_id=cid, queue=queue)
        if cid in self.live:
            event(f"id reused while {self.live[cid]}")
            self._refused(ev)
            return
        wrapping = any(
            s.call_id == cid and s.state.value == "wrap-up"
            for a in self.acd._reads()._agents.values()
            for s in a.sessions.values()
        )
        event("id reused during its wrap-up" if wrapping else "id reused after it ended")
        self.live[cid] = "waiting"
        self._send(ev)

    @rule(which=st.integers(0, 19), k=st.integers(0, 100))
    def read(self, which: int, k: int) -> None:
        """A read-only call between events: it must change nothing now (the
        snapshot is equal before and after) and nothing later (the replay
        in teardown runs without it)."""
        acd = self.acd
        cids = sorted(self.live) or ["c0"]
        cid = cids[k % len(cids)]
        aid = AGENT_IDS[k % len(AGENT_IDS)]
        queue = self.queue_names[k % len(self.queue_names)]
        reads = read_only_calls(acd, cid, aid, queue, k)
        before = acd.snapshot()
        with contextlib.suppress(AcdError):  # e.g. no estimator attached, or not waiting
            reads[which % len(reads)]()
        assert acd.snapshot() == before, f"read #{which % len(reads)} changed the state"

    @precondition(lambda self: bool(self.offers))
    @rule(k=st.integers(0, 100))
    def answer(self, k: int) -> None:
        self.respond(k, True)

    @precondition(lambda self: bool(self.offers))
    @rule(k=st.integers(0, 100), answer=st.booleans())
    def respond(self, k: int, answer: bool) -> None:
        self._advance(self.t)
        pairs = sorted((c, a) for c, agents in self.offers.items() for a in agents)
        if not pairs:
            return
        cid, aid = pairs[k % len(pairs)]
        if answer:
            ringing = list(self.offers[cid])
            if len(ringing) > 1:
                event("ring-all answered with several agents ringing")
            actions = self._send(OfferAnswered(now=self.t, call_id=cid, agent_id=aid))
            assert self.offers.pop(cid) == [aid]
            self.live[cid] = "connected"
            # The other ring-all offers were cancelled in the same step.
            cancelled = {
                x.agent_id for x in actions if isinstance(x, CancelOffer) and x.call_id == cid
            }
            assert cancelled == set(ringing) - {aid}
        else:
            self._send(OfferDeclined(now=self.t, call_id=cid, agent_id=aid))
            ringing = self.offers.get(cid)  # None if the call has ended meanwhile
            if ringing is not None:
                ringing.remove(aid)
                if not ringing:
                    del self.offers[cid]

    @precondition(lambda self: any(s != "connected" for s in self.live.values()))
    @rule(k=st.integers(0, 100))
    def abandon(self, k: int) -> None:
        self._advance(self.t)
        cands = sorted(
            c for c, s in self.live.items() if s != "connected" and c not in self.callbacks
        )
        if not cands:
            return
        cid = cands[k % len(cands)]
        self._send(CallAbandoned(now=self.t, call_id=cid))
        self._ended(cid, "abandoned")

    @precondition(lambda self: any(s == "connected" for s in self.live.values()))
    @rule(k=st.integers(0, 100))
    def end(self, k: int) -> None:
        self._advance(self.t)
        cands = sorted(c for c, s in self.live.items() if s == "connected")
        cid = cands[k % len(cands)]
        self._send(CallEnded(now=self.t, call_id=cid))
        event("completed")
        self._ended(cid, "completed")

    # ------------------------------------------------------------ bad input

    @rule(kind=st.integers(0, 11), k=st.integers(0, 100))
    def bad_event(self, kind: int, k: int) -> None:
        self._advance(self.t)
        t = self.t
        live = sorted(self.live)
        connected = sorted(c for c, s in self.live.items() if s == "connected")
        waiting = sorted(c for c, s in self.live.items() if s == "waiting")
        ev: Event | None = None
        if kind == 0:
            ev = CallArrived(now=t, call_id="c" + str(self.next_call), queue="no-such-queue")
        elif kind == 1 and live:
            ev = CallArrived(now=t, call_id=live[k % len(live)], queue=self.queue_names[0])
        elif kind == 2:
            ev = CallAbandoned(now=t, call_id="never-arrived")
        elif kind == 3 and live:
            ev = OfferAnswered(now=t, call_id=live[k % len(live)], agent_id="nobody")
        elif kind == 4 and waiting:
            ev = OfferAnswered(now=t, call_id=waiting[k % len(waiting)], agent_id=AGENT_IDS[0])
        elif kind == 5 and connected:
            ev = CallAbandoned(now=t, call_id=connected[k % len(connected)])
        elif kind == 6 and waiting:
            ev = CallEnded(now=t, call_id=waiting[k % len(waiting)])
        elif kind == 7 and t > 0:
            ev = AgentPaused(now=t - 0.5, agent_id=AGENT_IDS[0])
        elif kind == 8:
            ev = CallArrived(now=math.nan, call_id="nan", queue=self.queue_names[0])
        elif kind == 9:
            ev = AgentSkillsChanged(now=t, agent_id=AGENT_IDS[k % 5], skills={"tech": 11})
        elif kind == 10:
            ev = AgentResumed(now=t, agent_id="ghost")
        elif kind == 11 and t > 0:
            self._refused(None, advance_to=t - 1.0)
            return
        if ev is not None:
            self._refused(ev)

    # ----------------------------------------------------------- invariants

    @invariant()
    def distributor_invariants(self) -> None:
        if hasattr(self, "acd"):
            STEPS[type(self).__name__] = STEPS.get(type(self).__name__, 0) + 1
            self.acd.check()

    @invariant()
    def dead_deadlines_stay_dead(self) -> None:
        """Why a read cannot change a decision: dropping a dead deadline
        early (as reading once did) or late is harmless only if no deadline
        ever comes back to life, so that is checked for every one seen."""
        if not hasattr(self, "acd"):
            return
        seen = self.dead
        reads = self.acd._reads()  # on the engine: its state as records (live deadlines only)
        for _, tseq, kind, rec, token in reads._timers:
            if _deadlines.timer_live(reads, tseq, kind, rec, token):
                assert tseq not in seen, f"deadline #{tseq} (kind {kind}) came back to life"
            else:
                seen.add(tseq)

    @invariant()
    def model_agrees(self) -> None:
        if not hasattr(self, "acd"):
            return
        for cid, agents in self.offers.items():
            view = self.acd.call(cid)
            assert view.state is CallState.RINGING
            assert sorted(view.offered_to) == sorted(agents), (cid, view.offered_to, agents)
        counts = self.acd.counts()
        for name in (
            "completed", "abandoned", "rejected", "overflowed", "self-service", "callback-failed",
            "callback-cancelled",
        ):  # fmt: skip
            assert counts[name] == sum(1 for _, o in self.outcomes if o == name), name
        assert counts["arrived"] == self.arrivals
        live = ("waiting", "ringing", "connected", "callback-pending")
        assert sum(counts[s] for s in live) == len(self.live)
        for cid, state in self.live.items():
            assert self.acd.call(cid).state.value == state, (cid, state)
        # A callback keeps its place (its key in its queue) until it is served.
        for cid, (queue, key) in self.callbacks.items():
            if self.live.get(cid) in ("waiting", "ringing", "callback-pending"):
                call = self.acd._reads()._calls[cid]
                assert (call.queue, call.key) == (queue, key), f"callback {cid} lost its place"

    def teardown(self) -> None:
        if not hasattr(self, "acd"):
            return
        event(f"journal length >= {min(len(self.journal) // 25 * 25, 100)}")
        event(f"calls arrived >= {min(self.arrivals // 5 * 5, 20)}")
        # Determinism: replaying the journal gives the same actions and state.
        twin = self.build()
        replayed: list[Action] = []
        for kind, item in self.journal:
            if kind == "advance":
                assert isinstance(item, float)
                replayed += twin.advance(item)
            else:
                assert isinstance(item, Event)
                replayed += twin.handle(item)
        assert replayed == self.emitted
        assert twin.snapshot() == self.acd.snapshot()


def test_distributor() -> None:
    run_state_machine_as_test(DistributorMachine)


class RingAllMachine(DistributorMachine):
    """Every queue rings all and needs no skill: races between several ringing
    agents (answer, decline, abandon, logout, timeout) are the common case."""

    def adjust(self, config: QueueConfig) -> QueueConfig:
        return attrs.evolve(
            config, strategy=Strategy.RING_ALL, requirement=SkillRequirement(), max_length=None
        )


class CallbackMachine(DistributorMachine):
    """Announcements and callbacks: callers accept callbacks, attempts go
    unanswered, retries come back at the caller's place; a callback keeps
    its key from request to service and never abandons."""

    def adjust(self, config: QueueConfig) -> QueueConfig:
        if config.name == QUEUE_NAMES[2]:
            return config  # one queue offers no callbacks: requests there are refused
        return attrs.evolve(
            config,
            announce=Announcements(every=10.0, first=0.0 if config.wrap_up else 5.0, prompts=2),
            callback=CallbackPolicy(
                threshold=0.0, retries=1, retry_delay=config.wrap_up, dial_timeout=10.0
            ),
        )

    @precondition(lambda self: bool(self.live))
    @rule(k=st.integers(0, 100))
    def request_callback(self, k: int) -> None:
        self._advance(self.t)
        eligible = sorted(
            c
            for c, s in self.live.items()
            if s == "waiting"
            and c not in self.callbacks
            and self.acd.queues[self.acd._reads()._calls[c].queue].callback is not None
        )
        # Mostly a caller who may accept; now and then any call (refused if not).
        cands = eligible if eligible and k % 4 else sorted(self.live)
        if not cands:
            return
        cid = cands[k % len(cands)]
        ev = CallbackRequested(now=self.t, call_id=cid, number=f"+1{k}")
        call = self.acd._reads()._calls[cid]
        if (
            self.live[cid] != "waiting"
            or cid in self.callbacks
            or self.acd.queues[call.queue].callback is None
        ):
            self._refused(ev)
            return
        self._send(ev)
        event("callback accepted")
        self.callbacks[cid] = (call.queue, call.key)

    @precondition(lambda self: bool(self.callbacks))
    @rule(k=st.integers(0, 100))
    def callback_unanswered(self, k: int) -> None:
        self._advance(self.t)
        cands = sorted(c for c in self.callbacks if self.live.get(c) == "ringing")
        if not cands:
            waiting = sorted(c for c, s in self.live.items() if s == "waiting")
            if waiting:
                self._refused(CallbackUnanswered(now=self.t, call_id=waiting[k % len(waiting)]))
            return
        cid = cands[k % len(cands)]
        self._send(CallbackUnanswered(now=self.t, call_id=cid))
        self.offers.pop(cid, None)

    @precondition(lambda self: bool(self.callbacks))
    @rule(k=st.integers(0, 100))
    def cancel_callback(self, k: int) -> None:
        """The customer withdraws a callback (waiting, being dialled or
        between attempts); a connected one cannot be withdrawn."""
        self._advance(self.t)
        cands = sorted(c for c in self.callbacks if c in self.live)
        if not cands:
            return
        cid = cands[k % len(cands)]
        ev = CallbackCancelled(now=self.t, call_id=cid)
        if self.live[cid] == "connected":
            self._refused(ev)
            return
        self._send(ev)
        event("callback cancelled")
        self._ended(cid, "callback-cancelled")

    @rule(k=st.integers(0, 100))
    def abandon_callback(self, k: int) -> None:
        """A callback's caller is not on the line: CallAbandoned is refused."""
        self._advance(self.t)
        cands = sorted(c for c in self.callbacks if self.live.get(c) not in (None, "connected"))
        if cands:
            self._refused(CallAbandoned(now=self.t, call_id=cands[k % len(cands)]))

    @invariant()
    def estimates_are_sane(self) -> None:
        if not hasattr(self, "acd"):
            return
        for name in self.queue_names:
            for cid in self.acd.waiting(name):
                est = self.acd.estimate(cid)
                assert est.seconds >= 0 and est.low <= est.seconds <= est.high


def test_callbacks() -> None:
    run_state_machine_as_test(CallbackMachine)


def test_ring_all() -> None:
    run_state_machine_as_test(RingAllMachine)


class PlanMachine(DistributorMachine):
    """The same machine routing through a random plan: rules, widening steps
    with added queues and regions, preferred agents, exits, surge modes and
    transfers. Relaxation must never narrow who may take a call."""

    def make_plan(self, data: st.DataObject, names: tuple[str, ...]) -> RoutingPlan | None:
        self.stage_seen: dict[int, tuple[object, ...]] = {}  # by the call's sequence number
        return data.draw(routing_plans(names))

    @rule(q=st.integers(0, 2), attributes=plan_call_attributes)
    def arrive_with_intent(self, q: int, attributes: dict[str, object]) -> None:
        cid = f"c{self.next_call}"
        self.next_call += 1
        self.live[cid] = "waiting"
        queue = self.queue_names[q % len(self.queue_names)]
        self._send(CallArrived(now=self.t, call_id=cid, queue=queue, attributes=attributes))

    @precondition(lambda self: any(s == "connected" for s in self.live.values()))
    @rule(k=st.integers(0, 100), q=st.integers(0, 2), keep=st.booleans())
    def transfer(self, k: int, q: int, keep: bool) -> None:
        self._advance(self.t)
        cands = sorted(c for c, s in self.live.items() if s == "connected")
        cid = cands[k % len(cands)]
        queue = self.queue_names[q % len(self.queue_names)]
        self._send(CallTransferred(now=self.t, call_id=cid, queue=queue, keep_arrival=keep))
        event("transfer")
        if self.live.get(cid) == "connected":  # not re-queued: it must have exited
            raise AssertionError(f"transferred call {cid} is still connected")

    @invariant()
    def relaxation_never_narrows(self) -> None:
        if not hasattr(self, "acd"):
            return
        for cid, call in self.acd._reads()._calls.items():
            now = (call.stage_gen, call.stage, call.requirement, call.extra_queues, call.regional)
            before = self.stage_seen.get(call.seq)
            self.stage_seen[call.seq] = now
            if before is None or before[0] != now[0]:
                continue
            _, stage0, req0, extra0, regional0 = before
            assert call.stage >= stage0, f"{cid} went back a step"
            assert _weaker_or_equal(call.requirement, req0), f"{cid} requirement narrowed"  # type: ignore[arg-type]
            assert set(extra0) <= set(call.extra_queues), f"{cid} lost added queues"  # type: ignore[arg-type]
            assert regional0 or not call.regional, f"{cid} became regional again"


class EnginePlanMachine(PlanMachine):
    """Plans made only of what the C engine covers (rules with relaxation
    steps, added queues and alerts): on the native backend they run on the
    engine rather than on the Python handlers."""

    def make_plan(self, data: st.DataObject, names: tuple[str, ...]) -> RoutingPlan | None:
        self.stage_seen = {}
        return data.draw(routing_plans(names, engine_covered=True))

    @rule(q=st.integers(0, 2))
    def empty_a_queue(self, q: int) -> None:
        """Every logged-in member of a queue logs out, so that its
        leave-empty exit fires (now, or when the last one's calls end),
        which single random logouts rarely bring about (a moved call that
        kept its old queue's max-wait deadline went unseen without it)."""
        queue = self.queue_names[q % len(self.queue_names)]
        self._advance(self.t)
        for aid in AGENT_IDS:
            if queue not in self.profiles[aid].queues:
                continue
            if aid not in self.acd._reads()._agents:
                continue
            view = self.acd.agent(aid)
            if view.state is not AgentState.LOGGED_OUT and not view.pending_logout:
                self._send(AgentLoggedOut(now=self.t, agent_id=aid))


def test_plans() -> None:
    run_state_machine_as_test(PlanMachine)


def test_engine_plans() -> None:
    run_state_machine_as_test(EnginePlanMachine)
