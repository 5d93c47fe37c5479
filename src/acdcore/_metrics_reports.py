"""The reports of a :class:`~acdcore.metrics.Metrics` (internal).

:class:`_MetricsReports` builds the results of
:mod:`acdcore._metrics_stats` from the accumulators: :meth:`summary` (any
union of intervals), :meth:`intervals`, :meth:`days`, :meth:`queue_stats`,
:meth:`agent_stats`, :meth:`breaches` and the :meth:`realtime` view. Agent
time counts up to the clock: the time of each agent's current state is laid
over the accumulators (``_overlay``) without changing them, so a report
changes nothing.

Cost: O(data kept): O(buckets x (queues + agents)) plus sorting the waits
for percentiles; :meth:`realtime` is O(live calls + agents).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import Any, TypeVar

from ._metrics_core import _MetricsCore
from ._metrics_records import _AgentAcc, _CallAcc, _state_at
from ._metrics_stats import (
    AgentStats,
    Breach,
    IntervalStats,
    QueueNow,
    QueueStats,
    RealtimeView,
    SLVariant,
    _mean,
    _nearest_rank,
    _ratio,
    _variant,
)
from ._state import AgentState
from .errors import UnknownAgent, UnknownQueue
from .skills import check_instant


class _MetricsReports(_MetricsCore):
    """The reports of :class:`~acdcore.metrics.Metrics`."""

    # -------------------------------------------------------------- reports

    def _label(self, start: float) -> str:
        local = start + self._tz
        if self._epoch is not None:
            epoch = self._epoch
            if epoch.tzinfo is not None:  # an aware epoch: convert to naive UTC first
                epoch = epoch.astimezone(UTC).replace(tzinfo=None)
            moment = epoch + timedelta(seconds=local)
            return moment.strftime("%Y-%m-%d %H:%M")
        day, minutes = divmod(round(local / 60), 1440)
        return f"day {day} {minutes // 60:02d}:{minutes % 60:02d}"

    def _overlay(self) -> dict[int, dict[str, _AgentAcc]]:
        """The time of every agent's current state, from its start to now."""
        out: dict[int, dict[str, _AgentAcc]] = {}
        for agent in self._agents.values():
            if agent.category is not None and self._now > agent.since:
                self._spread(out, agent.agent_id, agent.category, agent.since, self._now)
        return out

    def _buckets(self, overlay: dict[int, dict[str, _AgentAcc]]) -> list[int]:
        keys = set(self._queue_acc) | set(self._agent_acc) | set(overlay)
        if not keys:
            return []
        return list(range(min(keys), max(keys) + 1))

    def _build(
        self,
        buckets: Iterable[int],
        start: float,
        end: float,
        overlay: dict[int, dict[str, _AgentAcc]],
    ) -> IntervalStats:
        queues: dict[str, _CallAcc] = {}
        agents: dict[str, _AgentAcc] = {}
        lent_q: set[str] = set()  # read in place so far (see _add)
        lent_a: set[str] = set()
        for b in buckets:
            for name, acc in self._queue_acc.get(b, {}).items():
                _add(queues, lent_q, name, acc, _CallAcc)
            for source in (self._agent_acc, overlay):
                for aid, aacc in source.get(b, {}).items():
                    _add(agents, lent_a, aid, aacc, _AgentAcc)
        total = _CallAcc()
        for acc in queues.values():
            total.merge(acc)
        names = list(self._wrap)
        thresholds = {self._threshold[n] for n in names}
        targets = {self._target[n] for n in names}
        overall = self._queue_stats(
            None,
            total,
            thresholds.pop() if len(thresholds) == 1 else None,
            targets.pop() if len(targets) == 1 else None,
        )
        order = {aid: i for i, aid in enumerate(self._agents)}
        return IntervalStats(
            start=start,
            end=end,
            label=self._label(start),
            overall=overall,
            queues={
                n: self._queue_stats(
                    n, queues.get(n, _CallAcc()), self._threshold[n], self._target[n]
                )
                for n in names
            },
            agents={
                aid: _agent_stats(aid, agents[aid])
                for aid in sorted(agents, key=lambda x: order.get(x, len(order)))
            },
        )

    def _queue_stats(
        self, name: str | None, acc: _CallAcc, threshold: float | None, target: float | None
    ) -> QueueStats:
        resolved = (
            acc.answered
            + acc.abandoned
            + acc.rejected
            + acc.overflowed
            + acc.self_service
            + acc.callback_failed
            + acc.callback_cancelled
        )
        waits = sorted([*acc.answered_waits, *acc.abandoned_waits])
        sls = {
            "a": _ratio(acc.answered_within, acc.answered),
            "b": _ratio(acc.answered_within, acc.answered + acc.abandoned),
            "c": _ratio(acc.answered_within + acc.abandoned_within, resolved),
            "d": _ratio(acc.answered_within, acc.answered + acc.abandoned - acc.short_abandoned),
        }
        level = sls[self._variant.value]
        # With mixed targets (all queues together) there is no one target to miss.
        below = level is not None and target is not None and level < target
        return QueueStats(
            queue=name,
            offered=acc.offered,
            answered=acc.answered,
            abandoned=acc.abandoned,
            short_abandoned=acc.short_abandoned,
            rejected=acc.rejected,
            overflowed=acc.overflowed,
            self_service=acc.self_service,
            callback_failed=acc.callback_failed,
            callback_cancelled=acc.callback_cancelled,
            in_queue=acc.offered - resolved,
            resolved=resolved,
            answered_within=acc.answered_within,
            abandoned_within=acc.abandoned_within,
            threshold=threshold,
            target=target,
            answer_rate=_ratio(acc.answered, resolved),
            abandon_rate=_ratio(acc.abandoned, resolved),
            reject_rate=_ratio(acc.rejected, resolved),
            moved=acc.moved,
            sl_a=sls["a"],
            sl_b=sls["b"],
            sl_c=sls["c"],
            sl_d=sls["d"],
            sl_variant=self._variant.value,
            service_level=level,
            below_target=below,
            asa=_mean(sum(acc.answered_waits), acc.answered),
            avg_wait=_mean(sum(waits), len(waits)),
            longest_wait=waits[-1] if waits else None,
            wait_p50=_nearest_rank(waits, 50),
            wait_p90=_nearest_rank(waits, 90),
            wait_p99=_nearest_rank(waits, 99),
            **_handling_fields(acc),
        )

    # -------------------------------------------------------- public reports

    def summary(self, start: float | None = None, end: float | None = None) -> IntervalStats:
        """KPIs over the whole run, or over the intervals whose start lies in
        ``[start, end)`` (weeks, months, a shift: any union of intervals).
        Agent time counts up to :attr:`now`."""
        for value, what in ((start, "start"), (end, "end")):
            if value is not None:
                check_instant(value, what)
        overlay = self._overlay()
        buckets = [
            b
            for b in self._buckets(overlay)
            if (start is None or self._bucket_start(b) >= start)
            and (end is None or self._bucket_start(b) < end)
        ]
        lo = self._bucket_start(buckets[0]) if buckets else self._now
        hi = self._bucket_start(buckets[-1] + 1) if buckets else self._now
        return self._build(
            buckets,
            lo if start is None else float(start),
            hi if end is None else float(end),
            overlay,
        )

    def intervals(self) -> list[IntervalStats]:
        """One :class:`IntervalStats` per interval, from the first with any
        data to the last, empty ones included."""
        overlay = self._overlay()
        return [
            self._build([b], self._bucket_start(b), self._bucket_start(b + 1), overlay)
            for b in self._buckets(overlay)
        ]

    def days(self) -> list[IntervalStats]:
        """Daily rollups (local days, by ``tz_offset``), from the first day with
        data to the last. Group days for weeks or months, or use
        :meth:`summary` with a range."""
        overlay = self._overlay()
        buckets = self._buckets(overlay)
        if not buckets:
            return []
        per = self._per_day
        out = []
        for day in range(buckets[0] // per, buckets[-1] // per + 1):
            first = day * per
            out.append(
                self._build(
                    range(first, first + per),
                    self._bucket_start(first),
                    self._bucket_start(first + per),
                    overlay,
                )
            )
        return out

    def queue_stats(
        self, queue: str | None = None, *, start: float | None = None, end: float | None = None
    ) -> QueueStats:
        """One queue's KPIs (all queues for ``None``) over the run or a range
        (as :meth:`summary`). Raises :class:`~acdcore.errors.UnknownQueue`."""
        stats = self.summary(start, end)
        if queue is None:
            return stats.overall
        if queue not in stats.queues:
            raise UnknownQueue(f"no queue named {queue!r}")
        return stats.queues[queue]

    def agent_stats(
        self, agent_id: str, *, start: float | None = None, end: float | None = None
    ) -> AgentStats:
        """One agent's KPIs over the run or a range (as :meth:`summary`).
        Raises :class:`~acdcore.errors.UnknownAgent` for an agent never seen."""
        if agent_id not in self._agents:
            raise UnknownAgent(f"no agent {agent_id!r} was observed")
        found = self.summary(start, end).agents.get(agent_id)
        return found if found is not None else _agent_stats(agent_id, _AgentAcc())

    def breaches(
        self, *, variant: SLVariant | str | None = None, whole_run: bool = False
    ) -> list[Breach]:
        """The (interval, queue) pairs whose service level (by ``variant``,
        default the configured one) is below the queue's target, in time then
        queue order; with ``whole_run``, the queues below target over the run.
        A period with no call to judge is not a breach."""
        chosen = self._variant if variant is None else _variant(variant)
        periods = [self.summary()] if whole_run else self.intervals()
        out = []
        for period in periods:
            for name, qs in period.queues.items():
                level = qs.sl(chosen)
                target = self._target[name]
                if level is not None and level < target:
                    out.append(
                        Breach(
                            queue=name,
                            start=period.start,
                            end=period.end,
                            label=period.label,
                            variant=chosen.value,
                            service_level=level,
                            target=target,
                        )
                    )
        return out

    def realtime(self, now: float | None = None) -> RealtimeView:
        """The centre at ``now`` (default :attr:`now`; not earlier): calls
        waiting and ringing per queue, the longest current wait, and agents by
        state. It changes nothing. Cost: O(live calls + agents)."""
        if now is None:
            now = self._now
        check_instant(now, "now")
        self._check_order(now, "realtime")
        per: dict[str, dict[str, int]] = {
            q: {"waiting": 0, "ringing": 0, "connected": 0} for q in self._wrap
        }
        oldest: dict[str, float] = {}
        for call in self._calls.values():
            counts = per.setdefault(call.current, {"waiting": 0, "ringing": 0, "connected": 0})
            counts[call.state] += 1
            if call.state != "connected":
                oldest[call.current] = min(oldest.get(call.current, math.inf), call.arrived)
        queues = {
            q: QueueNow(
                queue=q,
                waiting=c["waiting"],
                ringing=c["ringing"],
                connected=c["connected"],
                longest_waiting=now - oldest[q] if q in oldest else None,
            )
            for q, c in per.items()
        }
        states = {aid: _state_at(agent, now).value for aid, agent in self._agents.items()}
        counts_by_state = {s.value: 0 for s in AgentState}
        for value in states.values():
            counts_by_state[value] += 1
        return RealtimeView(now=now, queues=queues, agents=counts_by_state, agent_states=states)


# ------------------------------------------------------------------- helpers

_Acc = TypeVar("_Acc", _CallAcc, _AgentAcc)


def _add(into: dict[str, _Acc], lent: set[str], key: str, acc: _Acc, empty: type[_Acc]) -> None:
    """Add ``acc`` to ``into[key]`` for a report. The first one met is read
    in place (``lent``: the report only reads it); met again, it is first
    copied, merged into an empty one (which gives the same numbers), so a
    stored accumulator is never changed. An interval's report mostly
    reads; a period's merges. O(1), plus O(fields + waits) per merge."""
    mine = into.get(key)
    if mine is None:
        into[key] = acc
        lent.add(key)
        return
    if key in lent:
        lent.discard(key)
        copy = into[key] = empty()
        copy.merge(mine)
        mine = copy
    mine.merge(acc)


def _handling_fields(acc: _CallAcc) -> dict[str, Any]:
    """The handling and survey figures that queue and agent stats share."""
    return {
        "handled": acc.handled,
        "aht": _mean(acc.talk + acc.hold + acc.wrap, acc.handled),
        "avg_talk": _mean(acc.talk, acc.handled),
        "avg_wrap": _mean(acc.wrap, acc.handled),
        "avg_hold": _mean(acc.hold, acc.handled),
        "talk_time": acc.talk,
        "wrap_time": acc.wrap,
        "hold_time": acc.hold,
        "offers": acc.offers,
        "rona": acc.rona,
        "declined": acc.declined,
        "transfers": acc.transfers,
        "callbacks": acc.callbacks,
        "surveys": acc.surveys,
        "csat": _mean(acc.score_sum, acc.surveys),
        "csat_top2": _mean(acc.top2, acc.surveys),
    }


def _agent_stats(agent_id: str, acc: _AgentAcc) -> AgentStats:
    handling = acc.time_busy + acc.time_wrap_up
    logged_in = handling + acc.time_ringing + acc.time_paused + acc.time_available
    c = acc.calls
    return AgentStats(
        agent_id=agent_id,
        time_logged_in=logged_in,
        time_available=acc.time_available,
        time_ringing=acc.time_ringing,
        time_busy=acc.time_busy,
        time_wrap_up=acc.time_wrap_up,
        time_paused=acc.time_paused,
        occupancy=_ratio(handling, logged_in - acc.time_paused),
        utilisation=_ratio(handling, logged_in),
        answered=c.answered,
        auto_pauses=acc.auto_pauses,
        **_handling_fields(c),
    )
