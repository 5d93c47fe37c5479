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
from collections.abc import Callable
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
    Announce,
    CallState,
    CancelOffer,
    Distributor,
    Event,
    QueueConfig,
    Queued,
    Strategy,
)
from acdcore.adapters.ari import (  # noqa: E402
    AgentLeg,
    AriAdapter,
    cause_reason,
    dial_reason,
    prompt_media,
)
from acdcore.adapters.ari_client import AriClient, AriError, AriUnavailable  # noqa: E402
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
    path: Path | list[dict[str, Any]],
    cls: type[AriAdapter] = AriAdapter,
    request_wait: float = 15.0,
    seen: list[AriAdapter] | None = None,
) -> list[str]:
    """Run the adapter against the recording at ``path`` (or its entries);
    return what differs from the live run (empty: the same). The adapter is
    appended to ``seen``."""
    entries = load(path) if isinstance(path, Path) else path
    trace: list[str] = []
    fake = FakeAri(entries, request_wait=request_wait, response_wait=min(5.0, request_wait))
    header, outcome = fake.header, fake.outcome
    acd = make_distributor(header["case"])
    url = await fake.start()
    adapter = make_adapter(
        url, reconnect_min=header["reconnect_min"], cls=cls, instance=header["instance"]
    )
    if seen is not None:
        seen.append(adapter)

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
    if list(adapter.unrecovered) != outcome["unrecovered"]:
        failures.append(
            f"unrecovered: live {outcome['unrecovered']}, replay {list(adapter.unrecovered)}"
        )
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
    ("cls", "case", "expected"),
    [
        # b1's busy leg is bridged with the caller: a request Asterisk never got
        (
            BusyAnswers,
            "declined",
            "unexpected request: POST /bridges/{bridge}/addChannel"
            " {{'channel': '{call},{call}-b1-{instance}-1'}}",
        ),
        # r2's losing leg is left ringing: the DELETE Asterisk got never comes
        (KeepsLosers, "ring-all", "the adapter never sent DELETE /channels/{call}-r2-{instance}-1"),
    ],
    ids=["busy", "ring-all"],
)
def test_replay_catches_a_wrong_adapter(cls: type[AriAdapter], case: str, expected: str) -> None:
    """A replay is a real check: a wrong adapter fails it, for the wrong it does."""
    path = DATA / f"{case}.jsonl"
    header = load(path)[0]
    call = next(e["event"]["channel"]["id"] for e in load(path) if e["kind"] == "event")
    expected = expected.format(bridge=f"acd-{call}", call=call, instance=header["instance"])
    failures = asyncio.run(replay(path, cls, request_wait=1.0))
    assert any(f.startswith(expected) for f in failures), "\n".join(failures)
    assert any(f.startswith("acdcore trace differs") for f in failures)


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
    """Stands in for the ARI client: records requests, answers from a table
    (an exception is raised; an ``asyncio.Event`` is waited for, then the
    request answers ``None``: a request in flight)."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.answers = answers or {}

    async def request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        self.sent.append((method, path, {k: str(v) for k, v in (params or {}).items()}))
        answer = self.answers.get((method, path))
        if isinstance(answer, asyncio.Event):
            await answer.wait()
            return None
        if isinstance(answer, Exception):
            raise answer
        return answer

    retry = AriClient.retry  # the real retry logic, over the stub's request

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


async def settle(
    runtime: Runtime, cond: Callable[[], bool] = lambda: True, timeout: float = 2.0
) -> None:
    """Wait until the actions of the events submitted so far (and of what
    they set off) have been performed, and ``cond()`` holds; fail after
    ``timeout`` seconds."""

    def quiet() -> bool:
        return not runtime._performing and cond()

    await runtime.poke()
    await until(quiet, timeout, "the actions performed")


async def with_adapter(
    test: Any, strategy: Strategy = Strategy.LONGEST_IDLE, agents: tuple[str, ...] = ("a1",)
) -> None:
    acd = Distributor([QueueConfig("q", strategy=strategy, ring_timeout=30)])
    adapter = AriAdapter(
        "http://ari.invalid", "u", "p", endpoints=lambda a: f"PJSIP/{a}", instance="t0"
    )
    adapter.retry_delay = 0.001
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
        assert list(adapter.unrecovered) == []

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
            {"id": "old-a9-x-1", "state": "Up", "dialplan": stasis},
        ]
        stub.answers[("GET", "/bridges")] = [{"id": "acd-old", "channels": ["old", "old-a9-x-1"]}]
        await adapter.resync()
        assert acd.counts()["arrived"] == 0  # not queued: it is talking
        assert adapter.unrecovered and "old" in adapter.unrecovered[0]
        stub.sent.clear()
        await adapter.on_event({"type": "StasisEnd", "channel": {"id": "old"}})
        assert ("DELETE", "/channels/old-a9-x-1", {"reason": "normal"}) in stub.sent
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


# ---------------------------------------------------------------- robustness


def test_a_malformed_event_is_counted_and_skipped() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        for bad in MALFORMED:
            await adapter.on_event(bad)  # type: ignore[arg-type]
        assert adapter.counts["malformed"] == len(MALFORMED)
        assert acd.call("c1").state is CallState.RINGING  # nothing changed
        # A cause that is not a number is an unknown cause: the leg is still declined.
        await adapter.on_event({"type": "ChannelDestroyed", "cause": "?", "channel": {"id": leg}})
        assert acd.agent("a1").consecutive_misses == 1

    asyncio.run(with_adapter(test))


MALFORMED: list[Any] = [
    "not an object",
    [1, 2],
    {"type": "StasisStart", "args": ["support"], "channel": {"state": "Ring"}},  # no id
    {"type": "StasisStart", "args": 5, "channel": {"id": "zz"}},
    {"type": "Dial", "peer": "x", "dialstatus": "BUSY"},
    {"type": "StasisEnd", "channel": "abc"},
    {"type": "PlaybackFinished", "playback": 7},
]
"""Events a broken or hostile peer could send: each must be skipped."""


def test_serve_goes_on_after_malformed_events() -> None:
    """The answered case, with malformed events sent among the real ones
    right after the caller arrives: the replay still matches."""
    entries = load(DATA / "answered.jsonl")
    at = next(
        i
        for i, e in enumerate(entries)
        if e["kind"] == "event" and e["event"]["type"] == "StasisStart"
    )
    bad = [{"kind": "event", "event": e, "t": entries[at]["t"]} for e in MALFORMED]
    adapters: list[AriAdapter] = []
    failures = asyncio.run(replay(entries[: at + 1] + bad + entries[at + 1 :], seen=adapters))
    assert not failures, "\n".join(failures)
    assert adapters[0].counts["malformed"] == len(MALFORMED)


def test_leg_ids_carry_the_instance_and_attempts_are_forgotten() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        assert leg == "c1-a1-t0-1"
        assert adapter._attempts == {"c1": {"a1": 1}}
        await adapter.on_event({"type": "StasisEnd", "channel": {"id": "c1"}})
        await settle(rt)
        assert adapter._attempts == {} and not adapter.legs and not adapter.calls

    asyncio.run(with_adapter(test))
    a, b = (AriAdapter("http://ari.invalid", "u", "p") for _ in range(2))
    assert a.instance and a.instance != b.instance  # a restart never reuses ids


def test_a_cancel_while_the_originate_is_out_hangs_up_after_it() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        created = stub.answers[("POST", "/channels")] = asyncio.Event()
        await adapter.on_event(stasis_start("c1", "q"))
        await until(lambda: any(path == "/channels" for _, path, _ in stub.sent), 2, "originate")
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        await adapter.on_event({"type": "StasisEnd", "channel": {"id": "c1"}})  # caller gone
        await until(lambda: "action:CancelOffer" in adapter.counts, 2, "the cancel")
        assert ("DELETE", f"/channels/{leg}") not in [(m, p) for m, p, _ in stub.sent]
        created.set()  # Asterisk answers the originate: now it can be hung up
        await settle(rt)
        assert stub.sent[-1] == ("DELETE", f"/channels/{leg}", {"reason": "normal"})
        assert acd.counts()["abandoned"] == 1 and not adapter.legs

    asyncio.run(with_adapter(test))


@pytest.mark.parametrize(
    "failure",
    [AriError("POST", "/continue", 500, "boom"), AriUnavailable("refused")],
    ids=["5xx", "unreachable"],
)
def test_a_failed_continue_is_retried_then_the_caller_hung_up(failure: Exception) -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        stub.answers[("POST", "/channels/c9/continue")] = failure
        await adapter.on_event(stasis_start("c9", "nope"))  # unknown queue: rejected
        continues = [p for m, p, _ in stub.sent if p == "/channels/c9/continue"]
        assert len(continues) == adapter.continue_attempts == 3
        assert stub.sent[-1] == ("DELETE", "/channels/c9", {"reason": "normal"})
        assert len(adapter.unrecovered) == 1 and "c9" in adapter.unrecovered[0]

    asyncio.run(with_adapter(test))


def test_a_continue_to_a_caller_already_gone_is_not_retried() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        gone = AriError("POST", "/continue", 404, "Channel not found")
        stub.answers[("POST", "/channels/c9/continue")] = gone
        await adapter.on_event(stasis_start("c9", "nope"))
        assert [p for m, p, _ in stub.sent].count("/channels/c9/continue") == 1
        assert ("DELETE", "/channels/c9") not in [(m, p) for m, p, _ in stub.sent]
        assert list(adapter.unrecovered) == []

    asyncio.run(with_adapter(test))


def test_resync_reconciles_callers_before_their_legs() -> None:
    """The caller and its ringing leg both went while disconnected: the call
    is abandoned; it is not declined first and offered to the next agent."""

    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        assert [(m, p) for m, p, _ in stub.sent].count(("POST", "/channels")) == 1
        stub.answers[("GET", "/channels")] = []
        await adapter.resync()
        await settle(rt)
        assert acd.counts()["abandoned"] == 1
        assert [(m, p) for m, p, _ in stub.sent].count(("POST", "/channels")) == 1  # no re-offer
        assert acd.agent("a1").consecutive_misses == 0
        assert acd.agent("a2").consecutive_misses == 0
        assert not adapter.legs and not adapter.calls

    asyncio.run(with_adapter(test, agents=("a1", "a2")))


def test_a_failed_bridge_ends_the_call_and_hangs_up_both() -> None:
    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        failure = AriError("POST", "/addChannel", 500, "boom")
        stub.answers[("POST", "/bridges/acd-c1/addChannel")] = failure
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        await adapter.on_event(stasis_start(leg, "agent", "c1", "a1"))
        await settle(rt)
        sent = [(m, p) for m, p, _ in stub.sent]
        assert ("DELETE", f"/channels/{leg}") in sent and ("DELETE", "/channels/c1") in sent
        assert ("DELETE", "/bridges/acd-c1") in sent
        assert "c1" not in acd.live_calls() and acd.counts()["completed"] == 1
        assert len(adapter.unrecovered) == 1 and "could not bridge" in adapter.unrecovered[0]
        for cid in ("c1", leg):  # their ends change nothing more
            await adapter.on_event({"type": "StasisEnd", "channel": {"id": cid}})
        await settle(rt)
        assert acd.counts()["completed"] == 1

    asyncio.run(with_adapter(test))


@pytest.mark.parametrize("media", ["moh", "prompt"])
def test_media_started_while_the_caller_is_bridged_is_stopped(media: str) -> None:
    """Music or a prompt whose request is out when the agent answers is
    stopped once it returns, before the bridge is made."""

    async def test(adapter: AriAdapter, stub: StubClient, acd: Distributor, rt: Runtime) -> None:
        await adapter.on_event(stasis_start("c1", "q"))
        await settle(rt)
        leg = next(p["channelId"] for m, path, p in stub.sent if path == "/channels")
        call = adapter.calls["c1"]
        if media == "prompt":
            await settle(rt, lambda: call.moh)
            playback = f"c1-t0-p{call.prompts + 1}"
            out = stub.answers[("POST", f"/channels/c1/play/{playback}")] = asyncio.Event()
            action = Announce(
                at=0,
                call_id="c1",
                queue="q",
                position=1,
                wait=30.0,
                phrase="about 30 seconds",
                estimate=30.0,
                low=20.0,
                high=40.0,
                segment="",
                rotation=0,
            )
            task = asyncio.create_task(adapter.perform(action))
            stop = ("DELETE", f"/playbacks/{playback}")
        else:  # the music is (re)started: the caller's prompt finished
            call.moh = False
            out = stub.answers[("POST", "/channels/c1/moh")] = asyncio.Event()
            action = Queued(at=0, call_id="c1", queue="q", position=1, reason="declined")
            task = asyncio.create_task(adapter.perform(action))
            stop = ("DELETE", "/channels/c1/moh")
        await until(lambda: bool(out._waiters), 2, "the media request out")
        answered = asyncio.create_task(adapter.on_event(stasis_start(leg, "agent", "c1", "a1")))
        await until(lambda: call.state == "bridged", 2, "bridged in acdcore's eyes")
        assert ("POST", "/bridges") not in [(m, p) for m, p, _ in stub.sent]
        out.set()
        await asyncio.gather(task, answered)
        sent = [(m, p) for m, p, _ in stub.sent]
        assert stop in sent and sent.index(stop) < sent.index(("POST", "/bridges"))
        assert not call.moh and call.playback is None

    asyncio.run(with_adapter(test))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"ring_grace": -1.0}, "ring_grace"),
        ({"reconnect_min": 0}, "reconnect_min"),
        ({"reconnect_min": 1.0, "reconnect_max": 0.5}, "reconnect_max"),
    ],
)
def test_bad_adapter_settings_are_refused_by_name(kwargs: dict[str, Any], named: str) -> None:
    from acdcore import InvalidValue

    with pytest.raises(InvalidValue, match=named):
        AriAdapter("http://127.0.0.1:9", "u", "p", **kwargs)
