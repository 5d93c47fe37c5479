"""``/metrics``: the live KPIs per queue and the service's health, for Prometheus.

Each app has its own :class:`~prometheus_client.CollectorRegistry` (two
apps in one process do not mix their figures) holding one collector that
reads the live state when scraped. Families (``queue``, ``state``,
``error``, ``route`` and ``status`` are labels):

KPIs, now
    ``acdcore_queue_waiting_calls``, ``acdcore_queue_ringing_calls``,
    ``acdcore_queue_connected_calls``, ``acdcore_queue_longest_wait_seconds``
    (0 when nobody waits), ``acdcore_queue_estimated_wait_seconds`` (``+Inf``
    when nobody who could take a call is staffed), ``acdcore_agents{state}``,
    ``acdcore_calls{state}`` (the distributor's counts: arrived, waiting...,
    completed, abandoned...).
KPIs, today (the local day by ``tz_offset``; absent while undefined)
    ``acdcore_queue_offered_calls_today``, ``..._answered_calls_today``,
    ``..._abandoned_calls_today``, ``acdcore_queue_service_level_ratio``,
    ``acdcore_queue_service_level_target_ratio``,
    ``acdcore_queue_abandon_ratio``, ``acdcore_queue_asa_seconds``.
The service
    ``acdcore_service_up`` (1 while the runtime runs),
    ``acdcore_service_events_applied_total``,
    ``acdcore_service_events_refused_total{error}``,
    ``acdcore_service_pending_events`` (submitted, not yet applied),
    ``acdcore_service_journal_lag_entries`` (journaled since the last
    snapshot: what a restart replays), ``acdcore_service_journal_next_seq``,
    ``acdcore_service_stream_subscribers``,
    ``acdcore_service_http_requests_total{route,status}``,
    ``acdcore_service_uptime_seconds``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .live import LiveService
from .views import kpis_json

__all__ = ["ServiceCollector", "registry_for"]


def _gauge(name: str, text: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, labels=labels or [])


class ServiceCollector(Collector):
    """Reads one :class:`~acdcore.service.live.LiveService` at each scrape."""

    def __init__(self, service: LiveService) -> None:
        self.service = service

    def collect(self) -> Iterable[Metric]:
        """The families of the module docstring."""
        s = self.service
        running = s.runtime is not None and s.failure is None
        yield from self._kpis(s)
        up = _gauge("acdcore_service_up", "1 while the runtime runs and has not failed")
        up.add_metric([], 1.0 if running else 0.0)
        yield up
        applied = CounterMetricFamily(
            "acdcore_service_events_applied", "events accepted since the service started"
        )
        applied.add_metric([], float(s.applied))
        yield applied
        refused = CounterMetricFamily(
            "acdcore_service_events_refused",
            "events refused since the service started, by error",
            labels=["error"],
        )
        for error, n in sorted(s.refused.items()):
            refused.add_metric([error], float(n))
        yield refused
        pending = _gauge("acdcore_service_pending_events", "events submitted, not yet applied")
        pending.add_metric([], float(s.pending))
        yield pending
        lag = _gauge(
            "acdcore_service_journal_lag_entries",
            "journal entries since the last snapshot (what a restart replays)",
        )
        lag.add_metric([], float(s.journal_lag()))
        yield lag
        nxt = _gauge("acdcore_service_journal_next_seq", "the number the next journal entry gets")
        nxt.add_metric([], float(s.hub.next_seq))
        yield nxt
        subs = _gauge("acdcore_service_stream_subscribers", "WebSocket stream clients connected")
        subs.add_metric([], float(s.hub.subscribers))
        yield subs
        requests = CounterMetricFamily(
            "acdcore_service_http_requests",
            "requests by route and status (WebSocket refusals by close code)",
            labels=["route", "status"],
        )
        for (route, status), n in sorted(s.requests.items()):
            requests.add_metric([route, str(status)], float(n))
        yield requests
        uptime = _gauge("acdcore_service_uptime_seconds", "seconds since the service started")
        uptime.add_metric([], time.time() - s.started)
        yield uptime

    @staticmethod
    def _kpis(s: LiveService) -> Iterable[Metric]:
        if s.runtime is None:
            return
        data = kpis_json(s.distributor, s.metrics, s.now(), s.config.tz_offset)
        queues = data["queues"]
        specs = [
            ("acdcore_queue_waiting_calls", "calls waiting (hold music)", "waiting", 0.0),
            ("acdcore_queue_ringing_calls", "calls ringing an agent", "ringing", 0.0),
            ("acdcore_queue_connected_calls", "calls connected to an agent", "connected", 0.0),
            (
                "acdcore_queue_longest_wait_seconds",
                "the longest current wait (0 when nobody waits)",
                "longest_waiting",
                0.0,
            ),
            ("acdcore_queue_offered_calls_today", "calls offered today", "offered", None),
            ("acdcore_queue_answered_calls_today", "calls answered today", "answered", None),
            ("acdcore_queue_abandoned_calls_today", "calls abandoned today", "abandoned", None),
            (
                "acdcore_queue_service_level_ratio",
                "today's service level (the configured variant)",
                "service_level",
                None,
            ),
            (
                "acdcore_queue_service_level_target_ratio",
                "the queue's service-level target",
                "target",
                None,
            ),
            ("acdcore_queue_abandon_ratio", "today's abandon rate", "abandon_rate", None),
            ("acdcore_queue_asa_seconds", "today's average speed of answer", "asa", None),
        ]
        for name, text, key, missing in specs:
            family = _gauge(name, text, ["queue"])
            for queue, q in queues.items():
                value = q.get(key)
                if value is None:
                    value = missing
                if value is not None:
                    family.add_metric([queue], float(value))
            yield family
        est = _gauge(
            "acdcore_queue_estimated_wait_seconds",
            "the estimated wait of a new caller (+Inf: nobody who could take it is staffed)",
            ["queue"],
        )
        for queue, q in queues.items():
            seconds = q["estimated_wait"]["seconds"]
            est.add_metric([queue], math.inf if seconds is None else float(seconds))
        yield est
        agents = _gauge("acdcore_agents", "agents by state", ["state"])
        for state, n in data["agents"].items():
            agents.add_metric([state], float(n))
        yield agents
        calls = _gauge(
            "acdcore_calls", "calls by state or outcome (arrived: all of them)", ["state"]
        )
        for state, n in data["counts"].items():
            calls.add_metric([state], float(n))
        yield calls


def registry_for(service: LiveService) -> CollectorRegistry:
    """A registry of its own for ``service``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return registry
