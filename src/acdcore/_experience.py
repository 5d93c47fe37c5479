"""Caller experience: position and wait announcements, callback offers, and callback requests, attempts and cancellations.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from . import (
    _calls,
    _deadlines,
    _estimates,
    _offers,
    _queueing,
)
from ._state import (
    CallRecord,
    CallState,
)
from .actions import (
    Announce,
    CallbackFailed,
    OfferCallback,
)
from .config import CallbackPolicy, QueueConfig
from .errors import (
    InvalidCallState,
    InvalidValue,
)
from .estimators import WaitContext, WaitEstimate, spoken_wait
from .events import (
    CallbackCancelled,
    CallbackRequested,
    CallbackUnanswered,
)

if TYPE_CHECKING:
    from .distributor import Distributor


DEFAULT_CALLBACK = CallbackPolicy()
"""The callback policy of a queue that configures none."""


def check_callback_requested(d: Distributor, ev: CallbackRequested) -> CallRecord:
    call = _calls.live_call(d, ev.call_id)
    if call.callback:
        raise InvalidCallState(f"call {ev.call_id!r} is already a callback")
    if call.state is not CallState.WAITING:
        raise InvalidCallState(
            f"call {ev.call_id!r} is {call.state.value}; only a waiting call can become a callback"
        )
    if d._queues[call.queue].config.callback is None:
        raise InvalidCallState(f"call {ev.call_id!r}: queue {call.queue!r} has no callback policy")
    if ev.number is not None and (not isinstance(ev.number, str) or not ev.number):
        raise InvalidValue(
            f"call {ev.call_id!r}: callback number must be a non-empty string or None, "
            f"got {ev.number!r}"
        )
    return call


def apply_callback_requested(d: Distributor, ev: CallbackRequested, call: CallRecord) -> None:
    caller = call.attributes.get("caller")
    call.callback = True
    call.callback_offered = True
    call.number = (
        ev.number if ev.number is not None else (caller if isinstance(caller, str) else None)
    )
    call.next_announce = None  # nobody is on the line to hear them
    call.announce_timer = -1
    call.max_wait_timer = -1  # a callback keeps its place past the line's maximum wait


def check_callback_unanswered(d: Distributor, ev: CallbackUnanswered) -> CallRecord:
    call = _calls.live_call(d, ev.call_id)
    if not call.callback or call.state is not CallState.RINGING:
        what = "a callback" if call.callback else "not a callback"
        raise InvalidCallState(
            f"call {ev.call_id!r} is {call.state.value} and {what}; only a callback "
            "being dialled can go unanswered"
        )
    return call


def apply_callback_unanswered(d: Distributor, ev: CallbackUnanswered, call: CallRecord) -> None:
    callback_unanswered(d, call)


def check_callback_cancelled(d: Distributor, ev: CallbackCancelled) -> CallRecord:
    call = _calls.live_call(d, ev.call_id)
    if not call.callback:
        raise InvalidCallState(
            f"call {ev.call_id!r} is {call.state.value} and not a callback; a caller "
            "on the line who hangs up is CallAbandoned"
        )
    return call


def apply_callback_cancelled(d: Distributor, ev: CallbackCancelled, call: CallRecord) -> None:
    if call.state is CallState.WAITING:
        _queueing.dequeue(d, call)
    released = _offers.release_offers(d, call, "callback-cancelled")
    for e in d._ests:
        e.on_left(call.queue, d._now, call.seq)
    _queueing.finish(d, call, CallState.CALLBACK_CANCELLED)
    _offers.reroute(d, released)


def callback_policy(d: Distributor, call: CallRecord) -> CallbackPolicy:
    return d._queues[call.queue].config.callback or DEFAULT_CALLBACK


def callback_unanswered(d: Distributor, call: CallRecord) -> None:
    """A callback attempt found nobody: free the reserved agent (no miss),
    then retry later at the same place, or record the callback as failed."""
    released = _offers.release_offers(d, call, "callback-unanswered")
    call.ring_round += 1
    call.attempts += 1
    policy = callback_policy(d, call)
    if call.attempts > policy.retries:
        _deadlines.emit(
            d,
            CallbackFailed(
                at=d._now, call_id=call.call_id, queue=call.queue, attempts=call.attempts
            ),
        )
        for e in d._ests:
            e.on_left(call.queue, d._now, call.seq)
        _queueing.finish(d, call, CallState.CALLBACK_FAILED)
    else:
        call.state = CallState.CALLBACK_PENDING
        _deadlines.schedule(
            d, _deadlines.after(d, policy.retry_delay), _deadlines.RETRY, call, call.attempts
        )
    _offers.reroute(d, released)


def start_announcements(d: Distributor, call: CallRecord, ctx: WaitContext | None = None) -> None:
    """A call that must wait (and is not a callback) hears its first
    announcement now or ``first`` seconds from now, and is offered a
    callback if its wait is long; nothing if one is already scheduled."""
    if call.callback or call.next_announce is not None or not d._ests:
        return
    config = d._queues[call.queue].config
    ann = config.announce
    if ann is not None:
        if ann.first == 0 or call.announced > 0:
            announce(d, call, None if call.announced == 0 else ann.min_change, ctx)
            _deadlines.arm_announce(d, call, _deadlines.after(d, ann.every))
        else:
            _deadlines.arm_announce(d, call, _deadlines.after(d, ann.first))
    elif config.callback is not None and not call.callback_offered:
        if ctx is None:
            ctx = _estimates.context(d, call)
        offer_callback(d, call, d._ests[0].estimate(ctx))


def announce(
    d: Distributor, call: CallRecord, min_change: float | None, ctx: WaitContext | None = None
) -> None:
    """Announce a waiting call's position and estimated wait (skipped when
    ``min_change`` is given and neither moved enough since the last), then
    offer a callback if the wait is over the queue's threshold."""
    config = d._queues[call.queue].config
    if ctx is None:
        ctx = _estimates.context(d, call)
    est = d._ests[0].estimate(ctx)
    position = ctx.ahead + 1
    said = announcement(
        config, call, call.call_id, call.attributes, d._now, est, position, min_change
    )
    if said is not None:
        _deadlines.emit(d, said)
    if config.callback is not None:
        offer_callback(d, call, est, position)


