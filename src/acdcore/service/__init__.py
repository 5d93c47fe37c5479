"""acdcore as a network service: one runtime behind HTTP and a WebSocket.

An ASGI application (Starlette, served by uvicorn, mountable in another
Starlette or FastAPI app) that exposes one :class:`~acdcore.runtime.Runtime`
over a data directory (journal and snapshots, recovered at every start):

- ``POST /events``: submit any event; queries of calls, agents, queues,
  counts, live KPIs and estimates (:mod:`.routes`);
- ``/stream``: a WebSocket of journal entries, filtered per agent (a
  desktop) or per queue (a wallboard), resumable by entry number
  (:mod:`.stream`, :mod:`.websocket`);
- ``/metrics`` for Prometheus (:mod:`.prometheus`), ``/health`` for a load
  balancer, ``/openapi.json`` (:mod:`.openapi`), ``/wallboard``
  (:mod:`.wallboard`);
- tokens with roles (:mod:`.auth`), request size and rate limits
  (:mod:`.limits`), refusals as ``{"error", "message"}`` (:mod:`.errors`),
  structured logs (:mod:`.logs`).

Needs the ``service`` extra (starlette, uvicorn, prometheus-client).
``acdcore serve --config FILE`` runs it (:mod:`.server`).
"""

from __future__ import annotations

from .app import create_app
from .config import Grant, Limits, ServiceConfig

__all__ = ["Grant", "Limits", "ServiceConfig", "create_app"]
