"""Writing scenarios back: a scenario as plain data (what
``Scenario.from_dict`` reads back into an equal scenario, distributions
inline), and plain data as TOML text (``Scenario.to_toml``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._scenario_parts import AgentGroup, SimQueue, Traffic
from ._scenario_values import _BARE_KEY, TimeSpec, _thaw, _toml_string
from .errors import ConfigError
from .plans import RoutingPlan
from .policies import (
    FIFO,
    AccumulatingPriority,
    EmergencyFirst,
    PriorityClasses,
    PriorityPolicy,
    ValueUrgencyMatrix,
)

if TYPE_CHECKING:
    from .scenario import Scenario


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """``Scenario.to_dict``: plain data that ``Scenario.from_dict`` reads
    back into an equal scenario (see there)."""
    out: dict[str, Any] = {"name": scenario.name}
    if scenario.description:
        out["description"] = scenario.description
    out["seed"] = scenario.seed
    out["replications"] = scenario.replications
    if scenario.duration is not None:
        out["duration"] = float(scenario.duration)
    out["warmup"] = float(scenario.warmup)
    out["drain"] = float(scenario.drain)
    out["start"] = scenario.start
    sl = scenario.service_level
    out["service_level"] = {
        "threshold": float(sl.threshold),
        "target": float(sl.target),
        "variant": sl.variant,
        "short_abandon": float(sl.short_abandon),
    }
    out["queues"] = [_queue_to_dict(q) for q in scenario.queues]
    out["agents"] = [_group_to_dict(g) for g in scenario.agents]
    if isinstance(scenario.plan, RoutingPlan):
        raise ConfigError("plan: a RoutingPlan object has no data form; give the plan as a table")
    if scenario.plan is not None:
        out["plan"] = _thaw(scenario.plan)
    out["traffic"] = _traffic_to_dict(scenario.traffic)
    return out


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
