"""Channels, skills and proficiency: what a call needs and what an agent offers.

Proficiency is an integer from :data:`MIN_PROFICIENCY` (1, a beginner) to
:data:`MAX_PROFICIENCY` (10, an expert). A requirement names skills with a minimum
proficiency; an agent meets it when it has every named skill at that level or
higher. An empty requirement is met by every agent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ._frozenmap import FrozenMap
from .errors import AcdError, InvalidValue
from .values import check_number, show

__all__ = [
    "MAX_PROFICIENCY",
    "MIN_PROFICIENCY",
    "Channel",
    "SkillRequirement",
    "freeze_mapping",
    "freeze_sequence",
    "validate_skills",
]

MIN_PROFICIENCY = 1
MAX_PROFICIENCY = 10


class Channel(enum.Enum):
    """The medium of an interaction; agents have a capacity per channel."""

    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    CALLBACK = "callback"


def freeze_mapping(
    value: Mapping[Any, Any] | None,
    what: str = "value",
    error: type[Exception] = InvalidValue,
) -> Mapping[Any, Any]:
    """Return a read-only copy of ``value`` (an empty one for ``None``);
    anything but a mapping raises ``error`` naming ``what``. Every empty
    result is one shared empty mapping (a waiting call with no attributes
    costs nothing for them); a non-empty one is a
    :class:`~acdcore._frozenmap.FrozenMap`, whose keys are shared with every
    other map with the same keys (about 96 bytes for one key, against 224
    for a ``MappingProxyType`` over a copied dict). An already read-only
    mapping (a ``FrozenMap`` or a ``MappingProxyType``) is returned as it
    is."""
    if value is None:
        return _EMPTY
    if isinstance(value, (FrozenMap, MappingProxyType)):
        return value
    if not isinstance(value, Mapping):
        raise error(f"{what} must be a mapping, got {show(value)}")
    if not value:
        return _EMPTY
    return FrozenMap(value)


_EMPTY: Mapping[Any, Any] = FrozenMap({})


def freeze_sequence(
    value: Iterable[Any],
    what: str = "value",
    error: type[Exception] = InvalidValue,
    *,
    ordered: bool = True,
) -> tuple[Any, ...]:
    """``value`` as a tuple; a string, a mapping or a non-iterable raises
    ``error`` naming ``what`` (a lone string is almost always a mistake).
    Where order matters (``ordered``), a set is refused too: its iteration
    order would make decisions depend on hashing."""
    if isinstance(value, (str, bytes, Mapping)):
        raise error(f"{what} must be a list, got {show(value)}")
    if ordered and isinstance(value, (set, frozenset)):
        raise error(f"{what} must be an ordered list, not a set: {show(value)}")
    try:
        return tuple(value)
    except TypeError:
        raise error(f"{what} must be a list, got {show(value)}") from None


def validate_skills(
    skills: Mapping[str, int], what: str, error: type[Exception] = InvalidValue
) -> None:
    """Raise ``error`` unless every skill name is a non-empty string and every
    level an ``int`` within the documented proficiency range."""
    for name, level in skills.items():
        if not isinstance(name, str) or not name:
            raise error(f"{what}: skill name {show(name)} must be a non-empty string")
        if isinstance(level, bool) or not isinstance(level, int):
            raise error(f"{what}: skill {name!r} has level {show(level)}, expected an int")
        if not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY:
            raise error(
                f"{what}: skill {name!r} level {show(level)} is outside "
                f"{MIN_PROFICIENCY}..{MAX_PROFICIENCY}"
            )


def check_duration(value: float, what: str, error: type[AcdError] = InvalidValue) -> None:
    """Raise ``error`` unless ``value`` is a finite number >= 0 (see
    :func:`~acdcore.values.check_number`)."""
    check_number(value, what, error, minimum=0)


def check_instant(value: float, what: str) -> None:
    """Raise :class:`InvalidValue` unless ``value`` is a finite number (see
    :func:`~acdcore.values.check_number`)."""
    if type(value) is float and value - value == 0.0:
        return  # the common case: a finite float (inf - inf and nan - nan are nan)
    check_number(value, what)


def _freeze_levels(value: Mapping[str, int] | None) -> Mapping[str, int]:
    return freeze_mapping(value, "skill requirement")


@attrs.frozen(eq=False)
class SkillRequirement:
    """Skills a call needs, each with a minimum proficiency.

    ``SkillRequirement({"billing": 5, "spanish": 1})`` is met by an agent with
    billing at 5 or more and any level of spanish. Checking costs O(k) for k
    required skills.
    """

    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_freeze_levels)
    _items: tuple[tuple[str, int], ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        validate_skills(self.skills, "skill requirement")
        object.__setattr__(self, "_items", tuple(sorted(self.skills.items())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SkillRequirement):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def met_by(self, agent_skills: Mapping[str, int]) -> bool:
        """True when ``agent_skills`` has every required skill at its minimum."""
        for name, minimum in self._items:
            if agent_skills.get(name, 0) < minimum:
                return False
        return True

    def proficiency_sum(self, agent_skills: Mapping[str, int]) -> int:
        """Sum of the agent's levels over the required skills (for most-skilled)."""
        return sum(agent_skills.get(name, 0) for name, _ in self._items)

    def items(self) -> tuple[tuple[str, int], ...]:
        """The requirement as sorted ``(skill, minimum)`` pairs."""
        return self._items
