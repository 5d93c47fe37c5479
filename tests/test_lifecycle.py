"""Agent and call lifecycle, hand-worked with exact instants."""

from __future__ import annotations

from acdcore import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    AgentSkillsChanged,
    AgentState,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallState,
    CancelOffer,
    Channel,
    Distributor,
    NoAnswerPolicy,
    Offer,
    OfferAnswered,
    OfferDeclined,
    PauseAgent,
    PriorityClasses,
    QueueConfig,
    Queued,
    QueueMembership,
    Reject,
    SkillRequirement,
)

from .helpers import feed, of_type, offers, run_until


def login(now: float, agent_id: str, **kw: object) -> AgentLoggedIn:
    kw.setdefault("queues", ["q"])
    return AgentLoggedIn(now=now, profile=AgentProfile(agent_id, **kw))  # type: ignore[arg-type]


def arrive(now: float, call_id: str, queue: str = "q", **kw: object) -> CallArrived:
    return CallArrived(now=now, call_id=call_id, queue=queue, **kw)  # type: ignore[arg-type]


def test_ring_timeout_requeues_at_the_original_place_and_tries_another_agent() -> None:
    q = QueueConfig("q", ring_timeout=15, no_answer=NoAnswerPolicy(delay=30, auto_pause_after=None))
    acd = Distributor([q])
    feed(acd, login(0, "x"), arrive(1, "c1"), arrive(2, "c2"), arrive(3, "c3"))
    assert acd.call("c1").offered_to == ("x",)
    assert acd.waiting("q") == ["c2", "c3"]
    assert acd.next_deadline() == 16.0
    acts = run_until(acd, 16)
    cancel, queued = acts[0], acts[1]
    assert cancel == CancelOffer(at=16.0, call_id="c1", agent_id="x", reason="ring-timeout")
    assert isinstance(queued, Queued) and queued.position == 1 and queued.reason == "ring-timeout"
    assert acd.waiting("q") == ["c1", "c2", "c3"]  # c1 kept its place
    assert acd.agent("x").consecutive_misses == 1
    # A second agent takes c1 (the head), not c2.
    acts = feed(acd, login(20, "y"))
    assert offers(acts) == [("c1", "y")]
    feed(acd, OfferAnswered(now=21, call_id="c1", agent_id="y"))
    # x is held back until 16 + 30 = 46, then takes c2.
    assert offers(run_until(acd, 45.9)) == []
    assert offers(run_until(acd, 46)) == [("c2", "x")]


def test_a_decline_keeps_priority_and_place() -> None:
    q = QueueConfig("q", policy=PriorityClasses(), no_answer=NoAnswerPolicy(delay=5))
    acd = Distributor([q])
    feed(
        acd,
        login(0, "x"),
        arrive(1, "vip", priority=5),
        arrive(2, "plain"),
        arrive(3, "vip2", priority=5),
    )
    acts = feed(acd, OfferDeclined(now=4, call_id="vip", agent_id="x", reason="busy"))
    assert acd.waiting("q") == ["vip", "vip2", "plain"]
    assert next(a for a in acts if isinstance(a, Queued)).position == 1
    assert offers(run_until(acd, 9)) == [("vip", "x")]


def test_auto_pause_after_consecutive_misses_and_resume_resets() -> None:
    q = QueueConfig(
        "q",
        ring_timeout=10,
        no_answer=NoAnswerPolicy(delay=0, auto_pause_after=2, pause_reason="rona"),
    )
    acd = Distributor([q])
    feed(acd, login(0, "x"), arrive(0, "c1"))
    acts = run_until(acd, 10)  # miss 1, re-offered at once (delay 0)
    assert offers(acts) == [("c1", "x")]
    acts = run_until(acd, 20)  # miss 2: auto-pause
    assert PauseAgent(at=20.0, agent_id="x", reason="rona") in acts
    assert acd.agent("x").state is AgentState.PAUSED
    assert acd.agent("x").paused_reason == "rona"
    assert acd.waiting("q") == ["c1"]
    acts = feed(acd, AgentResumed(now=25, agent_id="x"))
    assert offers(acts) == [("c1", "x")]
    assert acd.agent("x").consecutive_misses == 0
    feed(acd, OfferAnswered(now=26, call_id="c1", agent_id="x"))
    assert acd.agent("x").state is AgentState.BUSY


