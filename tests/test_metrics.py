"""KPIs from the journal: hand-worked scenarios through a real Distributor.

Each scenario feeds events to a distributor the way an adapter does
(``advance(ev.now)``, then ``handle(ev)``) and gives the metrics the same
events and the actions that came back, in that order. Every expected number
below was worked out by hand from the timeline in the test.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acdcore import (
    AcdError,
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    AgentResumed,
    AgentSkillsChanged,
    AgentState,
    AgentView,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallState,
    CallTransferred,
    CancelOffer,
    Channel,
    ConfigError,
    Distributor,
    Equals,
    Event,
    Exit,
    InvalidCallState,
    InvalidValue,
    NoAnswerPolicy,
    Offer,
    OfferAnswered,
    OfferDeclined,
    PauseAgent,
    QueueConfig,
    Queued,
    QueueRules,
    RoutingPlan,
    Rule,
    SelfService,
    Strategy,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from acdcore.metrics import (
    AgentStats,
    Breach,
    IntervalStats,
    Metrics,
    QueueStats,
    SLVariant,
    percentile,
    render_report,
    render_table,
)

from .strategies import (
    AGENT_IDS,
    QUEUE_NAMES,
    agent_profiles,
    plan_call_attributes,
    queue_configs,
    routing_plans,
)


class Harness:
    """A distributor and its metrics, driven like an adapter drives them."""

    def __init__(
        self, queues: list[QueueConfig], *, plan: RoutingPlan | None = None, **kw: object
    ) -> None:
        self.acd = Distributor(queues, plan=plan)
        self.metrics = Metrics(self.acd.queues, **kw)  # type: ignore[arg-type]
        self.actions: list[Action] = []

    def feed(self, *events: Event) -> list[Action]:
        out: list[Action] = []
        for ev in events:
            before = self.acd.advance(ev.now)
            self.acd.check()
            after = self.acd.handle(ev)
            self.acd.check()
            self.metrics.observe(ev, after, before=before)
            out += before + after
        self.actions += out
        return out

    def run_until(self, until: float) -> list[Action]:
        """Fire deadlines one by one up to ``until``; move the metrics there too."""
        out: list[Action] = []
        while (due := self.acd.next_deadline()) is not None and due <= until:
            acts = self.acd.advance(due)
            self.acd.check()
            self.metrics.observe_actions(acts)
            out += acts
        acts = self.acd.advance(until)
        self.metrics.observe_actions(acts)
        self.metrics.advance(until)
        out += acts
        self.actions += out
        return out

    def agrees(self) -> None:
        """The real-time view matches the distributor."""
        view = self.metrics.realtime(self.acd.now)
        assert dict(view.agents) == self.acd.agent_states()
        for name in self.acd.queues:
            assert view.queues[name].waiting == len(self.acd.waiting(name))


def login(now: float, agent_id: str, queues: Iterable[str] = ("q",)) -> AgentLoggedIn:
    return AgentLoggedIn(now=now, profile=AgentProfile(agent_id, queues=list(queues)))


def arrive(now: float, call_id: str, queue: str = "q") -> CallArrived:
    return CallArrived(now=now, call_id=call_id, queue=queue)


def answer(now: float, call_id: str, agent_id: str) -> OfferAnswered:
    return OfferAnswered(now=now, call_id=call_id, agent_id=agent_id)


# ------------------------------------------------------------ service level


def four_calls(**kw: Any) -> Harness:
    """One agent, four calls: c1 answered after 5 s, c2 after 30 s, c3
    abandoned after 3 s (short), c4 abandoned after 40 s.

    x rings 0-5 (c1), talks 5-25, rings 25-31 (c2), talks 31-60.
    """
    h = Harness([QueueConfig("q")], **kw)
    h.feed(
        login(0, "x"),
        arrive(0, "c1"),
        arrive(1, "c2"),
        arrive(2, "c3"),
        arrive(4, "c4"),
        answer(5, "c1", "x"),
        CallAbandoned(now=5, call_id="c3"),
        CallEnded(now=25, call_id="c1"),
        answer(31, "c2", "x"),
        CallAbandoned(now=44, call_id="c4"),
        CallEnded(now=60, call_id="c2"),
    )
    h.agrees()
    return h


def test_four_calls_every_kpi_by_hand() -> None:
    h = four_calls()
    q = h.metrics.queue_stats("q")
    assert (q.offered, q.answered, q.abandoned, q.rejected, q.in_queue) == (4, 2, 2, 0, 0)
    assert q.short_abandoned == 1  # c3 (3 s <= 5 s)
    assert q.answered_within == 1  # c1 (5 s <= 20 s)
    assert q.abandoned_within == 1  # c3 (3 s <= 20 s)
    assert q.sl_a == 1 / 2  # answered within / answered
    assert q.sl_b == 1 / 4  # answered within / (answered + abandoned)
    assert q.sl_c == 2 / 4  # (answered within + abandoned within) / offered
    assert q.sl_d == 1 / 3  # answered within / (answered + abandoned - short)
    assert q.sl_variant == "b" and q.service_level == 0.25 and q.below_target
    assert q.answer_rate == 0.5 and q.abandon_rate == 0.5 and q.reject_rate == 0.0
    assert q.asa == (5 + 30) / 2
    assert q.avg_wait == (5 + 30 + 3 + 40) / 4
    assert q.longest_wait == 40
    assert (q.wait_p50, q.wait_p90, q.wait_p99) == (5, 40, 40)  # nearest rank of 3, 5, 30, 40
    assert q.handled == 2 and q.talk_time == 20 + 29 and q.aht == 24.5
    assert q.wrap_time == 0 and q.hold_time == 0 and q.avg_hold == 0
    assert q.offers == 2 and q.rona == 0 and q.declined == 0
    assert q.transfers == 0 and q.callbacks == 0
    assert q.surveys == 0 and q.csat is None and q.csat_top2 is None
    assert h.metrics.queue_stats() == attrs.evolve(q, queue=None)

    x = h.metrics.agent_stats("x")
    assert x.time_logged_in == 60
    assert (x.time_ringing, x.time_busy, x.time_wrap_up, x.time_paused) == (11, 49, 0, 0)
    assert x.time_available == 0
    assert x.occupancy == x.utilisation == 49 / 60
    assert (x.offers, x.answered, x.handled, x.aht) == (2, 2, 2, 24.5)


@pytest.mark.parametrize(
    ("variant", "level", "below"),
    [("a", 0.5, True), ("b", 0.25, True), ("c", 0.5, True), (SLVariant.D, 1 / 3, True)],
)
def test_the_configured_variant_drives_service_level(
    variant: str | SLVariant, level: float, below: bool
) -> None:
    q = four_calls(sl_variant=variant).metrics.queue_stats("q")
    assert q.service_level == level and q.below_target is below
    assert q.sl(variant) == level


def test_per_queue_thresholds_and_targets() -> None:
    # Same waits in two queues; "fast" judges them against 4 s, "slow" against 20 s.
    h = Harness(
        [QueueConfig("fast"), QueueConfig("slow")],
        thresholds={"fast": 4.0},
        targets={"slow": 0.5},
    )
    h.feed(
        login(0, "f", ["fast"]),
        login(0, "s", ["slow"]),
        arrive(0, "f1", "fast"),
        arrive(0, "s1", "slow"),
        answer(5, "f1", "f"),
        answer(5, "s1", "s"),
    )
    fast, slow = h.metrics.queue_stats("fast"), h.metrics.queue_stats("slow")
    assert (fast.threshold, fast.target, fast.sl_a) == (4.0, 0.8, 0.0)
    assert (slow.threshold, slow.target, slow.sl_a) == (20.0, 0.5, 1.0)
    overall = h.metrics.queue_stats()
    assert overall.threshold is None and overall.target is None  # they differ
    assert overall.answered_within == 1 and overall.sl_a == 0.5
    assert not overall.below_target  # no single target to miss


def test_rejected_calls_count_as_offered_and_resolved() -> None:
    h = Harness([QueueConfig("q", max_length=1)])
    h.feed(arrive(0, "c1"), arrive(1, "c2"))  # nobody logged in: c1 waits, c2 is refused
    q = h.metrics.queue_stats("q")
    assert (q.offered, q.rejected, q.in_queue, q.resolved) == (2, 1, 1, 1)
    assert q.reject_rate == 1.0 and q.answer_rate == 0.0
    assert q.sl_a is None and q.sl_b is None and q.sl_d is None  # nothing answered or abandoned
    assert q.sl_c == 0.0
    assert q.asa is None and q.wait_p50 is None and q.aht is None


# ------------------------------------------------------------ attribution


def test_calls_count_in_their_arrival_interval_and_agent_time_is_split() -> None:
    """15-minute intervals. c1 arrives at 890 and is answered at 910: it counts
    in [0, 900). x's time is cut at 900 and 1800.

    x: available 0-890, ringing 890-910 (c1), busy 910-1000, ringing 1000-1004
    (c2), busy 1004-1100, available 1100-1795, ringing 1795-1805 (c3, who hangs
    up), available 1805-1900.
    """
    h = Harness([QueueConfig("q", ring_timeout=30)], interval=900)
    h.feed(
        login(0, "x"),
        arrive(890, "c1"),
        arrive(905, "c2"),
        answer(910, "c1", "x"),
        CallEnded(now=1000, call_id="c1"),
        answer(1004, "c2", "x"),
        CallEnded(now=1100, call_id="c2"),
        arrive(1795, "c3"),
        CallAbandoned(now=1805, call_id="c3"),
    )
    h.run_until(1900)
    first, second, third = h.metrics.intervals()
    assert (first.start, first.end, second.start, third.end) == (0, 900, 900, 2700)

    q0, q1, q2 = (i.queues["q"] for i in (first, second, third))
    assert (q0.offered, q0.answered, q0.asa, q0.sl_b, q0.aht) == (1, 1, 20, 1.0, 90)
    assert (q1.offered, q1.answered, q1.abandoned, q1.short_abandoned) == (2, 1, 1, 0)
    assert (q1.asa, q1.longest_wait, q1.aht) == (99, 99, 96)  # c2 waited 905-1004
    assert q1.abandoned_within == 1 and q1.sl_b == 0.0 and q1.sl_c == 0.5
    assert q2.offered == 0 and q2.sl_b is None

    x0, x1, x2 = (i.agents["x"] for i in (first, second, third))
    assert (x0.time_available, x0.time_ringing, x0.time_busy) == (890, 10, 0)
    assert (x0.answered, x0.aht) == (1, 90)  # c1 arrived in this interval
    assert (x1.time_ringing, x1.time_busy, x1.time_available) == (10 + 4 + 5, 90 + 96, 695)
    assert x1.time_logged_in == 900 and (x1.offers, x1.answered) == (2, 1)
    assert (x2.time_ringing, x2.time_available, x2.time_logged_in) == (5, 95, 100)

    whole = h.metrics.summary()
    assert (whole.start, whole.end) == (0, 2700)
    assert whole.agents["x"].time_logged_in == 1900
    assert whole.overall.offered == 3
    # A range of whole intervals: [900, 2700) is the second and third.
    assert h.metrics.summary(900, 2700).overall.offered == 2
    assert h.metrics.queue_stats("q", start=0, end=900) == q0
    assert h.metrics.agent_stats("x", start=1800) == x2


def test_days_follow_the_local_time_zone() -> None:
    """UTC+1: clock 0 is 2024-01-01 00:00 UTC, 01:00 local. Local midnight of
    January 2 is clock 82800."""
    h = Harness([QueueConfig("q")], interval=3600, tz_offset=3600, epoch=datetime(2024, 1, 1))
    h.feed(
        arrive(82740, "late"),  # 23:59 local, January 1
        arrive(82860, "early"),  # 00:01 local, January 2
        CallAbandoned(now=82870, call_id="late"),
        CallAbandoned(now=82870, call_id="early"),
    )
    day1, day2 = h.metrics.days()
    assert (day1.start, day1.end, day1.label) == (-3600, 82800, "2024-01-01 00:00")
    assert (day2.start, day2.end, day2.label) == (82800, 169200, "2024-01-02 00:00")
    assert day1.overall.offered == day2.overall.offered == 1
    assert day1.overall.avg_wait == 130 and day2.overall.avg_wait == 10
    labels = [i.label for i in h.metrics.intervals()]
    assert labels == ["2024-01-01 23:00", "2024-01-02 00:00"]
    assert h.metrics.summary(82800, 169200) == day2


def test_labels_without_an_epoch_name_the_day_and_time() -> None:
    h = Harness([QueueConfig("q")], interval=1800)
    h.feed(arrive(86400 + 9 * 3600 + 60, "c1"))
    assert [i.label for i in h.metrics.intervals()] == ["day 1 09:00"]


# ---------------------------------------------------------------- agents


def test_occupancy_with_wrap_up_and_a_pause_taken_during_wrap_up() -> None:
    """Wrap-up 10 s. x rings 0-2, talks 2-32, wraps up 32-42 (it pauses at 40,
    which starts counting when the wrap-up ends), is paused 42-70, available
    70-100, then logs out."""
    h = Harness([QueueConfig("q", wrap_up=10)])
    h.feed(
        login(0, "x"),
        arrive(0, "c1"),
        answer(2, "c1", "x"),
        CallEnded(now=32, call_id="c1"),
        AgentPaused(now=40, agent_id="x", reason="break"),
    )
    h.agrees()
    assert h.metrics.realtime().agent_states["x"] == "wrap-up"
    assert h.metrics.realtime(45).agent_states["x"] == "paused"  # a look ahead changes nothing
    assert h.metrics.queue_stats("q").handled == 0  # not handled until its wrap-up ends
    h.feed(AgentResumed(now=70, agent_id="x"), AgentLoggedOut(now=100, agent_id="x"))
    h.run_until(120)
    h.agrees()

    x = h.metrics.agent_stats("x")
    assert x.time_logged_in == 100
    assert (x.time_ringing, x.time_busy, x.time_wrap_up) == (2, 30, 10)
    assert (x.time_paused, x.time_available) == (28, 30)
    assert x.occupancy == 40 / (100 - 28)
    assert x.utilisation == 40 / 100
    assert (x.handled, x.talk_time, x.wrap_time, x.aht) == (1, 30, 10, 40)
    q = h.metrics.queue_stats("q")
    assert (q.handled, q.avg_talk, q.avg_wrap, q.aht) == (1, 30, 10, 40)


def test_an_id_reused_while_its_agent_wraps_it_up_is_a_second_call() -> None:
    """Chat capacity 2, wrap-up 60 s: c1 ends at 3 and its id comes back at 4.
    The new c1 rings and talks beside the old c1's wrap-up, which still ends
    at 63; both count as handled, each with its own talk and wrap time."""
    profile = AgentProfile("x", queues=["q"], capacity={Channel.CHAT: 2}, exclusive=frozenset())
    h = Harness([QueueConfig("q", wrap_up=60)])
    chat = Channel.CHAT
    h.feed(
        AgentLoggedIn(now=0, profile=profile),
        CallArrived(now=1, call_id="c1", queue="q", channel=chat),
        answer(2, "c1", "x"),
        CallEnded(now=3, call_id="c1"),
        CallArrived(now=4, call_id="c1", queue="q", channel=chat),
        answer(5, "c1", "x"),
    )
    h.agrees()
    assert h.metrics.realtime().agent_states["x"] == "busy"
    h.feed(CallEnded(now=10, call_id="c1"))
    h.run_until(62)
    h.agrees()
    assert h.metrics.queue_stats("q").handled == 0  # both still wrapping up
    h.run_until(63)
    assert h.metrics.queue_stats("q").handled == 1  # the first ends at 63
    h.run_until(70)
    h.agrees()
    x = h.metrics.agent_stats("x")
    assert (x.handled, x.talk_time, x.wrap_time) == (2, 1 + 5, 60 + 60)
    assert h.metrics.realtime().agent_states["x"] == "available"


def test_logout_cuts_wrap_up_and_a_pending_logout_waits_for_the_call() -> None:
    """Wrap-up 10 s. x answers c1 at 1, ends it at 11 and logs out at 15, in
    wrap-up: 4 s of wrap-up. y answers c2 at 3 and logs out at 5 while talking:
    the logout takes effect when c2 ends at 9, with no wrap-up."""
    h = Harness([QueueConfig("q", wrap_up=10)])
    h.feed(
        login(0, "x"),
        login(0, "y"),
        arrive(0, "c1"),
        answer(1, "c1", "x"),
        arrive(2, "c2"),
        answer(3, "c2", "y"),
        AgentLoggedOut(now=5, agent_id="y"),
    )
    h.agrees()
    assert h.metrics.realtime().agent_states["y"] == "busy"
    h.feed(CallEnded(now=9, call_id="c2"))
    h.agrees()
    assert h.metrics.realtime().agent_states["y"] == "logged-out"
    h.feed(CallEnded(now=11, call_id="c1"), AgentLoggedOut(now=15, agent_id="x"))
    h.run_until(30)
    h.agrees()

    x, y = h.metrics.agent_stats("x"), h.metrics.agent_stats("y")
    assert (x.time_logged_in, x.time_ringing, x.time_busy, x.time_wrap_up) == (15, 1, 10, 4)
    assert (x.talk_time, x.wrap_time, x.aht) == (10, 4, 14)
    assert (y.time_logged_in, y.time_available, y.time_ringing, y.time_busy) == (9, 2, 1, 6)
    assert (y.wrap_time, y.aht) == (0, 6)
    q = h.metrics.queue_stats("q")
    assert (q.handled, q.talk_time, q.wrap_time, q.aht) == (2, 16, 4, 10)


def test_ring_no_answer_declines_and_auto_pause() -> None:
    """Ring timeout 10 s, no-answer delay 5 s, auto-pause after 2 misses.

    x rings 0-10 (RONA), waits out its delay 10-15, rings 15-25 (RONA) and is
    paused at 25. y logs in at 30, declines at 32, is offered c1 again at 37
    (after its delay) and answers at 40.
    """
    q = QueueConfig("q", ring_timeout=10, no_answer=NoAnswerPolicy(delay=5, auto_pause_after=2))
    h = Harness([q])
    h.feed(login(0, "x"), arrive(0, "c1"))
    h.run_until(30)
    assert [a for a in h.actions if isinstance(a, PauseAgent)] == [
        PauseAgent(at=25, agent_id="x", reason="no-answer")
    ]
    h.feed(login(30, "y"), OfferDeclined(now=32, call_id="c1", agent_id="y"))
    h.run_until(40)
    h.feed(answer(40, "c1", "y"), CallEnded(now=50, call_id="c1"))
    h.agrees()

    qs = h.metrics.queue_stats("q")
    assert (qs.offers, qs.rona, qs.declined, qs.answered, qs.asa) == (4, 2, 1, 1, 40)
    x, y = h.metrics.agent_stats("x"), h.metrics.agent_stats("y")
    assert (x.offers, x.rona, x.declined, x.auto_pauses, x.answered) == (2, 2, 0, 1, 0)
    assert (x.time_ringing, x.time_available, x.time_paused) == (20, 5, 25)
    assert x.occupancy == 0 and x.utilisation == 0
    assert (y.offers, y.rona, y.declined, y.auto_pauses, y.answered) == (2, 0, 1, 0, 1)
    assert (y.time_ringing, y.time_available, y.time_busy) == (2 + 3, 5, 10)


def test_ring_all_cancellations_are_not_misses() -> None:
    h = Harness([QueueConfig("q", strategy=Strategy.RING_ALL)])
    h.feed(login(0, "x"), login(0, "y"), arrive(0, "c1"), answer(4, "c1", "y"))
    cancels = [a for a in h.actions if isinstance(a, CancelOffer)]
    assert [(c.agent_id, c.reason) for c in cancels] == [("x", "answered-elsewhere")]
    qs = h.metrics.queue_stats("q")
    assert (qs.offers, qs.rona, qs.declined) == (2, 0, 0)
    assert h.metrics.agent_stats("x").time_ringing == 4
    h.agrees()


# -------------------------------------------------------------- surveys


def surveyed() -> Harness:
    h = Harness([QueueConfig("q")])
    h.feed(
        login(0, "x"),
        login(0, "y"),
        arrive(0, "c1"),
        arrive(0, "c2"),
        answer(1, "c1", "x"),
        answer(1, "c2", "y"),
        CallEnded(now=5, call_id="c1"),
        arrive(6, "c3"),
        answer(7, "c3", "x"),
        arrive(8, "c4"),
        CallAbandoned(now=9, call_id="c4"),
    )
    h.metrics.record_survey("c1", 5, at=6)
    h.metrics.record_survey("c2", 3, at=10)
    h.metrics.record_survey("c3", 4, at=10)  # still connected: fine
    return h


def test_csat_per_agent_and_queue() -> None:
    m = surveyed().metrics
    x, y, q = m.agent_stats("x"), m.agent_stats("y"), m.queue_stats("q")
    assert (x.surveys, x.csat, x.csat_top2) == (2, 4.5, 1.0)
    assert (y.surveys, y.csat, y.csat_top2) == (1, 3.0, 0.0)
    assert (q.surveys, q.csat, q.csat_top2) == (3, 4.0, 2 / 3)


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, math.nan, True, "5", None])
def test_bad_survey_scores_are_refused(score: object) -> None:
    h = surveyed()
    before = h.metrics.queue_stats("q")
    with pytest.raises(InvalidValue):
        h.metrics.record_survey("c1", score, at=20)  # type: ignore[arg-type]
    assert h.metrics.queue_stats("q") == before


def test_surveys_need_one_answered_call_and_a_sane_instant() -> None:
    h = surveyed()
    m = h.metrics
    before = m.queue_stats("q")
    with pytest.raises(UnknownCall):
        m.record_survey("c4", 5, at=20)  # abandoned
    with pytest.raises(UnknownCall):
        m.record_survey("nope", 5, at=20)
    with pytest.raises(InvalidCallState):
        m.record_survey("c1", 4, at=20)  # second survey
    with pytest.raises(InvalidValue):
        m.record_survey("c3", 4, at=math.inf)
    h.feed(CallEnded(now=20, call_id="c2"), arrive(20, "c5"), answer(30, "c5", "y"))
    with pytest.raises(InvalidValue):
        m.record_survey("c5", 4, at=25)  # before the answer
    assert m.queue_stats("q").csat == before.csat
    # A bounded memory forgets the oldest answered calls first.
    small = Harness([QueueConfig("q")], remember_calls=1)
    small.feed(login(0, "x"), arrive(0, "a"), answer(1, "a", "x"), CallEnded(now=2, call_id="a"))
    small.feed(arrive(3, "b"), answer(4, "b", "x"))
    with pytest.raises(UnknownCall):
        small.metrics.record_survey("a", 5, at=5)
    small.metrics.record_survey("b", 5, at=5)


@settings(deadline=None)
@given(
    ids=st.lists(st.integers(0, 3), min_size=1, max_size=12),
    gaps=st.lists(st.sampled_from([0.0, 1.0, 900.0])),
)
def test_every_answered_call_takes_one_survey_whatever_its_id(
    ids: list[int], gaps: list[float]
) -> None:
    """Identity is the call's number: calls that reuse ids (in one interval
    or across intervals) each take exactly one survey, at their own answer."""
    h = Harness([QueueConfig("q")], interval=1800)
    h.feed(login(0, "x"))
    t = 0.0
    for i, n in enumerate(ids):
        t += gaps[i] if i < len(gaps) else 1.0
        cid = f"c{n}"
        h.feed(arrive(t, cid), answer(t + 1, cid, "x"))
        with pytest.raises(InvalidValue, match="before its answer"):
            h.metrics.record_survey(cid, 3, at=t + 0.5)
        h.metrics.record_survey(cid, 5, at=t + 1)
        with pytest.raises(InvalidCallState):
            h.metrics.record_survey(cid, 5, at=t + 1)
        t += 2
        h.feed(CallEnded(now=t, call_id=cid))
    assert h.metrics.queue_stats("q").surveys == len(ids)


def test_an_id_reused_in_the_same_interval_and_queue_is_another_call_for_surveys() -> None:
    """The shrunk example: c1 answered, surveyed and ended, then a new c1 in
    the same queue and interval inherited the old one's survey record and its
    survey was refused as a second one. Identity is the call's number."""
    h = Harness([QueueConfig("q")])
    h.feed(login(0, "x"), arrive(0, "c1"), answer(1, "c1", "x"), CallEnded(now=2, call_id="c1"))
    h.metrics.record_survey("c1", 5, at=3)
    h.feed(arrive(4, "c1"), answer(5, "c1", "x"))
    with pytest.raises(InvalidValue, match="before its answer"):
        h.metrics.record_survey("c1", 4, at=4.5)  # the new call's answer, not the old one's
    h.metrics.record_survey("c1", 1, at=6)
    assert h.metrics.queue_stats("q").surveys == 2


