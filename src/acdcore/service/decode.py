"""Events from request bodies: the codec's JSON form, with the defaults filled in.

``POST /events`` takes the JSON form of :mod:`acdcore.codec`. A journal
needs every field; a client should not have to spell out what has a
default, so before the codec reads the body this module fills in:

- ``v`` (the codec's schema version) and ``now`` (the runtime replaces it
  with its clock anyway);
- every field of the event class that has a default (``channel``,
  ``attributes``, ``priority``, ``reason``...);
- in an ``AgentLoggedIn`` profile: ``skills``, ``queues``, ``capacity``,
  ``exclusive`` and ``region`` as :class:`~acdcore.AgentProfile` defaults
  them, ``queues`` given as a list of names, and each membership's
  ``priority``, ``delay``, ``position`` and ``weight``.

Everything else is the codec's: an unknown type or field, or a value of the
wrong kind, is an :class:`~acdcore.errors.InvalidValue` naming the field.
An action's type (``Offer``) is not an event and is refused the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import events as _events
from ..codec import SCHEMA, from_json, to_json
from ..config import AgentProfile, QueueMembership
from ..errors import InvalidValue
from ..events import AgentLoggedIn, Event
from ..values import show

__all__ = ["EVENT_TYPES", "event_from_json"]

EVENT_TYPES: dict[str, type[Event]] = {
    name: getattr(_events, name) for name in _events.__all__ if name != "Event"
}
"""The event classes by the name the JSON form's ``type`` gives."""

_PROFILE: dict[str, Any] = to_json(AgentLoggedIn(now=0, profile=AgentProfile("x")))["profile"]
_MEMBERSHIP: dict[str, Any] = to_json(
    AgentLoggedIn(now=0, profile=AgentProfile("x", queues={"q": QueueMembership()}))
)["profile"]["queues"]["q"]


_FACTORY: type[Any] = type(attrs.Factory(dict))


def _default(field: attrs.Attribute[Any]) -> Any:
    """The JSON form of a field's default."""
    default: Any = field.default
    value = default.factory() if type(default) is _FACTORY else default
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _membership(spec: Any) -> Any:
    if spec is None:
        return dict(_MEMBERSHIP)
    if isinstance(spec, dict):
        return {**_MEMBERSHIP, **spec}
    return spec  # the codec names what is wrong


def _profile(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec  # the codec names what is wrong
    out = dict(spec)
    for key, value in _PROFILE.items():
        if key != "agent_id":
            out.setdefault(key, value)
    queues = out["queues"]
    if isinstance(queues, list):
        if not all(isinstance(q, str) for q in queues):
            raise InvalidValue(
                f"AgentLoggedIn.profile.queues: a list must hold queue names, got {show(queues)}"
            )
        queues = dict.fromkeys(queues)
    if isinstance(queues, dict):
        out["queues"] = {name: _membership(m) for name, m in queues.items()}
    return out


def event_from_json(data: Any) -> Event:
    """The event a request body describes (see the module docstring).
    Raises :class:`~acdcore.errors.InvalidValue` naming what is wrong."""
    if not isinstance(data, dict):
        raise InvalidValue(f"the body must be a JSON object (an event), got {show(data)}")
    name = data.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidValue(f"type: {show(name)} is not an event type (known: {known})")
    filled = dict(data)
    filled.setdefault("v", SCHEMA)
    filled.setdefault("now", 0)
    for field in attrs.fields(cls):
        if field.name not in filled and field.default is not attrs.NOTHING:
            filled[field.name] = _default(field)
    if cls is AgentLoggedIn and "profile" in filled:
        filled["profile"] = _profile(filled["profile"])
    event = from_json(filled)
    assert isinstance(event, Event)
    return event
