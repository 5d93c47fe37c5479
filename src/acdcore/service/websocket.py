"""``/stream``: the WebSocket of journal entries (see :mod:`acdcore.service.stream`).

A client connects to ``/stream?agent=ID`` (an agent desktop),
``/stream?queue=NAME`` (a wallboard) or ``/stream`` (everything; not for an
agent token), optionally with ``since=N`` to resume. It authenticates with
``Authorization: Bearer <token>`` on the upgrade request or, from a browser,
with ``{"token": "..."}`` as its first message (within 10 seconds). The
server then sends, as JSON text messages:

1. ``{"hello": {"next_seq": M, "since": N, "filter": {...}}}``: entries
   from ``M`` on are live;
2. with ``since``, every entry from ``N`` to ``M - 1`` the filter lets
   through, from memory or read back from the journal;
3. every later entry as it is journaled, in order.

A client that drops reconnects with ``since`` = the last ``seq`` it got + 1
(or ``M`` if it got none) and misses nothing. A refusal or an end is a
message ``{"error": Name, "message": ...}`` followed by a close code:

=====  ==========================================================
4400   a bad parameter (``InvalidValue``)
4401   no token or a bad one (``Unauthorized``)
4403   the token may not see this stream (``Forbidden``)
4404   no such queue (``UnknownQueue``)
4408   the client fell too far behind (``TooSlow``): resume
4410   ``since`` is older than the journal kept (``Trimmed``)
4429   too many requests (``RateLimited``)
1001   the service is stopping (``GoingAway``): resume elsewhere or later
1013   the runtime is not running (``RuntimeFailed``, ``ServiceUnavailable``)
=====  ==========================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import AcdError
from .auth import Principal
from .errors import ServiceError, plain
from .routes import Api, client_key
from .stream import StreamFilter, Subscription, Trimmed

__all__ = ["StreamEndpoint"]

log = logging.getLogger("acdcore.service")

AUTH_TIMEOUT = 10.0
MAX_UNAUTHENTICATED = 64
"""Streams that may wait for their first message (the token) at once; more
are closed at once with 4429, so idle connections cannot pile up."""

_CODES = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 422: 4400, 429: 4429, 503: 1013}


class _Close(Exception):
    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


def _refusal(exc: ServiceError | AcdError) -> _Close:
    error = exc if isinstance(exc, ServiceError) else ServiceError.of(exc)
    return _Close(_CODES.get(error.status, 4400), error.name, error.message)


async def _send(ws: WebSocket, data: Any) -> None:
    await ws.send_text(json.dumps(plain(data), separators=(",", ":"), ensure_ascii=False))


class StreamEndpoint:
    """The ``/stream`` WebSocket endpoint of one app (see the module docstring)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._unauthenticated = 0  # connections waiting for their token

    async def _principal(self, ws: WebSocket) -> Principal:
        header = ws.headers.get("authorization")
        auth = self.api.auth
        if header:
            return auth.header(header)
        try:
            first = await asyncio.wait_for(ws.receive(), AUTH_TIMEOUT)
        except TimeoutError:
            raise ServiceError(
                401, "Unauthorized", f'send {{"token": "..."}} within {AUTH_TIMEOUT:g} seconds'
            ) from None
        text = first.get("text")  # a binary, or a disconnect, is no token
        try:
            message = json.loads(text) if isinstance(text, str) and len(text) <= 4096 else None
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("token"), str):
            raise ServiceError(
                401, "Unauthorized", 'the first message must be {"token": "..."} (or use a header)'
            )
        return auth.token(message["token"])

    def _filter(self, ws: WebSocket, who: Principal) -> tuple[StreamFilter, int | None]:
        q = ws.query_params
        for key in q:
            if key not in ("agent", "queue", "since"):
                raise ServiceError(
                    400, "InvalidValue", f"unknown parameter {key!r} (known: agent, queue, since)"
                )
        agent, queue = q.get("agent"), q.get("queue")
        if agent is not None and queue is not None:
            raise ServiceError(400, "InvalidValue", "filter by agent or by queue, not both")
        if who.role == "agent":
            if queue is not None or (agent is not None and agent != who.agent):
                raise ServiceError(
                    403,
                    "Forbidden",
                    f"the token of agent {who.agent!r} may only stream agent={who.agent}",
                )
            agent = who.agent
        if queue is not None and queue not in self.api.service.distributor.queues:
            raise ServiceError(404, "UnknownQueue", f"no queue named {queue!r}")
        since: int | None = None
        raw = q.get("since")
        if raw is not None:
            if not raw.isdigit():
                raise ServiceError(
                    400, "InvalidValue", f"since must be an entry number >= 0, got {raw!r}"
                )
            since = int(raw)
            nxt = self.api.service.hub.next_seq
            if since > nxt:
                raise ServiceError(
                    400,
                    "InvalidValue",
                    f"since={since} is after the journal's next entry {nxt} (another data "
                    "directory, or entries lost in a crash): subscribe without since",
                )
        return StreamFilter(agent=agent, queue=queue), since

    async def endpoint(self, ws: WebSocket) -> None:
        """Serve one stream client."""
        service = self.api.service
        await ws.accept()
        try:
            try:
                if self._unauthenticated >= MAX_UNAUTHENTICATED:
                    raise ServiceError(
                        429, "RateLimited", "too many streams waiting to authenticate: retry"
                    )
                self._unauthenticated += 1
                try:
                    who = await self._principal(ws)
                except ServiceError:
                    self.api.limiter.take(client_key(ws.client))
                    raise
                finally:
                    self._unauthenticated -= 1
                self.api.limiter.take(who.key)
                wanted, since = self._filter(ws, who)
                service.running()
            except (ServiceError, AcdError) as exc:
                raise _refusal(exc) from None
            except WebSocketDisconnect:
                return
            sub = service.hub.subscribe(wanted, since)
            service.requests[("/stream", 101)] += 1
            log.info(
                "stream opened",
                extra={"principal": who.label, "filter": wanted.describe(), "since": since},
            )
            try:
                await self._serve(ws, sub, since)
            finally:
                service.hub.unsubscribe(sub)
        except _Close as close:
            service.requests[("/stream", close.code)] += 1
            log.info("stream closed", extra={"code": close.code, "error": close.name})
            try:
                await _send(ws, {"error": close.name, "message": close.message})
                await ws.close(close.code)
            except (WebSocketDisconnect, RuntimeError):
                pass  # the client is gone already
        except WebSocketDisconnect:
            pass

    async def _serve(self, ws: WebSocket, sub: Subscription, since: int | None) -> None:
        await _send(
            ws, {"hello": {"next_seq": sub.start, "since": since, "filter": sub.filter.describe()}}
        )
        try:
            older = await self.api.service.hub.read_older(sub)
        except Trimmed as exc:
            raise _Close(4410, "Trimmed", str(exc)) from None
        for entry in older:
            await _send(ws, entry)
        for entry in sub.backlog:
            await _send(ws, entry)
        sub.backlog = []
        gone = asyncio.ensure_future(self._until_gone(ws))
        try:
            while True:
                batch = asyncio.ensure_future(sub.next_batch())
                done, _ = await asyncio.wait({batch, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone in done:
                    batch.cancel()
                    return
                for entry in batch.result():
                    await _send(ws, entry)
                if sub.overflowed:
                    raise _Close(
                        4408,
                        "TooSlow",
                        "the client fell too far behind; reconnect with since = the last seq + 1",
                    )
                if sub.closed:
                    raise _Close(1001, "GoingAway", "the service is stopping; resume later")
        finally:
            gone.cancel()

    @staticmethod
    async def _until_gone(ws: WebSocket) -> None:
        """Read (and ignore) what the client sends until it disconnects."""
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
