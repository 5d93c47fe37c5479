"""The Asterisk (ARI) adapter against recorded real traffic, and its mapping.

Each ``tests/data/ari/<case>.jsonl`` is what a real Asterisk said to the
adapter in one live case (``tests/ari_live.py`` writes them; see
docs/asterisk.md to re-record). Here the adapter runs against
``tests/ari_fake.py`` replaying one: it must send the same requests and end
with the same acdcore decisions (events and actions, in order) as live.
Two deliberately wrong adapters must fail that replay.

Needs httpx and websockets (the ``asterisk`` extra) and starlette and
uvicorn (the fake server): skipped without them, except under
``ACDCORE_REQUIRE_SERVERS=1`` (CI), where a missing one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

_MISSING = [m for m in ("httpx", "websockets", "starlette", "uvicorn") if not find_spec(m)]
if _MISSING:
    _WHY = f"the ARI tests need {', '.join(_MISSING)} (pip install 'acdcore[asterisk]' and 'test')"
    if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":  # CI: never pass by skipping
        raise ImportError(f"ACDCORE_REQUIRE_SERVERS=1 but {_WHY}")
    pytest.skip(_WHY, allow_module_level=True)

from acdcore import (  # noqa: E402
    Action,
    AgentLoggedIn,
    AgentProfile,
    CallState,
    CancelOffer,
    Distributor,
    Event,
    QueueConfig,
    Strategy,
)
from acdcore.adapters.ari import (  # noqa: E402
    AgentLeg,
    AriAdapter,
    cause_reason,
    dial_reason,
    prompt_media,
)
from acdcore.adapters.ari_client import AriError  # noqa: E402
from acdcore.runtime import Runtime  # noqa: E402

from .ari_fake import FakeAri, load  # noqa: E402
from .ari_live import DATA, describe, make_adapter, make_distributor, until  # noqa: E402

RECORDINGS = sorted(DATA.glob("*.jsonl"))
EXPECTED_CASES = {
    "answered",
    "abandoned",
    "declined",
    "ring-timeout",
    "overflow",
    "rejected",
    "ring-all",
    "reconnect",
}


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    """The replays run real time: once, on the Python backend."""
    return str(request.param)


# ---------------------------------------------------------------- replay


async def replay(
    path: Path, cls: type[AriAdapter] = AriAdapter, request_wait: float = 15.0
) -> list[str]:
    """Run the adapter against the recording at ``path``; return what differs
    from the live run (empty: the same)."""
    entries = load(path)
    trace: list[str] = []
    fake = FakeAri(entries, request_wait=request_wait, response_wait=min(5.0, request_wait))
    header, outcome = fake.header, fake.outcome
    acd = make_distributor(header["case"])
    url = await fake.start()
    adapter = make_adapter(url, reconnect_min=header["reconnect_min"], cls=cls)

    def observe(event: Event | None, actions: list[Action]) -> None:
        if event is not None:
            trace.append(describe(event))
        trace.extend(describe(a) for a in actions)

    runtime = Runtime(acd, adapter, observe=observe)

    async def on_acd(entry: dict[str, Any]) -> None:
        assert entry["op"] == "login"
        profile = AgentProfile(entry["agent"], queues=entry["queues"])
        await runtime.submit(AgentLoggedIn(now=0, profile=profile))

    fake.on_acd = on_acd
    failures: list[str] = []
    async with runtime:
        fake.begin()
        serve = asyncio.create_task(adapter.serve(runtime))
        try:
            await fake.finished(timeout=60)
        except Exception as exc:
            failures.append(f"replay stopped at entry {fake.cursor}: {exc!r}")
        else:  # the last events may still be on their way to the distributor
            with contextlib.suppress(TimeoutError):
                await until(lambda: len(trace) >= len(outcome["trace"]), 5, "the live trace")
        await adapter.close()
        await asyncio.wait_for(serve, 10)
    await fake.stop()
    if trace != outcome["trace"]:
        failures.append(f"acdcore trace differs:\n live:   {outcome['trace']}\n replay: {trace}")
    if acd.counts() != outcome["counts"]:
        failures.append(f"counts differ: live {outcome['counts']}, replay {acd.counts()}")
    if adapter.unrecovered != outcome["unrecovered"]:
        failures.append(f"unrecovered: live {outcome['unrecovered']}, replay {adapter.unrecovered}")
    failures += [f"unexpected request: {u}" for u in fake.unexpected]
    failures += [f"request not sent: {m}" for m in fake.missing()]
    failures += fake.problems
    return failures


def test_every_case_is_recorded() -> None:
    """The suite covers every live case, each from a real Asterisk."""
    cases = {load(p)[0]["case"]: load(p)[0] for p in RECORDINGS}
    assert set(cases) == EXPECTED_CASES
    for header in cases.values():
        assert header["asterisk"].startswith("22."), header


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_replay(path: Path) -> None:
    """The adapter says what it said to the real Asterisk and decides the same."""
    failures = asyncio.run(replay(path))
    assert not failures, "\n".join(failures)


class BusyAnswers(AriAdapter):
    """Wrong: takes a busy agent for an answer."""

    async def _leg_failed(self, leg: AgentLeg, reason: str) -> None:
        if reason == "busy":
            await self._leg_answered(leg.leg_id)
        else:
            await super()._leg_failed(leg, reason)


class KeepsLosers(AriAdapter):
    """Wrong: lets the ring-all losers ring on."""

    async def perform(self, action: Action) -> None:
        if isinstance(action, CancelOffer) and action.reason == "answered-elsewhere":
            return
        await super().perform(action)


@pytest.mark.parametrize(
    ("cls", "case"),
    [(BusyAnswers, "declined"), (KeepsLosers, "ring-all")],
    ids=["busy", "ring-all"],
)
def test_replay_catches_a_wrong_adapter(cls: type[AriAdapter], case: str) -> None:
    """A replay is a real check: a wrong adapter fails it."""
    failures = asyncio.run(replay(DATA / f"{case}.jsonl", cls, request_wait=1.0))
    assert failures


# ---------------------------------------------------------------- the mapping, no server


def test_reasons() -> None:
    assert dial_reason("BUSY") == "busy"
    assert dial_reason("NOANSWER") == "no-answer"
    assert dial_reason("CHANUNAVAIL") == dial_reason("CONGESTION") == "unreachable"
    assert dial_reason("RINGING") is None and dial_reason("ANSWER") is None
    assert dial_reason("CANCEL") is None
    assert cause_reason(17) == "busy"
    assert cause_reason(19) == "no-answer"
    assert cause_reason(21) == "declined"
    assert cause_reason(0) == "unreachable"


def test_prompts_are_asterisk_core_sounds() -> None:
    assert prompt_media(1, math.inf) == ["sound:queue-youarenext", "sound:queue-thankyou"]
    assert prompt_media(3, 45) == [
        "sound:queue-thereare",
        "number:3",
        "sound:queue-holdtime",
        "number:45",
        "sound:queue-seconds",
        "sound:queue-thankyou",
    ]
    assert prompt_media(2, 60)[3:5] == ["number:1", "sound:queue-minute"]
    assert prompt_media(2, 300)[3:5] == ["number:5", "sound:queue-minutes"]


class StubClient:
    """Stands in for the ARI client: records requests, answers from a table."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.answers = answers or {}

    async def request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.sent.append((method, path, {k: str(v) for k, v in (params or {}).items()}))
        answer = self.answers.get((method, path))
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params)

    async def post(self, path: str, **params: Any) -> Any:
        return await self.request("POST", path, params)

    async def delete(self, path: str, **params: Any) -> Any:
        return await self.request("DELETE", path, params)


