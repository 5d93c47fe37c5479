"""Shared hypothesis generators for configurations, profiles and calls."""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from acdcore import (
    FIFO,
    AccumulatingPriority,
    AgentProfile,
    Channel,
    EmergencyFirst,
    Equals,
    Exit,
    LoadGuard,
    NoAnswerPolicy,
    PreferredAgent,
    Present,
    PriorityClasses,
    QueueConfig,
    QueueMembership,
    QueueRules,
    RoutingPlan,
    Rule,
    Schedule,
    SkillRequirement,
    Step,
    Strategy,
    Surge,
    ValueUrgencyMatrix,
)

SKILLS = ("billing", "tech", "spanish")
QUEUE_NAMES = ("sales", "support", "vip")
AGENT_IDS = ("a0", "a1", "a2", "a3", "a4")

# Durations drawn from a small set so that deadlines collide on purpose.
durations = st.sampled_from([0.0, 1.0, 2.5, 5.0, 10.0])
positive_durations = st.sampled_from([1.0, 2.5, 5.0, 15.0])

policies = st.one_of(
    st.just(FIFO()),
    st.just(PriorityClasses()),
    st.builds(AccumulatingPriority, seconds_per_level=st.sampled_from([0.0, 5.0, 30.0])),
    st.just(ValueUrgencyMatrix([[0, 1], [2, 3]])),
    st.builds(EmergencyFirst, inner=st.sampled_from([FIFO(), PriorityClasses()])),
)

# Requirements are mostly low and agent levels mostly high, so that most calls
# find someone and deep states (ring-all races, wrap-ups) are reached often.
requirements = st.builds(
    SkillRequirement,
    st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([1, 1, 3, 5, 9]), max_size=2),
)


@st.composite
def queue_configs(draw: st.DrawFn, name: str) -> QueueConfig:
    """A queue with any policy and strategy and short, colliding timings."""
    return QueueConfig(
        name=name,
        policy=draw(policies),
        strategy=draw(st.sampled_from([*Strategy, Strategy.RING_ALL, Strategy.RING_ALL])),
        requirement=draw(st.one_of(st.just(SkillRequirement()), requirements)),
        ring_timeout=draw(positive_durations),
        wrap_up=draw(durations),
        no_answer=NoAnswerPolicy(
            delay=draw(durations),
            auto_pause_after=draw(st.sampled_from([None, 1, 2, 3])),
        ),
        max_length=draw(st.sampled_from([None, None, 1, 3])),
        preferred_agent_wait=draw(durations),
    )


@st.composite
def agent_profiles(draw: st.DrawFn, agent_id: str, queues: tuple[str, ...]) -> AgentProfile:
    """An agent serving a non-empty subset of ``queues``, maybe multi-channel."""
    served = draw(st.lists(st.sampled_from(queues), min_size=1, max_size=len(queues), unique=True))
    memberships = {
        q: QueueMembership(
            priority=draw(st.integers(1, 2)),
            delay=draw(st.sampled_from([0.0, 0.0, 2.5, 5.0])),
            position=draw(st.integers(0, 2)),
            weight=draw(st.integers(1, 3)),
        )
        for q in served
    }
    capacity = draw(
        st.sampled_from(
            [
                {Channel.VOICE: 1},
                {Channel.VOICE: 1},
                {Channel.VOICE: 1, Channel.CHAT: 2},
                {Channel.CHAT: 3},
                {Channel.VOICE: 1, Channel.EMAIL: 1},
            ]
        )
    )
    return AgentProfile(
        agent_id,
        region=draw(st.sampled_from([None, "north", "south"])),
        skills=draw(
            st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([2, 5, 8, 10, 10]), max_size=3)
        ),
        queues=memberships,
        capacity=capacity,
    )


