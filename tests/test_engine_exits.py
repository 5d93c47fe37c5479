"""A routing plan's live-state queue exits on the C engine: maximum wait,
join-empty and leave-empty, to a destination, self-service, a reject or
another queue (a move). Worked cases, each run on the Python handlers and on
the engine side by side with every action, saved document and invariant
compared after each step; the random side is the engine plan machines
(``test_differential.DifferentialEnginePlan``,
``test_stateful.EnginePlanMachine``), whose plans draw these exits."""

from __future__ import annotations

import random
from typing import Any

import pytest

from acdcore import (
    AgentProfile,
    Channel,
    Distributor,
    QueueConfig,
    QueueMembership,
    native_available,
    snapshots,
)
from acdcore.actions import Offer, Overflow, Queued, Reject, SelfService, SurgeMode
from acdcore.conditions import Equals
from acdcore.distributor import _engine_covers
from acdcore.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
)
from acdcore.plans import Exit, LoadGuard, QueueRules, RoutingPlan, Rule, Step, Surge

pytestmark = pytest.mark.skipif(not native_available(), reason="native extension not built")

QUEUES = [
    QueueConfig("vip", ring_timeout=8.0, wrap_up=5.0, requirement={"advice": 5}),
    QueueConfig("retail", ring_timeout=8.0, wrap_up=5.0),
]


def plan(**rules: QueueRules) -> RoutingPlan:
    return RoutingPlan(rules=(), default=Rule("default", queue="vip"), queues=rules)


def pair(p: RoutingPlan) -> tuple[Distributor, Distributor]:
    py = Distributor(QUEUES, plan=p, backend="python", rng=random.Random(5))
    nat = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    assert nat._eng is not None, "the engine must cover these plans"
    return py, nat


def both(py: Distributor, nat: Distributor, item: Event | float) -> list[Any]:
    """Send an event (or an advance) to both; actions, saved documents and
    invariants must agree; the engine must still hold the state."""
    if isinstance(item, Event):
        mine, theirs = py.handle(item), nat.handle(item)
    else:
        mine, theirs = py.advance(item), nat.advance(item)
    assert mine == theirs, (item, mine, theirs)
    assert snapshots.save(py) == snapshots.save(nat), item
    assert py.next_deadline() == nat.next_deadline(), item
    nat.check()
    assert nat._eng is not None
    return mine


def login(now: float, agent: str, *queues: str, advice: int = 9) -> AgentLoggedIn:
    mem = {q: QueueMembership() for q in queues}
    return AgentLoggedIn(
        now=now, profile=AgentProfile(agent, skills={"advice": advice}, queues=mem)
    )


@pytest.mark.parametrize(
    "rules",
    [
        QueueRules(max_wait=30.0),
        QueueRules(join_empty=Exit("reject")),
        QueueRules(leave_empty=Exit("queue", "retail")),
        QueueRules(surge=Surge(enter_waiting=2, leave_waiting=1, simple=Equals("x", "y"))),
    ],
    ids=["max-wait", "join-empty", "leave-empty", "surge"],
)
def test_live_state_exits_run_on_the_engine(rules: QueueRules) -> None:
    nat = Distributor(QUEUES, plan=plan(vip=rules), backend="native")
    assert _engine_covers(nat) and nat._eng is not None


def test_max_wait_moves_a_call_to_another_queue_which_routes_it() -> None:
    py, nat = pair(plan(vip=QueueRules(max_wait=10.0, on_max_wait=Exit("queue", "retail"))))
    both(py, nat, login(0.0, "ann", "vip"))
    both(py, nat, login(0.0, "bob", "retail"))
    both(py, nat, CallArrived(now=1.0, call_id="busy", queue="vip"))
    both(py, nat, OfferAnswered(now=2.0, call_id="busy", agent_id="ann"))
    both(py, nat, CallArrived(now=3.0, call_id="c1", queue="vip", priority=2))
    acts = both(py, nat, 13.0)
    assert [type(a) for a in acts] == [Overflow, Queued, Offer]
    assert acts[0].reason == "max-wait" and acts[0].target_queue == "retail"
    assert acts[1].reason == "overflow" and acts[2].agent_id == "bob"
    assert nat.call("c1").arrived == 3.0  # the move keeps its arrival
    both(py, nat, OfferAnswered(now=14.0, call_id="c1", agent_id="bob"))
    both(py, nat, CallEnded(now=20.0, call_id="c1"))
    both(py, nat, 30.0)


