"""Bad input: a typed error naming what was wrong, and no change of state."""

from __future__ import annotations

import contextlib
import math
import random
import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import acdcore
from acdcore import (
    AcdError,
    AdvanceRequired,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallEnded,
    Channel,
    ConfigError,
    Distributor,
    DuplicateCall,
    Event,
    InvalidAgentState,
    InvalidCallState,
    InvalidValue,
    NoAnswerPolicy,
    NoSuchOffer,
    OfferAnswered,
    OfferDeclined,
    QueueConfig,
    QueueMembership,
    SkillRequirement,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)

from .helpers import feed


def busy_distributor() -> Distributor:
    """A distributor with an agent in every state and calls in every state.

    At t=10: ``ring`` rings agent ``r``; ``talk`` is connected to ``b``;
    ``w1`` waits; ``p`` is paused; ``o`` is logged out; ``wu`` is in wrap-up.
    """
    acd = Distributor(
        [QueueConfig("q", wrap_up=100, ring_timeout=50), QueueConfig("other")],
        rng=random.Random(1),
    )
    feed(
        acd,
        AgentLoggedIn(now=0, profile=AgentProfile("b", queues=["q"])),
        CallArrived(now=1, call_id="talk", queue="q"),
        OfferAnswered(now=2, call_id="talk", agent_id="b"),
        AgentLoggedIn(now=3, profile=AgentProfile("wu", queues=["q"])),
        CallArrived(now=3, call_id="done", queue="q"),
        OfferAnswered(now=4, call_id="done", agent_id="wu"),
        CallEnded(now=5, call_id="done"),
        AgentLoggedIn(now=6, profile=AgentProfile("r", queues=["q"])),
        CallArrived(now=7, call_id="ring", queue="q"),
        CallArrived(now=8, call_id="w1", queue="q"),
        AgentLoggedIn(now=9, profile=AgentProfile("p", queues=["other"])),
        AgentPaused(now=9, agent_id="p", reason="lunch"),
        AgentLoggedIn(now=9, profile=AgentProfile("o", queues=["other"])),
        AgentLoggedOut(now=9, agent_id="o"),
    )
    acd.advance(10)
    return acd


