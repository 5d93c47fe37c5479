"""Callbacks on the engine: the events of a caller who asks for one, and the words of an attempt and a failure (internal).

Part of the engine's façade (:class:`~acdcore._engine_facade.EngineFacade`):
the engine runs the callbacks (``acd_engine_callback_*``; a request keeps
the call's place, an attempt reserves one agent, an unanswered one is
retried or fails), and the façade keeps the number the customer is called
back at (``Heard.number``) and words ``PlaceCallback`` and
``CallbackFailed``. O(1) each, plus the engine's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _engine_hooks
from ._materialize import Heard
from .actions import Action, CallbackFailed, PlaceCallback
from .events import CallbackCancelled, CallbackRequested, CallbackUnanswered

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade


def requested(f: EngineFacade, ev: CallbackRequested) -> list[Action]:
    """A waiting caller accepts a callback: the engine keeps its place,
    the façade the number to call (the event's, else the caller's)."""
    seq = f.call_seq(ev, ev.call_id)
    number = ev.number
    if number is not None and (not isinstance(number, str) or not number):
        f.refuse(ev)  # (the reference's check: the call's state first)
    if f._lib.acd_engine_callback_requested(f._e, ev.now, seq) < 0:
        f.refuse(ev)
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    if number is None:
        caller = f.calls[seq].attributes.get("caller")
        number = caller if isinstance(caller, str) else None
    heard = f.heard.get(seq)
    if heard is None:
        heard = f.heard[seq] = Heard()
    heard.callback_offered = True
    heard.number = number
    return f.wrap(f._acts(), None)


def unanswered(f: EngineFacade, ev: CallbackUnanswered) -> list[Action]:
    """An attempt found nobody: retried later, or the callback fails."""
    seq = f.call_seq(ev, ev.call_id)
    if f._lib.acd_engine_callback_unanswered(f._e, ev.now, seq) < 0:
        f.refuse(ev)
    f.version += 1
    if f.hooked:
        _engine_hooks.replay(f)
    return f.wrap(f._acts(), None)  # (a failed callback's facts go with its words)


def cancelled(f: EngineFacade, ev: CallbackCancelled) -> list[Action]:
    """The customer withdraws the callback: it ends."""
    seq = f.call_seq(ev, ev.call_id)
    now = float(ev.now)
    if f._lib.acd_engine_callback_cancelled(f._e, now, seq) < 0:
        f.refuse(ev)
    return f.gone(seq, now)


def placed(
    f: EngineFacade, seq: int, agent: int, queue: int, attempt: int, dial: float, at: float
) -> PlaceCallback:
    """The words of an ``ACD_A_PLACE`` record: dial the customer."""
    c = f.calls[seq]
    heard = f.heard.get(seq)
    return PlaceCallback(
        at=at,
        call_id=c.call_id,
        agent_id=f.ids[agent],
        queue=f.qnames[queue],
        number=None if heard is None else heard.number,
        attempt=attempt,
        dial_timeout=dial,
        attributes=c.attributes,
    )


def failed(f: EngineFacade, seq: int, queue: int, attempts: int, at: float) -> CallbackFailed:
    """The words of an ``ACD_A_CALLBACK_FAILED`` record; the call has ended."""
    out = CallbackFailed(
        at=at, call_id=f.calls[seq].call_id, queue=f.qnames[queue], attempts=attempts
    )
    f.forget(seq, at)
    return out
