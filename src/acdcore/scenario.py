"""Simulation scenarios: queues, agents, routing plan and traffic, in Python or TOML.

A :class:`Scenario` is an immutable description of a contact centre for the
simulator (:mod:`acdcore.sim`): the distributor's queues, the agents who log
in and out around it, the routing plan, the calls that arrive and how long
everything takes. Build it from objects, or from TOML with
:meth:`Scenario.load` / :meth:`Scenario.from_toml` / :meth:`Scenario.from_dict`.
Everything is validated when the scenario is built; a
:class:`~acdcore.errors.ConfigError` names the key path of the offending entry,
for example ``agents[2].skills.billing: level 12 is outside 1..10``. That
includes every kind of call against the priority policy of every queue it can
reach (through the plan's rules and queue exits), checked as the distributor
will check it, and sizes that would exhaust memory: see the ``MAX_*``
constants below and :meth:`Scenario.check_size`. Loading a file gives a
scenario or a ``ConfigError``, never another exception.
:meth:`Scenario.to_toml` writes a scenario back (named distributions are
written inline), and loading that text gives an equal scenario.

Time
----

Every duration is in seconds. Clock 0 is the start of the measured period
(the first traffic interval). ``start`` says what clock 0 is: a time of day
(``"08:00"``, the default ``"00:00"``), or a date-time with a UTC offset
(``2026-11-24T08:00:00+01:00``), which makes the distributor's clock Unix
seconds so that a plan's schedules (opening hours) apply. Times of day in
shifts and breaks (``"HH:MM"`` or ``"HH:MM:SS"``) are read against ``start``;
numbers are seconds from clock 0 (negative: during the warm-up). A shift that
ends at or before its start ends the next day. Shifts and breaks repeat every
24 hours when the run is longer than a day.

The run is: ``warmup`` seconds of traffic (at the first interval's rate, not
measured), then ``duration`` seconds measured (calls arriving in
``[0, duration)``; agent time in those intervals), then up to ``drain``
seconds with no new arrivals, until the calls still in the system are
resolved. ``duration`` defaults to the traffic profile's length, and must be a
whole number of intervals.

TOML format
-----------

.. code-block:: toml

    name = "support line"
    seed = 7                      # int or string
    replications = 20
    duration = 28800              # default: len(rates) * interval
    warmup = 1800
    drain = 14400
    start = "08:00"               # or 2026-11-24T08:00:00+01:00

    [service_level]               # as in Metrics
    threshold = 20
    target = 0.8
    variant = "b"                 # a, b, c or d (see SLVariant)
    short_abandon = 5

    [distributions]               # named, referenced by name below
    talk = { kind = "lognormal", mean = 240, sd = 120 }
    patience = { kind = "exponential", mean = 300 }
    samples = { kind = "empirical", file = "talk.csv", column = "seconds" }

    [[queues]]                    # QueueConfig fields, plus handle, patience,
    name = "support"              # sl_threshold and sl_target for this queue
    policy = "fifo"               # fifo, priority-classes, accumulating,
    strategy = "longest-idle"     # value-urgency, emergency-first, or a table
    requirement = { english = 3 } # {name = "accumulating", seconds_per_level = 30}
    ring_timeout = 15
    wrap_up = 30
    no_answer = { delay = 5, auto_pause_after = 3 }   # false: never auto-pause
    handle = "talk"
    announce = { every = 45, min_change = 15 }        # Announcements fields
    callback = { threshold = 120, retries = 2, accept = 0.4, answer = 0.8 }
                                  # CallbackPolicy fields, plus the callers':
                                  # accept: P(a caller offered a callback takes
                                  # it), answer: P(they pick up an attempt)

    [[agents]]
    name = "day"                  # agents are day-01, day-02, ...
    count = 12
    skills = { english = 5 }
    queues = ["support"]          # or { support = { priority = 1, delay = 0 } }
    shift = ["08:00", "16:00"]    # omitted: logged in for the whole run
    breaks = [{ start = "10:00", duration = 900, reason = "coffee" }]
    stagger = 120                 # agent i takes its breaks i * stagger later
    rona = 0.02                   # P(the agent lets an offer ring out)
    answer_delay = { kind = "uniform", low = 2, high = 6 }
    resume_after = 60             # after an auto-pause

    [plan]                        # a RoutingPlan table (see docs/plans.md)
    default = { queue = "support" }

    [traffic]
    interval = 1800               # seconds; must divide a day
    rates = [40, 55, 70, 70]      # calls per interval (Poisson), or:
    # replay = "calls.csv"        # column t (seconds), optional queue, type,
    surge = 1.0                   # priority, handle, patience; other columns
    handle = "talk"               # become call attributes
    patience = "patience"         # omitted: callers never hang up

    [[traffic.call_types]]
    name = "vip"
    weight = 0.1                  # share of the arrivals
    queue = "support"
    attributes = { tier = "vip" }
    priority = 5

Which distribution applies: a replayed call's own ``handle`` / ``patience``
column, else its call type's, else its queue's (for handle time: the queue the
call was offered from; for patience: the queue it asked for), else the
traffic's. A number is a deterministic value anywhere a distribution is
expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from .config import (
    EXACT,
    Announcements,
    CallbackPolicy,
    NoAnswerPolicy,
    QueueConfig,
    QueueMembership,
    Strategy,
)
from .distributions import Deterministic, Distribution, Exponential, distribution_from_dict
from .distributor import KEY_LENGTH
from .errors import AcdError, ConfigError
from .metrics import SLVariant
from .plans import RoutingPlan, Rule
from .policies import (
    FIFO,
    AccumulatingPriority,
    CallFacts,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
    ValueUrgencyMatrix,
)
from .skills import MAX_PROFICIENCY, MIN_PROFICIENCY, SkillRequirement

__all__ = [
    "MAX_AGENTS",
    "MAX_AGENT_INTERVALS",
    "MAX_CALLS",
    "MAX_GROUP_AGENTS",
    "MAX_INTERVALS",
    "MAX_REPLICATIONS",
    "MAX_SCENARIO_BYTES",
    "MAX_SHIFT_EVENTS",
    "MAX_SPAN",
    "MAX_TOTAL_CALLS",
    "AgentGroup",
    "Break",
    "CallType",
    "ReplayCall",
    "Scenario",
    "ServiceLevel",
    "SimQueue",
    "Traffic",
    "load_replay",
]

DAY = 86_400.0
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_PLAN_PATH = re.compile(r"^(rules\[|default[ .:]|queues\.|schedules\.|load_guard[ .:])")

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


# -------------------------------------------------------------------- objects


def _break_start(value: object) -> TimeSpec:
    return _time_spec(value, "start")


def _break_duration(value: object) -> float:
    return _number(value, "duration", positive=True)


def _replay_t(value: object) -> float:
    t = _time_spec(value, "t")
    if isinstance(t, str):
        raise _fail("t", f"must be a number of seconds, got {_show_value(t)}")
    return t


def _replay_handle(value: object) -> float | None:
    return None if value is None else _number(value, "handle")


def _replay_patience(value: object) -> float | None:
    return None if value is None else _number(value, "patience", infinite=True)


@attrs.frozen
class Break:
    """A break: the agent pauses at ``start`` (a time of day or seconds) for
    ``duration`` seconds with ``reason``, then resumes. A break that falls
    outside the agent's login is skipped; one that starts during a call
    pauses the agent at once (it finishes the call, then takes no new one)."""

    start: TimeSpec = attrs.field(converter=_break_start)
    duration: float = attrs.field(converter=_break_duration)
    reason: str = "break"

    def __attrs_post_init__(self) -> None:
        _name(self.reason, "reason")


def _shift(value: object) -> tuple[TimeSpec, TimeSpec] | None:
    if value is None:
        return None
    if isinstance(value, str):
        first, sep, second = value.partition("-")
        if not sep:
            raise _fail(
                "shift", f"a shift is 'HH:MM-HH:MM' or [start, end], got {_show_value(value)}"
            )
        return _shift([first.strip(), second.strip()])
    if isinstance(value, Sequence) and len(value) == 2:
        start, end = _time_spec(value[0], "shift[0]"), _time_spec(value[1], "shift[1]")
        if isinstance(start, str) != isinstance(end, str):
            raise _fail("shift", "give both ends as times of day or both as seconds")
        if isinstance(start, float) and isinstance(end, float) and end <= start:
            raise _fail("shift", f"ends ({end:g} s) before it starts ({start:g} s)")
        return (start, end)
    raise _fail("shift", f"a shift is 'HH:MM-HH:MM' or [start, end], got {_show_value(value)}")


def _breaks(value: Iterable[Break]) -> tuple[Break, ...]:
    out = tuple(value)
    for i, b in enumerate(out):
        if not isinstance(b, Break):
            raise _fail(f"breaks[{i}]", f"must be a Break, got {_show_value(b)}")
    return out


def _default_answer() -> Distribution:
    return Deterministic(0.0)


def _default_resume() -> Distribution:
    return Deterministic(60.0)


@attrs.frozen
class AgentGroup:
    """``count`` agents alike, named ``{name}-01``, ``{name}-02``...

    ``skills`` and ``queues`` (names, or name to :class:`QueueMembership`)
    make their :class:`~acdcore.AgentProfile`. ``shift``: ``(login, logout)``
    times (``None``: logged in for the whole run); ``breaks``: pauses during
    the shift, agent ``i`` of the group taking each ``i * stagger`` seconds
    later. Behaviour: ``rona`` is the probability that an agent lets an offer
    ring out (the queue's ring timeout and no-answer policy then apply), else
    it answers after ``answer_delay``; after an auto-pause (``PauseAgent``)
    it resumes after ``resume_after``.
    """

    name: str
    count: int = 1
    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_skills)
    queues: Mapping[str, QueueMembership] = attrs.field(factory=dict, converter=_memberships)
    region: str | None = None
    shift: tuple[TimeSpec, TimeSpec] | None = attrs.field(default=None, converter=_shift)
    breaks: tuple[Break, ...] = attrs.field(default=(), converter=_breaks)
    stagger: float = 0.0
    rona: float = 0.0
    answer_delay: Distribution = attrs.field(factory=_default_answer)
    resume_after: Distribution = attrs.field(factory=_default_resume)

    def __attrs_post_init__(self) -> None:
        _name(self.name, "name")
        _int(self.count, "count", 0, MAX_GROUP_AGENTS)
        if not self.queues:
            raise _fail("queues", "an agent group must serve at least one queue")
        if self.region is not None:
            _name(self.region, "region")
        _number(self.stagger, "stagger")
        rona = _number(self.rona, "rona")
        if rona > 1:
            raise _fail("rona", f"is a probability in [0, 1], got {_show_value(self.rona)}")
        _distribution(self.answer_delay, "answer_delay")
        _finite_mean(self.answer_delay, "answer_delay")
        _distribution(self.resume_after, "resume_after")
        _finite_mean(self.resume_after, "resume_after")
        if self.breaks and self.shift is None:
            raise _fail("breaks", "breaks need a shift")

    def agent_ids(self) -> list[str]:
        """The ids of this group's agents, in login order."""
        width = max(2, len(str(self.count)))
        return [f"{self.name}-{i:0{width}d}" for i in range(1, self.count + 1)]


def _requirement(value: object) -> Mapping[str, int] | None:
    if value is None:
        return None
    if isinstance(value, SkillRequirement):
        value = dict(value.items())
    return MappingProxyType(_skills(value, "requirement"))


@attrs.frozen
class CallType:
    """A kind of call: ``weight`` is its share of the arrivals (relative to
    the other types). ``queue`` is the queue asked for on ``CallArrived``
    (default: the first queue; a routing plan may send it elsewhere);
    ``attributes``, ``priority``, ``emergency`` and ``requirement`` go on the
    event. ``handle`` and ``patience`` override the queue's and traffic's."""

    name: str
    weight: float = 1.0
    queue: str | None = None
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen)
    priority: int = 0
    emergency: bool = False
    requirement: Mapping[str, int] | None = attrs.field(default=None, converter=_requirement)
    handle: Distribution | None = None
    patience: Distribution | None = None

    def __attrs_post_init__(self) -> None:
        _name(self.name, "name")
        _number(self.weight, "weight", positive=True)
        if self.queue is not None:
            _name(self.queue, "queue")
        for k in self.attributes:
            _name(k, "attributes")
        _priority(self.priority, "priority")
        if not isinstance(self.emergency, bool):
            raise _fail("emergency", f"must be true or false, got {_show_value(self.emergency)}")
        _distribution(self.handle, "handle", optional=True)
        _finite_mean(self.handle, "handle")
        _distribution(self.patience, "patience", optional=True)