def stasis_start(cid: str, *args: str) -> dict[str, Any]:
    return {
        "type": "StasisStart",
        "args": list(args),
        "channel": {"id": cid, "state": "Ring", "caller": {"number": "555", "name": ""}},
    }


async def settle(runtime: Runtime) -> None:
    """Let the actions of the events submitted so far be performed."""
    await runtime.poke()
    for _ in range(5):
        await asyncio.sleep(0)


async def with_adapter(
    test: Any, strategy: Strategy = Strategy.LONGEST_IDLE, agents: tuple[str, ...] = ("a1",)
) -> None:
    acd = Distributor([QueueConfig("q", strategy=strategy, ring_timeout=30)])
    adapter = AriAdapter("http://ari.invalid", "u", "p", endpoints=lambda a: f"PJSIP/{a}")
    stub = StubClient()
    adapter.client = stub  # type: ignore[assignment]
    runtime = Runtime(acd, adapter)
    adapter._runtime = runtime
    async with runtime:
        for a in agents:
            await runtime.submit(AgentLoggedIn(now=0, profile=AgentProfile(a, queues=["q"])))
        await test(adapter, stub, acd, runtime)


def test_busy_dial_is_a_declined_offer() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        originate = next(p for m, path, p in stub.sent if (m, path) == ("POST", "/channels"))
        assert originate["endpoint"] == "PJSIP/a1" and originate["timeout"] == "32"
        assert originate["appArgs"] == "agent,c1,a1"
        leg = originate["channelId"]
        await adapter.on_event({"type": "Dial", "dialstatus": "BUSY", "peer": {"id": leg}})
        await adapter.on_event({"type": "ChannelDestroyed", "cause": 0, "channel": {"id": leg}})
        assert acd.call("c1").state is CallState.WAITING
        assert acd.agent("a1").consecutive_misses == 1

    asyncio.run(with_adapter(test))


