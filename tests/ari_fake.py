"""An in-process fake ARI server that replays a recording of a real Asterisk.

A recording (``tests/data/ari/<case>.jsonl``, written by ``tests/ari_live.py``)
is the adapter's side of the traffic, in order: a ``header``, then
``connect``/``disconnect`` of the events socket, ``req``/``resp`` pairs,
``event`` (received on the socket), ``acd`` (the live script's own acdcore
events, such as an agent logging in) and finally the ``outcome``.

:class:`FakeAri` walks the recording with a cursor:

- a ``req`` entry waits until the adapter has sent that request (same
  method, path, query and body; concurrent requests may come in another
  order). The response the fake gives is the recorded one, sent once the
  cursor has passed everything recorded before that response, so a reply
  never overtakes the events Asterisk sent before it;
- an ``event`` is sent on the socket once every request recorded before it
  has arrived (events caused by a request are released by that request, so
  the order is causal) and no earlier than its recorded gap after the
  previous entry (events that came from the outside world, a caller hanging
  up after five seconds, keep their timing);
- ``disconnect`` closes the socket, ``connect`` waits for the adapter to
  open a new one, ``acd`` calls ``on_acd`` (the test submits the event).

A request that matches nothing recorded is answered 500 and listed in
:attr:`FakeAri.unexpected`; what the adapter never sent is in
:meth:`FakeAri.missing`. The server is Starlette on uvicorn, on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

__all__ = ["FakeAri", "load"]


def load(path: Path) -> list[dict[str, Any]]:
    """The entries of a recording."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class FakeAri:
    """Replays ``entries`` (a whole recording) to one adapter; see the module docstring."""

    def __init__(
        self,
        entries: list[dict[str, Any]],
        *,
        user: str = "acd",
        password: str = "acdsecret",
        on_acd: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        response_wait: float = 5.0,
        request_wait: float = 15.0,
    ) -> None:
        self.header = next(e for e in entries if e["kind"] == "header")
        self.outcome = next(e for e in entries if e["kind"] == "outcome")
        self.entries = [e for e in entries if e["kind"] not in ("header", "outcome")]
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._key = f"{user}:{password}"
        self.on_acd = on_acd
        self.response_wait = response_wait
        self.request_wait = request_wait
        self.cursor = 0
        """Entries replayed so far."""
        self.unexpected: list[str] = []
        """Requests that matched nothing recorded."""
        self.problems: list[str] = []
        """Anything else that went wrong (bad credentials, stalls)."""
        self.sent: list[str] = []
        """The requests the adapter sent, in order, as ``METHOD path``."""
        self._resp_at = {  # request id -> (index of its response entry, the entry)
            e["id"]: (i, e) for i, e in enumerate(self.entries) if e["kind"] in ("resp", "error")
        }
        self._matched: dict[int, float] = {}
        self._sockets: asyncio.Queue[WebSocket] = asyncio.Queue()
        self._ws: WebSocket | None = None
        self._closed: asyncio.Event | None = None
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._cursor_task: asyncio.Task[None] | None = None
        self.url = ""

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Serve on a free loopback port; returns the base URL (no ``/ari``)."""
        app = Starlette(
            routes=[
                WebSocketRoute("/ari/events", self._events),
                Route("/ari/{path:path}", self._rest, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._serve_task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._serve_task.done() or time.monotonic() > deadline:
                raise RuntimeError("the fake ARI server did not start")
            await asyncio.sleep(0.005)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def begin(self) -> None:
        """Start replaying (after :meth:`start`, once ``on_acd`` can be served)."""
        self._cursor_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop replaying and serving."""
        if self._cursor_task is not None:
            self._cursor_task.cancel()
            await asyncio.gather(self._cursor_task, return_exceptions=True)
        if self._server is not None:
            self._server.should_exit = True
            if self._serve_task is not None:
                await asyncio.wait_for(self._serve_task, 10)

    async def finished(self, timeout: float) -> None:
        """Wait until every entry has been replayed (or raise TimeoutError)."""
        assert self._cursor_task is not None
        await asyncio.wait_for(asyncio.shield(self._cursor_task), timeout)

    def missing(self) -> list[str]:
        """Recorded requests the adapter has not sent."""
        return [
            f"{e['method']} {e['path']} {e['params']}"
            for e in self.entries
            if e["kind"] == "req" and e["id"] not in self._matched
        ]

    # ------------------------------------------------------------ the cursor

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_for(self, cond: Callable[[], bool], timeout: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(cond), timeout)
            except TimeoutError:
                return False
        return True

    async def _run(self) -> None:
        last_real = time.monotonic()
        last_t = self.entries[0]["t"] if self.entries else 0.0
        for i, e in enumerate(self.entries):
            kind = e["kind"]
            if kind == "req":
                rid = e["id"]
                if not await self._wait_for(
                    lambda rid=rid: rid in self._matched, self.request_wait
                ):
                    self.problems.append(f"the adapter never sent {e['method']} {e['path']}")
                    raise RuntimeError(self.problems[-1])
                last_real = max(last_real, self._matched[rid])
            elif kind in ("resp", "error"):
                pass  # answered by _rest once the cursor is here
            elif kind == "connect":
                self._ws = await asyncio.wait_for(self._sockets.get(), 30)
                last_real = time.monotonic()
            else:
                gap = (e["t"] - last_t) - (time.monotonic() - last_real)
                if gap > 0:
                    await asyncio.sleep(gap)
                if kind == "event":
                    if self._ws is None:
                        raise RuntimeError("an event to send with no socket open")
                    await self._ws.send_text(json.dumps(e["event"]))
                elif kind == "disconnect":
                    if self._ws is not None:
                        await self._ws.close(code=1001)
                        self._ws = None
                elif kind == "acd" and self.on_acd is not None:
                    await self.on_acd(e)
                last_real = time.monotonic()
            last_t = e["t"]
            self.cursor = i + 1
            await self._notify()

    # ------------------------------------------------------------ HTTP and the socket

    async def _events(self, ws: WebSocket) -> None:
        if ws.query_params.get("api_key") != self._key:
            self.problems.append("events socket opened with wrong credentials")
            await ws.close(code=1008)
            return
        await ws.accept()
        await self._sockets.put(ws)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
        except (WebSocketDisconnect, RuntimeError):
            return

    def _match(
        self, method: str, path: str, params: dict[str, str], body: Any
    ) -> dict[str, Any] | None:
        for e in self.entries:
            if (
                e["kind"] == "req"
                and e["id"] not in self._matched
                and e["method"] == method
                and e["path"] == path
                and e["params"] == params
                and e.get("body") == body
            ):
                return e
        return None

    async def _rest(self, request: Request) -> Response:
        if request.headers.get("authorization") != self._auth:
            self.problems.append(
                f"{request.method} {request.url.path} without the right credentials"
            )
            return JSONResponse({"message": "Authentication required"}, status_code=401)
        path = "/" + request.path_params["path"]
        params = dict(request.query_params)
        raw = await request.body()
        body = json.loads(raw) if raw else None
        self.sent.append(f"{request.method} {path}")
        entry = self._match(request.method, path, params, body)
        if entry is None:
            self.unexpected.append(f"{request.method} {path} {params} {body}")
            return JSONResponse({"message": "fake ARI: not in the recording"}, status_code=500)
        rid = entry["id"]
        self._matched[rid] = time.monotonic()
        await self._notify()
        at, resp = self._resp_at.get(rid, (None, None))
        if at is None or resp is None:
            self.problems.append(f"no recorded response to {request.method} {path}")
            return JSONResponse({"message": "fake ARI: no response recorded"}, status_code=500)
        if not await self._wait_for(lambda: self.cursor >= at, self.response_wait):
            self.problems.append(
                f"response to {request.method} {path} held past {self.response_wait}s"
            )
        if resp["kind"] == "error":  # the connection failed in the recording
            return JSONResponse({"message": resp["error"]}, status_code=503)
        if resp["body"] is None:
            return Response(status_code=resp["status"])
        return JSONResponse(resp["body"], status_code=resp["status"])