@attrs.frozen
class ReplayCall:
    """One replayed arrival at ``t`` seconds from clock 0. ``queue`` and
    ``call_type`` (a :class:`CallType` name) say where it goes and what it
    inherits; ``attributes`` are added to the type's; ``priority``,
    ``handle`` (talk time) and ``patience`` replace the sampled values when
    given."""

    t: float = attrs.field(converter=_replay_t)
    queue: str | None = None
    call_type: str | None = None
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen)
    priority: int | None = None
    handle: float | None = attrs.field(default=None, converter=_replay_handle)
    patience: float | None = attrs.field(default=None, converter=_replay_patience)

    def __attrs_post_init__(self) -> None:
        if self.queue is not None:
            _name(self.queue, "queue")
        if self.call_type is not None:
            _name(self.call_type, "call_type")
        if self.priority is not None:
            _priority(self.priority, "priority")


def _cell(text: str) -> Any:
    """A CSV cell as an attribute value: int, float, or the string."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def load_replay(path: str | os.PathLike[str]) -> tuple[tuple[ReplayCall, ...], tuple[int, ...]]:
    """Read replayed arrivals from a CSV file with a header: ``t`` (seconds
    from clock 0, required), optional ``queue``, ``type``, ``priority``,
    ``handle`` and ``patience`` (blank: sampled); every other non-blank cell
    is a call attribute (numbers become int or float). Rows are sorted by
    ``t`` (stable). Returns the calls and the file line of each. Raises
    :class:`~acdcore.errors.ConfigError` naming the file and line."""
    name = os.fspath(path)
    rows: list[tuple[int, dict[str, str]]] = []
    reader: csv.DictReader[str] | None = None
    try:
        with open(name, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "t" not in [f.strip() for f in reader.fieldnames]:
                raise ConfigError(f"{_show_value(name)}: needs a header with a column 't'")
            for row in reader:
                line = reader.line_num
                if len(rows) >= MAX_CALLS:
                    raise ConfigError(
                        f"{_show_value(name)}: more than {MAX_CALLS:,} calls to replay"
                    )
                rows.append((line, {k.strip(): (v or "").strip() for k, v in row.items() if k}))
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read {_show_value(name)}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = max(1, reader.line_num) if reader is not None else 1
        raise ConfigError(
            f"{_show_value(name)} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"near line {line})"
        ) from None
    except (csv.Error, ValueError) as exc:  # an oversized field, a NUL in the path
        line = reader.line_num + 1 if reader is not None else 1  # the line being read
        raise ConfigError(f"{_show_value(name)} near line {line}: {exc}") from None
    calls: list[tuple[float, int, ReplayCall]] = []
    for line, row in rows:
        if not any(row.values()):
            continue
        try:
            special: dict[str, Any] = {}
            for key, convert in (
                ("t", float),
                ("handle", float),
                ("patience", float),
                ("priority", int),
            ):
                text = row.get(key, "")
                if text:
                    try:
                        special[key] = convert(text)
                    except ValueError:
                        raise _fail(key, f"{_show_value(text)} is not a number") from None
            if "t" not in special:
                raise _fail("t", "is blank")
            attributes = {
                k: _cell(v)
                for k, v in row.items()
                if v and k not in ("t", "queue", "type", "priority", "handle", "patience")
            }
            call = ReplayCall(
                t=special["t"],
                queue=row.get("queue") or None,
                call_type=row.get("type") or None,
                attributes=attributes,
                priority=special.get("priority"),
                handle=special.get("handle"),
                patience=special.get("patience"),
            )
        except ConfigError as exc:
            raise ConfigError(f"{_show_value(name)} line {line}: {exc}") from None
        calls.append((call.t, line, call))
    calls.sort(key=lambda x: x[0])
    return tuple(c for _, _, c in calls), tuple(line for _, line, _ in calls)


def _replay(value: object) -> str | tuple[ReplayCall, ...] | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        path: str = os.fspath(value)
        return path
    if isinstance(value, str):
        return value
    if not isinstance(value, Iterable):
        raise _fail(
            "replay", f"must be a CSV path or a list of ReplayCall, got {_show_value(value)}"
        )
    out = []
    for i, c in enumerate(value):
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            c = ReplayCall(t=c)
        if not isinstance(c, ReplayCall):
            raise _fail(f"replay[{i}]", f"must be a ReplayCall or a time, got {_show_value(c)}")
        out.append(c)
    return tuple(out)


def _rates(value: Iterable[float]) -> tuple[float, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise _fail("rates", f"must be a list of calls per interval, got {_show_value(value)}")
    return tuple(_number(r, f"rates[{i}]") for i, r in enumerate(value))


def _call_types(value: Iterable[CallType]) -> tuple[CallType, ...]:
    out = tuple(value)
    for i, c in enumerate(out):
        if not isinstance(c, CallType):
            raise _fail(f"call_types[{i}]", f"must be a CallType, got {_show_value(c)}")
    return out


def _default_handle() -> Distribution:
    return Exponential(180.0)


@attrs.frozen
class Traffic:
    """The calls: Poisson arrivals at ``rates`` calls per ``interval``
    (a profile; it repeats if the run is longer) times ``surge``, or the
    arrivals of ``replay`` (a CSV path, see :func:`load_replay`, or a list of
    :class:`ReplayCall` or times). ``call_types`` split the arrivals (none:
    every call asks for the first queue). ``handle``: talk time; ``patience``:
    how long a caller waits before hanging up (``None``: forever)."""

    rates: tuple[float, ...] = attrs.field(default=(), converter=_rates)
    interval: float = 1800.0
    surge: float = 1.0
    replay: str | tuple[ReplayCall, ...] | None = attrs.field(default=None, converter=_replay)
    call_types: tuple[CallType, ...] = attrs.field(default=(), converter=_call_types)
    handle: Distribution = attrs.field(factory=_default_handle)
    patience: Distribution | None = None
    _calls: tuple[ReplayCall, ...] = attrs.field(init=False, repr=False, eq=False)
    _lines: tuple[int, ...] | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        interval = _number(self.interval, "interval", positive=True)
        per_day = DAY / interval
        if not per_day.is_integer() or round(per_day) * interval != DAY:
            raise _fail(
                "interval", f"must divide a day (86400 s), got {_show_value(self.interval)}"
            )
        _number(self.surge, "surge", positive=True)
        if self.replay is None and not self.rates:
            raise _fail("rates", "give rates (Poisson arrivals) or replay: neither is set")
        if self.replay is not None and self.rates:
            raise _fail("rates", "give either rates (Poisson arrivals) or replay, not both")
        names = set()
        for i, ct in enumerate(self.call_types):
            if ct.name in names:
                raise _fail(f"call_types[{i}].name", f"{_show_value(ct.name)} is used twice")
            names.add(ct.name)
        if not math.isfinite(sum(float(ct.weight) for ct in self.call_types)):
            raise _fail("call_types", "the weights add up to more than a float holds")
        _distribution(self.handle, "handle")
        _finite_mean(self.handle, "handle")
        _distribution(self.patience, "patience", optional=True)
        calls: tuple[ReplayCall, ...] = ()
        lines = None
        if isinstance(self.replay, str):
            try:
                calls, lines = load_replay(self.replay)
            except ConfigError as exc:
                raise _fail("replay", str(exc)) from None
            if not calls:
                raise _fail("replay", f"{_show_value(self.replay)} has no calls")
        elif self.replay is not None:
            if len(self.replay) > MAX_CALLS:
                raise _fail("replay", f"more than {MAX_CALLS:,} calls to replay")
            calls = tuple(sorted(self.replay, key=lambda c: c.t))
            if not calls:
                raise _fail("replay", "no calls to replay")
        object.__setattr__(self, "_calls", calls)
        object.__setattr__(self, "_lines", lines)

    @property
    def replay_calls(self) -> tuple[ReplayCall, ...]:
        """The replayed arrivals, sorted by time (empty for Poisson traffic)."""
        return self._calls

    def _error(self, i: int, key: str, problem: str) -> ConfigError:
        """An error about replayed call ``i`` (by file line for a CSV)."""
        if self._lines is not None:
            return _fail("traffic.replay", f"{self.replay} line {self._lines[i]}: {key} {problem}")
        return _fail(f"traffic.replay[{i}].{key}", problem)


@attrs.frozen
class SimQueue:
    """A distributor queue (``config``) with what the simulator adds: the
    ``handle`` and ``patience`` distributions of its calls, its own
    service-level threshold and target (``None``: the scenario's), and its
    callers' answers to callbacks: ``callback_accept`` is the probability
    that a caller offered a callback takes it, ``callback_answer`` the
    probability that the customer picks up an attempt (after the reserved
    agent's answer delay; otherwise the attempt times out)."""

    config: QueueConfig
    handle: Distribution | None = None
    patience: Distribution | None = None
    sl_threshold: float | None = None
    sl_target: float | None = None
    callback_accept: float = 0.0
    callback_answer: float = 1.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.config, QueueConfig):
            raise _fail("config", f"must be a QueueConfig, got {_show_value(self.config)}")
        _distribution(self.handle, "handle", optional=True)
        _finite_mean(self.handle, "handle")
        _distribution(self.patience, "patience", optional=True)
        if self.sl_threshold is not None:
            _number(self.sl_threshold, "sl_threshold")
        if self.sl_target is not None:
            _fraction(self.sl_target, "sl_target")
        _fraction(self.callback_accept, "callback.accept")
        _fraction(self.callback_answer, "callback.answer")

    @property
    def name(self) -> str:
        """The queue's name."""
        return self.config.name


def _fraction(value: object, key: str) -> float:
    v = _number(value, key)
    if v > 1:
        raise _fail(key, f"must be a fraction in [0, 1], got {_show_value(value)}")
    return v


@attrs.frozen
class ServiceLevel:
    """How service is judged (see :class:`~acdcore.metrics.Metrics`):
    answered within ``threshold`` seconds, against ``target``, by formula
    ``variant`` (``"a"``..``"d"``); abandons within ``short_abandon``
    seconds are short."""

    threshold: float = 20.0
    target: float = 0.8
    variant: str = "b"
    short_abandon: float = 5.0

    def __attrs_post_init__(self) -> None:
        _number(self.threshold, "threshold")
        _fraction(self.target, "target")
        variant = self.variant.value if isinstance(self.variant, SLVariant) else self.variant
        if variant not in ("a", "b", "c", "d"):
            raise _fail("variant", f"must be one of a, b, c, d, got {_show_value(self.variant)}")
        object.__setattr__(self, "variant", variant)
        _number(self.short_abandon, "short_abandon")


def _queues(value: Iterable[SimQueue | QueueConfig]) -> tuple[SimQueue, ...]:
    if isinstance(value, (QueueConfig, SimQueue)) or not isinstance(value, Iterable):
        raise _fail("queues", "must be a list of QueueConfig or SimQueue")
    out = []
    for i, q in enumerate(value):
        if isinstance(q, QueueConfig):
            q = SimQueue(q)
        if not isinstance(q, SimQueue):
            raise _fail(f"queues[{i}]", f"must be a QueueConfig or SimQueue, got {_show_value(q)}")
        out.append(q)
    return tuple(out)


def _agents(value: Iterable[AgentGroup]) -> tuple[AgentGroup, ...]:
    out = tuple(value)
    for i, g in enumerate(out):
        if not isinstance(g, AgentGroup):
            raise _fail(f"agents[{i}]", f"must be an AgentGroup, got {_show_value(g)}")
    return out


def _plan(value: object) -> RoutingPlan | Mapping[str, Any] | None:
    if value is None or isinstance(value, RoutingPlan):
        return value
    if isinstance(value, Mapping):
        return _deep_freeze(value)  # type: ignore[no-any-return]
    raise _fail("plan", f"must be a table or a RoutingPlan, got {_show_value(value)}")


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


def _start(value: object) -> str | dt.datetime:
    if isinstance(value, str):
        _time_of_day(value, "start")
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _fail(
                "start", f"a date-time needs a UTC offset, got {_show_value(value.isoformat())}"
            )
        return value
    raise _fail(
        "start", f"must be 'HH:MM' or a date-time with a UTC offset, got {_show_value(value)}"
    )


@attrs.frozen
class Scenario:
    """A contact centre to simulate; see the module docstring for every
    field and the TOML form. Validated when built: a
    :class:`~acdcore.errors.ConfigError` names the key path of the problem.

    ``plan`` is a routing-plan table (as in TOML; kept as data so the
    scenario can be written back) or a :class:`~acdcore.RoutingPlan`.
    ``seed`` and ``replications`` are the defaults of
    :func:`~acdcore.sim.simulate`.
    """

    queues: tuple[SimQueue, ...] = attrs.field(converter=_queues)
    agents: tuple[AgentGroup, ...] = attrs.field(converter=_agents)
    traffic: Traffic
    plan: RoutingPlan | Mapping[str, Any] | None = attrs.field(default=None, converter=_plan)
    name: str = "scenario"
    description: str = ""
    seed: int | str = 0
    replications: int = 10
    duration: float | None = None
    warmup: float = 0.0
    drain: float = 14_400.0
    start: str | dt.datetime = attrs.field(default="00:00", converter=_start)
    service_level: ServiceLevel = attrs.field(factory=ServiceLevel)
    _routing_plan: RoutingPlan | None = attrs.field(init=False, repr=False, eq=False)
    _origin: float = attrs.field(init=False, repr=False, eq=False)
    _day_start: float = attrs.field(init=False, repr=False, eq=False)
    _measured: float = attrs.field(init=False, repr=False, eq=False)
    _policies: Mapping[str, PriorityPolicy] = attrs.field(init=False, repr=False, eq=False)
    _rule_paths: Mapping[int, str] = attrs.field(init=False, repr=False, eq=False)
    _contexts: list[_Schedules] | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        _name(self.name, "name")
        if not isinstance(self.description, str):
            raise _fail("description", f"must be a string, got {_show_value(self.description)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, str)):
            raise _fail("seed", f"must be an int or a string, got {_show_value(self.seed)}")
        if isinstance(self.seed, int) and abs(self.seed) >= 10**100:
            raise _fail("seed", f"an int seed has at most 100 digits, got {_show_value(self.seed)}")
        _int(self.replications, "replications", 1, MAX_REPLICATIONS)
        if not isinstance(self.traffic, Traffic):
            raise _fail("traffic", f"must be a Traffic, got {_show_value(self.traffic)}")
        if not isinstance(self.service_level, ServiceLevel):
            raise _fail(
                "service_level", f"must be a ServiceLevel, got {_show_value(self.service_level)}"
            )
        warmup = _seconds(self.warmup, "warmup")
        _seconds(self.drain, "drain")
        if not self.queues:
            raise _fail("queues", "at least one queue is required")
        queues: dict[str, SkillRequirement] = {}
        for i, q in enumerate(self.queues):
            if q.name in queues:
                raise _fail(f"queues[{i}].name", f"{_show_value(q.name)} is used twice")
            queues[q.name] = q.config.requirement
        object.__setattr__(self, "_policies", {q.name: q.config.policy for q in self.queues})
        skills: set[str] = set()
        groups: set[str] = set()
        ids: set[str] = set()
        total = sum(g.count for g in self.agents)
        if total > MAX_AGENTS:
            raise _fail("agents", f"{total:,} agents in all, more than the limit of {MAX_AGENTS:,}")
        for i, g in enumerate(self.agents):
            where = f"agents[{i}]"
            if g.name in groups:
                raise _fail(f"{where}.name", f"{_show_value(g.name)} is used twice")
            groups.add(g.name)
            for aid in g.agent_ids():
                if aid in ids:
                    raise _fail(f"{where}.name", f"agent id {aid!r} clashes with another group's")
                ids.add(aid)
            for qname in g.queues:
                if qname not in queues:
                    raise _fail(
                        f"{where}.queues.{_key(qname)}", f"unknown queue {_show_value(qname)}"
                    )
            skills.update(g.skills)
        for name, req in queues.items():
            for skill, _ in req.items():
                if skill not in skills:
                    i = list(queues).index(name)
                    raise _fail(
                        f"queues[{i}].requirement.{_key(skill)}",
                        f"no agent has the skill {_show_value(skill)}",
                    )
        traffic = self.traffic
        types = {}
        for i, ct in enumerate(traffic.call_types):
            where = f"traffic.call_types[{i}]"
            types[ct.name] = ct
            if ct.queue is not None and ct.queue not in queues:
                raise _fail(f"{where}.queue", f"unknown queue {_show_value(ct.queue)}")
            for skill, _ in (ct.requirement or {}).items():
                if skill not in skills:
                    raise _fail(
                        f"{where}.requirement.{_key(skill)}",
                        f"no agent has the skill {_show_value(skill)}",
                    )
        self._check_plan(queues, frozenset(skills))
        self._check_time(traffic)
        for i, c in enumerate(traffic.replay_calls):
            if c.queue is not None and c.queue not in queues:
                raise traffic._error(i, "queue", f"unknown queue {_show_value(c.queue)}")
            if c.call_type is not None and c.call_type not in types:
                raise traffic._error(i, "type", f"unknown call type {_show_value(c.call_type)}")
            if c.t < -warmup:
                raise traffic._error(
                    i,
                    "t",
                    f"{_show_value(c.t)} is before the warm-up starts ({_show_value(-warmup)})",
                )
        self._check_shifts()
        self._check_calls()
        self._check_load()
        self.check_size()

    def _check_plan(self, queues: Mapping[str, SkillRequirement], skills: frozenset[str]) -> None:
        plan: RoutingPlan | None = None
        try:
            if isinstance(self.plan, RoutingPlan):
                plan = self.plan
                plan.validate_for(queues, skills)
            elif self.plan is not None:
                plan = RoutingPlan.from_dict(_thaw(self.plan), queues=queues, skills=skills)
        except AcdError as exc:
            message = str(exc)
            if _PLAN_PATH.match(message):
                raise ConfigError(f"plan.{message}") from None
            raise _fail("plan", message.removeprefix("plan: ")) from None
        object.__setattr__(self, "_routing_plan", plan)
        paths: dict[int, str] = {}
        contexts: list[_Schedules] | None = []
        if plan is not None:
            paths = {id(r): f"plan.rules[{i}]" for i, r in enumerate(plan.rules)}
            paths[id(plan.default)] = "plan.default"
            names = sorted({n for r in plan.rules for n in r.when.schedules()})
            contexts = None
            if len(names) <= 6:  # every combination of open and closed schedules
                contexts = [
                    _Schedules({n for j, n in enumerate(names) if bits >> j & 1})
                    for bits in range(1 << len(names))
                ]
        object.__setattr__(self, "_rule_paths", paths)
        object.__setattr__(self, "_contexts", contexts)

    def _check_time(self, traffic: Traffic) -> None:
        if isinstance(self.start, dt.datetime):
            try:  # the run, warm-up and drain included, stays inside the calendar
                origin = self.start.timestamp()
                self.start - dt.timedelta(seconds=MAX_SPAN + DAY)
                self.start + dt.timedelta(seconds=2 * MAX_SPAN + DAY)
            except (OverflowError, ValueError):
                raise _fail(
                    "start", f"{self.start.isoformat()} is too close to the end of the calendar"
                ) from None
            local = self.start
            day_start = local.hour * 3600.0 + local.minute * 60.0 + local.second
            day_start += local.microsecond / 1e6
        else:
            origin = 0.0
            day_start = _time_of_day(self.start, "start")
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_day_start", day_start)
        interval = float(traffic.interval)
        if self.duration is not None:
            measured = _seconds(self.duration, "duration", positive=True)
        elif traffic.rates:
            measured = len(traffic.rates) * interval
            if measured > MAX_SPAN:
                raise _fail(
                    "traffic.rates",
                    f"{len(traffic.rates):,} intervals of {interval:g} s last more than 366 "
                    "days; give fewer rates, or a duration",
                )
        else:
            last = traffic.replay_calls[-1].t
            measured = max(1, math.floor(last / interval) + 1) * interval
        n = measured / interval
        if n > MAX_INTERVALS:
            raise _fail(
                "duration",
                f"{measured:g} s is {n:,.0f} traffic intervals of {interval:g} s, more than the "
                f"limit of {MAX_INTERVALS:,}; use a longer interval or a shorter run",
            )
        if abs(n - round(n)) > 1e-9 * max(1.0, n):
            raise _fail(
                "duration",
                f"{_show_value(measured)} s is not a whole number of traffic intervals ({_show_value(interval)} s)",
            )
        object.__setattr__(self, "_measured", round(n) * interval)

    def _check_shifts(self) -> None:
        for i, g in enumerate(self.agents):
            if g.shift is None:
                continue
            where = f"agents[{i}]"
            start, end = self.shift_times(g)
            for j, b in enumerate(g.breaks):
                b0 = self._break_start(b, start)
                last = b0 + g.stagger * max(g.count - 1, 0) + b.duration
                if b0 < start or last > end:
                    raise _fail(
                        f"{where}.breaks[{j}]",
                        f"the break ({_show(b.start)} for {b.duration:g} s, staggered over "
                        f"{g.count} agents) does not fit in the shift "
                        f"{_show(g.shift[0])}-{_show(g.shift[1])}",
                    )

    def _check_calls(self) -> None:
        """Every kind of call the traffic makes can be ordered by the
        priority policy of every queue it may reach, as the distributor will
        order it; otherwise the distributor would refuse it mid-run."""
        traffic = self.traffic
        first = self.queues[0].name
        for i, ct in enumerate(traffic.call_types):
            self._check_call(
                f"traffic.call_types[{i}]",
                ct.queue or first,
                ct.attributes,
                ct.priority,
                ct.emergency,
            )
        if not traffic.call_types and traffic.rates:
            self._check_call("traffic", first, _NO_ATTRIBUTES, 0, False)
        types = {ct.name: ct for ct in traffic.call_types}
        seen: set[Any] = set()
        passed: set[Any] = set()  # (queue policy, what it reads) known to pass
        for i, c in enumerate(traffic.replay_calls):
            kind = types.get(c.call_type) if c.call_type is not None else None
            attributes = c.attributes
            if kind is not None and kind.attributes:
                attributes = {**kind.attributes, **c.attributes}
            priority = c.priority if c.priority is not None else (kind.priority if kind else 0)
            emergency = kind.emergency if kind is not None else False
            queue = c.queue or (kind.queue if kind is not None else None) or first
            try:  # calls alike are checked once
                alike: Any = (queue, priority, emergency, frozenset(attributes.items()))
                if alike in seen:
                    continue
                seen.add(alike)
            except TypeError:  # an attribute value that is not hashable
                pass
            found = self._order_problem(queue, attributes, priority, emergency, passed)
            if found is not None:
                field, problem = found
                if field.startswith("plan."):
                    raise ConfigError(f"{field}: {problem} (replayed call {i})")
                if field.startswith("attributes.") and traffic._lines is not None:
                    field = field.removeprefix("attributes.")  # a CSV column
                raise traffic._error(i, field or "call", problem)

    def _check_call(
        self,
        where: str,
        queue: str,
        attributes: Mapping[str, Any],
        priority: int,
        emergency: bool,
    ) -> None:
        found = self._order_problem(queue, attributes, priority, emergency)
        if found is None:
            return
        field, problem = found
        if field.startswith("plan."):
            raise ConfigError(f"{field}: {problem} (the calls of {where})")
        raise _fail(_sub(where, field) if field else where, problem)

    def _order_problem(
        self,
        queue: str,
        attributes: Mapping[str, Any],
        priority: int,
        emergency: bool,
        passed: set[Any] | None = None,
    ) -> tuple[str, str] | None:
        """``(field, problem)`` when a queue the call may reach cannot order
        it: ``field`` is the call's own (``"priority"``,
        ``"attributes.tier"``, ``""`` for the whole call) or a plan rule's
        (``"plan.rules[0].priority"``)."""
        plan = self._routing_plan
        if plan is None:
            routes: list[tuple[Rule | None, str, str]] = [(None, queue, queue)]
        else:
            routes = []
            for decided in self._rules_for(plan, attributes):
                exit_ = decided.exit
                start = decided.queue
                if start is None and exit_ is not None and exit_.kind == "queue":
                    start = exit_.target
                if start is not None:  # else straight to an exit: it never waits
                    routes.extend((decided, q, start) for q in _moves(plan, start))
        for rule, dest, start in routes:
            attrs_, prio, emer = attributes, priority, emergency
            if rule is not None:
                if rule.attributes:
                    attrs_ = {**attributes, **rule.attributes}
                prio = priority if rule.priority is None else rule.priority
                emer = emergency if rule.emergency is None else rule.emergency
            policy = self._policies[dest]
            known = None
            if passed is not None:  # many replayed calls differ only in what no policy reads
                known = _what_policy_reads(policy, attrs_, prio, emer)
                if known is not None and known in passed:
                    continue
            problem = _key_problem(policy, self._origin, attrs_, prio, emer)
            if problem is None:
                if known is not None and passed is not None:
                    passed.add(known)
                continue
            name = getattr(policy, "name", type(policy).__name__)
            text = f"queue {dest!r} ({name}) cannot order these calls: {problem}"
            here = self._rule_paths.get(id(rule), "plan") if rule is not None else ""
            if rule is not None:
                text += f" (routed by plan rule {rule.name!r}"
                if dest != start:
                    text += f" to queue {start!r}, then moved on by the plan's queue exits"
                text += ")"
            own_attrs = [k for k in attrs_ if rule is None or k not in rule.attributes]
            # Which field is to blame: the first whose neutral value passes.
            trials: list[tuple[str, Mapping[str, Any], int, bool]] = []
            if prio != 0:
                by_rule = rule is not None and rule.priority is not None
                trials.append((f"{here}.priority" if by_rule else "priority", attrs_, 0, emer))
            for k in attrs_:
                rest = {a: v for a, v in attrs_.items() if a != k}
                field = f"attributes.{_key(k)}"
                if k not in own_attrs:
                    field = f"{here}.{field}"
                trials.append((field, rest, prio, emer))
            if emer:
                by_rule = rule is not None and rule.emergency is not None
                trials.append(
                    (f"{here}.emergency" if by_rule else "emergency", attrs_, prio, False)
                )
            for field, a, p, e in trials:
                if _key_problem(policy, self._origin, a, p, e) is None:
                    return field, text
            return "", text
        return None

    def _rules_for(self, plan: RoutingPlan, attributes: Mapping[str, Any]) -> list[Rule]:
        """The rules that may decide a call with these attributes: the first
        match for each combination of open and closed schedules the rules ask
        about (every rule when they ask about too many)."""
        contexts = self._contexts
        if contexts is None:
            return list(plan.all_rules())
        out: list[Rule] = []
        for context in contexts:
            chosen = plan.default
            for rule in plan.rules:
                try:
                    hit = rule.when.matches(attributes, self._origin, context)
                except (AcdError, ArithmeticError, TypeError, ValueError) as exc:
                    where = self._rule_paths.get(id(rule), "plan")
                    raise ConfigError(
                        f"{where}.when: cannot test {_show_value(dict(attributes))}: {exc}"
                    ) from None
                if hit:
                    chosen = rule
                    break
            if all(chosen is not r for r in out):
                out.append(chosen)
        return out

    def _check_load(self) -> None:
        """Refuse what one replication could not hold: too many expected
        calls, or too many shift events."""
        calls = self.expected_arrivals
        if calls > MAX_CALLS:
            t = self.traffic
            which = "traffic.rates" if t.rates else "traffic.replay"
            raise _fail(
                which,
                f"about {calls:,.0f} calls per replication (warm-up included), more than the "
                f"limit of {MAX_CALLS:,}; lower the rates or the surge, or shorten the run",
            )
        span = self._measured + float(self.drain)
        events = 0
        days = 0
        for g in self.agents:
            if g.shift is None:
                events += g.count
                continue
            start, _ = self.shift_times(g)
            days = max(0, math.ceil((span - start) / DAY))
            events += g.count * days * (2 + len(g.breaks))
        if events > MAX_SHIFT_EVENTS:
            raise _fail(
                "agents",
                f"the shifts and breaks make {events:,} logins, logouts and breaks per "
                f"replication (over {days:,} days), more than the limit of "
                f"{MAX_SHIFT_EVENTS:,}; shorten the run or the drain, or use fewer agents",
            )

    def check_size(self, replications: int | None = None) -> None:
        """Raise :class:`~acdcore.errors.ConfigError` (key ``replications``)
        if a run of ``replications`` (default: the scenario's) would keep
        more than the limits allow: :data:`MAX_AGENT_INTERVALS` per-agent
        interval figures, or :data:`MAX_TOTAL_CALLS` expected calls."""
        n = self.replications if replications is None else replications
        _int(n, "replications", 1, MAX_REPLICATIONS)
        agents = sum(g.count for g in self.agents)
        cells = n * (self.intervals + 1) * (agents + 2)
        if cells > MAX_AGENT_INTERVALS:
            raise _fail(
                "replications",
                f"{n:,} replications of {self.intervals:,} intervals with {agents:,} agents "
                f"would keep {cells:,} per-agent interval figures, more than the limit of "
                f"{MAX_AGENT_INTERVALS:,}; use fewer replications, intervals or agents",
            )
        calls = self.expected_arrivals * n
        if calls > MAX_TOTAL_CALLS:
            raise _fail(
                "replications",
                f"{n:,} replications of about {self.expected_arrivals:,.0f} calls each make "
                f"{calls:,.0f} calls, more than the limit of {MAX_TOTAL_CALLS:,}; use fewer "
                "replications",
            )

    # ------------------------------------------------------------ derived

    @property
    def routing_plan(self) -> RoutingPlan | None:
        """The plan as a :class:`~acdcore.RoutingPlan` (built and validated)."""
        return self._routing_plan

    @property
    def origin(self) -> float:
        """The distributor's clock at clock 0 (Unix seconds for a date-time
        ``start``, else 0)."""
        return self._origin

    @property
    def expected_arrivals(self) -> float:
        """The calls one replication expects, warm-up included: the Poisson
        rates' sum over the run times ``surge``, or the replayed calls."""
        t = self.traffic
        if not t.rates:
            return float(len(t.replay_calls))
        full, rest = divmod(self.intervals, len(t.rates))
        rates = [float(r) for r in t.rates]
        total = sum(rates) * full + sum(rates[:rest])
        total += rates[0] * (float(self.warmup) / float(t.interval))
        return total * float(t.surge)

    @property
    def measured(self) -> float:
        """Seconds measured: ``duration``, or the traffic profile's length."""
        return self._measured

    @property
    def intervals(self) -> int:
        """Number of measured traffic intervals."""
        return round(self._measured / self.traffic.interval)

    @property
    def queue_configs(self) -> list[QueueConfig]:
        """The distributor's queue configurations."""
        return [q.config for q in self.queues]

    def clock(self, value: TimeSpec) -> float:
        """Seconds from clock 0 of a time spec: a number as is, a time of
        day against ``start`` (earlier in the day: negative)."""
        if isinstance(value, str):
            return _time_of_day(value, "time") - self._day_start
        return float(value)

    def shift_times(self, group: AgentGroup) -> tuple[float, float]:
        """A group's first shift as ``(login, logout)`` seconds from clock 0
        (the logout moves to the next day if it is not after the login);
        ``(-inf, inf)`` without a shift."""
        if group.shift is None:
            return (-math.inf, math.inf)
        start = self.clock(group.shift[0])
        end = self.clock(group.shift[1])
        while end <= start:  # times of day: it ends the next day
            end += DAY
        return start, end

    def _break_start(self, b: Break, shift_start: float) -> float:
        t = self.clock(b.start)
        if isinstance(b.start, str):
            while t < shift_start:
                t += DAY
        return t

    def break_times(self, group: AgentGroup, index: int) -> list[tuple[float, float, str]]:
        """The breaks of agent ``index`` (0-based) of ``group`` in its first
        shift, as ``(start, end, reason)`` seconds from clock 0."""
        start, _ = self.shift_times(group)
        out = []
        for b in group.breaks:
            t = self._break_start(b, start) + index * group.stagger
            out.append((t, t + b.duration, b.reason))
        return out

    # ---------------------------------------------------------- dict form

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
    ) -> Scenario:
        """Build a scenario from plain data (parsed TOML or JSON). Relative
        file names (replay, empirical samples) are read from ``base_dir``
        (default: the working directory)."""
        try:
            return _Parser(base_dir).scenario(data)
        except ConfigError:
            raise
        except RecursionError:
            raise ConfigError("the data is nested too deeply") from None
        except (AcdError, ArithmeticError, TypeError, ValueError) as exc:
            # Defensive: every check above names its key; whatever slips
            # through is still a configuration error, not a crash.
            raise ConfigError(f"invalid scenario: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_toml(cls, text: str, *, base_dir: str | os.PathLike[str] | None = None) -> Scenario:
        """Build a scenario from TOML text (see the module docstring)."""
        if not isinstance(text, str):
            raise ConfigError(f"TOML text must be a string, got {_show_value(text)}")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError("not valid TOML: arrays or tables nested too deeply") from None
        except ValueError as exc:  # an integer of more than 4300 digits
            raise ConfigError(f"not valid TOML: {exc}") from None
        return cls.from_dict(data, base_dir=base_dir)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a TOML scenario file; relative file names in it are read from
        the file's directory."""
        name = os.fspath(path)
        problem = None
        try:
            mode = os.stat(name).st_mode
            if stat.S_ISDIR(mode):
                problem = "it is a directory"
            elif not stat.S_ISREG(mode):  # a device or a pipe could be endless
                problem = "not a regular file"
            else:
                with open(name, "rb") as fh:
                    data = fh.read(MAX_SCENARIO_BYTES + 1)
        except OSError as exc:
            problem = exc.strerror or str(exc)
        except ValueError as exc:  # a NUL in the name
            problem = str(exc)
        if problem is not None:
            raise ConfigError(f"cannot read {_show_value(name)}: {problem}")
        if len(data) > MAX_SCENARIO_BYTES:
            raise ConfigError(
                f"{name}: larger than {MAX_SCENARIO_BYTES // 2**20} MiB; "
                "replay many calls from a CSV file instead"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ConfigError(
                f"{name}: not UTF-8 text (byte {data[exc.start]:#04x} on line {line})"
            ) from None
        try:
            return cls.from_toml(text, base_dir=os.path.dirname(os.path.abspath(name)))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back into an equal
        scenario. Distributions are written inline. Raises
        :class:`~acdcore.errors.ConfigError` for what has no data form (a
        custom priority policy, a plan given as a ``RoutingPlan`` object)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["seed"] = self.seed
        out["replications"] = self.replications
        if self.duration is not None:
            out["duration"] = float(self.duration)
        out["warmup"] = float(self.warmup)
        out["drain"] = float(self.drain)
        out["start"] = self.start
        sl = self.service_level
        out["service_level"] = {
            "threshold": float(sl.threshold),
            "target": float(sl.target),
            "variant": sl.variant,
            "short_abandon": float(sl.short_abandon),
        }
        out["queues"] = [_queue_to_dict(q) for q in self.queues]
        out["agents"] = [_group_to_dict(g) for g in self.agents]
        if isinstance(self.plan, RoutingPlan):
            raise ConfigError(
                "plan: a RoutingPlan object has no data form; give the plan as a table"
            )
        if self.plan is not None:
            out["plan"] = _thaw(self.plan)
        out["traffic"] = _traffic_to_dict(self.traffic)
        return out

    def to_toml(self) -> str:
        """The scenario as TOML text (see :meth:`to_dict`)."""
        return _toml_dumps(self.to_dict())


def _show(value: TimeSpec) -> str:
    return value if isinstance(value, str) else f"{value:g}"


_NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})
_CALL_PREFIX = re.compile(r"^call (#\d+|'[^']*'): ")


class _Schedules:
    """A condition context in which the named schedules are open."""

    def __init__(self, open_: set[str]) -> None:
        self.open = open_

    def schedule_open(self, name: str, now: float) -> bool:
        return name in self.open


def _moves(plan: RoutingPlan, start: str) -> list[str]:
    """``start`` and every queue a plan's queue exits (closed hours,
    join-empty, surge, maximum wait, leave-empty) may move a call to."""
    out = [start]
    todo = [start]
    while todo:
        rules = plan.queues.get(todo.pop())
        if rules is None:
            continue
        surge = rules.surge.exit if rules.surge is not None else None
        for e in (rules.when_closed, rules.join_empty, surge, rules.on_max_wait, rules.leave_empty):
            target = e.target if e is not None and e.kind == "queue" else None
            if target is not None and target not in out:
                out.append(target)
                todo.append(target)
    return out


def _reads(policy: PriorityPolicy) -> tuple[str, ...] | None:
    """The attributes a built-in policy reads (``None``: any, for all we know)."""
    kind = type(policy)
    if kind in (FIFO, PriorityClasses, AccumulatingPriority):
        return ()
    if kind is ValueUrgencyMatrix:
        assert isinstance(policy, ValueUrgencyMatrix)
        return (policy.value_attribute, policy.urgency_attribute)
    if kind is EmergencyFirst:
        assert isinstance(policy, EmergencyFirst)
        return _reads(policy.inner)
    return None


def _what_policy_reads(
    policy: PriorityPolicy, attributes: Mapping[str, Any], priority: int, emergency: bool
) -> Any:
    """What a built-in policy's key depends on for such a call (besides the
    arrival), as a hashable value; ``None`` when that is not known."""
    names = _reads(policy)
    if names is None:
        return None
    values = tuple((n, type(attributes.get(n)), attributes.get(n)) for n in names)
    try:
        hash(values)
    except TypeError:
        return None
    return (id(policy), priority, emergency, values)


def _exact(x: object) -> bool:
    """A sort-key element the distributor accepts (see ``_policy_key``)."""
    if isinstance(x, int):
        return -EXACT <= x <= EXACT
    return isinstance(x, float) and not math.isnan(x)


def _key_problem(
    policy: PriorityPolicy,
    arrived: float,
    attributes: Mapping[str, Any],
    priority: int,
    emergency: bool,
) -> str | None:
    """Why ``policy`` cannot order such a call, or ``None``: the checks the
    distributor makes on a policy's key when a call arrives."""
    facts = CallFacts(
        seq=0,
        arrived=arrived,
        priority=priority,
        emergency=emergency,
        attributes=MappingProxyType(dict(attributes)),
    )
    try:
        key = policy.key(facts)
    except AcdError as exc:
        return _CALL_PREFIX.sub("", str(exc))
    except (ArithmeticError, TypeError, ValueError) as exc:  # a policy that fails outright
        return f"{type(exc).__name__}: {exc}"
    try:
        fine = bool(key) and key[-1] == 0 and len(key) <= KEY_LENGTH and all(map(_exact, key))
    except (TypeError, ValueError):
        fine = False
    if fine:
        return None
    return (
        f"its key {_show_value(key)} is not at most {KEY_LENGTH} numbers (integers within "
        "+-2**53, no NaN) ending in the arrival sequence"
    )


# ------------------------------------------------------------------- writing


def _policy_to_data(policy: PriorityPolicy) -> Any:
    if isinstance(policy, FIFO):
        return "fifo"
    if isinstance(policy, PriorityClasses):
        return "priority-classes"
    if isinstance(policy, AccumulatingPriority):
        return {"name": "accumulating", "seconds_per_level": policy.seconds_per_level}
    if isinstance(policy, ValueUrgencyMatrix):
        return {
            "name": "value-urgency",
            "matrix": [list(row) for row in policy.matrix],
            "value_attribute": policy.value_attribute,
            "urgency_attribute": policy.urgency_attribute,
        }
    if isinstance(policy, EmergencyFirst):
        return {"name": "emergency-first", "inner": _policy_to_data(policy.inner)}
    raise ConfigError(f"policy {policy.name!r} has no data form")


def _queue_to_dict(q: SimQueue) -> dict[str, Any]:
    c = q.config
    try:
        policy = _policy_to_data(c.policy)
    except ConfigError as exc:
        raise ConfigError(f"queues.{c.name}: {exc}") from None
    out: dict[str, Any] = {
        "name": c.name,
        "policy": policy,
        "strategy": c.strategy.value,
        "requirement": dict(c.requirement.items()),
        "ring_timeout": float(c.ring_timeout),
        "wrap_up": float(c.wrap_up),
        "no_answer": {
            "delay": float(c.no_answer.delay),
            "auto_pause_after": (
                False if c.no_answer.auto_pause_after is None else c.no_answer.auto_pause_after
            ),
            "pause_reason": c.no_answer.pause_reason,
        },
        "preferred_agent_wait": float(c.preferred_agent_wait),
    }
    if c.max_length is not None:
        out["max_length"] = c.max_length
    if c.announce is not None:
        a = c.announce
        out["announce"] = {
            "every": float(a.every),
            "first": float(a.first),
            "min_change": float(a.min_change),
            "prompts": a.prompts,
            "segment_by": list(a.segment_by),
        }
    if c.callback is not None:
        b = c.callback
        out["callback"] = {
            "threshold": float(b.threshold),
            "retries": b.retries,
            "retry_delay": float(b.retry_delay),
            "dial_timeout": float(b.dial_timeout),
            "accept": float(q.callback_accept),
            "answer": float(q.callback_answer),
        }
    for key in ("handle", "patience"):
        d = getattr(q, key)
        if d is not None:
            out[key] = d.to_dict()
    for key in ("sl_threshold", "sl_target"):
        v = getattr(q, key)
        if v is not None:
            out[key] = float(v)
    return out


def _group_to_dict(g: AgentGroup) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": g.name,
        "count": g.count,
        "skills": dict(g.skills),
        "queues": {q: attrs.asdict(m) for q, m in g.queues.items()},
    }
    if g.region is not None:
        out["region"] = g.region
    if g.shift is not None:
        out["shift"] = [_time_data(t) for t in g.shift]
    if g.breaks:
        out["breaks"] = [
            {"start": _time_data(b.start), "duration": float(b.duration), "reason": b.reason}
            for b in g.breaks
        ]
    out["stagger"] = float(g.stagger)
    out["rona"] = float(g.rona)
    out["answer_delay"] = g.answer_delay.to_dict()
    out["resume_after"] = g.resume_after.to_dict()
    return out


