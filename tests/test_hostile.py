"""Hostile values in every field of every public configuration and event class.

Each class in :data:`COVERED` is built with values drawn for every field that
``attrs.fields`` lists (so a new field is covered without touching this file):
the field's default, a valid value, or something hostile (ints beyond a float,
NaN, infinities, -0.0, bools, ``None``, strings of every shape, containers,
nested containers). Building must either raise an :class:`~acdcore.AcdError`
subclass or give an object that works: a distributor configured with it, or
handed it as an event, raises nothing but ``AcdError`` subclasses and keeps its
invariants. :data:`EXCLUDED` names every other attrs class exported by
``acdcore`` with the reason it is not built here; a class in neither fails
:func:`test_every_public_attrs_class_is_covered_or_excluded`.

The last part runs short random scenarios through accepted configurations
(each field kept hostile when the class accepts it) with hostile call data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import math
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import acdcore
from acdcore import (
    FIFO,
    AccumulatingPriority,
    AcdError,
    Action,
    AgentGroup,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    AgentSkillsChanged,
    AgentStats,
    AgentView,
    Alert,
    All,
    Always,
    Announce,
    Announcements,
    Any_,
    AsteriskEstimator,
    Breach,
    Break,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackFailed,
    CallbackPolicy,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallFacts,
    CallTransferred,
    CallType,
    CallView,
    CancelOffer,
    Channel,
    Compare,
    ConfigError,
    Contains,
    Deterministic,
    Distributor,
    EmergencyFirst,
    Empirical,
    Equals,
    ErlangAEstimator,
    ErlangAResult,
    ErlangCResult,
    Estimate,
    Event,
    Exit,
    Explanation,
    Exponential,
    HeadOfLineEstimator,
    IntervalEstimate,
    IntervalStaffing,
    IntervalStats,
    InvalidValue,
    IsOpen,
    LastToEnterServiceEstimator,
    LearnedEstimator,
    LoadGuard,
    LogNormal,
    NoAnswerPolicy,
    Not,
    Offer,
    OfferAnswered,
    OfferCallback,
    OfferDeclined,
    OneOf,
    Overflow,
    PauseAgent,
    PlaceCallback,
    PreferredAgent,
    PreferredAgentBusy,
    Present,
    PriorityClasses,
    QueueConfig,
    Queued,
    QueueLengthEstimator,
    QueueMembership,
    QueueNow,
    QueueRules,
    QueueStats,
    RealtimeView,
    Reject,
    ReplayCall,
    Replication,
    RouterAgent,
    RoutingPlan,
    Rule,
    Scenario,
    Schedule,
    SelfService,
    ServiceLevel,
    SimQueue,
    SimulationResult,
    SkillRequirement,
    StaffingRequirement,
    StaffingTarget,
    Step,
    Strategy,
    Surge,
    SurgeMode,
    Traffic,
    Uniform,
    ValueUrgencyMatrix,
    WaitEstimate,
    WaitRecord,
)

# ------------------------------------------------------------------ coverage

CONFIGURATION: tuple[type, ...] = (
    QueueConfig,
    AgentProfile,
    QueueMembership,
    NoAnswerPolicy,
    Announcements,
    CallbackPolicy,
    SkillRequirement,
    FIFO,
    PriorityClasses,
    AccumulatingPriority,
    ValueUrgencyMatrix,
    EmergencyFirst,
    Always,
    Equals,
    OneOf,
    Compare,
    Present,
    Contains,
    All,
    Any_,
    Not,
    IsOpen,
    Exit,
    Step,
    PreferredAgent,
    Rule,
    Surge,
    QueueRules,
    LoadGuard,
    RoutingPlan,
    Schedule,
)

EVENTS: tuple[type, ...] = (
    Event,
    CallArrived,
    CallAbandoned,
    OfferAnswered,
    OfferDeclined,
    CallEnded,
    CallTransferred,
    CallbackRequested,
    CallbackCancelled,
    CallbackUnanswered,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
)

COVERED: tuple[type, ...] = CONFIGURATION + EVENTS
"""Every attrs class built here with hostile values in every field."""

ESTIMATORS: tuple[type, ...] = (
    QueueLengthEstimator,
    ErlangAEstimator,
    HeadOfLineEstimator,
    LastToEnterServiceEstimator,
    AsteriskEstimator,
    LearnedEstimator,
)
"""Estimators are plain classes: their constructor parameters are enumerated
with ``inspect.signature`` instead."""

_OUTPUT = "an output the distributor builds (an action), never configuration or input"
_VIEW = "a read-only view or report acdcore computes and returns, never input"
_SIM = (
    "simulator configuration (scenario.py, distributions.py), validated by its own "
    "loaders and outside the distributor's configuration this file covers"
)

EXCLUDED: dict[type, str] = {
    **dict.fromkeys(
        (
            Action,
            Alert,
            Announce,
            CallbackFailed,
            CancelOffer,
            Offer,
            OfferCallback,
            Overflow,
            PauseAgent,
            PlaceCallback,
            PreferredAgentBusy,
            Queued,
            Reject,
            SelfService,
            SurgeMode,
        ),
        _OUTPUT,
    ),
    **dict.fromkeys(
        (
            AgentView,
            CallView,
            RouterAgent,
            Explanation,
            AgentStats,
            Breach,
            IntervalStats,
            QueueNow,
            QueueStats,
            RealtimeView,
            Estimate,
            IntervalEstimate,
            Replication,
            SimulationResult,
            WaitRecord,
            ErlangAResult,
            ErlangCResult,
            IntervalStaffing,
            StaffingRequirement,
            WaitEstimate,
        ),
        _VIEW,
    ),
    **dict.fromkeys(
        (
            AgentGroup,
            Break,
            CallType,
            ReplayCall,
            Scenario,
            ServiceLevel,
            SimQueue,
            Traffic,
            Deterministic,
            Empirical,
            Exponential,
            LogNormal,
            Uniform,
        ),
        _SIM,
    ),
    StaffingTarget: "an argument of the staffing functions (staffing.py), not of the distributor",
    CallFacts: (
        "the policies' input, built by the distributor from a validated event; "
        "test_policy_keys_refuse_what_they_cannot_use feeds policies hostile facts"
    ),
}


def test_every_public_attrs_class_is_covered_or_excluded() -> None:
    public = {
        getattr(acdcore, name)
        for name in acdcore.__all__
        if isinstance(getattr(acdcore, name), type) and attrs.has(getattr(acdcore, name))
    }
    unaccounted = sorted(c.__name__ for c in public - set(COVERED) - set(EXCLUDED))
    assert not unaccounted, f"cover these in COVERED or give a reason in EXCLUDED: {unaccounted}"
    both = sorted(c.__name__ for c in set(COVERED) & set(EXCLUDED))
    assert not both, f"covered and excluded at once: {both}"
    assert not set(EXCLUDED) - public, "EXCLUDED names a class acdcore no longer exports"
    estimators = {
        getattr(acdcore, n)
        for n in acdcore.__all__
        if isinstance(getattr(acdcore, n), type)
        and issubclass(getattr(acdcore, n), acdcore.WaitEstimator)
        and getattr(acdcore, n) is not acdcore.WaitEstimator
    }
    assert estimators == set(ESTIMATORS)


# ------------------------------------------------------------------ values

LONG = "a" * 10_000

ATOMS: list[Any] = [
    10**400,
    -(10**400),
    2**60,
    -(2**60),
    2**53 + 1,
    2**53,
    -(2**53),
    2**63,
    2**1023 * 3,  # an int a float cannot hold
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    0,
    1,
    -1,
    3,
    0.5,
    1e-300,
    5e-324,
    1e308,
    -1e308,
    True,
    False,
    None,
    "",
    " ",
    "x",
    "q",
    "r",
    "a1",
    "reject",
    "self-service",
    "voicemail",
    "queue",
    "wait",
    "fallback",
    ">=",
    "mon",
    "09:00-17:00",
    "22:00-06:00",
    "24:00",
    "99999999999999999999999:00",
    "UTC",
    "Mars/Olympus",
    "../../etc/passwd",
    "\x00",
    "\ud800",
    "é☃😀",
    "\uff51",  # a fullwidth q
    LONG,
    b"q",
    [],
    ["q"],
    ["x", "y"],
    [[1]],
    [None],
    [10**400],
    [math.nan, "x"],
    {},
    {"x": 1},
    {"x": 10**400},
    {"x": [1, {"y": None}]},
    {"mon": ["09:00-17:00"]},
    {"mon": [["09:00", 10**400]]},
    {Channel.VOICE: 1, Channel.CHAT: 2**60},
    {1: 2},
    {None: None},
    (),
    (1, 2),
    ("09:00", "17:00"),
    frozenset({"q"}),
    {"q", "r"},
    object(),
    Channel.VOICE,
    Channel.CHAT,
    Strategy.RING_ALL,
    FIFO(),
    Always(),
    Exit("reject"),
    dt.time(9, 30),
    dt.time(9, tzinfo=dt.UTC),
    dt.date(2026, 12, 25),
    dt.datetime(2026, 12, 25, tzinfo=dt.UTC),
]

KEYS = st.one_of(
    st.sampled_from(
        [
            "x",
            "tier",
            "region",
            "caller",
            "preferred_agent",
            "customer_value",
            "urgency",
            "mon",
            "q",
            "voice",
            Channel.VOICE,
            Channel.EMAIL,
            1,
            None,
            (1, 2),
            LONG,
        ]
    ),
    st.text(max_size=6),
)

scalars = st.one_of(
    st.sampled_from(ATOMS),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
)

hostile: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(KEYS, inner, max_size=4),
    ),
    max_leaves=8,
)
"""Anything at all, nested."""

OMIT = object()

UTC_DAY = Schedule("UTC", hours={d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")})

# Valid values for fields, so that building gets past one field to the next
# (required fields have no default to fall back on).
VALID: dict[tuple[type, str], list[Any]] = {
    (QueueConfig, "name"): ["q", "r", LONG],
    (QueueConfig, "policy"): [
        FIFO(),
        PriorityClasses(),
        AccumulatingPriority(1e300),
        EmergencyFirst(AccumulatingPriority()),
        ValueUrgencyMatrix([[0, 2**53], [-(2**53), 1]]),
    ],
    (QueueConfig, "strategy"): list(Strategy),
    (QueueConfig, "requirement"): [{"x": 3}, SkillRequirement({"x": 10})],
    (QueueConfig, "ring_timeout"): [0.001, 1e308, 15],
    (QueueConfig, "wrap_up"): [1e308, 0],
    (QueueConfig, "no_answer"): [NoAnswerPolicy(delay=1e308, auto_pause_after=1)],
    (QueueConfig, "max_length"): [0, 2**53],
    (QueueConfig, "announce"): [Announcements(every=0.001, prompts=2**53)],
    (QueueConfig, "callback"): [CallbackPolicy(threshold=0, retries=2**53, dial_timeout=0.001)],
    (AgentProfile, "agent_id"): ["a", LONG],
    (AgentProfile, "skills"): [{"x": 10}],
    (AgentProfile, "queues"): [["q"], {"q": QueueMembership(priority=-(2**53), weight=2**53)}],
    (AgentProfile, "capacity"): [{Channel.VOICE: 1, Channel.CHAT: 1024}],
    (SkillRequirement, "skills"): [{"x": 1}],
    (AccumulatingPriority, "seconds_per_level"): [0, 1e308],
    (ValueUrgencyMatrix, "matrix"): [[[0, 1], [2, 3]]],
    (EmergencyFirst, "inner"): [AccumulatingPriority(), ValueUrgencyMatrix([[1]])],
    (Equals, "attribute"): ["x"],
    (Equals, "value"): ["gold", 2**60, -0.0, True, None],
    (OneOf, "attribute"): ["x"],
    (OneOf, "values"): [["gold", 1], {1.5}],
    (Compare, "attribute"): ["x"],
    (Compare, "op"): ["<", "<=", ">", ">=", "==", "!="],
    (Compare, "value"): [0, 1e308, -0.0, 2**60],
    (Present, "attribute"): ["x"],
    (Contains, "attribute"): ["x"],
    (Contains, "words"): [["urgent"], ("é",)],
    (All, "conditions"): [[Present("x"), Compare("x", ">", 1)]],
    (Any_, "conditions"): [[Present("x"), Equals("x", "y")]],
    (Not, "condition"): [Present("x"), IsOpen("s")],
    (IsOpen, "schedule"): ["s"],
    (Exit, "kind"): ["queue", "destination", "self-service", "reject"],
    (Exit, "target"): ["r", None],
    (Step, "expires_after"): [10, None],
    (Step, "add_queues"): [["r"]],
    (PreferredAgent, "attribute"): ["am"],
    (PreferredAgent, "if_busy"): ["fallback"],
    (Rule, "name"): ["r"],
    (Rule, "when"): [Compare("x", ">=", 1), IsOpen("s")],
    (Rule, "queue"): ["q", "q", None],
    (Rule, "exit"): [None, None, None, Exit("queue", "r"), "reject"],
    (Rule, "steps"): [[Step(expires_after=1), Step(add_queues=["r"])]],
    (Rule, "preferred"): [PreferredAgent("am", wait=1e308)],
    (Rule, "priority"): [2**53, -(2**53)],
    (Rule, "attributes"): [{"customer_value": 1, "urgency": 10**400}],
    (Surge, "enter_waiting"): [2],
    (Surge, "leave_waiting"): [0],
    (Surge, "simple"): [Present("x")],
    (Surge, "exit"): ["reject", Exit("destination", "ivr")],
    (QueueRules, "max_wait"): [0.001, 1e308],
    (QueueRules, "on_max_wait"): ["self-service", Exit("queue", "r")],
    (QueueRules, "join_empty"): ["reject"],
    (QueueRules, "schedule"): ["s"],
    (QueueRules, "when_closed"): [Exit("self-service", callback_next_open=True)],
    (QueueRules, "surge"): [Surge(2, 0, Present("x"))],
    (LoadGuard, "min_answer_rate"): [1, -0.0],
    (RoutingPlan, "rules"): [[Rule("r", when=Present("x"), queue="r")]],
    (RoutingPlan, "default"): [Rule("d", queue="q")],
    (RoutingPlan, "queues"): [{"q": QueueRules(max_wait=10, on_max_wait=Exit("queue", "r"))}],
    (RoutingPlan, "schedules"): [{"s": UTC_DAY}],
    (RoutingPlan, "load_guard"): [LoadGuard(window=1, min_offers=1)],
    (Schedule, "timezone"): ["UTC", "Pacific/Kiritimati"],
    (Schedule, "hours"): [{"sun": ["22:00-06:00"], "mon": [("00:00", "24:00")]}],
    (Schedule, "holidays"): [["2026-12-25"]],
    # Events
    (Event, "now"): [1.0, 10],
    (CallArrived, "call_id"): ["new", "w1", LONG],
    (CallArrived, "queue"): ["q", "other"],
    (CallArrived, "attributes"): [{"x": 10**400, "tier": math.nan, "region": ["eu"]}],
    (CallArrived, "requirement"): [{"x": 1}],
    (CallArrived, "priority"): [2**53, -(2**53), 10**400],
    (CallArrived, "emergency"): [True],
    (CallArrived, "preferred_agent"): ["b", "zz"],
    (CallTransferred, "queue"): ["other"],
    (CallTransferred, "keep_arrival"): [False],
    (CallbackRequested, "number"): ["+100"],
    (AgentLoggedIn, "profile"): [AgentProfile("n", queues=["q"]), AgentProfile("b")],
    (AgentSkillsChanged, "skills"): [{"x": 10}],
    (OfferDeclined, "reason"): ["busy"],
    (AgentPaused, "reason"): ["lunch"],
}

_IDS = ["talk", "ring", "w1", "b", "r", "p", "o"]
for _cls in EVENTS:
    for _f in attrs.fields(_cls):
        if _f.name == "now":
            VALID.setdefault((_cls, "now"), [10.0, 10])
        if _f.name in ("call_id", "agent_id"):
            VALID.setdefault((_cls, _f.name), _IDS)


def valid_values(cls: type, name: str) -> list[Any]:
    for klass in cls.__mro__:
        if (klass, name) in VALID:
            return VALID[(klass, name)]
    return []


def field_strategy(
    cls: type, field: attrs.Attribute[Any], *, hostile_ok: bool = True
) -> st.SearchStrategy[Any]:
    """The field's default (left out), a valid value, or anything hostile
    (only a hostile value for a required field without a valid one)."""
    options: list[st.SearchStrategy[Any]] = []
    if field.default is not attrs.NOTHING:
        options.append(st.just(OMIT))
    valid = valid_values(cls, field.name)
    if valid:
        options.append(st.sampled_from(valid))
    if hostile_ok or not options:
        options.append(hostile)
    return st.one_of(*options)


def init_fields(cls: type) -> list[attrs.Attribute[Any]]:
    return [f for f in attrs.fields(cls) if f.init]


def kwarg(field: attrs.Attribute[Any]) -> str:
    return field.alias or field.name.lstrip("_")


def build(cls: type, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``, or ``None`` when it refuses them with an AcdError."""
    try:
        return cls(**kwargs)
    except AcdError:
        return None


