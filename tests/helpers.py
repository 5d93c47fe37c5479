"""Small helpers for example tests: drive a distributor like an adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acdcore import Action, Channel, Distributor, Event, Offer, snapshots


def feed(acd: Distributor, *events: Event) -> list[Action]:
    """Advance to each event's time, apply it, check invariants; all actions."""
    out: list[Action] = []
    for ev in events:
        out += acd.advance(ev.now)
        acd.check()
        out += acd.handle(ev)
        acd.check()
    return out


def run_until(acd: Distributor, until: float) -> list[Action]:
    """Advance deadline by deadline up to ``until``, checking invariants."""
    out: list[Action] = []
    while True:
        due = acd.next_deadline()
        if due is None or due > until:
            break
        out += acd.advance(due)
        acd.check()
    out += acd.advance(until)
    acd.check()
    return out


def offers(actions: Iterable[Action]) -> list[tuple[str, str]]:
    """(call_id, agent_id) for every Offer among ``actions``, in order."""
    return [(a.call_id, a.agent_id) for a in actions if isinstance(a, Offer)]


def of_type(actions: Iterable[Action], kind: type[Action]) -> list[Action]:
    """The actions of one type, in order."""
    return [a for a in actions if isinstance(a, kind)]


def read_only_calls(
    acd: Distributor, call_id: str, agent_id: str, queue: str, k: int = 0
) -> list[Callable[[], object]]:
    """Every read-only method and view of ``acd`` (arguments given), for
    tests that interleave reads with events: none may change a decision."""
    return [
        acd.next_deadline,
        acd.snapshot,
        acd.check,
        acd.counts,
        lambda: acd.call(call_id),
        lambda: acd.agent(agent_id),
        lambda: acd.waiting(queue),
        lambda: acd.explain(call_id),
        lambda: acd.estimate(call_id),
        lambda: acd.estimate_new(queue),
        lambda: acd.estimate_new(queue, priority=k % 3, channel=Channel.CHAT),
        acd.agent_states,
        lambda: acd.surge_active(queue),
        lambda: (acd.queues, acd.transfers, acd.plan, acd.estimators, acd.now, acd.backend),
        lambda: snapshots.save(acd),
    ]