def _time_data(value: TimeSpec) -> TimeSpec:
    return value if isinstance(value, str) else float(value)


def _traffic_to_dict(t: Traffic) -> dict[str, Any]:
    out: dict[str, Any] = {"interval": float(t.interval), "surge": float(t.surge)}
    if t.rates:
        out["rates"] = [float(r) for r in t.rates]
    if isinstance(t.replay, str):
        out["replay"] = t.replay
    elif t.replay is not None:
        calls = []
        for c in t.replay:
            d: dict[str, Any] = {"t": float(c.t)}
            for key in ("queue", "call_type", "priority", "handle", "patience"):
                v = getattr(c, key)
                if v is not None:
                    d["type" if key == "call_type" else key] = v
            if c.attributes:
                d["attributes"] = dict(c.attributes)
            calls.append(d)
        out["replay"] = calls
    out["handle"] = t.handle.to_dict()
    if t.patience is not None:
        out["patience"] = t.patience.to_dict()
    if t.call_types:
        types = []
        for ct in t.call_types:
            d = {"name": ct.name, "weight": float(ct.weight)}
            if ct.queue is not None:
                d["queue"] = ct.queue
            if ct.attributes:
                d["attributes"] = dict(ct.attributes)
            d["priority"] = ct.priority
            d["emergency"] = ct.emergency
            if ct.requirement is not None:
                d["requirement"] = dict(ct.requirement)
            if ct.handle is not None:
                d["handle"] = ct.handle.to_dict()
            if ct.patience is not None:
                d["patience"] = ct.patience.to_dict()
            types.append(d)
        out["call_types"] = types
    return out


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} as TOML")


