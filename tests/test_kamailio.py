"""The Kamailio adapter against a real Kamailio and SIPp phones on loopback.

Each test starts the shipped kamailio.cfg, a runtime with the adapter, SIPp
agents (registered through Kamailio, then answering, busy or never
answering) and SIPp callers, and checks both sides: what acdcore decided
and what the phones saw. Skipped where kamailio or sipp is missing, failed
instead under ACDCORE_REQUIRE_SERVERS=1 (CI installs them: kamailio,
kamailio-extra-modules, sip-tester).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from acdcore import (
    Action,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    Event,
    Exit,
    NoAnswerPolicy,
    Offer,
    OfferAnswered,
    OfferDeclined,
    PriorityClasses,
    QueueConfig,
    Queued,
    QueueRules,
    RoutingPlan,
    Rule,
    Strategy,
    UnknownAgent,
)
from acdcore.adapters.kamailio import KamailioAdapter, rpc
from acdcore.adapters.netstring import encode
from acdcore.runtime import Runtime

from .sipnet import Kamailio, Sipp


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    """Real switches are slow: one backend (the adapter does not see it)."""
    return str(request.param)


@pytest.fixture
def kamailio(tmp_path: Path) -> Any:
    k = Kamailio(tmp_path).start()
    yield k
    k.stop()


async def until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Wait until ``check()`` is true (polled every 10 ms), or fail."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


class Switchboard:
    """A runtime and the adapter on the test's Kamailio, plus what happened."""

    def __init__(
        self,
        kam: Kamailio,
        workdir: Path,
        queue: QueueConfig,
        *others: QueueConfig,
        plan: RoutingPlan | None = None,
        **adapter: Any,
    ) -> None:
        self.kam, self.workdir = kam, workdir
        self.acd = Distributor([queue, *others], plan=plan)
        self.log: list[tuple[Event | None, list[Action]]] = []
        self.adapter = KamailioAdapter(
            port=kam.evapi_port,
            rpc_port=kam.rpc_port,
            profiles=lambda agent: AgentProfile(agent, queues=[queue.name]),
            **adapter,
        )
        self.runtime = Runtime(self.acd, self.adapter, observe=lambda e, a: self.log.append((e, a)))
        self.phones: list[Sipp] = []
        self._serve: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Switchboard:
        await self.runtime.start()
        await self.connect()
        return self

    async def connect(self) -> None:
        self._serve = asyncio.get_running_loop().create_task(self.adapter.serve(self.runtime))
        await until(self.adapter.connected.is_set, what="the adapter to connect")

    async def disconnect(self) -> None:
        """Drop the adapter's link to Kamailio and keep it down until
        :meth:`connect` (what an outage or a restarting adapter looks like)."""
        assert self._serve is not None
        self._serve.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve
        self._serve = None

    async def __aexit__(self, *exc: object) -> None:
        for p in self.phones:
            await p.stop()
        await self.adapter.close()
        if self._serve is not None:
            self._serve.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve
        await self.runtime.stop()

    async def agents(self, scenario: str, names: list[str]) -> Sipp:
        """Register ``names`` (SIPp REGISTERs through Kamailio, logging them
        in), then start one SIPp phone answering for all of them."""
        phone = Sipp(self.workdir, scenario, self.kam.sip_port, port=None)
        reg = Sipp(
            self.workdir,
            "register",
            self.kam.sip_port,
            rows=[[n, "600"] for n in names],
            calls=len(names),
            port=phone.port,
        )
        await reg.start()
        assert await reg.wait() == 0, "registration failed"
        await until(
            lambda: all(self.logged_in(n) for n in names),
            what=f"{names} logged in",
        )
        await phone.start()
        await phone.listening()
        self.phones.append(phone)
        return phone

    def logged_in(self, agent: str) -> bool:
        try:
            state = self.acd.agent(agent).state.value
        except UnknownAgent:
            return False
        return state != "logged-out" and agent in self.adapter.contacts

    def callers(self, scenario: str, rows: list[list[str]], **kw: Any) -> Sipp:
        return Sipp(self.workdir, scenario, self.kam.sip_port, rows=rows, calls=len(rows), **kw)

    def events(self, kind: type[Event]) -> list[Any]:
        return [e for e, _ in self.log if isinstance(e, kind)]

    def actions(self, kind: type[Action]) -> list[Any]:
        return [a for _, acts in self.log for a in acts if isinstance(a, kind)]

    def finished(self) -> int:
        c = self.acd.counts()
        return c["arrived"] - sum(
            c[s] for s in ("waiting", "ringing", "connected", "callback-pending")
        )


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))


