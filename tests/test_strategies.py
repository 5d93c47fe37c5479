"""Agent-selection strategies against hand-worked choices, ties included."""

from __future__ import annotations

import random

from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    OfferAnswered,
    QueueConfig,
    QueueMembership,
    SkillRequirement,
    Strategy,
)

from .helpers import feed, of_type, offers


def login(now: float, agent_id: str, **kw: object) -> AgentLoggedIn:
    kw.setdefault("queues", ["q"])
    return AgentLoggedIn(now=now, profile=AgentProfile(agent_id, **kw))  # type: ignore[arg-type]


def serve(acd: Distributor, t: float, call_id: str, talk: float = 10.0) -> str:
    """One call arrives, is answered by whoever is offered, and ends."""
    acts = feed(acd, CallArrived(now=t, call_id=call_id, queue="q"))
    ((cid, agent),) = offers(acts)
    feed(acd, OfferAnswered(now=t, call_id=cid, agent_id=agent))
    feed(acd, CallEnded(now=t + talk, call_id=cid))
    return agent


def test_longest_idle_picks_the_agent_idle_longest_and_ties_by_login_order() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.LONGEST_IDLE)])
    feed(acd, login(0, "x"), login(0, "y"), login(1, "z"))
    # x and y are idle since 0: x logged in first.
    assert serve(acd, 2, "c1") == "x"  # x idle again from 12
    assert serve(acd, 20, "c2") == "y"  # y idle since 0, z since 1, x since 12
    assert serve(acd, 40, "c3") == "z"
    assert serve(acd, 60, "c4") == "x"


def test_fewest_calls_then_longest_idle() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.FEWEST_CALLS)])
    feed(acd, login(0, "x"), login(0, "y"))
    assert serve(acd, 1, "c1") == "x"
    assert serve(acd, 20, "c2") == "y"
    # Both have one call; x has been idle longer (since 11 vs 30).
    assert serve(acd, 40, "c3") == "x"
    feed(acd, login(60, "z"))
    assert serve(acd, 61, "c4") == "z"  # zero calls beats idle time


def test_least_talk_time() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.LEAST_TALK_TIME)])
    feed(acd, login(0, "x"), login(0, "y"))
    assert serve(acd, 1, "c1", talk=100) == "x"
    assert serve(acd, 200, "c2", talk=5) == "y"
    assert serve(acd, 300, "c3", talk=5) == "y"  # 5 s < 100 s
    assert serve(acd, 400, "c4", talk=500) == "y"  # 10 s < 100 s
    assert serve(acd, 1000, "c5") == "x"  # 100 s < 510 s


def test_round_robin_remembers_where_it_stopped() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.ROUND_ROBIN)])
    feed(acd, login(0, "x"), login(0, "y"), login(0, "z"))
    picks = [serve(acd, 20.0 * i, f"c{i}") for i in range(5)]
    assert picks == ["x", "y", "z", "x", "y"]


def test_linear_goes_top_down_by_position() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.LINEAR)])
    feed(
        acd,
        login(0, "x", queues={"q": QueueMembership(position=2)}),
        login(0, "y", queues={"q": QueueMembership(position=1)}),
        login(0, "z", queues={"q": QueueMembership(position=1)}),
    )
    # y and z tie on position 1: y logged in first. The first agent always wins
    # while free.
    assert serve(acd, 1, "c1") == "y"
    assert serve(acd, 20, "c2") == "y"
    acts = feed(
        acd,
        CallArrived(now=40, call_id="c3", queue="q"),
        CallArrived(now=40, call_id="c4", queue="q"),
    )
    assert offers(acts) == [("c3", "y"), ("c4", "z")]


def test_most_skilled_sums_proficiency_over_required_skills() -> None:
    req = SkillRequirement({"billing": 1, "spanish": 1})
    acd = Distributor([QueueConfig("q", strategy=Strategy.MOST_SKILLED, requirement=req)])
    feed(
        acd,
        login(0, "x", skills={"billing": 9, "spanish": 1}),  # 10
        login(1, "y", skills={"billing": 5, "spanish": 6, "tech": 10}),  # 11
        login(2, "z", skills={"billing": 10}),  # not eligible
        login(3, "w", skills={"billing": 6, "spanish": 5}),  # 11, idle later than y
    )
    assert serve(acd, 4, "c1") == "y"
    assert serve(acd, 20, "c2") == "w"
    assert serve(acd, 40, "c3") == "y"  # y idle since 14, w since 30


def test_random_is_seeded_and_uniform_over_agents_in_login_order() -> None:
    def picks(seed: int) -> list[str]:
        acd = Distributor([QueueConfig("q", strategy=Strategy.RANDOM)], rng=random.Random(seed))
        feed(acd, login(0, "x"), login(0, "y"), login(0, "z"))
        return [serve(acd, 20.0 * i, f"c{i}") for i in range(30)]

    # Hand-worked: each pick is ["x", "y", "z"][rng.randrange(3)].
    rng = random.Random(7)
    expected = [["x", "y", "z"][rng.randrange(3)] for _ in range(30)]
    assert picks(7) == expected
    assert picks(7) == picks(7)
    assert set(picks(7)) == {"x", "y", "z"}


def test_weighted_random_follows_membership_weights() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.WEIGHTED_RANDOM)], rng=random.Random(3))
    feed(
        acd,
        login(0, "light", queues={"q": QueueMembership(weight=1)}),
        login(0, "heavy", queues={"q": QueueMembership(weight=3)}),
    )
    got = [serve(acd, 20.0 * i, f"c{i}") for i in range(40)]
    # Hand-worked: r = randrange(4); r < 1 -> light, else heavy.
    rng = random.Random(3)
    expected = ["light" if rng.randrange(4) < 1 else "heavy" for _ in range(40)]
    assert got == expected
    assert 5 <= got.count("light") <= 15


def test_ring_all_offers_everyone_and_the_first_answer_wins() -> None:
    acd = Distributor([QueueConfig("q", strategy=Strategy.RING_ALL)])
    feed(acd, login(0, "x"), login(0, "y"), login(0, "z", skills={"tech": 5}))
    acts = feed(acd, CallArrived(now=1, call_id="c1", queue="q"))
    assert offers(acts) == [("c1", "x"), ("c1", "y"), ("c1", "z")]
    acts = feed(acd, OfferAnswered(now=3, call_id="c1", agent_id="y"))
    cancels = of_type(acts, CancelOffer)
    assert [(c.agent_id, c.reason) for c in cancels] == [  # type: ignore[attr-defined]
        ("x", "answered-elsewhere"),
        ("z", "answered-elsewhere"),
    ]
    assert acd.call("c1").agent == "y"
    # The released agents take the next call at once.
    acts = feed(acd, CallArrived(now=4, call_id="c2", queue="q"))
    assert offers(acts) == [("c2", "x"), ("c2", "z")]


def test_ring_all_respects_skills() -> None:
    req = SkillRequirement({"tech": 5})
    acd = Distributor([QueueConfig("q", strategy=Strategy.RING_ALL, requirement=req)])
    feed(acd, login(0, "x"), login(0, "y", skills={"tech": 5}), login(0, "z", skills={"tech": 4}))
    acts = feed(acd, CallArrived(now=1, call_id="c1", queue="q"))
    assert offers(acts) == [("c1", "y")]
