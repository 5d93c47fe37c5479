"""The hottest frozen objects, built without attrs' frozen ``__init__`` (internal).

The engine's façade turns nearly every engine record into an
:class:`~acdcore.actions.Offer`, :class:`~acdcore.actions.Queued`,
:class:`~acdcore.actions.CancelOffer` or :class:`~acdcore.actions.Reject`,
and every arrival hands the queue's policy a
:class:`~acdcore.policies.CallFacts`. The ``__init__`` attrs generates for a
frozen slotted class sets each field through a bound
``object.__setattr__``; the builders here make the object with
``object.__new__`` and set each slot through its descriptor, which is about
twice as fast (``benchmarks/README.md``, stop 28). The object is the same:
the same class, equal, the same field values; ``Offer``'s attributes go
through its converter's rule (a read-only mapping is kept as it is, any
other is frozen by :func:`~acdcore.skills.freeze_mapping`). They validate
nothing, as those classes do not: callers hand them values already checked.
``tests/test_frozen_build.py`` requires each builder to make what its
class's own constructor makes, on drawn values, and to set every field the
class has.

Each builder costs O(fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._frozenmap import FrozenMap
from .actions import Action, CancelOffer, Offer, Queued, Reject
from .policies import CallFacts
from .skills import Channel, freeze_mapping

__all__ = ["call_facts", "cancel", "offer", "queued", "reject"]

_new = object.__new__
_at = Action.at.__set__  # type: ignore[attr-defined]


def _setter(cls: type, name: str) -> Any:
    """The slot descriptor's ``__set__`` of field ``name`` of ``cls``."""
    return getattr(cls, name).__set__


_o_call, _o_agent, _o_queue, _o_channel, _o_attributes = (
    _setter(Offer, n) for n in ("call_id", "agent_id", "queue", "channel", "attributes")
)
_o_waited, _o_ring, _o_rule, _o_last = (
    _setter(Offer, n) for n in ("waited", "ring_timeout", "rule", "last_agent")
)
_q_call, _q_queue, _q_position, _q_reason, _q_rule = (
    _setter(Queued, n) for n in ("call_id", "queue", "position", "reason", "rule")
)
_c_call, _c_agent, _c_reason = (_setter(CancelOffer, n) for n in ("call_id", "agent_id", "reason"))
_r_call, _r_queue, _r_reason = (_setter(Reject, n) for n in ("call_id", "queue", "reason"))
_f_seq, _f_arrived, _f_priority, _f_emergency, _f_attributes = (
    _setter(CallFacts, n) for n in ("seq", "arrived", "priority", "emergency", "attributes")
)


def offer(
    at: float,
    call_id: str,
    agent_id: str,
    queue: str,
    channel: Channel,
    attributes: Mapping[str, Any],
    waited: float,
    ring_timeout: float,
    rule: str,
    last_agent: str | None,
) -> Offer:
    """``Offer(at=at, call_id=call_id, ...)``, field for field."""
    if attributes.__class__ is not FrozenMap and attributes.__class__ is not MappingProxyType:
        attributes = freeze_mapping(attributes)  # Offer's converter
    o = _new(Offer)
    _at(o, at)
    _o_call(o, call_id)
    _o_agent(o, agent_id)
    _o_queue(o, queue)
    _o_channel(o, channel)
    _o_attributes(o, attributes)
    _o_waited(o, waited)
    _o_ring(o, ring_timeout)
    _o_rule(o, rule)
    _o_last(o, last_agent)
    return o


def queued(at: float, call_id: str, queue: str, position: int, reason: str, rule: str) -> Queued:
    """``Queued(at=at, call_id=call_id, ...)``, field for field."""
    o = _new(Queued)
    _at(o, at)
    _q_call(o, call_id)
    _q_queue(o, queue)
    _q_position(o, position)
    _q_reason(o, reason)
    _q_rule(o, rule)
    return o


def cancel(at: float, call_id: str, agent_id: str, reason: str) -> CancelOffer:
    """``CancelOffer(at=at, call_id=call_id, ...)``, field for field."""
    o = _new(CancelOffer)
    _at(o, at)
    _c_call(o, call_id)
    _c_agent(o, agent_id)
    _c_reason(o, reason)
    return o


def reject(at: float, call_id: str, queue: str, reason: str) -> Reject:
    """``Reject(at=at, call_id=call_id, ...)``, field for field."""
    o = _new(Reject)
    _at(o, at)
    _r_call(o, call_id)
    _r_queue(o, queue)
    _r_reason(o, reason)
    return o


def call_facts(
    seq: int, arrived: float, priority: int, emergency: bool, attributes: Mapping[str, Any]
) -> CallFacts:
    """The policy's ``CallFacts(seq=seq, arrived=arrived, ...)``, field for field."""
    o = _new(CallFacts)
    _f_seq(o, seq)
    _f_arrived(o, arrived)
    _f_priority(o, priority)
    _f_emergency(o, emergency)
    _f_attributes(o, attributes)
    return o
