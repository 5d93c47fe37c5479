"""The simulator's event loop: :class:`_Run` plays one replication.

It takes the driver's events off the heap in time order, lets the
distributor's deadlines that fall due first run (``advance``), hands each
event to the distributor (:meth:`_Run.send`), reacts to the actions that come
back (:meth:`_Run.react`) and handles every kind of driver event: arrivals
(generated or replayed), answers, call ends, accepted callbacks, abandons,
and the agents' logins, logouts, breaks and resumes. The state it moves
forward, how that is set up and the :class:`~acdcore.sim.Replication` it sums
up to are :class:`~acdcore._sim_state._RunState`. The module docstring of
:mod:`acdcore.sim` describes the driver and the order of its random draws.
Where the C engine holds the distributor and the scenario allows,
:meth:`_Run.run` plays this same loop in C instead (:mod:`~acdcore._sim_native`).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

from . import _sim_native
from ._sim_direct import _Lane
from ._sim_state import (
    _ABANDON,
    _ANSWER,
    _ARRIVE,
    _BREAK,
    _CALLBACK,
    _CONNECTED,
    _END,
    _LOGIN,
    _LOGOUT,
    _REPLAY,
    _RESUME,
    _RINGING,
    _WAITING,
    _Call,
    _RunState,
)
from ._sim_stats import (
    _CB_ACCEPTED,
    _CB_ANSWERED,
    _CB_ATTEMPTS,
    _CB_FAILED,
    _CB_OFFERED,
    _CB_WAIT,
)
from .actions import (
    Action,
    CallbackFailed,
    CancelOffer,
    Offer,
    OfferCallback,
    Overflow,
    PauseAgent,
    PlaceCallback,
    Queued,
    Reject,
    SelfService,
)
from .distributions import Distribution
from .errors import AcdError
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallbackRequested,
    CallEnded,
    Event,
    OfferAnswered,
)
from .skills import SkillRequirement


class SimulationError(RuntimeError):
    """The simulator sent an event the distributor refused: a simulator bug
    (the distributor's error is chained as ``__cause__``)."""


class _Run(_RunState):
    """One replication: the event loop and its handlers, over the state and
    set-up of :class:`~acdcore._sim_state._RunState`. Arrivals, answers,
    call ends, abandons and deadlines take the direct lane
    (:mod:`~acdcore._sim_direct`) while the C engine holds the distributor."""

    lane: _Lane | None = None

    # ------------------------------------------------------------- run

    def run(self) -> None:
        self.lane = _Lane.of(self)
        if not (_sim_native.covered(self) and _sim_native.play(self)):
            self.loop()  # (play: the same loop, in C)
        # Agent time counts up to the end of the measured period even when the
        # centre sits empty before it (and past it while wrap-ups finish).
        last = max(self.acd.now, self.metrics.now, self.measured_end)
        self.metrics.advance(last + self.max_wrap)

    def loop(self) -> None:
        if self.arrivals is not None:
            first = next(self.arrivals, None)
            if first is not None:
                self.push(first, _ARRIVE)
        elif self.replay and self.origin + self.replay[0].t < self.measured_end:
            self.push(self.origin + self.replay[0].t, _REPLAY, 0)
        heap = self.heap
        acd = self.acd
        next_deadline = acd.next_deadline
        advance = acd.advance
        observe = self.metrics.observe_actions
        react = self.react
        calls = self.calls
        journal = self.journal
        measured_end = self.measured_end
        hard_stop = self.hard_stop
        pop = heapq.heappop
        inf = math.inf
        while True:
            t = heap[0][0] if heap else inf
            d = next_deadline()
            if d is not None and d <= t:
                if d > hard_stop:
                    break
                if self.lane is not None:
                    self.lane.advance(d)
                    continue
                acts = advance(d)
                self.n_advances += 1
                if journal is not None:
                    journal.append((d, acts))
                if acts:
                    observe(acts)
                    react(acts)
                continue
            if t > hard_stop or (t >= measured_end and not calls):
                break
            item = pop(heap)
            kind = item[2]
            if kind == _ANSWER:
                self.on_answer(item)
            elif kind == _END:
                self.on_end(item)
            elif kind == _ARRIVE:
                self.on_arrive(t)
            elif kind == _ABANDON:
                self.on_abandon(item)
            elif kind == _REPLAY:
                self.on_replay(item)
            elif kind == _LOGIN:
                self.on_login(item)
            elif kind == _LOGOUT:
                self.on_logout(item)
            elif kind == _BREAK:
                self.on_break(item)
            elif kind == _CALLBACK:
                self.on_callback(item)
            else:
                self.on_resume(item)

    def send(self, event: Event) -> None:
        try:
            acts = self.acd.handle(event)
        except AcdError as exc:
            raise SimulationError(f"the distributor refused {event!r}: {exc}") from exc
        self.n_events += 1
        if self.lane is not None and not self.lane.live():
            self.lane = None  # the event handed the state over: no engine any more
        metrics = self.metrics
        metrics.observe_event(event)
        if acts:
            metrics.observe_actions(acts)
        if self.journal is not None:
            self.journal.append((event, acts))
        self.react(acts)

    def react(self, actions: list[Action]) -> None:
        calls = self.calls
        for act in actions:
            tp = type(act)
            if tp is Offer:
                assert isinstance(act, Offer)
                self.rang(act.at, act.call_id, act.agent_id, act.queue)
            elif tp is Queued:
                calls[act.call_id].state = _WAITING  # type: ignore[attr-defined]
            elif tp is CancelOffer:
                del self.offers[(act.call_id, act.agent_id)]  # type: ignore[attr-defined]
            elif tp is Reject or tp is SelfService:
                del calls[act.call_id]  # type: ignore[attr-defined]
            elif tp is Overflow:
                assert isinstance(act, Overflow)
                if act.target_queue is None:
                    del calls[act.call_id]
            elif tp is OfferCallback:
                assert isinstance(act, OfferCallback)
                self._count_callback(act.call_id, _CB_OFFERED)
                accept = self.q_accept.get(act.queue, 0.0)
                if accept > 0.0 and self.rng.random() < accept:
                    self.push(act.at, _CALLBACK, act.call_id)
            elif tp is PlaceCallback:
                assert isinstance(act, PlaceCallback)
                cid, aid = act.call_id, act.agent_id
                self._count_callback(cid, _CB_ATTEMPTS)
                calls[cid].state = _RINGING
                calls[cid].offered_from = act.queue
                self.offer_token += 1
                self.offers[(cid, aid)] = self.offer_token
                if self.rng.random() < self.q_answer.get(act.queue, 1.0):
                    delay = self.agents[aid].answer.sample(self.rng)
                    self.push(act.at + delay, _ANSWER, cid, aid, self.offer_token)
            elif tp is CallbackFailed:
                self._count_callback(act.call_id, _CB_FAILED)  # type: ignore[attr-defined]
                del calls[act.call_id]  # type: ignore[attr-defined]
            elif tp is PauseAgent:
                assert isinstance(act, PauseAgent)
                agent = self.agents[act.agent_id]
                agent.paused = True
                if not agent.on_break:
                    agent.token += 1
                    delay = agent.resume.sample(self.rng)
                    self.push(act.at + delay, _RESUME, act.agent_id, agent.token)

    def rang(self, at: float, cid: str, aid: str, queue: str) -> None:
        """An offer of call ``cid`` (of ``queue``) rings agent ``aid``: it is
        answered after the agent's answer delay, or let ring out."""
        call = self.calls[cid]
        call.state = _RINGING
        call.offered_from = queue
        self.offer_token += 1
        token = self.offer_token
        self.offers[(cid, aid)] = token
        agent = self.agents[aid]
        if agent.rona > 0.0 and self.rng.random() < agent.rona:
            return  # let it ring out
        self.push(at + agent.answer.sample(self.rng), _ANSWER, cid, aid, token)

    # ---------------------------------------------------------- arrivals

    def on_arrive(self, t: float) -> None:
        rng = self.rng
        types = self.types
        if len(types) > 1:
            # min(): the cumulative weights may sum to a hair under 1.0.
            ct = types[min(bisect_right(self.cum, rng.random()), len(types) - 1)]
        else:
            ct = types[0]
        queue = ct.queue if ct.queue is not None else self.planned(ct.attributes, t)
        dist = ct.patience or self.q_patience[queue]
        patience = dist.sample(rng) if dist is not None else math.inf
        assert self.arrivals is not None
        nxt = next(self.arrivals, None)
        if nxt is not None:
            self.push(nxt, _ARRIVE)
        self.arrive(
            t, queue, ct.attributes, ct.priority, ct.emergency, ct.requirement, ct.handle,
            None, patience,
        )  # fmt: skip

    def on_replay(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, index = item[0], item[3]
        c = self.replay[index]
        if index + 1 < len(self.replay):
            nxt = self.origin + self.replay[index + 1].t
            if nxt < self.measured_end:  # later calls are not part of the run
                self.push(nxt, _REPLAY, index + 1)
        ct = self.by_name.get(c.call_type) if c.call_type is not None else None
        attributes: Mapping[str, Any] = c.attributes
        if ct is not None and ct.attributes:
            attributes = {**ct.attributes, **c.attributes}
        queue = c.queue or (ct.queue if ct is not None else None)
        if queue is None:
            queue = self.planned(attributes, t)
        if c.patience is not None:
            patience = c.patience
        else:
            dist = (ct.patience if ct is not None else None) or self.q_patience[queue]
            patience = dist.sample(self.rng) if dist is not None else math.inf
        priority = c.priority if c.priority is not None else (ct.priority if ct else 0)
        self.arrive(
            t, queue, attributes, priority, ct.emergency if ct else False,
            ct.requirement if ct else None, ct.handle if ct else None, c.handle, patience,
        )  # fmt: skip

    def arrive(
        self,
        t: float,
        queue: str,
        attributes: Mapping[str, Any],
        priority: int,
        emergency: bool,
        requirement: SkillRequirement | None,
        handle: Distribution | None,
        fixed: float | None,
        patience: float,
    ) -> None:
        self.next_call += 1
        cid = f"c{self.next_call}"
        bucket = self._bucket(t)
        call = _Call(t, queue, bucket, handle, fixed)
        calls = self.calls
        calls[cid] = call
        ev = CallArrived(
            now=t,
            call_id=cid,
            queue=queue,
            attributes=attributes,
            priority=priority,
            emergency=emergency,
            requirement=requirement,
        )
        lane = self.lane
        if lane is None or not lane.arrive(ev):
            self.lane = None  # (the engine handed the state over, if there was one)
            self.send(ev)
        if cid not in calls:
            return  # rejected, or sent away by the plan
        if patience < math.inf:
            self.push(t + patience, _ABANDON, cid)
        if bucket >= 0:
            self.entered[bucket] += 1
            self.q_entered[queue][bucket] += 1
            if call.state == _WAITING:
                self.delayed[bucket] += 1
                self.q_delayed[queue][bucket] += 1
                if self.estimators:
                    estimate = self.acd.estimate
                    self.pending_ewt[cid] = (
                        priority,
                        {e.name: estimate(cid, e).seconds for e in self.estimators},
                    )

    # ------------------------------------------------------------- calls

    def on_answer(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, cid, aid, token = item
        if self.offers.get((cid, aid)) != token:
            return  # cancelled: rang out, answered elsewhere, caller hung up...
        if self.lane is not None:
            self.lane.answer(t, cid, aid)
        else:
            self.send(OfferAnswered(now=t, call_id=cid, agent_id=aid))
        del self.offers[(cid, aid)]
        call = self.calls[cid]
        call.state = _CONNECTED
        call.agent = aid
        self.agents[aid].connected += 1
        if call.bucket >= 0:
            self.waits[call.queue].append(t - call.arrived)
            if call.callback:
                counters = self.cb[call.queue]
                counters[_CB_ANSWERED][call.bucket] += 1
                counters[_CB_WAIT][call.bucket] += t - call.arrived
        if self.pending_ewt:
            self._record_wait(cid, call, t, True)
        if call.fixed is not None:
            talk = call.fixed
        else:
            dist = call.handle or self.q_handle[call.offered_from]
            talk = dist.sample(self.rng)
        self.push(t + talk, _END, cid)

    def on_end(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state != _CONNECTED:
            return
        if self.lane is not None:
            self.lane.end(t, cid)
        else:
            self.send(CallEnded(now=t, call_id=cid))
        del self.calls[cid]
        agent = self.agents[call.agent]
        agent.connected -= 1
        if agent.pending_logout and agent.connected == 0:
            self.logged_out(agent)
            if agent.relogin:
                agent.relogin = False
                self.push(t, _LOGIN, call.agent)

    def on_callback(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state != _WAITING or call.callback:
            return  # served or gone meanwhile
        self.send(CallbackRequested(now=t, call_id=cid))
        call.callback = True  # off the line: it no longer hangs up
        if call.bucket >= 0:
            self.cb[call.queue][_CB_ACCEPTED][call.bucket] += 1

    def on_abandon(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, cid = item[0], item[3]
        call = self.calls.get(cid)
        if call is None or call.state == _CONNECTED or call.callback:
            return
        if self.lane is not None:
            self.lane.abandon(t, cid)
        else:
            self.send(CallAbandoned(now=t, call_id=cid))
        del self.calls[cid]
        if call.bucket >= 0:
            self.abandoned[call.queue].append(t - call.arrived)
        if self.pending_ewt:
            self._record_wait(cid, call, t, False)

    # ------------------------------------------------------------ agents

    def on_login(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, aid = item[0], item[3]
        agent = self.agents[aid]
        if agent.logged_in:
            if agent.pending_logout:
                agent.relogin = True  # still on its last call: log in when it ends
            return
        self.send(AgentLoggedIn(now=t, profile=agent.profile))
        agent.logged_in = True
        agent.paused = False
        agent.on_break = False
        agent.token += 1

    def on_logout(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, aid = item[0], item[3]
        agent = self.agents[aid]
        agent.relogin = False
        if not agent.logged_in or agent.pending_logout:
            return
        self.send(AgentLoggedOut(now=t, agent_id=aid))
        if agent.connected:
            agent.pending_logout = True
            agent.token += 1
        else:
            self.logged_out(agent)

    def on_break(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, aid, reason, duration = item
        agent = self.agents[aid]
        if not agent.logged_in or agent.pending_logout:
            return
        self.send(AgentPaused(now=t, agent_id=aid, reason=reason))
        agent.paused = True
        agent.on_break = True
        agent.token += 1
        self.push(t + duration, _RESUME, aid, agent.token)

    def on_resume(self, item: tuple[float, int, int, Any, Any, Any]) -> None:
        t, _, _, aid, token, _ = item
        agent = self.agents[aid]
        if not (agent.logged_in and agent.paused and agent.token == token):
            return
        self.send(AgentResumed(now=t, agent_id=aid))
        agent.paused = False
        agent.on_break = False