def test_answer_after_cancel_hangs_up_the_leg() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        await adapter.perform(CancelOffer(at=0, call_id="c1", agent_id="a1", reason="ring-timeout"))
        assert ("DELETE", f"/channels/{leg}", {"reason": "no_answer"}) in stub.sent
        stub.sent.clear()
        await adapter.on_event(stasis_start(leg, "agent", "c1", "a1"))
        assert stub.sent == [("DELETE", f"/channels/{leg}", {"reason": "normal"})]

    asyncio.run(with_adapter(test))


def test_caller_hangup_while_ringing_all_abandons_and_hangs_up_legs() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        legs = [p["channelId"] for m, path, p in stub.sent if path == "/channels"]
        assert len(legs) == 2
        await adapter.on_event({"type": "StasisEnd", "channel": {"id": "c1"}})
        await settle(rt)
        assert acd.counts()["abandoned"] == 1
        deleted = {path for m, path, p in stub.sent if m == "DELETE"}
        assert {f"/channels/{leg}" for leg in legs} <= deleted

    asyncio.run(with_adapter(test, Strategy.RING_ALL, ("a1", "a2")))


def test_unknown_queue_continues_the_caller() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c9", "nope"))
        assert (
            "POST",
            "/channels/c9/continue",
            {"context": "acd-exit", "extension": "reject", "priority": "1"},
        ) in stub.sent
        assert "c9" not in adapter.calls or adapter.calls["c9"].state == "leaving"

    asyncio.run(with_adapter(test))


def test_failed_originate_is_unreachable() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        stub.answers[("POST", "/channels")] = AriError("POST", "/channels", 400, "bad endpoint")
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        await until(lambda: acd.agent("a1").consecutive_misses == 1, 2, "the miss")
        assert acd.call("c1").state is CallState.WAITING
        assert not adapter.legs

    asyncio.run(with_adapter(test))


