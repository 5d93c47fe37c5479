"""The runtime: events applied in order at its clock, refusals reported with
their typed error, deadlines fired by its timer, actions performed without
holding anything up, and the switch races handled as documented."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentProfile,
    CallAbandoned,
    CallArrived,
    CallbackPolicy,
    CallbackRequested,
    CancelOffer,
    Distributor,
    InvalidAgentState,
    Metrics,
    NoAnswerPolicy,
    NoSuchOffer,
    NotPermitted,
    Offer,
    OfferAnswered,
    PlaceCallback,
    QueueConfig,
    UnknownCall,
    snapshots,
)
from acdcore.journal import JournalWriter, read_journal, replay
from acdcore.runtime import ActionFailed, Runtime, RuntimeFailed
from acdcore.store import Store


class Clock:
    """A clock a test moves by hand (Unix-like seconds)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Sink:
    """Records what it performs; can fail offers to some agents, or hold
    every action of one type until released."""

    def __init__(self, unreachable: tuple[str, ...] = (), hold: type[Action] | None = None) -> None:
        self.done: list[Action] = []
        self.unreachable = unreachable
        self.hold = hold
        self.release = asyncio.Event()

    async def perform(self, action: Action) -> None:
        if self.hold is not None and isinstance(action, self.hold):
            await self.release.wait()
        if isinstance(action, (Offer, PlaceCallback)) and action.agent_id in self.unreachable:
            raise ActionFailed(f"{action.agent_id} is unreachable")
        self.done.append(action)


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 30))


def login(agent: str, queues: tuple[str, ...] = ("q",)) -> AgentLoggedIn:
    return AgentLoggedIn(now=0, profile=AgentProfile(agent, queues=list(queues)))


def arrive(call: str, queue: str = "q") -> CallArrived:
    return CallArrived(now=0, call_id=call, queue=queue)


def names(actions: Any) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_events_are_applied_at_the_runtime_clock_and_refusals_are_typed() -> None:
    async def body() -> None:
        clock = Clock(1000.0)
        acd = Distributor([QueueConfig("q")], start=1000.0)
        async with Runtime(acd, Sink(), clock=clock) as rt:
            r = await rt.submit(login("a"))
            assert r.accepted and r.event.now == 1000.0
            clock.t = 1005.0
            r = await rt.submit(arrive("c"))
            assert names(r.actions) == ["Queued", "Offer"] and r.actions[0].at == 1005.0
            again = await rt.submit(arrive("c"))
            assert not again.accepted and type(again.error).__name__ == "DuplicateCall"
            clock.t = 900.0  # a clock that steps back is held at the distributor's
            r = await rt.submit(OfferAnswered(now=0, call_id="c", agent_id="a"))
            assert r.accepted and r.event.now == 1005.0
            assert rt.view()["counts"]["connected"] == 1

    run(body)


def test_the_timer_fires_deadlines_with_no_event() -> None:
    """Real time: a 50 ms ring timeout fires by itself."""

    async def body() -> None:
        acd = Distributor([QueueConfig("q", ring_timeout=0.05)], start=time.time())
        seen = asyncio.Event()

        class Watch(Sink):
            async def perform(self, action: Action) -> None:
                await super().perform(action)
                if isinstance(action, CancelOffer):
                    seen.set()

        sink = Watch()
        async with Runtime(acd, sink) as rt:
            await rt.submit(login("a"))
            await rt.submit(arrive("c"))
            await asyncio.wait_for(seen.wait(), 10)
        cancel = [a for a in sink.done if isinstance(a, CancelOffer)]
        assert cancel and cancel[0].reason == "ring-timeout"

    run(body)


def test_a_slow_action_delays_no_deadline_and_no_event() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q", ring_timeout=10)], start=clock.t)
        sink = Sink(hold=Offer)  # every offer "takes forever" at the switch
        rt = Runtime(acd, sink, clock=clock)
        await rt.start()
        await rt.submit(login("a"))
        r = await rt.submit(arrive("c"))  # returns although its Offer is still being performed
        assert names(r.actions) == ["Queued", "Offer"]
        assert (await rt.submit(login("b"))).accepted
        clock.t += 10
        await rt.poke()
        assert acd.counts()["ringing"] == 1  # the ring timeout fired: offered to b now
        done = names(sink.done)  # everything but the held offers was performed
        assert "CancelOffer" in done and "Offer" not in done
        sink.release.set()
        await rt.stop()
        assert names(sink.done).count("Offer") == 2

    run(body)


def test_race_an_answer_after_the_ring_timeout_is_refused() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q", ring_timeout=15)], start=clock.t)
        async with Runtime(acd, Sink(), clock=clock) as rt:
            await rt.submit(login("a"))
            await rt.submit(arrive("c"))
            clock.t += 15
            r = await rt.submit(OfferAnswered(now=0, call_id="c", agent_id="a"))
            assert isinstance(r.error, NoSuchOffer)  # hang up a's leg
            assert acd.call("c").state.value == "waiting"

    run(body)


