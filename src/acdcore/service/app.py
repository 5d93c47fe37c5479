"""``create_app``: the ASGI application (Starlette) that serves one runtime.

::

    from acdcore.service import ServiceConfig, create_app

    app = create_app(ServiceConfig.load("acd.toml"))   # uvicorn module:app

Starting the app (its lifespan) recovers the data directory and starts the
runtime; stopping it stops the runtime after the events already submitted,
ends the streams and closes the journal. The routes are those of
:mod:`acdcore.service.routes` and ``/stream``; ``GET /openapi.json``
describes them all.

To serve it inside an existing Starlette or FastAPI app, mount it and run
its lifespan from the parent's (Starlette does not start a mounted app)::

    acd = create_app(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with acd.router.lifespan_context(acd):
            yield

    parent = Starlette(routes=[Mount("/acd", app=acd)], lifespan=lifespan)

Unknown routes and methods answer ``{"error": "NotFound" | "MethodNotAllowed",
"message": ...}``; an unexpected exception is logged with its traceback and
answers ``500 {"error": "InternalError", ...}``, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from .. import __version__
from .auth import Authenticator, Principal
from .config import ServiceConfig
from .errors import json_response
from .limits import RateLimiter
from .live import LiveService
from .openapi import document
from .prometheus import registry_for
from .routes import Api, endpoints
from .wallboard import wallboard_page
from .websocket import StreamEndpoint

__all__ = ["create_app"]

log = logging.getLogger("acdcore.service")

_NAMES = {404: "NotFound", 405: "MethodNotAllowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    name = _NAMES.get(exc.status_code, "HTTPError")
    message = (
        f"no route {request.method} {request.url.path} (see /openapi.json)"
        if exc.status_code in _NAMES
        else str(exc.detail)
    )
    return json_response({"error": name, "message": message}, exc.status_code, exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error(
        "internal error",
        exc_info=exc,
        extra={"method": request.method, "path": request.url.path},
    )
    return json_response(
        {"error": "InternalError", "message": "an internal error occurred; it has been logged"},
        500,
    )


def create_app(
    config: ServiceConfig | Mapping[str, Any],
    *,
    clock: Callable[[], float] | None = None,
    standby: bool = False,
) -> Starlette:
    """The ASGI app serving one runtime over ``config`` (a
    :class:`ServiceConfig`, or its plain-data form as in TOML). ``clock``:
    the runtime's clock (Unix seconds by default; tests inject one).
    ``app.state.service`` is the :class:`~acdcore.service.live.LiveService`.
    ``standby``: with replication configured, start as a standby."""
    if not isinstance(config, ServiceConfig):
        config = ServiceConfig.from_dict(config)
    service = LiveService(config, clock=clock, standby=standby)
    api = Api(
        service,
        Authenticator(config.tokens),
        RateLimiter(config.limits.rate, config.limits.burst),
        registry_for(service),
    )
    doc: dict[str, Any] = {}

    async def openapi(request: Request, who: Principal) -> Response:
        """This document."""
        return json_response(doc)

    table = endpoints(
        api,
        StreamEndpoint(api).endpoint,
        api.guard("/openapi.json", openapi),
        api.guard("/wallboard", public=wallboard_page),
    )
    doc.update(document(table, version=__version__))
    routes: list[BaseRoute] = [
        WebSocketRoute(e.path, e.handler)
        if e.websocket
        else Route(e.path, e.handler, methods=[e.method])
        for e in table
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.service = service
    app.state.openapi = doc
    return app