def test_max_wait_passing_while_the_call_rings_sends_it_away_when_the_ring_ends() -> None:
    py, nat = pair(plan(vip=QueueRules(max_wait=5.0, on_max_wait=Exit("self-service"))))
    both(py, nat, login(0.0, "ann", "vip"))
    both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))  # rings ann until 9
    assert both(py, nat, 6.0) == []  # its max wait passes while it rings
    acts = both(py, nat, 9.0)  # nobody answers: it leaves instead of queueing again
    assert isinstance(acts[-1], SelfService) and acts[-1].reason == "max-wait"
    assert nat.counts()["self-service"] == 1


def test_join_empty_reads_the_engines_members() -> None:
    py, nat = pair(plan(vip=QueueRules(join_empty=Exit("destination", "voicemail"))))
    acts = both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))
    assert isinstance(acts[-1], Overflow) and acts[-1].destination == "voicemail"
    both(py, nat, login(2.0, "ann", "vip"))
    acts = both(py, nat, CallArrived(now=3.0, call_id="c2", queue="vip"))
    assert isinstance(acts[-1], Offer)
    both(py, nat, AgentLoggedOut(now=4.0, agent_id="ann"))
    acts = both(py, nat, CallArrived(now=5.0, call_id="c3", queue="vip"))
    assert isinstance(acts[-1], Overflow)


def test_leave_empty_sends_the_waiting_calls_away_in_queue_order() -> None:
    py, nat = pair(
        plan(
            vip=QueueRules(leave_empty=Exit("queue", "retail")),
            retail=QueueRules(leave_empty=Exit("reject")),
        )
    )
    both(py, nat, login(0.0, "ann", "vip", "retail"))
    both(py, nat, CallArrived(now=1.0, call_id="busy", queue="vip"))
    both(py, nat, OfferAnswered(now=1.0, call_id="busy", agent_id="ann"))
    for i in range(3):  # the plan's default rule puts every call in vip
        both(py, nat, CallArrived(now=2.0 + i, call_id=f"c{i}", queue="retail"))
    # ann leaves both queues empty once her call ends: vip's calls move to
    # retail, in their order, then retail (empty too) rejects them.
    both(py, nat, AgentLoggedOut(now=7.0, agent_id="ann"))
    acts = both(py, nat, CallEnded(now=8.0, call_id="busy"))
    moved = [a.call_id for a in acts if isinstance(a, Overflow)]
    rejected = [a.call_id for a in acts if isinstance(a, Reject)]
    assert moved == rejected == ["c0", "c1", "c2"]
    assert nat.counts()["rejected"] == 3 and not nat.live_calls()


def test_a_cycle_of_moves_keeps_each_queues_key_and_maximum_wait() -> None:
    py, nat = pair(
        plan(
            vip=QueueRules(max_wait=4.0, on_max_wait=Exit("queue", "retail")),
            retail=QueueRules(max_wait=6.0, on_max_wait=Exit("queue", "vip")),
        )
    )
    both(py, nat, CallArrived(now=0.0, call_id="c1", queue="vip", priority=1))
    both(py, nat, CallArrived(now=1.0, call_id="c2", queue="retail"))
    for t in (4.0, 7.0, 10.0, 14.0, 20.0, 21.0):
        both(py, nat, t)
    both(py, nat, login(21.0, "ann", "vip", "retail"))


def test_a_transferred_call_gets_a_move_table_for_its_new_queue() -> None:
    py, nat = pair(plan(retail=QueueRules(max_wait=5.0, on_max_wait=Exit("queue", "vip"))))
    both(py, nat, login(0.0, "ann", "vip"))
    both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))
    both(py, nat, OfferAnswered(now=2.0, call_id="c1", agent_id="ann"))
    both(py, nat, CallTransferred(now=3.0, call_id="c1", queue="retail", keep_arrival=False))
    # Nobody in retail: back to vip after 5 s, where ann's wrap-up ends then.
    acts = both(py, nat, 8.0)
    assert [type(a) for a in acts] == [Overflow, Queued, Offer]
    assert acts[0].reason == "max-wait" and acts[0].target_queue == "vip"
    both(py, nat, 20.0)


