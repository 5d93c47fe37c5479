"""The wallboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The service runs as ``acdcore serve`` in a subprocess (uvicorn on a free
port of 127.0.0.1); the page is opened with a monitor token in its address;
agents and calls are driven through the HTTP API with the supervisor token,
and after each step the test waits until the page, updated from the
WebSocket stream, shows the new numbers: calls waiting, agents by state,
the paused agent's reason, service level and abandon rate. A screenshot is
kept as ``tests/artifacts/wallboard.png`` (a CI artifact).

Skipped when Chromium or Playwright is missing, unless
``ACDCORE_REQUIRE_SERVERS=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SUP = "wallboard-supervisor-token-0123456789"
MON = "wallboard-monitor-token-0123456789"
ARTIFACT = Path(__file__).parent / "artifacts" / "wallboard.png"
START_TIMEOUT = 30.0  # seconds for the service to answer /health
STEP_TIMEOUT = 10_000  # milliseconds for the page to show a step's numbers

CONFIG = f"""
[service]
data_dir = "data"
flush = "flush"
snapshot_seconds = false

[service.limits]
rate = 10000.0
burst = 10000

[service.tokens]
"{SUP}" = {{ role = "supervisor" }}
"{MON}" = {{ role = "monitor" }}

[service_level]
threshold = 20
target = 0.8

[[queues]]
name = "support"
ring_timeout = 300
wrap_up = 600

[[queues]]
name = "sales"
ring_timeout = 300
wrap_up = 600