def attempt(action: Callable[[], object]) -> None:
    """Run ``action``; an AcdError is a fine answer, anything else fails."""
    with contextlib.suppress(AcdError):
        action()


# ------------------------------------------------------------------ exercising


def plan_queue_names(plan: RoutingPlan) -> set[str]:
    """Every queue name a plan refers to."""
    names: set[str] = set(plan.queues)
    exits: list[Exit | None] = []
    for rule in plan.all_rules():
        if rule.queue is not None:
            names.add(rule.queue)
        exits.append(rule.exit)
        for step in rule.steps:
            names.update(step.add_queues)
    for qr in plan.queues.values():
        exits += [qr.on_max_wait, qr.join_empty, qr.leave_empty, qr.when_closed]
        if qr.surge is not None:
            exits.append(qr.surge.exit)
    names.update(e.target for e in exits if e is not None and e.kind == "queue" and e.target)
    return names


ATTRIBUTES: list[dict[str, Any]] = [
    {},
    {"x": 10**400, "am": "a1"},
    {"x": math.nan, "customer_value": 1, "urgency": 1},
    {"x": -math.inf, "region": "eu", "caller": "+1"},
    {"x": "9", "tier": ["gold"], "am": "nobody"},
    {"x": 2**60, "customer_value": 10**400, "region": None},
    {"x": None, "urgency": -1},
    {"x": 5, "am": LONG},
]


