"""Announcements at the configured instants (injected time) and callbacks
that keep their place, their retries and failures, their KPIs, and bad input."""

from __future__ import annotations

import pytest

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentProfile,
    Announce,
    Announcements,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackFailed,
    CallbackPolicy,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallState,
    CancelOffer,
    ConfigError,
    Distributor,
    Event,
    InvalidCallState,
    InvalidValue,
    Metrics,
    Offer,
    OfferAnswered,
    OfferCallback,
    OfferDeclined,
    PlaceCallback,
    QueueConfig,
    Queued,
    QueueLengthEstimator,
    UnknownCall,
)

AHT = 60.0


def centre(
    announce: Announcements | None = None,
    callback: CallbackPolicy | None = None,
    agents: int = 1,
    metrics: Metrics | None = None,
) -> tuple[Distributor, list[Action]]:
    """One queue, ``agents`` agents all busy from t=0, with the exact
    queue-length estimator (AHT 60 s) so estimates are easy to check."""
    q = QueueConfig("q", announce=announce, callback=callback)
    acd = Distributor([q], estimators=[QueueLengthEstimator(AHT)])
    log: list[Action] = []
    for i in range(agents):
        send(acd, AgentLoggedIn(now=0, profile=AgentProfile(f"a{i}", queues=["q"])), log, metrics)
        send(acd, CallArrived(now=0, call_id=f"busy{i}", queue="q"), log, metrics)
        send(acd, OfferAnswered(now=0, call_id=f"busy{i}", agent_id=f"a{i}"), log, metrics)
    return acd, log


def send(
    acd: Distributor, ev: Event, log: list[Action], metrics: Metrics | None = None
) -> list[Action]:
    adv = acd.advance(ev.now)
    out = acd.handle(ev)
    if metrics is not None:
        metrics.observe_actions(adv)
        metrics.observe(ev, out)
    log += adv + out
    return out


def of(kind: type[Action], actions: list[Action]) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


def test_announcements_on_entry_then_periodically_when_changed() -> None:
    acd, log = centre(Announcements(every=30.0, min_change=10.0, prompts=2, segment_by=("tier",)))
    out = send(acd, CallArrived(now=5, call_id="c1", queue="q", attributes={"tier": "gold"}), log)
    [first] = of(Announce, out)
    assert isinstance(first, Announce)
    assert (first.at, first.position, first.estimate, first.wait) == (5.0, 1, 60.0, 60.0)
    assert (first.phrase, first.segment, first.rotation) == ("about 1 minute", "tier=gold", 0)
    assert acd.next_deadline() == 35.0
    # Nothing moved by 35 s: position 1, estimate still 60 s (memoryless): skipped.
    assert of(Announce, acd.advance(35.0)) == []
    assert acd.next_deadline() == 65.0
    # A caller queued behind c1 (c2, announced on entry at 40) does not move
    # c1: its announcement at 65 is skipped too.
    send(acd, CallArrived(now=40, call_id="c2", queue="q"), log)
    assert of(Announce, acd.advance(65.0)) == []
    # A new agent serves c1, so c2 moves up: its next slot (40 + 30) announces.
    send(acd, AgentLoggedIn(now=66, profile=AgentProfile("b", queues=["q"])), log)
    send(acd, OfferAnswered(now=66, call_id="c1", agent_id="b"), log)
    [second] = of(Announce, acd.advance(70.0))  # c2's periodic slot at 40 + 30
    assert isinstance(second, Announce)
    assert (second.call_id, second.at, second.position, second.rotation) == ("c2", 70.0, 1, 1)
    assert second.estimate == pytest.approx(30.0)  # 1 / (2 agents / 60 s)
    assert second.segment == ""
    acd.check()


def test_first_announcement_delay_and_rotation_never_repeats() -> None:
    acd, log = centre(Announcements(every=10.0, first=20.0, min_change=0.0, prompts=3))
    for i in range(6):
        send(acd, CallArrived(now=1, call_id=f"c{i}", queue="q"), log)
    assert of(Announce, log) == []
    assert acd.next_deadline() == 21.0
    rotations = []
    t = 21.0
    while t < 100:
        for a in of(Announce, acd.advance(t)):
            assert isinstance(a, Announce)
            if a.call_id == "c5":
                rotations.append((a.at, a.rotation))
        t += 10.0
    # min_change 0: every change of the rounded estimate is announced; the
    # estimate of c5 does not change while nobody is served, so only the first.
    assert rotations == [(21.0, 0)]
    acd.check()