def test_answering_resets_the_miss_count() -> None:
    q = QueueConfig("q", ring_timeout=5, no_answer=NoAnswerPolicy(delay=0, auto_pause_after=2))
    acd = Distributor([q])
    feed(acd, login(0, "x"), arrive(0, "c1"))
    run_until(acd, 5)
    assert acd.agent("x").consecutive_misses == 1
    feed(acd, OfferAnswered(now=6, call_id="c1", agent_id="x"), CallEnded(now=7, call_id="c1"))
    assert acd.agent("x").consecutive_misses == 0


def test_wrap_up_holds_the_agent_then_it_takes_the_next_call() -> None:
    acd = Distributor([QueueConfig("q", wrap_up=30)])
    feed(acd, login(0, "x"), arrive(1, "c1"), OfferAnswered(now=2, call_id="c1", agent_id="x"))
    feed(acd, arrive(3, "c2"))
    feed(acd, CallEnded(now=62, call_id="c1"))
    view = acd.agent("x")
    assert view.state is AgentState.WRAP_UP
    assert view.talk_time == 60.0 and view.calls_taken == 1 and view.last_call_end == 62.0
    assert acd.next_deadline() == 92.0
    assert offers(run_until(acd, 91.9)) == []
    acts = run_until(acd, 92)
    assert offers(acts) == [("c2", "x")]
    assert acts[0].waited == 89.0  # type: ignore[attr-defined]
    assert acd.agent("x").idle_since == 92.0


def test_logout_while_busy_takes_effect_when_the_call_ends_without_wrap_up() -> None:
    acd = Distributor([QueueConfig("q", wrap_up=30)])
    feed(acd, login(0, "x"), arrive(1, "c1"), OfferAnswered(now=2, call_id="c1", agent_id="x"))
    feed(acd, AgentLoggedOut(now=5, agent_id="x"))
    assert acd.agent("x").pending_logout and acd.agent("x").state is AgentState.BUSY
    feed(acd, arrive(6, "c2"))
    assert acd.call("c2").state is CallState.WAITING
    feed(acd, CallEnded(now=10, call_id="c1"))
    assert acd.agent("x").state is AgentState.LOGGED_OUT
    assert acd.next_deadline() is None
    assert acd.counts()["completed"] == 1


def test_logout_while_ringing_cancels_and_requeues_without_a_miss() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "x"), login(0, "y"), arrive(1, "c0"), arrive(1, "c1"), arrive(1, "c2"))
    assert acd.call("c1").offered_to == ("y",)
    acts = feed(acd, AgentLoggedOut(now=2, agent_id="y"))
    assert acts[0] == CancelOffer(at=2.0, call_id="c1", agent_id="y", reason="agent-logged-out")
    assert acd.waiting("q") == ["c1", "c2"]
    assert acd.agent("y").state is AgentState.LOGGED_OUT
    assert acd.agent("y").consecutive_misses == 0


def test_pause_keeps_the_current_call_and_blocks_new_offers() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "x"), arrive(1, "c1"), OfferAnswered(now=2, call_id="c1", agent_id="x"))
    feed(acd, AgentPaused(now=3, agent_id="x", reason="lunch"), arrive(4, "c2"))
    feed(acd, CallEnded(now=5, call_id="c1"))
    assert acd.agent("x").state is AgentState.PAUSED
    assert acd.waiting("q") == ["c2"]
    acts = feed(acd, AgentResumed(now=60, agent_id="x"))
    assert offers(acts) == [("c2", "x")]


