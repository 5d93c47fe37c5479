"""Conditions on call attributes: the "when" of a routing rule.

A condition is an immutable value object with ``matches(attributes, now,
context)``. Leaves test one attribute (equality, membership, numeric
comparison, presence, keywords in a text); ``All``, ``Any`` and ``Not``
combine them; ``IsOpen`` asks whether a named schedule is open at ``now``.
Every condition can be written as a plain dict (see :func:`condition_from_dict`)
so TOML or JSON configuration maps onto it directly.

Conditions are validated when built (a :class:`~acdcore.errors.ConfigError`
naming the class and field). ``matches`` never raises for any attribute value
a caller can put in ``CallArrived.attributes``: a value a condition cannot use
(a string compared with a number, NaN, an infinity, an ``int`` beyond a
float's range, a list, ``None``, an object whose comparison fails) simply does
not match. Routing then falls through to the next rule, as for a missing
attribute.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .errors import ConfigError
from .skills import freeze_sequence
from .values import check_number, is_number, show

__all__ = [
    "All",
    "Always",
    "Any_",
    "Compare",
    "Condition",
    "ConditionContext",
    "Contains",
    "Equals",
    "IsOpen",
    "Not",
    "OneOf",
    "Present",
    "condition_from_dict",
]


class ConditionContext(Protocol):
    """What a condition may ask beyond the call's attributes."""

    def schedule_open(self, name: str, now: float) -> bool:
        """Whether the schedule ``name`` is open at ``now``."""
        ...


@runtime_checkable
class Condition(Protocol):
    """A test on a call's attributes (and, for schedules, the time)."""

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        """True when the call matches."""
        ...

    def schedules(self) -> frozenset[str]:
        """The schedule names this condition refers to (for validation)."""
        ...


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {show(value)}")
    return value


def _scalar(value: object, what: str) -> object:
    """A value an attribute may be tested against: a string, a bool, ``None``
    or a number :func:`~acdcore.values.check_number` accepts (``-0.0`` as
    ``0.0``)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return check_number(value, what, ConfigError)
    raise ConfigError(f"{what} must be a string, a number, a bool or None, got {show(value)}")


@attrs.frozen
class Always:
    """Matches every call (the default rule's condition)."""

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return True

    def schedules(self) -> frozenset[str]:
        return frozenset()


@attrs.frozen
class Equals:
    """``attributes[attribute] == value`` (a missing attribute never matches).

    ``value`` is a string, a number (finite, within a float's range), a bool
    or ``None``; an attribute that cannot be compared with it does not match.
    """

    attribute: str
    value: Any

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "Equals.attribute")
        object.__setattr__(
            self, "value", _scalar(self.value, f"Equals({show(self.attribute)}).value")
        )

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        if self.attribute not in attributes:
            return False
        try:
            return bool(attributes[self.attribute] == self.value)
        except Exception:  # a value whose comparison fails does not match
            return False

    def schedules(self) -> frozenset[str]:
        return frozenset()


def _value_set(value: Iterable[Any]) -> frozenset[Any]:
    items = freeze_sequence(value, "OneOf values", ConfigError, ordered=False)
    for item in items:
        if isinstance(item, (list, dict, set)):
            raise ConfigError(
                f"OneOf values must be hashable (strings, numbers), got {show(value)}"
            )
    return frozenset(_scalar(item, "OneOf value") for item in items)


@attrs.frozen
class OneOf:
    """The attribute's value is one of ``values`` (strings, numbers, bools or
    ``None``, as for :class:`Equals`)."""

    attribute: str
    values: frozenset[Any] = attrs.field(converter=_value_set)

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "OneOf.attribute")
        if not self.values:
            raise ConfigError(f"OneOf({show(self.attribute)}) needs at least one value")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        if self.attribute not in attributes:
            return False
        try:
            return attributes[self.attribute] in self.values
        except Exception:  # an unhashable (or otherwise odd) value does not match
            return False

    def schedules(self) -> frozenset[str]:
        return frozenset()


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@attrs.frozen
class Compare:
    """Numeric comparison ``attributes[attribute] <op> value``. ``op`` is one
    of < <= > >= == !=; ``value`` a number that
    :func:`~acdcore.values.check_number` accepts (finite, within a float's
    range, not a bool).

    Only an attribute that is such a number can match: a missing attribute,
    or one that is not a number (a string, a bool, ``None``, a list), NaN, an
    infinity or an ``int`` beyond a float's range, never matches, with
    ``!=`` too."""

    attribute: str
    op: str
    value: float

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "Compare.attribute")
        if not isinstance(self.op, str) or self.op not in _OPERATORS:
            raise ConfigError(f"Compare({show(self.attribute)}): unknown operator {show(self.op)}")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise ConfigError(
                f"Compare({show(self.attribute)}): value {show(self.value)} is not a number"
            )
        value = check_number(self.value, f"Compare({show(self.attribute)}).value", ConfigError)
        object.__setattr__(self, "value", value)

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        got = attributes.get(self.attribute)
        if not is_number(got):
            return False
        return _OPERATORS[self.op](got, self.value)

    def schedules(self) -> frozenset[str]:
        return frozenset()


