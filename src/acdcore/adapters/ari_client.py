"""A thin asyncio client for Asterisk's REST Interface (ARI).

REST requests go over httpx, the events over one WebSocket (the
``websockets`` package); both come with ``pip install acdcore[asterisk]``.
Only what the ARI adapter needs is here: one coroutine per request and the
URL of the events socket. Every request, response, event and connection
change can be handed to a ``tap`` (a plain callable), which is how the
adapter's traffic with a real Asterisk is recorded for the replay tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

__all__ = ["AriClient", "AriError", "AriUnavailable", "Tap", "decode_event"]

Tap = Callable[[dict[str, Any]], None]
"""Called with each piece of traffic, as plain data (see :class:`AriClient`)."""


class AriError(Exception):
    """Asterisk answered a request with an error status (4xx/5xx)."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = message


class AriUnavailable(ConnectionError):
    """Asterisk could not be reached (refused, timed out, connection lost)."""


class AriClient:
    """ARI over HTTP for one Stasis application.

    ``url`` is Asterisk's HTTP server (``http://127.0.0.1:8088``; ``/ari``
    is added), ``user``/``password`` an ``ari.conf`` user, ``app`` the
    Stasis application. ``tap`` (optional) sees every request
    (``{"kind": "req", "id", "method", "path", "params", "body"}``), its
    response (``{"kind": "resp", "id", "status", "body"}``) or transport
    error (``{"kind": "error", "id", "error"}``); :meth:`tap_event` and
    friends feed it the socket's side. Each record carries ``t``, the
    monotonic time it was seen.
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        app: str,
        *,
        timeout: float = 10.0,
        tap: Tap | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.user, self.password, self.app = user, password, app
        self.timeout = timeout
        self.tap = tap
        self._ids = itertools.count(1)
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.url + "/ari",
                auth=(self.user, self.password),
                timeout=self.timeout,
            )
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def events_url(self, subscribe_all: bool = False) -> str:
        """The events WebSocket URL for :attr:`app` (credentials in ``api_key``)."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        key = quote(f"{self.user}:{self.password}", safe=":")
        query = f"app={quote(self.app)}&api_key={key}"
        if subscribe_all:
            query += "&subscribeAll=true"
        return urlunsplit((scheme, parts.netloc, parts.path + "/ari/events", query, ""))

    def _record(self, entry: dict[str, Any]) -> None:
        if self.tap is not None:
            entry["t"] = time.monotonic()
            self.tap(entry)

    def tap_event(self, event: Mapping[str, Any]) -> None:
        """Record an event received on the socket."""
        self._record({"kind": "event", "event": dict(event)})

    def tap_connection(self, kind: str, detail: str = "") -> None:
        """Record the socket connecting (``"connect"``) or dropping (``"disconnect"``)."""
        self._record({"kind": kind, "detail": detail})

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request (``path`` below ``/ari``); return the decoded
        JSON body (``None`` when empty). Raises :class:`AriError` for an
        error status and :class:`AriUnavailable` when Asterisk is unreachable."""
        rid = next(self._ids)
        query = {k: str(v) for k, v in (params or {}).items()}
        self._record(
            {
                "kind": "req",
                "id": rid,
                "method": method,
                "path": path,
                "params": query,
                "body": body,
            }
        )
        try:
            response = await self._client().request(method, path, params=query or None, json=body)
        except httpx.HTTPError as exc:
            self._record({"kind": "error", "id": rid, "error": repr(exc)})
            raise AriUnavailable(f"{method} {path}: {exc!r}") from exc
        payload: Any = None
        if response.content:
            try:
                payload = response.json()
            except ValueError:
                payload = response.text
        self._record({"kind": "resp", "id": rid, "status": response.status_code, "body": payload})
        if response.status_code >= 400:
            message = payload.get("message", "") if isinstance(payload, dict) else str(payload)
            raise AriError(method, path, response.status_code, message)
        return payload

    async def retry(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        attempts: int = 3,
        delay: float = 0.2,
    ) -> Any:
        """:meth:`request`, sent again while Asterisk answers 5xx or cannot be
        reached, ``attempts`` times in all (``delay`` apart, growing); then
        the last failure is raised. A 4xx is raised at once."""
        for attempt in range(1, max(1, attempts) + 1):
            try:
                return await self.request(method, path, params)
            except AriError as exc:
                if exc.status < 500 or attempt >= attempts:
                    raise
            except AriUnavailable:
                if attempt >= attempts:
                    raise
            await asyncio.sleep(delay * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, path: str, **params: str | int) -> Any:
        """``GET path`` with query ``params``."""
        return await self.request("GET", path, params)

    async def post(self, path: str, **params: str | int) -> Any:
        """``POST path`` with query ``params``."""
        return await self.request("POST", path, params)

    async def delete(self, path: str, **params: str | int) -> Any:
        """``DELETE path`` with query ``params``."""
        return await self.request("DELETE", path, params)


def decode_event(raw: str | bytes) -> dict[str, Any] | None:
    """An event from the socket as a dict, or ``None`` if it is not JSON."""
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