# ----------------------------------------------------------- percentiles


def test_percentiles_are_exact_nearest_rank() -> None:
    assert percentile(list(range(100, 0, -1)), 50) == 50
    assert percentile([float(v) for v in range(1, 101)], 90) == 90
    assert percentile(range(1, 101), 99) == 99
    assert percentile([7.0], 1) == 7.0
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == 9.0
    for bad in (0, 101, math.nan, True):
        with pytest.raises(InvalidValue):
            percentile([1.0], bad)


def test_wait_percentiles_from_ten_calls() -> None:
    """Ten agents, ten calls at 0; each call is answered at 1, 2, ... 10 s."""
    h = Harness([QueueConfig("q")])
    agents = [f"a{i}" for i in range(10)]
    h.feed(*(login(0, a) for a in agents), *(arrive(0, f"c{i}") for i in range(10)))
    rung = {a.call_id: a.agent_id for a in h.actions if isinstance(a, Offer)}
    h.feed(*(answer(i + 1, f"c{i}", rung[f"c{i}"]) for i in range(10)))
    q = h.metrics.queue_stats("q")
    assert (q.wait_p50, q.wait_p90, q.wait_p99, q.longest_wait) == (5, 9, 10, 10)
    assert q.asa == 5.5 and q.answered_within == 10 and q.sl_a == 1.0