def test_skill_change_takes_effect_at_once() -> None:
    acd = Distributor([QueueConfig("q", requirement=SkillRequirement({"tech": 5}))])
    feed(acd, login(0, "x", skills={"tech": 4}), arrive(1, "c1"))
    assert acd.waiting("q") == ["c1"]
    acts = feed(acd, AgentSkillsChanged(now=2, agent_id="x", skills={"tech": 5}))
    assert offers(acts) == [("c1", "x")]
    # Losing the skill while ringing withdraws the offer; the call keeps its place.
    feed(acd, arrive(3, "c2"))
    acts = feed(acd, AgentSkillsChanged(now=4, agent_id="x", skills={"tech": 1}))
    assert acts[0] == CancelOffer(at=4.0, call_id="c1", agent_id="x", reason="skills-changed")
    assert acd.waiting("q") == ["c1", "c2"]
    assert acd.agent("x").consecutive_misses == 0


def test_abandon_while_waiting_and_while_ringing() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "x"), arrive(1, "c1"), arrive(2, "c2"))
    feed(acd, CallAbandoned(now=3, call_id="c2"))
    assert acd.waiting("q") == []
    acts = feed(acd, arrive(4, "c3"), CallAbandoned(now=5, call_id="c1"))
    assert CancelOffer(at=5.0, call_id="c1", agent_id="x", reason="caller-abandoned") in acts
    assert offers(acts) == [("c3", "x")]  # freed at once, no miss
    assert acd.agent("x").consecutive_misses == 0
    assert acd.counts() == {
        "arrived": 3, "waiting": 0, "ringing": 1, "connected": 0, "callback-pending": 0,
        "completed": 0, "abandoned": 2, "rejected": 0, "overflowed": 0, "self-service": 0,
        "callback-failed": 0, "callback-cancelled": 0,
    }  # fmt: skip


def test_max_length_rejects_new_arrivals_but_not_requeued_calls() -> None:
    q = QueueConfig("q", max_length=1, ring_timeout=5, no_answer=NoAnswerPolicy(delay=100))
    acd = Distributor([q])
    feed(acd, login(0, "x"), arrive(1, "c1"), arrive(2, "c2"))
    acts = feed(acd, arrive(3, "c3"))
    assert acts == [Reject(at=3.0, call_id="c3", queue="q", reason="queue-full")]
    run_until(acd, 6)  # c1 rings out and goes back: two waiting, over the limit
    assert acd.waiting("q") == ["c1", "c2"]
    assert acd.counts()["rejected"] == 1


def test_multi_channel_capacity_and_exclusive_voice() -> None:
    acd = Distributor([QueueConfig("q")])
    caps = {Channel.VOICE: 1, Channel.CHAT: 3}
    feed(acd, login(0, "x", capacity=caps))
    acts = feed(
        acd, *[arrive(1, f"chat{i}", channel=Channel.CHAT) for i in range(4)], arrive(1, "voice")
    )
    assert offers(acts) == [("chat0", "x"), ("chat1", "x"), ("chat2", "x")]
    assert acd.waiting("q") == ["chat3", "voice"]
    for i in range(3):
        feed(acd, OfferAnswered(now=2, call_id=f"chat{i}", agent_id="x"))
    acts = feed(acd, CallEnded(now=10, call_id="chat0"))
    # The voice call cannot be offered while chats are open; chat3 can.
    assert offers(acts) == [("chat3", "x")]
    for cid in ("chat1", "chat2"):
        feed(acd, CallEnded(now=11, call_id=cid))
    feed(acd, OfferAnswered(now=12, call_id="chat3", agent_id="x"))
    acts = feed(acd, CallEnded(now=13, call_id="chat3"))
    assert offers(acts) == [("voice", "x")]
    # While on voice, no chat is offered.
    acts = feed(acd, arrive(14, "chat9", channel=Channel.CHAT))
    assert offers(acts) == []


def test_multi_queue_agent_takes_its_priority_queue_first() -> None:
    acd = Distributor([QueueConfig("sales"), QueueConfig("support")])
    feed(acd, arrive(0, "s1", "sales"), arrive(5, "t1", "support"))
    m = {"sales": QueueMembership(priority=2), "support": QueueMembership(priority=1)}
    acts = feed(acd, login(10, "x", queues=m))
    assert offers(acts) == [("t1", "x")]


