"""The engine's side of the simulator's direct lane: the commonest events as plain values in, the engine's records out (internal).

The simulator (:mod:`~acdcore._sim_direct`) hands arrivals, answers, call
ends, abandons and due deadlines to these functions instead of
``Distributor.handle`` and ``advance``. Each does what the façade's handler
for that event does (:class:`~acdcore._engine_facade.EngineFacade`'s
``arrive``, ``answer``, ``end``, ``abandon``, ``advance``: the same C call,
the same facts kept, the clock moved), without the checks the simulator never
needs: it only sends what the engine accepts, and the engine still refuses
anything else, raising ``EngineRefused`` with nothing changed. Each returns
:func:`split`'s records instead of the public action objects.

Part of the engine's façade: functions over an
:class:`~acdcore._engine_facade.EngineFacade`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _engine_hooks
from ._engine_facade import _REASONS, _REJECT
from ._native.engine import EngineRefused

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from ._materialize import CallFacts
    from .actions import Action
    from .events import CallArrived

Split = tuple[list[Any], "list[Action] | None"]
"""The records a step gives the lane, and (with a journal) every action object."""


def arrive(
    f: EngineFacade, ev: CallArrived, objects: bool
) -> tuple[list[Action], list[Any], list[Action] | None] | None:
    """An arrival (the plan and the policy read its event): the plan's
    notes, then :func:`split`'s records. None: handed over."""
    got = f.arrival(ev)
    if got is None:
        return None
    notes, acts, facts = got
    f.d._now = float(ev.now)
    out, objs = split(f, acts, facts, objects)
    if f.told:
        out, objs = _told(f, out, objs)
    return notes, out, objs


def answer(
    f: EngineFacade, now: float, seq: int, agent: int, agent_id: str, objects: bool
) -> Split:
    rc = f._lib.acd_engine_answer(f._e, now, seq, agent)
    if rc < 0:
        raise EngineRefused(int(rc), "answer")
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    f.d._now = now
    f.answered(seq, agent_id)
    out = split(f, f._acts(), None, objects)
    if f.told:
        out = _told(f, *out)
    return out


def end(f: EngineFacade, now: float, seq: int, objects: bool) -> Split:
    rc = f._lib.acd_engine_end(f._e, now, seq)
    if rc < 0:
        raise EngineRefused(int(rc), "end")
    return _gone(f, now, seq, objects)


def abandon(f: EngineFacade, now: float, seq: int, objects: bool) -> Split:
    rc = f._lib.acd_engine_abandon(f._e, now, seq)
    if rc < 0:
        raise EngineRefused(int(rc), "abandon")
    return _gone(f, now, seq, objects)


def _gone(f: EngineFacade, now: float, seq: int, objects: bool) -> Split:
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    f.d._now = now
    out = split(f, f._acts(), None, objects)  # worded while its facts are kept
    f.forget(seq, now)
    if f.told:
        out = _told(f, *out)
    return out


def advance(f: EngineFacade, now: float, objects: bool) -> Split:
    """``Distributor.advance(now)``, a deadline being due by ``now``."""
    rc = f._lib.acd_engine_advance(f._e, now)
    if rc < 0:
        raise EngineRefused(int(rc), "advance")
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    f.d._now = now
    out = split(f, f._acts(), None, objects)
    if f.told:
        out = _told(f, *out)
    return out


def _told(f: EngineFacade, out: list[Any], objs: list[Action] | None) -> Split:
    """Tell the estimators the step's hooks (the step's last act), and put
    what callers heard in its places."""
    _engine_hooks.tell(f)
    if f.speaking:
        f.speaking = False
        out = _engine_hooks.said(out)
        objs = None if objs is None else _engine_hooks.said(objs)
    return out, objs


def split(f: EngineFacade, acts: Sequence[Any], arriving: CallFacts | None, objects: bool) -> Split:
    """The engine's records for the direct lane: offers, queueings,
    withdrawn offers and rejects stay records, with the call's id, the
    agent's id ("" for none), the reason and the queue's name in place of
    their numbers, ``(kind, reason, call_id, agent_id, queue, position,
    waited, ring_timeout, at)``; any other kind becomes its action object
    here, since wording it updates the façade's facts (once). With
    ``objects``, also every record's action object, in order (a
    journal's). Cost: O(1) a record."""
    out: list[Any] = []
    objs: list[Action] | None = [] if objects else None
    calls, ids, qnames = f.calls, f.ids, f.qnames
    for rec in acts:
        kind, reason, seq, agent, queue, n, x, y, at = rec
        if kind <= _REJECT:
            if kind == _REJECT:
                assert arriving is not None
                cid = arriving.call_id
            else:
                cid = calls[seq].call_id
            aid = ids[agent] if agent >= 0 else ""
            out.append((kind, _REASONS[reason], cid, aid, qnames[queue], n, x, y, at))
            if objs is not None:
                objs.extend(f.wrap((rec,), arriving))
        else:
            worded = f.wrap((rec,), arriving)
            out.extend(worded)
            if objs is not None:
                objs.extend(worded)
    return out, objs