# -------------------------------------------------------------- real time


def test_realtime_view_counts_waiting_calls_and_agents() -> None:
    h = Harness([QueueConfig("q"), QueueConfig("other")])
    h.feed(login(0, "x"), arrive(0, "c1"), arrive(3, "c2"), arrive(7, "c3"))
    view = h.metrics.realtime(10)
    q = view.queues["q"]
    assert (q.waiting, q.ringing, q.connected, q.longest_waiting) == (2, 1, 0, 10)
    assert view.queues["other"].longest_waiting is None
    assert dict(view.agents) == h.acd.agent_states()
    assert view.agent_states == {"x": AgentState.RINGING.value}
    h.feed(answer(12, "c1", "x"))
    q = h.metrics.realtime(20).queues["q"]
    assert (q.waiting, q.connected, q.longest_waiting) == (2, 1, 17)  # c2 arrived at 3
    with pytest.raises(TimeWentBackwards):
        h.metrics.realtime(11)
    assert json.loads(json.dumps(view.to_dict()))["queues"]["q"]["waiting"] == 2


# ------------------------------------------------------------ breaches


def breach_journal(**kw: Any) -> Harness:
    """c1 (first interval) is answered after 5 s, c2 (second) after 30 s."""
    h = Harness([QueueConfig("q", ring_timeout=60), QueueConfig("idle")], interval=900, **kw)
    h.feed(
        login(0, "x"),
        arrive(0, "c1"),
        answer(5, "c1", "x"),
        CallEnded(now=10, call_id="c1"),
        arrive(1000, "c2"),
        answer(1030, "c2", "x"),
    )
    return h