def test_multi_queue_agent_takes_the_longest_waiting_caller_among_equals() -> None:
    acd = Distributor([QueueConfig("sales", policy=PriorityClasses()), QueueConfig("support")])
    feed(
        acd,
        arrive(0, "t1", "support"),
        arrive(1, "s-old", "sales"),
        arrive(2, "s-vip", "sales", priority=9),
    )
    # Heads: support t1 (entered 0) and sales s-vip (entered 2): t1 waited longest.
    acts = feed(acd, login(10, "x", queues=["sales", "support"]))
    assert offers(acts) == [("t1", "x")]


def test_membership_delay_holds_calls_until_they_have_waited_long_enough() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "backup", queues={"q": QueueMembership(delay=20)}), arrive(5, "c1"))
    assert acd.waiting("q") == ["c1"]
    assert acd.next_deadline() == 25.0
    assert offers(run_until(acd, 24.9)) == []
    assert offers(run_until(acd, 25)) == [("c1", "backup")]
    # Agent-driven: the backup frees up while a call has waited 3 s; it takes
    # it when the call reaches 20 s.
    feed(acd, OfferAnswered(now=26, call_id="c1", agent_id="backup"), arrive(27, "c2"))
    feed(acd, CallEnded(now=30, call_id="c1"))
    assert acd.next_deadline() == 47.0
    assert offers(run_until(acd, 47)) == [("c2", "backup")]


def test_preferred_agent_is_waited_for_then_anyone_may_answer() -> None:
    acd = Distributor([QueueConfig("q", preferred_agent_wait=30)])
    feed(acd, login(0, "x"), login(0, "pat"), arrive(0, "busy-pat"))
    assert acd.call("busy-pat").offered_to == ("x",)
    feed(acd, OfferAnswered(now=1, call_id="busy-pat", agent_id="x"))
    acts = feed(acd, arrive(2, "c1", preferred_agent="x"))
    assert offers(acts) == []  # pat is free, but c1 waits for x
    assert acd.next_deadline() == 32.0
    assert offers(run_until(acd, 32)) == [("c1", "pat")]


def test_preferred_agent_gets_the_call_when_free() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "x"), login(5, "pat"))
    acts = feed(acd, arrive(6, "c1", preferred_agent="pat"))
    assert offers(acts) == [("c1", "pat")]  # even though x is idle longer


def test_offer_carries_screen_pop_data_and_the_last_agent_of_the_caller() -> None:
    acd = Distributor([QueueConfig("q")])
    feed(acd, login(0, "x"), login(0, "y"))
    attrs = {"caller": "+4930123", "tier": "gold", "intent": "refund"}
    feed(acd, arrive(1, "c1", attributes=attrs))
    feed(acd, OfferAnswered(now=2, call_id="c1", agent_id="x"), CallEnded(now=3, call_id="c1"))
    feed(acd, AgentPaused(now=4, agent_id="x"))
    acts = feed(acd, arrive(10, "c2", attributes=attrs))
    (offer,) = of_type(acts, Offer)
    assert offer == Offer(
        at=10.0,
        call_id="c2",
        agent_id="y",
        queue="q",
        channel=Channel.VOICE,
        attributes=attrs,
        waited=0.0,
        ring_timeout=15.0,
        rule="default",
        last_agent="x",
    )


def test_caller_memory_is_bounded() -> None:
    acd = Distributor([QueueConfig("q")], remember_callers=2)
    feed(acd, login(0, "x"))
    for i in range(3):
        cid = f"c{i}"
        feed(acd, arrive(i, cid, attributes={"caller": f"+{i}"}))
        feed(acd, OfferAnswered(now=i, call_id=cid, agent_id="x"), CallEnded(now=i, call_id=cid))
    assert [c for c, _ in acd.snapshot()["callers"]] == ["+1", "+2"]


def test_same_events_give_the_same_actions() -> None:
    def run() -> list[object]:
        acd = Distributor([QueueConfig("q", wrap_up=5)])
        out: list[object] = []
        out += feed(acd, login(0, "x"), login(0, "y"))
        for i in range(10):
            out += feed(acd, arrive(i, f"c{i}"))
        out += run_until(acd, 100)
        return out

    assert run() == run()
