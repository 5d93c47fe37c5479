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
constants of this module and :meth:`Scenario.check_size`. Loading a file gives a
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

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._scenario_checks import (
    _Schedules,
    check_calls,
    check_load,
    check_plan,
    check_shifts,
    check_time,
)
from ._scenario_parse import _TOP as _TOP
from ._scenario_parse import _Parser as _Parser
from ._scenario_parse import parse_data, parse_toml, read_file
from ._scenario_parts import (
    AgentGroup,
    Break,
    CallType,
    ReplayCall,
    ServiceLevel,
    SimQueue,
    Traffic,
    load_replay,
)
from ._scenario_values import DAY as DAY
from ._scenario_values import (
    MAX_AGENT_INTERVALS,
    MAX_AGENTS,
    MAX_CALLS,
    MAX_GROUP_AGENTS,
    MAX_INTERVALS,
    MAX_REPLICATIONS,
    MAX_SCENARIO_BYTES,
    MAX_SHIFT_EVENTS,
    MAX_SPAN,
    MAX_TOTAL_CALLS,
    _deep_freeze,
    _fail,
    _int,
    _key,
    _name,
    _seconds,
    _show_value,
    _time_of_day,
)
from ._scenario_values import TimeSpec as TimeSpec
from ._scenario_write import _toml_dumps, scenario_to_dict
from ._scenario_write import _toml_key as _toml_key
from ._scenario_write import _toml_value as _toml_value
from .config import QueueConfig
from .errors import ConfigError
from .plans import RoutingPlan
from .policies import PriorityPolicy
from .skills import SkillRequirement

# The scenario is built from private modules: the limits and value checks in
# _scenario_values, the parts in _scenario_parts, the checks across parts in
# _scenario_checks, reading in _scenario_parse and writing in _scenario_write.
# Their public names are this module's; DAY, TimeSpec, _TOP, _Parser,
# _toml_key and _toml_value are also imported from here (by acdcore.sim,
# acdcore.whatif, acdcore.service.config and the tests).

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
        check_plan(self, queues, frozenset(skills))
        check_time(self, traffic)
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
        check_shifts(self)
        check_calls(self)
        check_load(self)
        self.check_size()

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
    # ---------------------------------------------------------- dict form

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, base_dir: str | os.PathLike[str] | None = None
    ) -> Scenario:
        """Build a scenario from plain data (parsed TOML or JSON). Relative
        file names (replay, empirical samples) are read from ``base_dir``
        (default: the working directory)."""
        return parse_data(data, base_dir)

    @classmethod
    def from_toml(cls, text: str, *, base_dir: str | os.PathLike[str] | None = None) -> Scenario:
        """Build a scenario from TOML text (see the module docstring)."""
        return cls.from_dict(parse_toml(text), base_dir=base_dir)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Scenario:
        """Read a TOML scenario file; relative file names in it are read from
        the file's directory."""
        name = os.fspath(path)
        text = read_file(name)
        try:
            return cls.from_toml(text, base_dir=os.path.dirname(os.path.abspath(name)))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back into an equal
        scenario. Distributions are written inline. Raises
        :class:`~acdcore.errors.ConfigError` for what has no data form (a
        custom priority policy, a plan given as a ``RoutingPlan`` object)."""
        return scenario_to_dict(self)

    def to_toml(self) -> str:
        """The scenario as TOML text (see :meth:`to_dict`)."""
        return _toml_dumps(self.to_dict())