[plan]
default = {{ queue = "support" }}
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _unavailable(reason: str) -> None:
    """Skip, or fail where CI requires the browser test to run."""
    if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":
        pytest.fail(f"ACDCORE_REQUIRE_SERVERS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(params=["python"])  # the service's subprocess picks its own backend
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """The service's HTTP API, with a token (urllib: no extra dependency)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()}") from None

    def event(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.request("POST", "/events", event)
        return answer


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """``acdcore serve`` in a subprocess; yields its base URL once /health answers."""
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None:
        _unavailable("the service needs starlette and uvicorn (the 'service' extra)")
    config = tmp_path / "acd.toml"
    config.write_text(CONFIG)
    port = _free_port()
    log = (tmp_path / "service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "acdcore", "serve", "--config", str(config), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the service exited with {proc.returncode}:\n"
                    + (tmp_path / "service.log").read_text(errors="replace")
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(base + "/health", timeout=1) as r,
            ):
                if r.status == 200 and json.load(r).get("status") == "ok":
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"the service did not answer /health in {START_TIMEOUT}s")
            time.sleep(0.05)
        yield base
    finally:
        _stop(proc)
        log.close()
    # uvicorn re-raises the SIGTERM it caught once the app has shut down, so
    # the exit is 0 or -SIGTERM; what matters is that the shutdown completed.
    text = (tmp_path / "service.log").read_text(errors="replace")
    assert proc.returncode in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text, text


@pytest.fixture
def chromium() -> str:
    """The system Chromium's path (checked before the service starts)."""
    path = _chromium()
    if path is None:
        _unavailable("Chromium is not installed (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        _unavailable("playwright is not installed (pip install playwright)")
    assert path is not None
    return path


def test_the_wallboard_follows_calls_and_agents_live(chromium: str, service: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    api = Api(service, SUP)
    expect.set_options(timeout=STEP_TIMEOUT)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{service}/wallboard#token={MON}")

            def row(queue: str) -> Any:
                return page.locator("#queues tr").filter(
                    has=page.locator("td:first-child", has_text=re.compile(f"^{queue}$"))
                )

            def cell(queue: str, column: int) -> Any:
                return row(queue).locator("td").nth(column)

            def counts(**states: int) -> None:
                """The agents in each state (wrap_up for wrap-up)."""
                for state, n in states.items():
                    tile = page.locator(f'#counts [data-state="{state.replace("_", "-")}"]')
                    expect(tile.locator("b")).to_have_text(str(n))

            def agent(agent_id: str) -> Any:
                return page.locator(f'#agents .agent[data-agent="{agent_id}"]')

            # The page connects to the stream and shows both queues, empty.
            expect(page.locator("#status")).to_have_text("live")
            expect(page.locator("#board")).to_be_visible()
            assert page.url.endswith("/wallboard"), "the token stays out of the address"
            for queue in ("support", "sales"):
                expect(cell(queue, 1)).to_have_text("0")  # waiting
                expect(cell(queue, 2)).to_have_text("-")  # longest wait (waiting or ringing)
                expect(cell(queue, 4)).to_have_text("80%")  # target
            counts(available=0, ringing=0, busy=0, wrap_up=0, paused=0)
            expect(page.locator("#agents .agent")).to_have_count(0)

            # Three agents log in: all available.
            for name in ("alice", "bob", "carol"):
                api.event(
                    {"type": "AgentLoggedIn", "profile": {"agent_id": name, "queues": ["support"]}}
                )
            counts(available=3, ringing=0, busy=0, wrap_up=0, paused=0)
            expect(page.locator("#agents .agent.available")).to_have_count(3)

            # A call arrives: offered to one agent, who rings; nobody waits.
            actions = api.event({"type": "CallArrived", "call_id": "c1", "queue": "support"})
            first = next(a["agent_id"] for a in actions["actions"] if a["type"] == "Offer")
            counts(available=2, ringing=1)
            expect(agent(first)).to_have_class(re.compile(r"\bringing\b"))
            expect(cell("support", 1)).to_have_text("0")
            expect(cell("support", 7)).to_have_text("1")  # agents on calls (ringing too)

            # The agent answers: on a call; the call counts as answered within
            # the threshold, so the service level is 100%, above its target.
            api.event({"type": "OfferAnswered", "call_id": "c1", "agent_id": first})
            counts(available=2, ringing=0, busy=1)
            expect(agent(first)).to_have_class(re.compile(r"\bbusy\b"))
            expect(agent(first).locator("small")).to_have_text("on a call")
            expect(page.locator('#counts [data-state="busy"] span')).to_have_text("on a call")
            expect(cell("support", 3)).to_have_text("100%")
            expect(cell("support", 3)).to_have_class("ok")
            expect(cell("support", 5)).to_have_text("0%")  # abandoned

            # A free agent pauses for lunch: the reason is on the board.
            pauser = next(a for a in ("alice", "bob", "carol") if a != first)
            api.event({"type": "AgentPaused", "agent_id": pauser, "reason": "lunch"})
            counts(available=1, busy=1, paused=1)
            expect(agent(pauser)).to_have_class(re.compile(r"\bpaused\b"))
            expect(agent(pauser).locator("small")).to_have_text("paused: lunch")

            # Two more calls: one rings the last free agent, one waits; the
            # wait keeps counting, and a new caller's wait is estimated.
            api.event({"type": "CallArrived", "call_id": "c2", "queue": "support"})
            api.event({"type": "CallArrived", "call_id": "c3", "queue": "support"})
            counts(available=0, ringing=1, busy=1, paused=1)
            expect(cell("support", 1)).to_have_text("1")
            expect(cell("support", 1)).to_have_class("warn")
            expect(cell("support", 2)).to_have_text(re.compile(r"^\d+s$"))  # longest wait
            expect(cell("support", 7)).to_have_text("2")
            expect(cell("sales", 1)).to_have_text("0")
            kpis = api.request("GET", "/kpis")["queues"]["support"]
            assert kpis["waiting"] == 1
            if kpis["estimated_wait"]["known"]:
                expect(cell("support", 6)).to_have_text(re.compile(r"^\d+(s|m\d\d)$"))

            # The first call ends: its agent wraps up.
            api.event({"type": "CallEnded", "call_id": "c1"})
            counts(busy=0, wrap_up=1)
            expect(agent(first)).to_have_class(re.compile(r"\bwrap-up\b"))

            # The waiting caller hangs up: nobody waits, the abandon rate rises.
            api.event({"type": "CallAbandoned", "call_id": "c3"})
            expect(cell("support", 1)).to_have_text("0")
            expect(cell("support", 1)).not_to_have_class("warn")
            kpis = api.request("GET", "/kpis")["queues"]["support"]
            assert kpis["abandoned"] == 1 and kpis["abandon_rate"] > 0
            expect(cell("support", 5)).to_have_text(f"{round(kpis['abandon_rate'] * 100)}%")
            expect(cell("support", 5)).not_to_have_text("0%")

            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACT), full_page=True)
            shutil.copyfile(ARTIFACT, "/tmp/wallboard.png")
            assert not errors, errors
        finally:
            browser.close()