def test_breaches_name_the_queue_and_interval_below_target() -> None:
    m = breach_journal().metrics
    assert m.breaches() == [
        Breach(
            queue="q",
            start=900,
            end=1800,
            label="day 0 00:15",
            variant="b",
            service_level=0.0,
            target=0.8,
        )
    ]
    assert [b.start for b in m.breaches(variant="a")] == [900]
    [run] = m.breaches(whole_run=True)
    assert (run.queue, run.service_level) == ("q", 0.5)
    assert json.dumps([b.to_dict() for b in m.breaches()])
    loose = breach_journal(targets={"q": 0.5}).metrics
    assert loose.breaches(whole_run=True) == []  # 0.5 is not below 0.5
    assert [b.start for b in loose.breaches()] == [900]


# ------------------------------------------------ plans, overflow, transfers


def test_a_transfer_ends_the_leg_and_the_call_keeps_its_first_answer() -> None:
    """sales has 5 s of wrap-up, support none. x answers c1 at 2 and transfers
    it to support at 12 (10 s of talk, then sales' wrap-up until 17); y rings
    12-15 and talks 15-45. Every leg counts under sales, where c1 arrived."""
    h = Harness([QueueConfig("sales", wrap_up=5), QueueConfig("support")])
    h.feed(
        login(0, "x", ["sales"]),
        login(0, "y", ["support"]),
        arrive(0, "c1", "sales"),
        answer(2, "c1", "x"),
        CallTransferred(now=12, call_id="c1", queue="support"),
    )
    h.agrees()
    view = h.metrics.realtime()
    assert view.queues["support"].ringing == 1 and view.queues["sales"].ringing == 0
    assert view.agent_states == {"x": "wrap-up", "y": "ringing"}
    h.feed(answer(15, "c1", "y"), CallEnded(now=45, call_id="c1"))
    h.run_until(60)
    m = h.metrics
    sales, support = m.queue_stats("sales"), m.queue_stats("support")
    assert (sales.offered, sales.answered, sales.transfers, sales.handled) == (1, 1, 1, 2)
    assert (sales.asa, sales.talk_time, sales.wrap_time, sales.aht) == (2, 40, 5, 22.5)
    assert (support.offered, support.answered, support.handled) == (0, 0, 0)
    x, y = m.agent_stats("x"), m.agent_stats("y")
    assert (x.answered, x.transfers, x.handled, x.aht) == (1, 1, 1, 15)
    assert (x.time_busy, x.time_wrap_up) == (10, 5)
    assert (y.answered, y.transfers, y.handled, y.aht) == (1, 0, 1, 30)
    m.record_survey("c1", 5, at=50)  # the survey belongs to the last agent
    assert (m.agent_stats("y").surveys, m.agent_stats("x").surveys) == (1, 0)

    # Transferred into a queue nobody serves, c2 hangs up: still answered, not abandoned.
    h.feed(
        AgentLoggedOut(now=60, agent_id="y"),
        arrive(60, "c2", "sales"),
        answer(61, "c2", "x"),
        CallTransferred(now=70, call_id="c2", queue="support"),
        CallAbandoned(now=80, call_id="c2"),
    )
    sales = m.queue_stats("sales")
    assert (sales.offered, sales.answered, sales.abandoned, sales.in_queue) == (2, 2, 0, 0)
    assert sales.transfers == 2 == h.acd.transfers


