"""The values of a scenario: its size limits, and the checks and conversions
of single values (numbers, spans of time, names, skill levels, times of day,
queue memberships...) that the scenario's parts, the scenario itself and its
parser share (see :mod:`acdcore.scenario`, which makes the limits public).

Every check raises :class:`~acdcore.errors.ConfigError` as
``"<key>: <problem>"``; the parsers put the path of the table in front.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from .config import EXACT, QueueMembership
from .distributions import Distribution
from .errors import ConfigError
from .skills import MAX_PROFICIENCY, MIN_PROFICIENCY

DAY = 86_400.0
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

TimeSpec = float | str

# ---------------------------------------------------------------------- limits
#
# Sizes that would exhaust memory (or run for days) are refused when the
# scenario is built, before anything is allocated for them.

MAX_GROUP_AGENTS = 100_000
"""The most agents in one agent group."""
MAX_AGENTS = 200_000
"""The most agents in a scenario, all groups together."""
MAX_REPLICATIONS = 10_000
"""The most replications of a run."""
MAX_SPAN = 366 * DAY
"""The longest ``duration``, ``warmup`` and ``drain`` (366 days, in seconds);
times given in seconds (shifts, breaks, replayed calls) lie within
``+-MAX_SPAN`` of clock 0."""
MAX_INTERVALS = 100_000
"""The most measured traffic intervals."""
MAX_CALLS = 1_000_000
"""The most calls one replication may expect (Poisson arrivals, warm-up
included), and the most replayed calls."""
MAX_TOTAL_CALLS = 5_000_000
"""The most calls all the replications of a run may expect together (the
waits of every measured call are kept)."""
MAX_SHIFT_EVENTS = 2_000_000
"""The most logins, logouts and breaks the agents' shifts give one replication."""
MAX_AGENT_INTERVALS = 2_000_000
"""The most per-agent interval figures a run keeps: replications x (measured
intervals + 1) x (agents + 2), about 1.2 KB each."""
MAX_SCENARIO_BYTES = 16 * 1024 * 1024
"""The largest scenario file :meth:`Scenario.load` reads (16 MiB)."""


# --------------------------------------------------------------------- checks
#
# Objects raise ConfigError("<key>: <problem>") about their own fields; the
# dict parsers prefix the path of the table ("agents[2]." + message).


def _fail(key: str, problem: str) -> ConfigError:
    return ConfigError(f"{key}: {problem}")


def _sub(where: str, key: object) -> str:
    key = str(key)  # a non-string key (from a dict, not TOML) is named as written
    if not where:
        return key
    return f"{where}{key}" if key.startswith("[") else f"{where}.{key}"


def _key(key: object) -> str:
    """A key from the data as it goes in a key path: bare, or quoted as in
    TOML (``skills."vip desk"``), shortened if it is very long."""
    text = str(key)
    if _BARE_KEY.match(text) and len(text) <= 60:
        return text
    quoted = _toml_string(text)
    return quoted if len(quoted) <= 60 else quoted[:50] + '..."'


def _show_value(value: object) -> str:
    """``repr(value)``, shortened so that an error stays one readable line
    (a 400-digit number is named by its length)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        digits = len(str(abs(value))) if value.bit_length() < 13_000 else None
        return f"an int of {digits or 'thousands of'} digits"
    if isinstance(value, (Mapping, list, tuple)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} entries"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a huge int deep inside, or nesting
        return f"a {type(value).__name__}"
    return text if len(text) <= 100 else text[:80] + "..." + text[-10:]


def _number(
    value: object,
    key: str,
    *,
    positive: bool = False,
    signed: bool = False,
    infinite: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(key, f"must be a number, got {_show_value(value)}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond the largest float
        raise _fail(key, f"must be finite, got {_show_value(value)}") from None
    if math.isnan(v) or (math.isinf(v) and not infinite):
        raise _fail(key, f"must be finite, got {_show_value(value)}")
    if not signed and (v < 0 or (positive and v == 0)):
        raise _fail(key, f"must be {'> 0' if positive else '>= 0'}, got {_show_value(value)}")
    return v


def _int(value: object, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"must be an int, got {_show_value(value)}")
    if minimum is not None and value < minimum:
        raise _fail(key, f"must be >= {minimum}, got {_show_value(value)}")
    if maximum is not None and value > maximum:
        raise _fail(key, f"must be at most {maximum:,}, got {_show_value(value)}")
    return value


def _priority(value: object, key: str) -> int:
    """A call's priority: an int the distributor accepts (within +-2**53)."""
    v = _int(value, key)
    if not -EXACT <= v <= EXACT:
        raise _fail(key, f"must be an int within +-2**53, got {_show_value(v)}")
    return v


