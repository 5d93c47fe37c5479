"""Shared hypothesis generators for configurations, profiles and calls."""

from __future__ import annotations

from hypothesis import strategies as st

from acdcore import (
    FIFO,
    AccumulatingPriority,
    AgentProfile,
    Channel,
    EmergencyFirst,
    NoAnswerPolicy,
    PriorityClasses,
    QueueConfig,
    QueueMembership,
    SkillRequirement,
    Strategy,
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
    },
)
