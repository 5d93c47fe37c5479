"""The façade of the C engine: the events of a native distributor whose state the engine holds (internal).

When a distributor is built with the native backend and a configuration the
engine covers (a routing plan only as far as ``distributor._plan_covered``
allows; estimators hear the engine's hooks, and announcements and callback
offers are timed by it and worded through them, :mod:`~acdcore._engine_hooks`;
``acd_engine.h``), its events go to the C engine instead of the Python
handlers. :class:`EngineFacade` is the thin layer between: it checks what
the engine cannot (types and strings), maps ids to the engine's numbers (a
call is its arrival sequence number, an agent its index of first sight, a
queue its index), evaluates the routing plan's rules once at arrival (the
queue, the call's facts, an alert, an exit, a preferred agent's
reservation) and hands the engine the resulting relaxation table (a class
and an expiry per stage), computes each
arrival's (and a transferred call's) sort key with the queue's policy, and
turns the engine's action records into the public action objects. The state it keeps beside the
engine, and every read, are :class:`~acdcore._engine_state.EngineState`'s.

Refusals are the reference's, by construction: when the engine refuses an
event (or a check of this layer fails), the Python handlers' check runs
against the records of the call and agent the event names, and raises the
reference's error and message; the engine and the reference agree on what
is refused (the contract-level differential,
``tests/test_engine_differential.py``).

An event the engine cannot hold (a requirement or a profile past its
numbers' limits) hands the state over for good
(:meth:`~acdcore._engine_state.EngineState.hand_over`): the Python handlers
carry on, deciding as they would have.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

from . import _calls, _engine_agents, _engine_callbacks, _engine_exits, _engine_hooks, _queueing
from . import _frozen_build as _build
from ._engine_state import EngineState
from ._materialize import CallFacts
from ._native.core import NativeError
from ._native.engine import EngineRefused
from ._state import CallState
from .actions import Action, PauseAgent, SurgeMode
from .config import AgentProfile
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

if TYPE_CHECKING:
    from .distributor import Distributor

__all__ = ["EngineFacade"]

# Action kinds and reasons of acd_engine.h.
_OFFER, _QUEUED, _CANCEL, _REJECT, _PAUSE, _MOVE, _EXIT, _SURGE = 1, 2, 3, 4, 5, 6, 7, 8
_SPEAK, _PLACE, _CALLBACK_FAILED = 9, 10, 11
_REASONS = (
    "",
    "arrived",
    "ring-timeout",
    "declined",
    "answered-elsewhere",
    "agent-logged-out",
    "caller-abandoned",
    "queue-full",
    "transferred",
    "skills-changed",
    "overflow",
    "max-wait",
    "leave-empty",
    "callback-unanswered",
    "callback-cancelled",
    "callback-retry",
)


class EngineFacade(EngineState):
    """The events of a distributor whose state the C engine holds (see the
    module docstring); the state and its reads are :class:`EngineState`'s."""

    def __init__(self, d: Distributor) -> None:
        super().__init__(d)
        self.handlers: dict[type[Event], Any] = {
            CallArrived: self.arrive,
            CallAbandoned: self.abandon,
            OfferAnswered: self.answer,
            OfferDeclined: self.decline,
            CallEnded: self.end,
            CallTransferred: self.transfer,
            AgentLoggedIn: partial(_engine_agents.login, self),
            AgentLoggedOut: partial(_engine_agents.logout, self),
            AgentPaused: partial(_engine_agents.pause, self),
            AgentResumed: partial(_engine_agents.resume, self),
            AgentSkillsChanged: partial(_engine_agents.skills_changed, self),
            CallbackRequested: partial(_engine_callbacks.requested, self),
            CallbackUnanswered: partial(_engine_callbacks.unanswered, self),
            CallbackCancelled: partial(_engine_callbacks.cancelled, self),
        }

    # ---------------------------------------------------------------- events

    def refuse(self, event: Event) -> NoReturn:
        """Raise the reference's error for a refused event: validate it
        with the Python handler against the materialized records."""
        from .distributor import _HANDLERS

        check = _HANDLERS[type(event)][0]
        names = [getattr(event, "agent_id", None)]
        profile = getattr(event, "profile", None)
        if isinstance(profile, AgentProfile):
            names.append(profile.agent_id)
        check(self.partial([getattr(event, "call_id", None)], names), event)
        raise NativeError(
            f"the engine refused {type(event).__name__} that the reference accepts: {event!r}"
        )

    def handle(self, event: Event) -> list[Action] | None:
        """Apply ``event`` (already checked for type, instant and ids by the
        distributor); ``None`` when the engine does not cover it (the state
        has been handed over: run the Python handler)."""
        fn = self.handlers.get(type(event))
        if fn is None:
            # Refused here if it is bad (the state stays on the engine);
            # else the Python handlers take the state over and apply it.
            from .distributor import _HANDLERS

            _HANDLERS[type(event)][0](self.shadow(), event)
            self.hand_over()
            return None
        out: list[Action] | None = fn(event)
        if out is not None:
            self.d._now = float(event.now)
        if self.told:
            _engine_hooks.tell(self)  # last: the bookkeeping is done
            if self.speaking:  # what callers heard, in its places
                self.speaking = False
                out = _engine_hooks.said(out or ())
        return out

    def set_clock(self, now: float) -> None:
        """Move the clock to ``now`` when no deadline is due at or before
        it: no call into C (``NativeEngine.set_clock``)."""
        self.eng.set_clock(now)
        self.version += 1  # the records' clock changed
        self.d._now = now

    def advance(self, now: float) -> list[Action]:
        """Fire the deadlines due at or before ``now`` (at least one is)."""
        if self._lib.acd_engine_advance(self._e, float(now)) < 0:  # pragma: no cover
            raise NativeError(f"the engine refused advance({now!r}) after the distributor's checks")
        acts = self._acts()
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        self.d._now = float(now)
        out = self.wrap(acts, None) if acts else []
        if self.told:
            _engine_hooks.tell(self)  # last: the bookkeeping is done
            if self.speaking:  # what callers heard, in its places
                self.speaking = False
                out = _engine_hooks.said(out)
        return out

    def call_seq(self, event: Event, call_id: str) -> int:
        seq = self.seq_of.get(call_id)
        if seq is None:
            self.refuse(event)
        return seq

    def agent_index(self, event: Event, agent_id: str) -> int:
        idx = self.aidx.get(agent_id)
        if idx is None or idx not in self.agents:
            self.refuse(event)
        return idx

    def run(self, event: Event, fn: Any, *args: Any) -> list[Any]:
        """Call the engine; on a refusal raise the reference's error."""
        try:
            acts: list[Any] = fn(*args)
        except EngineRefused:
            self.refuse(event)
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        return acts

    def arrive(self, ev: CallArrived) -> list[Action] | None:
        got = self.arrival(ev)
        if got is None:
            return None  # handed over
        notes, acts, facts = got
        if not acts:
            return notes
        return [*notes, *self.wrap(acts, facts)] if notes else self.wrap(acts, facts)

    def arrival(self, ev: CallArrived) -> tuple[list[Action], list[Any], CallFacts | None] | None:
        """Carry out an arrival: what the routing plan said first (action
        objects: alerts, moves, a terminal exit, a busy preferred agent),
        the engine's records and the arriving call's facts (None when a
        plan's exit sent it away before any queue). None: the engine does
        not cover it, and the state has been handed over."""
        d = self.d
        if ev.call_id in self.seq_of:
            self.refuse(ev)
        # d._call_seq is the engine's next sequence number (each arrival,
        # rejected or not, takes one; checked against the engine's below).
        decision = _calls.check_call_arrived(d, ev)  # raises the reference's errors
        now = float(ev.now)
        planned = decision.rule is not None  # a routing plan decided (else: no plan)
        notes, outcome = _plan_actions(d, decision, ev.call_id, now) if planned else ([], None)
        if outcome is not None:  # a plan's exit sent it away before any queue
            got = self.eng.exit(now, outcome)
            if got != d._call_seq:  # pragma: no cover - numbered as the façade does
                raise NativeError(f"the engine numbered arrival {ev.call_id!r} {got}")
            self.version += 1
            if self.hooked:
                _engine_hooks.replay(self)
            d._call_seq = got + 1
            return notes, self._acts(), None  # the records: a surge mode's change, if any
        assert decision.key is not None
        requirement = decision.requirement
        stages = None
        classes: list[int] | None = None
        try:
            if not decision.steps:
                cls = self.klass(requirement, ev.channel)
            else:
                stages, classes = self.stage_table(decision, ev.channel, now)
        except EngineRefused:  # a requirement past the engine's limits
            self.hand_over()
            return None
        if planned:
            wanted, wait, busy = self.preferred(decision, ev, stages, classes, now)
        else:
            wanted, wait, busy = ev.preferred_agent, math.nan, None
        pref = -1 if wanted is None else self.name(wanted)
        seq = d._call_seq  # the int the sort key holds: kept once, not twice
        qi = self.qidx[decision.queue]
        if stages is None and wait != wait:  # no plan's table or reservation (NaN)
            got, acts = self.eng.arrive(now, qi, cls, decision.key, pref)
        elif stages is None:
            got, acts = self.eng.arrive_planned(now, qi, decision.key, pref, [cls], None, wait)
        else:
            assert classes is not None  # (resolved with the stages)
            expires = [math.inf if s.expires_at is None else s.expires_at for s in stages]
            skips = [s.skip_if_empty for s in stages]
            got, acts = self.eng.arrive_planned(
                now, qi, decision.key, pref, classes, expires, wait, skips
            )
        if got != seq:  # pragma: no cover - the engine numbers arrivals as the façade does
            raise NativeError(f"the engine numbered arrival {ev.call_id!r} {got}, not {seq}")
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self, seq, decision.priority)
        d._call_seq = seq + 1
        caller = decision.attributes.get("caller")
        facts = CallFacts(
            call_id=ev.call_id,
            channel=ev.channel,
            attributes=decision.attributes,
            requirement=requirement,
            priority=decision.priority,
            emergency=decision.emergency,
            preferred_agent=wanted,
            key=decision.key,
            last_agent=d._callers.get(caller) if isinstance(caller, str) else None,
            rule=decision.rule_name,
            stages=stages,
        )
        rejected = bool(acts) and acts[0][0] == _REJECT
        if not rejected:
            self.calls[seq] = facts
            self.seq_of[ev.call_id] = seq
            if pref >= 0:
                self.hold(pref)
            if self.moves:  # the places a plan's queue exits may move it to
                _engine_exits.give_moves(self, seq, facts, decision.queue, now)
        elif pref >= 0:
            self.release(pref)  # named for this call alone: spare again
        if busy is not None and not rejected:
            notes.append(busy)  # after the alert, before the call's queueing
        return notes, acts, facts

    def abandon(self, ev: CallAbandoned) -> list[Action]:
        seq = self.call_seq(ev, ev.call_id)
        if self._lib.acd_engine_abandon(self._e, ev.now, seq) < 0:
            self.refuse(ev)
        return self.gone(seq, float(ev.now))

    def end(self, ev: CallEnded) -> list[Action]:
        seq = self.call_seq(ev, ev.call_id)
        now = float(ev.now)
        if self._lib.acd_engine_end(self._e, now, seq) < 0:
            self.refuse(ev)
        return self.gone(seq, now)

    def gone(self, seq: int, now: float) -> list[Action]:
        """After a step that ended call ``seq`` (an end, an abandon, a
        cancelled callback): replay its hooks, word its actions while the
        call's facts are kept, then forget them."""
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        out = self.wrap(self._acts(), None)
        self.forget(seq, now)
        return out

    def transfer(self, ev: CallTransferred) -> list[Action] | None:
        seq = self.call_seq(ev, ev.call_id)
        # The reference's checks (state, queue, keep_arrival, the keys).
        _calls.check_call_transferred(self.partial([ev.call_id], []), ev)
        f = self.calls[seq]
        x = self.eng.export_call(seq)
        assert x is not None
        now = float(ev.now)
        arrived = x.arrived if ev.keep_arrival else now
        key = _calls.policy_key(
            self.d, ev.call_id, ev.queue, seq, arrived, f.priority, f.emergency, f.attributes
        )
        req = ev.requirement
        if req is None:
            req = self.configs[self.qidx[ev.queue]].requirement
        try:
            cls = self.klass(req, f.channel)
        except EngineRefused:  # a requirement past the engine's limits
            self.hand_over()
            return None
        rule, f.rule = f.rule, "transfer"  # its actions carry the new rule
        try:
            acts = self.eng.transfer(now, seq, self.qidx[ev.queue], cls, key, ev.keep_arrival)
        except EngineRefused:
            f.rule = rule
            self.refuse(ev)
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        f.key = key
        f.requirement = req
        f.stages = None  # one plain stage again (_queueing.move)
        if f.preferred_agent is not None:
            self.unhold(f.preferred_agent)
        f.preferred_agent = None
        f.transfers += 1
        self.d._transfers += 1
        if self.moves:
            _engine_exits.give_moves(self, seq, f, ev.queue, arrived)
        return self.wrap(acts, None)

    def answer(self, ev: OfferAnswered) -> list[Action]:
        seq = self.call_seq(ev, ev.call_id)
        idx = self.agent_index(ev, ev.agent_id)
        if self._lib.acd_engine_answer(self._e, ev.now, seq, idx) < 0:
            self.refuse(ev)
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        self.answered(seq, ev.agent_id)
        return self.wrap(self._acts(), None)

    def answered(self, seq: int, agent_id: str) -> None:
        """The façade's part of an answer the engine took: the caller's
        last agent, remembered for a returning caller's rule."""
        d = self.d
        caller = self.calls[seq].attributes.get("caller")
        if isinstance(caller, str) and d._remember > 0:
            d._callers[caller] = agent_id
            d._callers.move_to_end(caller)
            while len(d._callers) > d._remember:
                d._callers.popitem(last=False)

    def decline(self, ev: OfferDeclined) -> list[Action]:
        seq = self.call_seq(ev, ev.call_id)
        idx = self.agent_index(ev, ev.agent_id)
        if not isinstance(ev.reason, str):
            self.refuse(ev)
        if self._lib.acd_engine_decline(self._e, ev.now, seq, idx) < 0:
            self.refuse(ev)
        self.version += 1
        if self.hooked:
            _engine_hooks.replay(self)
        return self.wrap(self._acts(), None)

    # --------------------------------------------------------------- actions

    def wrap(self, acts: Sequence[Any], arriving: CallFacts | None) -> list[Action]:
        """The public action objects for the engine's records. ``arriving``
        is the facts of a call that has just arrived (a rejected one is
        never among the live calls)."""
        out: list[Action] = []
        calls = self.calls
        ids = self.ids
        qnames = self.qnames
        # The commonest four are built by _frozen_build (the same objects,
        # without attrs' frozen __init__), positionally in field order.
        for kind, reason, seq, agent, queue, n, x, y, at in acts:
            if kind == _OFFER:
                c = calls[seq]
                out.append(
                    _build.offer(
                        at,
                        c.call_id,
                        ids[agent],
                        qnames[queue],
                        c.channel,
                        c.attributes,
                        x,  # waited
                        y,  # ring timeout
                        c.rule,
                        c.last_agent,
                    )
                )
            elif kind == _QUEUED:
                c = calls[seq]
                out.append(_build.queued(at, c.call_id, qnames[queue], n, _REASONS[reason], c.rule))
            elif kind == _CANCEL:
                out.append(_build.cancel(at, calls[seq].call_id, ids[agent], _REASONS[reason]))
            elif kind == _REJECT:
                assert arriving is not None
                out.append(_build.reject(at, arriving.call_id, qnames[queue], _REASONS[reason]))
            elif kind == _PAUSE:
                why = self.configs[queue].no_answer.pause_reason
                self.agents[agent].paused = why
                out.append(PauseAgent(at=at, agent_id=ids[agent], reason=why))
            elif kind == _MOVE:
                out.append(_engine_exits.moved(self, seq, queue, n, _REASONS[reason], at))
            elif kind == _EXIT:
                out.append(_engine_exits.exited(self, seq, queue, _REASONS[reason], at))
            elif kind == _SURGE:
                out.append(SurgeMode(at=at, queue=qnames[queue], active=x == 1.0, waiting=n))
            elif kind == _SPEAK:  # its words come once the estimators are told
                out.append(self.spoken[n])  # type: ignore[arg-type]
            elif kind == _PLACE:
                out.append(_engine_callbacks.placed(self, seq, agent, queue, n, y, at))
            elif kind == _CALLBACK_FAILED:
                out.append(_engine_callbacks.failed(self, seq, queue, n, at))
            else:  # pragma: no cover - the engine emits no other kind
                raise NativeError(f"the engine emitted an action of kind {kind}")
        return out


# The engine's outcome code of each terminal exit's outcome (acd_engine.h, ACD_O_*).
_OUTCOME_CODE = {CallState.REJECTED: 0, CallState.OVERFLOWED: 1, CallState.SELF_SERVICE: 2}


def _plan_actions(
    d: Distributor, decision: _calls.Arrival, call_id: str, now: float
) -> tuple[list[Action], int | None]:
    """What a routing plan says of an arrival before the call joins a
    queue, in the reference's words (``_calls.arrival_notes``: the moves
    between queues its exits made, the rule's alert; then
    ``_queueing.exit_action``: a terminal exit), with the engine's outcome
    code for that exit (``None``: the call joins ``decision.queue``)."""
    out = _calls.arrival_notes(decision, call_id, now)
    if decision.exit is None:
        return out, None
    exit_, reason = decision.exit
    action, outcome = _queueing.exit_action(d._plan, call_id, decision.queue, exit_, reason, now)
    out.append(action)
    return out, _OUTCOME_CODE[outcome]
