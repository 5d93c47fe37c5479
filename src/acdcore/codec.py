"""A stable JSON form for every event and action (schema version 1).

A journal, a network service and a hot standby all pass events and actions
between processes. :func:`to_json` turns one into plain JSON data and
:func:`from_json` turns that back into an equal object; :func:`dumps` and
:func:`loads` do the same with text. The form is::

    {"type": "CallArrived", "v": 1, "now": 12.5, "call_id": "c1", "queue": "sales",
     "channel": "voice", "attributes": {"caller": "+1555"}, "requirement": null, ...}

- ``type`` is the class name and ``v`` the schema version (:data:`SCHEMA`).
- Every field of the class is present, by its attribute name, in declaration
  order; nothing else is allowed.
- A :class:`~acdcore.skills.Channel` is its value (``"voice"``), a
  :class:`~acdcore.skills.SkillRequirement` an object of skill levels, an
  :class:`~acdcore.config.AgentProfile` an object of its fields (memberships
  as objects, capacity keyed by channel, exclusive channels as a sorted list).
- A number field that is infinite (an estimate that cannot be made) is the
  string ``"inf"`` (or ``"-inf"``): JSON has no infinity. NaN has no form.
- Call attributes are JSON data as they are: strings, finite numbers, bools,
  ``null``, lists and objects with string keys. A tuple is written as a list
  and comes back as one.

Anything else is refused with :class:`~acdcore.errors.InvalidValue` naming the
field (``CallArrived.attributes.tier``): a value JSON cannot hold (NaN, an
infinity, an int beyond a float, a set, a non-string key) on the way out, and
an unknown type or version, a missing or extra field, or a value of the wrong
kind on the way in. A decoded object is built by the class's own constructor,
so its own checks apply too; events are checked in full when a distributor
handles them, as always.

Cost: O(size of the object) each way.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from . import actions as _actions
from . import events as _events
from .actions import Action
from .config import AgentProfile, QueueMembership
from .errors import AcdError, InvalidValue
from .events import Event
from .skills import Channel, SkillRequirement
from .values import is_number, show

__all__ = ["SCHEMA", "dumps", "from_json", "loads", "to_json"]

SCHEMA = 1
"""The version of the JSON form written by :func:`to_json`."""

_TYPES: dict[str, type[Any]] = {
    name: getattr(mod, name)
    for mod in (_events, _actions)
    for name in mod.__all__
    if name not in ("Event", "Action")
}
_HINTS: dict[type[Any], dict[str, Any]] = {}

_MAX_DEPTH = 64  # nesting of call attributes


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


# ------------------------------------------------------------------ writing


def to_json(obj: Event | Action) -> dict[str, Any]:
    """The JSON form of an event or action: plain ``dict``/``list``/``str``/
    number/``bool``/``None`` data that :func:`json.dumps` accepts as is."""
    cls = type(obj)
    spec = _SPECS.get(cls)
    if spec is None:
        name = cls.__name__
        if _TYPES.get(name) is not cls:
            raise InvalidValue(f"not an acdcore event or action: {show(obj)}")
        hints = _hints(cls)
        spec = _SPECS[cls] = (
            name,
            tuple((f.name, hints[f.name], f"{name}.{f.name}") for f in attrs.fields(cls)),
        )
    name, fields = spec
    out: dict[str, Any] = {"type": name, "v": SCHEMA}
    for field, hint, where in fields:
        value = getattr(obj, field)
        kind = type(value)
        # The common cases first (a journal writes every event and action).
        if kind is str or kind is bool or value is None or (kind is float and value - value == 0.0):
            out[field] = value
        else:
            out[field] = _encode(value, hint, where)
    return out


_SPECS: dict[type[Any], tuple[str, tuple[tuple[str, Any, str], ...]]] = {}


def dumps(obj: Event | Action) -> str:
    """:func:`to_json` as one line of compact JSON text."""
    return json.dumps(to_json(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(value: Any, hint: Any, where: str) -> Any:
    if isinstance(value, float) and value in _INFINITIES and float in _options(hint):
        return _INFINITIES[value]  # an estimate of "unknown", a ring timeout of "never"
    if isinstance(value, Channel):
        return value.value
    if isinstance(value, SkillRequirement):
        return dict(value.items())
    if isinstance(value, AgentProfile):
        return _profile_json(value, where)
    return _plain(value, where, 0)


def _profile_json(p: AgentProfile, where: str) -> dict[str, Any]:
    return {
        "agent_id": p.agent_id,
        "skills": _plain(p.skills, f"{where}.skills", 0),
        "queues": {
            q: {
                "priority": m.priority,
                "delay": m.delay,
                "position": m.position,
                "weight": m.weight,
            }
            for q, m in p.queues.items()
        },
        "capacity": {ch.value: n for ch, n in p.capacity.items()},
        "exclusive": sorted(ch.value for ch in p.exclusive),
        "region": p.region,
    }


def _plain(value: Any, where: str, depth: int) -> Any:
    """``value`` as JSON data, or InvalidValue naming where it is not."""
    if depth > _MAX_DEPTH:
        raise InvalidValue(f"{where}: nested more than {_MAX_DEPTH} deep")
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        if not is_number(value):
            raise InvalidValue(f"{where} must be a finite number for JSON, got {show(value)}")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidValue(f"{where}: key {show(k)} is not a string")
            out[k] = _plain(v, f"{where}.{k}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise InvalidValue(f"{where}: {show(value)} has no JSON form")


# ------------------------------------------------------------------ reading


def from_json(data: Any) -> Event | Action:
    """The event or action ``data`` (the JSON form) describes. Raises
    :class:`~acdcore.errors.InvalidValue` naming what is wrong."""
    if not isinstance(data, Mapping):
        raise InvalidValue(f"an event or action must be a JSON object, got {show(data)}")
    name = data.get("type")
    cls = _TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidValue(f"type: unknown event or action type {show(name)}")
    version = data.get("v")
    if version != SCHEMA or isinstance(version, bool):
        raise InvalidValue(f"{name}.v: schema version {show(version)} is not {SCHEMA}")
    fields = attrs.fields(cls)
    known = {f.name for f in fields}
    extra = [k for k in data if k not in known and k not in ("type", "v")]
    if extra:
        raise InvalidValue(f"{name}: unknown field {show(extra[0])}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for field in fields:
        where = f"{name}.{field.name}"
        if field.name not in data:
            raise InvalidValue(f"{where} is missing")
        kwargs[field.name] = _decode(data[field.name], hints[field.name], where)
    try:
        obj: Event | Action = cls(**kwargs)
    except AcdError as exc:
        raise InvalidValue(f"{name}: {exc}") from None
    return obj


def loads(text: str | bytes) -> Event | Action:
    """:func:`from_json` of JSON text."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
        raise InvalidValue(f"not valid JSON: {show(str(exc))}") from None
    return from_json(data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_INFINITIES = {math.inf: "inf", -math.inf: "-inf"}
_FROM_TEXT = {"inf": math.inf, "-inf": -math.inf}


def _options(hint: Any) -> tuple[Any, ...]:
    """The types a field may hold: ``X | None`` gives (X, NoneType)."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return typing.get_args(hint)
    return (hint,)


def _decode(value: Any, hint: Any, where: str) -> Any:
    options = [h for h in _options(hint) if h is not type(None)]
    if value is None and len(options) < len(_options(hint)):
        return None
    hint = options[0]
    if hint is float:
        if isinstance(value, str) and value in _FROM_TEXT:
            return _FROM_TEXT[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue(f"{where} must be a number, got {show(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"{where} must be an integer, got {show(value)}")
        return value
    if hint is str or hint is bool:
        if not isinstance(value, hint):
            raise InvalidValue(f"{where} must be a {hint.__name__}, got {show(value)}")
        return value
    if hint is Channel:
        return _channel(value, where)
    if hint is SkillRequirement:
        return _build(SkillRequirement, where, _object(value, where))
    if hint is AgentProfile:
        return _profile(value, where)
    if typing.get_origin(hint) is Mapping:
        return _object(value, where)
    raise InvalidValue(f"{where}: no JSON form is defined for {hint}")  # pragma: no cover


def _build(cls: Any, where: str, *args: Any, **kwargs: Any) -> Any:
    """``cls(*args, **kwargs)``, its refusal named by ``where``."""
    try:
        return cls(*args, **kwargs)
    except AcdError as exc:
        raise InvalidValue(f"{where}: {exc}") from None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(f"{where} must be a JSON object, got {show(value)}")
    return value


def _channel(value: Any, where: str) -> Channel:
    try:
        return Channel(value)
    except (ValueError, TypeError):
        names = ", ".join(c.value for c in Channel)
        raise InvalidValue(f"{where} must be one of {names}, got {show(value)}") from None


_PROFILE_FIELDS = ("agent_id", "skills", "queues", "capacity", "exclusive", "region")
_MEMBERSHIP_FIELDS = ("priority", "delay", "position", "weight")


def _profile(value: Any, where: str) -> AgentProfile:
    spec = _object(value, where)
    for key in spec:
        if key not in _PROFILE_FIELDS:
            raise InvalidValue(f"{where}: unknown field {show(key)}")
    for key in _PROFILE_FIELDS:
        if key not in spec:
            raise InvalidValue(f"{where}.{key} is missing")
    queues = {}
    for q, m in _object(spec["queues"], f"{where}.queues").items():
        m = _object(m, f"{where}.queues.{q}")
        if sorted(m) != sorted(_MEMBERSHIP_FIELDS):
            raise InvalidValue(
                f"{where}.queues.{q} must have exactly the fields {', '.join(_MEMBERSHIP_FIELDS)}"
            )
        queues[q] = _build(QueueMembership, f"{where}.queues.{q}", **m)
    capacity = {
        _channel(ch, f"{where}.capacity"): n
        for ch, n in _object(spec["capacity"], f"{where}.capacity").items()
    }
    exclusive = spec["exclusive"]
    if not isinstance(exclusive, list):
        raise InvalidValue(f"{where}.exclusive must be a list, got {show(exclusive)}")
    profile: AgentProfile = _build(
        AgentProfile,
        where,
        spec["agent_id"],
        skills=_object(spec["skills"], f"{where}.skills"),
        queues=queues,
        capacity=capacity,
        exclusive=frozenset(_channel(ch, f"{where}.exclusive") for ch in exclusive),
        region=spec["region"],
    )
    return profile