def test_a_restored_state_with_armed_maximum_waits_runs_on_the_engine() -> None:
    p = plan(
        vip=QueueRules(max_wait=10.0, on_max_wait=Exit("queue", "retail")),
        retail=QueueRules(leave_empty=Exit("self-service")),
    )
    py, nat = pair(p)
    both(py, nat, login(0.0, "bob", "retail"))
    both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))
    both(py, nat, CallArrived(now=2.0, call_id="c2", queue="vip"))
    doc = snapshots.save(nat)
    again = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    snapshots.restore(doc, again)
    assert again._eng is not None, "a restored state with exits must stay on the engine"
    acts = both(py, again, 11.0)
    assert [type(a) for a in acts] == [Overflow, Queued, Offer]
    both(py, again, 12.0)
    both(py, again, AgentLoggedOut(now=12.0, agent_id="bob"))
    both(py, again, 30.0)


def test_a_call_moved_by_leave_empty_takes_the_new_queues_maximum_wait() -> None:
    # Found by a mutation the machines missed (a move that kept the old
    # queue's max-wait deadline): vip's deadline would fire at 11 s, after
    # the call left vip at 2 s; retail's own must send it away at 5 s.
    py, nat = pair(
        plan(
            vip=QueueRules(
                max_wait=10.0,
                on_max_wait=Exit("destination", "voicemail"),
                leave_empty=Exit("queue", "retail"),
            ),
            retail=QueueRules(max_wait=3.0, on_max_wait=Exit("reject")),
        )
    )
    both(py, nat, login(0.0, "ann", "vip"))
    both(py, nat, login(0.0, "bob", "vip"))
    both(py, nat, CallArrived(now=0.5, call_id="busy", queue="vip"))
    both(py, nat, OfferAnswered(now=0.5, call_id="busy", agent_id="ann"))
    both(py, nat, CallArrived(now=0.6, call_id="busy2", queue="vip"))
    both(py, nat, OfferAnswered(now=0.6, call_id="busy2", agent_id="bob"))
    both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))
    both(py, nat, AgentLoggedOut(now=1.5, agent_id="ann"))
    both(py, nat, CallEnded(now=1.5, call_id="busy"))
    both(py, nat, AgentLoggedOut(now=2.0, agent_id="bob"))
    acts = both(py, nat, CallEnded(now=2.0, call_id="busy2"))
    assert [type(a) for a in acts] == [Overflow, Queued]
    acts = both(py, nat, 5.0)
    assert [(type(a), a.reason) for a in acts] == [(Reject, "max-wait")]
    both(py, nat, 12.0)


def test_surge_mode_on_the_engine() -> None:
    surge = Surge(enter_waiting=2, leave_waiting=0, simple=Equals("intent", "status"))
    py, nat = pair(plan(vip=QueueRules(surge=surge)))
    assert nat.surge_active("vip") is False
    both(py, nat, CallArrived(now=1.0, call_id="c1", queue="vip"))
    acts = both(py, nat, CallArrived(now=2.0, call_id="c2", queue="vip"))
    assert isinstance(acts[-1], SurgeMode) and acts[-1].active and acts[-1].waiting == 2
    assert nat.surge_active("vip") is True
    status = {"intent": "status"}
    acts = both(py, nat, CallArrived(now=3.0, call_id="c3", queue="vip", attributes=status))
    assert [type(a) for a in acts] == [SelfService] and acts[0].reason == "surge"
    both(py, nat, CallArrived(now=3.0, call_id="c4", queue="vip"))  # not matching: it waits
    both(py, nat, login(4.0, "ann", "vip"))
    both(py, nat, OfferAnswered(now=5.0, call_id="c1", agent_id="ann"))
    both(py, nat, CallEnded(now=6.0, call_id="c1"))
    both(py, nat, 11.0)  # ann's wrap-up ends: she takes c2
    both(py, nat, OfferAnswered(now=12.0, call_id="c2", agent_id="ann"))
    both(py, nat, CallEnded(now=13.0, call_id="c2"))
    acts = both(py, nat, 18.0)  # then c4: nobody waits, and the mode ends
    assert isinstance(acts[-1], SurgeMode) and not acts[-1].active
    doc = snapshots.save(nat)
    again = Distributor(QUEUES, plan=plan(vip=QueueRules(surge=surge)), backend="native")
    snapshots.restore(doc, again)
    assert again._eng is not None and again.surge_active("vip") is False


