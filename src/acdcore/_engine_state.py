"""The state of a distributor whose events the C engine runs, and the reads of it (internal).

:class:`EngineState` holds the engine (``_native/acd_engine.h``) and what
only the façade knows of its calls and agents (ids, profiles, attributes,
sort keys, pause reasons, the callers' last agents), numbers agents, skills
and call classes on first sight, and answers every read: ``call()`` and
``agent()`` straight from the engine, everything else from the records
:func:`~acdcore._materialize.materialize` rebuilds (all of them, cached per
state, or just an event's call and agent). It also hands the state over to
the Python handlers for good (:meth:`EngineState.hand_over`).
:class:`~acdcore._engine_facade.EngineFacade` adds the events on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import _agents, _calls, _engine_exits
from ._engine_numbers import EngineNumbers
from ._experience import DEFAULT_CALLBACK
from ._materialize import CALL_STATES, AgentFacts, CallFacts, Heard, materialize
from ._native.core import STRATEGIES, NativeError
from ._native.engine import NativeEngine
from ._state import AgentState, CallRecord, Stage
from ._views import AgentView, CallView
from .actions import PreferredAgentBusy
from .events import CallArrived
from .router import eligible_at
from .skills import Channel

if TYPE_CHECKING:
    from ._engine_hooks import Spoken
    from .distributor import Distributor

__all__ = ["EngineState"]


class EngineState(EngineNumbers):
    """The engine of one distributor, what only the façade knows, and the
    reads (the numbering of skills, regions and classes is
    :class:`~acdcore._engine_numbers.EngineNumbers`').

    Memory: a :class:`CallFacts` per live call and an :class:`AgentFacts`
    per agent ever logged in, beside the engine's own state.
    """

    def __init__(self, d: Distributor) -> None:
        self.d = d
        configs = [q.config for q in d._queues.values()]
        self.configs = configs
        self.qnames = [c.name for c in configs]
        qidx = {n: i for i, n in enumerate(self.qnames)}
        eng = NativeEngine(len(configs), d._now, d._rng)
        super().__init__(eng, qidx)  # self.eng, self.qidx and the numbering
        self.status = eng._status  # acd_engine_status: nact, the next deadline
        for i, c in enumerate(configs):
            na = c.no_answer
            eng.queue(
                i,
                STRATEGIES[c.strategy],
                c.ring_timeout,
                c.wrap_up,
                c.max_length,
                c.preferred_agent_wait,
                na.delay,
                na.auto_pause_after,
            )
        # A routing plan's borrowing: an agent of a queue that plan steps
        # add scans the borrowing queues too (_routing.scan_list).
        for lender, borrowers in d._borrowers.items():
            eng.borrowers(self.qidx[lender], [self.qidx[b] for b in borrowers])
        # Announcements are timed by the engine and worded here
        # (_engine_hooks.speak); both need estimators, as on the Python handlers.
        for i, c in enumerate(configs):
            if c.announce is not None or c.callback is not None:
                ann = c.announce
                timing = None if ann is None else (ann.first, ann.every)
                cb = c.callback or DEFAULT_CALLBACK  # (a callback moved here uses it)
                policy = (cb.dial_timeout, cb.retries, cb.retry_delay)
                eng.queue_experience(i, timing, c.callback is not None, policy)
        # The hot events call C directly (NativeEngine's methods wrap the same).
        self._lib = eng.lib
        self._e = eng.eng
        # With estimators, the engine leaves their hooks after every step
        # (_engine_hooks.replay takes them, tell tells them); without, it
        # computes none.
        self.hooked = bool(d._ests)
        self.told: list[tuple[str, tuple[object, ...]]] = []  # the step's, for tell()
        # Announcements and callback offers (_engine_hooks.speak): the
        # step's places for their words, by hook index, whether any is
        # pending, and what each live call has heard (only calls that have).
        self.spoken: dict[int, Spoken] = {}
        self.speaking = False
        self.heard: dict[int, Heard] = {}
        if self.hooked and self._lib.acd_engine_set_hooks(self._e, 1) < 0:  # pragma: no cover
            raise NativeError("the engine refused its estimator hooks before any event")
        self._acts = eng._actions
        self.calls: dict[int, CallFacts] = {}  # live calls by sequence number
        self.seq_of: dict[str, int] = {}  # live call id -> sequence number
        self.agents: dict[int, AgentFacts] = {}  # agents ever logged in, by index
        self.aidx: dict[str, int] = {}  # agent id -> index (first sight)
        self.ids: list[str] = []  # index -> agent id
        # Agents named as a live call's preferred agent but never logged in:
        # how many live calls name each (by index). An index no call names
        # any more goes back to `spare` for the next new name, so names that
        # come and go do not grow the tables; an agent once logged in keeps
        # its index for good.
        self.named: dict[int, int] = {}
        self.spare: list[int] = []
        # Calls that ended lately: sequence number -> (id, end instant). An
        # agent wrapping one up still names it; kept while a wrap-up may last.
        self.ended: dict[int, tuple[str, float]] = {}
        self.max_wrap = max((c.wrap_up for c in configs), default=0.0)
        self.version = 0  # bumped by every event or advance that may change state
        self._shadow: Distributor | None = None
        self._shadow_version = -1
        # A plan's maximum waits and leave-empty exits; the queues each
        # queue's calls may be moved to by them (a call's move table).
        self.moves = _engine_exits.configure(self)
        self.move_arrived: dict[int, float] = {}  # arrival instants of calls with a move table

    # ----------------------------------------------------------------- reads

    def shadow(self) -> Distributor:
        """The engine's state as a python-backend distributor's records
        (cached until the state changes). Read it; never change it."""
        if self._shadow is None or self._shadow_version != self.version:
            self._shadow = self.records(None)
            self._shadow_version = self.version
        return self._shadow

    def records(self, only: tuple[list[int], list[int]] | None) -> Distributor:
        """:func:`materialize` with everything the façade knows."""
        d = self.d
        out = materialize(
            self.configs,
            self.eng,
            self.calls,
            self.agents,
            list(d._callers.items()),
            d._remember,
            self.ended,
            only=only,
            transfers=d._transfers,
            plan=d._plan,
            heard=self.heard,
        )
        out._ests = d._ests  # the same estimators: estimates and snapshots read them
        return out

    def partial(self, call_ids: Sequence[object], agent_ids: Sequence[object]) -> Distributor:
        """The records of just these calls and agents (those that are live,
        or known), with no queue order, free sets or deadlines: what an
        event's check reads. Cost: O(their sessions and offers), plus
        building a distributor."""
        seqs = [self.seq_of[c] for c in call_ids if isinstance(c, str) and c in self.seq_of]
        idxs = [self.aidx[a] for a in agent_ids if isinstance(a, str) and a in self.aidx]
        return self.records((seqs, idxs))

    def call_view(self, call_id: str) -> CallView:
        """``Distributor.call`` read from the engine directly: O(log n)."""
        seq = self.seq_of.get(call_id) if isinstance(call_id, str) else None
        x = None if seq is None else self.eng.export_call(seq)
        if seq is None or x is None:
            _calls.live_call(self.partial([], []), call_id)  # raises UnknownCall
            raise NativeError(f"call {call_id!r} is live in the façade, not in the engine")
        f = self.calls[seq]
        ids = self.ids
        return CallView(
            call_id=f.call_id,
            queue=self.qnames[x.queue],
            state=CALL_STATES[x.state],
            channel=f.channel,
            priority=f.priority,
            emergency=f.emergency,
            arrived=x.arrived,
            position=self.eng.call_position(seq),
            offered_to=tuple(ids[a] for a in x.offers),
            agent=None if x.agent < 0 else ids[x.agent],
            rule=f.rule,
            transfers=f.transfers,
            callback=x.callback,
            attempts=x.attempts,
        )

    def agent_view(self, agent_id: str) -> AgentView:
        """``Distributor.agent`` read from the engine directly: O(sessions)."""
        idx = self.aidx.get(agent_id) if isinstance(agent_id, str) else None
        facts = None if idx is None else self.agents.get(idx)
        if idx is None or facts is None:
            _agents.known_agent(self.partial([], []), agent_id)  # raises UnknownAgent
            raise NativeError(f"agent {agent_id!r} is known to the façade, not to the engine")
        ex = self.eng.export_agent(idx)
        sessions = self.eng.export_sessions(idx)
        states = {s[3] for s in sessions}
        if not ex.logged_in:
            state = AgentState.LOGGED_OUT
        elif 1 in states:
            state = AgentState.RINGING
        elif 2 in states:
            state = AgentState.BUSY
        elif 3 in states:
            state = AgentState.WRAP_UP
        elif ex.paused:
            state = AgentState.PAUSED
        else:
            state = AgentState.AVAILABLE
        calls, ended = self.calls, self.ended
        return AgentView(
            agent_id=facts.agent_id,
            state=state,
            paused_reason=facts.paused if ex.paused else None,
            pending_logout=ex.pending_logout,
            calls=tuple(calls[s[0]].call_id if s[0] in calls else ended[s[0]][0] for s in sessions),
            calls_taken=ex.calls_taken,
            talk_time=ex.talk_time,
            idle_since=ex.idle_since,
            last_call_end=ex.last_call_end,
            consecutive_misses=ex.misses,
            not_before=ex.not_before,
        )

    def next_deadline(self) -> float | None:
        return self.eng.next_deadline()

    def fresh(self) -> bool:
        """Whether no call has arrived, no agent logged in and no deadline
        been armed (what ``snapshots.restore`` asks of a distributor)."""
        scal = self.eng.scalars()
        return not (scal.call_seq or scal.timer_seq or self.agents)

    # --------------------------------------------------------------- numbers

    def name(self, agent_id: str) -> int:
        """The agent's index, given on first sight (a spare one if any)."""
        idx = self.aidx.get(agent_id)
        if idx is None:
            if self.spare:
                idx = self.spare.pop()
                self.ids[idx] = agent_id
            else:
                idx = len(self.ids)
                self.ids.append(agent_id)
                self.eng.name_agent(idx)
            self.aidx[agent_id] = idx
        return idx

    def hold(self, idx: int) -> None:
        """One more live call names agent ``idx`` as its preferred agent."""
        if idx not in self.agents:
            self.named[idx] = self.named.get(idx, 0) + 1

    def unhold(self, agent_id: str) -> None:
        """A live call no longer names ``agent_id``: its index is spare
        once no call names it and it never logged in."""
        idx = self.aidx.get(agent_id)
        if idx is None:
            return
        n = self.named.get(idx, 0)
        if n > 1:
            self.named[idx] = n - 1
        elif n == 1:
            del self.named[idx]
            self.release(idx)

    def release(self, idx: int) -> None:
        """Give back the index of an agent never logged in that no live
        call names."""
        if idx not in self.agents and idx not in self.named:
            del self.aidx[self.ids[idx]]
            self.ids[idx] = ""
            self.spare.append(idx)

    def preferred(
        self,
        decision: _calls.Arrival,
        ev: CallArrived,
        stages: tuple[Stage, ...] | None,
        classes: Sequence[int] | None,
        now: float,
    ) -> tuple[str | None, float, PreferredAgentBusy | None]:
        """An arriving call's preferred agent, as ``_calls.set_preferred``
        decides it: the event's, else the one the rule's ``PreferredAgent``
        attribute names; how long it is reserved (NaN: the queue's
        ``preferred_agent_wait``; the rule's wait; 0 when the agent is busy
        and the rule falls back at once); and, when the rule's agent is not
        free for the call now, the ``PreferredAgentBusy`` to tell the
        adapter (its freedom read from the agent's materialized record with
        the reference's ``eligible_at``)."""
        wanted = ev.preferred_agent
        rule = decision.rule
        pref = rule.preferred if rule is not None else None
        if wanted is None and pref is not None:
            value = decision.attributes.get(pref.attribute)
            wanted = value if isinstance(value, str) and value else None
        if wanted is None or pref is None:
            return wanted, math.nan, None
        if self.free_for(wanted, decision, ev.channel, stages, classes, now):
            return wanted, pref.wait, None
        fallback = pref.if_busy == "fallback"
        busy = PreferredAgentBusy(at=now, call_id=ev.call_id, agent_id=wanted, fallback=fallback)
        return wanted, 0.0 if fallback else pref.wait, busy

    def free_for(
        self,
        agent_id: str,
        decision: _calls.Arrival,
        channel: Channel,
        stages: tuple[Stage, ...] | None,
        classes: Sequence[int] | None,
        now: float,
    ) -> bool:
        """Whether ``agent_id`` may be offered the arriving call at once: the
        reference's ``eligible_at`` over the agent's materialized record and
        the call as it enters the stage the engine's arrival will put it in
        (``classes``: the stages' engine classes; the engine passes over
        expired stages, and empty ``skip_if_empty`` ones, as
        ``_calls.enter_stage`` does). O(the agent's sessions), plus building
        a partial distributor, plus the engine's O(agents) for each
        ``skip_if_empty`` stage it looks at."""
        idx = self.aidx.get(agent_id)
        if idx is None or idx not in self.agents:
            return False  # never logged in
        part = self.partial([], [agent_id])
        agent = part._agents.get(agent_id)
        if agent is None:
            return False
        requirement = decision.requirement
        extras: tuple[str, ...] = ()
        regional = False
        if stages:
            assert classes is not None
            entered = self.eng.entry_stage(
                now,
                self.qidx[decision.queue],
                classes,
                [math.inf if s.expires_at is None else s.expires_at for s in stages],
                [s.skip_if_empty for s in stages],
            )
            stage = stages[entered]
            requirement, extras, regional = stage.requirement, stage.extra_queues, stage.regional
        call = CallRecord(
            call_id="",
            seq=self.d._call_seq,
            queue=decision.queue,
            channel=channel,
            attributes=decision.attributes,
            requirement=requirement,
            priority=decision.priority,
            emergency=decision.emergency,
            preferred_agent=agent_id,
            arrived=now,
            entered=now,
            key=decision.key or (),
            last_agent=None,
            rule=decision.rule_name,
            stages=(),
            stage_gen=0,
        )
        call.extra_queues = extras
        call.regional = regional
        call.region = _calls.region_of(decision.attributes)
        return eligible_at(agent, call, part._queues[decision.queue], now) == now

    def forget(self, seq: int, now: float) -> None:
        """A live call has ended (at ``now``): drop its facts. An agent may
        still wrap it up (its own, or one it transferred away before the
        caller hung up), so its id is kept in ``ended`` until any wrap-up
        begun by then must be over (a wrap-up ends by its deadline, which
        fires before any event after it), oldest first out."""
        facts = self.calls.pop(seq)
        del self.seq_of[facts.call_id]
        if self.heard:
            self.heard.pop(seq, None)
        if self.moves:
            self.move_arrived.pop(seq, None)
        if facts.preferred_agent is not None:
            self.unhold(facts.preferred_agent)
        if self.max_wrap > 0:
            ended = self.ended
            ended[seq] = (facts.call_id, now)
            limit = self.max_wrap
            while ended:
                oldest = next(iter(ended))
                if ended[oldest][1] + limit >= now:
                    break
                del ended[oldest]

    # ------------------------------------------------------------- hand-over

    def hand_over(self) -> None:
        """Give the state to the Python handlers for good: materialize the
        records into the distributor, rebuild its matching core from them
        and drop the engine. Decisions continue as the reference's."""
        from .snapshots import _rebuild_native

        shadow = self.shadow()
        d = self.d
        for name in (
            "_now",
            "_call_seq",
            "_timer_seq",
            "_arrived",
            "_outcomes",
            "_agents",
            "_calls",
            "_queues",
            "_timers",
        ):
            setattr(d, name, getattr(shadow, name))
        d._staff_cache = {}
        d._staff_gen += 1
        d._rng.setstate(shadow._rng.getstate())
        d._eng = None
        _rebuild_native(d)
        self._shadow = None