BAD_EVENTS: list[tuple[str, type[AcdError], Callable[[], Event], str]] = [
    ("unknown queue", UnknownQueue, lambda: CallArrived(now=10, call_id="n", queue="nope"), "nope"),
    ("duplicate call", DuplicateCall, lambda: CallArrived(now=10, call_id="w1", queue="q"), "w1"),
    (
        "duplicate ringing",
        DuplicateCall,
        lambda: CallArrived(now=10, call_id="ring", queue="q"),
        "ringing",
    ),
    ("time backwards", TimeWentBackwards, lambda: CallArrived(now=9, call_id="n", queue="q"), "9"),
    ("NaN time", InvalidValue, lambda: CallArrived(now=math.nan, call_id="n", queue="q"), "nan"),
    ("infinite time", InvalidValue, lambda: AgentPaused(now=math.inf, agent_id="b"), "inf"),
    (
        "bool priority",
        InvalidValue,
        lambda: CallArrived(now=10, call_id="n", queue="q", priority=True),
        "priority",
    ),
    (
        "bad channel",
        InvalidValue,
        lambda: CallArrived(now=10, call_id="n", queue="q", channel="fax"),
        "fax",
    ),  # type: ignore[arg-type]
    ("empty call id", InvalidValue, lambda: CallArrived(now=10, call_id="", queue="q"), "call_id"),
    ("unhashable id", InvalidValue, lambda: CallAbandoned(now=10, call_id=["x"]), "call_id"),  # type: ignore[arg-type]
    ("unknown call", UnknownCall, lambda: CallAbandoned(now=10, call_id="ghost"), "ghost"),
    (
        "abandon connected",
        InvalidCallState,
        lambda: CallAbandoned(now=10, call_id="talk"),
        "connected",
    ),
    ("end a waiting call", InvalidCallState, lambda: CallEnded(now=10, call_id="w1"), "waiting"),
    ("end a ringing call", InvalidCallState, lambda: CallEnded(now=10, call_id="ring"), "ringing"),
    (
        "answer never offered",
        NoSuchOffer,
        lambda: OfferAnswered(now=10, call_id="w1", agent_id="r"),
        "w1",
    ),
    (
        "answer by wrong agent",
        NoSuchOffer,
        lambda: OfferAnswered(now=10, call_id="ring", agent_id="b"),
        "'b'",
    ),
    (
        "answer twice",
        NoSuchOffer,
        lambda: OfferAnswered(now=10, call_id="talk", agent_id="b"),
        "connected",
    ),
    (
        "decline never offered",
        NoSuchOffer,
        lambda: OfferDeclined(now=10, call_id="talk", agent_id="r"),
        "talk",
    ),
    (
        "answer unknown agent",
        UnknownAgent,
        lambda: OfferAnswered(now=10, call_id="ring", agent_id="zz"),
        "zz",
    ),
    (
        "login twice",
        InvalidAgentState,
        lambda: AgentLoggedIn(now=10, profile=AgentProfile("b", queues=["q"])),
        "already logged in",
    ),
    (
        "login to unknown queue",
        UnknownQueue,
        lambda: AgentLoggedIn(now=10, profile=AgentProfile("n", queues=["nope"])),
        "nope",
    ),
    (
        "logout logged out",
        InvalidAgentState,
        lambda: AgentLoggedOut(now=10, agent_id="o"),
        "not logged in",
    ),
    ("logout unknown", UnknownAgent, lambda: AgentLoggedOut(now=10, agent_id="zz"), "zz"),
    (
        "pause logged out",
        InvalidAgentState,
        lambda: AgentPaused(now=10, agent_id="o"),
        "logged out",
    ),
    (
        "empty pause reason",
        InvalidValue,
        lambda: AgentPaused(now=10, agent_id="b", reason=""),
        "reason",
    ),
    ("resume available", InvalidAgentState, lambda: AgentResumed(now=10, agent_id="r"), "ringing"),
    (
        "resume logged out",
        InvalidAgentState,
        lambda: AgentResumed(now=10, agent_id="o"),
        "logged-out",
    ),
    (
        "skill too high",
        InvalidValue,
        lambda: AgentSkillsChanged(now=10, agent_id="b", skills={"x": 11}),
        "11",
    ),
    (
        "skill zero",
        InvalidValue,
        lambda: AgentSkillsChanged(now=10, agent_id="b", skills={"x": 0}),
        "x",
    ),
    (
        "skill not int",
        InvalidValue,
        lambda: AgentSkillsChanged(now=10, agent_id="b", skills={"x": 2.5}),
        "2.5",
    ),
    (
        "skills unknown agent",
        UnknownAgent,
        lambda: AgentSkillsChanged(now=10, agent_id="zz", skills={}),
        "zz",
    ),
    ("not an event", InvalidValue, lambda: "CallArrived", "not an acdcore event"),  # type: ignore[return-value]
]


@pytest.mark.parametrize(
    ("name", "error", "make", "mentions"), BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS]
)
def test_bad_event_raises_typed_error_and_changes_nothing(
    name: str, error: type[AcdError], make: Callable[[], Event], mentions: str
) -> None:
    acd = busy_distributor()
    before = acd.snapshot()
    with pytest.raises(error) as info:
        acd.handle(make())
    assert isinstance(info.value, AcdError)
    assert mentions.lower() in str(info.value).lower(), str(info.value)
    assert acd.snapshot() == before
    acd.check()


def test_errors_also_subclass_the_builtin_they_resemble() -> None:
    assert issubclass(UnknownCall, KeyError)
    assert issubclass(UnknownAgent, KeyError)
    assert issubclass(UnknownQueue, KeyError)
    assert issubclass(DuplicateCall, ValueError)
    assert issubclass(InvalidValue, ValueError)
    assert issubclass(NoSuchOffer, LookupError)
    assert str(UnknownCall("no live call 'x'")) == "no live call 'x'"  # not KeyError's quoting