def test_plan_exits_are_outcomes_and_overflows_between_queues_are_moves() -> None:
    """No agent until 100. s1 waits 60 s in sales, overflows to general, waits
    30 s more and goes to voicemail; f1 goes to self-service by rule; s2 finds
    sales full. s3 is answered after 1 s."""
    plan = RoutingPlan(
        rules=(Rule("faq", when=Equals("intent", "hours"), exit=Exit("self-service")),),
        default=Rule("default", queue="sales"),
        queues={
            "sales": QueueRules(max_wait=60, on_max_wait=Exit("queue", "general")),
            "general": QueueRules(max_wait=30, on_max_wait=Exit("destination", "voicemail")),
        },
    )
    h = Harness([QueueConfig("sales", max_length=1), QueueConfig("general")], plan=plan)
    h.feed(
        arrive(0, "s1", "sales"),
        CallArrived(now=5, call_id="f1", queue="sales", attributes={"intent": "hours"}),
        arrive(10, "s2", "sales"),
    )
    h.run_until(70)
    h.agrees()
    assert h.metrics.realtime().queues["general"].waiting == 1  # s1 waits there now
    h.run_until(100)
    h.feed(login(100, "x", ["sales"]), arrive(100, "s3", "sales"), answer(101, "s3", "x"))
    q = h.metrics.queue_stats("sales")
    assert (q.offered, q.answered, q.rejected, q.overflowed, q.self_service) == (4, 1, 1, 1, 1)
    assert (q.in_queue, q.resolved, q.moved, q.callbacks) == (0, 4, 1, 0)
    assert q.answer_rate == 0.25 and q.sl_c == 0.25 and q.sl_b == 1.0
    assert h.metrics.queue_stats("general").offered == 0  # s1 counts where it arrived
    counts = h.acd.counts()
    assert (counts["overflowed"], counts["self-service"], counts["rejected"]) == (1, 1, 1)


