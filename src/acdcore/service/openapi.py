"""The OpenAPI document (3.1), built from the same route table as the app.

:func:`document` walks the :class:`~acdcore.service.routes.Endpoint` list the
app is built from, so every route is in it with its method, parameters,
who may call it, its success status and its error statuses. Events are
described per type (one schema per event class, from its fields), errors
by the one ``Error`` shape. ``/stream`` is a WebSocket: it is listed as the
``GET`` of its upgrade with ``x-websocket: true`` and the protocol in its
description (OpenAPI has no WebSocket operations).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..config import AgentProfile
from ..skills import MAX_PROFICIENCY, MIN_PROFICIENCY, Channel, SkillRequirement
from .decode import EVENT_TYPES
from .routes import Endpoint

__all__ = ["document"]

_REASONS = {
    101: "Switching protocols (WebSocket)",
    200: "OK",
    400: "Malformed JSON or a bad parameter (MalformedJSON)",
    401: "No token, or a bad one (Unauthorized)",
    403: "The token may not do this (Forbidden)",
    404: "No such call, agent or queue (UnknownCall, UnknownAgent, UnknownQueue)",
    409: "The current state refuses the event (NoSuchOffer, InvalidAgentState, "
    "InvalidCallState, DuplicateCall); nothing changed",
    413: "The body is too large (RequestTooLarge)",
    422: "A value is wrong (InvalidValue, naming the field)",
    429: "Too many requests (RateLimited); see Retry-After",
    503: "The runtime has stopped or is not running (RuntimeFailed, ServiceUnavailable)",
}

_STREAM = """Query: `agent=ID` (an agent desktop: its offers, cancels, screen-pop data, its own
events), `queue=NAME` (a wallboard) or none (everything; not for agent tokens); `since=N`
resumes from journal entry N. Authenticate with `Authorization: Bearer` on the upgrade or
send `{"token": "..."}` first. Messages: `{"hello": {"next_seq": M, ...}}`, then entries
`{"seq": n, "event": {...}|null, "actions": [...]}` from N (with since) and live. Refusals
and ends: `{"error": Name, "message": ...}` then close code 4400 (bad parameter), 4401,
4403, 4404 (no such queue), 4408 (too slow: resume), 4410 (since is older than the journal
kept), 4429, 1001 (stopping). Reconnect with since = last seq + 1 to miss nothing."""


# Skill name to level (a requirement, a profile's skills).
_SKILLS: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"minLength": 1},
    "additionalProperties": {
        "type": "integer",
        "minimum": MIN_PROFICIENCY,
        "maximum": MAX_PROFICIENCY,
    },
}

# Identifiers the distributor refuses when empty (InvalidValue, 422).
_IDS = ("call_id", "agent_id", "queue")


def _field_schema(hint: Any) -> dict[str, Any]:
    options = (
        typing.get_args(hint)
        if typing.get_origin(hint) in (types.UnionType, typing.Union)
        else (hint,)
    )
    nullable = type(None) in options
    options = tuple(o for o in options if o is not type(None))
    base = options[0]
    schema: dict[str, Any]
    if base is float:
        schema = {"oneOf": [{"type": "number"}, {"enum": ["inf", "-inf"]}]}
    elif base is int:
        schema = {"type": "integer"}
    elif base is bool:
        schema = {"type": "boolean"}
    elif base is str:
        schema = {"type": "string"}
    elif base is Channel:
        schema = {"type": "string", "enum": [c.value for c in Channel]}
    elif base is SkillRequirement:
        schema = _SKILLS
    elif base is AgentProfile:
        schema = {"$ref": "#/components/schemas/AgentProfile"}
    else:
        schema = {"type": "object"}
    if nullable:
        return {"oneOf": [schema, {"type": "null"}]}
    return schema


def _event_schema(name: str, cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {
        "type": {"const": name},
        "v": {"const": 1, "description": "the codec's schema version (may be left out)"},
    }
    required = ["type"]
    for field in attrs.fields(cls):
        schema = _field_schema(hints[field.name])
        if field.name in _IDS and schema == {"type": "string"}:
            schema = {"type": "string", "minLength": 1}
        if field.name == "now":
            schema = {
                **schema,
                "description": "ignored: the runtime's clock is used (may be left out)",
            }
        properties[field.name] = schema
        if field.default is attrs.NOTHING and field.name != "now":
            required.append(field.name)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return {
        "type": "object",
        "description": " ".join(doc.split()),
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        name: _event_schema(name, cls) for name, cls in sorted(EVENT_TYPES.items())
    }
    schemas["Event"] = {
        "oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in sorted(EVENT_TYPES)],
        "discriminator": {"propertyName": "type"},
    }
    schemas["AgentProfile"] = {
        "type": "object",
        "required": ["agent_id"],
        "properties": {
            "agent_id": {"type": "string"},
            "skills": _SKILLS,
            "queues": {
                "description": "queue names, or queue name to membership",
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "priority": {"type": "integer"},
                                "delay": {"type": "number"},
                                "position": {"type": "integer"},
                                "weight": {"type": "integer"},
                            },
                        },
                    },
                ],
            },
            "capacity": {"type": "object", "additionalProperties": {"type": "integer"}},
            "exclusive": {"type": "array", "items": {"type": "string"}},
            "region": {"type": ["string", "null"]},
        },
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "the error's type name"},
            "message": {"type": "string"},
        },
    }
    schemas["EventResult"] = {
        "type": "object",
        "required": ["accepted", "seq", "event", "actions"],
        "properties": {
            "accepted": {"const": True},
            "seq": {"type": "integer", "description": "the event's journal entry (for since)"},
            "event": {"type": "object", "description": "the event as applied (now stamped)"},
            "actions": {"type": "array", "items": {"type": "object"}},
        },
    }
    schemas["StreamEntry"] = {
        "type": "object",
        "required": ["seq", "event", "actions"],
        "properties": {
            "seq": {"type": "integer"},
            "event": {"type": ["object", "null"]},
            "actions": {"type": "array", "items": {"type": "object"}},
        },
    }
    return schemas


def _operation(e: Endpoint) -> dict[str, Any]:
    lines = " ".join(e.summary.split())
    op: dict[str, Any] = {
        "operationId": f"{e.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', e.path).strip('_')}",
        "summary": lines.split(". ")[0].rstrip("."),
        "description": f"{lines}\n\nWho: {e.auth}.",
        "security": [] if e.public else [{"bearer": []}],
    }
    if e.websocket:
        op["x-websocket"] = True
        op["description"] += "\n\n" + _STREAM
    if e.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "description": p.description,
                "schema": {"type": p.kind, **({"enum": list(p.enum)} if p.enum else {})},
            }
            for p in e.params
        ]
    if e.body:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Event"},
                    "example": {"type": "CallArrived", "call_id": "sip-1", "queue": "support"},
                }
            },
        }
    ok: dict[str, Any] = {"description": _REASONS.get(e.ok, "OK")}
    if not e.websocket:
        schema: dict[str, Any] = (
            {"$ref": f"#/components/schemas/{e.result}"}
            if e.result != "object"
            else {"type": "object"}
        )
        if e.content != "application/json":
            schema = {"type": "string"}
        ok["content"] = {e.content: {"schema": schema}}
    responses: dict[str, Any] = {str(e.ok): ok}
    for status in e.errors:
        responses[str(status)] = {
            "description": _REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op["responses"] = responses
    return op


def document(
    endpoints: Sequence[Endpoint], *, title: str = "acdcore", version: str = "0.1.0"
) -> dict[str, Any]:
    """The OpenAPI document of ``endpoints``."""
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    info: Mapping[str, Any] = {
        "title": title,
        "version": version,
        "description": (
            "An automatic call distributor as a service: submit events, query calls, agents "
            "and queues, stream actions (WebSocket), scrape KPIs. Refusals are "
            '{"error": TypeName, "message": ...} with a 4xx status; a refused event changed '
            "nothing."
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": dict(info),
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _components(),
        },
    }