def test_an_event_past_a_due_deadline_requires_advance_first() -> None:
    acd = busy_distributor()
    due = acd.next_deadline()
    assert due is not None
    before = acd.snapshot()
    with pytest.raises(AdvanceRequired, match="advance"):
        acd.handle(CallArrived(now=due, call_id="n", queue="q"))
    assert acd.snapshot() == before
    acd.advance(due)
    acd.handle(CallArrived(now=due, call_id="n", queue="q"))
    acd.check()


@attrs.frozen(kw_only=True)
class _Unhandled(Event):
    """An event type the distributor has no handler for."""

    call_id: str


@attrs.frozen(kw_only=True)
class _ArrivedSubclass(CallArrived):
    """A subclass of a handled type: handled by exact type only, so refused."""


def test_an_event_type_without_a_handler_is_refused_after_the_common_checks() -> None:
    # handle() looks an event's handlers up by its exact type; any other
    # Event is refused with the first error the common checks find, in the
    # order a handled type meets them (instant, clock, deadline, ids), then
    # for having no handler, and nothing changes.
    acd = busy_distributor()
    before = acd.snapshot()
    due = acd.next_deadline()
    assert due is not None
    cases: list[tuple[Event, type[AcdError], str]] = [
        (_Unhandled(now=math.nan, call_id=""), InvalidValue, "_Unhandled.now"),
        (_Unhandled(now=9, call_id=""), TimeWentBackwards, "before the distributor's clock"),
        (_Unhandled(now=due, call_id=""), AdvanceRequired, "advance"),
        (_Unhandled(now=10, call_id=""), InvalidValue, "_Unhandled.call_id"),
        (_Unhandled(now=10, call_id="x"), InvalidValue, "no handler for event type _Unhandled"),
        (_ArrivedSubclass(now=10, call_id="", queue="q"), InvalidValue, "call_id"),
        (
            _ArrivedSubclass(now=10, call_id="n", queue="q"),
            InvalidValue,
            "no handler for event type _ArrivedSubclass",
        ),
    ]
    for event, error, mentions in cases:
        with pytest.raises(error, match=re.escape(mentions)):
            acd.handle(event)
        assert acd.snapshot() == before
    acd.check()


def test_advance_backwards_or_to_nan_changes_nothing() -> None:
    acd = busy_distributor()
    before = acd.snapshot()
    with pytest.raises(TimeWentBackwards):
        acd.advance(9.5)
    with pytest.raises(InvalidValue):
        acd.advance(math.nan)
    assert acd.snapshot() == before


def test_an_answer_after_the_ring_timeout_is_refused() -> None:
    acd = busy_distributor()
    acd.advance(57)  # "ring" was offered at 7 with a 50 s timeout
    before = acd.snapshot()
    with pytest.raises(NoSuchOffer, match="ring"):
        acd.handle(OfferAnswered(now=57, call_id="ring", agent_id="r"))
    assert acd.snapshot() == before


@pytest.mark.parametrize(
    "build",
    [
        lambda: QueueConfig(""),
        lambda: QueueConfig("q", ring_timeout=0),
        lambda: QueueConfig("q", ring_timeout=-1),
        lambda: QueueConfig("q", wrap_up=math.nan),
        lambda: QueueConfig("q", max_length=-1),
        lambda: QueueConfig("q", max_length=1.5),
        lambda: QueueConfig("q", strategy="fifo"),
        lambda: QueueConfig("q", policy="fifo"),
        lambda: QueueConfig("q", requirement={"x": 0}),
        lambda: QueueConfig("q", preferred_agent_wait=-5),
        lambda: NoAnswerPolicy(delay=-1),
        lambda: NoAnswerPolicy(auto_pause_after=0),
        lambda: NoAnswerPolicy(pause_reason=""),
        lambda: QueueMembership(delay=math.inf),
        lambda: QueueMembership(weight=0),
        lambda: QueueMembership(priority=1.5),
        lambda: AgentProfile(""),
        lambda: AgentProfile("a", skills={"x": 11}),
        lambda: AgentProfile("a", queues="sales"),
        lambda: AgentProfile("a", capacity={"voice": 1}),
        lambda: AgentProfile("a", capacity={Channel.CHAT: -1}),
        lambda: AgentProfile("a", exclusive={"voice"}),
        lambda: Distributor([]),
        lambda: Distributor([QueueConfig("q"), QueueConfig("q")]),
        lambda: Distributor(QueueConfig("q")),
        lambda: Distributor([QueueConfig("q")], start=math.nan),
        lambda: Distributor([QueueConfig("q")], rng=42),
        lambda: Distributor([QueueConfig("q")], remember_callers=-1),
    ],
)
def test_bad_configuration_fails_when_built(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        build()


def test_bad_requirement_in_an_event_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValue, match="11"):
        CallArrived(now=0, call_id="c", queue="q", requirement={"x": 11})
    with pytest.raises(InvalidValue):
        SkillRequirement({"": 3})