def test_a_self_service_exit_with_a_callback_counts_one() -> None:
    m = Metrics([QueueConfig("q")])
    m.observe(
        arrive(10, "c1"),
        [SelfService(at=10, call_id="c1", queue="q", reason="closed", callback_at=3600)],
    )
    q = m.queue_stats("q")
    assert (q.self_service, q.callbacks, q.in_queue) == (1, 1, 0)


# ----------------------------------------------------- robustness and I/O


@attrs.frozen(kw_only=True)
class Teleport(Action):
    """A future action the metrics do not know yet."""

    call_id: str
    queue: str


@attrs.frozen(kw_only=True)
class SurveyAnswered(Event):
    """A future event the metrics do not know yet."""

    call_id: str
    score: int


def test_unknown_types_and_unknown_ids_are_ignored_safely() -> None:
    h = four_calls()
    m = h.metrics
    before = m.summary()
    m.observe(
        SurveyAnswered(now=70, call_id="c1", score=5), [Teleport(at=70, call_id="c2", queue="q")]
    )
    assert m.unhandled_types == {"Teleport", "SurveyAnswered"}
    m.observe_event(CallAbandoned(now=71, call_id="ghost"))
    m.observe_actions([CancelOffer(at=71, call_id="ghost", agent_id="x", reason="ring-timeout")])
    m.observe_event(AgentPaused(now=72, agent_id="nobody"))
    m.observe_event(AgentSkillsChanged(now=72, agent_id="x", skills={"tech": 3}))
    assert m.ignored == 3
    after = m.summary()
    assert after.overall == before.overall
    assert after.agents["x"].time_logged_in == 72  # only the clock moved


def test_bad_input_is_refused_and_changes_nothing() -> None:
    h = four_calls()
    m = h.metrics
    before = (m.summary(), m.now)
    with pytest.raises(InvalidValue):
        m.observe_event("CallArrived")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        m.observe_event(arrive(math.nan, "c9"))
    with pytest.raises(InvalidValue):
        m.observe_actions([Queued(at=61, call_id="c1", queue="q", position=1, reason="x"), "no"])  # type: ignore[list-item]
    with pytest.raises(TimeWentBackwards):
        m.observe_event(arrive(59, "c9"))
    with pytest.raises(TimeWentBackwards):  # actions must not go back in time
        m.observe_actions(
            [
                Queued(at=62, call_id="c1", queue="q", position=1, reason="x"),
                Queued(at=61, call_id="c1", queue="q", position=1, reason="x"),
            ]
        )
    with pytest.raises(TimeWentBackwards):  # advance() actions belong before the event
        m.observe(
            arrive(65, "c9"),
            before=[Queued(at=66, call_id="c9", queue="q", position=1, reason="arrived")],
        )
    with pytest.raises(TimeWentBackwards):
        m.advance(10)
    with pytest.raises(InvalidValue):
        m.breaches(variant="e")
    assert (m.summary(), m.now) == before
    with pytest.raises(UnknownQueue):
        m.queue_stats("nope")
    with pytest.raises(UnknownAgent):
        m.agent_stats("nobody")


def test_observing_advance_actions_after_the_event_is_caught() -> None:
    """The ring timeout at 15 comes from advance(20); giving it to the metrics
    after the event at 20 would corrupt the agent's timeline, so it raises."""
    acd = Distributor([QueueConfig("q")])
    m = Metrics(acd.queues)
    for ev in (login(0, "x"), arrive(0, "c1")):
        m.observe_event(ev)
        m.observe_actions(acd.advance(ev.now) + acd.handle(ev))
    late = login(20, "y")
    advanced = acd.advance(20)
    assert any(isinstance(a, CancelOffer) and a.at == 15 for a in advanced)
    m.observe_event(late)
    with pytest.raises(TimeWentBackwards):
        m.observe_actions(advanced + acd.handle(late))


@pytest.mark.parametrize(
    "kw",
    [
        {"interval": 0},
        {"interval": 7},
        {"interval": math.nan},
        {"sl_threshold": -1},
        {"sl_target": 80},
        {"short_abandon": math.inf},
        {"thresholds": {"nope": 10}},
        {"targets": {"q": 1.5}},
        {"sl_variant": "e"},
        {"tz_offset": 86400},
        {"epoch": "2024-01-01"},
        {"remember_calls": -1},
        {"start": math.nan},
    ],
)
def test_bad_configuration_is_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Metrics([QueueConfig("q")], **kw)  # type: ignore[arg-type]