def test_answered(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support")) as sb:
            phone = await sb.agents("agent_answer", ["alice"])
            caller = await sb.callers("caller", [["0"]], pause_ms=300).start()
            assert await caller.wait() == 0
            await until(lambda: sb.acd.counts()["completed"] == 1, what="the call to complete")
            (answered,) = sb.events(OfferAnswered)
            assert answered.agent_id == "alice"
            assert len(sb.events(CallEnded)) == 1
            sent = [m for _, d, m in caller.messages() if d == "sent"]
            assert [m.split(" ", 1)[0] for m in sent] == ["INVITE", "ACK", "BYE"]
            got = [m for _, d, m in phone.messages() if d == "received"]
            assert [m.split(" ", 1)[0] for m in got] == ["INVITE", "ACK", "BYE"]
            assert got[0].split("|")[1] == answered.call_id  # the same SIP call
            assert not sb.adapter.unrecovered

    run(main())


def test_abandoned_in_queue(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support")) as sb:
            caller = await sb.callers("caller_cancel", [["0"]], pause_ms=800).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the caller to wait")
            assert await caller.wait() == 0  # CANCEL, 200, 487, ACK as scripted
            await until(lambda: sb.acd.counts()["abandoned"] == 1, what="the abandon")
            assert not sb.actions(Offer)
            assert sb.adapter.calls == {}

    run(main())


def test_abandoned_while_ringing(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support", ring_timeout=20)) as sb:
            phone = await sb.agents("agent_noanswer", ["bob"])
            caller = await sb.callers("caller_cancel_ringing", [["0"]], pause_ms=300).start()
            assert await caller.wait() == 0
            await until(lambda: sb.acd.counts()["abandoned"] == 1, what="the abandon")
            (cancel,) = sb.actions(CancelOffer)
            assert cancel.reason == "caller-abandoned" and cancel.agent_id == "bob"
            await until(
                lambda: any(m.startswith("CANCEL") for _, _, m in phone.messages()),
                what="the phone's CANCEL",
            )
            assert sb.acd.agent("bob").state.value == "available"

    run(main())


def test_declined_then_second_agent(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        queue = QueueConfig("support", no_answer=NoAnswerPolicy(delay=60, auto_pause_after=None))
        async with Switchboard(kamailio, tmp_path, queue) as sb:
            await sb.agents("agent_busy", ["busy"])  # logged in first: longest idle
            await sb.agents("agent_answer", ["carol"])
            caller = await sb.callers("caller", [["0"]], pause_ms=300).start()
            assert await caller.wait() == 0
            await until(lambda: sb.acd.counts()["completed"] == 1, what="the call to complete")
            assert [(o.agent_id) for o in sb.actions(Offer)] == ["busy", "carol"]
            (declined,) = sb.events(OfferDeclined)
            assert (declined.agent_id, declined.reason) == ("busy", "busy")
            assert [e.agent_id for e in sb.events(OfferAnswered)] == ["carol"]

    run(main())


def test_ring_timeout_requeues_at_its_place(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        queue = QueueConfig(
            "support", ring_timeout=3, no_answer=NoAnswerPolicy(delay=600, auto_pause_after=None)
        )
        async with Switchboard(kamailio, tmp_path, queue, ring_grace=1.0) as sb:
            await sb.agents("agent_noanswer", ["dave"])
            first = await sb.callers("caller", [["0"]], pause_ms=200).start()
            await until(lambda: sb.acd.counts()["ringing"] == 1, what="dave's phone to ring")
            second = await sb.callers("caller", [["0"]], pause_ms=200).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the second caller to wait")
            # The switch's 2 s timer ends dave's ring; the caller keeps its place.
            await until(
                lambda: len(sb.events(OfferDeclined)) == 1, timeout=10, what="the ring timeout"
            )
            (missed,) = sb.events(OfferDeclined)
            assert missed.reason == "no-answer"
            requeued = [q for q in sb.actions(Queued) if q.reason == "declined"]
            assert [(q.call_id, q.position) for q in requeued] == [(missed.call_id, 1)]
            assert not [c for c in sb.actions(CancelOffer) if c.reason == "ring-timeout"]
            # Both callers wait on, longer than a ring (which once ended the
            # hold of a caller held again after a ring: tm answered it 408).
            await asyncio.sleep(3)
            assert sb.acd.counts()["waiting"] == 2 and len(sb.adapter.calls) == 2
            await sb.agents("agent_answer", ["erin"])
            assert await first.wait() == 0 and await second.wait() == 0
            order = [e.call_id for e in sb.events(OfferAnswered)]
            assert order[0] == missed.call_id and len(order) == 2

    run(main())


def test_vip_served_ahead(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        queue = QueueConfig("support", policy=PriorityClasses())
        async with Switchboard(kamailio, tmp_path, queue) as sb:
            regular = await sb.callers("caller", [["0"], ["0"], ["0"]], pause_ms=100).start()
            await until(lambda: sb.acd.counts()["waiting"] == 3, what="three callers waiting")
            vip = await sb.callers("caller", [["5"]], pause_ms=100).start()
            await until(lambda: sb.acd.counts()["waiting"] == 4, what="the VIP waiting")
            (vip_call,) = [e.call_id for e in sb.events(CallArrived) if e.priority == 5]
            await sb.agents("agent_answer", ["frank"])
            assert await vip.wait() == 0 and await regular.wait() == 0
            order = [e.call_id for e in sb.events(OfferAnswered)]
            assert order[0] == vip_call
            arrivals = [e.call_id for e in sb.events(CallArrived) if e.priority == 0]
            assert order[1:] == arrivals  # the others in arrival order

    run(main())


def test_ring_all_is_one_offer_with_several_branches(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        queue = QueueConfig("support", strategy=Strategy.RING_ALL, ring_timeout=20)
        async with Switchboard(kamailio, tmp_path, queue) as sb:
            ringer = await sb.agents("agent_noanswer", ["hank"])
            busy = await sb.agents("agent_busy", ["ivy"])
            await sb.agents("agent_answer", ["jo"])
            caller = await sb.callers("caller", [["0"]], pause_ms=200).start()
            assert await caller.wait() == 0
            await until(lambda: sb.acd.counts()["completed"] == 1, what="the call to complete")
            assert sorted(o.agent_id for o in sb.actions(Offer)) == ["hank", "ivy", "jo"]
            assert sb.adapter.counts["command:offer"] == 1  # one continue, three branches
            assert [(e.agent_id, e.reason) for e in sb.events(OfferDeclined)] == [("ivy", "busy")]
            assert [e.agent_id for e in sb.events(OfferAnswered)] == ["jo"]
            cancelled = [(c.agent_id, c.reason) for c in sb.actions(CancelOffer)]
            assert cancelled == [("hank", "answered-elsewhere")]
            # The switch cancelled hank's ringing branch itself.
            await until(
                lambda: any(m.startswith("CANCEL") for _, _, m in ringer.messages()),
                what="hank's phone to be cancelled",
            )
            assert [m.split(" ")[0] for _, d, m in busy.messages() if d == "received"] == [
                "INVITE",
                "ACK",
            ]

    run(main())


def test_pause_through_the_runtime(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support")) as sb:
            await sb.agents("agent_answer", ["gina"])
            assert (
                await sb.runtime.submit(AgentPaused(now=0, agent_id="gina", reason="lunch"))
            ).accepted
            caller = await sb.callers("caller", [["0"]], pause_ms=100).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the caller to wait")
            assert not sb.actions(Offer)
            assert (await sb.runtime.submit(AgentResumed(now=0, agent_id="gina"))).accepted
            assert await caller.wait() == 0
            assert [e.agent_id for e in sb.events(OfferAnswered)] == ["gina"]

    run(main())


def test_reconnect_resynchronises(kamailio: Kamailio, tmp_path: Path) -> None:
    """What happens while the adapter is away is applied when it is back: a
    caller who gave up is abandoned, a talk that ended is ended, an answer
    is connected; a caller who rings meanwhile is refused, not stranded."""

    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support", ring_timeout=30)) as sb:
            await sb.agents("agent_answer", ["kim"])
            talker = await sb.callers("caller", [["0"]], pause_ms=1500).start()
            await until(lambda: sb.acd.counts()["connected"] == 1, what="kim to answer")
            quitter = await sb.callers("caller_cancel", [["0"]], pause_ms=1500).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the second caller to wait")
            await sb.disconnect()
            refused = await sb.callers("caller_refused", [["0"]]).start()
            assert await refused.wait() == 0  # 503 at once, while no adapter is there
            assert await talker.wait() == 0 and await quitter.wait() == 0  # BYE, CANCEL
            assert sb.acd.counts()["connected"] == 1 and sb.acd.counts()["waiting"] == 1
            await sb.connect()
            counts = sb.acd.counts()
            assert (counts["completed"], counts["abandoned"], counts["arrived"]) == (1, 1, 2)
            assert sb.adapter.calls == {} and not sb.adapter.unrecovered
            # And the adapter is live again.
            again = await sb.callers("caller", [["0"]], pause_ms=100).start()
            assert await again.wait() == 0
            await until(lambda: sb.acd.counts()["completed"] == 2, what="the next call")

    run(main())


def test_answer_missed_while_away_is_applied(kamailio: Kamailio, tmp_path: Path) -> None:
    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support", ring_timeout=30)) as sb:
            await sb.agents("agent_slow", ["lee"])  # answers after 1.5 s of ringing
            caller = await sb.callers("caller", [["0"]], pause_ms=1000).start()
            await until(lambda: sb.acd.counts()["ringing"] == 1, what="lee's phone to ring")
            await sb.disconnect()
            await until(
                lambda: any(m.startswith("ACK") for _, d, m in caller.messages() if d == "sent"),
                what="the answer",
            )
            await sb.connect()
            assert [e.agent_id for e in sb.events(OfferAnswered)] == ["lee"]
            assert await caller.wait() == 0
            await until(lambda: sb.acd.counts()["completed"] == 1, what="the end of the talk")

    run(main())


def test_burst_200_calls_20_agents(kamailio: Kamailio, tmp_path: Path) -> None:
    """200 calls in 2 s: 170 to support, served by 18 answering phones and 2
    busy ones (their declines send the call on), and 30 to sales, where no
    agent is staffed and every caller gives up after a second. Every call
    ends in one outcome, and both sides count the same."""

    def sip(phone: Sipp, method: str) -> list[tuple[str, str]]:
        """(Call-ID, agent) of each ``method`` request the phone received."""
        return [
            (m.split("|")[1], m.split(" ")[1].split("@")[0].removeprefix("sip:"))
            for _, d, m in phone.messages()
            if d == "received" and m.startswith(method + " ")
        ]

    async def main() -> None:
        queues = (QueueConfig("support"), QueueConfig("sales"))
        async with Switchboard(kamailio, tmp_path, *queues) as sb:
            # One phone per busy agent: both may refuse the same call (Call-ID).
            busy = [await sb.agents("agent_busy", [name]) for name in ("agent18", "agent19")]
            phone = await sb.agents("agent_answer", [f"agent{i:02d}" for i in range(18)])
            served = sb.callers("caller", [["0"]] * 170, pause_ms=400, rate=100, limit=200)
            quitters = sb.callers(
                "caller_cancel", [["0"]] * 30, service="sales", pause_ms=1000, rate=15
            )
            await served.start()
            await quitters.start()
            assert await served.wait(timeout=90) == 0
            assert await quitters.wait(timeout=90) == 0
            await until(lambda: sb.finished() == 200, timeout=30, what="every call to finish")
            counts = sb.acd.counts()
            assert (counts["arrived"], counts["completed"], counts["abandoned"]) == (200, 170, 30)
            # Callers' side: 170 answered and hung up, 30 cancelled and got their 487.
            sent = Counter(m.split(" ", 1)[0] for _, d, m in served.messages() if d == "sent")
            got = Counter(m.split("|")[0] for _, d, m in served.messages() if d == "received")
            assert sent["INVITE"] == 170 and sent["BYE"] == 170, sent
            assert got["SIP/2.0 200 OK"] == 340, got  # the INVITE's and the BYE's
            gave_up = Counter(m.split(" ", 1)[0] for _, d, m in quitters.messages() if d == "sent")
            assert gave_up["CANCEL"] == 30, gave_up
            assert (
                sum(
                    m.startswith("SIP/2.0 487")
                    for _, d, m in quitters.messages()
                    if d == "received"
                )
                == 30
            )
            # Phones' side: each answered call rang the phone acdcore chose; each
            # INVITE the busy phone refused is one busy decline in acdcore.
            answered = {e.call_id: e.agent_id for e in sb.events(OfferAnswered)}
            assert dict(sip(phone, "INVITE")) == answered and len(answered) == 170
            declined = [(e.call_id, e.agent_id) for e in sb.events(OfferDeclined)]
            assert sorted(sip(busy[0], "INVITE") + sip(busy[1], "INVITE")) == sorted(declined)
            assert declined
            assert {e.reason for e in sb.events(OfferDeclined)} == {"busy"}
            abandoned = {e.call_id for e in sb.events(CallAbandoned)}
            assert len(abandoned) == 30 and not abandoned & set(answered)
            assert {e.call_id for e in sb.events(CallArrived)} == set(answered) | abandoned
            assert not sb.adapter.unrecovered and sb.adapter.calls == {}
            print(
                f"\nburst: acdcore {counts}; served callers sent {dict(sent)}, received "
                f"{dict(got)}; quitters sent {dict(gave_up)}; answering phones rang "
                f"{len(answered)}, busy phones refused {len(declined)}"
            )

    run(main())


def test_offer_made_by_a_deadline(kamailio: Kamailio, tmp_path: Path) -> None:
    """An offer that a timer makes (the end of wrap-up), not an event, to a
    caller held for longer than tm's default 5 s fr_timer (which once
    expired held callers: the offer then found no transaction)."""

    async def main() -> None:
        async with Switchboard(kamailio, tmp_path, QueueConfig("support", wrap_up=6)) as sb:
            callers = await sb.callers("caller", [["0"], ["0"]], pause_ms=200).start()
            await until(lambda: sb.acd.counts()["waiting"] == 2, what="two callers")
            await sb.agents("agent_answer", ["max"])
            assert await callers.wait(timeout=30) == 0
            assert [e.agent_id for e in sb.events(OfferAnswered)] == ["max", "max"]

    run(main())


def test_a_hold_that_expires_is_reported_at_once(tmp_path: Path) -> None:
    """A held transaction that outlives MAX_WAIT_MS (here 3 s) is answered
    by tm (408); the configuration reports it (gone) and the call is
    abandoned then, not at its next offer."""
    kam = Kamailio(tmp_path, max_wait_ms=3000).start()

    async def main() -> None:
        async with Switchboard(kam, tmp_path, QueueConfig("support")) as sb:
            caller = await sb.callers("caller", [["0"]], pause_ms=100).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the caller to wait")
            await until(lambda: sb.acd.counts()["abandoned"] == 1, timeout=10, what="the report")
            assert sb.adapter.calls == {} and len(sb.adapter.unrecovered) == 1
            await caller.wait(timeout=20)
            assert any(m.startswith("SIP/2.0 408") for _, _, m in caller.messages())
            table = await rpc("127.0.0.1", kam.rpc_port, "htable.dump", ["acd"])
            assert table == []  # nothing left behind on the switch

    try:
        run(main())
    finally:
        kam.stop()


def test_a_final_answer_reaches_the_caller(kamailio: Kamailio, tmp_path: Path) -> None:
    """Reject (a full queue) becomes 486; an overflow to a destination is
    forwarded there (the destination answers and the caller talks)."""

    async def main() -> None:
        voicemail = Sipp(tmp_path, "agent_answer", kamailio.sip_port)
        plan = RoutingPlan(
            rules=(),
            default=Rule("default", queue="support"),
            queues={
                "support": QueueRules(
                    # Long enough for the second caller's SIPp to start on a
                    # loaded machine: it must find the first still waiting
                    # (a CI run under load once took over a second, and the
                    # second caller was queued, not refused).
                    max_wait=4.0,
                    on_max_wait=Exit("destination", f"sip:vm@127.0.0.1:{voicemail.port}"),
                )
            },
        )
        queue = QueueConfig("support", max_length=1)
        async with Switchboard(kamailio, tmp_path, queue, plan=plan) as sb:
            await voicemail.start()
            sb.phones.append(voicemail)
            first = await sb.callers("caller", [["0"]], pause_ms=200).start()
            await until(lambda: sb.acd.counts()["waiting"] == 1, what="the first caller")
            second = await sb.callers("caller_refused", [["0"]]).start()
            assert await second.wait() == 0
            assert any(m.startswith("SIP/2.0 486") for _, _, m in second.messages())
            assert await first.wait() == 0  # answered by the voicemail, talked, hung up
            counts = sb.acd.counts()
            assert (counts["rejected"], counts["overflowed"]) == (1, 1)
            got = [m.split(" ")[0] for _, d, m in voicemail.messages() if d == "received"]
            assert got == ["INVITE", "ACK", "BYE"]
            assert sb.adapter.calls == {}

    run(main())


def test_malformed_switch_messages_are_skipped(tmp_path: Path) -> None:
    """What the configuration would never send is counted and skipped; the
    adapter goes on with the next message."""

    async def main() -> None:
        acd = Distributor([QueueConfig("support")])
        adapter = KamailioAdapter(rpc_port=None)
        async with Runtime(acd, adapter) as runtime:
            adapter._runtime = runtime
            reader = asyncio.StreamReader()
            for raw in (
                b"[1, 2]",
                b"not json",
                b'{"event": "invite"}',
                b'{"event": "answered", "callid": "x"}',
                b'{"event": "nonsense"}',
                b'{"event": "invite", "callid": "c1", "queue": "support", "tindex": 1, "tlabel": 2}',
            ):
                reader.feed_data(encode(raw))
            reader.feed_eof()
            await adapter._read(reader)
            assert adapter.counts["malformed"] == 4
            assert acd.counts()["waiting"] == 1  # the last one, a good one, went through

    run(main())


def test_a_caller_out_of_branches_is_let_go(kamailio: Kamailio, tmp_path: Path) -> None:
    """Each offer and each hold is a branch of the caller's one INVITE
    transaction; with max_branches 30 the 15th failed offer leaves none to
    hold the caller again: the switch answers 500 and the adapter ends the
    call (abandoned, listed as unrecovered)."""

    async def main() -> None:
        queue = QueueConfig("support", no_answer=NoAnswerPolicy(delay=0.05, auto_pause_after=None))
        async with Switchboard(kamailio, tmp_path, queue) as sb:
            await sb.agents("agent_busy", ["olga"])
            caller = await sb.callers("caller", [["0"]]).start()
            await until(lambda: sb.acd.counts()["abandoned"] == 1, timeout=60, what="the end")
            assert len(sb.events(OfferDeclined)) == 15
            assert sb.adapter.calls == {} and len(sb.adapter.unrecovered) == 1
            assert await caller.wait() != 0  # SIPp's caller expected an answer, got 500
            assert any(m.startswith("SIP/2.0 500") for _, _, m in caller.messages())

    run(main())


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"port": 0}, "port"),
        ({"rpc_port": 70000}, "rpc_port"),
        ({"ring_grace": -1.0}, "ring_grace"),
        ({"reconnect_max": 0}, "reconnect_max"),
        ({"ring_grace": float("nan")}, "ring_grace"),
    ],
)
def test_bad_adapter_settings_are_refused_by_name(kwargs: dict[str, Any], named: str) -> None:
    from acdcore import InvalidValue

    with pytest.raises(InvalidValue, match=named):
        KamailioAdapter(**kwargs)
