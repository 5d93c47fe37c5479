"""``acdcore serve`` with a hot standby: two real service processes on one
real redis-server. The primary takes events; the standby (``--standby``)
follows, answers views, refuses events naming the primary; SIGKILL the
primary and the standby takes over with every call where it was; the
wallboard names the node and its role.

Skipped where redis-server, redis-py or the service's packages are missing;
under ACDCORE_REQUIRE_SERVERS=1 (CI) that fails instead.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import test_standby, test_wallboard

SUP = "supervisor-token-0123456789"
CONFIG = """
[service]
data_dir = "data-{node}"
snapshot_every = 50

[service.replication]
redis_url = "redis://127.0.0.1:{port}/0"
node = "{node}"
ttl = 1.5

[service.tokens]
"{sup}" = {{ role = "supervisor" }}

[[queues]]
name = "support"
ring_timeout = 30
wrap_up = 5
"""


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    s = test_standby.RedisServer(tmp_path)
    yield s
    s.stop()


def health(base: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {SUP}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Node:
    """One ``acdcore serve`` process."""

    def __init__(self, tmp: Path, name: str, redis_port: int, standby: bool) -> None:
        config = tmp / f"{name}.toml"
        config.write_text(CONFIG.format(node=name, port=redis_port, sup=SUP))
        self.port = test_wallboard._free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        args = [sys.executable, "-m", "acdcore", "serve", "--config", str(config)]
        args += ["--port", str(self.port)] + (["--standby"] if standby else [])
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)

    def until(self, role: str, timeout: float = 30) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                _, body = health(self.base)
                rep = body.get("replication") or {}
                if rep.get("role") == role:
                    return body
            except OSError:
                pass
            assert time.monotonic() < end, f"not {role} in {timeout}s: {self.log.read_text()}"
            time.sleep(0.02)


def test_serve_standby_follows_and_takes_over(server: Any, tmp_path: Path) -> None:
    for module in ("uvicorn", "starlette"):
        if importlib.util.find_spec(module) is None:
            test_wallboard._unavailable(f"the service needs {module} (the 'service' extra)")
    a = Node(tmp_path, "a", server.port, standby=False)
    b = None
    try:
        body = a.until("primary")
        assert body["status"] == "ok" and body["replication"]["epoch"] == 1
        b = Node(tmp_path, "b", server.port, standby=True)
        body = b.until("standby")
        assert body["status"] == "standby" and body["replication"]["leader"] == "1:a"
        login = {"type": "AgentLoggedIn", "profile": {"agent_id": "ann", "queues": ["support"]}}
        assert call(a.base, "POST", "/events", login)[0] == 200
        for i in range(3):
            event = {"type": "CallArrived", "call_id": f"c{i}", "queue": "support"}
            assert call(a.base, "POST", "/events", event)[0] == 200
        # The standby answers views from what it followed, and refuses events.
        end = time.monotonic() + 10
        while call(b.base, "GET", "/counts")[1] != call(a.base, "GET", "/counts")[1]:
            assert time.monotonic() < end, "the standby did not catch up"
            time.sleep(0.02)
        status, refusal = call(
            b.base, "POST", "/events", {"type": "CallAbandoned", "call_id": "c2"}
        )
        assert status == 503 and refusal["error"] == "Standby" and "1:a" in refusal["message"]
        # A second primary cannot start while a holds the lease.
        c = Node(tmp_path, "c", server.port, standby=False)
        assert c.proc.wait(timeout=30) != 0
        assert "holds the lease" in c.log.read_text()
        # SIGKILL the primary: b takes over, with every call where it was.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        body = b.until("primary", timeout=10)
        assert body["status"] == "ok" and body["replication"]["epoch"] >= 2
        counts = call(b.base, "GET", "/counts")[1]
        assert counts["arrived"] == 3 and counts["ringing"] == 1 and counts["waiting"] == 2
        status, _ = call(b.base, "POST", "/events", {"type": "CallAbandoned", "call_id": "c2"})
        assert status == 200
        assert call(b.base, "GET", "/counts")[1]["abandoned"] == 1
    finally:
        for node in (a, b):
            if node is not None:
                test_wallboard._stop(node.proc)


def test_the_wallboard_names_the_node_and_its_role(server: Any, tmp_path: Path) -> None:
    chromium = test_wallboard._chromium()
    if chromium is None:
        test_wallboard._unavailable("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        test_wallboard._unavailable("playwright is not installed (pip install playwright)")
    a = Node(tmp_path, "a", server.port, standby=False)
    b = None
    try:
        a.until("primary")
        b = Node(tmp_path, "b", server.port, standby=True)  # a standby takes a free lease
        b.until("standby")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(f"{b.base}/wallboard#token={SUP}")
                badge = page.locator("#node")
                expect(badge).to_have_text("standby: b, primary a", timeout=10_000)
                artifacts = Path(__file__).parent / "artifacts"
                artifacts.mkdir(exist_ok=True)
                page.screenshot(path=str(artifacts / "wallboard-standby.png"))
                a.proc.send_signal(signal.SIGKILL)
                a.proc.wait()
                expect(badge).to_have_text("primary: b (term 2)", timeout=15_000)
                expect(badge).to_have_attribute("data-role", "primary")
                page.screenshot(path=str(artifacts / "wallboard-takeover.png"))
            finally:
                browser.close()
    finally:
        for node in (a, b):
            if node is not None:
                test_wallboard._stop(node.proc)


def test_switching_replication_on_seeds_redis_from_the_data_directory(
    server: Any, tmp_path: Path
) -> None:
    """A deployment that ran without a standby keeps its calls when
    replication is switched on: Redis is empty, so the primary starts from
    its data directory and stores a snapshot a standby starts from."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from acdcore.service import create_app
    from acdcore.service.config import ServiceConfig

    def config(node: str, replicated: bool) -> ServiceConfig:
        data: dict[str, Any] = {
            "service": {
                "data_dir": f"data-{node}",
                "tokens": {SUP: {"role": "supervisor"}},
                "snapshot_seconds": False,
            },
            "queues": [{"name": "support", "ring_timeout": 30}],
        }
        if replicated:
            data["service"]["replication"] = {
                "redis_url": f"redis://127.0.0.1:{server.port}/0",
                "node": node,
                "ttl": 1.5,
            }
        return ServiceConfig.from_dict(data, base_dir=tmp_path)

    headers = {"Authorization": f"Bearer {SUP}"}
    with TestClient(create_app(config("a", replicated=False))) as plain:
        for i in range(3):
            event = {"type": "CallArrived", "call_id": f"c{i}", "queue": "support"}
            assert plain.post("/events", json=event, headers=headers).status_code == 200
        before = plain.get("/counts", headers=headers).json()
    assert before["waiting"] == 3
    with TestClient(create_app(config("a", replicated=True))) as primary:
        assert primary.get("/counts", headers=headers).json() == before
        assert server.client.exists("acdcore:snapshot")
        with TestClient(create_app(config("b", replicated=True), standby=True)) as standby:
            assert standby.get("/health").json()["replication"]["role"] == "standby"
            assert standby.get("/counts", headers=headers).json() == before
            event = {"type": "CallAbandoned", "call_id": "c1"}
            assert primary.post("/events", json=event, headers=headers).status_code == 200
            end = time.monotonic() + 10
            while standby.get("/counts", headers=headers).json()["abandoned"] != 1:
                assert time.monotonic() < end, "the standby did not follow"
                time.sleep(0.02)


@pytest.mark.parametrize(
    ("replication", "named"),
    [
        ({"node": "a"}, "service.replication.redis_url: missing"),
        ({"redis_url": "redis://x", "lease": 2}, "service.replication.lease: unknown key"),
        ({"redis_url": "http://x"}, "service.replication: redis_url must be a redis:// URL"),
        ({"redis_url": "redis://x", "ttl": 0.01}, "service.replication: ttl must be at least"),
    ],
)
def test_a_bad_replication_table_is_named(replication: dict[str, Any], named: str) -> None:
    from acdcore.errors import ConfigError
    from acdcore.service.config import ServiceConfig

    data = {
        "service": {
            "data_dir": "d",
            "tokens": {SUP: {"role": "supervisor"}},
            "replication": replication,
        },
        "queues": [{"name": "support"}],
    }
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        ServiceConfig.from_dict(data)
