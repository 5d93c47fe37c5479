"""Errors as HTTP answers: one JSON shape, one status per kind of refusal.

Every refusal the service gives is ``{"error": TypeName, "message": text}``
with a 4xx status (503 when the runtime has stopped): the typed
:class:`~acdcore.errors.AcdError` the distributor raised, named by its class,
or one of the service's own (:class:`ServiceError`: ``Unauthorized``,
``Forbidden``, ``MalformedJSON``, ``RequestTooLarge``, ``RateLimited``...).
A refused event changed nothing. :func:`json_response` writes any data as
JSON, with non-finite numbers (an estimate that cannot be made) as ``null``,
so that no answer ever fails to encode.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from ..errors import (
    AcdError,
    DuplicateCall,
    InvalidAgentState,
    InvalidCallState,
    InvalidValue,
    NoSuchOffer,
    NotPermitted,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)

__all__ = ["ServiceError", "error_response", "json_response", "plain", "status_of"]

_STATUS: tuple[tuple[type[AcdError], int], ...] = (
    (UnknownCall, 404),
    (UnknownAgent, 404),
    (UnknownQueue, 404),
    (NoSuchOffer, 409),
    (InvalidAgentState, 409),
    (InvalidCallState, 409),
    (DuplicateCall, 409),
    (NotPermitted, 403),
    (InvalidValue, 422),
)


def status_of(error: AcdError) -> int:
    """The HTTP status of a typed refusal: 404 for an unknown call, agent or
    queue, 409 for an event the current state refuses, 422 for a bad value
    (and for any other :class:`~acdcore.errors.AcdError`, a configuration
    error in a profile for example)."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 422


class ServiceError(Exception):
    """A refusal by the service itself: ``status``, the ``name`` clients
    see as ``error``, a ``message``, and extra response ``headers``
    (``Retry-After`` for 429)."""

    def __init__(
        self, status: int, name: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, error: AcdError) -> ServiceError:
        """The refusal for a typed acdcore error."""
        return cls(status_of(error), type(error).__name__, str(error))


def plain(data: Any) -> Any:
    """``data`` with every non-finite float replaced by ``None`` (JSON has
    no infinity), tuples as lists."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    return data


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``data`` as an ``application/json`` response (see :func:`plain`)."""
    body = json.dumps(plain(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(error: ServiceError) -> Response:
    """The JSON answer for a refusal."""
    return json_response(
        {"error": error.name, "message": error.message}, error.status, error.headers
    )