def test_resync_abandons_callers_gone_and_declines_lost_legs() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await adapter.on_event(stasis_start("c2", "q"))
        await settle(rt)
        assert acd.call("c1").state is CallState.RINGING
        # While disconnected: c1's leg and c2 vanished; c3 entered the app.
        stub.answers[("GET", "/channels")] = [
            {"id": "c1", "state": "Up", "dialplan": {"app_name": "Stasis", "app_data": "acd,q"}},
            {
                "id": "c3",
                "state": "Ring",
                "caller": {"number": "777"},
                "dialplan": {"app_name": "Stasis", "app_data": "acd,q"},
            },
        ]
        await adapter.resync()
        await settle(rt)
        assert acd.counts()["abandoned"] == 1  # c2
        assert acd.agent("a1").consecutive_misses == 1  # c1's leg: unreachable
        assert "c3" in acd.live_calls()
        assert adapter.unrecovered == []

    asyncio.run(with_adapter(test))


def test_resync_follows_a_connected_call_again_after_a_restart() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        await adapter.on_event(stasis_start(leg, "agent", "c1", "a1"))
        assert acd.call("c1").state is CallState.CONNECTED
        # A new adapter (a restart) on the same distributor: it knows nothing.
        fresh = AriAdapter("http://ari.invalid", "u", "p", endpoints=lambda a: f"PJSIP/{a}")
        fresh.client = stub  # type: ignore[assignment]
        fresh._runtime = rt
        stasis = {"app_name": "Stasis", "app_data": "acd,q"}
        stub.answers[("GET", "/channels")] = [
            {"id": "c1", "state": "Up", "dialplan": stasis},
            {"id": leg, "state": "Up", "dialplan": {"app_name": "Stasis", "app_data": "acd"}},
        ]
        stub.answers[("GET", "/bridges")] = [{"id": "acd-c1", "channels": ["c1", leg]}]
        await fresh.resync()
        assert fresh.calls["c1"].state == "bridged" and fresh.legs[leg].state == "answered"
        stub.sent.clear()
        await fresh.on_event({"type": "StasisEnd", "channel": {"id": leg}})
        assert acd.counts()["completed"] == 1
        assert ("DELETE", "/channels/c1", {"reason": "normal"}) in stub.sent
        assert ("DELETE", "/bridges/acd-c1", {}) in stub.sent

    asyncio.run(with_adapter(test))


def test_resync_follows_a_talk_acdcore_does_not_know_until_it_ends() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        stasis = {"app_name": "Stasis", "app_data": "acd,q"}
        stub.answers[("GET", "/channels")] = [
            {"id": "old", "state": "Up", "dialplan": stasis},
            {"id": "old-a9-1", "state": "Up", "dialplan": stasis},
        ]
        stub.answers[("GET", "/bridges")] = [{"id": "acd-old", "channels": ["old", "old-a9-1"]}]
        await adapter.resync()
        assert acd.counts()["arrived"] == 0  # not queued: it is talking
        assert adapter.unrecovered and "old" in adapter.unrecovered[0]
        stub.sent.clear()
        await adapter.on_event({"type": "StasisEnd", "channel": {"id": "old"}})
        assert ("DELETE", "/channels/old-a9-1", {"reason": "normal"}) in stub.sent
        assert ("DELETE", "/bridges/acd-old", {}) in stub.sent

    asyncio.run(with_adapter(test))


def test_release_callers_sends_waiting_callers_back_to_the_dialplan() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        await adapter.release_callers()
        await settle(rt)
        assert acd.counts()["abandoned"] == 1
        assert (
            "POST",
            "/channels/c1/continue",
            {"context": "acd-exit", "extension": "unavailable", "priority": "1"},
        ) in stub.sent
        assert not adapter.legs

    asyncio.run(with_adapter(test, agents=("a1",)))


def test_the_example_exits_2_when_asterisk_is_unreachable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    example = Path(__file__).resolve().parent.parent / "examples" / "asterisk_ari.py"
    out = subprocess.run(
        [sys.executable, str(example), "--url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert "cannot reach Asterisk" in out.stderr
