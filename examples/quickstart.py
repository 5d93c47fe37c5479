"""A scripted morning in a small contact centre, driven the way a PBX adapter drives acdcore.

Run it with ``python examples/quickstart.py``. It needs no arguments and no network.

Two queues, three agents:

- ``support`` serves emergencies first, then VIPs (priority 1), then everyone else, each
  group first in, first out. It picks the agent who has been idle the longest.
- ``sales`` is first in, first out and picks the most skilled agent.
- alice serves support first and sales second; bob serves support only; carol serves
  sales first and helps support only with callers who have already waited 20 seconds.

The adapter loop is the important part (see ``step``): before each event it advances
the distributor's clock to every deadline that is due, then calls
``advance(ev.now) + handle(ev)``, performs (here: prints) the actions, and calls
``check()`` to prove every invariant still holds. At the end it prints the call counts
and agent states, and shows that a bad event is refused without changing anything.
"""

from __future__ import annotations

from acdcore import (
    AcdError,
    Action,
    AgentLoggedIn,
    AgentProfile,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    EmergencyFirst,
    Event,
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
    Strategy,
    UnknownAgent,
)

QUEUES = [
    QueueConfig(
        "support",
        policy=EmergencyFirst(PriorityClasses()),
        strategy=Strategy.LONGEST_IDLE,
        ring_timeout=15.0,
        wrap_up=10.0,
        no_answer=NoAnswerPolicy(delay=10.0, auto_pause_after=2),
    ),
    QueueConfig(
        "sales",
        strategy=Strategy.MOST_SKILLED,
        requirement={"sales": 3},
        ring_timeout=10.0,
        wrap_up=5.0,
    ),
]

ALICE = AgentProfile(
    "alice",
    skills={"support": 8, "sales": 5},
    queues={"support": QueueMembership(priority=1), "sales": QueueMembership(priority=2)},
)
BOB = AgentProfile("bob", skills={"support": 6}, queues=["support"])
CAROL = AgentProfile(
    "carol",
    skills={"support": 4, "sales": 9},
    queues={
        "sales": QueueMembership(priority=1),
        "support": QueueMembership(priority=2, delay=20.0),
    },
)

AGENTS = [ALICE, BOB, CAROL]

SCRIPT: list[Event] = [
    AgentLoggedIn(now=0, profile=ALICE),
    AgentLoggedIn(now=0, profile=BOB),
    AgentLoggedIn(now=0, profile=CAROL),
    CallArrived(now=5, call_id="c1", queue="support", attributes={"caller": "+15550101"}),
    CallArrived(now=6, call_id="c2", queue="support", priority=1),
    CallArrived(now=7, call_id="c3", queue="support"),
    CallArrived(now=8, call_id="c4", queue="support", priority=1),
    CallArrived(now=9, call_id="c5", queue="support", emergency=True),
    OfferAnswered(now=10, call_id="c1", agent_id="alice"),
    OfferDeclined(now=12, call_id="c2", agent_id="bob", reason="busy"),
    # 22: bob's no-answer delay ends and he gets the emergency.
    OfferAnswered(now=24, call_id="c5", agent_id="bob"),
    # 26: c2 has waited 20 s, so carol (who helps support after 20 s) gets it.
    CallArrived(now=30, call_id="s1", queue="sales"),
    CallAbandoned(now=32, call_id="c3"),
    # 41: carol lets c2 ring out; it goes back to the head of the queue.
    CallEnded(now=45, call_id="c1"),
    # 51: carol's no-answer delay ends; she takes s1, since sales is her first queue.
    # 55: alice's wrap-up ends; she takes c2, the VIP at the head of support.
    OfferAnswered(now=53, call_id="s1", agent_id="carol"),
    OfferAnswered(now=57, call_id="c2", agent_id="alice"),
    CallEnded(now=60, call_id="c5"),
    OfferAnswered(now=72, call_id="c4", agent_id="bob"),
    CallEnded(now=90, call_id="s1"),
    CallEnded(now=100, call_id="c2"),
    # c6 is c1's caller again: the offer names the agent they last spoke to.
    CallArrived(now=112, call_id="c6", queue="support", attributes={"caller": "+15550101"}),
    OfferAnswered(now=114, call_id="c6", agent_id="alice"),
    CallEnded(now=120, call_id="c4"),
    CallEnded(now=130, call_id="c6"),
]