def test_race_a_hang_up_crossing_an_offer() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q")], start=clock.t)
        async with Runtime(acd, Sink(), clock=clock) as rt:
            await rt.submit(login("a"))
            await rt.submit(arrive("c"))
            gone, late = await asyncio.gather(
                rt.submit(CallAbandoned(now=0, call_id="c")),
                rt.submit(OfferAnswered(now=0, call_id="c", agent_id="a")),
            )
            assert [(a.reason) for a in gone.actions if isinstance(a, CancelOffer)] == [
                "caller-abandoned"
            ]
            assert isinstance(late.error, UnknownCall)
            assert acd.counts()["abandoned"] == 1

    run(body)


def test_race_an_agent_logs_out_while_ringing() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q")], start=clock.t)
        async with Runtime(acd, Sink(), clock=clock) as rt:
            await rt.submit(login("a"))
            await rt.submit(arrive("c"))
            r = await rt.submit(AgentLoggedOut(now=0, agent_id="a"))
            assert names(r.actions) == ["CancelOffer", "Queued"]
            assert r.actions[0].reason == "agent-logged-out"  # type: ignore[attr-defined]

    run(body)


def test_race_the_same_event_twice_changes_nothing_the_second_time() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q")], start=clock.t)
        async with Runtime(acd, Sink(), clock=clock) as rt:
            await rt.submit(login("a"))
            assert isinstance((await rt.submit(login("a"))).error, InvalidAgentState)
            await rt.submit(arrive("c"))
            answer = OfferAnswered(now=0, call_id="c", agent_id="a")
            first, second = await asyncio.gather(rt.submit(answer), rt.submit(answer))
            assert first.accepted and isinstance(second.error, NoSuchOffer)
            before = acd.snapshot()
            assert not (await rt.submit(answer)).accepted
            assert acd.snapshot() == before

    run(body)


def test_an_unreachable_agent_becomes_a_decline_and_the_call_goes_on() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor([QueueConfig("q", no_answer=NoAnswerPolicy(delay=30))], start=clock.t)
        sink = Sink(unreachable=("a",))
        rt = Runtime(acd, sink, clock=clock)
        await rt.start()
        await rt.submit(login("a"))
        await rt.submit(login("b"))
        await rt.submit(arrive("c"))  # offered to a (longest idle), whose phone is gone
        await rt.stop()  # waits for the failure and the event it becomes
        offers = [a.agent_id for a in sink.done if isinstance(a, Offer)]
        assert offers == ["b"]
        assert acd.agent("a").consecutive_misses == 1
        assert rt.failures == 0

    run(body)


def test_an_undialable_callback_is_unanswered() -> None:
    async def body() -> None:
        clock = Clock()
        acd = Distributor(
            [QueueConfig("q", callback=CallbackPolicy(threshold=1e9, retries=0))],
            start=clock.t,
        )
        sink = Sink(unreachable=("a",))
        rt = Runtime(acd, sink, clock=clock)
        await rt.start()
        await rt.submit(arrive("c"))
        await rt.submit(CallbackRequested(now=0, call_id="c", number="+1"))
        await rt.submit(login("a"))  # reserved for the callback; dialling fails
        await rt.stop()
        assert acd.counts()["callback-failed"] == 1

    run(body)


def test_observe_sees_every_accepted_event_and_advance_in_order() -> None:
    async def body() -> None:
        clock = Clock()
        seen: list[tuple[str, list[str]]] = []
        acd = Distributor([QueueConfig("q", ring_timeout=5)], start=clock.t)

        def observe(ev: Any, actions: list[Action]) -> None:
            seen.append((type(ev).__name__ if ev else "advance", names(actions)))

        async with Runtime(acd, Sink(), clock=clock, observe=observe) as rt:
            await rt.submit(login("a"))
            await rt.submit(arrive("c"))
            await rt.submit(arrive("c"))  # refused: not observed
            clock.t += 5
            await rt.poke()
        assert [x for x in seen if x != ("advance", [])] == [
            ("AgentLoggedIn", []),
            ("CallArrived", ["Queued", "Offer"]),
            ("advance", ["CancelOffer", "Queued"]),
        ]
        assert seen[0] == ("advance", [])  # every event's advance is seen too

    run(body)


def test_a_journal_attached_through_observe_replays_the_run(tmp_path: Path) -> None:
    async def body() -> None:
        clock = Clock()
        configs = [QueueConfig("q", ring_timeout=5, wrap_up=3)]
        acd = Distributor(configs, start=clock.t)
        path = tmp_path / "live.jsonl"
        with JournalWriter(path) as journal:

            def observe(ev: Any, actions: list[Action]) -> None:
                if ev is None:
                    journal.advance(acd.now, actions)
                else:
                    journal.event(ev, actions)

            async with Runtime(acd, Sink(), clock=clock, observe=observe) as rt:
                await rt.submit(login("a"))
                await rt.submit(login("b"))
                for i in range(4):
                    clock.t += 1
                    await rt.submit(arrive(f"c{i}"))
                clock.t += 5  # ring timeouts
                await rt.poke()
                await rt.submit(OfferAnswered(now=0, call_id="c2", agent_id="a"))
                await rt.submit(arrive("c1"))  # refused (live): not journaled
                clock.t += 2
                await rt.submit(CallAbandoned(now=0, call_id="c3"))
        twin = Distributor(configs, start=1000.0)
        report = replay(read_journal(path).entries, twin)
        assert report.divergence is None and not report.refused
        assert twin.snapshot() == acd.snapshot()

    run(body)


