"""The HTTP routes: commands (``POST /events``) and queries, declared once.

Each route is an :class:`Endpoint`: method, path, handler, and what the
OpenAPI document says of it (who may call it, its parameters, its success
and error statuses). :func:`acdcore.service.create_app` builds the
Starlette routes from :data:`Api.endpoints` and :mod:`acdcore.service.openapi`
the document, so the two cannot disagree.

Every handler goes through :meth:`Api.guard`: the token (``401``), the rate
limit (``429``), then the handler; a :class:`~acdcore.service.errors.ServiceError`
or a typed :class:`~acdcore.errors.AcdError` becomes its JSON answer, and
the request is counted and logged (route, status, holder, milliseconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from ..codec import to_json
from ..errors import AcdError, InvalidValue
from ..skills import Channel
from .auth import Authenticator, Principal
from .decode import event_from_json
from .errors import ServiceError, error_response, json_response
from .limits import RateLimiter, read_json
from .live import LiveService
from .views import agent_json, agents_json, call_json, estimate_json, kpis_json, queue_json

__all__ = ["Api", "Endpoint", "Param"]

log = logging.getLogger("acdcore.service")

Handler = Callable[[Request], Awaitable[Response]]


@attrs.frozen
class Param:
    """A path or query parameter, for the OpenAPI document."""

    name: str
    where: str  # "path" or "query"
    kind: str  # "string", "integer", "boolean"
    description: str
    required: bool = False
    enum: tuple[str, ...] = ()


@attrs.frozen
class Endpoint:
    """One route: ``method`` and ``path``, its ``handler``, and its
    documentation: ``summary``, who may call it (``auth``), its parameters,
    whether it takes an event as body, its success status and its error
    statuses, and whether it is a WebSocket."""

    method: str
    path: str
    handler: Any
    summary: str
    auth: str
    ok: int = 200
    errors: tuple[int, ...] = (401, 403, 429)
    params: tuple[Param, ...] = ()
    body: bool = False
    websocket: bool = False
    public: bool = False
    content: str = "application/json"
    result: str = "object"


def _int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(f"{name} must be an integer, got {value!r}") from None


def _bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidValue(f"{name} must be true or false, got {value!r}")


class Api:
    """The HTTP handlers of one app, over one :class:`LiveService`."""

    def __init__(
        self,
        service: LiveService,
        auth: Authenticator,
        limiter: RateLimiter,
        registry: CollectorRegistry,
    ) -> None:
        self.service = service
        self.auth = auth
        self.limiter = limiter
        self.registry = registry

    # ------------------------------------------------------------ plumbing

    def principal(self, request: Request) -> Principal:
        """The caller, within its rate limit (``401``, ``429``). A request
        without a valid token is charged to its client address, so guessing
        tokens is rate-limited too (``429`` once past the burst)."""
        try:
            who = self.auth.header(request.headers.get("authorization"))
        except ServiceError:
            self.limiter.take(client_key(request.client))
            raise
        self.limiter.take(who.key)
        return who

    def guard(
        self,
        route: str,
        handler: Callable[[Request, Principal], Awaitable[Response]] | None = None,
        public: Handler | None = None,
    ) -> Handler:
        """The Starlette endpoint for ``handler``: authorisation, errors as
        JSON, counting and logging (see the module docstring). A ``public``
        handler needs no token."""

        async def endpoint(request: Request) -> Response:
            begun = time.perf_counter()
            who: Principal | None = None
            try:
                if public is not None:
                    response = await public(request)
                else:
                    assert handler is not None
                    who = self.principal(request)
                    response = await handler(request, who)
            except ServiceError as exc:
                response = error_response(exc)
            except AcdError as exc:
                response = error_response(ServiceError.of(exc))
            status = response.status_code
            self.service.requests[(route, status)] += 1
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": status,
                    "principal": who.label if who is not None else None,
                    "ms": round((time.perf_counter() - begun) * 1000, 3),
                },
            )
            return response

        endpoint.__name__ = f"{request_name(route)}"
        endpoint.__doc__ = (
            handler.__doc__ if handler is not None else getattr(public, "__doc__", None)
        )
        return endpoint

    # ------------------------------------------------------------ handlers

    async def health(self, request: Request) -> Response:
        """Whether the runtime is up and its writer answers (for a load
        balancer): 200 or 503, no token needed (rate-limited per client
        address, as requests without a token are). With a hot standby, also
        this node's role, the lease's holder and the epoch (``replication``);
        a standby answers 503 (``"status": "standby"``)."""
        self.limiter.take(client_key(request.client))
        service = self.service
        replication = service.replication()
        extra = {} if replication is None else {"replication": replication}
        try:
            await service.check()
            if replication is not None and replication.get("lease_valid") is False:
                raise ServiceError(503, "LeaseLost", "this primary's lease has lapsed")
        except ServiceError as exc:
            status = "standby" if exc.name == "Standby" else "unavailable"
            body = {"status": status, "error": exc.name, "message": exc.message, **extra}
            return json_response(body, 503)
        return json_response({"status": "ok", "next_seq": service.hub.next_seq, **extra})

    async def post_event(self, request: Request, who: Principal) -> Response:
        """Submit one event (its codec JSON form; defaults may be left out,
        ``now`` is the runtime's clock): its journal number and actions, or
        the typed refusal (nothing changed)."""
        service = self.service
        data = await read_json(request, service.config.limits.max_body)
        event = event_from_json(data)
        self.auth.check_event(who, event, service.distributor)
        result, seq = await service.submit(event, guard=self.auth.guard(who, event))
        kind = type(event).__name__
        if result.error is not None:
            log.info(
                "event refused",
                extra={
                    "event_type": kind,
                    "error": type(result.error).__name__,
                    "reason": str(result.error),
                    "principal": who.label,
                },
            )
            raise ServiceError.of(result.error)
        log.info(
            "event applied",
            extra={
                "event_type": kind,
                "seq": seq,
                "actions": [type(a).__name__ for a in result.actions],
                "principal": who.label,
            },
        )
        return json_response(
            {
                "accepted": True,
                "seq": seq,
                "event": to_json(result.event),
                "actions": [to_json(a) for a in result.actions],
            }
        )

    async def get_call(self, request: Request, who: Principal) -> Response:
        """A live call: state, queue and place in it, offers, agent."""
        view = self.service.distributor.call(request.path_params["call_id"])
        self.auth.check_call(who, view)
        return json_response(call_json(view))

    async def get_agents(self, request: Request, who: Principal) -> Response:
        """Every agent seen, with its state and pause reason."""
        self.auth.check_role(who, "supervisor", "monitor")
        s = self.service
        return json_response({"agents": agents_json(s.distributor, s.metrics, s.now())})

    async def get_agent(self, request: Request, who: Principal) -> Response:
        """One agent: state, pause reason, calls, counters."""
        agent_id = request.path_params["agent_id"]
        self.auth.check_agent(who, agent_id)
        return json_response(agent_json(self.service.distributor.agent(agent_id)))

    async def get_queues(self, request: Request, who: Principal) -> Response:
        """Every queue now (as ``GET /queues/{queue}``)."""
        s = self.service
        now = s.now()
        return json_response(
            {
                "queues": {
                    name: queue_json(s.distributor, s.metrics, name, now, s.config.tz_offset)
                    for name in s.distributor.queues
                }
            }
        )

    async def get_queue(self, request: Request, who: Principal) -> Response:
        """One queue now: waiting calls in order, longest wait, today's KPIs,
        the estimated wait of a new caller."""
        s = self.service
        name = request.path_params["queue"]
        return json_response(
            queue_json(s.distributor, s.metrics, name, s.now(), s.config.tz_offset)
        )

    async def get_estimate(self, request: Request, who: Principal) -> Response:
        """The wait a new caller would face in the queue now (for an IVR)."""
        q = request.query_params
        channel_name = q.get("channel", "voice")
        try:
            channel = Channel(channel_name)
        except ValueError:
            names = ", ".join(c.value for c in Channel)
            raise InvalidValue(f"channel must be one of {names}, got {channel_name!r}") from None
        estimate = self.service.distributor.estimate_new(
            request.path_params["queue"],
            priority=_int(q.get("priority"), "priority", 0),
            emergency=_bool(q.get("emergency"), "emergency"),
            channel=channel,
        )
        return json_response(estimate_json(estimate))

    async def get_counts(self, request: Request, who: Principal) -> Response:
        """How many calls arrived and where they are now."""
        return json_response(self.service.distributor.counts())

    async def get_kpis(self, request: Request, who: Principal) -> Response:
        """The live KPIs: per queue now and today; agents by state."""
        s = self.service
        return json_response(kpis_json(s.distributor, s.metrics, s.now(), s.config.tz_offset))

    async def get_metrics(self, request: Request, who: Principal) -> Response:
        """Prometheus text exposition: live KPIs per queue, the service's health."""
        self.auth.check_role(who, "supervisor", "monitor")
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def client_key(client: Any) -> str:
    """The rate limiter's key for a client with no valid token: its address."""
    return "addr:" + (client.host if client is not None and client.host else "unknown")


def request_name(route: str) -> str:
    """A Python name for a route (Starlette names its routes after their endpoint)."""
    cleaned = "".join(c if c.isalnum() else "_" for c in route).strip("_")
    return cleaned or "root"


_QUEUE = Param("queue", "path", "string", "the queue's name", required=True)


def endpoints(api: Api, stream: Any, openapi: Handler, wallboard: Handler) -> list[Endpoint]:
    """Every route of the app, with its documentation. ``stream`` is the
    WebSocket endpoint; ``openapi`` and ``wallboard`` are guarded already."""

    def http(
        method: str,
        path: str,
        handler: Callable[[Request, Principal], Awaitable[Response]],
        auth: str,
        **more: Any,
    ) -> Endpoint:
        doc = handler.__doc__ or ""
        return Endpoint(method, path, api.guard(path, handler), doc, auth, **more)

    any_token = "any token"
    return [
        Endpoint(
            "GET", "/health", api.guard("/health", public=api.health), api.health.__doc__ or "",
            "none", errors=(503,), public=True,
        ),
        http(
            "POST", "/events", api.post_event, "supervisor; agent (for itself only)", body=True,
            errors=(400, 401, 403, 404, 409, 413, 422, 429, 503), result="EventResult",
        ),
        http(
            "GET", "/calls/{call_id}", api.get_call,
            "any token; agent: the calls offered or connected to it",
            errors=(401, 403, 404, 429),
            params=(Param("call_id", "path", "string", "the call's id", required=True),),
        ),
        http("GET", "/agents", api.get_agents, "supervisor, monitor"),
        http(
            "GET", "/agents/{agent_id}", api.get_agent, "any token; agent: itself only",
            errors=(401, 403, 404, 429),
            params=(Param("agent_id", "path", "string", "the agent's id", required=True),),
        ),
        http("GET", "/queues", api.get_queues, any_token, errors=(401, 429)),
        http(
            "GET", "/queues/{queue}", api.get_queue, any_token, errors=(401, 404, 429),
            params=(_QUEUE,),
        ),
        http(
            "GET", "/queues/{queue}/estimate", api.get_estimate, any_token,
            errors=(401, 404, 422, 429),
            params=(
                _QUEUE,
                Param("priority", "query", "integer", "the caller's priority class (default 0)"),
                Param("emergency", "query", "boolean", "an emergency call (default false)"),
                Param(
                    "channel", "query", "string", "the channel (default voice)",
                    enum=tuple(c.value for c in Channel),
                ),
            ),
        ),
        http("GET", "/counts", api.get_counts, any_token, errors=(401, 429)),
        http("GET", "/kpis", api.get_kpis, any_token, errors=(401, 429)),
        http("GET", "/metrics", api.get_metrics, "supervisor, monitor", content="text/plain"),
        Endpoint("GET", "/openapi.json", openapi, "This document.", any_token, errors=(401, 429)),
        Endpoint(
            "GET", "/stream", stream,
            "WebSocket: journal entries as they happen, filtered by agent or queue, "
            "resumable from a journal number (see the description).",
            "any token; agent: its own desktop only (agent=<its id>)", ok=101, websocket=True,
            params=(
                Param("agent", "query", "string", "only what concerns this agent (a desktop)"),
                Param("queue", "query", "string", "only what concerns this queue (a wallboard)"),
                Param(
                    "since", "query", "integer",
                    "resume: first send the entries from this journal number on",
                ),
            ),
        ),
        Endpoint(
            "GET", "/wallboard", wallboard,
            "The wallboard page (HTML; it asks for a token and reads kpis, agents and stream).",
            "none (the page holds no data)", errors=(), public=True, content="text/html",
        ),
    ]  # fmt: skip
