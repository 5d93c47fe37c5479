"""A restored state loaded into the C engine (internal).

``snapshots.restore`` decodes a document into the reference's records (the
Python handlers' state) and checks them. For a distributor that was built
on the engine, :func:`load` then hands those records to a fresh engine
(``acd_engine.h``, "load": the inverse of the export that
:mod:`~acdcore._materialize` reads), so the restored distributor runs on the
engine as the saved one did instead of on the Python handlers for good.

The load is verified before it is used: the saved document the loaded
engine gives must equal the one the records give. When it does not, or
when the state holds something the engine has no place for (which a
distributor built on the engine cannot have saved, but a document from a
python-backend distributor with the same configuration may), ``load``
returns ``None`` and the distributor keeps the records and runs on the
Python handlers, deciding the same.

Cost: O(agents x profile + sessions + calls + deadlines), plus two saved
documents for the comparison.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import _deadlines, _engine_exits
from ._materialize import CALL_STATES, SESSION_STATES, AgentFacts, CallFacts, Heard
from ._native.core import CHANNELS, NativeError
from ._native.engine import AgentExport, CallExport, Scalars, profile_arrays
from ._state import CallState, QueueRecord, Stage
from .skills import Channel

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from .distributor import Distributor

__all__ = ["load"]

_STATE_NO = {v: k for k, v in CALL_STATES.items()}
_SESSION_NO = {v: k for k, v in SESSION_STATES.items()}
_KINDS = (
    _deadlines.RING,
    _deadlines.WRAP,
    _deadlines.AGENT_WAKE,
    _deadlines.CALL_RECHECK,
    _deadlines.STAGE,
    _deadlines.MAX_WAIT,
    _deadlines.ANNOUNCE,
    _deadlines.RETRY,
)


def _stage_class(f: EngineFacade, st: Stage, channel: Channel, region: int) -> int:
    """The engine's class of a stage of a call of ``channel`` whose region
    has id ``region`` (a regional stage admits only that region)."""
    return f.klass(st.requirement, channel, st.extra_queues, region if st.regional else -1)


class _NoPlace(Exception):
    """The records hold something the engine has no place for."""


def load(d: Distributor) -> EngineFacade | None:
    """Move ``d``'s restored records into a fresh engine and return its
    façade (``d``'s own records are then emptied: the engine holds the
    state); ``None``, with ``d`` untouched, when the engine cannot hold
    exactly this state."""
    from ._engine_facade import EngineFacade
    from .snapshots import save

    f = EngineFacade(d)
    try:
        _fill(f, d)
    except (_NoPlace, NativeError, OverflowError, KeyError):
        return None
    f.version += 1
    want = save(d)
    d._eng = f
    try:
        same = save(d) == want
    finally:
        d._eng = None
    if not same:
        return None
    d._calls = {}
    d._agents = {}
    d._timers = []
    d._queues = {name: QueueRecord(config=q.config) for name, q in d._queues.items()}
    d._nat = None
    d._staff_cache = {}
    d._staff_gen += 1
    return f


def _fill(f: EngineFacade, d: Distributor) -> None:
    eng = f.eng
    qidx = f.qidx
    live = [t for t in d._timers if _deadlines.timer_live(d, t[1], t[2], t[3], t[4])]
    wrap_tseq = {
        (rec.agent_id, token.seq): tseq
        for _, tseq, kind, rec, token in live
        if kind == _deadlines.WRAP
    }
    # Agents ever logged in, in order of first login; then their sessions.
    for rec in sorted(d._agents.values(), key=lambda a: a.order):
        idx = f.name(rec.agent_id)
        skills, cap, excl, mems = profile_arrays(rec.profile, qidx, f.skill_id)
        state = AgentExport(
            logged_in=rec.logged_in,
            paused=rec.paused is not None,
            pending_logout=rec.pending_logout,
            misses=rec.misses,
            not_before=rec.not_before,
            idle_since=rec.idle_since,
            last_call_end=rec.last_call_end,
            calls_taken=rec.calls_taken,
            talk_time=rec.talk_time,
            wake_at=rec.wake_at,
            wake_timer=rec.wake_timer,
            staffed=rec.staffed,
        )
        eng.load_agent(
            idx, state, rec.order, skills, cap, excl, mems, f.region_id(rec.profile.region)
        )
        if rec.answers:
            eng.load_answers(idx, rec.answers)
        f.agents[idx] = AgentFacts(rec.agent_id, rec.profile, rec.order, rec.paused)
        for seq, s in rec.sessions.items():
            tseq = wrap_tseq.get((rec.agent_id, seq), -1)
            state_no = _SESSION_NO[s.state]
            eng.load_session(idx, seq, CHANNELS[s.channel], qidx[s.queue], state_no, s.until, tseq)
            live_call = d._calls.get(s.call_id)
            if live_call is None or live_call.seq != seq:  # wrapping up an ended call
                f.ended[seq] = (s.call_id, d._now)
    # Live calls in arrival order.
    for c in sorted(d._calls.values(), key=lambda r: r.seq):
        if c.state not in _STATE_NO:
            raise _NoPlace(f"call {c.call_id!r}")
        stage = c.stages[c.stage]
        if (stage.requirement, stage.extra_queues, stage.regional) != (
            c.requirement,
            c.extra_queues,
            c.regional,
        ):
            raise _NoPlace(f"call {c.call_id!r}: not in its stage")
        rid = f.region_id(c.region)
        cls = _stage_class(f, stage, c.channel, rid)
        # A call with no steps has its one plain stage; any other table is
        # the engine's too (transfers give a call a plain stage again).
        plain = (
            len(c.stages) == 1
            and not stage.extra_queues
            and stage.expires_at is None
            and not stage.regional
            and not stage.skip_if_empty
        )
        pref = -1 if c.preferred_agent is None else f.name(c.preferred_agent)
        x = CallExport(
            seq=c.seq,
            state=_STATE_NO[c.state],
            queue=qidx[c.queue],
            agent=-1 if c.agent is None else f.aidx[c.agent],
            offers=tuple(f.aidx[a] for a in c.offers),
            ring_round=c.ring_round,
            arrived=c.arrived,
            entered=c.entered,
            offered_at=c.offered_at,
            answered_at=c.answered_at if c.state is CallState.CONNECTED else None,
            preferred_until=c.preferred_until,
            recheck_at=c.recheck_at,
            recheck_timer=c.recheck_timer,
            max_wait_timer=c.max_wait_timer,
            announce_timer=c.announce_timer,
            next_announce=c.next_announce,
            heard=c.announced > 0,
            callback=c.callback,
            attempts=c.attempts,
        )
        moves = c.stage_gen - 1 - c.transfers  # each move and transfer re-stages it
        if moves < 0:
            raise _NoPlace(f"call {c.call_id!r}: staged {c.stage_gen} times")
        eng.load_call(x, cls, c.key, pref)
        if not plain:
            eng.load_stages(
                c.seq,
                [_stage_class(f, st, c.channel, rid) for st in c.stages],
                [math.inf if st.expires_at is None else st.expires_at for st in c.stages],
                c.stage,
                c.stage_timer,
                [st.skip_if_empty for st in c.stages],
            )
        if pref >= 0:
            f.hold(pref)
        f.calls[c.seq] = CallFacts(
            call_id=c.call_id,
            channel=c.channel,
            attributes=c.attributes,
            requirement=c.requirement,
            priority=c.priority,
            emergency=c.emergency,
            preferred_agent=c.preferred_agent,
            key=c.key,
            last_agent=c.last_agent,
            rule=c.rule,
            transfers=c.transfers,
            stages=None if plain else c.stages,
            moves=moves,
        )
        f.seq_of[c.call_id] = c.seq
        heard = Heard(c.announced, c.last_position, c.last_wait, c.callback_offered, c.number)
        if heard != Heard():  # what it has heard, kept by the façade
            f.heard[c.seq] = heard
        if f.moves:  # where a plan's queue exits may move it from here
            _engine_exits.give_moves(f, c.seq, f.calls[c.seq], c.queue, c.arrived)
    for i, name in enumerate(f.qnames):
        eng.load_queue(i, d._queues[name].rr_last)
        eng.load_sampled(i, *d._queues[name].sampled)
        if d._queues[name].surge:
            eng.load_surge(i, True)
    # Live deadlines, numbered as they were.
    for when, tseq, kind, rec, token in sorted(live, key=lambda t: t[1]):
        if kind not in _KINDS:
            raise _NoPlace(f"a deadline of kind {kind}")
        if kind in (_deadlines.RING, _deadlines.STAGE, _deadlines.RETRY):
            # a ring round, a stage index, the attempts made
            eng.load_deadline(when, tseq, kind, rec.seq, token)
        elif kind == _deadlines.WRAP:
            eng.load_deadline(when, tseq, kind, f.aidx[rec.agent_id], token.seq)
        elif kind == _deadlines.AGENT_WAKE:
            eng.load_deadline(when, tseq, kind, f.aidx[rec.agent_id], 0)
        else:
            eng.load_deadline(when, tseq, kind, rec.seq, 0)
    eng.load_finish(
        Scalars(
            now=d._now,
            timer_seq=d._timer_seq,
            call_seq=d._call_seq,
            arrived=d._arrived,
            completed=d._outcomes[CallState.COMPLETED],
            abandoned=d._outcomes[CallState.ABANDONED],
            rejected=d._outcomes[CallState.REJECTED],
            overflowed=d._outcomes[CallState.OVERFLOWED],
            self_service=d._outcomes[CallState.SELF_SERVICE],
            callback_failed=d._outcomes[CallState.CALLBACK_FAILED],
            callback_cancelled=d._outcomes[CallState.CALLBACK_CANCELLED],
        )
    )