def test_callback_offered_once_over_the_threshold_only() -> None:
    acd, log = centre(Announcements(every=30.0), CallbackPolicy(threshold=90.0))
    send(acd, CallArrived(now=1, call_id="c1", queue="q"), log)  # 60 s: under
    assert of(OfferCallback, log) == []
    out = send(acd, CallArrived(now=2, call_id="c2", queue="q"), log)  # 120 s: over
    [offer] = of(OfferCallback, out)
    assert isinstance(offer, OfferCallback)
    assert (offer.call_id, offer.position, offer.estimate) == ("c2", 2, 120.0)
    acd.advance(100.0)
    assert len(of(OfferCallback, log + acd.advance(200.0))) == 1  # once per call


def test_callback_without_announcements_is_offered_on_entry() -> None:
    acd, log = centre(callback=CallbackPolicy(threshold=30.0))
    out = send(acd, CallArrived(now=1, call_id="c1", queue="q"), log)
    assert [a.call_id for a in of(OfferCallback, out)] == ["c1"]  # type: ignore[attr-defined]
    assert of(Announce, out) == []


def test_callback_keeps_its_place_and_reserves_an_agent() -> None:
    metrics = Metrics([QueueConfig("q")])
    acd, log = centre(callback=CallbackPolicy(threshold=0.0), metrics=metrics)
    for i in range(1, 5):
        send(acd, CallArrived(now=i, call_id=f"c{i}", queue="q"), log, metrics)
    send(acd, CallbackRequested(now=5, call_id="c2", number="+4420"), log, metrics)
    assert acd.waiting("q") == ["c1", "c2", "c3", "c4"]  # nobody moved
    view = acd.call("c2")
    assert view.callback and view.position == 2
    # The caller is off the line: an abandon is refused, a second request too.
    before = acd.snapshot()
    with pytest.raises(InvalidCallState, match="callback"):
        acd.handle(CallAbandoned(now=6, call_id="c2"))
    with pytest.raises(InvalidCallState, match="already a callback"):
        acd.handle(CallbackRequested(now=6, call_id="c2"))
    assert acd.snapshot() == before
    # The busy call ends: c1 is offered; when it is done, c2's turn comes.
    send(acd, CallEnded(now=10, call_id="busy0"), log, metrics)
    send(acd, OfferAnswered(now=11, call_id="c1", agent_id="a0"), log, metrics)
    out = send(acd, CallEnded(now=20, call_id="c1"), log, metrics)
    [place] = of(PlaceCallback, out)
    assert isinstance(place, PlaceCallback)
    assert (place.call_id, place.agent_id, place.number, place.attempt) == ("c2", "a0", "+4420", 1)
    assert of(Offer, out) == []  # no ordinary offer for a callback
    assert acd.agent("a0").state.value == "ringing"  # reserved
    # The customer picks up: connected to the reserved agent.
    send(acd, OfferAnswered(now=25, call_id="c2", agent_id="a0"), log, metrics)
    assert acd.call("c2").state is CallState.CONNECTED
    send(acd, CallEnded(now=30, call_id="c2"), log, metrics)
    assert acd.counts()["completed"] == 3
    stats = metrics.summary().overall
    assert stats.callbacks == 1
    assert stats.abandoned == 0  # a callback is not an abandon
    assert stats.answered == 3
    acd.check()


def test_unanswered_callback_retries_at_its_place_then_fails() -> None:
    metrics = Metrics([QueueConfig("q")])
    acd, log = centre(
        callback=CallbackPolicy(threshold=0.0, retries=1, retry_delay=100.0, dial_timeout=20.0),
        metrics=metrics,
    )
    send(acd, CallArrived(now=1, call_id="c1", queue="q"), log, metrics)
    send(acd, CallbackRequested(now=2, call_id="c1"), log, metrics)
    send(acd, CallEnded(now=10, call_id="busy0"), log, metrics)
    assert [a.attempt for a in of(PlaceCallback, log)] == [1]  # type: ignore[attr-defined]
    # Attempt 1 unanswered: the agent is released (no miss), the call waits
    # out the retry delay off the queue, then comes back to its place.
    out = send(acd, CallbackUnanswered(now=15, call_id="c1"), log, metrics)
    assert CancelOffer(at=15.0, call_id="c1", agent_id="a0", reason="callback-unanswered") in out
    assert acd.agent("a0").consecutive_misses == 0
    assert acd.call("c1").state is CallState.CALLBACK_PENDING
    now = metrics.realtime(15.0).queues["q"]
    assert (now.waiting, now.ringing) == (1, 0)  # it keeps its place between attempts
    send(acd, CallArrived(now=16, call_id="c2", queue="q"), log, metrics)
    assert [a.call_id for a in of(Offer, log)][-1] == "c2"  # type: ignore[attr-defined]
    send(acd, OfferAnswered(now=16, call_id="c2", agent_id="a0"), log, metrics)
    send(acd, CallArrived(now=17, call_id="c3", queue="q"), log, metrics)
    out = acd.advance(115.0)
    log += out
    metrics.observe_actions(out)
    assert Queued(at=115.0, call_id="c1", queue="q", position=1, reason="callback-retry") in out
    assert acd.waiting("q") == ["c1", "c3"]  # ahead of the later caller: its place
    out = send(acd, CallEnded(now=130, call_id="c2"), log, metrics)
    assert [a.attempt for a in of(PlaceCallback, out)] == [2]  # type: ignore[attr-defined]
    # Attempt 2 rings out (dial timeout): the callback has failed.
    out = acd.advance(150.0)
    metrics.observe_actions(out)
    assert CallbackFailed(at=150.0, call_id="c1", queue="q", attempts=2) in out
    assert [a.call_id for a in of(Offer, out)] == ["c3"]  # type: ignore[attr-defined]
    counts = acd.counts()
    assert counts["callback-failed"] == 1 and counts["abandoned"] == 0
    with pytest.raises(UnknownCall):
        acd.call("c1")
    stats = metrics.summary().overall
    assert (stats.callback_failed, stats.abandoned, stats.rona) == (1, 0, 0)
    acd.check()