skill_maps = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)
channels = st.sampled_from([Channel.VOICE, Channel.VOICE, Channel.CHAT, Channel.EMAIL])
call_attributes = st.fixed_dictionaries(
    {},
    optional={
        "caller": st.sampled_from(["+100", "+200", "+300"]),
        "customer_value": st.integers(0, 1),
        "urgency": st.integers(0, 1),
        # A call keeps its region (saved with it) even with no plan to read it:
        # the engine's saved documents must keep it too (found by review).
        "region": st.sampled_from(["north", "south", 7]),
    },
)


INTENTS = ("status", "refund", "complaint")

plan_call_attributes = st.fixed_dictionaries(
    {},
    optional={
        "caller": st.sampled_from(["+100", "+200", "+300"]),
        "customer_value": st.integers(0, 1),
        "urgency": st.integers(0, 1),
        "intent": st.sampled_from(INTENTS),
        "region": st.sampled_from(["north", "south"]),
        "am": st.sampled_from(AGENT_IDS),
    },
)


def _exit(queues: tuple[str, ...], here: str) -> st.SearchStrategy[Exit]:
    others = [q for q in queues if q != here]
    options: list[st.SearchStrategy[Exit]] = [
        st.just(Exit("destination", "voicemail")),
        st.just(Exit("self-service")),
        st.just(Exit("reject")),
    ]
    if others:
        options.append(st.sampled_from(others).map(lambda q: Exit("queue", q)))
    return st.one_of(*options)


_rates = st.sampled_from([0.5, 0.8, 1.0])
_windows = st.integers(2, 5)
_mins = st.integers(1, 2)


def _surges(queues: tuple[str, ...], here: str) -> st.SearchStrategy[Surge | None]:
    """No surge mode, or one entered at 1 to 4 waiting calls and left one
    below, for some intents, to any exit."""

    def make(enter: int, intent: str, exit_: Exit) -> Surge:
        return Surge(
            enter_waiting=enter,
            leave_waiting=enter - 1,
            simple=Equals("intent", intent),
            exit=exit_,
        )

    some = st.builds(make, st.integers(1, 4), st.sampled_from(INTENTS), _exit(queues, here))
    return st.one_of(st.none(), some)


@st.composite
def _steps(draw: st.DrawFn, queues: tuple[str, ...], engine_covered: bool) -> list[Step]:
    """0 to 3 relaxation steps, each widening the last (from tech 9), maybe
    adding queues, regional or not, skipped when nobody could take the
    call or not; with ``engine_covered``, maybe a last step that never
    expires."""
    steps = []
    t = 0.0
    level = 9
    regional = draw(st.booleans())
    for _ in range(draw(st.integers(0, 3))):
        t += draw(st.sampled_from([2.5, 5.0, 10.0]))
        level = draw(st.integers(1, level))
        steps.append(
            Step(
                requirement={"tech": level} if level > 1 else {},
                add_queues=tuple(draw(st.lists(st.sampled_from(queues), max_size=2))),
                regional=regional,
                expires_after=t,
                skip_if_empty=draw(st.booleans()),
            )
        )
        regional = regional and draw(st.booleans())
    if engine_covered and steps and draw(st.booleans()):
        # A last step that never expires: the call stays in it.
        steps[-1] = attrs.evolve(steps[-1], expires_after=None)
    return steps


