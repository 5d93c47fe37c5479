"""What the query routes answer: the distributor's and the metrics' views as JSON data.

Pure functions of a distributor, its metrics and an instant; none changes
anything. Times are the runtime's clock (Unix seconds); a wait that cannot
be estimated is ``null`` with ``"known": false``. "Today" is the local day
(by the metrics' ``tz_offset``) that holds ``now``.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import attrs

from ..distributor import AgentView, CallView, Distributor
from ..errors import AcdError, UnknownQueue
from ..estimators import WaitEstimate
from ..metrics import Metrics

__all__ = [
    "agent_json",
    "agents_json",
    "call_json",
    "estimate_json",
    "kpis_json",
    "queue_json",
]

DAY = 86_400.0


def _value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def call_json(view: CallView) -> dict[str, Any]:
    """A live call: state, queue, place in it, offers, agent..."""
    return {f.name: _value(getattr(view, f.name)) for f in attrs.fields(CallView)}


def agent_json(view: AgentView) -> dict[str, Any]:
    """An agent: state, pause reason, calls, counters."""
    return {f.name: _value(getattr(view, f.name)) for f in attrs.fields(AgentView)}


def agents_json(acd: Distributor, metrics: Metrics, now: float) -> list[dict[str, Any]]:
    """Every agent seen (logged out ones too), in order of first appearance."""
    out = []
    for agent_id in metrics.realtime(now).agent_states:
        try:
            out.append(agent_json(acd.agent(agent_id)))
        except AcdError:  # pragma: no cover - the metrics saw only the distributor's agents
            continue
    return out


def estimate_json(estimate: WaitEstimate) -> dict[str, Any]:
    """A wait estimate; ``seconds`` (and its interval) ``null`` when unknown."""
    known = math.isfinite(estimate.seconds)
    return {
        "known": known,
        "seconds": estimate.seconds if known else None,
        "low": estimate.low if math.isfinite(estimate.low) else None,
        "high": estimate.high if math.isfinite(estimate.high) else None,
        "ahead": estimate.ahead,
        "servers": estimate.servers,
        "method": estimate.method,
    }


def _today(metrics: Metrics, now: float, tz_offset: float) -> dict[str, Any]:
    start = now - ((now + tz_offset) % DAY)
    stats = metrics.summary(start=start)
    return {name: qs.to_dict() for name, qs in stats.queues.items()}


def queue_json(
    acd: Distributor, metrics: Metrics, name: str, now: float, tz_offset: float
) -> dict[str, Any]:
    """One queue now: its waiting calls in order, calls ringing and
    connected, the longest wait, today's KPIs (service level against its
    target, abandon rate, ASA...) and the estimated wait of a new caller.
    Raises :class:`~acdcore.errors.UnknownQueue`."""
    if name not in acd.queues:
        raise UnknownQueue(f"no queue named {name!r}")
    live = metrics.realtime(now).queues[name]
    today = _today(metrics, now, tz_offset).get(name)
    return {
        "queue": name,
        "now": now,
        "waiting": acd.waiting(name),
        "ringing": live.ringing,
        "connected": live.connected,
        "longest_waiting": live.longest_waiting,
        "surge": acd.surge_active(name),
        "estimate": estimate_json(acd.estimate_new(name)),
        "today": today,
    }


def kpis_json(acd: Distributor, metrics: Metrics, now: float, tz_offset: float) -> dict[str, Any]:
    """The live KPIs a wallboard shows: per queue the calls waiting,
    ringing and connected, the longest wait, the estimated wait, and today's
    service level, target, abandon rate and ASA; agents by state."""
    view = metrics.realtime(now)
    today = _today(metrics, now, tz_offset)
    queues = {}
    for name, q in view.queues.items():
        day = today.get(name) or {}
        queues[name] = {
            "waiting": q.waiting,
            "ringing": q.ringing,
            "connected": q.connected,
            "longest_waiting": q.longest_waiting,
            "estimated_wait": estimate_json(acd.estimate_new(name)),
            "offered": day.get("offered", 0),
            "answered": day.get("answered", 0),
            "abandoned": day.get("abandoned", 0),
            "service_level": day.get("service_level"),
            "target": day.get("target"),
            "threshold": day.get("threshold"),
            "below_target": day.get("below_target", False),
            "abandon_rate": day.get("abandon_rate"),
            "asa": day.get("asa"),
        }
    return {
        "now": now,
        "queues": queues,
        "agents": dict(view.agents),
        "counts": acd.counts(),
    }
