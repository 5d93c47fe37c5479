"""How a :class:`~acdcore.metrics.Metrics` takes in each event and action
(internal).

:class:`_MetricsHandlers` holds one handler per known event and action type
and the tables that map each type to its handler (``_EVENT_HANDLERS``,
``_ACTION_HANDLERS``); ``_apply_event`` and ``_apply_action`` first end the
wrap-ups due by the item's time, then dispatch it (a type not in the tables
is only named in ``unhandled_types``). The handlers update the live records
and the accumulators of :class:`~acdcore._metrics_core._MetricsCore` as the
module docstring of :mod:`acdcore.metrics` defines (attribution, outcomes,
waits, legs, agent time). Checking items and their order is
:class:`~acdcore.metrics.Metrics`' part.

Cost: a handler is O(1) amortised, plus O(k) to spread an agent's time over
the k interval boundaries it crossed and O(the agent's sessions) where a
handler looks through them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from ._metrics_core import _MetricsCore
from ._metrics_records import _Agent, _Answered, _Call, _ringing, _Session
from .actions import (
    Action,
    Alert,
    Announce,
    CallbackFailed,
    CancelOffer,
    Offer,
    OfferCallback,
    Overflow,
    PauseAgent,
    PlaceCallback,
    PreferredAgentBusy,
    Queued,
    Reject,
    SelfService,
    SurgeMode,
)
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
    OfferDeclined,
)


class _MetricsHandlers(_MetricsCore):
    """The event and action handlers of :class:`~acdcore.metrics.Metrics`."""

    def _at(self, now: float) -> None:
        """What every item does first: end the wrap-ups due by ``now``, then
        move the clock to it."""
        self._settle(now)
        self._now = now

    def _apply_event(self, event: Event) -> None:
        self._at(float(event.now))
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is None:
            self._unhandled.add(type(event).__name__)
            return
        handler(self, event)

    def _apply_action(self, action: Action) -> None:
        self._at(float(action.at))
        handler = _ACTION_HANDLERS.get(type(action))
        if handler is None:
            self._unhandled.add(type(action).__name__)
            return
        handler(self, action)

    # ------------------------------------------------------ event handlers
    # To support a new event or action type, write a handler below and add
    # it to _EVENT_HANDLERS / _ACTION_HANDLERS at the end of the module.
    # The commonest items' handlers take their fields (``_call_arrived``,
    # ``_offer_answered``...): the simulator's direct lane calls them with
    # the engine's records' fields, after ``_at``, building no object.

    def _on_call_arrived(self, ev: CallArrived) -> None:
        self._call_arrived(float(ev.now), ev.call_id, ev.queue)

    def _call_arrived(self, now: float, call_id: str, queue: str) -> None:
        if queue not in self._wrap:
            self._ignored += 1
            return
        bucket = self._index(now)
        self._calls[call_id] = _Call(
            call_id=call_id,
            seq=self._call_seq,
            queue=queue,
            current=queue,
            arrived=now,
            bucket=bucket,
        )
        self._call_seq += 1
        self._qacc(bucket, queue).offered += 1

    def _on_call_abandoned(self, ev: CallAbandoned) -> None:
        self._call_abandoned(float(ev.now), ev.call_id)

    def _call_abandoned(self, now: float, call_id: str) -> None:
        call = self._call(call_id)
        if call is None or call.state == "connected":
            return
        del self._calls[call_id]
        if call.answered:
            return  # hung up waiting after a transfer: the call was answered
        wait = now - call.arrived
        acc = self._qacc(call.bucket, call.queue)
        acc.abandoned += 1
        acc.abandoned_waits.append(wait)
        if wait <= self._threshold[call.queue]:
            acc.abandoned_within += 1
        if wait <= self._short:
            acc.short_abandoned += 1
        # The agents still ringing are released by the CancelOffer actions.

    def _on_offer_answered(self, ev: OfferAnswered) -> None:
        self._offer_answered(float(ev.now), ev.call_id, ev.agent_id)

    def _offer_answered(self, now: float, call_id: str, agent_id: str) -> None:
        call = self._call(call_id)
        if call is None:
            return
        if not call.answered:  # a call counts as answered once, transferred or not
            call.answered = True
            wait = now - call.arrived
            acc = self._qacc(call.bucket, call.queue)
            acc.answered += 1
            acc.answered_waits.append(wait)
            if wait <= self._threshold[call.queue]:
                acc.answered_within += 1
        call.state = "connected"
        call.agent = agent_id
        call.answered_at = now
        agent = self._agent(agent_id)
        if agent is not None:
            self._close(agent, now)
            ringing = agent.sessions.get(call.seq)
            agent.sessions[call.seq] = _Session(
                call_id=call.call_id,
                state="connected",
                queue=call.queue,
                bucket=call.bucket,
                leg_queue=ringing.leg_queue if ringing is not None else call.current,
            )
            self._recategorise(agent)
            self._aacc(call.bucket, agent_id).calls.answered += 1
        if self._remember > 0:
            info = self._answered.get(call_id)
            if info is None or info.seq != call.seq:  # not this call answered again
                info = _Answered(
                    seq=call.seq,
                    queue=call.queue,
                    agent=agent_id,
                    bucket=call.bucket,
                    answered_at=now,
                )
            info.agent = agent_id  # after a transfer, the survey is the last agent's
            self._answered[call_id] = info
            self._answered.move_to_end(call_id)
            while len(self._answered) > self._remember:
                self._answered.popitem(last=False)

    def _on_offer_declined(self, ev: OfferDeclined) -> None:
        self._end_ringing(ev.call_id, ev.agent_id, float(ev.now), "declined")

    def _on_call_ended(self, ev: CallEnded) -> None:
        self._call_ended(float(ev.now), ev.call_id)

    def _call_ended(self, now: float, call_id: str) -> None:
        call = self._call(call_id)
        if call is None or call.state != "connected":
            return
        del self._calls[call_id]
        self._end_leg(call, now)

    def _on_call_transferred(self, ev: CallTransferred) -> None:
        call = self._call(ev.call_id)
        if call is None or call.state != "connected":
            return
        agent_id = call.agent
        self._end_leg(call, float(ev.now))
        call.state = "waiting"  # the Queued("transferred") that follows says where
        call.current = ev.queue
        call.agent = call.answered_at = None
        self._qacc(call.bucket, call.queue).transfers += 1
        if agent_id is not None and agent_id in self._agents:
            self._aacc(call.bucket, agent_id).calls.transfers += 1

    def _end_leg(self, call: _Call, now: float) -> None:
        """The agent's side of a connected call ends (the call ended or was
        transferred): talk time, then wrap-up or a pending logout."""
        assert call.answered_at is not None
        agent = self._agents.get(call.agent) if call.agent is not None else None
        session = agent.sessions.get(call.seq) if agent is not None else None
        leg_queue = session.leg_queue if session is not None else call.current
        ended = _Session(
            call_id=call.call_id,
            state="wrap",
            queue=call.queue,
            bucket=call.bucket,
            leg_queue=leg_queue,
            talk=now - call.answered_at,
            ended=now,
        )
        if agent is None:
            self._handled(ended, None, 0.0)
            return
        self._close(agent, now)
        agent.sessions.pop(call.seq, None)
        wrap = self._wrap.get(leg_queue, 0.0)
        if agent.pending_logout:
            self._handled(ended, agent.agent_id, 0.0)
            if not any(s.state == "connected" for s in agent.sessions.values()):
                agent.sessions.clear()
                agent.logged_in = agent.paused = agent.pending_logout = False
        elif wrap > 0:
            ended.until = now + wrap
            agent.sessions[call.seq] = ended
            heapq.heappush(self._wraps, (ended.until, self._wrap_seq, agent.agent_id, call.seq))
            self._wrap_seq += 1
        else:
            self._handled(ended, agent.agent_id, 0.0)
        self._recategorise(agent)

    def _on_agent_logged_in(self, ev: AgentLoggedIn) -> None:
        aid = ev.profile.agent_id
        agent = self._agents.get(aid)
        if agent is None:
            agent = self._agents[aid] = _Agent(agent_id=aid, since=float(ev.now))
        self._close(agent, float(ev.now))
        agent.logged_in = True
        agent.paused = agent.pending_logout = False
        agent.sessions.clear()
        self._recategorise(agent)

    def _on_agent_logged_out(self, ev: AgentLoggedOut) -> None:
        agent = self._agent(ev.agent_id)
        if agent is None or not agent.logged_in:
            return
        now = float(ev.now)
        self._close(agent, now)
        for seq, session in list(agent.sessions.items()):
            if session.state == "ringing":
                # The CancelOffer("agent-logged-out") that follows finds it gone.
                del agent.sessions[seq]
            elif session.state == "wrap":
                del agent.sessions[seq]
                self._handled(session, ev.agent_id, now - session.ended)
        if agent.sessions:
            agent.pending_logout = True
        else:
            agent.logged_in = agent.paused = agent.pending_logout = False
        self._recategorise(agent)

    def _on_agent_paused(self, ev: AgentPaused) -> None:
        self._set_paused(ev.agent_id, float(ev.now), True)

    def _on_agent_resumed(self, ev: AgentResumed) -> None:
        self._set_paused(ev.agent_id, float(ev.now), False)

    def _on_no_kpi(self, ev: Event) -> None:
        """A known event that changes no KPI (a skills change: an offer it
        withdraws arrives as a CancelOffer)."""

    def _set_paused(self, agent_id: str, now: float, paused: bool) -> _Agent | None:
        agent = self._agent(agent_id)
        if agent is None or not agent.logged_in:
            return None
        self._close(agent, now)
        agent.paused = paused
        self._recategorise(agent)
        return agent

    # ----------------------------------------------------- action handlers

    def _on_queued(self, a: Queued) -> None:
        self._call_queued(a.call_id, a.queue)

    def _call_queued(self, call_id: str, queue: str) -> None:
        call = self._call(call_id)
        if call is None:
            return
        call.state = "waiting"
        call.current = queue

    def _on_reject(self, a: Reject) -> None:
        self._exit(a.call_id, "rejected")

    def _on_overflow(self, a: Overflow) -> None:
        if a.target_queue is None:  # to an external destination: the call ends
            self._exit(a.call_id, "overflowed")
            return
        call = self._call(a.call_id)
        if call is not None:
            call.current = a.target_queue
            self._qacc(call.bucket, call.queue).moved += 1

    def _on_self_service(self, a: SelfService) -> None:
        call = self._calls.get(a.call_id)
        counted = self._exit(a.call_id, "self_service")
        if counted and call is not None and a.callback_at is not None:
            self._qacc(call.bucket, call.queue).callbacks += 1

    def _on_callback_failed(self, a: CallbackFailed) -> None:
        self._exit(a.call_id, "callback_failed")

    def _on_callback_cancelled(self, ev: CallbackCancelled) -> None:
        self._exit(ev.call_id, "callback_cancelled")
        # A reserved agent is released by the CancelOffer that follows.

    def _on_callback_requested(self, ev: CallbackRequested) -> None:
        call = self._call(ev.call_id)
        if call is not None:
            self._qacc(call.bucket, call.queue).callbacks += 1

    def _exit(self, call_id: str, outcome: str) -> bool:
        """The call leaves the ACD with ``outcome`` (a _CallAcc counter),
        unless it was answered before (a transferred call keeps "answered").
        True when the outcome was counted."""
        call = self._call(call_id)
        if call is None:
            return False
        del self._calls[call_id]
        if call.answered:
            return False
        acc = self._qacc(call.bucket, call.queue)
        setattr(acc, outcome, getattr(acc, outcome) + 1)
        return True

    def _on_no_kpi_action(self, a: Action) -> None:
        """A known action that changes no KPI (alerts, surge mode, preferred
        agent busy)."""

    def _on_offer(self, a: Offer) -> None:
        self._offer_made(float(a.at), a.call_id, a.agent_id, a.queue)

    def _offer_made(self, now: float, call_id: str, agent_id: str, leg_queue: str) -> None:
        call = self._call(call_id)
        if call is None:
            return
        call.state = "ringing"
        self._qacc(call.bucket, call.queue).offers += 1
        agent = self._agent(agent_id)
        if agent is None:
            return
        self._close(agent, now)
        old = agent.sessions.get(call.seq)
        if old is not None and old.state == "wrap":
            # The distributor never offers a call to an agent still wrapping it
            # up; should another source do so, the offer ends that wrap-up.
            self._handled(old, agent_id, now - old.ended)
        agent.sessions[call.seq] = _Session(
            call_id=call.call_id,
            state="ringing",
            queue=call.queue,
            bucket=call.bucket,
            leg_queue=leg_queue,
        )
        self._recategorise(agent)
        self._aacc(call.bucket, agent_id).calls.offers += 1

    def _on_cancel_offer(self, a: CancelOffer) -> None:
        self._offer_cancelled(float(a.at), a.call_id, a.agent_id, a.reason)

    def _offer_cancelled(self, now: float, call_id: str, agent_id: str, reason: str) -> None:
        count = "rona" if reason == "ring-timeout" else None
        self._end_ringing(call_id, agent_id, now, count)
        if reason == "callback-unanswered":
            call = self._calls.get(call_id)
            if call is not None:
                call.state = "waiting"  # it keeps its place until the next attempt

    def _end_ringing(self, call_id: str, agent_id: str, now: float, count: str | None) -> None:
        """An offer ended without an answer; ``count``: ``"rona"``,
        ``"declined"`` or ``None`` (not the agent's doing)."""
        call = self._calls.get(call_id)
        agent = self._agents.get(agent_id)
        seq, session = _ringing(agent, call_id) if agent is not None else (-1, None)
        if call is None and session is None:
            if count is not None:
                self._ignored += 1
            return
        where: tuple[int, str] | None = None
        if call is not None:
            where = (call.bucket, call.queue)
        if agent is not None and session is not None and session.state == "ringing":
            where = (session.bucket, session.queue)
            self._close(agent, now)
            del agent.sessions[seq]
            self._recategorise(agent)
        if count is None or where is None:
            return
        bucket, queue = where
        qacc = self._qacc(bucket, queue)
        setattr(qacc, count, getattr(qacc, count) + 1)
        if agent is not None:
            aacc = self._aacc(bucket, agent_id).calls
            setattr(aacc, count, getattr(aacc, count) + 1)

    def _on_pause_agent(self, a: PauseAgent) -> None:
        agent = self._set_paused(a.agent_id, float(a.at), True)
        if agent is not None:
            self._aacc(self._index(float(a.at)), a.agent_id).auto_pauses += 1


_EVENT_HANDLERS: dict[type[Event], Callable[[_MetricsHandlers, Any], None]] = {
    CallArrived: _MetricsHandlers._on_call_arrived,
    CallAbandoned: _MetricsHandlers._on_call_abandoned,
    OfferAnswered: _MetricsHandlers._on_offer_answered,
    OfferDeclined: _MetricsHandlers._on_offer_declined,
    CallEnded: _MetricsHandlers._on_call_ended,
    AgentLoggedIn: _MetricsHandlers._on_agent_logged_in,
    AgentLoggedOut: _MetricsHandlers._on_agent_logged_out,
    AgentPaused: _MetricsHandlers._on_agent_paused,
    AgentResumed: _MetricsHandlers._on_agent_resumed,
    AgentSkillsChanged: _MetricsHandlers._on_no_kpi,
    CallTransferred: _MetricsHandlers._on_call_transferred,
    CallbackRequested: _MetricsHandlers._on_callback_requested,
    CallbackUnanswered: _MetricsHandlers._on_no_kpi,
    CallbackCancelled: _MetricsHandlers._on_callback_cancelled,
}

_ACTION_HANDLERS: dict[type[Action], Callable[[_MetricsHandlers, Any], None]] = {
    Queued: _MetricsHandlers._on_queued,
    Reject: _MetricsHandlers._on_reject,
    Offer: _MetricsHandlers._on_offer,
    PlaceCallback: _MetricsHandlers._on_offer,
    CallbackFailed: _MetricsHandlers._on_callback_failed,
    Announce: _MetricsHandlers._on_no_kpi_action,
    OfferCallback: _MetricsHandlers._on_no_kpi_action,
    CancelOffer: _MetricsHandlers._on_cancel_offer,
    PauseAgent: _MetricsHandlers._on_pause_agent,
    Overflow: _MetricsHandlers._on_overflow,
    SelfService: _MetricsHandlers._on_self_service,
    Alert: _MetricsHandlers._on_no_kpi_action,
    SurgeMode: _MetricsHandlers._on_no_kpi_action,
    PreferredAgentBusy: _MetricsHandlers._on_no_kpi_action,
}
