"""Priority policies: the order in which a queue's waiting calls are served.

A policy turns a call's static facts (arrival time, arrival sequence number,
priority, emergency flag, attributes) into a sort key. The key never changes
while the call waits, so a queue is a sorted container and nothing is re-sorted
as time passes. Smaller keys are served first. Every key ends with the call's
arrival sequence number, so two calls never tie.

Accumulating priority fits this model because its growth is linear in time:
ordering by ``credit + (now - arrived)`` is the same at every ``now`` as ordering
by ``arrived - credit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .errors import AcdError, ConfigError, InvalidValue
from .skills import freeze_sequence
from .values import EXACT, check_number, show

__all__ = [
    "FIFO",
    "AccumulatingPriority",
    "CallFacts",
    "EmergencyFirst",
    "PriorityClasses",
    "PriorityPolicy",
    "SortKey",
    "ValueUrgencyMatrix",
]

SortKey = tuple[float, ...]

KEY_LENGTH = 6
"""The most numbers a priority policy's sort key may hold (the native backend's
fixed key width)."""


@attrs.frozen
class CallFacts:
    """The static facts of a waiting call that a policy may order by."""

    seq: int
    arrived: float
    priority: int
    emergency: bool
    attributes: Mapping[str, Any]


@runtime_checkable
class PriorityPolicy(Protocol):
    """Orders a queue. ``key`` may raise :class:`~acdcore.errors.InvalidValue`
    for a call whose priority or attributes it cannot use (and only that:
    never ``TypeError`` or ``OverflowError``); the call is then refused."""

    @property
    def name(self) -> str:
        """A short identifier used in snapshots and docs."""
        ...

    def key(self, call: CallFacts) -> SortKey:
        """The call's sort key; smaller is served first."""
        ...


@attrs.frozen
class FIFO:
    """First in, first out: ordered by arrival time, then arrival sequence."""

    @property
    def name(self) -> str:
        return "fifo"

    def key(self, call: CallFacts) -> SortKey:
        return (call.arrived, call.seq)


@attrs.frozen
class PriorityClasses:
    """Static classes: a higher ``priority`` is always served first (a VIP class
    above the rest); within a class, first in first out.

    Key: ``(-priority, arrived, seq)``. A low class can starve under load; use
    :class:`AccumulatingPriority` when that matters.
    """

    @property
    def name(self) -> str:
        return "priority-classes"

    def key(self, call: CallFacts) -> SortKey:
        return (-_priority(call), call.arrived, call.seq)


def _priority(call: CallFacts) -> int:
    """The call's priority; :class:`InvalidValue` unless it is an int within
    +-2**53 (so that keys stay exact on every backend)."""
    p = call.priority
    if type(p) is int and -EXACT <= p <= EXACT:
        return p
    return int(check_number(p, f"call #{call.seq}: priority", InvalidValue, integer=True))


@attrs.frozen
class AccumulatingPriority:
    """Priority that grows while the caller waits, so no class starves.

    A call's score at time ``now`` is ``seconds_per_level * priority +
    (now - arrived)``: each priority level is a head start of
    ``seconds_per_level`` seconds, and every caller gains one point per second
    waited. A priority-0 call that has waited longer than ``seconds_per_level``
    seconds more than a priority-1 call goes first. The highest score is served
    first; equal scores go by arrival sequence.

    Key: ``(arrived - seconds_per_level * priority, seq)``. Linear growth keeps
    the key static, so the queue is never re-sorted. A priority that is not an
    int within +-2**53, or whose head start is beyond a float's range
    (``seconds_per_level * priority`` overflows to infinity), refuses the call
    with :class:`~acdcore.errors.InvalidValue`.
    """

    seconds_per_level: float = 60.0

    def __attrs_post_init__(self) -> None:
        value = check_number(
            self.seconds_per_level, "AccumulatingPriority.seconds_per_level", ConfigError, minimum=0
        )
        object.__setattr__(self, "seconds_per_level", value)

    @property
    def name(self) -> str:
        return "accumulating"

    def key(self, call: CallFacts) -> SortKey:
        p = _priority(call)
        score = call.arrived - float(self.seconds_per_level) * p
        if score - score != 0.0:  # inf or nan: the head start overflowed
            raise InvalidValue(
                f"call #{call.seq}: priority {show(p)} times seconds_per_level "
                f"{show(self.seconds_per_level)} is beyond the range of a float"
            )
        return (score, call.seq)


