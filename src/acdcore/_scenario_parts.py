"""The parts a scenario is built from: agent groups (and their breaks), call
types, replayed calls (and :func:`load_replay`, which reads them from a CSV
file), the traffic, the simulator's queues and the service level. Each checks
its own fields when built; :mod:`acdcore.scenario` makes them public and
checks how they fit together.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from ._scenario_values import (
    DAY,
    MAX_CALLS,
    MAX_GROUP_AGENTS,
    TimeSpec,
    _distribution,
    _fail,
    _finite_mean,
    _fraction,
    _frozen,
    _frozen_skills,
    _int,
    _memberships,
    _name,
    _number,
    _priority,
    _show_value,
    _skills,
    _time_spec,
)
from .config import QueueConfig, QueueMembership
from .distributions import Deterministic, Distribution, Exponential
from .errors import ConfigError
from .metrics import SLVariant
from .skills import SkillRequirement


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
