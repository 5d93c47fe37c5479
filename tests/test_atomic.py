"""A refused event leaves nothing behind.

After a random valid run (any queue configuration and routing plan), events
whose fields hold hostile values (numbers beyond a float, NaN, infinities,
-0.0, bools, None, strings where numbers go, containers, unicode, very long
strings), and advances and estimates with such values, must either work (and
keep every invariant) or raise an :class:`AcdError` that leaves the snapshot
exactly as it was. Nothing else may come out of ``handle``, ``advance`` or a read.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acdcore import (
    FIFO,
    AccumulatingPriority,
    AcdError,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallTransferred,
    Channel,
    Distributor,
    InvalidValue,
    LearnedEstimator,
    OfferAnswered,
    OfferDeclined,
    PriorityClasses,
    QueueConfig,
    RoutingPlan,
    SkillRequirement,
)

from .test_determinism import AGENTS, drive, ops, setups

HUGE = 10**400

hostile_scalars = st.one_of(
    st.sampled_from(
        [
            HUGE,
            -HUGE,
            2**53 + 1,
            2**60,
            float("nan"),
            float("inf"),
            float("-inf"),
            -0.0,
            0,
            -1,
            1e308,
            5e-324,
            True,
            False,
            None,
            "",
            "x" * 10_000,
            "é\u200b\U0001f4de",
            "5",
            b"bytes",
        ]
    ),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
)
hostile = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=3), hostile_scalars), inner, max_size=3),
        st.frozensets(st.sampled_from([1, "a", None]), max_size=2),
    ),
    max_leaves=5,
)
ids = st.one_of(st.sampled_from([f"c{i}" for i in range(6)] + list(AGENTS)), hostile)
queues = st.one_of(st.sampled_from(["sales", "support", "vip", "nowhere"]), hostile)
instants = st.one_of(st.sampled_from([0.0, 5.0, 1e9, 1e300]), hostile)
# Advances stay within reach: advancing a queue with periodic announcements
# to 1e300 s is valid and would fire a deadline every few seconds until then.
advance_to = st.one_of(
    st.sampled_from([0.0, 5.0, 100.0, 1000.0]),
    st.sampled_from([HUGE, -HUGE, float("nan"), float("inf"), -0.0, True, None, "5", [1.0]]),
)
attributes = st.one_of(
    st.dictionaries(
        st.sampled_from(["caller", "intent", "am", "region", "customer_value", "urgency"]),
        hostile,
        max_size=4,
    ),
    hostile,
)


def _maybe(value: st.SearchStrategy[Any], fallback: st.SearchStrategy[Any]) -> Any:
    """Mostly a sane value, sometimes a hostile one (so that one field at a
    time is the bad one and the others pass their checks)."""
    return st.one_of(fallback, fallback, value)


sane_now = st.sampled_from([30.0, 100.0, 1000.0])


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    """An event of any type with hostile values in some fields, or ``None``
    if its constructor refused them (with an AcdError; anything else fails)."""
    now = draw(_maybe(instants, sane_now))
    cid = draw(_maybe(ids, st.sampled_from([f"c{i}" for i in range(6)])))
    aid = draw(_maybe(ids, st.sampled_from(AGENTS)))
    queue = draw(_maybe(queues, st.sampled_from(["sales", "support"])))
    kind = draw(st.integers(0, 13))
    build: Any
    if kind == 0:
        build = lambda: CallArrived(  # noqa: E731
            now=now,
            call_id=cid,
            queue=queue,
            channel=draw(_maybe(hostile, st.just(Channel.VOICE))),
            attributes=draw(_maybe(attributes, st.just({}))),
            requirement=draw(
                _maybe(hostile, st.sampled_from([None, SkillRequirement({"tech": 3})]))
            ),
            priority=draw(_maybe(hostile, st.integers(0, 3))),
            emergency=draw(_maybe(hostile, st.booleans())),
            preferred_agent=draw(_maybe(ids, st.none())),
        )
    elif kind == 1:
        build = lambda: CallAbandoned(now=now, call_id=cid)  # noqa: E731
    elif kind == 2:
        build = lambda: OfferAnswered(now=now, call_id=cid, agent_id=aid)  # noqa: E731
    elif kind == 3:
        reason = draw(_maybe(hostile, st.just("busy")))
        build = lambda: OfferDeclined(now=now, call_id=cid, agent_id=aid, reason=reason)  # noqa: E731
    elif kind == 4:
        build = lambda: CallEnded(now=now, call_id=cid)  # noqa: E731
    elif kind == 5:
        keep = draw(_maybe(hostile, st.booleans()))
        req = draw(_maybe(hostile, st.none()))
        build = lambda: CallTransferred(  # noqa: E731
            now=now, call_id=cid, queue=queue, keep_arrival=keep, requirement=req
        )
    elif kind == 6:
        skills = draw(_maybe(hostile, st.just({"tech": 5})))
        served = draw(_maybe(hostile, st.just(["sales"])))
        capacity = draw(_maybe(hostile, st.just({Channel.VOICE: 1})))
        region = draw(_maybe(hostile, st.none()))
        build = lambda: AgentLoggedIn(  # noqa: E731
            now=now,
            profile=AgentProfile(
                aid, skills=skills, queues=served, capacity=capacity, region=region
            ),
        )
    elif kind == 7:
        build = lambda: AgentLoggedOut(now=now, agent_id=aid)  # noqa: E731
    elif kind == 8:
        reason = draw(_maybe(hostile, st.just("break")))
        build = lambda: AgentPaused(now=now, agent_id=aid, reason=reason)  # noqa: E731
    elif kind == 9:
        build = lambda: AgentResumed(now=now, agent_id=aid)  # noqa: E731
    elif kind == 10:
        skills = draw(_maybe(hostile, st.just({"tech": 5})))
        build = lambda: AgentSkillsChanged(now=now, agent_id=aid, skills=skills)  # noqa: E731
    elif kind == 11:
        number = draw(_maybe(hostile, st.none()))
        build = lambda: CallbackRequested(now=now, call_id=cid, number=number)  # noqa: E731
    elif kind == 12:
        build = lambda: CallbackUnanswered(now=now, call_id=cid)  # noqa: E731
    else:
        build = lambda: CallbackCancelled(now=now, call_id=cid)  # noqa: E731
    try:
        return build()
    except AcdError:
        return None  # refused when built: fine


probes = st.lists(
    st.one_of(
        hostile_events(),
        st.tuples(st.just("advance"), advance_to),
        st.tuples(st.just("estimate_new"), queues, hostile, attributes),
    ),
    min_size=1,
    max_size=6,
)


@settings(deadline=None)  # examples: the profile's (ci 400, soak as set)
@given(
    setup=setups(),
    steps=ops,
    probes=probes,
)
def test_bad_input_raises_an_acd_error_and_changes_nothing(
    setup: tuple[list[QueueConfig], RoutingPlan | None, int],
    steps: list[tuple[int, int, float]],
    probes: list[Any],
) -> None:
    configs, plan, seed = setup
    acd = Distributor(configs, rng=random.Random(seed), plan=plan)
    drive(acd, steps, read=False)
    for probe in probes:
        if probe is None:
            continue
        acd.advance(acd.now)  # a deadline armed at the clock's instant fires first
        before = acd.snapshot()
        try:
            if isinstance(probe, tuple) and probe[0] == "advance":
                acd.advance(probe[1])
            elif isinstance(probe, tuple):
                _, queue, priority, attrs = probe
                acd.estimate_new(queue, priority=priority, attributes=attrs)
                assert acd.snapshot() == before, "estimate_new changed the state"
            else:
                acd.handle(probe)
        except AcdError:
            assert acd.snapshot() == before, f"refused {probe!r} changed the state"
        acd.check()


@pytest.mark.parametrize(
    "priority",
    [2**53 + 1, -(2**60), 10**400, 10**5000, 1.5, True, None],
    ids=["2**53+1", "-2**60", "10**400", "10**5000", "1.5", "True", "None"],
)
@pytest.mark.parametrize("policy", [FIFO(), PriorityClasses(), AccumulatingPriority()])
def test_a_priority_is_an_int_within_2_53_whatever_the_policy(
    priority: object, policy: object
) -> None:
    """The issue's examples: priority 10**400 under accumulating priority once
    raised OverflowError; under FIFO it was accepted. One rule now refuses it
    everywhere, and the message stays one short line (10**5000 has no repr)."""
    acd = Distributor(
        [QueueConfig("q", policy=policy)],  # type: ignore[arg-type]
        estimators=[LearnedEstimator()],
    )
    before = acd.snapshot()
    with pytest.raises(InvalidValue, match="priority must be an int") as err:
        acd.handle(CallArrived(now=0, call_id="c", queue="q", priority=priority))  # type: ignore[arg-type]
    assert len(str(err.value)) < 120
    assert acd.snapshot() == before
    with pytest.raises(InvalidValue, match="priority must be an int"):
        acd.estimate_new("q", priority=priority)  # type: ignore[arg-type]