def test_queue_list_or_mapping_and_no_queues() -> None:
    Metrics([QueueConfig("q")])
    Metrics({"q": QueueConfig("q")})
    with pytest.raises(ConfigError):
        Metrics([])
    with pytest.raises(ConfigError):
        Metrics(["q"])  # type: ignore[list-item]


def test_results_are_plain_data_and_render_as_tables() -> None:
    h = surveyed()
    m = h.metrics
    whole = m.summary()
    data = json.loads(json.dumps(whole.to_dict()))
    assert data["queues"]["q"]["csat"] == 4.0
    assert data["overall"]["queue"] is None
    assert set(data["agents"]) == {"x", "y"}
    assert json.dumps([i.to_dict() for i in m.intervals()])
    assert isinstance(whole, IntervalStats)
    assert isinstance(whole.overall, QueueStats) and isinstance(whole.agents["x"], AgentStats)

    report = render_report(whole)
    assert "(all)" in report and "\nq " in report and "\nx " in report
    table = render_table(m.intervals(), columns=["label", "offered", "sl_b", "wait_p99"])
    header, _, row = table.splitlines()
    assert header.split() == ["label", "offered", "sl_b", "wait_p99"]
    assert row.split()[-3:] == ["4", "75.0%", "1.0"]  # 3 answered within 20 s, 1 abandoned
    assert render_table([]) == ""
    with pytest.raises(InvalidValue):
        render_table([whole.overall], columns=["nope"])