def test_agent_declining_a_reservation_is_an_ordinary_miss() -> None:
    acd, log = centre(callback=CallbackPolicy(threshold=0.0))
    send(acd, CallArrived(now=1, call_id="c1", queue="q"), log)
    send(acd, CallbackRequested(now=2, call_id="c1"), log)
    send(acd, CallEnded(now=3, call_id="busy0"), log)
    out = send(acd, OfferDeclined(now=4, call_id="c1", agent_id="a0"), log)
    assert acd.agent("a0").consecutive_misses == 1
    assert Queued(at=4.0, call_id="c1", queue="q", position=1, reason="declined") in out
    view = acd.call("c1")
    assert view.callback and view.attempts == 0  # the customer was never dialled unanswered
    acd.check()


def test_callback_bad_input_changes_nothing() -> None:
    acd, log = centre(callback=CallbackPolicy(threshold=0.0), agents=2)
    send(acd, CallArrived(now=1, call_id="c1", queue="q"), log)
    plain = QueueConfig("p")
    other = Distributor([plain], estimators=[QueueLengthEstimator(AHT)])
    other.handle(CallArrived(now=1, call_id="x", queue="p"))
    before = acd.snapshot()
    with pytest.raises(UnknownCall, match="ghost"):
        acd.handle(CallbackRequested(now=2, call_id="ghost"))
    with pytest.raises(InvalidCallState, match="connected"):
        acd.handle(CallbackRequested(now=2, call_id="busy0"))
    with pytest.raises(InvalidValue, match="number"):
        acd.handle(CallbackRequested(now=2, call_id="c1", number=""))
    with pytest.raises(InvalidCallState, match="not a callback"):
        acd.handle(CallbackUnanswered(now=2, call_id="c1"))
    with pytest.raises(UnknownCall):
        acd.handle(CallbackUnanswered(now=2, call_id="ghost"))
    assert acd.snapshot() == before
    snap = other.snapshot()
    with pytest.raises(InvalidCallState, match="no callback policy"):
        other.handle(CallbackRequested(now=2, call_id="x"))
    assert other.snapshot() == snap


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CallbackPolicy(threshold=-1.0), "threshold"),
        (lambda: CallbackPolicy(retries=-1), "retries"),
        (lambda: CallbackPolicy(retry_delay=float("nan")), "retry_delay"),
        (lambda: CallbackPolicy(dial_timeout=0.0), "dial_timeout"),
        (lambda: Announcements(every=0.0), "every"),
        (lambda: Announcements(first=-5.0), "first"),
        (lambda: Announcements(min_change=-1.0), "min_change"),
        (lambda: Announcements(prompts=0), "prompts"),
        (lambda: Announcements(segment_by=("",)), "segment_by"),
        (lambda: QueueConfig("q", callback=60.0), "callback"),  # type: ignore[arg-type]
        (
            lambda: Distributor([QueueConfig("q", announce=Announcements())], estimators=[]),
            "need an estimator",
        ),
    ],
)
def test_bad_configuration(make: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()  # type: ignore[operator]


def test_default_estimator_is_attached_when_a_queue_announces() -> None:
    acd = Distributor([QueueConfig("q", announce=Announcements())])
    assert [e.name for e in acd.estimators] == ["learned"]
    assert Distributor([QueueConfig("q")]).estimators == ()


# ------------------------------------------------------------- in the simulator

CALLBACK_SCENARIO = """
name = "callbacks"
seed = 3
replications = 2
duration = 7200
warmup = 900
drain = 7200

[[queues]]
name = "support"
announce = { every = 45, min_change = 15, prompts = 2 }
callback = { threshold = 60, retries = 1, retry_delay = 60, dial_timeout = 30, accept = 0.6, answer = 0.5 }

[[agents]]
name = "a"
count = 10
queues = ["support"]

[traffic]
interval = 1800
rates = [110]
handle = { kind = "exponential", mean = 180 }
patience = { kind = "exponential", mean = 300 }
"""


def test_scenario_files_configure_announcements_and_callbacks() -> None:
    from acdcore import Scenario

    sc = Scenario.from_toml(CALLBACK_SCENARIO)
    q = sc.queues[0]
    assert q.config.announce == Announcements(every=45, min_change=15, prompts=2)
    assert q.config.callback == CallbackPolicy(
        threshold=60, retries=1, retry_delay=60, dial_timeout=30
    )
    assert (q.callback_accept, q.callback_answer) == (0.6, 0.5)
    again = Scenario.from_toml(sc.to_toml())
    assert again.queues == sc.queues
    bad = CALLBACK_SCENARIO.replace("accept = 0.6", "accept = 2")
    with pytest.raises(ConfigError, match=r"queues\[0\]\.callback\.accept"):
        Scenario.from_toml(bad)
    bad = CALLBACK_SCENARIO.replace("threshold = 60", "threshold = -1")
    with pytest.raises(ConfigError, match=r"queues\[0\]\.callback.*threshold"):
        Scenario.from_toml(bad)


def test_simulated_callers_take_callbacks_and_every_call_ends_once() -> None:
    import random

    from acdcore import Scenario
    from acdcore.sim import run_replication

    journal: list[object] = []
    rep = run_replication(Scenario.from_toml(CALLBACK_SCENARIO), random.Random(1), journal=journal)
    actions = [a for _, acts in journal for a in acts]  # type: ignore[misc]
    placed = [a for a in actions if isinstance(a, PlaceCallback)]
    failed = [a for a in actions if isinstance(a, CallbackFailed)]
    unanswered = [
        a for a in actions if isinstance(a, CancelOffer) and a.reason == "callback-unanswered"
    ]
    assert placed and unanswered and failed  # accepted, dialled, missed, given up
    assert any(isinstance(a, Announce) for a in actions)
    stats = rep.metrics.summary().overall
    assert stats.callbacks > 0 and stats.callback_failed == len(failed)
    assert stats.offered == stats.resolved  # every call ended in exactly one outcome


def test_a_customer_can_cancel_a_callback_in_any_state() -> None:
    metrics = Metrics([QueueConfig("q")])
    acd, log = centre(
        callback=CallbackPolicy(threshold=0.0, retries=2, retry_delay=100.0), metrics=metrics
    )
    for i in range(1, 4):
        send(acd, CallArrived(now=i, call_id=f"c{i}", queue="q"), log, metrics)
        send(acd, CallbackRequested(now=i, call_id=f"c{i}"), log, metrics)
    # Waiting: it leaves its place, the others move up.
    send(acd, CallbackCancelled(now=5, call_id="c1"), log, metrics)
    assert acd.waiting("q") == ["c2", "c3"]
    # Being dialled: the reserved agent is released without a miss.
    send(acd, CallEnded(now=6, call_id="busy0"), log, metrics)
    out = send(acd, CallbackCancelled(now=7, call_id="c2"), log, metrics)
    assert CancelOffer(at=7.0, call_id="c2", agent_id="a0", reason="callback-cancelled") in out
    assert acd.agent("a0").consecutive_misses == 0
    assert [a.call_id for a in of(PlaceCallback, out)] == ["c3"]  # type: ignore[attr-defined]
    # Between attempts: its retry never comes.
    send(acd, CallbackUnanswered(now=8, call_id="c3"), log, metrics)
    assert acd.call("c3").state is CallState.CALLBACK_PENDING
    send(acd, CallbackCancelled(now=9, call_id="c3"), log, metrics)
    assert acd.next_deadline() is None
    counts = acd.counts()
    assert (counts["callback-cancelled"], counts["abandoned"]) == (3, 0)
    stats = metrics.summary().overall
    assert (stats.callback_cancelled, stats.abandoned, stats.offered - stats.resolved) == (3, 0, 0)
    acd.check()


def test_cancelling_what_is_not_a_callback_is_refused() -> None:
    acd, log = centre(callback=CallbackPolicy(threshold=0.0))
    send(acd, CallArrived(now=1, call_id="c1", queue="q"), log)
    before = acd.snapshot()
    with pytest.raises(InvalidCallState, match="not a callback"):
        acd.handle(CallbackCancelled(now=2, call_id="c1"))
    with pytest.raises(UnknownCall):
        acd.handle(CallbackCancelled(now=2, call_id="ghost"))
    assert acd.snapshot() == before
