"""The native core's own contract: bad input at the C boundary comes back as
a typed AcdError and changes nothing; it never crashes the process."""

from __future__ import annotations

import math

import pytest

from acdcore import (
    AcdError,
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Distributor,
    InvalidValue,
    QueueConfig,
    native_available,
)

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: these tests are about the native core."""
    return str(request.param)


@pytest.fixture(autouse=True)
def hybrid(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the matching core behind the Python handlers
    (the path of configurations the C engine does not cover): engine off."""
    monkeypatch.setenv("ACDCORE_ENGINE", "0")


def _core() -> tuple[Distributor, object]:
    acd = Distributor([QueueConfig("q"), QueueConfig("r")], backend="native")
    acd.handle(AgentLoggedIn(now=0.0, profile=AgentProfile("a1", skills={"x": 3}, queues=["q"])))
    acd.handle(CallArrived(now=1.0, call_id="c1", queue="r"))
    assert acd._nat is not None
    return acd, acd._nat


def test_bad_indices_and_values_raise_typed_errors_and_change_nothing() -> None:
    acd, nat = _core()
    lib, core, ffi = nat.lib, nat.core, nat.ffi  # type: ignore[attr-defined]
    before = acd.snapshot()
    key = ffi.new("double[6]", [1.0] * 6)
    nan_key = ffi.new("double[6]", [math.nan] * 6)
    out = ffi.new("int[8]")
    weights = ffi.new("long long[8]")
    earliest = ffi.new("double *")
    zero = ffi.new("int[8]")
    refused = {
        "unknown queue": lambda: lib.acd_queue_set(core, 7, 0),
        "unknown strategy": lambda: lib.acd_queue_set(core, 0, 99),
        "unknown class": lambda: lib.acd_call_put(core, 9, 0, 999, key, 0.0, -1, 0.0),
        "NaN key": lambda: lib.acd_call_put(core, 9, 0, 0, nan_key, 0.0, -1, 0.0),
        "NaN entered": lambda: lib.acd_call_put(core, 9, 0, 0, key, math.nan, -1, 0.0),
        "free slot": lambda: lib.acd_call_remove(core, 12345),
        "negative slot": lambda: lib.acd_call_restage(core, -1, 0),
        "route unknown slot": lambda: lib.acd_route_call(
            core, 77, 1.0, -1, out, weights, 8, earliest
        ),
        "route with NaN now": lambda: lib.acd_route_agent(core, 0, 1, math.nan, 8, out, earliest),
        "unknown agent": lambda: lib.acd_agent_sync(
            core, 4242, 1, 0.0, 0.0, 0.0, 0, 0, ffi.NULL, ffi.NULL
        ),
        "bad channel": lambda: lib.acd_class_add(core, 0, zero, zero, 99, -1, 0, zero),
        "bad extra queue": lambda: lib.acd_class_add(
            core, 0, zero, ffi.new("int[1]", [50]), 0, -1, 1, ffi.new("int[1]", [50])
        ),
        "negative session count": lambda: lib.acd_agent_sync(
            core, 0, 1, 0.0, 0.0, 0.0, 0, -1, ffi.NULL, ffi.NULL
        ),
        "NULL outputs": lambda: lib.acd_match_agents(core, 1, zero, 1.0, 1, ffi.NULL, ffi.NULL),
    }
    for what, call in refused.items():
        rc = call()
        assert rc < 0, what
    assert acd.snapshot() == before
    acd.check()


def test_wrapper_turns_codes_into_acd_errors() -> None:
    acd, nat = _core()
    call = acd._calls["c1"]
    slot = call.slot
    call.slot = 999  # a slot the core never handed out
    with pytest.raises(InvalidValue, match="native core"):
        nat.restage(call)  # type: ignore[attr-defined]
    with pytest.raises(AcdError):
        nat.remove(call)  # type: ignore[attr-defined]
    call.slot = slot
    acd.check()


def test_decisions_resume_after_refusals() -> None:
    acd, _ = _core()
    acd.handle(AgentLoggedIn(now=2.0, profile=AgentProfile("a2", skills={"x": 1}, queues=["r"])))
    assert acd.call("c1").offered_to == ("a2",)


def test_capacity_is_bounded_when_configured() -> None:
    # Every backend holds a session count exactly; a huge capacity is refused
    # when the profile is built, not when the agent logs in.
    from acdcore import Channel, ConfigError

    with pytest.raises(ConfigError, match="capacity"):
        AgentProfile("a", capacity={Channel.CHAT: 2**40})


def test_many_sessions_fit_the_native_buffers() -> None:
    from acdcore import Channel, OfferAnswered

    acd = Distributor([QueueConfig("q")], backend="native")
    prof = AgentProfile("a", queues=["q"], capacity={Channel.CHAT: 100}, exclusive=[])
    acd.handle(AgentLoggedIn(now=0.0, profile=prof))
    for i in range(100):
        acd.handle(CallArrived(now=1.0, call_id=f"c{i}", queue="q", channel=Channel.CHAT))
        acd.handle(OfferAnswered(now=1.0, call_id=f"c{i}", agent_id="a"))
    acd.handle(CallArrived(now=1.0, call_id="late", queue="q", channel=Channel.CHAT))
    assert acd.call("late").state.value == "waiting"
    acd.check()