@attrs.frozen
class Present:
    """The attribute is present (with any value other than ``None``)."""

    attribute: str

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "Present.attribute")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return attributes.get(self.attribute) is not None

    def schedules(self) -> frozenset[str]:
        return frozenset()


def _words(value: Iterable[str]) -> tuple[str, ...]:
    return freeze_sequence(value, "Contains.words", ConfigError, ordered=False)


@attrs.frozen
class Contains:
    """A text attribute contains one of ``words`` (case-insensitive), e.g. an
    IVR transcript that mentions "complaint", "urgent" or "safety"."""

    attribute: str
    words: tuple[str, ...] = attrs.field(converter=_words)

    def __attrs_post_init__(self) -> None:
        _name(self.attribute, "Contains.attribute")
        if not self.words:
            raise ConfigError(f"Contains({show(self.attribute)}) needs at least one word")
        for w in self.words:
            _name(w, f"Contains({show(self.attribute)}) word")
        object.__setattr__(self, "words", tuple(w.lower() for w in self.words))

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        text = attributes.get(self.attribute)
        if not isinstance(text, str):
            return False
        low = text.lower()
        return any(w in low for w in self.words)

    def schedules(self) -> frozenset[str]:
        return frozenset()


def _conditions(value: Sequence[Condition]) -> tuple[Condition, ...]:
    out = freeze_sequence(value, "conditions", ConfigError)
    for c in out:
        if not isinstance(c, Condition):
            raise ConfigError(f"{show(c)} is not a condition")
    return out


@attrs.frozen
class All:
    """Every inner condition matches (``and``)."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)

    def __attrs_post_init__(self) -> None:
        if not self.conditions:
            raise ConfigError("All() needs at least one condition")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return all(c.matches(attributes, now, context) for c in self.conditions)

    def schedules(self) -> frozenset[str]:
        return frozenset().union(*(c.schedules() for c in self.conditions))


@attrs.frozen
class Any_:
    """At least one inner condition matches (``or``)."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)

    def __attrs_post_init__(self) -> None:
        if not self.conditions:
            raise ConfigError("Any_() needs at least one condition")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return any(c.matches(attributes, now, context) for c in self.conditions)

    def schedules(self) -> frozenset[str]:
        return frozenset().union(*(c.schedules() for c in self.conditions))


@attrs.frozen
class Not:
    """The inner condition does not match."""

    condition: Condition

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.condition, Condition):
            raise ConfigError(f"Not(): {show(self.condition)} is not a condition")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return not self.condition.matches(attributes, now, context)

    def schedules(self) -> frozenset[str]:
        return self.condition.schedules()


@attrs.frozen
class IsOpen:
    """The named schedule (see :class:`~acdcore.schedules.Schedule`) is open."""

    schedule: str

    def __attrs_post_init__(self) -> None:
        _name(self.schedule, "IsOpen.schedule")

    def matches(self, attributes: Mapping[str, Any], now: float, context: ConditionContext) -> bool:
        return context.schedule_open(self.schedule, now)

    def schedules(self) -> frozenset[str]:
        return frozenset({self.schedule})


def _pair(value: object, key: str, where: str) -> tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{where}: {show(key)} takes [attribute, value], got {show(value)}")
    return value[0], value[1]


_COMPARE_KEYS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "ne": "!="}


def condition_from_dict(spec: object, where: str = "condition") -> Condition:
    """Build a condition from plain data (one key per dict):

    ``{"eq": [attr, value]}``, ``{"in": [attr, [values]]}``,
    ``{"gt"|"ge"|"lt"|"le"|"ne": [attr, number]}``, ``{"present": attr}``,
    ``{"contains": [attr, [words]]}``, ``{"all": [...]}``, ``{"any": [...]}``,
    ``{"not": {...}}``, ``{"open": schedule}``, ``{"always": true}``.

    Errors name ``where`` (the path of the entry in the configuration).
    """
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ConfigError(f"{where}: a condition is a table with exactly one key, got {show(spec)}")
    ((key, value),) = spec.items()
    try:
        if key == "eq":
            a, v = _pair(value, key, where)
            return Equals(a, v)
        if key == "in":
            a, v = _pair(value, key, where)
            if not isinstance(v, (list, tuple, set, frozenset)):
                raise ConfigError(f"{where}: 'in' takes a list of values, got {show(v)}")
            return OneOf(a, v)
        if key in _COMPARE_KEYS:
            a, v = _pair(value, key, where)
            return Compare(a, _COMPARE_KEYS[key], v)
        if key == "present":
            return Present(value)
        if key == "contains":
            a, v = _pair(value, key, where)
            return Contains(a, (v,) if isinstance(v, str) else v)
        if key in ("all", "any"):
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{where}: {show(key)} takes a list of conditions")
            inner = [condition_from_dict(c, f"{where}.{key}[{i}]") for i, c in enumerate(value)]
            return All(tuple(inner)) if key == "all" else Any_(tuple(inner))
        if key == "not":
            return Not(condition_from_dict(value, f"{where}.not"))
        if key == "open":
            return IsOpen(value)
        if key == "always":
            return Always()
    except ConfigError as exc:
        if str(exc).startswith(where):
            raise
        raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(f"{where}: unknown condition {show(key)}")