def describe_event(ev: Event) -> str:
    if isinstance(ev, AgentLoggedIn):
        p = ev.profile
        return f"{p.agent_id} logs in (queues: {', '.join(p.queues)})"
    if isinstance(ev, CallArrived):
        tags = " VIP" * (ev.priority > 0) + " EMERGENCY" * ev.emergency
        return f"call {ev.call_id} arrives in {ev.queue}{tags}"
    if isinstance(ev, OfferAnswered):
        return f"{ev.agent_id} answers {ev.call_id}"
    if isinstance(ev, OfferDeclined):
        return f"{ev.agent_id} declines {ev.call_id} ({ev.reason})"
    if isinstance(ev, CallAbandoned):
        return f"caller {ev.call_id} hangs up while waiting"
    if isinstance(ev, CallEnded):
        return f"call {ev.call_id} ends"
    return repr(ev)


def describe_action(a: Action) -> str:
    if isinstance(a, Offer):
        seen = f", last spoke to {a.last_agent}" if a.last_agent else ""
        return f"Offer {a.call_id} to {a.agent_id} (waited {a.waited:g}s{seen})"
    if isinstance(a, Queued):
        return f"Queued {a.call_id} in {a.queue} at position {a.position} ({a.reason})"
    if isinstance(a, CancelOffer):
        return f"CancelOffer {a.call_id} to {a.agent_id} ({a.reason})"
    if isinstance(a, PauseAgent):
        return f"PauseAgent {a.agent_id} ({a.reason})"
    if isinstance(a, Reject):
        return f"Reject {a.call_id} ({a.reason})"
    return repr(a)


def agent_states(acd: Distributor) -> dict[str, str]:
    states = {}
    for profile in AGENTS:
        try:
            states[profile.agent_id] = acd.agent(profile.agent_id).state.value
        except UnknownAgent:  # never logged in yet
            states[profile.agent_id] = "logged-out"
    return states


def show(
    acd: Distributor, at: float, title: str, actions: list[Action], before: dict[str, str]
) -> None:
    acd.check()  # every invariant, including work conservation, after every step
    after = agent_states(acd)
    changes = [f"{a}: {before[a]} -> {after[a]}" for a in after if after[a] != before[a]]
    if title == "(deadline)" and not actions and not changes:
        return  # a timer that found nothing to do (e.g. a delay ending for a busy agent)
    print(f"t={at:4.0f}  {title}" + (f"   [{'; '.join(changes)}]" if changes else ""))
    for action in actions:
        print(f"          -> {describe_action(action)}")


def step(acd: Distributor, ev: Event) -> None:
    # Deadlines that fall before (or at) the event fire first, each at its own instant.
    while (due := acd.next_deadline()) is not None and due <= ev.now:
        before = agent_states(acd)
        show(acd, due, "(deadline)", acd.advance(due), before)
    # The adapter's rule: advance to the event's time, then hand it the event.
    before = agent_states(acd)
    show(acd, ev.now, describe_event(ev), acd.advance(ev.now) + acd.handle(ev), before)


def main() -> None:
    acd = Distributor(QUEUES)
    for ev in SCRIPT:
        step(acd, ev)
    while (due := acd.next_deadline()) is not None:  # let the last wrap-ups finish
        before = agent_states(acd)
        show(acd, due, "(deadline)", acd.advance(due), before)

    print("\ncounts:", acd.counts())
    print("agent states:", {k: v for k, v in acd.agent_states().items() if v})
    for profile in AGENTS:
        a = acd.agent(profile.agent_id)
        print(
            f"  {a.agent_id:5}  {a.state.value:9}  answered {a.calls_taken}"
            f"  talk time {a.talk_time:g}s"
        )

    # A bad event is refused with an AcdError subclass and changes nothing.
    before = acd.snapshot()
    try:
        acd.handle(OfferAnswered(now=acd.now, call_id="c3", agent_id="bob"))
    except AcdError as exc:
        print(f"refused: {type(exc).__name__}: {exc}")
    assert acd.snapshot() == before


if __name__ == "__main__":
    main()
