"""Routing plans: rule matching, relaxation timing, exits, schedules, surge,
transfers, preferred agents, load guard, explanations and bad plans."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from acdcore import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentProfile,
    Alert,
    All,
    Any_,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallState,
    CallTransferred,
    CancelOffer,
    Compare,
    ConfigError,
    Contains,
    Distributor,
    Equals,
    Exit,
    InvalidCallState,
    LoadGuard,
    NoAnswerPolicy,
    Not,
    OfferAnswered,
    OfferDeclined,
    OneOf,
    Overflow,
    PreferredAgent,
    PreferredAgentBusy,
    Present,
    PriorityClasses,
    QueueConfig,
    Queued,
    QueueRules,
    Reject,
    RoutingPlan,
    Rule,
    Schedule,
    SelfService,
    Step,
    Surge,
    SurgeMode,
    UnknownQueue,
)

from .helpers import feed, of_type, offers, run_until

QUEUES = [
    QueueConfig("sales", requirement={"sales": 1}),
    QueueConfig("billing", policy=PriorityClasses(), requirement={"billing": 8}),
    QueueConfig("general"),
    QueueConfig("supervisors", policy=PriorityClasses()),
]


def login(now: float, agent_id: str, queues: Any, **kw: Any) -> AgentLoggedIn:
    return AgentLoggedIn(now=now, profile=AgentProfile(agent_id, queues=queues, **kw))


def arrive(now: float, call_id: str, queue: str = "general", **kw: Any) -> CallArrived:
    return CallArrived(now=now, call_id=call_id, queue=queue, **kw)


def plan_of(*rules: Rule, **kw: Any) -> RoutingPlan:
    return RoutingPlan(rules=rules, default=Rule("default", queue="general"), **kw)


class Ctx:
    def schedule_open(self, name: str, now: float) -> bool:
        return name == "open"


# --------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "attributes", "expected"),
    [
        (Equals("intent", "refund"), {"intent": "refund"}, True),
        (Equals("intent", "refund"), {"intent": "Refund"}, False),
        (Equals("intent", "refund"), {}, False),
        (OneOf("tier", {"gold", "vip"}), {"tier": "vip"}, True),
        (OneOf("tier", {"gold", "vip"}), {"tier": ["vip"]}, False),
        (Compare("anger", ">=", 8), {"anger": 8}, True),
        (Compare("anger", ">=", 8), {"anger": 7.9}, False),
        (Compare("anger", ">=", 8), {"anger": "9"}, False),
        (Compare("anger", ">=", 8), {"anger": True}, False),
        (Present("account_manager"), {"account_manager": "pat"}, True),
        (Present("account_manager"), {"account_manager": None}, False),
        (Contains("transcript", ["complaint", "safety"]), {"transcript": "A SAFETY issue"}, True),
        (Contains("transcript", ["complaint"]), {"transcript": "hello"}, False),
        (All((Equals("a", 1), Equals("b", 2))), {"a": 1, "b": 2}, True),
        (All((Equals("a", 1), Equals("b", 2))), {"a": 1}, False),
        (Any_((Equals("a", 1), Equals("b", 2))), {"b": 2}, True),
        (Not(Equals("a", 1)), {"a": 2}, True),
    ],
)
def test_condition_matching(condition: Any, attributes: dict[str, Any], expected: bool) -> None:
    assert condition.matches(attributes, 0.0, Ctx()) is expected


def test_conditions_from_dict_match_their_objects() -> None:
    from acdcore import condition_from_dict

    spec = {
        "any": [
            {"contains": ["transcript", ["complaint", "urgent"]]},
            {"ge": ["anger", 8]},
            {"all": [{"eq": ["tier", "vip"]}, {"not": {"in": ["intent", ["spam"]]}}]},
            {"present": "flag"},
            {"open": "open"},
        ]
    }
    cond = condition_from_dict(spec)
    assert cond.matches({"anger": 9}, 0, Ctx())
    assert cond.matches({"tier": "vip", "intent": "x"}, 0, Ctx())
    assert not cond.matches({"tier": "vip", "intent": "spam"}, 0, _Closed())
    assert cond.matches({}, 0, Ctx())  # the "open" schedule
    assert not cond.matches({}, 0, _Closed())


class _Closed:
    def schedule_open(self, name: str, now: float) -> bool:
        return False


def test_rules_are_tried_in_order_and_set_queue_priority_and_alert() -> None:
    plan = plan_of(
        Rule(
            "emergency",
            when=Any_(
                (
                    Contains("transcript", ["complaint", "urgent", "safety"]),
                    Compare("anger", ">=", 8),
                )
            ),
            queue="supervisors",
            emergency=True,
            alert="listen in",
        ),
        Rule("vip", when=OneOf("tier", {"vip"}), queue="billing", priority=10),
        Rule("refund", when=Equals("intent", "refund"), queue="billing"),
    )
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(
        acd,
        arrive(0, "c1", attributes={"intent": "refund"}),
        arrive(1, "c2", attributes={"intent": "refund", "tier": "vip"}),
        arrive(2, "c3", attributes={"intent": "refund", "anger": 9}),
        arrive(3, "c4", attributes={"intent": "other"}),
    )
    queued = {a.call_id: (a.queue, a.rule) for a in of_type(acts, Queued)}  # type: ignore[attr-defined]
    assert queued == {
        "c1": ("billing", "refund"),
        "c2": ("billing", "vip"),
        "c3": ("supervisors", "emergency"),
        "c4": ("general", "default"),
    }
    assert acd.waiting("billing") == ["c2", "c1"]  # priority 10 from the vip rule
    assert of_type(acts, Alert) == [
        Alert(at=2.0, call_id="c3", queue="supervisors", rule="emergency", message="listen in")
    ]
    assert acd.call("c3").emergency


def test_rule_attributes_feed_the_queue_policy() -> None:
    from acdcore import ValueUrgencyMatrix

    queues = [QueueConfig("general", policy=ValueUrgencyMatrix([[0, 1], [2, 3]]))]
    plan = RoutingPlan(
        rules=(
            Rule(
                "vip", when=Equals("tier", "vip"), queue="general", attributes={"customer_value": 1}
            ),
        ),
        default=Rule("default", queue="general"),
    )
    acd = Distributor(queues, plan=plan)
    feed(acd, arrive(0, "plain"), arrive(1, "vip", attributes={"tier": "vip"}))
    assert acd.waiting("general") == ["vip", "plain"]


# --------------------------------------------------------------- relaxation


def relaxing_plan() -> RoutingPlan:
    return plan_of(
        Rule(
            "billing",
            when=Equals("intent", "billing"),
            queue="billing",
            steps=(
                Step(expires_after=30),  # the queue's billing >= 8
                Step(requirement={"billing": 5}, expires_after=60),
                Step(requirement={"billing": 5}, add_queues=("general",), expires_after=90),
            ),
        )
    )


def test_steps_relax_at_exact_instants_counted_from_arrival() -> None:
    acd = Distributor(QUEUES, plan=relaxing_plan())
    feed(
        acd,
        login(0, "junior", ["billing"], skills={"billing": 5}),
        login(0, "helper", ["general"], skills={"billing": 5}),
        login(0, "novice", ["billing"], skills={"billing": 1}),
        arrive(10, "c1", attributes={"intent": "billing"}),
    )
    assert acd.explain("c1").reason == "no-eligible-agent"
    assert acd.explain("c1").next_relaxation_at == 40.0
    assert acd.next_deadline() == 40.0
    assert offers(run_until(acd, 39.999)) == []
    acts = run_until(acd, 40)
    assert offers(acts) == [("c1", "junior")]
    assert acts[0].at == 40.0  # type: ignore[attr-defined]
    view = acd.explain("c1")
    assert (view.step, view.requirement) == (1, (("billing", 5),))


def test_added_queues_and_the_final_open_stage() -> None:
    acd = Distributor(QUEUES, plan=relaxing_plan())
    feed(
        acd,
        login(0, "helper", ["general"], skills={"billing": 5}),
        login(0, "novice", ["billing"], skills={"billing": 1}),
        arrive(0, "c1", attributes={"intent": "billing"}),
    )
    assert offers(run_until(acd, 59)) == []
    assert offers(run_until(acd, 60)) == [("c1", "helper")]  # general's agent borrowed
    feed(acd, OfferDeclined(now=61, call_id="c1", agent_id="helper"))
    feed(acd, AgentLoggedOut(now=61, agent_id="helper"))
    # All steps expire at 90: any agent of the queue, the novice included.
    assert offers(run_until(acd, 90)) == [("c1", "novice")]
    assert acd.explain("c1").requirement == ()


def test_a_borrowed_agent_finds_the_call_when_it_frees_up() -> None:
    acd = Distributor(QUEUES, plan=relaxing_plan())
    feed(
        acd,
        login(0, "helper", ["general"], skills={"billing": 5}),
        arrive(0, "g1", "general"),
        OfferAnswered(now=1, call_id="g1", agent_id="helper"),
        arrive(2, "c1", attributes={"intent": "billing"}),
    )
    run_until(acd, 70)  # c1 now accepts general's agents, but helper is busy
    assert acd.explain("c1").reason == "all-busy"
    acts = feed(acd, CallEnded(now=75, call_id="g1"))
    assert offers(acts) == [("c1", "helper")]


def test_skip_if_empty_skips_a_step_nobody_could_serve() -> None:
    plan = plan_of(
        Rule(
            "r",
            when=Present("x"),
            queue="billing",
            steps=(
                Step(expires_after=60, skip_if_empty=True),
                Step(requirement={"billing": 2}, expires_after=120),
            ),
        )
    )
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(
        acd,
        login(0, "a", ["billing"], skills={"billing": 3}),
        arrive(1, "c1", "billing", attributes={"x": 1}),
    )
    assert offers(acts) == [("c1", "a")]  # step 0 had nobody with billing >= 8


def test_regional_step_prefers_the_callers_region_then_widens() -> None:
    plan = plan_of(
        Rule(
            "regional",
            when=Present("region"),
            queue="general",
            steps=(Step(regional=True, expires_after=20), Step()),
        )
    )
    acd = Distributor(QUEUES, plan=plan)
    feed(
        acd,
        login(0, "far", ["general"], region="south"),
        arrive(1, "c1", attributes={"region": "north"}),
    )
    assert acd.explain("c1").regional
    acts = feed(acd, login(5, "near", ["general"], region="north"))
    assert offers(acts) == [("c1", "near")]
    feed(acd, OfferAnswered(now=5.5, call_id="c1", agent_id="near"))
    feed(acd, arrive(6, "c2", attributes={"region": "north"}))
    assert offers(run_until(acd, 25.9)) == []
    assert offers(run_until(acd, 26)) == [("c2", "far")]


# ----------------------------------------------------------------- exits


def test_max_wait_exits_at_exactly_the_limit() -> None:
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="sales"),
        queues={
            "sales": QueueRules(max_wait=60, on_max_wait=Exit("queue", "general")),
            "general": QueueRules(max_wait=30, on_max_wait=Exit("destination", "voicemail")),
        },
    )
    acd = Distributor(QUEUES, plan=plan)
    feed(acd, arrive(0, "s1", "sales"), arrive(10, "s2", "sales"))
    assert acd.next_deadline() == 60.0
    acts = run_until(acd, 60)
    assert acts[0] == Overflow(
        at=60.0, call_id="s1", queue="sales", target_queue="general", reason="max-wait"
    )
    assert acd.call("s1").queue == "general"
    acts = run_until(acd, 90)
    assert (
        Overflow(at=90.0, call_id="s1", queue="general", destination="voicemail", reason="max-wait")
        in acts
    )
    run_until(acd, 200)
    counts = acd.counts()
    assert counts["overflowed"] == 2 and counts["waiting"] == 0


def test_a_call_back_from_a_ring_past_its_max_wait_exits_at_once() -> None:
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="general"),
        queues={"general": QueueRules(max_wait=20, on_max_wait=Exit("self-service"))},
    )
    acd = Distributor(
        [QueueConfig("general", ring_timeout=15, no_answer=NoAnswerPolicy(delay=60))], plan=plan
    )
    feed(acd, login(0, "a", ["general"]), arrive(10, "c1"))
    run_until(acd, 25)  # rings out at 25 and waits again; its maximum is reached at 10 + 20
    assert acd.call("c1").state is CallState.WAITING
    acts = run_until(acd, 30)
    assert of_type(acts, SelfService) == [
        SelfService(at=30.0, call_id="c1", queue="general", reason="max-wait")
    ]


def test_join_empty_and_leave_empty() -> None:
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="sales"),
        queues={
            "sales": QueueRules(
                join_empty=Exit("destination", "voicemail"), leave_empty=Exit("queue", "general")
            )
        },
    )
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(acd, arrive(0, "c0", "sales"))
    assert of_type(acts, Overflow) == [
        Overflow(at=0.0, call_id="c0", queue="sales", destination="voicemail", reason="join-empty")
    ]
    feed(
        acd,
        login(1, "a", ["sales"], skills={"sales": 5}),
        arrive(2, "c1", "sales"),
        arrive(3, "c2", "sales"),
        arrive(4, "c3", "sales"),
    )
    acts = feed(acd, AgentLoggedOut(now=5, agent_id="a"))
    moved = [(a.call_id, a.target_queue) for a in of_type(acts, Overflow)]  # type: ignore[attr-defined]
    # c2 and c3 were waiting; c1 was ringing the agent and follows when requeued.
    assert moved == [("c2", "general"), ("c3", "general"), ("c1", "general")]
    assert acd.waiting("general") == ["c1", "c2", "c3"]  # arrival order kept


def test_rule_exit_sends_a_call_straight_to_self_service() -> None:
    plan = plan_of(Rule("faq", when=Equals("intent", "opening hours"), exit=Exit("self-service")))
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(acd, arrive(0, "c1", attributes={"intent": "opening hours"}))
    assert acts == [SelfService(at=0.0, call_id="c1", queue="general", reason="rule")]
    assert acd.counts()["self-service"] == 1


# --------------------------------------------------------------- schedules

BERLIN = ZoneInfo("Europe/Berlin")


def unix(y: int, mo: int, d: int, h: int, mi: int = 0, tz: ZoneInfo = BERLIN) -> float:
    return dt.datetime(y, mo, d, h, mi, tzinfo=tz).timestamp()


def test_schedule_hours_overnight_holidays_and_daylight_saving() -> None:
    s = Schedule(
        "Europe/Berlin",
        hours={"mon": ["08:00-18:00"], "fri": ["22:00-06:00"], "sun": ["01:00-04:00"]},
        holidays=["2026-12-25"],
    )
    assert s.is_open(unix(2026, 11, 23, 8))  # Monday 08:00
    assert not s.is_open(unix(2026, 11, 23, 18))  # closing instant is closed
    assert not s.is_open(unix(2026, 11, 23, 7, 59))
    assert s.is_open(unix(2026, 11, 27, 23))  # Friday night
    assert s.is_open(unix(2026, 11, 28, 5, 59))  # into Saturday morning
    assert not s.is_open(unix(2026, 11, 28, 6))
    assert not s.is_open(unix(2026, 12, 25, 23))  # a holiday Friday
    # 2026-03-29: clocks go from 02:00 to 03:00 in Berlin. 01:00-04:00 local is
    # two real hours long that night.
    start = unix(2026, 3, 29, 1)
    assert s.is_open(start) and s.is_open(start + 3600 * 1.99)
    assert not s.is_open(start + 3600 * 2)
    # The same local hours in UTC are not the same instants.
    utc = Schedule("UTC", hours={"mon": ["08:00-18:00"]})
    assert not utc.is_open(unix(2026, 11, 23, 8))  # 07:00 UTC
    assert s.next_open(unix(2026, 11, 23, 19)) == unix(2026, 11, 27, 22)


def test_closed_hours_send_callers_to_self_service_with_a_next_day_callback() -> None:
    schedule = Schedule("Europe/Berlin", hours={d: ["09:00-17:00"] for d in ("mon", "tue")})
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="general"),
        queues={
            "general": QueueRules(
                schedule="office", when_closed=Exit("self-service", callback_next_open=True)
            )
        },
        schedules={"office": schedule},
    )
    monday_night = unix(2026, 11, 23, 20)
    acd = Distributor(QUEUES, plan=plan, start=monday_night)
    acts = feed(acd, arrive(monday_night, "c1"))
    assert acts == [
        SelfService(
            at=monday_night, call_id="c1", queue="general", reason="closed",
            callback_at=unix(2026, 11, 24, 9),
        )
    ]  # fmt: skip
    acts = feed(acd, arrive(unix(2026, 11, 24, 9), "c2"))
    assert of_type(acts, Queued)


def test_a_night_plan_as_rules_on_a_schedule() -> None:
    from acdcore import IsOpen

    schedule = Schedule(
        "UTC", hours={d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    plan = RoutingPlan(
        rules=(
            Rule(
                "night-simple",
                when=All((Not(IsOpen("day")), Not(Equals("intent", "core")))),
                exit=Exit("self-service"),
            ),
            Rule("night-core", when=Not(IsOpen("day")), queue="supervisors"),
        ),
        default=Rule("default", queue="general"),
        schedules={"day": schedule},
    )
    night = unix(2026, 11, 24, 23, tz=ZoneInfo("UTC"))
    acd = Distributor(QUEUES, plan=plan, start=night)
    acts = feed(
        acd,
        arrive(night, "a", attributes={"intent": "faq"}),
        arrive(night, "b", attributes={"intent": "core"}),
    )
    assert of_type(acts, SelfService)[0].call_id == "a"  # type: ignore[attr-defined]
    assert acd.call("b").queue == "supervisors"


# ------------------------------------------------------------------ surge


def test_surge_mode_with_hysteresis_sends_simple_calls_to_self_service() -> None:
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="general"),
        queues={
            "general": QueueRules(
                surge=Surge(enter_waiting=3, leave_waiting=1, simple=OneOf("intent", {"status"}))
            )
        },
    )
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(acd, *[arrive(i, f"c{i}", attributes={"intent": "other"}) for i in range(3)])
    assert of_type(acts, SurgeMode) == [SurgeMode(at=2.0, queue="general", active=True, waiting=3)]
    assert acd.surge_active("general")
    acts = feed(
        acd,
        arrive(3, "s1", attributes={"intent": "status"}),
        arrive(4, "x", attributes={"intent": "other"}),
    )
    assert of_type(acts, SelfService) == [
        SelfService(at=3.0, call_id="s1", queue="general", reason="surge")
    ]
    assert acd.waiting("general") == ["c0", "c1", "c2", "x"]
    # Draining to 2 waiting keeps the mode on (hysteresis); at 1 it ends.
    feed(acd, login(5, "a", ["general"]), OfferAnswered(now=5, call_id="c0", agent_id="a"))
    feed(acd, login(6, "b", ["general"]), OfferAnswered(now=6, call_id="c1", agent_id="b"))
    assert acd.surge_active("general") and len(acd.waiting("general")) == 2
    acts = feed(acd, login(7, "c", ["general"]))
    assert of_type(acts, SurgeMode) == [SurgeMode(at=7.0, queue="general", active=False, waiting=1)]
    acts = feed(acd, arrive(8, "s2", attributes={"intent": "status"}))
    assert not of_type(acts, SelfService)


# -------------------------------------------------------------- transfers


def test_transfer_keeps_the_arrival_time_and_is_counted() -> None:
    acd = Distributor([QueueConfig("general", wrap_up=10), QueueConfig("billing")])
    feed(
        acd,
        login(0, "a", ["general"]),
        arrive(0, "c1"),
        OfferAnswered(now=1, call_id="c1", agent_id="a"),
        arrive(5, "b1", "billing"),
        arrive(6, "b2", "billing"),
    )
    acts = feed(acd, CallTransferred(now=20, call_id="c1", queue="billing"))
    assert acd.waiting("billing") == ["c1", "b1", "b2"]  # arrived at 0
    assert next(a for a in acts if isinstance(a, Queued)).reason == "transferred"  # type: ignore[attr-defined]
    assert acd.agent("a").talk_time == 19.0
    assert acd.transfers == 1 and acd.call("c1").transfers == 1
    acd2 = Distributor([QueueConfig("general"), QueueConfig("billing")])
    feed(
        acd2,
        login(0, "a", ["general"]),
        arrive(0, "c1"),
        OfferAnswered(now=1, call_id="c1", agent_id="a"),
        arrive(5, "b1", "billing"),
        CallTransferred(now=20, call_id="c1", queue="billing", keep_arrival=False),
    )
    assert acd2.waiting("billing") == ["b1", "c1"]
    assert acd2.counts()["arrived"] == 2


def test_transfer_of_a_waiting_call_is_refused_unchanged() -> None:
    acd = Distributor(QUEUES)
    feed(acd, arrive(0, "c1"), login(0, "a", ["general"]), arrive(0, "c2"))
    feed(acd, OfferAnswered(now=0, call_id="c1", agent_id="a"))
    before = acd.snapshot()
    with pytest.raises(InvalidCallState, match="waiting"):
        acd.handle(CallTransferred(now=1, call_id="c2", queue="billing"))
    with pytest.raises(UnknownQueue, match="nope"):
        acd.handle(CallTransferred(now=1, call_id="c1", queue="nope"))
    assert acd.snapshot() == before


# -------------------------------------------------- preferred, load guard


def test_preferred_agent_wait_or_fallback_is_told_to_the_adapter() -> None:
    for if_busy, expect_offer in (("wait", []), ("fallback", [("c1", "other")])):
        plan = plan_of(
            Rule(
                "returning",
                when=Present("account_manager"),
                queue="general",
                preferred=PreferredAgent(attribute="account_manager", wait=45, if_busy=if_busy),
            )
        )
        acd = Distributor(QUEUES, plan=plan)
        feed(
            acd,
            login(0, "pat", ["general"]),
            login(0, "other", ["general"]),
            arrive(0, "x"),
            OfferAnswered(now=1, call_id="x", agent_id="pat"),
        )
        acts = feed(acd, arrive(2, "c1", attributes={"account_manager": "pat"}))
        assert of_type(acts, PreferredAgentBusy) == [
            PreferredAgentBusy(at=2.0, call_id="c1", agent_id="pat", fallback=if_busy == "fallback")
        ]
        assert offers(acts) == expect_offer
        if if_busy == "wait":
            assert acd.explain("c1").reason == "delayed"
            assert acd.explain("c1").delayed_until == 47.0
            assert offers(run_until(acd, 47)) == [("c1", "other")]


def test_preferred_agent_free_gets_the_call_without_notice() -> None:
    plan = plan_of(
        Rule(
            "returning",
            when=Present("am"),
            queue="general",
            preferred=PreferredAgent(attribute="am"),
        )
    )
    acd = Distributor(QUEUES, plan=plan)
    feed(acd, login(0, "other", ["general"]), login(5, "pat", ["general"]))
    acts = feed(acd, arrive(6, "c1", attributes={"am": "pat"}))
    assert offers(acts) == [("c1", "pat")] and not of_type(acts, PreferredAgentBusy)


def test_load_guard_skips_an_agent_who_keeps_missing_while_others_are_free() -> None:
    plan = plan_of(load_guard=LoadGuard(min_answer_rate=0.8, window=5, min_offers=3))
    q = QueueConfig(
        "general", ring_timeout=5, no_answer=NoAnswerPolicy(delay=0, auto_pause_after=None)
    )
    acd = Distributor([q], plan=plan)
    feed(acd, login(0, "flaky", ["general"]))
    t = 1.0
    for i in range(3):  # flaky misses three offers in a row
        feed(acd, arrive(t, f"m{i}"))
        feed(acd, OfferDeclined(now=t, call_id=f"m{i}", agent_id="flaky"))
        feed(
            acd,
            OfferAnswered(now=t, call_id=f"m{i}", agent_id="flaky"),
            CallEnded(now=t, call_id=f"m{i}"),
        )
        t += 1
    # flaky: 3 answered of 6 offers = 0.5 < 0.8. A steady agent logs in later
    # (so flaky is idle longer), yet the next call goes to steady.
    feed(acd, login(t, "steady", ["general"]))
    acts = feed(acd, arrive(t + 1, "c1"))
    assert offers(acts) == [("c1", "steady")]
    # With nobody else free, flaky still gets calls.
    acts = feed(acd, arrive(t + 2, "c2"))
    assert offers(acts) == [("c2", "flaky")]


# ---------------------------------------------------------------- explain


def test_explain_reasons() -> None:
    acd = Distributor(QUEUES)
    feed(acd, arrive(0, "c1", "sales"))
    assert acd.explain("c1").reason == "no-agent-logged-in"
    feed(acd, login(1, "a", ["sales"]))  # no sales skill
    assert acd.explain("c1").reason == "no-eligible-agent"
    feed(acd, login(2, "b", ["sales", "general"], skills={"sales": 3}))
    assert acd.explain("c1").reason == "ringing"
    feed(acd, OfferAnswered(now=3, call_id="c1", agent_id="b"), arrive(4, "c2", "sales"))
    assert acd.explain("c2").reason == "all-busy"
    assert acd.explain("c1").reason == "connected"


# ------------------------------------------------------------- bad plans


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RoutingPlan.from_dict({"rules": []}), "default"),
        (
            lambda: RoutingPlan.from_dict(
                {"default": {"queue": "general"}, "rules": [{"queue": "x"}]}
            ),
            "rules[0]: a rule needs a 'when'",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "rules": [{"when": {"eq": ["a"]}, "queue": "general"}],
                }
            ),
            "rules[0].when",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "rules": [{"when": {"all": []}, "queue": "general"}],
                }
            ),
            "rules[0].when",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "rules": [{"when": {"wat": 1}, "queue": "general"}],
                }
            ),
            "unknown condition",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "rules": [
                        {
                            "when": {"present": "a"},
                            "queue": "general",
                            "steps": [{"expires_after": 60}, {"expires_after": 30}],
                        }
                    ],
                }
            ),
            "steps must be in order",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "rules": [
                        {
                            "when": {"present": "a"},
                            "queue": "general",
                            "steps": [{}, {"expires_after": 30}],
                        }
                    ],
                }
            ),
            "never expires",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "queues": {
                        "general": {
                            "surge": {
                                "enter_waiting": 5,
                                "leave_waiting": 5,
                                "simple": {"present": "a"},
                            }
                        }
                    },
                }
            ),
            "hysteresis",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {"default": {"queue": "general"}, "queues": {"general": {"schedule": "nope"}}}
            ),
            "unknown schedule",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "schedules": {"s": {"timezone": "Mars/Olympus", "hours": {}}},
                }
            ),
            "schedules.s",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "schedules": {"s": {"hours": {"mon": ["09:00-12:00", "11:00-14:00"]}}},
                }
            ),
            "overlap",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "schedules": {"s": {"hours": {"funday": ["09:00-12:00"]}}},
                }
            ),
            "funday",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {"default": {"queue": "general", "exit": "self-service"}}
            ),
            "exactly one of queue and exit",
        ),
        (
            lambda: RoutingPlan.from_dict({"default": {"queue": "general"}, "bogus": 1}),
            "unknown keys",
        ),
        (
            lambda: RoutingPlan.from_dict({"default": {"queue": "nope"}}, queues={"general": _REQ}),
            "unknown queue 'nope'",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {"default": {"queue": "general", "requirement": {"klingon": 3}}},
                queues={"general": _REQ},
                skills={"billing"},
            ),
            "unknown skill 'klingon'",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {
                        "queue": "general",
                        "requirement": {"billing": 3},
                        "steps": [{"requirement": {"billing": 5}, "expires_after": 10}],
                    }
                },
                queues={"general": _REQ},
            ),
            "narrows",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {
                        "queue": "general",
                        "steps": [{"expires_after": 10}, {"regional": True}],
                    }
                },
                queues={"general": _REQ},
            ),
            "narrows to the caller's region",
        ),
        (
            lambda: RoutingPlan.from_dict(
                {
                    "default": {"queue": "general"},
                    "queues": {
                        "general": {
                            "max_wait": 10,
                            "on_max_wait": {"kind": "queue", "target": "general"},
                        }
                    },
                },
                queues={"general": _REQ},
            ),
            "same queue",
        ),
    ],
)
def test_bad_plans_fail_at_build_naming_the_entry(build: Any, message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
    ):
        build()


_REQ = QueueConfig("x").requirement


def test_distributor_validates_its_plan_against_queues_and_skills() -> None:
    plan = plan_of(Rule("r", when=Present("a"), queue="nowhere"))
    with pytest.raises(ConfigError, match=r"rules\[0\] 'r': unknown queue 'nowhere'"):
        Distributor(QUEUES, plan=plan)
    with pytest.raises(ConfigError, match="unknown skill 'sales'"):
        Distributor(QUEUES, skills={"billing"})


def test_plan_from_dict_equals_the_object_form() -> None:
    spec = {
        "rules": [
            {
                "name": "billing",
                "when": {"eq": ["intent", "billing"]},
                "queue": "billing",
                "steps": [
                    {"expires_after": 30},
                    {"requirement": {"billing": 5}, "expires_after": 60},
                    {"requirement": {"billing": 5}, "add_queues": ["general"], "expires_after": 90},
                ],
            }
        ],
        "default": {"queue": "general"},
    }
    built = RoutingPlan.from_dict(spec, queues={q.name: q.requirement for q in QUEUES})
    assert built == relaxing_plan()


def test_rejections_are_outcomes() -> None:
    plan = plan_of(Rule("spam", when=Equals("intent", "spam"), exit=Exit("reject")))
    acd = Distributor(QUEUES, plan=plan)
    acts = feed(acd, arrive(0, "c1", attributes={"intent": "spam"}))
    assert acts == [Reject(at=0.0, call_id="c1", queue="general", reason="rule")]
    assert acd.counts()["rejected"] == 1


def test_a_step_never_narrows_below_the_calls_own_requirement() -> None:
    plan = RoutingPlan.from_dict(
        {
            "default": {
                "queue": "q",
                "steps": [{"expires_after": 10}, {"requirement": {"x": 3}, "expires_after": 20}],
            }
        }
    )
    acd = Distributor([QueueConfig("q", requirement={"x": 5})], plan=plan)
    feed(acd, login(0, "lo", ["q"], skills={"x": 1}))
    acts = feed(acd, CallArrived(now=1, call_id="c1", queue="q", requirement={"x": 1}))
    assert offers(acts) == [("c1", "lo")]
    run_until(acd, 11)  # check() after the step: lo still qualifies
    assert acd.explain("c1").requirement == (("x", 1),)


def test_preferred_busy_notice_uses_the_first_steps_requirement() -> None:
    plan = RoutingPlan.from_dict(
        {
            "default": {
                "queue": "q",
                "requirement": {"x": 5},
                "steps": [{"requirement": {"x": 2}, "expires_after": 30}],
                "preferred": {"attribute": "am", "if_busy": "fallback"},
            }
        }
    )
    acd = Distributor([QueueConfig("q", requirement={"x": 5})], plan=plan)
    feed(acd, login(0, "pat", ["q"], skills={"x": 2}))
    acts = feed(acd, arrive(1, "c1", "q", attributes={"am": "pat"}))
    assert not of_type(acts, PreferredAgentBusy)
    assert offers(acts) == [("c1", "pat")]


def test_surge_condition_schedules_and_unhashable_values_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"queues.q.surge.simple: unknown schedule 'nope'"):
        RoutingPlan.from_dict(
            {
                "default": {"queue": "q"},
                "queues": {
                    "q": {
                        "surge": {
                            "enter_waiting": 1,
                            "leave_waiting": 0,
                            "simple": {"open": "nope"},
                        }
                    }
                },
            }
        )
    from acdcore import condition_from_dict

    with pytest.raises(ConfigError, match="hashable"):
        condition_from_dict({"in": ["x", [[1, 2]]]})
    with pytest.raises(ConfigError, match="same queue"):
        RoutingPlan.from_dict(
            {
                "default": {"queue": "q"},
                "queues": {
                    "q": {
                        "surge": {
                            "enter_waiting": 1,
                            "leave_waiting": 0,
                            "simple": {"present": "a"},
                            "exit": {"kind": "queue", "target": "q"},
                        }
                    }
                },
            },
            queues={"q": _REQ},
        )


def test_a_transferred_chat_is_not_offered_back_to_the_agent_still_wrapping_it_up() -> None:
    from acdcore import Channel

    acd = Distributor([QueueConfig("a", wrap_up=30), QueueConfig("b")])
    caps = {Channel.CHAT: 3}
    feed(acd, login(0, "x", ["a", "b"], capacity=caps))
    feed(acd, arrive(1, "c1", "a", channel=Channel.CHAT))
    feed(acd, OfferAnswered(now=2, call_id="c1", agent_id="x"))
    acts = feed(acd, CallTransferred(now=3, call_id="c1", queue="b"))
    assert offers(acts) == []  # x has free chat slots but is wrapping up c1
    assert acd.explain("c1").reason == "all-busy"
    acts = run_until(acd, 33)  # wrap-up over: now x may take it
    assert offers(acts) == [("c1", "x")]


def test_queues_added_twice_count_once() -> None:
    # Found by the differential soak: steps naming a queue twice (or again in a
    # later step) gave more extra queues than queues. Each is added once.
    plan = plan_of(
        Rule(
            "billing",
            when=Equals("intent", "billing"),
            queue="billing",
            steps=(
                Step(add_queues=("general",) * 6, expires_after=10),
                Step(add_queues=("general", "billing"), expires_after=20),
            ),
        )
    )
    acd = Distributor(QUEUES, plan=plan)
    feed(acd, arrive(0, "c1", attributes={"intent": "billing"}))
    assert acd._reads()._calls["c1"].extra_queues == ("general",)
    run_until(acd, 25)
    feed(acd, login(25, "helper", ["general"], skills={"billing": 1}))
    assert acd.call("c1").offered_to == ("helper",)
    acd.check()


def test_a_reused_call_id_does_not_inherit_the_old_calls_timers() -> None:
    # The first call with id "c" is abandoned while its relaxation step is
    # pending, under another call's earlier step (so the stale timer stays in
    # the heap); a new call with the same id must not be stepped by it.
    plan = plan_of(
        Rule(
            "billing",
            when=Equals("intent", "billing"),
            queue="billing",
            steps=(Step(requirement={"billing": 5}, expires_after=5.0),),
        )
    )
    acd = Distributor(QUEUES, plan=plan)
    feed(
        acd,
        arrive(0, "other", attributes={"intent": "billing"}),
        arrive(1, "c", attributes={"intent": "billing"}),
        CallAbandoned(now=2, call_id="c"),
        arrive(3, "c", attributes={"intent": "billing"}),
    )
    run_until(acd, 6.5)  # the old step was due at 6; the new one is due at 8
    assert acd.explain("c").step == 0
    run_until(acd, 8)
    assert acd.explain("c").step == 1
    acd.check()


def test_a_reused_call_id_does_not_inherit_the_old_ring_timeout() -> None:
    acd = Distributor([QueueConfig("billing", ring_timeout=10.0)])
    feed(
        acd,
        login(0, "a1", ["billing"]),
        login(0, "a2", ["billing"]),
        arrive(0, "other", queue="billing"),
        arrive(0, "c", queue="billing"),
        CallAbandoned(now=1, call_id="c"),
        arrive(5, "c", queue="billing"),
    )
    assert acd.call("c").state.value == "ringing"
    acts = run_until(acd, 12)  # "other" times out at 10; the old "c" timer must be stale
    assert [a.call_id for a in acts if isinstance(a, CancelOffer)] == ["other"]
    assert acd.call("c").state.value == "ringing"
    acd.check()
