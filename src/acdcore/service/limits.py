"""How much a client may send: request bodies and request rates.

- :func:`read_json` reads a request body of at most ``max_body`` bytes
  (``413 RequestTooLarge`` beyond, told by ``Content-Length`` or counted as
  it streams in) and parses it as JSON (``400 MalformedJSON`` with the
  parser's reason: bad syntax, bad UTF-8, ``NaN``, nesting too deep).
- :class:`RateLimiter` is a token bucket per key (a token's hash): ``rate``
  requests per second sustained, ``burst`` at once; beyond it
  ``429 RateLimited`` with ``Retry-After``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ..codec import _no_constant
from .errors import ServiceError

__all__ = ["RateLimiter", "read_json"]


async def read_json(request: Request, max_body: int) -> Any:
    """The request's body parsed as JSON (see the module docstring)."""
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > max_body:
        raise ServiceError(
            413,
            "RequestTooLarge",
            f"the body is {int(length)} bytes; at most {max_body} are accepted",
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise ServiceError(
                413,
                "RequestTooLarge",
                f"the body is more than {max_body} bytes; at most {max_body} are accepted",
            )
    if not body.strip():
        raise ServiceError(400, "MalformedJSON", "the body is empty; send a JSON object")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(
            400, "MalformedJSON", f"the body is not UTF-8 (byte {exc.start})"
        ) from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ServiceError(
            400,
            "MalformedJSON",
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except ValueError as exc:  # NaN, Infinity, an integer too long to read
        raise ServiceError(400, "MalformedJSON", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ServiceError(400, "MalformedJSON", "not valid JSON: nested too deeply") from None


class RateLimiter:
    """A token bucket per key: each key may make ``burst`` requests at once
    and ``rate`` per second sustained. ``clock`` is monotonic seconds."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key: (tokens, at)

    def take(self, key: str) -> None:
        """Spend one request of ``key``'s allowance, or raise ``429
        RateLimited`` saying when to retry."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            raise ServiceError(
                429,
                "RateLimited",
                f"more than {self.rate:g} requests per second (bursts of {self.burst:g}); "
                f"retry in {wait:.2f} s",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        self._buckets[key] = (tokens - 1.0, now)
