"""The ASGI service: every route, every refusal (and that it changed nothing),
tokens and what each role may do, limits, restart from the data directory,
the resumable WebSocket stream and its filters, Prometheus, OpenAPI, logs,
mounting, the wallboard page."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the service needs starlette (the 'service' extra)")
if importlib.util.find_spec("httpx2") is None and importlib.util.find_spec("httpx") is None:
    pytest.skip(
        "starlette's TestClient needs httpx2 (or httpx before starlette 1.10): the 'test' extra",
        allow_module_level=True,
    )
pytest.importorskip("prometheus_client", reason="/metrics needs prometheus-client ('service')")

import contextlib

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from acdcore import ConfigError, QueueConfig, Queued
from acdcore.service import Grant, Limits, ServiceConfig, create_app
from acdcore.service.live import LiveService
from acdcore.service.logs import JsonFormatter, fields_of
from acdcore.store import StoreError

SUP = "supervisor-token-0123456789"
ALICE = "alice-agent-token-0123456789"
BOB = "bob-agent-token-0123456789ab"
MON = "monitor-token-0123456789abcd"


class Clock:
    """A clock the test moves by hand (Unix-like seconds)."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_config(directory: Path, **limits: Any) -> ServiceConfig:
    return ServiceConfig(
        queues=[
            QueueConfig("support", ring_timeout=15.0, wrap_up=10.0),
            QueueConfig("sales", ring_timeout=15.0, wrap_up=10.0),
        ],
        data_dir=directory,
        tokens={
            SUP: Grant("supervisor"),
            ALICE: Grant("agent", "alice"),
            BOB: Grant("agent", "bob"),
            MON: Grant("monitor"),
        },
        limits=Limits(**{"rate": 10_000.0, "burst": 10_000, **limits}),
        snapshot_seconds=None,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(tmp_path: Path) -> ServiceConfig:
    return make_config(tmp_path / "data")


@pytest.fixture
def client(config: ServiceConfig, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(config, clock=clock)) as c:
        yield c


def service_of(client: TestClient) -> LiveService:
    service = client.app.state.service  # type: ignore[attr-defined]
    assert isinstance(service, LiveService)
    return service


def post(client: TestClient, event: dict[str, Any], token: str = SUP) -> Any:
    return client.post("/events", json=event, headers=auth(token))


def ok(client: TestClient, event: dict[str, Any], token: str = SUP) -> dict[str, Any]:
    r = post(client, event, token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def login(client: TestClient, agent: str, queues: list[str], token: str = SUP) -> dict[str, Any]:
    return ok(
        client, {"type": "AgentLoggedIn", "profile": {"agent_id": agent, "queues": queues}}, token
    )


def arrive(client: TestClient, call: str, queue: str = "support") -> dict[str, Any]:
    return ok(client, {"type": "CallArrived", "call_id": call, "queue": queue})


def kinds(actions: list[dict[str, Any]]) -> list[str]:
    return [a["type"] for a in actions]


# ---------------------------------------------------------------- health, tokens


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/events"),
        ("GET", "/calls/c1"),
        ("GET", "/agents"),
        ("GET", "/agents/alice"),
        ("GET", "/queues"),
        ("GET", "/queues/support"),
        ("GET", "/queues/support/estimate"),
        ("GET", "/counts"),
        ("GET", "/kpis"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ],
)
def test_every_route_but_health_needs_a_token(client: TestClient, method: str, path: str) -> None:
    for headers in ({}, auth("not-a-token-at-all-0123"), {"Authorization": f"Basic {SUP}"}):
        r = client.request(method, path, headers=headers)
        assert r.status_code == 401, (path, headers)
        assert r.json()["error"] == "Unauthorized"
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    r = client.get("/nope", headers=auth(SUP))
    assert r.status_code == 404 and r.json()["error"] == "NotFound"
    r = client.delete("/events", headers=auth(SUP))
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed"


# ---------------------------------------------------------------- events and queries


def test_a_call_from_arrival_to_wrap_up(client: TestClient, clock: Clock) -> None:
    login(client, "alice", ["support"])
    body = arrive(client, "c1")
    assert body["accepted"] is True and isinstance(body["seq"], int)
    assert body["event"]["now"] == clock.t  # the runtime's clock, not the client's
    offer = next(a for a in body["actions"] if a["type"] == "Offer")
    assert offer["agent_id"] == "alice" and offer["call_id"] == "c1"

    call = client.get("/calls/c1", headers=auth(SUP)).json()
    assert call["state"] == "ringing" and call["offered_to"] == ["alice"]
    assert client.get("/agents/alice", headers=auth(SUP)).json()["state"] == "ringing"

    clock.t += 3
    ok(client, {"type": "OfferAnswered", "call_id": "c1", "agent_id": "alice"}, ALICE)
    assert client.get("/calls/c1", headers=auth(SUP)).json()["state"] == "connected"
    clock.t += 60
    ok(client, {"type": "CallEnded", "call_id": "c1"}, ALICE)
    agent = client.get("/agents/alice", headers=auth(ALICE)).json()
    assert agent["state"] == "wrap-up" and agent["calls_taken"] == 1

    counts = client.get("/counts", headers=auth(SUP)).json()
    assert counts["arrived"] == 1 and counts["completed"] == 1
    kpis = client.get("/kpis", headers=auth(MON)).json()
    support = kpis["queues"]["support"]
    assert support["answered"] == 1 and support["service_level"] == 1.0
    assert support["target"] == 0.8 and kpis["agents"]["wrap-up"] == 1


def test_queue_views_and_estimates(client: TestClient, clock: Clock) -> None:
    for cid in ("c1", "c2", "c3"):
        arrive(client, cid)
        clock.t += 1
    q = client.get("/queues/support", headers=auth(MON)).json()
    assert q["waiting"] == ["c1", "c2", "c3"]
    assert q["longest_waiting"] == 3.0
    assert q["estimate"]["known"] is False and q["estimate"]["seconds"] is None  # nobody staffed
    everything = client.get("/queues", headers=auth(ALICE)).json()["queues"]
    assert set(everything) == {"support", "sales"}
    login(client, "bob", ["sales"])
    est = client.get("/queues/sales/estimate?priority=2", headers=auth(ALICE)).json()
    assert est["known"] is True and est["seconds"] == 0.0  # bob is free
    r = client.get("/queues/nope/estimate", headers=auth(SUP))
    assert r.status_code == 404 and r.json()["error"] == "UnknownQueue"
    r = client.get("/queues/sales/estimate?priority=high", headers=auth(SUP))
    assert r.status_code == 422 and r.json()["error"] == "InvalidValue"
    r = client.get("/queues/sales/estimate?channel=fax", headers=auth(SUP))
    assert r.status_code == 422
    assert client.get("/queues/nope", headers=auth(SUP)).status_code == 404
    assert client.get("/calls/nope", headers=auth(SUP)).json()["error"] == "UnknownCall"
    assert client.get("/agents/nope", headers=auth(SUP)).status_code == 404
    agents = client.get("/agents", headers=auth(MON)).json()["agents"]
    assert [a["agent_id"] for a in agents] == ["bob"]


def test_every_event_type_can_be_submitted(client: TestClient, clock: Clock) -> None:
    login(client, "alice", {"support": {"priority": 1}})  # type: ignore[arg-type]
    ok(client, {"type": "AgentSkillsChanged", "agent_id": "alice", "skills": {"english": 5}})
    ok(client, {"type": "AgentPaused", "agent_id": "alice", "reason": "lunch"}, ALICE)
    agent = client.get("/agents/alice", headers=auth(ALICE)).json()
    assert agent["state"] == "paused" and agent["paused_reason"] == "lunch"
    arrive(client, "c1")
    arrive(client, "c2")
    ok(client, {"type": "CallAbandoned", "call_id": "c2"})
    ok(client, {"type": "AgentResumed", "agent_id": "alice"}, ALICE)
    clock.t += 1
    ok(client, {"type": "OfferDeclined", "call_id": "c1", "agent_id": "alice"}, ALICE)
    clock.t += 30
    client.get("/health")  # the runtime looks at the clock: the no-answer delay is over
    body = arrive(client, "c3", "sales")
    assert kinds(body["actions"]) == ["Queued"]
    ok(client, {"type": "AgentLoggedOut", "agent_id": "alice"}, ALICE)
    login(client, "alice", ["support", "sales"], ALICE)
    call = client.get("/calls/c1", headers=auth(SUP)).json()
    assert call["state"] == "ringing"
    ok(client, {"type": "OfferAnswered", "call_id": "c1", "agent_id": "alice"}, ALICE)
    ok(client, {"type": "CallTransferred", "call_id": "c1", "queue": "sales"}, ALICE)
    assert client.get("/calls/c1", headers=auth(SUP)).json()["queue"] == "sales"
    r = post(client, {"type": "CallbackRequested", "call_id": "c3"})
    assert r.status_code == 409  # sales has no callback policy: refused, typed
    assert r.json()["error"] == "InvalidCallState"


# ---------------------------------------------------------------- refusals


def test_refusals_have_their_status_and_change_nothing(client: TestClient) -> None:
    login(client, "alice", ["support"])
    login(client, "bob", ["sales"])
    arrive(client, "c1")  # rings alice
    ok(client, {"type": "AgentPaused", "agent_id": "bob"})
    service = service_of(client)
    cases = [
        ({"type": "CallEnded", "call_id": "ghost"}, 404, "UnknownCall"),
        ({"type": "AgentResumed", "agent_id": "ghost"}, 404, "UnknownAgent"),
        ({"type": "CallArrived", "call_id": "c9", "queue": "nope"}, 404, "UnknownQueue"),
        ({"type": "OfferAnswered", "call_id": "c1", "agent_id": "bob"}, 409, "NoSuchOffer"),
        ({"type": "AgentResumed", "agent_id": "alice"}, 409, "InvalidAgentState"),
        ({"type": "CallEnded", "call_id": "c1"}, 409, "InvalidCallState"),
        ({"type": "CallArrived", "call_id": "c1", "queue": "support"}, 409, "DuplicateCall"),
        ({"type": "CallArrived", "call_id": "c9", "queue": "support", "priority": "x"}, 422, None),
        ({"type": "CallArrived", "call_id": "c9", "queue": "support", "colour": 1}, 422, None),
        ({"type": "CallArrived", "queue": "support"}, 422, None),
        ({"type": "Offer", "call_id": "c9"}, 422, None),
        ({"type": "Bogus"}, 422, None),
        ({"call_id": "c9"}, 422, None),
        ([1, 2], 422, None),
        ({"type": "CallArrived", "v": 2, "call_id": "c9", "queue": "support"}, 422, None),
    ]
    for body, status, name in cases:
        before = service.distributor.snapshot()
        entries = service.hub.next_seq
        r = post(client, body)  # type: ignore[arg-type]
        assert r.status_code == status, (body, r.text)
        error = r.json()
        assert set(error) == {"error", "message"} and error["message"]
        assert error["error"] == (name or "InvalidValue"), body
        assert service.distributor.snapshot() == before, body
        assert service.hub.next_seq <= entries + 1  # at most the advance before it
    assert service.refused["UnknownCall"] == 1


def test_malformed_json_is_a_400_with_a_reason(client: TestClient) -> None:
    service = service_of(client)
    before = service.distributor.snapshot()
    for content in (b"{", b"", b'{"type": NaN}', b"\xff\xfe", b"[" * 20_000):
        r = client.post(
            "/events", content=content, headers={**auth(SUP), "Content-Type": "application/json"}
        )
        assert r.status_code == 400, content[:10]
        assert r.json()["error"] == "MalformedJSON"
        assert "Traceback" not in r.text
    assert service.distributor.snapshot() == before


def test_bodies_over_the_limit_are_refused(tmp_path: Path, clock: Clock) -> None:
    cfg = make_config(tmp_path / "data", max_body=200)
    with TestClient(create_app(cfg, clock=clock)) as client:
        big = {
            "type": "CallArrived",
            "call_id": "c1",
            "queue": "support",
            "attributes": {"x": "y" * 300},
        }
        r = post(client, big)
        assert r.status_code == 413 and r.json()["error"] == "RequestTooLarge"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"type": "CallArrived", "call_id": "c1", "queue": "support", '
            yield b'"attributes": {"x": "' + b"y" * 300 + b'"}}'

        r = client.post("/events", content=chunks(), headers=auth(SUP))
        assert r.status_code == 413
        assert client.get("/counts", headers=auth(SUP)).json()["arrived"] == 0


def test_rate_limits_answer_429_with_retry_after(tmp_path: Path, clock: Clock) -> None:
    cfg = make_config(tmp_path / "data", rate=0.5, burst=3)
    with TestClient(create_app(cfg, clock=clock)) as client:
        for _ in range(3):
            assert client.get("/counts", headers=auth(ALICE)).status_code == 200
        r = client.get("/counts", headers=auth(ALICE))
        assert r.status_code == 429 and r.json()["error"] == "RateLimited"
        assert int(r.headers["retry-after"]) >= 1
        assert client.get("/counts", headers=auth(BOB)).status_code == 200  # per token
        assert client.get("/health").status_code == 200  # never limited


def test_an_unexpected_error_is_a_json_500_without_traceback(
    config: ServiceConfig, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(config, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:

        def broken() -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(service_of(client).distributor, "counts", broken)
        r = client.get("/counts", headers=auth(SUP))
        assert r.status_code == 500
        assert r.json()["error"] == "InternalError"
        assert "secret" not in r.text and "Traceback" not in r.text


# ---------------------------------------------------------------- roles


def test_an_agent_token_acts_only_for_its_agent(client: TestClient) -> None:
    login(client, "alice", ["support"], ALICE)
    login(client, "bob", ["support"], BOB)
    arrive(client, "c1")  # rings the longest idle: alice
    call = client.get("/calls/c1", headers=auth(SUP)).json()
    ringing = call["offered_to"][0]
    other, other_token = ("bob", BOB) if ringing == "alice" else ("alice", ALICE)
    mine_token = ALICE if ringing == "alice" else BOB
    service = service_of(client)
    before = service.distributor.snapshot()
    forbidden = [
        ({"type": "AgentLoggedOut", "agent_id": other}, mine_token),
        ({"type": "AgentPaused", "agent_id": other}, mine_token),
        ({"type": "OfferAnswered", "call_id": "c1", "agent_id": ringing}, other_token),
        ({"type": "OfferDeclined", "call_id": "c1", "agent_id": ringing}, other_token),
        ({"type": "AgentLoggedIn", "profile": {"agent_id": other}}, mine_token),
        ({"type": "CallArrived", "call_id": "c2", "queue": "support"}, mine_token),
        ({"type": "CallAbandoned", "call_id": "c1"}, mine_token),
        ({"type": "AgentSkillsChanged", "agent_id": ringing, "skills": {}}, mine_token),
        ({"type": "AgentPaused", "agent_id": "alice"}, MON),
    ]
    for body, token in forbidden:
        r = post(client, body, token)
        assert r.status_code == 403, body
        assert r.json()["error"] == "Forbidden"
    assert service.distributor.snapshot() == before
    # Reading: itself and its calls only.
    assert client.get(f"/agents/{other}", headers=auth(mine_token)).status_code == 403
    assert client.get("/calls/c1", headers=auth(other_token)).status_code == 403
    assert client.get("/calls/c1", headers=auth(mine_token)).status_code == 200
    assert client.get("/agents", headers=auth(mine_token)).status_code == 403
    assert client.get("/metrics", headers=auth(mine_token)).status_code == 403
    # Its own offer, then its own call.
    ok(client, {"type": "OfferAnswered", "call_id": "c1", "agent_id": ringing}, mine_token)
    assert post(client, {"type": "CallEnded", "call_id": "c1"}, other_token).status_code == 403
    ok(client, {"type": "CallEnded", "call_id": "c1"}, mine_token)


# ---------------------------------------------------------------- restart


def test_a_restart_recovers_the_waiting_calls_in_their_place(
    config: ServiceConfig, clock: Clock
) -> None:
    with TestClient(create_app(config, clock=clock)) as client:
        for cid in ("c1", "c2", "c3"):
            arrive(client, cid)
            clock.t += 1
        ok(client, {"type": "CallAbandoned", "call_id": "c1"})
        last = arrive(client, "c4")["seq"]
    clock.t += 100
    with TestClient(create_app(config, clock=clock)) as client:
        assert client.get("/queues/support", headers=auth(SUP)).json()["waiting"] == [
            "c2",
            "c3",
            "c4",
        ]
        call = client.get("/calls/c3", headers=auth(SUP)).json()
        assert call["state"] == "waiting" and call["position"] == 2
        assert service_of(client).recovery is not None
        assert service_of(client).hub.next_seq > last
        login(client, "alice", ["support"])
        assert client.get("/calls/c2", headers=auth(SUP)).json()["offered_to"] == ["alice"]


def test_a_data_directory_of_another_configuration_does_not_start(
    config: ServiceConfig, clock: Clock, tmp_path: Path
) -> None:
    with TestClient(create_app(config, clock=clock)) as client:
        arrive(client, "c1")
    other = ServiceConfig(
        queues=[QueueConfig("billing")], data_dir=config.data_dir, tokens=config.tokens
    )
    with (
        pytest.raises(StoreError, match="refused on replay"),
        TestClient(create_app(other, clock=clock)),
    ):
        pass


# ---------------------------------------------------------------- the stream


def ws_auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_stream_resumes_with_exactly_what_was_missed(client: TestClient, clock: Clock) -> None:
    with client.websocket_connect("/stream", headers=ws_auth(SUP)) as ws:
        hello = ws.receive_json()["hello"]
        first = arrive(client, "c1")
        got = ws.receive_json()
        assert got["seq"] == first["seq"] and got["event"]["call_id"] == "c1"
        assert got["seq"] >= hello["next_seq"]
    missed = [arrive(client, "c2"), login(client, "alice", ["support"])]
    clock.t += 1
    missed.append(ok(client, {"type": "CallAbandoned", "call_id": "c1"}))
    since = got["seq"] + 1
    with client.websocket_connect(f"/stream?since={since}", headers=ws_auth(SUP)) as ws:
        hello = ws.receive_json()["hello"]
        assert hello["since"] == since
        replayed = [ws.receive_json() for _ in missed]
        assert [e["seq"] for e in replayed] == [m["seq"] for m in missed]
        assert [e["event"] for e in replayed] == [m["event"] for m in missed]
        assert [e["actions"] for e in replayed] == [m["actions"] for m in missed]
        live = arrive(client, "c5")
        assert ws.receive_json()["seq"] == live["seq"]  # nothing else came before it


def test_an_agent_stream_shows_its_offers_and_cancels_only(
    client: TestClient, clock: Clock
) -> None:
    login(client, "alice", ["support"])
    login(client, "bob", ["sales"])
    with (
        client.websocket_connect("/stream", headers=ws_auth(ALICE)) as alice,
        client.websocket_connect("/stream?agent=bob", headers=ws_auth(SUP)) as bob,
    ):
        assert alice.receive_json()["hello"]["filter"] == {"agent": "alice"}
        assert bob.receive_json()["hello"]["filter"] == {"agent": "bob"}
        arrive(client, "c1")  # support: alice
        entry = alice.receive_json()
        assert entry["event"]["type"] == "CallArrived"
        assert kinds(entry["actions"]) == ["Offer"]  # not the Queued
        assert entry["actions"][0]["attributes"] == {}  # the screen pop data
        clock.t += 16
        assert client.get("/health").status_code == 200  # the ring timeout fires
        entry = alice.receive_json()
        assert entry["event"] is None
        assert kinds(entry["actions"]) == ["CancelOffer"]
        assert entry["actions"][0]["reason"] == "ring-timeout"
        sales = arrive(client, "c2", "sales")
        got = bob.receive_json()
        assert got["seq"] == sales["seq"] and kinds(got["actions"]) == ["Offer"]
        assert got["actions"][0]["agent_id"] == "bob"
        # Alice's stream had nothing of bob's: her next entry is her own.
        mine = ok(client, {"type": "AgentPaused", "agent_id": "alice"}, ALICE)
        assert alice.receive_json()["seq"] == mine["seq"]


def test_a_queue_stream_is_a_wallboards(client: TestClient) -> None:
    with client.websocket_connect("/stream?queue=sales", headers=ws_auth(MON)) as ws:
        ws.receive_json()
        arrive(client, "c1", "support")
        login(client, "bob", ["sales"])
        entry = ws.receive_json()
        assert entry["event"]["type"] == "AgentLoggedIn"
        arrive(client, "c2", "sales")
        entry = ws.receive_json()
        assert entry["event"]["call_id"] == "c2"
        assert kinds(entry["actions"]) == ["Queued", "Offer"]
        ok(client, {"type": "AgentPaused", "agent_id": "bob", "reason": "lunch"})
        assert ws.receive_json()["event"]["reason"] == "lunch"  # bob serves sales


def test_who_may_subscribe_to_what(client: TestClient) -> None:
    refusals = [
        ("/stream?agent=bob", ws_auth(ALICE), 4403),
        ("/stream?queue=support", ws_auth(ALICE), 4403),
        ("/stream", ws_auth("wrong-token-0123456789"), 4401),
        ("/stream?queue=nope", ws_auth(SUP), 4404),
        ("/stream?since=x", ws_auth(SUP), 4400),
        ("/stream?since=999999", ws_auth(SUP), 4400),
        ("/stream?agent=a&queue=support", ws_auth(SUP), 4400),
        ("/stream?colour=red", ws_auth(SUP), 4400),
    ]
    for path, headers, code in refusals:
        with client.websocket_connect(path, headers=headers) as ws:
            error = ws.receive_json()
            assert set(error) == {"error", "message"}, path
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == code, path


def test_a_browser_sends_its_token_first(client: TestClient) -> None:
    with client.websocket_connect("/stream") as ws:
        ws.send_json({"token": MON})
        assert "hello" in ws.receive_json()
    # Not a token: text, binary (the review found it raised KeyError), too long.
    for send in (
        lambda ws: ws.send_text("hello?"),
        lambda ws: ws.send_bytes(json.dumps({"token": MON}).encode()),
        lambda ws: ws.send_text(json.dumps({"token": MON, "pad": "x" * 5000})),
    ):
        with client.websocket_connect("/stream") as ws:
            send(ws)
            assert ws.receive_json()["error"] == "Unauthorized"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 4401


def test_a_stream_resumes_across_a_restart_from_the_journal(
    config: ServiceConfig, clock: Clock
) -> None:
    with TestClient(create_app(config, clock=clock)) as client:
        login(client, "alice", ["support"])
        first = arrive(client, "c1")
        arrive(client, "c2", "sales")
    with TestClient(create_app(config, clock=clock)) as client:
        later = arrive(client, "c3")
        with client.websocket_connect(
            f"/stream?agent=alice&since={first['seq']}", headers=ws_auth(ALICE)
        ) as ws:
            ws.receive_json()
            got = ws.receive_json()  # read back from the journal on disk
            assert got["seq"] == first["seq"] and kinds(got["actions"]) == ["Offer"]
            # c2 (sales) is not hers; c3 waits in support (she is ringing): not hers.
            mine = ok(client, {"type": "AgentPaused", "agent_id": "alice"}, ALICE)
            assert ws.receive_json()["seq"] == mine["seq"] > later["seq"]


def test_a_stream_says_when_what_it_asks_for_is_trimmed(tmp_path: Path, clock: Clock) -> None:
    cfg = make_config(tmp_path / "data")
    cfg = ServiceConfig(
        queues=cfg.queues,
        data_dir=cfg.data_dir,
        tokens=cfg.tokens,
        limits=cfg.limits,
        snapshot_every=4,
        snapshot_seconds=None,
    )
    with TestClient(create_app(cfg, clock=clock)) as client:
        for i in range(20):
            clock.t += 1
            arrive(client, f"c{i}")
    with (
        TestClient(create_app(cfg, clock=clock)) as client,
        client.websocket_connect("/stream?since=0", headers=ws_auth(SUP)) as ws,
    ):
        ws.receive_json()
        error = ws.receive_json()
        assert error["error"] == "Trimmed"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4410


def test_a_client_too_slow_is_told_to_resume(tmp_path: Path, clock: Clock) -> None:
    cfg = make_config(tmp_path / "data", stream_queue=2)
    with TestClient(create_app(cfg, clock=clock)) as client:
        hub = service_of(client).hub
        with client.websocket_connect("/stream", headers=ws_auth(SUP)) as ws:
            ws.receive_json()

            def flood() -> None:  # four entries at once, in the event loop: no send between
                first = hub.next_seq
                for seq in range(first, first + 4):
                    queued = Queued(
                        at=clock.t, call_id="x", queue="support", position=1, reason="arrived"
                    )
                    hub.publish(seq, None, [queued])

            assert client.portal is not None
            client.portal.call(flood)
            messages = [ws.receive_json() for _ in range(3)]
            assert all("seq" in m for m in messages[:2])
            assert messages[2]["error"] == "TooSlow"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 4408


# ---------------------------------------------------------------- operations


def test_metrics_for_prometheus(client: TestClient, config: ServiceConfig, clock: Clock) -> None:
    login(client, "alice", ["support"])
    arrive(client, "c1")
    arrive(client, "c2", "sales")
    post(client, {"type": "CallEnded", "call_id": "ghost"})
    r = client.get("/metrics", headers=auth(MON))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'acdcore_queue_waiting_calls{queue="sales"} 1.0' in text
    assert 'acdcore_queue_ringing_calls{queue="support"} 1.0' in text
    assert 'acdcore_queue_estimated_wait_seconds{queue="sales"} +Inf' in text
    assert 'acdcore_agents{state="ringing"} 1.0' in text
    assert "acdcore_service_events_applied_total 3.0" in text
    assert 'acdcore_service_events_refused_total{error="UnknownCall"} 1.0' in text
    assert "acdcore_service_up 1.0" in text
    assert "acdcore_service_journal_lag_entries" in text
    assert 'acdcore_service_http_requests_total{route="/events",status="404"} 1.0' in text
    # A second app in the same process has figures of its own.
    other = make_config(config.data_dir.parent / "other")
    with TestClient(create_app(other, clock=clock)) as second:
        text2 = second.get("/metrics", headers=auth(SUP)).text
        assert "acdcore_service_events_applied_total 0.0" in text2


def test_the_openapi_document_lists_every_route(client: TestClient) -> None:
    doc = client.get("/openapi.json", headers=auth(MON)).json()
    assert doc["openapi"].startswith("3.")
    routes = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, WebSocketRoute):
            routes.add((route.path, "get"))
        elif isinstance(route, Route):
            routes |= {(route.path, m.lower()) for m in route.methods or () if m != "HEAD"}
    documented = {(path, m) for path, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(set(ids)) == len(ids)
    events = doc["paths"]["/events"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "422", "429"} <= set(events["responses"])
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert doc["paths"]["/stream"]["get"]["x-websocket"] is True
    schemas = doc["components"]["schemas"]
    assert schemas["CallArrived"]["required"] == ["type", "call_id", "queue"]
    assert len(schemas["Event"]["oneOf"]) == 14


def test_logs_carry_fields(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="acdcore.service"):
        seq = arrive(client, "c1")["seq"]
        post(client, {"type": "CallEnded", "call_id": "ghost"}, SUP)
    applied = next(r for r in caplog.records if r.getMessage() == "event applied")
    assert fields_of(applied) == {
        "event_type": "CallArrived",
        "seq": seq,
        "actions": ["Queued"],
        "principal": "supervisor",
    }
    refused = next(r for r in caplog.records if r.getMessage() == "event refused")
    assert fields_of(refused)["error"] == "UnknownCall"
    request = next(r for r in caplog.records if r.getMessage() == "request")
    line = json.loads(JsonFormatter().format(request))
    assert line["route"] == "/events" and line["status"] == 200 and line["level"] == "info"
    assert SUP not in caplog.text


def test_it_mounts_in_another_app(config: ServiceConfig, clock: Clock) -> None:
    acd = create_app(config, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with acd.router.lifespan_context(acd):
            yield

    parent = Starlette(routes=[Mount("/acd", app=acd)], lifespan=lifespan)
    with TestClient(parent) as client:
        assert client.get("/acd/health").status_code == 200
        assert arrive_at(client, "/acd/events")["accepted"] is True
        with client.websocket_connect("/acd/stream?since=0", headers=ws_auth(SUP)) as ws:
            assert "hello" in ws.receive_json()
            assert ws.receive_json()["event"]["type"] == "CallArrived"


def arrive_at(client: TestClient, path: str) -> dict[str, Any]:
    r = client.post(
        path, json={"type": "CallArrived", "call_id": "m1", "queue": "support"}, headers=auth(SUP)
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_wallboard_page(client: TestClient) -> None:
    r = client.get("/wallboard")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for needle in ('"stream"', '"kpis"', '"agents"', "service_level", "paused_reason"):
        assert needle in r.text


# ---------------------------------------------------------------- configuration


CONFIG = """
[service]
data_dir = "state"
snapshot_every = 500
tz_offset = 3600

[service.limits]
max_body = 4096
rate = 5
burst = 10

[service.tokens]
"a-supervisor-token-123" = { role = "supervisor" }
"an-agent-token-alice-1" = { role = "agent", agent = "alice" }

[service_level]
threshold = 30
target = 0.9

[[queues]]
name = "support"
ring_timeout = 20
sl_target = 0.75

[[queues]]
name = "vip"
policy = "priority-classes"

[plan]
default = { queue = "support" }

[[agents]]                 # a scenario's tables are ignored
name = "day"
count = 2
skills = {}
queues = ["support"]
"""


def test_the_configuration_reads_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "acd.toml"
    path.write_text(CONFIG)
    cfg = ServiceConfig.load(path)
    assert cfg.data_dir == tmp_path / "state"
    assert [q.name for q in cfg.queues] == ["support", "vip"]
    assert cfg.queues[0].ring_timeout == 20.0
    assert cfg.targets == {"support": 0.75} and cfg.service_level.target == 0.9
    assert cfg.limits.max_body == 4096 and cfg.snapshot_every == 500
    assert cfg.tokens["an-agent-token-alice-1"] == Grant("agent", "alice")
    assert cfg.plan is not None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("a-supervisor-token-123", "short"), "too short"),
        (('role = "supervisor"', 'role = "boss"'), "role must be one of"),
        (("ring_timeout = 20", "ring_timeout = -1"), r"queues\[0\]"),
        (("rate = 5", "rate = 0"), "rate"),
        (("[service_level]", "[colour]\nx = 1\n[service_level]"), "colour: unknown key"),
        (('data_dir = "state"', ""), "data_dir: missing"),
        (('default = { queue = "support" }', 'default = { queue = "nope" }'), "plan"),
        (("snapshot_every = 500", "snapshot_every = 0"), "snapshot_every"),
    ],
)
def test_configuration_errors_name_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "acd.toml"
    path.write_text(CONFIG.replace(*change))
    with pytest.raises(ConfigError, match=message):
        ServiceConfig.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        ServiceConfig.load(tmp_path / "missing.toml")


# ---------------------------------------------------------------- failures, restarts


def test_a_failed_journal_stops_the_service_cleanly(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_of(client)
    assert service.store is not None

    def disk_full(*args: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.store, "event", disk_full)
    r = post(client, {"type": "CallArrived", "call_id": "c1", "queue": "support"})
    assert r.status_code == 503 and r.json()["error"] == "RuntimeFailed"
    assert "No space left" in r.json()["message"]
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["error"] == "RuntimeFailed"
    assert "acdcore_service_up 0.0" in client.get("/metrics", headers=auth(SUP)).text
    assert post(client, {"type": "CallEnded", "call_id": "c1"}).status_code == 503


def test_a_restart_still_knows_whose_calls_are_whose(tmp_path: Path, clock: Clock) -> None:
    base = make_config(tmp_path / "data")
    cfg = ServiceConfig(
        queues=base.queues,
        data_dir=base.data_dir,
        tokens=base.tokens,
        limits=base.limits,
        snapshot_every=2,  # the journal of alice's login and her call is soon trimmed
        snapshot_seconds=None,
    )
    with TestClient(create_app(cfg, clock=clock)) as client:
        login(client, "alice", ["support"])
        arrive(client, "c1")
        ok(client, {"type": "OfferAnswered", "call_id": "c1", "agent_id": "alice"}, ALICE)
        for i in range(10):
            clock.t += 1
            arrive(client, f"s{i}", "sales")
    with TestClient(create_app(cfg, clock=clock)) as client:
        store = service_of(client).store
        assert store is not None and store.segments()[0] > 5  # the login is gone from disk
        with client.websocket_connect("/stream", headers=ws_auth(ALICE)) as ws:
            ws.receive_json()
            ended = ok(client, {"type": "CallEnded", "call_id": "c1"}, ALICE)
            got = ws.receive_json()
            assert got["seq"] == ended["seq"] and got["event"]["call_id"] == "c1"


def test_serve_refuses_a_configuration_it_cannot_read(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn", reason="acdcore serve runs uvicorn (the 'service' extra)")
    from acdcore.service.server import serve

    path = tmp_path / "acd.toml"
    path.write_text("[service]\n")
    assert serve(path) == 2


def test_it_serves_http_and_websocket_over_real_sockets(config: ServiceConfig) -> None:
    uvicorn = pytest.importorskip("uvicorn", reason="acdcore serve runs uvicorn ('service')")
    sync_client = pytest.importorskip(
        "websockets.sync.client", reason="uvicorn's WebSocket support needs websockets"
    )
    import threading
    import urllib.request

    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=0, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started
        port = server.servers[0].sockets[0].getsockname()[1]
        with sync_client.connect(f"ws://127.0.0.1:{port}/stream?queue=support") as ws:
            ws.send(json.dumps({"token": MON}))
            assert "hello" in json.loads(ws.recv(timeout=5))
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/events",
                data=json.dumps(
                    {"type": "CallArrived", "call_id": "c1", "queue": "support"}
                ).encode(),
                headers={**auth(SUP), "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert json.load(response)["accepted"] is True
            assert json.loads(ws.recv(timeout=5))["event"]["call_id"] == "c1"
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()


def test_the_same_app_starts_again_after_a_stop(tmp_path: Path) -> None:
    """Found by the schema test: a second start replayed the journal into the
    distributor of the first and refused to start."""
    app = create_app(make_config(tmp_path))
    with TestClient(app) as client:
        assert (
            client.post(
                "/events",
                json={"type": "CallArrived", "call_id": "c1", "queue": "support"},
                headers=auth(SUP),
            ).status_code
            == 200
        )
    with TestClient(app) as client:
        assert client.get("/calls/c1", headers=auth(SUP)).status_code == 200


def test_an_agent_cannot_end_a_call_that_became_another_agents_while_queued(
    tmp_path: Path,
) -> None:
    """The review's find: alice's CallEnded passed the check when it arrived
    (c1 did not exist yet) and was applied after c1 arrived and bob answered
    it, ending bob's call. Permission is now checked again by the runtime,
    just before the event is applied, on the state it meets."""
    httpx = pytest.importorskip("httpx2")
    app = create_app(make_config(tmp_path), clock=Clock())
    service = app.state.service

    async def race() -> list[Any]:
        await service.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:

                async def post(ev: dict[str, Any], token: str = SUP) -> Any:
                    return await c.post("/events", json=ev, headers=auth(token))

                profile = {"agent_id": "bob", "queues": ["support"]}
                await post({"type": "AgentLoggedIn", "profile": profile})
                replies = await asyncio.gather(
                    post({"type": "CallArrived", "call_id": "c1", "queue": "support"}),
                    post({"type": "OfferAnswered", "call_id": "c1", "agent_id": "bob"}, BOB),
                    post({"type": "CallEnded", "call_id": "c1"}, ALICE),
                )
                return [*replies, service.distributor.agent("bob").state.value]
        finally:
            await service.stop()

    arrived, answered, ended, bob = asyncio.run(race())
    assert (arrived.status_code, answered.status_code) == (200, 200)
    assert ended.status_code == 403 and ended.json()["error"] == "NotPermitted"
    assert bob == "busy"  # still on the call alice tried to end


def test_requests_without_a_valid_token_are_rate_limited_by_address(tmp_path: Path) -> None:
    """The review's find: bad tokens were answered 401 without limit, and
    /health had no limit. Both are now charged to the client's address."""
    app = create_app(make_config(tmp_path, rate=0.01, burst=5), clock=Clock())
    with TestClient(app) as client:
        codes = [
            client.get("/counts", headers=auth("not-a-valid-token-000000")).status_code
            for _ in range(8)
        ]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        assert client.get("/counts", headers=auth(SUP)).status_code == 200  # its own bucket
    app = create_app(make_config(tmp_path / "h", rate=0.01, burst=3), clock=Clock())
    with TestClient(app) as client:
        assert [client.get("/health").status_code for _ in range(5)] == [200] * 3 + [429] * 2


def test_streams_waiting_for_a_token_are_capped(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acdcore.service.websocket as websocket

    monkeypatch.setattr(websocket, "MAX_UNAUTHENTICATED", 0)
    with client.websocket_connect("/stream") as ws:
        assert ws.receive_json()["error"] == "RateLimited"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4429


def test_an_agent_stream_resumed_from_the_journal_knows_calls_from_before_it(
    tmp_path: Path, clock: Clock
) -> None:
    """The review's find: reading back from the journal followed it only
    from its oldest kept segment, so the end of a call answered before that
    segment was not attributed to its agent and was missing from the agent's
    resumed stream. The read-back now starts from the snapshot the segment
    follows."""
    base = make_config(tmp_path / "data")
    cfg = ServiceConfig(
        queues=base.queues,
        data_dir=base.data_dir,
        tokens=base.tokens,
        limits=base.limits,
        snapshot_every=2,
        snapshot_seconds=None,
    )
    with TestClient(create_app(cfg, clock=clock)) as client:
        login(client, "alice", ["support"])
        arrive(client, "c1")
        ok(client, {"type": "OfferAnswered", "call_id": "c1", "agent_id": "alice"}, ALICE)
        for i in range(10):
            clock.t += 1
            arrive(client, f"s{i}", "sales")
        ended = ok(client, {"type": "CallEnded", "call_id": "c1"}, ALICE)
        store = service_of(client).store
        assert store is not None and 5 < store.segments()[0] <= ended["seq"]  # no answer kept
    with (
        TestClient(create_app(cfg, clock=clock)) as client,  # nothing in memory: from disk
        client.websocket_connect(f"/stream?since={ended['seq']}", headers=ws_auth(ALICE)) as ws,
    ):
        ws.receive_json()  # hello
        # Something for alice after it, so that a missing entry fails, never hangs.
        ok(client, {"type": "AgentPaused", "agent_id": "alice", "reason": "break"}, ALICE)
        got = ws.receive_json()
        assert got["seq"] == ended["seq"] and got["event"]["type"] == "CallEnded"