def offer_callback(d: Distributor, call: CallRecord, est: WaitEstimate, position: int = 0) -> None:
    policy = d._queues[call.queue].config.callback
    if policy is None or call.callback_offered or not est.seconds > policy.threshold:
        return
    if position == 0:
        position = d._queues[call.queue].waiting.position(call)
    _deadlines.emit(d, callback_offer(call, call.call_id, call.queue, d._now, est, position))


class Hears(Protocol):
    """What a call has heard (a :class:`CallRecord`'s fields, or the
    engine façade's :class:`~acdcore._materialize.Heard`)."""

    announced: int
    last_position: int
    last_wait: float
    callback_offered: bool


def announcement(
    config: QueueConfig,
    heard: Hears,
    call_id: str,
    attributes: Mapping[str, Any],
    at: float,
    est: WaitEstimate,
    position: int,
    min_change: float | None,
) -> Announce | None:
    """The words of one announcement to a waiting call at ``position``
    (``None``: skipped, since ``min_change`` is given and neither the
    position nor the rounded wait moved enough since the last), recorded in
    ``heard``. The first announcement always speaks. O(segment attributes)."""
    ann = config.announce
    assert ann is not None
    wait, phrase = spoken_wait(est.seconds)
    moved = (
        heard.announced == 0
        or min_change is None
        or position != heard.last_position
        or (wait != heard.last_wait and not abs(wait - heard.last_wait) < min_change)
    )
    if not moved:
        return None
    segment = ",".join(
        f"{name}={attributes[name]}" for name in ann.segment_by if attributes.get(name) is not None
    )
    said = Announce(
        at=at,
        call_id=call_id,
        queue=config.name,
        position=position,
        wait=wait,
        phrase=phrase,
        estimate=est.seconds,
        low=est.low,
        high=est.high,
        segment=segment,
        rotation=heard.announced % ann.prompts,
    )
    heard.announced += 1
    heard.last_position = position
    heard.last_wait = wait
    return said


def callback_offer(
    heard: Hears, call_id: str, queue: str, at: float, est: WaitEstimate, position: int
) -> OfferCallback:
    """The callback offer to a waiting call at ``position`` whose estimate
    is over its queue's threshold (the caller has checked), recorded in
    ``heard``: it is made once per call."""
    heard.callback_offered = True
    return OfferCallback(
        at=at, call_id=call_id, queue=queue, position=position, estimate=est.seconds
    )


# ----------------------------------------------------------- estimates