def _seconds(value: object, key: str, *, positive: bool = False) -> float:
    """A span of time: a number >= 0 (or > 0), at most :data:`MAX_SPAN`."""
    v = _number(value, key, positive=positive)
    if v > MAX_SPAN:
        raise _fail(key, f"must be at most {MAX_SPAN:,.0f} s (366 days), got {_show_value(value)}")
    return v


def _name(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(key, f"must be a non-empty string, got {_show_value(value)}")
    return value


def _skills(value: object, key: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise _fail(key, f"must be a table of skill levels, got {_show_value(value)}")
    out: dict[str, int] = {}
    for skill, level in value.items():
        if not isinstance(skill, str) or not skill:
            raise _fail(key, f"skill name {_show_value(skill)} must be a non-empty string")
        where = _sub(key, _key(skill))
        if isinstance(level, bool) or not isinstance(level, int):
            raise _fail(where, f"level must be an int, got {_show_value(level)}")
        if not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY:
            raise _fail(
                where, f"level {_show_value(level)} is outside {MIN_PROFICIENCY}..{MAX_PROFICIENCY}"
            )
        out[skill] = level
    return out


def _distribution(value: object, key: str, *, optional: bool = False) -> Distribution | None:
    if value is None and optional:
        return None
    if not isinstance(value, Distribution):
        raise _fail(
            key, f"must be a distribution (Exponential, LogNormal...), got {_show_value(value)}"
        )
    return value


def _finite_mean(dist: Distribution | None, key: str) -> None:
    if dist is not None and not math.isfinite(dist.mean):
        raise _fail(key, "must have a finite mean (only patience may be infinite)")


def _time_spec(value: object, key: str) -> TimeSpec:
    """A number of seconds from clock 0 (within +-MAX_SPAN), or a time of
    day 'HH:MM[:SS]'."""
    if isinstance(value, str):
        _time_of_day(value, key)
        return value
    v = _number(value, key, signed=True)
    if abs(v) > MAX_SPAN:
        raise _fail(
            key,
            f"must be within +-{MAX_SPAN:,.0f} s (366 days) of clock 0, got {_show_value(value)}",
        )
    return v


def _time_of_day(text: str, key: str) -> float:
    m = _TIME.match(text)
    if m is None:
        raise _fail(key, f"a time is 'HH:MM', 'HH:MM:SS' or seconds, got {_show_value(text)}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h > 24 or mi > 59 or s > 59 or (h == 24 and (mi or s)):
        raise _fail(key, f"{_show_value(text)} is not a time of day")
    return h * 3600.0 + mi * 60.0 + s


def _frozen_skills(value: Mapping[str, int] | None) -> Mapping[str, int]:
    return MappingProxyType(_skills({} if value is None else value, "skills"))


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is not None and not isinstance(value, Mapping):
        raise _fail("attributes", f"must be a table, got {_show_value(value)}")
    return MappingProxyType(dict(value or {}))


def _memberships(value: object) -> Mapping[str, QueueMembership]:
    if value is None:
        return MappingProxyType({})
    if isinstance(value, (str, bytes)):
        raise _fail("queues", f"must be a list of queue names or a table, got {_show_value(value)}")
    out: dict[str, QueueMembership] = {}
    if isinstance(value, Mapping):
        for q, m in value.items():
            _name(q, "queues")
            if m is None:
                m = QueueMembership()
            elif isinstance(m, Mapping):
                m = _membership_from(m, _sub("queues", _key(q)))
            if not isinstance(m, QueueMembership):
                raise _fail(
                    _sub("queues", _key(q)), f"must be a QueueMembership, got {_show_value(m)}"
                )
            out[q] = m
        return MappingProxyType(out)
    if not isinstance(value, Iterable):
        raise _fail("queues", f"must be a list of queue names or a table, got {_show_value(value)}")
    for i, q in enumerate(value):
        _name(q, f"queues[{i}]")
        if q in out:
            raise _fail(f"queues[{i}]", f"queue {_show_value(q)} is listed twice")
        out[q] = QueueMembership()
    return MappingProxyType(out)


def _membership_from(spec: Mapping[str, Any], key: str) -> QueueMembership:
    allowed = {"priority", "delay", "position", "weight"}
    for k in spec:
        if k not in allowed:
            raise _fail(_sub(key, _key(k)), f"unknown key (use {', '.join(sorted(allowed))})")
    try:
        return QueueMembership(**spec)
    except ConfigError as exc:
        raise _fail(key, str(exc)) from None


def _fraction(value: object, key: str) -> float:
    v = _number(value, key)
    if v > 1:
        raise _fail(key, f"must be a fraction in [0, 1], got {_show_value(value)}")
    return v


def _deep_freeze(value: Any) -> Any:
    """Read-only copy of plain data (tables become mappingproxies, lists tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _deep_freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_deep_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Plain dicts and lists again (for RoutingPlan.from_dict and TOML)."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