def _matrix_tuple(value: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    rows = freeze_sequence(value, "ValueUrgencyMatrix.matrix", ConfigError)
    return tuple(freeze_sequence(r, "ValueUrgencyMatrix.matrix row", ConfigError) for r in rows)


@attrs.frozen
class ValueUrgencyMatrix:
    """Customer value x urgency mapped to a priority, then served as classes.

    ``matrix[value][urgency]`` is the priority of a call whose attribute
    ``value_attribute`` is ``value`` and ``urgency_attribute`` is ``urgency``;
    both are integer levels from 0. A missing attribute counts as level 0; a
    level that is not an int or is outside the matrix refuses the call with
    :class:`~acdcore.errors.InvalidValue`. The call's own ``priority`` field is
    ignored by this policy.

    Key: ``(-matrix[value][urgency], arrived, seq)``.
    """

    matrix: tuple[tuple[int, ...], ...] = attrs.field(converter=_matrix_tuple)
    value_attribute: str = "customer_value"
    urgency_attribute: str = "urgency"

    def __attrs_post_init__(self) -> None:
        if not self.matrix or not self.matrix[0]:
            raise ConfigError("ValueUrgencyMatrix.matrix must have at least one row and column")
        width = len(self.matrix[0])
        for i, row in enumerate(self.matrix):
            if len(row) != width:
                raise ConfigError(
                    f"ValueUrgencyMatrix.matrix row {i} has {len(row)} entries, expected {width}"
                )
            for j, cell in enumerate(row):
                check_number(
                    cell, f"ValueUrgencyMatrix.matrix[{i}][{j}]", ConfigError, integer=True
                )
        for field in ("value_attribute", "urgency_attribute"):
            name = getattr(self, field)
            if not isinstance(name, str) or not name:
                raise ConfigError(
                    f"ValueUrgencyMatrix.{field} must be a non-empty string, got {show(name)}"
                )

    @property
    def name(self) -> str:
        return "value-urgency"

    def _level(self, call: CallFacts, attribute: str, size: int) -> int:
        raw = call.attributes.get(attribute, 0)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < size:
            raise InvalidValue(
                f"call #{call.seq}: attribute {attribute!r} = {show(raw)} must be an int in "
                f"0..{size - 1}"
            )
        return raw

    def priority_of(self, call: CallFacts) -> int:
        """The priority the matrix gives this call."""
        v = self._level(call, self.value_attribute, len(self.matrix))
        u = self._level(call, self.urgency_attribute, len(self.matrix[0]))
        return self.matrix[v][u]

    def key(self, call: CallFacts) -> SortKey:
        return (-self.priority_of(call), call.arrived, call.seq)


def _default_inner() -> PriorityPolicy:
    return FIFO()


@attrs.frozen
class EmergencyFirst:
    """Emergency calls always go first (first in, first out among them); every
    other call is ordered by ``inner``.

    Key: ``(0, arrived, seq)`` for an emergency, ``(1, *inner.key(call))`` otherwise.
    """

    inner: PriorityPolicy = attrs.field(factory=_default_inner)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.inner, PriorityPolicy):
            raise ConfigError(
                f"EmergencyFirst.inner must be a priority policy, got {show(self.inner)}"
            )

    @property
    def name(self) -> str:
        return f"emergency-first({self.inner.name})"

    def key(self, call: CallFacts) -> SortKey:
        if call.emergency is True:
            return (0, call.arrived, call.seq)
        if call.emergency is not False:
            raise InvalidValue(
                f"call #{call.seq}: emergency must be a bool, got {show(call.emergency)}"
            )
        return (1, *self.inner.key(call))


def probe_policy(policy: object, where: str, item: str = "call") -> None:
    """Refuse, with a :class:`~acdcore.errors.ConfigError` that starts with
    ``where``, an object that is not a priority policy, a policy whose ``key``
    fails on a plain ``item`` (arrived at 0, priority 0, no attributes,
    sequence number 7), or one whose key is not a tuple ending with that
    sequence number: configuration is checked when it is built, not when the
    first call needs it. Shared by ``QueueConfig`` and ``Queue``."""
    if not isinstance(policy, PriorityPolicy):
        raise ConfigError(f"{where} policy {show(policy)} is not a priority policy")
    name = show(getattr(policy, "name", policy))
    try:
        probe = policy.key(
            CallFacts(seq=7, arrived=0.0, priority=0, emergency=False, attributes={})
        )
    except AcdError as exc:
        raise ConfigError(f"{where} policy {name} fails on a plain {item}: {exc}") from None
    except Exception as exc:  # a policy of the caller's own making that is broken
        raise ConfigError(
            f"{where} policy {name} fails on a plain {item}: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(probe, tuple) or not probe or probe[-1] != 7:
        raise ConfigError(
            f"{where} policy {name} key {show(probe)} must be a tuple ending "
            f"with the {item}'s sequence number"
        )