# -------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_accounting_holds_on_random_runs(data: st.DataObject) -> None:
    """Random runs (call ids are reused once their calls end, also during
    their wrap-up): the real-time view matches the distributor after every
    step; at the end every call is accounted for exactly once, service levels
    and rates lie in [0, 1], agent time adds up and agrees with the intervals."""
    names = QUEUE_NAMES[: data.draw(st.integers(1, 3), label="queues")]
    configs = [data.draw(queue_configs(n)) for n in names]
    profiles = {a: data.draw(agent_profiles(a, names)) for a in AGENT_IDS}
    plan = data.draw(st.one_of(st.none(), routing_plans(names)), label="plan")
    acd = Distributor(configs, rng=random.Random(0), plan=plan)
    interval = data.draw(st.sampled_from([60, 300, 900]), label="interval")
    m = Metrics(acd.queues, interval=interval)
    # Time passing, arrivals and answers are the common steps, so that calls
    # ring out, queue up, get answered and wrap up in most runs.
    kinds = st.sampled_from(
        [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5, 6, 6, 6, 7, 8, 9, 10, 11, 12]
    )
    ops = data.draw(
        st.lists(st.tuples(kinds, st.integers(0, 1000)), min_size=20, max_size=80), label="ops"
    )
    t = 0.0
    live: list[str] = []
    n_calls = 0

    arrivals = 0

    def send(ev: Event) -> None:
        nonlocal arrivals
        m.observe_actions(acd.advance(ev.now))
        try:
            actions = acd.handle(ev)
        except AcdError:  # refused (a policy cannot order the call...): nothing happened
            return
        arrivals += isinstance(ev, CallArrived)
        m.observe(ev, actions)

    for aid in AGENT_IDS[: data.draw(st.integers(1, len(AGENT_IDS)), label="logged in")]:
        send(AgentLoggedIn(now=0.0, profile=profiles[aid]))

    def pairs() -> list[tuple[str, str]]:
        return [(c, a) for c in live for a in acd.call(c).offered_to]

    for op, k in ops:
        if op >= 2:  # deadlines due now first, so that the choices below are current
            m.observe_actions(acd.advance(t))
            live = [c for c in live if _is_live(acd, c)]  # a plan exit may have ended some
        agent = AGENT_IDS[k % len(AGENT_IDS)]
        view = _agent_view(acd, agent)
        known = view is not None
        if op == 0:
            t += (0.0, 1.0, 2.5, 5.0, 15.0, 40.0)[k % 6]
            m.observe_actions(acd.advance(t))
        elif op == 1:
            due = acd.next_deadline()
            if due is not None:
                t = max(t, due)
                m.observe_actions(acd.advance(t))
                m.advance(t)
        elif op == 2:
            channel = (Channel.VOICE, Channel.VOICE, Channel.CHAT, Channel.EMAIL)[k % 4]
            if k % 3 == 0 and n_calls:  # an id used before: a new call if that one ended
                cid = f"c{k % n_calls}"
            else:
                cid = f"c{n_calls}"
                n_calls += 1
            if cid not in live:
                live.append(cid)
            attributes = data.draw(plan_call_attributes) if plan is not None else {}
            send(
                CallArrived(
                    now=t,
                    call_id=cid,
                    queue=names[k % len(names)],
                    channel=channel,
                    attributes=attributes,
                )
            )
        elif op in (3, 4) and pairs():
            cid, aid = pairs()[k % len(pairs())]
            cls = OfferAnswered if op == 3 else OfferDeclined
            send(cls(now=t, call_id=cid, agent_id=aid))
        elif op == 5 and live:
            waiting = [c for c in live if acd.call(c).state is not CallState.CONNECTED]
            if waiting:
                send(CallAbandoned(now=t, call_id=waiting[k % len(waiting)]))
        elif op == 6 and live:
            talking = [c for c in live if acd.call(c).state is CallState.CONNECTED]
            if talking:
                send(CallEnded(now=t, call_id=talking[k % len(talking)]))
        elif op == 7 and (view is None or view.state is AgentState.LOGGED_OUT):
            send(AgentLoggedIn(now=t, profile=profiles[agent]))
        elif op == 8 and view is not None and view.state is not AgentState.LOGGED_OUT:
            if not view.pending_logout:
                send(AgentLoggedOut(now=t, agent_id=agent))
        elif op == 9 and view is not None and view.state is not AgentState.LOGGED_OUT:
            send(AgentPaused(now=t, agent_id=agent, reason="break"))
        elif op == 10 and view is not None and view.paused_reason is not None:
            send(AgentResumed(now=t, agent_id=agent))
        elif op == 11 and known:
            send(AgentSkillsChanged(now=t, agent_id=agent, skills={"tech": 1 + k % 10}))
        elif op == 12 and live:
            talking = [c for c in live if acd.call(c).state is CallState.CONNECTED]
            if talking:
                target = names[(k // 7) % len(names)]
                send(CallTransferred(now=t, call_id=talking[k % len(talking)], queue=target))
        live = [c for c in live if _is_live(acd, c)]
        rt = m.realtime(acd.now)
        assert dict(rt.agents) == acd.agent_states()
        for name in names:
            assert rt.queues[name].waiting == len(acd.waiting(name))
        counts = acd.counts()
        assert sum(q.ringing for q in rt.queues.values()) == counts["ringing"]
        assert sum(q.connected for q in rt.queues.values()) == counts["connected"]

    # Drain: every call still waiting or ringing hangs up, every connected
    # call ends, and every wrap-up runs out (wrap-ups last at most 10 s).
    t += 1.0
    m.observe_actions(acd.advance(t))
    live = [c for c in live if _is_live(acd, c)]
    for cid in [c for c in live if acd.call(c).state is not CallState.CONNECTED]:
        send(CallAbandoned(now=t, call_id=cid))
    for cid in [c for c in live if _is_live(acd, c)]:
        send(CallEnded(now=t, call_id=cid))
    t += 60.0
    m.observe_actions(acd.advance(t))
    m.advance(t)
    rt = m.realtime()
    assert dict(rt.agents) == acd.agent_states()
    assert rt.agents["busy"] == rt.agents["wrap-up"] == rt.agents["ringing"] == 0
    counts = acd.counts()
    whole = m.summary()
    o = whole.overall
    assert o.offered == counts["arrived"] == arrivals
    assert o.transfers == acd.transfers
    if acd.transfers == 0:  # else a call answered, transferred and then lost stays answered
        assert o.answered == counts["completed"] + counts["connected"]
        assert o.abandoned == counts["abandoned"] and o.rejected == counts["rejected"]
        assert o.overflowed == counts["overflowed"]
        assert o.self_service == counts["self-service"]
    assert o.in_queue == counts["waiting"] + counts["ringing"] == 0
    assert o.offered == o.answered + o.abandoned + o.rejected + o.overflowed + o.self_service
    assert m.ignored == 0 and not m.unhandled_types

    periods = m.intervals()
    assert sum(p.overall.offered for p in periods) == o.offered
    assert sum(p.overall.offered for p in m.days()) == o.offered
    for period in [whole, *periods]:
        for qs in [period.overall, *period.queues.values()]:
            for value in (
                qs.sl_a,
                qs.sl_b,
                qs.sl_c,
                qs.sl_d,
                qs.answer_rate,
                qs.abandon_rate,
                qs.reject_rate,
            ):
                assert value is None or 0.0 <= value <= 1.0
            assert qs.in_queue >= 0
        for ag in period.agents.values():
            parts = (
                ag.time_busy
                + ag.time_wrap_up
                + ag.time_ringing
                + ag.time_paused
                + ag.time_available
            )
            assert math.isclose(ag.time_logged_in, parts, abs_tol=1e-9)
            assert ag.time_logged_in <= period.end - period.start + 1e-9
            for value in (ag.occupancy, ag.utilisation):
                assert value is None or 0.0 <= value <= 1.0 + 1e-9
    assert o.handled == sum(ag.answered for ag in whole.agents.values())
    for aid, ag in whole.agents.items():
        view = acd.agent(aid)
        assert ag.answered == ag.handled == view.calls_taken
        assert math.isclose(ag.talk_time, view.talk_time, abs_tol=1e-6)
        # Busy time is the time with at least one call connected: the talk
        # time itself for a one-call-at-a-time agent, at most that otherwise.
        assert ag.time_busy <= ag.talk_time + 1e-6
        if dict(profiles[aid].capacity) == {Channel.VOICE: 1}:
            assert math.isclose(ag.time_busy, ag.talk_time, abs_tol=1e-6)
        in_intervals = sum(p.agents[aid].time_logged_in for p in periods if aid in p.agents)
        assert math.isclose(in_intervals, ag.time_logged_in, rel_tol=1e-9, abs_tol=1e-9)
    # A period's figures are its intervals' added in order (the same sums,
    # bit for bit: a report reads an interval's accumulator in place and
    # copies it before adding another), and reports are reads: asked again,
    # they give the same, and the state is as it was.
    for name in names:
        per = [p.queues[name] for p in periods]
        assert whole.queues[name].talk_time == sum(q.talk_time for q in per)
        assert whole.queues[name].wrap_time == sum(q.wrap_time for q in per)
        assert whole.queues[name].handled == sum(q.handled for q in per)
    state = m.save_state()
    assert (m.summary(), m.intervals(), m.days()) == (whole, periods, m.days())
    assert m.save_state() == state


def _agent_view(acd: Distributor, agent_id: str) -> AgentView | None:
    try:
        return acd.agent(agent_id)
    except UnknownAgent:
        return None


def _is_live(acd: Distributor, call_id: str) -> bool:
    try:
        acd.call(call_id)
    except UnknownCall:
        return False
    return True


def test_merging_accumulators_adds_every_field() -> None:
    """``merge`` (written out field by field, for speed) adds every counter
    and time and extends both wait arrays: a field added to an accumulator
    and forgotten there fails here."""
    from acdcore._metrics_records import _COUNTS, _TIMES, _AgentAcc, _CallAcc

    def filled(scale: int) -> _AgentAcc:
        acc = _AgentAcc(auto_pauses=7 * scale)
        for i, name in enumerate(_TIMES):
            setattr(acc, name, (i + 1.5) * scale)
        for i, name in enumerate(_COUNTS):
            setattr(acc.calls, name, (i + 1) * scale)
        acc.calls.answered_waits.append(1.0 * scale)
        acc.calls.abandoned_waits.append(2.0 * scale)
        return acc

    merged = filled(1)
    merged.merge(filled(10))
    assert merged.auto_pauses == 77
    for i, name in enumerate(_TIMES):
        assert getattr(merged, name) == (i + 1.5) * 11, name
    for i, name in enumerate(_COUNTS):
        assert getattr(merged.calls, name) == (i + 1) * 11, name
    assert list(merged.calls.answered_waits) == [1.0, 10.0]
    assert list(merged.calls.abandoned_waits) == [2.0, 20.0]
    assert {f.name for f in attrs.fields(_CallAcc)} == {
        *_COUNTS,
        "answered_waits",
        "abandoned_waits",
    }
