"""The estimators on the engine: the hooks the C engine leaves, told to them (internal).

A distributor with estimators runs on the engine like any other: the engine
keeps its staffing counts and, for every event and advance, leaves in a
buffer of its own what the Python handlers tell the estimators, in the order
they tell it, with every number computed where they compute it (see
``acd_engine.h``, "estimator hooks"): each queue's sample when its waiting
count or staffing changed (``_estimates.sample``), a waiting call's context
when it enters a queue (``_estimates.context``: its place, the queue's length,
the head's wait, the staffed pool's capacity, agents and sharing, and the
competing calls ahead), an offer's start, an answer, an abandon, a call
handled and a call that left. The façade tells them to the estimators once
the step is done: :func:`replay` takes them while the calls' facts are
kept, :func:`tell` makes them as the event's or advance's last act.
Estimators decide nothing the engine decides, so telling them after the
step is exact for an estimator that learns from what it is told, as every
built-in one does: the same calls, in the same order, with the same
arguments as on the Python handlers. An estimator that read the distributor
from inside a hook would see the state after the step, not partway through
it.

Announcements and callback offers read the first estimator, but decide
nothing the engine decides either: the engine times them (their deadlines
are numbered with every other) and marks each moment a call may hear
something with a hook carrying its context and an ``ACD_A_SPEAK`` action
in its place among the actions. :func:`tell` asks the estimator at that
point of the sequence (after the calls before it, before those after) and
words what the call hears (``_experience.announcement``,
``_experience.callback_offer``) into a :class:`Spoken` that the action
list holds in that place; :func:`said` then puts the words in its place.

Cost: O(1) a hook, plus the estimators' own; nothing at all without
estimators (the engine computes no hook then).

Part of the engine's façade: functions over an
:class:`~acdcore._engine_facade.EngineFacade`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import _estimates, _experience
from ._materialize import CallFacts, Heard
from .actions import Action
from .estimators import WaitContext, WaitEstimate, WaitEstimator

if TYPE_CHECKING:
    from ._engine_state import EngineState

# The hook kinds (acd_engine.h's ACD_H_*).
_SAMPLE, _ENTERED, _STARTED, _ANSWERED, _ABANDONED, _HANDLED, _LEFT = 1, 2, 3, 4, 5, 6, 7
_ANNOUNCE, _CALLBACK = 8, 9


class Spoken:
    """What one ``ACD_A_SPEAK`` action turns out to say (an Announce, an
    OfferCallback, both or neither): a place in the step's action list,
    filled by :func:`tell`."""

    __slots__ = ("acts",)

    def __init__(self) -> None:
        self.acts: list[Action] = []


def replay(f: EngineState, arriving: int = -1, priority: int = 0) -> None:
    """Take the hooks of the engine's last step, in order, into ``f.told``
    as the estimators' calls to make (:func:`tell` makes them once the
    façade's bookkeeping of the step is done). ``arriving`` is the
    sequence number of a call that has just arrived (its facts are not kept
    yet) and ``priority`` its priority; every other call's comes from its
    facts, which the caller still keeps (replay before wording the
    records)."""
    n = f.status.nhook
    if not n:
        return
    buf = f._lib.acd_engine_hooks(f._e)
    qnames = f.qnames
    calls = f.calls
    told = f.told = []  # (one step per event or advance: nothing older is pending)
    if f.spoken:
        f.spoken = {}
    for i in range(n):
        h = buf[i]
        kind = h.kind
        queue = qnames[h.queue]
        at = h.at
        if kind == _SAMPLE:
            told.append(("on_sample", (queue, at, int(h.n[0]), int(h.n[1]))))
        elif kind == _ENTERED:
            seq = int(h.call)
            prio = priority if seq == arriving else calls[seq].priority
            told.append(("on_entered", (_context(h, queue, at, prio), seq)))
        elif kind == _STARTED:
            told.append(("on_started", (queue, at, h.x, int(h.call))))
        elif kind == _ANSWERED:
            seq = int(h.call)
            told.append(("on_answered", (queue, at, h.x, seq, calls[seq].priority)))
        elif kind == _ABANDONED:
            told.append(("on_abandoned", (queue, at, h.x, int(h.call))))
        elif kind == _HANDLED:
            told.append(("on_handled", (queue, at, h.x)))
        elif kind == _LEFT:
            told.append(("on_left", (queue, at, int(h.call))))
        else:  # _ANNOUNCE, _CALLBACK: worded by tell, in this place
            seq = int(h.call)
            facts = None if seq == arriving else calls[seq]
            prio = priority if facts is None else facts.priority
            # What it has heard, bound now: the call may end later in this
            # step, and the façade forget it, before tell words this.
            heard = f.heard.get(seq)
            if heard is None:
                heard = f.heard[seq] = Heard()
            sp = f.spoken[i] = Spoken()
            f.speaking = True
            ctx = _context(h, queue, at, prio)
            told.append(("", (kind, seq, facts, heard, ctx, sp)))


def tell(f: EngineState) -> None:
    """Make the estimators' calls :func:`replay` took, in order, each to
    every estimator, and forget them: the last thing an event or advance
    does, so that an estimator that raises leaves the façade's bookkeeping
    whole (the exception goes to the caller, as on the Python handlers,
    and the calls after it are not made)."""
    told = f.told
    if not told:
        return
    f.told = []
    ests = f.d._ests
    for name, args in told:
        if name:
            for e in ests:
                getattr(e, name)(*args)
        else:
            speak(f, *args)  # type: ignore[arg-type]  # (replay's tuple for it)


def speak(
    f: EngineState,
    kind: int,
    seq: int,
    facts: CallFacts | None,
    heard: Heard,
    ctx: WaitContext,
    sp: Spoken,
) -> None:
    """What a waiting call hears at an ``ACD_H_ANNOUNCE`` or
    ``ACD_H_CALLBACK`` hook, asked of the first estimator now (as
    ``_experience.announce`` and ``start_announcements`` ask it), into
    ``sp``, and recorded in ``heard`` (the call's, bound by :func:`replay`
    while it was live: kept in ``f.heard`` until the call ends)."""
    if facts is None:
        facts = f.calls[seq]  # the call arriving in this step: its facts are kept since
    config = f.configs[f.qidx[ctx.queue]]
    policy = config.callback
    if kind == _CALLBACK and heard.callback_offered:
        return  # offered once: the estimator is not asked again
    est = f.d._ests[0].estimate(ctx)
    position = ctx.ahead + 1
    if kind == _ANNOUNCE:
        ann = config.announce
        assert ann is not None
        words = _experience.announcement(
            config, heard, facts.call_id, facts.attributes, ctx.now, est, position, ann.min_change
        )
        if words is not None:
            sp.acts.append(words)
    if policy is not None and not heard.callback_offered and est.seconds > policy.threshold:
        sp.acts.append(
            _experience.callback_offer(heard, facts.call_id, ctx.queue, ctx.now, est, position)
        )


def said(out: Sequence[Any]) -> list[Any]:
    """``out`` with each :class:`Spoken` replaced by its words, in its
    place (after :func:`tell` filled them)."""
    flat: list[Any] = []
    for a in out:
        if type(a) is Spoken:
            flat.extend(a.acts)
        else:
            flat.append(a)
    return flat


def estimate(
    f: EngineState, call_id: object, estimator: WaitEstimator | str | None
) -> WaitEstimate | None:
    """``Distributor.estimate`` read from the engine: the waiting call's
    context computed in C (``acd_engine_context``), no records
    materialized. None when ``call_id`` is not a waiting call of the
    engine's: the reference's path then raises its error. Cost: O(calls
    ahead), plus O(the pool's agents) when a member's staffing changed
    since the class's pool was last counted, plus the estimator's."""
    seq = f.seq_of.get(call_id) if isinstance(call_id, str) else None
    if seq is None:
        return None
    est = _estimates.pick(f.d, estimator)  # its error, after the call's (it is live)
    h = f.eng.context(seq)
    if h is None:
        return None  # not waiting
    return est.estimate(_context(h, f.qnames[h.queue], h.at, f.calls[seq].priority))


def _context(h: object, queue: str, at: float, priority: int) -> WaitContext:
    """The WaitContext of an ACD_H_ENTERED hook ``h``."""
    n = h.n  # type: ignore[attr-defined]
    head_wait = h.x  # type: ignore[attr-defined]
    competing = int(n[5])
    return WaitContext(
        now=at,
        queue=queue,
        priority=priority,
        ahead=int(n[0]),
        servers=int(n[2]),
        waiting=int(n[1]),
        head_wait=None if math.isnan(head_wait) else head_wait,
        waited=h.y,  # type: ignore[attr-defined]
        competing=lambda: competing,
        shared=bool(n[4]),
        agents=int(n[3]),
    )