def test_submit_needs_a_running_runtime() -> None:
    async def body() -> None:
        rt = Runtime(Distributor([QueueConfig("q")]), Sink())
        with pytest.raises(RuntimeError, match="not running"):
            await rt.submit(login("a"))

    run(body)


# ------------------------------------------------- store, snapshots, metrics


def test_a_runtime_with_a_store_recovers_its_state_and_metrics(tmp_path: Path) -> None:
    """Every entry is journaled before its actions are performed, the store
    snapshots on its schedule, and a restart recovers the same distributor
    and metrics, with callers still in their places."""

    def build() -> tuple[Distributor, Metrics]:
        acd = Distributor([QueueConfig("q", ring_timeout=5.0, wrap_up=2.0)])
        return acd, Metrics(acd.queues)

    acd, metrics = build()
    journaled: list[Action] = []
    journaled_first: list[bool] = []

    class Journaling(Store):
        def advance(self, now: float, actions: Any = ()) -> int:
            journaled.extend(actions)
            return super().advance(now, actions)

        def event(self, event: Any, actions: Any = ()) -> int:
            journaled.extend(actions)
            return super().event(event, actions)

    store = Journaling(tmp_path, snapshot_every=4, snapshot_seconds=None)
    store.recover(acd, metrics)

    class Checking(Sink):
        async def perform(self, action: Action) -> None:
            journaled_first.append(action in journaled)  # its entry was written first
            await super().perform(action)

    clock = Clock()

    async def body() -> None:
        async with Runtime(acd, Checking(), clock=clock, store=store, metrics=metrics) as rt:
            await rt.submit(login("a"))
            for i in range(5):
                clock.t += 1
                await rt.submit(arrive(f"c{i}"))
            await rt.submit(OfferAnswered(now=0, call_id="c0", agent_id="a"))
            clock.t += 10  # c1 rings out at the runtime's timer
            await rt.poke()
            assert rt.view()["kpis"]["queues"]["q"]["waiting"] == 4

    run(body)
    store.close()
    assert journaled_first and all(journaled_first)
    assert len(store.snapshots()) == 2
    again, again_metrics = build()
    report = Store(tmp_path).recover(again, again_metrics)
    assert report.snapshot is not None
    assert snapshots.save(again, metrics=again_metrics) == snapshots.save(acd, metrics=metrics)
    assert again.waiting("q") == acd.waiting("q") == ["c1", "c2", "c3", "c4"]


def test_a_journal_that_cannot_be_written_stops_the_runtime_and_says_why(tmp_path: Path) -> None:
    """Fail-stop: an entry the journal does not hold must not be followed by
    more decisions. The submit that hit it, and every later one, raise
    RuntimeFailed with the cause; stop() still returns."""
    acd = Distributor([QueueConfig("q")])

    class FullDisk(Store):
        def event(self, event: Any, actions: Any = ()) -> int:
            if isinstance(event, CallArrived):
                raise OSError(28, "No space left on device")
            return super().event(event, actions)

    store = FullDisk(tmp_path, snapshot_seconds=None)
    store.recover(acd)
    sink = Sink()

    async def body() -> None:
        rt = Runtime(acd, sink, clock=Clock(), store=store)
        await rt.start()
        assert (await rt.submit(login("a"))).accepted
        with pytest.raises(RuntimeFailed, match="No space left") as info:
            await rt.submit(arrive("c1"))
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(RuntimeFailed):
            await rt.submit(arrive("c2"))
        await rt.stop()

    run(body)
    assert sink.done == []  # the offer of the entry that was not journaled was never performed
    store.close()


def test_a_guard_sees_the_state_the_event_meets_and_refuses_like_the_distributor() -> None:
    """``submit(event, guard=...)``: the guard runs in the writer just before
    the event, after everything queued ahead of it; its typed error is an
    ordinary refusal (nothing changes)."""
    acd = Distributor([QueueConfig("q")])
    seen: list[int] = []

    def only_while_nobody_waits(distributor: Distributor, event: Any) -> None:
        seen.append(len(distributor.waiting("q")))
        if distributor.waiting("q"):
            raise NotPermitted("someone is waiting")

    async def body() -> None:
        async with Runtime(acd, Sink(), clock=Clock()) as rt:
            first = asyncio.ensure_future(rt.submit(arrive("c1")))
            second = asyncio.ensure_future(rt.submit(arrive("c2"), guard=only_while_nobody_waits))
            assert (await first).accepted
            refused = await second
            assert isinstance(refused.error, NotPermitted) and refused.actions == ()

    run(body)
    assert seen == [1] and acd.waiting("q") == ["c1"] and acd.counts()["arrived"] == 1
