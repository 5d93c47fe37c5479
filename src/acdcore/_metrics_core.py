"""The configuration and state of a :class:`~acdcore.metrics.Metrics`, and
the bookkeeping every part of it uses (internal).

:class:`_MetricsCore` is the base of :class:`~acdcore.metrics.Metrics` (through
:class:`~acdcore._metrics_handlers._MetricsHandlers` and
:class:`~acdcore._metrics_reports._MetricsReports`). Its constructor checks
the arguments documented on :class:`~acdcore.metrics.Metrics` and sets every
attribute the other parts use (and :mod:`acdcore._metrics_state` saves); its
methods map instants to interval buckets, find or make accumulators, spread
an agent's time over interval boundaries, end the wrap-ups that are due and
count handled legs.

Cost: finding an accumulator is O(1); spreading an agent's time is O(k) for
the k interval boundaries it crosses; ending due wrap-ups is O(log w) each
for w pending wrap-ups (a heap).
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime

from ._metrics_records import (
    _acc_in,
    _Agent,
    _AgentAcc,
    _Answered,
    _Call,
    _CallAcc,
    _category,
    _Session,
)
from ._metrics_stats import SLVariant, _variant
from .config import QueueConfig
from .errors import ConfigError, InvalidValue, TimeWentBackwards
from .skills import freeze_sequence

DAY = 86_400.0


class _MetricsCore:
    """The configuration and state of a :class:`~acdcore.metrics.Metrics`
    (see there for the arguments), and the bookkeeping its event handlers and
    reports share."""

    def __init__(
        self,
        queues: Mapping[str, QueueConfig] | Iterable[QueueConfig],
        *,
        interval: float = 1800.0,
        sl_threshold: float = 20.0,
        sl_target: float = 0.8,
        thresholds: Mapping[str, float] | None = None,
        targets: Mapping[str, float] | None = None,
        sl_variant: SLVariant | str = SLVariant.B,
        short_abandon: float = 5.0,
        tz_offset: float = 0.0,
        epoch: datetime | None = None,
        start: float = 0.0,
        remember_calls: int = 100_000,
    ) -> None:
        configs = (
            list(queues.values())
            if isinstance(queues, Mapping)
            else list(freeze_sequence(queues, "queues", ConfigError))
        )
        self._wrap: dict[str, float] = {}
        for q in configs:
            if not isinstance(q, QueueConfig):
                raise ConfigError(f"queues must be QueueConfig objects, got {q!r}")
            self._wrap[q.name] = float(q.wrap_up)
        if not self._wrap:
            raise ConfigError("at least one queue is required")
        _number(interval, "interval", positive=True)
        per_day = DAY / interval
        if not per_day.is_integer() or round(per_day) * interval != DAY:
            raise ConfigError(f"interval must divide a day (86400 s), got {interval!r}")
        _number(sl_threshold, "sl_threshold")
        _fraction(sl_target, "sl_target")
        _number(short_abandon, "short_abandon")
        _number(tz_offset, "tz_offset", signed=True)
        if abs(tz_offset) >= DAY:
            raise ConfigError(f"tz_offset must be less than a day, got {tz_offset!r}")
        if epoch is not None and not isinstance(epoch, datetime):
            raise ConfigError(f"epoch must be a datetime or None, got {epoch!r}")
        _number(start, "start", signed=True)
        if isinstance(remember_calls, bool) or not isinstance(remember_calls, int):
            raise ConfigError(f"remember_calls must be an int, got {remember_calls!r}")
        if remember_calls < 0:
            raise ConfigError(f"remember_calls must be >= 0, got {remember_calls}")
        try:
            variant = _variant(sl_variant)
        except InvalidValue as exc:
            raise ConfigError(str(exc)) from None
        self._threshold = {name: float(sl_threshold) for name in self._wrap}
        for name, value in (thresholds or {}).items():
            self._known_queue(name, "thresholds")
            _number(value, f"thresholds[{name!r}]")
            self._threshold[name] = float(value)
        self._target = {name: float(sl_target) for name in self._wrap}
        for name, value in (targets or {}).items():
            self._known_queue(name, "targets")
            _fraction(value, f"targets[{name!r}]")
            self._target[name] = float(value)
        self._interval = float(interval)
        self._per_day = round(per_day)
        self._variant = variant
        self._short = float(short_abandon)
        self._tz = float(tz_offset)
        self._epoch = epoch
        self._now = float(start)
        self._remember = remember_calls
        self._calls: dict[str, _Call] = {}
        self._agents: dict[str, _Agent] = {}
        self._wraps: list[tuple[float, int, str, int]] = []  # (until, seq, agent, call number)
        self._wrap_seq = 0
        self._call_seq = 0
        self._queue_acc: dict[int, dict[str, _CallAcc]] = {}
        self._agent_acc: dict[int, dict[str, _AgentAcc]] = {}
        self._answered: OrderedDict[str, _Answered] = OrderedDict()
        self._ignored = 0
        self._unhandled: set[str] = set()

    def _known_queue(self, name: str, what: str) -> None:
        if name not in self._wrap:
            raise ConfigError(f"{what}: no queue named {name!r}")

    def _check_order(self, when: float, what: str) -> None:
        if when < self._now:
            raise TimeWentBackwards(
                f"{what} at {when!r} is before the metrics clock {self._now!r}; observe the "
                "actions of advance() before the event, and the event before its actions"
            )

    # ------------------------------------------------------------ internals

    def _index(self, t: float) -> int:
        return math.floor((t + self._tz) / self._interval)

    def _bucket_start(self, bucket: int) -> float:
        return bucket * self._interval - self._tz

    def _qacc(self, bucket: int, queue: str) -> _CallAcc:
        per = self._queue_acc.get(bucket)
        if per is None:
            per = self._queue_acc[bucket] = {}
        acc = per.get(queue)
        if acc is None:
            acc = per[queue] = _CallAcc()
        return acc

    def _aacc(self, bucket: int, agent_id: str) -> _AgentAcc:
        return _acc_in(self._agent_acc, bucket, agent_id)

    def _spread(
        self,
        into: dict[int, dict[str, _AgentAcc]],
        agent_id: str,
        field: str,
        t0: float,
        t1: float,
    ) -> None:
        """Add the time [t0, t1) to ``field``, split at interval boundaries."""
        if not t0 < t1:
            return
        bucket = self._index(t0)
        if t1 <= self._bucket_start(bucket + 1):  # the common case: one interval
            acc = _acc_in(into, bucket, agent_id)
            setattr(acc, field, getattr(acc, field) + (t1 - t0))
            return
        while t0 < t1:
            t = min(t1, self._bucket_start(bucket + 1))
            if t > t0:
                acc = _acc_in(into, bucket, agent_id)
                setattr(acc, field, getattr(acc, field) + (t - t0))
                t0 = t
            bucket += 1

    def _close(self, agent: _Agent, t: float) -> None:
        """Account the agent's current state up to ``t``."""
        if agent.category is not None and t > agent.since:
            self._spread(self._agent_acc, agent.agent_id, agent.category, agent.since, t)
        agent.since = t

    def _recategorise(self, agent: _Agent) -> None:
        agent.category = _category(agent)

    def _settle(self, t: float) -> None:
        """End the wrap-ups due at or before ``t``, in order."""
        wraps = self._wraps
        while wraps and wraps[0][0] <= t:
            until, _, aid, seq = heapq.heappop(wraps)
            agent = self._agents.get(aid)
            if agent is None:
                continue
            session = agent.sessions.get(seq)
            if session is None or session.state != "wrap" or session.until != until:
                continue  # cut short by a logout
            self._close(agent, until)
            del agent.sessions[seq]
            self._handled(session, aid, until - session.ended)
            self._recategorise(agent)

    def _handled(self, session: _Session, agent_id: str | None, wrap: float) -> None:
        accs = [self._qacc(session.bucket, session.queue)]
        if agent_id is not None:
            accs.append(self._aacc(session.bucket, agent_id).calls)
        for acc in accs:
            acc.handled += 1
            acc.talk += session.talk
            acc.wrap += wrap

    def _agent(self, agent_id: str) -> _Agent | None:
        agent = self._agents.get(agent_id)
        if agent is None:
            self._ignored += 1
        return agent

    def _call(self, call_id: str) -> _Call | None:
        call = self._calls.get(call_id)
        if call is None:
            self._ignored += 1
        return call


# ------------------------------------------------------------------- helpers


def _number(value: object, what: str, *, positive: bool = False, signed: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ConfigError(f"{what} must be > 0, got {value!r}")
    if not signed and value < 0:
        raise ConfigError(f"{what} must be >= 0, got {value!r}")


def _fraction(value: object, what: str) -> None:
    _number(value, what)
    assert isinstance(value, (int, float))
    if value > 1:
        raise ConfigError(f"{what} is a fraction in [0, 1] (0.8 for 80%), got {value!r}")