@st.composite
def routing_plans(
    draw: st.DrawFn, queues: tuple[str, ...], engine_covered: bool = False
) -> RoutingPlan:
    """A random but valid plan over ``queues``: intent rules with widening
    steps, a preferred-agent rule, per-queue exits and surge modes. With
    ``engine_covered``, only what the C engine covers
    (``distributor._plan_covered``): rules with steps, alerts, exits and a
    preferred agent, queues' business hours, maximum waits, join-empty and
    leave-empty exits, surge modes, a load guard, regional and
    skip-if-empty steps."""
    rules = []
    for i, intent in enumerate(draw(st.lists(st.sampled_from(INTENTS), unique=True, max_size=3))):
        queue = draw(st.sampled_from(queues))
        steps = draw(_steps(queues, engine_covered))
        exit_rule = draw(st.integers(0, 5)) == 0
        rules.append(
            Rule(
                f"r{i}",
                when=Equals("intent", intent),
                queue=None if exit_rule else queue,
                exit=draw(_exit(queues, "")) if exit_rule else None,
                priority=draw(st.one_of(st.none(), st.integers(0, 3))),
                emergency=draw(st.one_of(st.none(), st.booleans())),
                requirement={"tech": 9} if steps and not exit_rule else None,
                steps=() if exit_rule else tuple(steps),
                alert=draw(st.one_of(st.none(), st.just("listen"))),
            )
        )
    # The preferred-agent rule may relax too: whether its agent is free is
    # then judged against the stage the call enters (skip-if-empty steps
    # passed over), which a review found the engine's façade getting wrong.
    returning_steps = draw(_steps(queues, engine_covered))
    rules.append(
        Rule(
            "returning",
            when=Present("am"),
            queue=draw(st.sampled_from(queues)),
            requirement={"tech": 9} if returning_steps else None,
            steps=tuple(returning_steps),
            preferred=PreferredAgent(
                attribute="am",
                wait=draw(st.sampled_from([0.0, 5.0, 20.0])),
                if_busy=draw(st.sampled_from(["wait", "fallback"])),
            ),
        )
    )
    if engine_covered:
        # Business hours (the machines' clock starts at 1970-01-01 00:00 UTC,
        # a Thursday): queues open for the first minute or two, then closed,
        # their calls sent away by their exits (to another queue, too).
        hours = Schedule("UTC", hours={"thu": ["00:00-00:01", "00:02-00:03"]})
        # Maximum waits, join-empty and leave-empty exits, to any exit
        # (other queues too, so chains and cycles of moves).
        closed = {}
        for q in queues:
            hours_rule = draw(st.booleans())
            live_rule = draw(st.booleans())
            if not (hours_rule or live_rule):
                continue
            exit_ = draw(_exit(queues, q))
            if exit_.kind == "self-service" and draw(st.booleans()):
                exit_ = Exit("self-service", callback_next_open=True)
            closed[q] = QueueRules(
                schedule="hours" if hours_rule else None,
                when_closed=exit_,
                max_wait=draw(st.sampled_from([None, 5.0, 20.0])) if live_rule else None,
                on_max_wait=draw(_exit(queues, q)),
                join_empty=draw(st.one_of(st.none(), _exit(queues, q))) if live_rule else None,
                leave_empty=draw(st.one_of(st.none(), _exit(queues, q))) if live_rule else None,
                surge=draw(_surges(queues, q)) if live_rule else None,
            )
        return RoutingPlan(
            rules=tuple(rules),
            default=Rule("default", queue=draw(st.sampled_from(queues))),
            queues=closed,
            schedules={"hours": hours},
            load_guard=draw(st.one_of(st.none(), st.builds(LoadGuard, _rates, _windows, _mins))),
        )
    queue_rules = {}
    for q in queues:
        if draw(st.booleans()):
            enter = draw(st.integers(1, 4))
            queue_rules[q] = QueueRules(
                max_wait=draw(st.sampled_from([None, 5.0, 20.0])),
                on_max_wait=draw(_exit(queues, q)),
                join_empty=draw(st.one_of(st.none(), _exit(queues, q))),
                leave_empty=draw(st.one_of(st.none(), _exit(queues, q))),
                surge=draw(
                    st.one_of(
                        st.none(),
                        st.just(
                            Surge(
                                enter_waiting=enter,
                                leave_waiting=enter - 1,
                                simple=Equals("intent", "status"),
                            )
                        ),
                    )
                ),
            )
    guard = draw(
        st.one_of(st.none(), st.just(LoadGuard(min_answer_rate=0.8, window=4, min_offers=2)))
    )
    return RoutingPlan(
        rules=tuple(rules),
        default=Rule("default", queue=draw(st.sampled_from(queues))),
        queues=queue_rules,
        load_guard=guard,
    )