def _is_table_list(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def _toml_table(
    path: list[str], table: Mapping[str, Any], lines: list[str], *, inline: bool = False
) -> None:
    """Scalars and inline values first, then sub-tables with their own
    headers: only for the top level and the tables right under it; entries
    of arrays of tables (``[[agents]]``) and anything deeper are inline."""
    headers = not inline and len(path) < 2
    later: list[tuple[str, Any]] = []
    for k, v in table.items():
        distribution = isinstance(v, Mapping) and "kind" in v
        if headers and not distribution and (isinstance(v, Mapping) or _is_table_list(v)):
            later.append((k, v))
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in later:
        sub = [*path, _toml_key(k)]
        header = ".".join(sub)
        if isinstance(v, Mapping):
            lines.append("")
            lines.append(f"[{header}]")
            _toml_table(sub, v, lines)
        else:
            for item in v:
                lines.append("")
                lines.append(f"[[{header}]]")
                _toml_table(sub, item, lines, inline=True)


def _toml_dumps(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _toml_table([], data, lines)
    return "\n".join(lines).lstrip("\n") + "\n"


# ------------------------------------------------------------------- parsing


_TOP = {
    "name",
    "description",
    "seed",
    "replications",
    "duration",
    "warmup",
    "drain",
    "start",
    "service_level",
    "distributions",
    "queues",
    "agents",
    "plan",
    "traffic",
}
_QUEUE_KEYS = {
    "name",
    "policy",
    "strategy",
    "requirement",
    "ring_timeout",
    "wrap_up",
    "no_answer",
    "max_length",
    "preferred_agent_wait",
    "handle",
    "patience",
    "sl_threshold",
    "sl_target",
    "announce",
    "callback",
}
_AGENT_KEYS = {
    "name",
    "count",
    "skills",
    "queues",
    "region",
    "shift",
    "breaks",
    "stagger",
    "rona",
    "answer_delay",
    "resume_after",
}
_TRAFFIC_KEYS = {"interval", "rates", "surge", "replay", "call_types", "handle", "patience"}
_CALL_TYPE_KEYS = {
    "name",
    "weight",
    "queue",
    "attributes",
    "priority",
    "emergency",
    "requirement",
    "handle",
    "patience",
}
_POLICIES: dict[str, type[Any]] = {
    "fifo": FIFO,
    "priority-classes": PriorityClasses,
    "accumulating": AccumulatingPriority,
    "value-urgency": ValueUrgencyMatrix,
    "emergency-first": EmergencyFirst,
}


class _Parser:
    """Turns plain data into a Scenario, with key paths in every error."""

    def __init__(self, base_dir: str | os.PathLike[str] | None) -> None:
        self.base_dir = None if base_dir is None else os.fspath(base_dir)
        self.named: dict[str, Distribution] = {}

    # ------------------------------------------------------------ helpers

    @staticmethod
    def table(value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise _fail(where, f"must be a table, got {_show_value(value)}")
        return value

    @staticmethod
    def tables(value: object, where: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list):
            raise _fail(where, f"must be a list of tables ([[{where}]]), got {_show_value(value)}")
        for i, v in enumerate(value):
            if not isinstance(v, Mapping):
                raise _fail(f"{where}[{i}]", f"must be a table, got {_show_value(v)}")
        return value

    @staticmethod
    def keys(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for k in spec:
            if k not in allowed:
                raise _fail(
                    _sub(where, _key(k)), f"unknown key (known: {', '.join(sorted(allowed))})"
                )

    @staticmethod
    def build(cls: Any, where: str, **kwargs: Any) -> Any:
        """Build one of our objects; its errors are relative to ``where``."""
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(_sub(where, str(exc))) from None

    def path(self, value: str) -> str:
        if self.base_dir is None or os.path.isabs(value):
            return value
        return os.path.join(self.base_dir, value)

    def dist(self, value: object, where: str) -> Distribution:
        if isinstance(value, str):
            found = self.named.get(value)
            if found is None:
                known = ", ".join(sorted(self.named)) or "none are defined"
                raise _fail(where, f"unknown distribution {_show_value(value)} (known: {known})")
            return found
        if isinstance(value, Mapping) or (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        ):
            return distribution_from_dict(value, where=where, base_dir=self.base_dir)
        raise _fail(
            where, f"must be a distribution name, a table or a number, got {_show_value(value)}"
        )

    def opt_dist(self, spec: Mapping[str, Any], key: str, where: str) -> Distribution | None:
        if key not in spec:
            return None
        return self.dist(spec[key], _sub(where, key))

    # ----------------------------------------------------------- sections

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        data = self.table(data, "scenario")
        self.keys(data, _TOP, "")
        for name, spec in self.table(data.get("distributions", {}), "distributions").items():
            self.named[name] = self.dist(spec, f"distributions.{_key(name)}")
        if "queues" not in data:
            raise _fail("queues", "at least one queue is required ([[queues]])")
        if "traffic" not in data:
            raise _fail("traffic", "missing ([traffic] with rates or replay)")
        queues = [
            self.queue(q, f"queues[{i}]")
            for i, q in enumerate(self.tables(data["queues"], "queues"))
        ]
        agents = [
            self.agent(a, f"agents[{i}]")
            for i, a in enumerate(self.tables(data.get("agents", []), "agents"))
        ]
        traffic = self.traffic(self.table(data["traffic"], "traffic"))
        kwargs: dict[str, Any] = {"queues": queues, "agents": agents, "traffic": traffic}
        if "service_level" in data:
            spec = self.table(data["service_level"], "service_level")
            self.keys(spec, {"threshold", "target", "variant", "short_abandon"}, "service_level")
            kwargs["service_level"] = self.build(ServiceLevel, "service_level", **spec)
        if "plan" in data:
            kwargs["plan"] = self.table(data["plan"], "plan")
        for key in (
            "name",
            "description",
            "seed",
            "replications",
            "duration",
            "warmup",
            "drain",
            "start",
        ):
            if key in data:
                kwargs[key] = data[key]
        return self.build(Scenario, "", **kwargs)  # type: ignore[no-any-return]

    def queue(self, spec: Mapping[str, Any], where: str) -> SimQueue:
        self.keys(spec, _QUEUE_KEYS, where)
        if "name" not in spec:
            raise _fail(f"{where}.name", "missing")
        name = _name(spec["name"], f"{where}.name")
        kwargs: dict[str, Any] = {}
        if "policy" in spec:
            kwargs["policy"] = self.policy(spec["policy"], f"{where}.policy")
        if "strategy" in spec:
            value = spec["strategy"]
            try:
                kwargs["strategy"] = Strategy(value)
            except ValueError:
                known = ", ".join(s.value for s in Strategy)
                raise _fail(
                    f"{where}.strategy",
                    f"unknown strategy {_show_value(value)} (use one of {known})",
                ) from None
        if "requirement" in spec:
            kwargs["requirement"] = _skills(spec["requirement"], f"{where}.requirement")
        for key in ("ring_timeout", "wrap_up", "preferred_agent_wait"):
            if key in spec:
                kwargs[key] = _number(spec[key], f"{where}.{key}", positive=key == "ring_timeout")
        if "max_length" in spec:
            kwargs["max_length"] = _int(spec["max_length"], f"{where}.max_length", 0)
        if "no_answer" in spec:
            na = dict(self.table(spec["no_answer"], f"{where}.no_answer"))
            self.keys(na, {"delay", "auto_pause_after", "pause_reason"}, f"{where}.no_answer")
            if na.get("auto_pause_after") is False:
                na["auto_pause_after"] = None
            try:
                kwargs["no_answer"] = NoAnswerPolicy(**na)
            except ConfigError as exc:
                raise _fail(f"{where}.no_answer", str(exc)) from None
        if "announce" in spec:
            an = dict(self.table(spec["announce"], f"{where}.announce"))
            self.keys(
                an, {"every", "first", "min_change", "prompts", "segment_by"}, f"{where}.announce"
            )
            try:
                kwargs["announce"] = Announcements(**an)
            except (ConfigError, TypeError) as exc:
                raise _fail(f"{where}.announce", str(exc)) from None
        accept, answer = 0.0, 1.0
        if "callback" in spec:
            cb = dict(self.table(spec["callback"], f"{where}.callback"))
            self.keys(
                cb,
                {"threshold", "retries", "retry_delay", "dial_timeout", "accept", "answer"},
                f"{where}.callback",
            )
            accept = _fraction(cb.pop("accept", 0.0), f"{where}.callback.accept")
            answer = _fraction(cb.pop("answer", 1.0), f"{where}.callback.answer")
            try:
                kwargs["callback"] = CallbackPolicy(**cb)
            except (ConfigError, TypeError) as exc:
                raise _fail(f"{where}.callback", str(exc)) from None
        try:
            config = QueueConfig(name, **kwargs)
        except ConfigError as exc:
            raise _fail(where, str(exc)) from None
        return self.build(  # type: ignore[no-any-return]
            SimQueue,
            where,
            config=config,
            handle=self.opt_dist(spec, "handle", where),
            patience=self.opt_dist(spec, "patience", where),
            sl_threshold=spec.get("sl_threshold"),
            sl_target=spec.get("sl_target"),
            callback_accept=accept,
            callback_answer=answer,
        )

    def policy(self, spec: object, where: str) -> PriorityPolicy:
        name: object
        args: dict[str, Any]
        if isinstance(spec, str):
            name, args = spec, {}
        elif isinstance(spec, Mapping):
            name = spec.get("name")
            args = {k: v for k, v in spec.items() if k != "name"}
        else:
            raise _fail(where, f"must be a policy name or a table, got {_show_value(spec)}")
        cls = _POLICIES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise _fail(
                where if isinstance(spec, str) else f"{where}.name",
                f"unknown policy {_show_value(name)} (use one of {', '.join(_POLICIES)})",
            )
        if cls is EmergencyFirst and "inner" in args:
            args["inner"] = self.policy(args["inner"], f"{where}.inner")
        try:
            return cls(**args)  # type: ignore[no-any-return]
        except TypeError:
            raise _fail(
                where, f"bad parameters {sorted(args)} for policy {_show_value(name)}"
            ) from None
        except ConfigError as exc:
            raise _fail(where, str(exc)) from None

    def agent(self, spec: Mapping[str, Any], where: str) -> AgentGroup:
        self.keys(spec, _AGENT_KEYS, where)
        if "name" not in spec:
            raise _fail(f"{where}.name", "missing")
        kwargs: dict[str, Any] = {
            k: spec[k]
            for k in ("name", "count", "skills", "region", "stagger", "rona")
            if k in spec
        }
        if "skills" in spec:
            kwargs["skills"] = _skills(spec["skills"], f"{where}.skills")
        if "queues" in spec:
            queues = spec["queues"]
            if isinstance(queues, Mapping):
                queues = {
                    q: _membership_from(
                        self.table(m, f"{where}.queues.{_key(q)}"), f"{where}.queues.{_key(q)}"
                    )
                    for q, m in queues.items()
                }
            kwargs["queues"] = queues
        if "shift" in spec:
            kwargs["shift"] = spec["shift"]
        if "breaks" in spec:
            breaks = []
            for j, b in enumerate(self.tables(spec["breaks"], f"{where}.breaks")):
                bw = f"{where}.breaks[{j}]"
                self.keys(b, {"start", "duration", "end", "reason"}, bw)
                if "start" not in b:
                    raise _fail(f"{bw}.start", "missing")
                args = {k: b[k] for k in ("start", "duration", "reason") if k in b}
                if "end" in b:
                    if "duration" in b:
                        raise _fail(f"{bw}.end", "give duration or end, not both")
                    args["duration"] = self.span(b["start"], b["end"], bw)
                elif "duration" not in b:
                    raise _fail(f"{bw}.duration", "missing (or give end)")
                breaks.append(self.build(Break, bw, **args))
            kwargs["breaks"] = breaks
        for key in ("answer_delay", "resume_after"):
            if key in spec:
                kwargs[key] = self.dist(spec[key], f"{where}.{key}")
        return self.build(AgentGroup, where, **kwargs)  # type: ignore[no-any-return]

    @staticmethod
    def span(start: object, end: object, where: str) -> float:
        a = _time_spec(start, f"{where}.start")
        b = _time_spec(end, f"{where}.end")
        if isinstance(a, str) != isinstance(b, str):
            raise _fail(f"{where}.end", "use the same form (time of day or seconds) as start")
        if isinstance(a, str) and isinstance(b, str):
            d = _time_of_day(b, f"{where}.end") - _time_of_day(a, f"{where}.start")
            return d if d > 0 else d + DAY
        assert isinstance(a, float) and isinstance(b, float)
        if b <= a:
            raise _fail(f"{where}.end", f"must be after start ({a:g}), got {b:g}")
        return b - a

    def traffic(self, spec: Mapping[str, Any]) -> Traffic:
        self.keys(spec, _TRAFFIC_KEYS, "traffic")
        kwargs: dict[str, Any] = {k: spec[k] for k in ("interval", "rates", "surge") if k in spec}
        if "replay" in spec:
            replay = spec["replay"]
            if isinstance(replay, str):
                kwargs["replay"] = self.path(replay)
            else:
                calls = []
                for i, c in enumerate(self.tables(replay, "traffic.replay")):
                    cw = f"traffic.replay[{i}]"
                    self.keys(
                        c,
                        {"t", "queue", "type", "attributes", "priority", "handle", "patience"},
                        cw,
                    )
                    if "t" not in c:
                        raise _fail(f"{cw}.t", "missing")
                    args = {k: v for k, v in c.items() if k != "type"}
                    if "type" in c:
                        args["call_type"] = c["type"]
                    if "attributes" in c:
                        args["attributes"] = self.table(c["attributes"], f"{cw}.attributes")
                    calls.append(self.build(ReplayCall, cw, **args))
                kwargs["replay"] = calls
        if "handle" in spec:
            kwargs["handle"] = self.dist(spec["handle"], "traffic.handle")
        if "patience" in spec:
            kwargs["patience"] = self.dist(spec["patience"], "traffic.patience")
        if "call_types" in spec:
            types = []
            for i, c in enumerate(self.tables(spec["call_types"], "traffic.call_types")):
                cw = f"traffic.call_types[{i}]"
                self.keys(c, _CALL_TYPE_KEYS, cw)
                if "name" not in c:
                    raise _fail(f"{cw}.name", "missing")
                args = {
                    k: c[k] for k in ("name", "weight", "queue", "priority", "emergency") if k in c
                }
                if "attributes" in c:
                    args["attributes"] = self.table(c["attributes"], f"{cw}.attributes")
                if "requirement" in c:
                    args["requirement"] = _skills(c["requirement"], f"{cw}.requirement")
                args["handle"] = self.opt_dist(c, "handle", cw)
                args["patience"] = self.opt_dist(c, "patience", cw)
                types.append(self.build(CallType, cw, **args))
            kwargs["call_types"] = types
        return self.build(Traffic, "traffic", **kwargs)  # type: ignore[no-any-return]