JUNK = [5, 1.5, object(), [[1]], {1: 2}, 10**400, math.nan, {"x": 10**400}, [10**400]]

WRONG_SHAPES: list[tuple[str, Callable[[Any], object]]] = [
    ("QueueConfig.requirement", lambda v: QueueConfig("q", requirement=v)),
    ("AgentProfile.skills", lambda v: AgentProfile("a", skills=v)),
    ("AgentProfile.queues", lambda v: AgentProfile("a", queues=v)),
    ("AgentProfile.capacity", lambda v: AgentProfile("a", capacity=v)),
    ("AgentProfile.exclusive", lambda v: AgentProfile("a", exclusive=v)),
    ("SkillRequirement", lambda v: SkillRequirement(v)),
    ("CallArrived.attributes", lambda v: CallArrived(now=0, call_id="c", queue="q", attributes=v)),
    ("AgentSkillsChanged.skills", lambda v: AgentSkillsChanged(now=0, agent_id="a", skills=v)),
    ("Distributor.skills", lambda v: Distributor([QueueConfig("q")], skills=v)),
    ("ValueUrgencyMatrix", lambda v: acdcore.ValueUrgencyMatrix(v)),
    (
        "RoutingPlan.rules",
        lambda v: acdcore.RoutingPlan(rules=v, default=acdcore.Rule("d", queue="q")),
    ),
    ("Step.add_queues", lambda v: acdcore.Step(add_queues=v)),
    ("Rule.steps", lambda v: acdcore.Rule("r", queue="q", steps=v)),
    ("Rule.attributes", lambda v: acdcore.Rule("r", queue="q", attributes=v)),
    ("contains", lambda v: acdcore.condition_from_dict({"contains": ["a", v]})),
    ("Schedule.holidays", lambda v: acdcore.Schedule("UTC", hours={}, holidays=v)),
    ("Metrics.queues", lambda v: acdcore.Metrics(v)),
    ("Scenario.from_toml", lambda v: acdcore.Scenario.from_toml(v)),
]


@pytest.mark.parametrize(("name", "build"), WRONG_SHAPES, ids=[w[0] for w in WRONG_SHAPES])
def test_a_wrongly_shaped_argument_is_a_typed_error(
    name: str, build: Callable[[Any], object]
) -> None:
    for junk in JUNK:
        # Anything but a typed error escapes and fails the test; accepting an
        # odd but valid value is fine.
        with contextlib.suppress(AcdError):
            build(junk)


def test_queries_with_unhashable_ids_are_typed_errors() -> None:
    acd = busy_distributor()
    for query in (acd.call, acd.agent, acd.explain):
        with pytest.raises((UnknownCall, UnknownAgent)):
            query(["x"])  # type: ignore[arg-type]
    with pytest.raises(UnknownQueue):
        acd.waiting(["q"])  # type: ignore[arg-type]


def test_order_sensitive_lists_refuse_sets() -> None:
    with pytest.raises(ConfigError, match="ordered list"):
        acdcore.Step(add_queues={"a", "b"})