# Pacing. A deadline that repeats (a ring timeout missed over and over with no
# auto-pause, an announcement, a callback retry, a max-wait exit ping-ponging
# between two queues) fires once per period, and at least one floating-point
# step apart (the distributor clamps a period below the clock's resolution to
# the next representable instant). Advancing by ``dt`` therefore costs about
# ``dt / max(period, ulp(now))`` firings: the scenarios never step further than
# STEPS_PER_PERIOD times the smallest duration configured, so that each step
# stays cheap whatever the configuration. Large clocks are reached through
# ``Distributor(start=...)`` instead of long jumps.
STEPS_PER_PERIOD = 1000.0
_DURATION_FIELDS = frozenset(
    {
        "ring_timeout",
        "wrap_up",
        "preferred_agent_wait",
        "delay",
        "every",
        "first",
        "min_change",
        "threshold",
        "retry_delay",
        "dial_timeout",
        "expires_after",
        "wait",
        "max_wait",
    }
)


def _durations(obj: object, depth: int = 0) -> Iterable[float]:
    if depth > 8:
        return
    if attrs.has(type(obj)):
        for f in attrs.fields(type(obj)):
            value = getattr(obj, f.name)
            if f.name in _DURATION_FIELDS and isinstance(value, (int, float)) and value > 0:
                yield float(value)
            else:
                yield from _durations(value, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _durations(item, depth + 1)
    elif isinstance(obj, Mapping):
        for item in obj.values():
            yield from _durations(item, depth + 1)


def max_step(acd: Distributor) -> float:
    """The longest step the scenarios take at the distributor's clock."""
    smallest = min(_durations([*acd.queues.values(), acd.plan]), default=math.inf)
    return STEPS_PER_PERIOD * max(smallest, math.ulp(acd.now))


def run_scenario(acd: Distributor, queues: Iterable[str], rng: random.Random) -> None:
    """A short fixed-shape scenario: two agents, calls with hostile attributes
    and priorities into every queue, answers, ends, deadlines. Only AcdErrors
    may come out, and the invariants hold after every step."""
    names = sorted(queues)[:4]
    now = [acd.now]

    def step(event: Event | None = None, *, to: float | None = None) -> list[Action]:
        out: list[Action] = []
        if to is not None:
            with contextlib.suppress(AcdError):
                out += acd.advance(to)
        if event is not None:
            try:
                out += acd.advance(event.now)
                out += acd.handle(event)
            except AcdError:
                pass
        acd.check()
        return out

    offers: list[Offer] = []
    for i, agent in enumerate(("a1", "a2")):
        profile = AgentProfile(agent, skills={"x": 10}, queues=names[i:] or names, region="eu")
        step(AgentLoggedIn(now=now[0], profile=profile))
    for k in range(6):
        now[0] += min(rng.choice([0.0, 0.5, 3.0, 1e9]), max_step(acd))
        acts = step(
            CallArrived(
                now=now[0],
                call_id=f"c{k}",
                queue=rng.choice(names),
                attributes=rng.choice(ATTRIBUTES),
                priority=rng.choice([0, 1, -3, 2**53, 2**60, 10**400]),
                emergency=rng.random() < 0.2,
            )
        )
        offers += [a for a in acts if isinstance(a, Offer)]
        if offers and rng.random() < 0.6:
            o = offers.pop(0)
            step(OfferAnswered(now=now[0], call_id=o.call_id, agent_id=o.agent_id))
            now[0] += min(1.0, max_step(acd))
            step(CallEnded(now=now[0], call_id=o.call_id))
    for _ in range(8):
        due = acd.next_deadline()
        if due is None:
            break
        acts = step(to=due)
        for o in (a for a in acts if isinstance(a, Offer)):
            step(OfferAnswered(now=due, call_id=o.call_id, agent_id=o.agent_id))


def distributor_for(
    queues: Iterable[str], rng: random.Random, **options: Any
) -> Distributor | None:
    names = sorted(set(queues) | {"q", "r"})
    start = rng.choice([0.0, 1000.0, 1.7e9, 1e15])
    try:
        return Distributor([QueueConfig(n) for n in names], rng=rng, start=start, **options)
    except AcdError:
        return None


def exercise(obj: Any, rng: random.Random) -> None:
    """Use an accepted configuration object in a distributor."""
    acd: Distributor | None = None
    names: set[str] = {"q", "r"}
    plan: RoutingPlan | None = None
    if isinstance(obj, QueueConfig):
        names = {obj.name, "r"}
        other = QueueConfig("r" if obj.name != "r" else "q")
        try:
            acd = Distributor([obj, other], rng=rng, start=rng.choice([0.0, 1000.0, 1e15]))
        except AcdError:
            return
    elif isinstance(obj, (NoAnswerPolicy, Announcements, CallbackPolicy, SkillRequirement)):
        field = {
            NoAnswerPolicy: "no_answer",
            Announcements: "announce",
            CallbackPolicy: "callback",
            SkillRequirement: "requirement",
        }[type(obj)]
        acd = Distributor([QueueConfig("q", **{field: obj}), QueueConfig("r")], rng=rng)
    elif isinstance(
        obj, (FIFO, PriorityClasses, AccumulatingPriority, ValueUrgencyMatrix, EmergencyFirst)
    ):
        attempt(lambda: QueueConfig("p", policy=obj))
        try:
            acd = Distributor([QueueConfig("q", policy=obj), QueueConfig("r")], rng=rng)
        except AcdError:
            return
    elif isinstance(obj, AgentProfile):
        acd = distributor_for(obj.queues, rng)
        if acd is None:
            return
        names = set(obj.queues) | {"q"}
        login = AgentLoggedIn(now=acd.now, profile=obj)
        attempt(lambda: acd.handle(login) if acd is not None else None)
    elif isinstance(obj, QueueMembership):
        acd = distributor_for(["q"], rng)
        assert acd is not None
        login = AgentLoggedIn(now=acd.now, profile=AgentProfile("m", queues={"q": obj}))
        attempt(lambda: acd.handle(login) if acd is not None else None)
    elif isinstance(obj, Schedule):
        plan = RoutingPlan(
            rules=[Rule("open", when=IsOpen("s"), queue="q")],
            default=Rule("d", queue="r"),
            queues={"q": QueueRules(schedule="s", when_closed=Exit("self-service", None, True))},
            schedules={"s": obj},
        )
        for t in (0.0, 1e9, -1e12, 2.5e11, 1e20, 1e308):
            assert isinstance(obj.is_open(t), bool)
            nxt = obj.next_open(t)
            assert nxt is None or nxt >= t
    elif isinstance(obj, Exit):
        targets = {obj.target} if obj.kind == "queue" and obj.target else set()
        names |= targets
        plan_or_none = build(
            RoutingPlan,
            {
                "rules": [Rule("e", when=Present("x"), exit=obj)],
                "default": Rule("d", queue="q"),
                "queues": {"q": QueueRules(max_wait=1, on_max_wait=obj, leave_empty=obj)},
            },
        )
        if plan_or_none is None:  # an exit back into "q"
            plan_or_none = RoutingPlan(
                rules=[Rule("e", when=Present("x"), exit=obj)], default=Rule("d", queue="r")
            )
        plan = plan_or_none
    elif isinstance(obj, (Step, PreferredAgent)):
        key = "steps" if isinstance(obj, Step) else "preferred"
        rule = build(Rule, {"name": "d", "queue": "q", key: [obj] if key == "steps" else obj})
        if rule is None:
            return
        plan = RoutingPlan(rules=[], default=rule)
        names |= plan_queue_names(plan)
    elif isinstance(obj, (Surge, QueueRules, LoadGuard)):
        if isinstance(obj, LoadGuard):
            plan = RoutingPlan(rules=[], default=Rule("d", queue="q"), load_guard=obj)
        else:
            qr = obj if isinstance(obj, QueueRules) else QueueRules(surge=obj)
            plan = build(
                RoutingPlan,
                {
                    "rules": [],
                    "default": Rule("d", queue="q"),
                    "queues": {"q": qr},
                    "schedules": {"s": UTC_DAY},
                },
            )
            if plan is None:
                return
        names |= plan_queue_names(plan)
    elif isinstance(obj, Rule):
        plan = build(
            RoutingPlan,
            {"rules": [obj], "default": Rule("d", queue="q"), "schedules": {"s": UTC_DAY}},
        )
        if plan is None:  # named "d", or an unknown schedule
            return
        names |= plan_queue_names(plan)
    elif isinstance(obj, RoutingPlan):
        plan = obj
        names |= plan_queue_names(plan)
    else:  # a condition
        plan = RoutingPlan(
            rules=[Rule("c", when=obj, queue="r")],
            default=Rule("d", queue="q"),
            queues={"q": QueueRules(surge=Surge(1, 0, obj))},
            schedules={s: UTC_DAY for s in obj.schedules()},
        )
        for attributes in ATTRIBUTES:
            for t in (0.0, 1e20):
                assert isinstance(obj.matches(attributes, t, plan), bool)
    if acd is None:
        acd = distributor_for(names, rng, plan=plan)
        if acd is None:
            return
    run_scenario(acd, names, rng)


def busy_distributor() -> Distributor:
    """Agents and calls in every state (see tests/test_errors.py) at t=10."""
    from .test_errors import busy_distributor as busy

    return busy()


# ------------------------------------------------------------------ the tests

# Scaled from the profile (ci: 400, dev: 150, soak: 5000): every class gets a
# tenth of it, the scenarios a quarter, so the file stays well under a minute
# under CI and a soak run digs ten times deeper.
BUILD_EXAMPLES = max(10, settings.default.max_examples // 10)
SCENARIO_EXAMPLES = max(25, settings.default.max_examples // 4)


@pytest.mark.parametrize("cls", COVERED, ids=[c.__name__ for c in COVERED])
@settings(max_examples=BUILD_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_fields_raise_an_acd_error_or_work(cls: type, data: st.DataObject) -> None:
    # Hostile values in one field, in some, or anywhere: with every field
    # hostile at once nearly every build is refused at its first field.
    fields = init_fields(cls)
    names = [f.name for f in fields]
    mode = data.draw(st.sampled_from(["one", "one", "some", "any"]), label="mode")
    if mode == "one" and names:
        targets = {data.draw(st.sampled_from(names), label="hostile field")}
    elif mode == "some":
        targets = (
            data.draw(st.sets(st.sampled_from(names)), label="hostile fields") if names else set()
        )
    else:
        targets = set(names)
    kwargs: dict[str, Any] = {}
    for field in fields:
        strategy = field_strategy(cls, field, hostile_ok=field.name in targets)
        value = data.draw(strategy, label=field.name)
        if value is not OMIT:
            kwargs[kwarg(field)] = value
    obj = build(cls, kwargs)
    if obj is None:
        return
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    if isinstance(obj, Event):
        acd = busy_distributor()
        attempt(lambda: acd.advance(obj.now))
        attempt(lambda: acd.handle(obj))
        acd.check()
        run_scenario(acd, ["q", "other"], rng)
    else:
        exercise(obj, rng)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=[c.__name__ for c in ESTIMATORS])
@settings(max_examples=BUILD_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_estimator_parameters_raise_an_acd_error_or_work(
    cls: type, data: st.DataObject
) -> None:
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(cls).parameters.items():
        options: list[st.SearchStrategy[Any]] = [hostile]
        if param.default is not inspect.Parameter.empty:
            options.append(st.just(OMIT))
        else:
            options.append(st.sampled_from([1e-300, 180.0, 1e308]))
        value = data.draw(st.one_of(*options), label=name)
        if value is not OMIT:
            kwargs[name] = value
    estimator = build(cls, kwargs)
    if estimator is None:
        return
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    acd = distributor_for(["q"], rng, estimators=[estimator])
    assert acd is not None
    run_scenario(acd, ["q", "r"], rng)


PRIORITIES = st.one_of(st.sampled_from(ATOMS), st.integers(), hostile)


@settings(max_examples=BUILD_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(
        [
            FIFO(),
            PriorityClasses(),
            AccumulatingPriority(),
            AccumulatingPriority(1e300),
            AccumulatingPriority(2**60),
            EmergencyFirst(AccumulatingPriority()),
            EmergencyFirst(PriorityClasses()),
            ValueUrgencyMatrix([[0, 1], [2, 3]]),
        ]
    ),
    priority=PRIORITIES,
    emergency=st.one_of(st.booleans(), hostile),
    attributes=st.dictionaries(st.sampled_from(["customer_value", "urgency", "x"]), hostile),
)
def test_policy_keys_refuse_what_they_cannot_use(
    policy: Any, priority: Any, emergency: Any, attributes: dict[str, Any]
) -> None:
    if acdcore.backend.BACKEND == "native":
        pytest.skip("pure Python: no distributor involved")
    facts = CallFacts(
        seq=3, arrived=1.5, priority=priority, emergency=emergency, attributes=attributes
    )
    try:
        key = policy.key(facts)
    except InvalidValue:
        return
    assert isinstance(key, tuple) and key[-1] == 3
    for x in key:
        assert isinstance(x, (int, float)) and not isinstance(x, bool)
        assert x == x and abs(x) != math.inf, key
        assert not isinstance(x, int) or abs(x) <= 2**53, key


# ------------------------------------------------------------------ greedy scenarios


def greedy(cls: type, data: st.DataObject, fixed: dict[str, Any], label: str) -> Any:
    """Build ``cls`` keeping every drawn (often hostile) field value it
    accepts; required fields start from ``fixed`` or their first valid value."""
    kwargs = dict(fixed)
    for field in init_fields(cls):
        if field.default is attrs.NOTHING and kwarg(field) not in kwargs:
            kwargs[kwarg(field)] = valid_values(cls, field.name)[0]
    for field in init_fields(cls):
        name = kwarg(field)
        if name in fixed:
            continue
        value = data.draw(field_strategy(cls, field), label=f"{label}.{name}")
        if value is OMIT:
            continue
        if build(cls, {**kwargs, name: value}) is not None:
            kwargs[name] = value
    return cls(**kwargs)


CONDITIONS = (Equals, OneOf, Compare, Present, Contains, Not, IsOpen)


@st.composite
def events(draw: st.DrawFn, now: float) -> Event:
    kind = draw(
        st.sampled_from(["arrive", "arrive", "arrive", "answer", "end", "decline", "other"])
    )
    call = draw(st.sampled_from(["c0", "c1", "c2", "c3"]))
    agent = draw(st.sampled_from(["a1", "a2", "a3"]))
    if kind == "arrive":
        attributes = draw(
            st.dictionaries(
                st.sampled_from(["x", "tier", "region", "am", "customer_value", "urgency"]),
                st.one_of(st.sampled_from(["eu", "gold", 1, 0]), hostile),
                max_size=4,
            )
        )
        return CallArrived(
            now=now,
            call_id=call,
            queue=draw(st.sampled_from(["q", "r"])),
            attributes=attributes,
            priority=draw(st.one_of(st.integers(-3, 3), st.sampled_from(ATOMS))),
            emergency=draw(st.one_of(st.booleans(), st.sampled_from(ATOMS))),
            preferred_agent=draw(st.sampled_from([None, "a1", "zz", ""])),
        )
    if kind == "answer":
        return OfferAnswered(now=now, call_id=call, agent_id=agent)
    if kind == "end":
        return CallEnded(now=now, call_id=call)
    if kind == "decline":
        return OfferDeclined(now=now, call_id=call, agent_id=agent)
    return draw(
        st.sampled_from(
            [
                CallAbandoned(now=now, call_id=call),
                AgentPaused(now=now, agent_id=agent),
                AgentResumed(now=now, agent_id=agent),
                AgentLoggedOut(now=now, agent_id=agent),
                AgentLoggedIn(
                    now=now, profile=AgentProfile(agent, skills={"x": 5}, queues=["q", "r"])
                ),
                CallTransferred(now=now, call_id=call, queue="r"),
                CallbackRequested(now=now, call_id=call),
                CallbackUnanswered(now=now, call_id=call),
                CallbackCancelled(now=now, call_id=call),
            ]
        )
    )


@settings(max_examples=SCENARIO_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_accepted_hostile_configurations_run_or_refuse(data: st.DataObject) -> None:
    queues = [
        greedy(QueueConfig, data, {"name": "q"}, "q"),
        greedy(QueueConfig, data, {"name": "r"}, "r"),
    ]
    kind = data.draw(st.sampled_from(CONDITIONS), label="condition")
    fixed: dict[str, Any] = {"schedule": "s"} if kind is IsOpen else {}
    if kind is Not:
        fixed = {"condition": greedy(Compare, data, {"attribute": "x", "op": ">="}, "inner")}
    elif kind is not IsOpen:
        first = init_fields(kind)[0].name
        fixed = {first: data.draw(st.sampled_from(["x", "customer_value"]), label="attribute")}
    condition = greedy(kind, data, fixed, "when")
    rule = greedy(Rule, data, {"name": "r1", "when": condition, "queue": "r"}, "rule")
    queue_rules = greedy(QueueRules, data, {}, "queue_rules")
    guard = greedy(LoadGuard, data, {}, "guard")
    plan = build(
        RoutingPlan,
        {
            "rules": [rule],
            "default": Rule("d", queue="q"),
            "queues": {"q": queue_rules},
            "schedules": {"s": UTC_DAY},
            "load_guard": guard,
        },
    )
    rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
    names = {"q", "r"} | (plan_queue_names(plan) if plan is not None else set())
    start = data.draw(st.sampled_from([0.0, 1e9, 1e15, 1e300, -1e300, -0.0]), label="start")
    try:
        acd = Distributor(
            queues + [QueueConfig(n) for n in sorted(names - {"q", "r"})],
            rng=rng,
            plan=plan,
            start=start,
        )
    except AcdError:
        return
    hostile_steps(acd, data)


def hostile_steps(acd: Distributor, data: st.DataObject) -> None:
    """Two agents log in, then up to 30 random events, deadlines and jumps,
    each checked."""
    now = acd.now
    for agent, queues in (("a1", ["q", "r"]), ("a2", ["r"])):
        profile = AgentProfile(agent, skills={"x": 5}, queues=queues, region="eu")
        attempt(lambda profile=profile: acd.handle(AgentLoggedIn(now=now, profile=profile)))
        acd.check()
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        move = data.draw(st.sampled_from(["event", "event", "event", "deadline", "jump"]))
        if move == "deadline":
            due = acd.next_deadline()
            if due is not None:
                attempt(lambda due=due: acd.advance(due))
                now = max(now, due)
        elif move == "jump":
            now += min(data.draw(st.sampled_from([1.0, 30.0, 1e6, 1e15, 1e300])), max_step(acd))
            attempt(lambda now=now: acd.advance(now))
        else:
            now += min(data.draw(st.sampled_from([0.0, 0.0, 1.0, 5.0])), max_step(acd))
            event = data.draw(events(now))
            attempt(lambda event=event: acd.advance(event.now))
            attempt(lambda event=event: acd.handle(event))
        acd.check()


# ------------------------------------------------------------------ the dict form

PLAN_SPEC: dict[str, Any] = {
    "rules": [
        {
            "name": "vip",
            "when": {"any": [{"ge": ["x", 5]}, {"not": {"in": ["tier", ["gold", 1]]}}]},
            "queue": "q",
            "priority": 3,
            "emergency": False,
            "attributes": {"customer_value": 1},
            "requirement": {"x": 3},
            "steps": [{"expires_after": 10, "add_queues": ["r"]}, {"regional": False}],
            "alert": "vip waiting",
            "preferred": {"attribute": "am", "wait": 5, "if_busy": "fallback"},
        },
        {"when": {"contains": ["text", ["urgent"]]}, "exit": {"kind": "queue", "target": "r"}},
        {"when": {"open": "s"}, "exit": "self-service"},
    ],
    "default": {"queue": "q"},
    "queues": {
        "q": {
            "max_wait": 10,
            "on_max_wait": {"kind": "destination", "target": "voicemail"},
            "join_empty": "reject",
            "schedule": "s",
            "when_closed": {"kind": "self-service", "callback_next_open": True},
            "surge": {"enter_waiting": 2, "leave_waiting": 0, "simple": {"present": "x"}},
        }
    },
    "schedules": {"s": {"timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "holidays": []}},
    "load_guard": {"min_answer_rate": 0.5, "window": 5, "min_offers": 2},
}


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


def _replaced(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {k: (_replaced(v, rest, value) if k == head else v) for k, v in node.items()}
    return [(_replaced(v, rest, value) if i == head else v) for i, v in enumerate(node)]


@settings(max_examples=BUILD_EXAMPLES * 3, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_dict_form_with_hostile_values_raises_a_config_error_or_works(
    data: st.DataObject,
) -> None:
    if acdcore.backend.BACKEND == "native":
        pytest.skip("the plan alone: no distributor involved")
    spec: Any = PLAN_SPEC
    paths = _paths(PLAN_SPEC)
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3), label="paths"):
        try:
            spec = _replaced(spec, path, data.draw(hostile, label=repr(path)))
        except (KeyError, IndexError, TypeError):
            continue  # the path is gone: an earlier replacement took its parent
    try:
        plan = RoutingPlan.from_dict(
            spec, queues={"q": SkillRequirement(), "r": SkillRequirement()}
        )
    except ConfigError:
        return
    assert isinstance(plan, RoutingPlan)
    for attributes in ATTRIBUTES:
        for now in (0.0, 1e20):
            assert isinstance(plan.decide(attributes, now), Rule)


# ------------------------------------------------------------------ regressions


def test_the_issue_examples_are_config_errors_naming_class_and_field() -> None:
    with pytest.raises(ConfigError, match=r"Rule\.preferred"):
        Rule("vip", when=Always(), queue="q", preferred="account_manager")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"PreferredAgent\.attribute"):
        PreferredAgent(attribute=["pa"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"QueueRules\.on_max_wait.*'voicemail'"):
        QueueRules(on_max_wait="voicemail")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"Rule\.queue"):
        Rule("r", queue=["q"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"Rule\.exit"):
        Rule("r", exit="voicemail")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"Rule\.exit"):
        Rule("r", exit=["reject"])  # type: ignore[arg-type]


def test_the_exit_shorthand_means_the_same_in_python_and_in_the_dict_form() -> None:
    assert Rule("r", exit="reject").exit == Exit("reject")  # type: ignore[arg-type]
    qr = QueueRules(on_max_wait="self-service", join_empty="reject")  # type: ignore[arg-type]
    assert (qr.on_max_wait, qr.join_empty) == (Exit("self-service"), Exit("reject"))
    assert Surge(1, 0, Present("x"), exit="reject").exit == Exit("reject")  # type: ignore[arg-type]
    plan = RoutingPlan.from_dict(
        {"default": {"exit": "reject"}, "queues": {"q": {"on_max_wait": "self-service"}}}
    )
    assert plan.default == Rule("default", exit="reject")  # type: ignore[arg-type]
    assert plan.queues["q"].on_max_wait == Exit("self-service")
    for spec in (
        {"default": {"queue": "q"}, "queues": {"q": {"on_max_wait": "voicemail"}}},
        {"default": {"exit": "voicemail"}},
        {"default": {"queue": "q", "preferred": "account_manager"}},
        {"default": {"queue": ["q"]}},
        {"default": {"queue": "q", "preferred": {"attribute": ["pa"]}}},
    ):
        with pytest.raises(ConfigError):
            RoutingPlan.from_dict(spec)


DURATIONS: list[tuple[type, str, dict[str, Any]]] = [
    (QueueConfig, "ring_timeout", {"name": "q"}),
    (QueueConfig, "wrap_up", {"name": "q"}),
    (QueueConfig, "preferred_agent_wait", {"name": "q"}),
    (NoAnswerPolicy, "delay", {}),
    (Announcements, "every", {}),
    (Announcements, "first", {}),
    (Announcements, "min_change", {}),
    (CallbackPolicy, "threshold", {}),
    (CallbackPolicy, "retry_delay", {}),
    (CallbackPolicy, "dial_timeout", {}),
    (QueueMembership, "delay", {}),
    (AccumulatingPriority, "seconds_per_level", {}),
    (Step, "expires_after", {}),
    (PreferredAgent, "wait", {}),
    (QueueRules, "max_wait", {}),
    (LoadGuard, "min_answer_rate", {}),
]


@pytest.mark.parametrize(
    ("cls", "field", "others"), DURATIONS, ids=[f"{c.__name__}.{f}" for c, f, _ in DURATIONS]
)
@pytest.mark.parametrize(
    "value",
    [10**400, -(10**400), 10**5000, math.nan, math.inf, True, "5"],
    ids=["1e400", "-1e400", "1e5000", "nan", "inf", "True", "str"],
)
def test_a_number_beyond_a_float_in_a_duration_is_a_config_error(
    cls: type, field: str, others: dict[str, Any], value: object
) -> None:
    with pytest.raises(ConfigError, match=rf"{field}"):
        cls(**others, **{field: value})


@pytest.mark.parametrize(
    "build_estimator",
    [
        lambda v: QueueLengthEstimator(v),
        lambda v: ErlangAEstimator(180, v),
        lambda v: LearnedEstimator(memory=v),
        lambda v: LearnedEstimator(prior=v),
        lambda v: LearnedEstimator(initial_handle=v),
    ],
)
def test_estimator_parameters_beyond_a_float_are_config_errors(
    build_estimator: Callable[[object], object],
) -> None:
    for value in (10**400, math.inf, math.nan, True, None):
        with pytest.raises(ConfigError):
            build_estimator(value)
    with pytest.raises(ConfigError, match="reciprocal"):
        QueueLengthEstimator(5e-324)


def test_a_negative_zero_is_stored_as_zero() -> None:
    for got in (
        QueueConfig("q", wrap_up=-0.0).wrap_up,
        NoAnswerPolicy(delay=-0.0).delay,
        AccumulatingPriority(-0.0).seconds_per_level,
        Compare("x", ">", -0.0).value,
        Equals("x", -0.0).value,
        Step(expires_after=-0.0).expires_after,
        LoadGuard(min_answer_rate=-0.0).min_answer_rate,
    ):
        assert got == 0.0 and math.copysign(1.0, got) == 1.0


def test_accumulating_priority_refuses_a_priority_it_cannot_use() -> None:
    def facts(priority: object) -> CallFacts:
        return CallFacts(seq=1, arrived=0.0, priority=priority, emergency=False, attributes={})  # type: ignore[arg-type]

    for policy in (AccumulatingPriority(), EmergencyFirst(AccumulatingPriority())):
        for priority in (10**400, 2**60, True, 1.5, "1", None):
            with pytest.raises(InvalidValue, match="priority"):
                policy.key(facts(priority))
    with pytest.raises(InvalidValue, match="beyond the range of a float"):
        AccumulatingPriority(1e300).key(facts(2**53))
    with pytest.raises(InvalidValue, match="priority"):
        PriorityClasses().key(facts(10**400))
    assert AccumulatingPriority(60).key(facts(2**53)) == (-60.0 * 2**53, 1)


def test_a_call_with_a_huge_priority_is_refused_and_changes_nothing() -> None:
    for policy in (AccumulatingPriority(), EmergencyFirst(AccumulatingPriority())):
        acd = Distributor([QueueConfig("q", policy=policy)])
        before = acd.snapshot()
        with pytest.raises(InvalidValue, match="priority"):
            acd.handle(CallArrived(now=1, call_id="c", queue="q", priority=10**400))
        assert acd.snapshot() == before


def test_compare_refuses_a_threshold_beyond_a_float_and_never_matches_one() -> None:
    with pytest.raises(ConfigError, match=r"Compare\('x'\)"):
        Compare("x", ">=", 10**400)
    with pytest.raises(ConfigError, match="unknown operator"):
        Compare("x", [">="], 1)  # type: ignore[arg-type]
    plan = RoutingPlan([], Rule("d", queue="q"))
    for op in (">=", "<", "!=", "=="):
        c = Compare("x", op, 1)
        for value in (10**400, -(10**400), math.nan, math.inf, "9", [1], None, True):
            assert c.matches({"x": value}, 0.0, plan) is False
    assert Compare("x", ">=", 1).matches({"x": 2**60}, 0.0, plan) is True


def test_a_rule_with_compare_routes_a_huge_attribute_like_a_missing_one() -> None:
    plan = RoutingPlan([Rule("big", when=Compare("x", ">=", 10), queue="r")], Rule("d", queue="q"))
    acd = Distributor([QueueConfig("q"), QueueConfig("r")], plan=plan)
    acd.handle(CallArrived(now=1, call_id="c1", queue="q", attributes={"x": 10**400}))
    acd.handle(CallArrived(now=1, call_id="c2", queue="q", attributes={"x": 11}))
    assert (acd.call("c1").queue, acd.call("c2").queue) == ("q", "r")


def test_equals_and_one_of_take_scalars_and_never_raise_when_matching() -> None:
    for bad in (math.nan, 10**400, [1], {"a": 1}):
        with pytest.raises(ConfigError):
            Equals("x", bad)
        with pytest.raises(ConfigError):
            OneOf("x", [bad])

    class Hostile:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("no comparing me")

        __hash__ = object.__hash__

    plan = RoutingPlan([], Rule("d", queue="q"))
    assert Equals("x", 1).matches({"x": Hostile()}, 0.0, plan) is False
    assert OneOf("x", [1]).matches({"x": [1]}, 0.0, plan) is False


def test_error_messages_survive_ints_too_long_to_print() -> None:
    for build_it in (
        lambda: QueueConfig("q", wrap_up=10**5000),
        lambda: QueueConfig(10**5000),  # type: ignore[arg-type]
        lambda: AgentProfile("a", skills={"x": 10**5000}),
        lambda: Rule("r", queue="q", priority=10**5000),
        lambda: Compare("x", ">", 10**5000),
    ):
        with pytest.raises(ConfigError, match="digits"):
            build_it()


def test_schedules_are_closed_outside_the_calendar() -> None:
    s = Schedule(
        "UTC", hours={d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    for t in (1e20, -1e20, 1e308):
        assert s.is_open(t) is False
        assert s.next_open(t) is None
    assert s.is_open(0.0) is True
    with pytest.raises(InvalidValue, match="outside"):
        s.local(1e20)
    with pytest.raises(ConfigError):
        Schedule("UTC", hours={"mon": ["99999999999999999999999:00-10:00"]})
    with pytest.raises(ConfigError):
        Schedule(LONG, hours={})
    with pytest.raises(ConfigError):
        Schedule("UTC", hours={"mon": [(dt.time(9, tzinfo=dt.UTC), dt.time(10))]})


def test_a_reservation_that_ends_at_infinity_needs_no_deadline(backend: str) -> None:
    """Shrunk from test_accepted_hostile_configurations_run_or_refuse: a
    preferred-agent wait of 1e308 at t=1e308 ends at +inf. No deadline can
    come at +inf, so none is scheduled, and check() once required one."""
    acd = Distributor([QueueConfig("q", preferred_agent_wait=1e308)], start=1e308, backend=backend)
    acd.handle(AgentLoggedIn(now=1e308, profile=AgentProfile("a2", queues=["q"])))
    acd.handle(CallArrived(now=1e308, call_id="c0", queue="q", preferred_agent="zz"))
    assert acd.next_deadline() is None
    acd.check()
    assert acd.call("c0").state.value == "waiting"  # reserved for zz, for ever
