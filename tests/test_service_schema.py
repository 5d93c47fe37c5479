"""Schemathesis over the service's own OpenAPI document: every HTTP operation,
in process (ASGI, no server), with a supervisor token.

For each operation schemathesis generates requests from ``/openapi.json``
(valid and invalid ones) and checks every answer: never a 5xx, and the
status code, content type, headers and body are those the document declares
for the operation. ``/stream`` is a WebSocket (``x-websocket``): there is no
HTTP exchange to test, so it is left out (``tests/test_service.py`` covers it).

Schemathesis is optional: the test is skipped without it, unless
``ACDCORE_REQUIRE_SERVERS=1`` (CI), where a missing schemathesis fails.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("schemathesis") is None:
    if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":
        raise ImportError(
            "ACDCORE_REQUIRE_SERVERS=1 but schemathesis is not installed "
            "(pip install 'schemathesis>=4.32,<5')"
        )
    pytest.skip(
        "schemathesis is not installed (pip install 'schemathesis>=4.32,<5')",
        allow_module_level=True,
    )
pytest.importorskip("starlette", reason="the service needs starlette (the 'service' extra)")
pytest.importorskip("prometheus_client", reason="/metrics needs prometheus-client ('service')")

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.python import asgi
from starlette.testclient import TestClient

from acdcore.service import create_app

from .test_service import SUP, Clock, auth, make_config, post

EXAMPLES = 50  # per operation: the whole run stays well under a minute


@pytest.fixture(params=["python"])  # one run: the HTTP contract is the same on both backends
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    """The app (queues ``support`` and ``sales``) in a temp data dir, and its
    document as served to a supervisor. Schemathesis runs the app's lifespan
    itself (on its first request); it is stopped (runtime, journal) after the
    test. A fresh app per test: one app object is started only once."""
    app = create_app(make_config(tmp_path / "data"), clock=Clock())
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth(SUP))
    finally:
        asgi.shutdown_lifespans()


def _lenient(path: str) -> list[Any]:
    """Checks left out for ``path``. ``POST /events``: a schema-valid event
    may still be refused with its documented ``422`` (InvalidValue: a level
    sent as ``3.0``, a time out of range, a policy's own rules), which the
    document's JSON types cannot all say; every other check still applies."""
    if path != "/events":
        return []
    load_all_checks()
    return list(CHECKS.get_by_names(["positive_data_acceptance"]))


def _operations(schema: Any) -> list[Any]:
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if not op.definition.raw.get("x-websocket")]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms(api_schema: Any, mode: GenerationMode) -> None:
    """Positive (schema-valid) and negative (schema-invalid) requests to each
    operation: every answer passes all of schemathesis's checks."""
    failures: list[str] = []
    ran = 0
    for op in _operations(api_schema):

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth(SUP), excluded_checks=_lenient(case.operation.path))

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE
        except (Exception, BaseExceptionGroup) as exc:  # try every operation, report all
            failures.append(f"{op.method.upper()} {op.path} ({mode}):\n{exc}")
        ran += 1
    assert ran >= 12
    assert not failures, "\n\n".join(failures)


def test_document_lists_every_route(tmp_path: Path) -> None:
    """Every Starlette route is in the document, and nothing else is."""
    app = create_app(make_config(tmp_path / "data"))
    doc = app.state.openapi
    routes = {(m, r.path) for r in app.routes for m in (getattr(r, "methods", None) or {"GET"})}
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert {(m, p) for m, p in routes if m != "HEAD"} == documented


# ---------------------------------------------------------------- regressions
# The shrunk cases schemathesis found; each was a schema-valid request that
# the server refused, so the document now says what the server accepts.


def test_empty_ids_are_outside_the_document(tmp_path: Path) -> None:
    """``{"type": "CallbackCancelled", "call_id": ""}`` was schema-valid and
    answered 422: ids (call_id, agent_id, queue) are non-empty strings."""
    app = create_app(make_config(tmp_path / "data"))
    schemas = app.state.openapi["components"]["schemas"]
    assert schemas["CallbackCancelled"]["properties"]["call_id"]["minLength"] == 1
    for name in ("CallArrived", "AgentLoggedOut"):
        for field in ("call_id", "agent_id", "queue"):
            prop = schemas[name]["properties"].get(field)
            if prop is not None:
                assert prop["minLength"] == 1, (name, field)
    with TestClient(app) as client:
        r = post(client, {"type": "CallbackCancelled", "call_id": ""})
        assert r.status_code == 422, r.text


def test_skill_levels_are_bounded_in_the_document(tmp_path: Path) -> None:
    """``{"type": "CallTransferred", "call_id": "c", "queue": "q",
    "requirement": {"x": -4628158}}`` was schema-valid and answered 422: a
    skill level is an int in 1..10 and a skill name is not empty."""
    app = create_app(make_config(tmp_path / "data"))
    schemas = app.state.openapi["components"]["schemas"]
    for skills in (
        schemas["CallTransferred"]["properties"]["requirement"]["oneOf"][0],
        schemas["AgentProfile"]["properties"]["skills"],
    ):
        assert skills.get("propertyNames") == {"minLength": 1}, skills
        assert skills["additionalProperties"] == {"type": "integer", "minimum": 1, "maximum": 10}
    with TestClient(app) as client:
        r = post(
            client,
            {"type": "CallTransferred", "call_id": "c", "queue": "support",
             "requirement": {"x": -4628158}},
        )  # fmt: skip
        assert r.status_code == 422, r.text
