"""Offers and sessions: making an offer, an answer, a decline or ring timeout, the end of a call, releasing an agent.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    _agents,
    _calls,
    _deadlines,
    _experience,
    _queueing,
    _routing,
)
from ._state import (
    _NO_OFFERS,
    AgentRecord,
    CallRecord,
    CallState,
    Session,
    SessionState,
)
from .actions import (
    CancelOffer,
    Offer,
    PauseAgent,
    PlaceCallback,
)
from .errors import (
    InvalidCallState,
    InvalidValue,
    NoSuchOffer,
)
from .events import (
    CallEnded,
    OfferAnswered,
    OfferDeclined,
)

if TYPE_CHECKING:
    from .distributor import Distributor


def check_offer_answered(d: Distributor, ev: OfferAnswered) -> CallRecord:
    return outstanding_offer(d, ev.call_id, ev.agent_id)


def apply_offer_answered(d: Distributor, ev: OfferAnswered, call: CallRecord) -> None:
    agent = d._agents[ev.agent_id]
    others = [aid for aid in call.offers if aid != ev.agent_id]
    call.offers = _NO_OFFERS
    call.state = CallState.CONNECTED
    call.agent = agent.agent_id
    call.answered_at = d._now
    call.ring_round += 1
    for e in d._ests:
        if call.callback:
            e.on_left(call.queue, d._now, call.seq)
        else:
            e.on_answered(call.queue, d._now, d._now - call.entered, call.seq, call.priority)
    call.callback = False  # the customer is on the line now
    call.stage_timer = -1  # a connected call's steps no longer matter (transfers restart them)
    agent.sessions[call.seq].state = SessionState.CONNECTED
    agent.calls_taken += 1
    agent.misses = 0
    record_answer(d, agent, True)
    caller = call.attributes.get("caller")
    if isinstance(caller, str) and d._remember > 0:
        d._callers[caller] = agent.agent_id
        d._callers.move_to_end(caller)
        while len(d._callers) > d._remember:
            d._callers.popitem(last=False)
    _agents.refresh(d, agent)
    released = []
    for aid in others:
        other = d._agents[aid]
        del other.sessions[call.seq]
        _deadlines.emit(
            d,
            CancelOffer(at=d._now, call_id=call.call_id, agent_id=aid, reason="answered-elsewhere"),
        )
        released.append(other)
    for other in released:
        _agents.refresh(d, other)
        _routing.route_agent(d, other)


def check_offer_declined(d: Distributor, ev: OfferDeclined) -> CallRecord:
    call = outstanding_offer(d, ev.call_id, ev.agent_id)
    if not isinstance(ev.reason, str):
        raise InvalidValue(f"OfferDeclined.reason must be a string, got {ev.reason!r}")
    return call


def apply_offer_declined(d: Distributor, ev: OfferDeclined, call: CallRecord) -> None:
    agent = d._agents[ev.agent_id]
    call.offers.remove(agent.agent_id)
    del agent.sessions[call.seq]
    miss(d, agent, call.queue)
    if not call.offers:
        call.ring_round += 1
        _queueing.requeue(d, call, "declined")
    _routing.route_agent(d, agent)


def check_call_ended(d: Distributor, ev: CallEnded) -> CallRecord:
    call = _calls.live_call(d, ev.call_id)
    if call.state is not CallState.CONNECTED:
        raise InvalidCallState(
            f"call {ev.call_id!r} is {call.state.value}, not connected; "
            "use CallAbandoned for a caller who hangs up before being connected"
        )
    return call


def apply_call_ended(d: Distributor, ev: CallEnded, call: CallRecord) -> None:
    _queueing.finish(d, call, CallState.COMPLETED)
    release_agent(d, call)


def release_agent(d: Distributor, call: CallRecord) -> None:
    """The agent's side of a connected call ends (call ended or
    transferred): talk time, then wrap-up or a pending logout."""
    assert call.agent is not None and call.answered_at is not None
    agent = d._agents[call.agent]
    agent.talk_time += d._now - call.answered_at
    agent.last_call_end = d._now
    session = agent.sessions[call.seq]
    wrap = d._queues[session.queue].config.wrap_up
    if d._ests:
        held = d._now - call.offered_at + (0.0 if agent.pending_logout else wrap)
        for e in d._ests:
            e.on_handled(session.queue, d._now, held)
    if agent.pending_logout:
        del agent.sessions[call.seq]
        _agents.end_wrapups(d, agent)
        if not agent.sessions:
            _agents.complete_logout(d, agent)
        return
    if wrap > 0:
        session.state = SessionState.WRAP_UP
        session.until = _deadlines.after(d, wrap)
        _deadlines.schedule(d, session.until, _deadlines.WRAP, agent, session)
    else:
        del agent.sessions[call.seq]
        agent.idle_since = d._now
    _agents.refresh(d, agent)
    _routing.route_agent(d, agent)


def withdraw(d: Distributor, agent: AgentRecord, call: CallRecord, reason: str) -> bool:
    """Cancel the agent's ringing offer of ``call`` through no fault of the
    agent (no miss is counted). True when nobody rings for the call any
    more, so the caller must put it back in its queue."""
    call.offers.remove(agent.agent_id)
    del agent.sessions[call.seq]
    _deadlines.emit(
        d, CancelOffer(at=d._now, call_id=call.call_id, agent_id=agent.agent_id, reason=reason)
    )
    if call.offers:
        return False
    call.ring_round += 1
    return True


def release_offers(d: Distributor, call: CallRecord, reason: str) -> list[AgentRecord]:
    """End every offer (or callback reservation) of ``call`` through no
    fault of the agents (no miss), telling the adapter why; return the
    agents released, to be refreshed and routed once the call is settled."""
    released = []
    for aid in call.offers:
        agent = d._agents[aid]
        del agent.sessions[call.seq]
        _deadlines.emit(
            d, CancelOffer(at=d._now, call_id=call.call_id, agent_id=aid, reason=reason)
        )
        released.append(agent)
    call.offers = _NO_OFFERS
    return released


def reroute(d: Distributor, agents: list[AgentRecord]) -> None:
    """Agents who gained capacity take their next calls."""
    for agent in agents:
        _agents.refresh(d, agent)
        _routing.route_agent(d, agent)


# ------------------------------------------------------------ validation


def outstanding_offer(d: Distributor, call_id: str, agent_id: str) -> CallRecord:
    """The live call ``call_id`` that rings agent ``agent_id``, or raise."""
    call = _calls.live_call(d, call_id)
    _agents.known_agent(d, agent_id)
    if call.state is not CallState.RINGING or agent_id not in call.offers:
        ringing = ", ".join(call.offers) or "nobody"
        raise NoSuchOffer(
            f"call {call_id!r} is {call.state.value} (ringing {ringing}); "
            f"no offer to agent {agent_id!r} is outstanding"
        )
    return call


# ------------------------------------------------------------- mechanics


def miss(d: Distributor, agent: AgentRecord, queue: str) -> None:
    policy = d._queues[queue].config.no_answer
    record_answer(d, agent, False)
    agent.misses += 1
    agent.not_before = max(agent.not_before, _deadlines.after(d, policy.delay))
    if (
        policy.auto_pause_after is not None
        and agent.misses >= policy.auto_pause_after
        and agent.paused is None
        and agent.logged_in
    ):
        agent.paused = policy.pause_reason
        _agents.staffing(d, agent)
        _deadlines.emit(
            d, PauseAgent(at=d._now, agent_id=agent.agent_id, reason=policy.pause_reason)
        )
    _agents.refresh(d, agent)


def record_answer(d: Distributor, agent: AgentRecord, answered: bool) -> None:
    guard = d._plan.load_guard if d._plan is not None else None
    if guard is None:
        return
    agent.answers.append(answered)
    if len(agent.answers) > guard.window:
        del agent.answers[0]


def offer(d: Distributor, call: CallRecord, agents: list[AgentRecord]) -> None:
    """Ring ``agents`` with ``call``; for a callback, reserve the first
    of them and tell the adapter to dial the customer instead."""
    q = d._queues[call.queue]
    _queueing.dequeue(d, call)
    now = d._now
    call.offered_at = now
    callback = call.callback
    if callback:
        agents = agents[:1]
        timeout = float(_experience.callback_policy(d, call).dial_timeout)
    else:
        timeout = q.config.ring_timeout
        for e in d._ests:
            e.on_started(call.queue, now, now - call.entered, call.seq)
    call.state = CallState.RINGING
    call.offers = [a.agent_id for a in agents]
    call.ring_round += 1
    _deadlines.schedule(d, _deadlines.after(d, timeout), _deadlines.RING, call, call.ring_round)
    actions = d._actions
    for agent in agents:
        agent.sessions[call.seq] = Session(
            call_id=call.call_id,
            channel=call.channel,
            queue=call.queue,
            state=SessionState.RINGING,
            seq=call.seq,
        )
        q.rr_last = agent.order
        if callback:
            actions.append(
                PlaceCallback(
                    at=now,
                    call_id=call.call_id,
                    agent_id=agent.agent_id,
                    queue=call.queue,
                    number=call.number,
                    attempt=call.attempts + 1,
                    dial_timeout=timeout,
                    attributes=call.attributes,
                )
            )
        else:
            actions.append(
                Offer(
                    at=now,
                    call_id=call.call_id,
                    agent_id=agent.agent_id,
                    queue=call.queue,
                    channel=call.channel,
                    attributes=call.attributes,
                    waited=now - call.arrived,
                    ring_timeout=timeout,
                    rule=call.rule,
                    last_agent=call.last_agent,
                )
            )
        _agents.refresh(d, agent)