def test_the_load_guard_on_the_engine() -> None:
    guard = LoadGuard(min_answer_rate=0.75, window=4, min_offers=2)
    p = RoutingPlan(rules=(), default=Rule("default", queue="retail"), load_guard=guard)
    py = Distributor(QUEUES, plan=p, backend="python", rng=random.Random(5))
    nat = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    assert nat._eng is not None
    both(py, nat, login(0.0, "ann", "retail"))
    t = 1.0
    for i in range(3):  # ann lets two calls ring out, then answers one
        both(py, nat, CallArrived(now=t, call_id=f"x{i}", queue="retail"))
        if i < 2:
            t += 8.0
            both(py, nat, t)  # rings out: a miss
            both(py, nat, CallAbandoned(now=t, call_id=f"x{i}"))
            t += 5.0
            both(py, nat, t)  # her no-answer delay ends
        else:
            both(py, nat, OfferAnswered(now=t, call_id=f"x{i}", agent_id="ann"))
            both(py, nat, CallEnded(now=t + 1.0, call_id=f"x{i}"))
            t += 10.0
            both(py, nat, t)
    assert nat._reads()._agents["ann"].answers == [False, False, True]
    both(py, nat, login(t, "bob", "retail"))
    # Both free: the guard passes ann (1 answered of 3) over for bob.
    acts = both(py, nat, CallArrived(now=t + 1.0, call_id="c1", queue="retail"))
    assert isinstance(acts[-1], Offer) and acts[-1].agent_id == "bob"
    doc = snapshots.save(nat)
    again = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    snapshots.restore(doc, again)
    assert again._eng is not None and snapshots.save(again) == doc


def test_regional_and_skip_if_empty_steps_on_the_engine() -> None:
    steps = (
        Step(regional=True, skip_if_empty=True, expires_after=10.0),
        Step(requirement={}, regional=True, expires_after=20.0),
    )
    rule = Rule(
        "local",
        when=Equals("intent", "status"),
        queue="retail",
        requirement={"advice": 9},
        steps=steps,
    )
    p = RoutingPlan(rules=(rule,), default=Rule("default", queue="retail"))
    py = Distributor(QUEUES, plan=p, backend="python", rng=random.Random(5))
    nat = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    assert nat._eng is not None
    north = AgentProfile(
        "ann", skills={"advice": 3}, queues={"retail": QueueMembership()}, region="north"
    )
    both(py, nat, AgentLoggedIn(now=0.0, profile=north))
    attrs = {"intent": "status", "region": "south"}
    # Nobody has advice 9: the first stage is skipped at once; the regional
    # stage then keeps ann (north) from a southern call until it expires.
    acts = both(py, nat, CallArrived(now=1.0, call_id="c1", queue="retail", attributes=attrs))
    assert [type(a) for a in acts] == [Queued]
    assert nat._reads()._calls["c1"].stage == 1 and nat._reads()._calls["c1"].regional
    acts = both(py, nat, 21.0)
    assert [type(a) for a in acts] == [Offer] and acts[0].agent_id == "ann"
    doc = snapshots.save(nat)
    again = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    snapshots.restore(doc, again)
    assert again._eng is not None and snapshots.save(again) == doc


def test_skip_if_empty_counts_only_agents_with_the_calls_channel() -> None:
    # Found by the engine plan machine's soak: a skip-if-empty stage was
    # kept for a voice call because a chat-only member met its requirement
    # (the reference's skill_eligible asks for the call's channel too).
    steps = (Step(requirement={}, expires_after=2.5, skip_if_empty=True),)
    rule = Rule("r1", when=Equals("intent", "status"), queue="retail", steps=steps)
    p = RoutingPlan(rules=(rule,), default=Rule("default", queue="vip"))
    py = Distributor(QUEUES, plan=p, backend="python", rng=random.Random(5))
    nat = Distributor(QUEUES, plan=p, backend="native", rng=random.Random(5))
    chat_only = AgentProfile(
        "ann", queues={"retail": QueueMembership()}, capacity={Channel.CHAT: 3}
    )
    both(py, nat, AgentLoggedIn(now=0.0, profile=chat_only))
    attrs = {"intent": "status"}
    both(py, nat, CallArrived(now=0.0, call_id="c0", queue="retail", attributes=attrs))
    assert nat._reads()._calls["c0"].stage == 1 and nat.next_deadline() is None
