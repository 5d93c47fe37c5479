"""Metrics state saved and loaded, for crash recovery (snapshot + journal tail).

- The property: a random run is cut at random points; at each, the state
  saved goes through JSON into a new Metrics built with the same arguments,
  which observes the run from there (a restart at every cut). Every report
  equals, at each cut and at the end, that of a Metrics that observed the
  whole run without ever saving; one that saves at every cut and goes on ends
  the same too (saving changes nothing), and saving twice gives equal data.
- Refusals: a load into a Metrics that observed something, another version,
  another configuration, malformed data anywhere: each raises InvalidValue
  naming the place, and the Metrics is unchanged.

The runs come from ``drive`` of test_determinism (the adapter-like driver of a
random event stream), through a distributor that journals what it accepted
and gives the metrics more to hold: drawn agent profiles (chat capacity, so
several sessions at once), chat and e-mail calls, transfers. Between journal
steps the metrics also get surveys, clock moves, items naming calls they never
saw and item types they do not know.
"""

from __future__ import annotations

import json
import math
import random
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from acdcore import (
    AcdError,
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentProfile,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CallTransferred,
    Channel,
    Distributor,
    Event,
    InvalidValue,
    OfferAnswered,
    QueueConfig,
)
from acdcore._metrics_state import DOUBLES
from acdcore.metrics import Metrics, SLVariant

from .strategies import SKILLS, agent_profiles
from .test_determinism import AGENTS, STEPS, drive, setups

# --------------------------------------------------------------- the runs


class Journaling:
    """A distributor as ``drive`` uses it, that journals every ``advance``
    (with its actions) and every accepted event (with its actions), as an
    adapter's journal does. It draws variations of the events ``drive`` sends:
    an agent may log in with a drawn profile, a call may come on another
    channel, and a call's end may be a transfer instead."""

    def __init__(self, acd: Distributor, data: st.DataObject) -> None:
        self.acd = acd
        self.data = data
        self.names = tuple(acd.queues)
        # drive's agents have every skill; a drawn profile keeps that and
        # varies capacity (chat: several sessions at once) and memberships.
        every_skill = dict.fromkeys(SKILLS, 10)
        self.profiles = {
            aid: data.draw(
                st.one_of(
                    st.none(),
                    agent_profiles(aid, self.names).map(
                        lambda p: attrs.evolve(p, skills=every_skill)
                    ),
                ),
                label=aid,
            )
            for aid in AGENTS
        }
        self.journal: list[tuple[Event | None, list[Action]]] = []

    def __getattr__(self, name: str) -> Any:
        """Everything but ``advance`` and ``handle`` (``queues``,
        ``next_deadline``, ``snapshot``...) is the distributor's own."""
        return getattr(self.acd, name)

    def advance(self, now: float) -> list[Action]:
        actions = self.acd.advance(now)
        self.journal.append((None, actions))
        return actions

    def handle(self, ev: Event) -> list[Action]:
        draw = self.data.draw
        profile = self.profiles[ev.profile.agent_id] if isinstance(ev, AgentLoggedIn) else None
        if profile is not None:
            ev = AgentLoggedIn(now=ev.now, profile=profile)
        elif isinstance(ev, CallArrived):
            ev = attrs.evolve(ev, channel=draw(channels))
        elif isinstance(ev, CallEnded) and draw(st.integers(0, 3)) == 0:
            ev = CallTransferred(
                now=ev.now, call_id=ev.call_id, queue=draw(st.sampled_from(self.names))
            )
        actions = self.acd.handle(ev)  # a refused event is not journaled
        self.journal.append((ev, actions))
        return actions


@attrs.frozen(kw_only=True)
class Ping(Event):
    """An event type the metrics do not know."""


@attrs.frozen(kw_only=True)
class Pong(Action):
    """An action type the metrics do not know."""


# drive()'s operations (see there), weighted so that most runs answer, end
# and wrap up calls: 2 arrival, 4 answer, 6 end (or transfer), 8 log in.
# 10 pauses (odd k) or resumes (even k): mostly resumes, as auto-pauses add more.
kinds = st.sampled_from([0, 0, 1, 1, 2, 2, 2, 3, 4, 4, 4, 4, 5, 6, 6, 6, 7, 8, 8, 9, 10, 10, 11])


@st.composite
def step(draw: st.DrawFn) -> tuple[int, int, float]:
    """One step for ``drive``. Time moves only on the clock steps (0 and 1),
    so that offers are answered more often than they ring out; long moves
    cross interval boundaries."""
    op = draw(kinds)
    moves = (*STEPS, 40.0, 100.0) if op in (0, 1) else (0.0,)
    k = draw(st.integers(0, 63))
    if op == 10 and draw(st.integers(0, 3)):
        k -= k % 2
    return op, k, draw(st.sampled_from(moves))


@st.composite
def runs(draw: st.DrawFn) -> list[tuple[int, int, float]]:
    """Steps for ``drive``: one to three agents log in, then the run."""
    logins = [(8, k, 0.0) for k in range(draw(st.integers(1, len(AGENTS)), label="agents"))]
    return logins + draw(st.lists(step(), min_size=20, max_size=80), label="steps")


channels = st.sampled_from(
    [Channel.VOICE, Channel.VOICE, Channel.CHAT, Channel.CHAT, Channel.EMAIL]
)

# What the metrics see: a journal entry, or an extra for the metrics alone.
Item = tuple[Any, ...]

extras = st.sampled_from(["", "", "", "", "", "", "survey", "survey", "clock", "ghost", "unknown"])


def script(journal: list[tuple[Event | None, list[Action]]], data: st.DataObject) -> list[Item]:
    """The journal with extras drawn between its entries: a survey of a call
    (maybe never answered, or surveyed already: refused the same way by every
    Metrics), the clock moved up to the next entry, an item naming a call or
    agent never seen, items of unknown types."""
    out: list[Item] = []
    for i, (ev, actions) in enumerate(journal):
        out.append(("journal", ev, actions))
        extra = data.draw(extras)
        if extra == "survey":
            call = data.draw(st.integers(0, 7).map(lambda k: f"c{k}"))
            out.append(("survey", call, data.draw(st.integers(1, 5))))
        elif extra == "clock":
            nxt = journal[i + 1] if i + 1 < len(journal) else None
            out.append(("clock", _first_instant(nxt) if nxt is not None else math.inf))
        elif extra:
            out.append((extra,))
    return out


def _first_instant(entry: tuple[Event | None, list[Action]]) -> float | None:
    ev, actions = entry
    if ev is not None:
        return float(ev.now)
    return float(actions[0].at) if actions else None


def run(m: Metrics, items: list[Item]) -> list[str | None]:
    """Feed ``items`` to ``m``; the outcome of each survey (None or the name
    of the error it raised)."""
    outcomes: list[str | None] = []
    for item in items:
        kind = item[0]
        if kind == "journal":
            _, ev, actions = item
            if ev is None:
                m.observe_actions(actions)
            else:
                m.observe(ev, actions)
        elif kind == "survey":
            try:
                m.record_survey(item[1], item[2], at=m.now)
                outcomes.append(None)
            except AcdError as exc:
                outcomes.append(type(exc).__name__)
        elif kind == "clock":
            if item[1] is not None:
                m.advance(m.now + 7.5 if item[1] == math.inf else item[1])
        elif kind == "ghost":
            m.observe_event(CallAbandoned(now=m.now, call_id="ghost"))
            m.observe_event(AgentPaused(now=m.now, agent_id="nobody"))
        elif kind == "unknown":
            m.observe(Ping(now=m.now), [Pong(at=m.now)])
    return outcomes


@st.composite
def metrics_options(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, Any]:
    """Metrics arguments: intervals from one minute, time zones off the
    interval grid (so interval boundaries and agent times are inexact floats),
    per-queue thresholds and targets, few remembered calls (so the oldest are
    forgotten)."""
    return {
        "interval": draw(st.sampled_from([60.0, 60.0, 300.0, 1800.0])),
        "sl_threshold": draw(st.sampled_from([0.0, 2.5, 20.0])),
        "sl_target": draw(st.sampled_from([0.5, 0.8, 1.0])),
        "thresholds": draw(st.dictionaries(st.sampled_from(names), st.sampled_from([1.0, 5.0]))),
        "targets": draw(st.dictionaries(st.sampled_from(names), st.sampled_from([0.25, 0.9]))),
        "sl_variant": draw(st.sampled_from(list(SLVariant))),
        "short_abandon": draw(st.sampled_from([0.0, 2.5, 5.0])),
        "tz_offset": draw(st.sampled_from([0.0, -3600.0, 0.1, 1234.567])),
        "epoch": draw(st.sampled_from([None, datetime(2024, 3, 31, 22, 0, tzinfo=UTC)])),
        "remember_calls": draw(st.sampled_from([0, 1, 3, 100_000])),
    }


def reports(m: Metrics, queues: tuple[str, ...]) -> dict[str, Any]:
    """Every report of ``m`` as plain data (an error as its type's name)."""

    def agent(agent_id: str) -> Any:
        try:
            return m.agent_stats(agent_id).to_dict()
        except AcdError as exc:  # an agent never seen
            return type(exc).__name__

    return {
        "now": m.now,
        "summary": m.summary().to_dict(),
        "part": m.summary(start=120.0, end=600.0).to_dict(),
        "intervals": [p.to_dict() for p in m.intervals()],
        "days": [p.to_dict() for p in m.days()],
        "queues": [m.queue_stats(q).to_dict() for q in (None, *queues)],
        "agents": [agent(a) for a in (*AGENTS, "ghost")],
        "breaches": [b.to_dict() for b in m.breaches()],
        "breaches_run": [b.to_dict() for b in m.breaches(whole_run=True)],
        "breaches_by": [[b.to_dict() for b in m.breaches(variant=v)] for v in SLVariant],
        "realtime": m.realtime().to_dict(),
        "ignored": m.ignored,
        "unhandled": sorted(m.unhandled_types),
    }


# --------------------------------------------------------------- property


def _reached(saved: dict[str, Any]) -> list[str]:
    """Labels of the kinds of state held at the cut (hypothesis statistics)."""
    agents = saved["agents"]
    sessions = [s for a in agents for _, s in a["sessions"]]
    labels = {
        "several sessions": any(len(a["sessions"]) > 1 for a in agents),
        "ringing session": any(s["state"] == "ringing" for s in sessions),
        "connected session": any(s["state"] == "connected" for s in sessions),
        "wrap-up pending": bool(saved["wraps"]),
        "two wrap-ups pending": len(saved["wraps"]) > 1,
        "pending logout": any(a["pending_logout"] for a in agents),
        "paused": any(a["paused"] for a in agents),
        "transferred call waiting": any(
            c["answered"] and c["state"] != "connected" for c in saved["calls"]
        ),
        "call waiting": any(c["state"] == "waiting" for c in saved["calls"]),
        "surveyed": any(a["surveyed"] for _, a in saved["answered"]),
        "ignored": saved["ignored"] > 0,
        "unhandled": bool(saved["unhandled"]),
        "calls in several intervals": len(saved["queue_acc"]) > 1,
        "agent time in several intervals": len(saved["agent_acc"]) > 1,
    }
    return [label for label, held in labels.items() if held]


@settings(deadline=None)  # examples: the profile's (dev 150, ci 400)
@given(setup=setups(), steps=runs(), data=st.data())
def test_a_run_resumed_from_saved_state_reports_the_same(
    setup: Any, steps: list[tuple[int, int, float]], data: st.DataObject
) -> None:
    """The run is cut at one to six random points. ``whole`` observes it all
    and never saves; ``saver`` saves at every cut (twice: equal data) and goes
    on; ``resumed`` is restarted at every cut: a new Metrics loads the state
    saved there through JSON. At every cut the three hold equal state and give
    equal reports, and so they do at the end."""
    configs, plan, seed = setup
    acd = Journaling(Distributor(configs, rng=random.Random(seed), plan=plan), data)
    drive(acd, steps, read=False)  # type: ignore[arg-type]
    items = script(acd.journal, data)
    names = acd.names
    options = data.draw(metrics_options(names), label="options")
    cuts = data.draw(st.sets(st.integers(0, len(items)), min_size=1, max_size=6), label="cuts")

    def build() -> Metrics:
        return Metrics(acd.queues, **options)

    whole, saver, resumed = build(), build(), build()
    done = 0
    for cut in sorted(cuts):
        part = items[done:cut]
        assert run(whole, part) == run(saver, part) == run(resumed, part)
        done = cut
        saved = saver.save_state()
        assert saver.save_state() == saved  # saving twice: equal data
        assert resumed.save_state() == saved
        for label in _reached(saved):
            event(label)
        text = json.dumps(saved, allow_nan=False)
        assert json.loads(text) == saved  # plain JSON data, floats exact
        resumed = build()
        resumed.load_state(json.loads(text))
        assert resumed.save_state() == saved
        assert reports(resumed, names) == reports(whole, names)
    rest = items[done:]
    assert run(whole, rest) == run(saver, rest) == run(resumed, rest)
    assert reports(whole, names) == reports(saver, names) == reports(resumed, names)
    assert whole.save_state() == saver.save_state() == resumed.save_state()


# ------------------------------------------------------- a hand-made state


def busy() -> Metrics:
    """One queue "q" (wrap-up 10 s), agents x, y, z, five calls: at 40, x and
    y wrap up c1 and c2 (until 45 and 42), z talks on c3, c4 and c5 wait;
    c1 was surveyed."""
    acd = Distributor([QueueConfig("q", wrap_up=10.0)])
    m = Metrics(acd.queues)
    agents = [AgentProfile(a, queues=["q"]) for a in ("x", "y", "z")]
    events: list[Event] = [
        *(AgentLoggedIn(now=0.0, profile=p) for p in agents),
        *(CallArrived(now=1.0 + i, call_id=f"c{i + 1}", queue="q") for i in range(5)),
        OfferAnswered(now=6.0, call_id="c1", agent_id="x"),
        OfferAnswered(now=7.0, call_id="c2", agent_id="y"),
        OfferAnswered(now=8.0, call_id="c3", agent_id="z"),
        CallEnded(now=32.0, call_id="c2"),
        CallEnded(now=35.0, call_id="c1"),
    ]
    for ev in events:
        m.observe(ev, acd.handle(ev), before=acd.advance(ev.now))
    m.record_survey("c1", 5, at=36.0)
    m.observe_actions(acd.advance(40.0))
    m.advance(40.0)
    return m


def test_the_hand_made_state_resumes_and_ends_as_the_original() -> None:
    m = busy()
    saved = m.save_state()
    assert [c["call_id"] for c in saved["calls"]] == ["c3", "c4", "c5"]
    assert saved["wraps"] == [[42.0, 0, "y", 1], [45.0, 1, "x", 0]]
    copy = Metrics([QueueConfig("q", wrap_up=10.0)])
    copy.load_state(json.loads(json.dumps(saved, allow_nan=False)))
    for metrics in (m, copy):
        metrics.observe_event(CallAbandoned(now=50.0, call_id="c5"))
        metrics.observe_event(AgentLoggedOut(now=55.0, agent_id="y"))
        metrics.advance(60.0)
    assert reports(copy, ("q",)) == reports(m, ("q",))
    assert copy.summary().overall.handled == 2  # both wrap-ups ended after the load
    with pytest.raises(AcdError, match="already has a survey"):
        copy.record_survey("c1", 4, at=60.0)


def test_a_clock_moved_before_loading_is_replaced() -> None:
    saved = busy().save_state()
    copy = Metrics([QueueConfig("q", wrap_up=10.0)])
    copy.advance(500.0)  # nothing observed: it may still load
    copy.load_state(saved)
    assert copy.now == 40.0


def test_saved_data_shares_nothing_with_the_metrics() -> None:
    m = busy()
    saved = m.save_state()
    before = json.dumps(saved)
    saved["queue_acc"][0][1]["q"]["answered_waits"].append(99.0)
    saved["calls"][0]["state"] = "ringing"
    assert json.dumps(m.save_state()) == before
    copy = Metrics([QueueConfig("q", wrap_up=10.0)])
    data = json.loads(before)
    copy.load_state(data)
    data["agents"][0]["sessions"].clear()
    data["answered"].clear()
    assert json.dumps(copy.save_state()) == before


def test_floats_round_trip_exactly_and_infinities_as_text() -> None:
    values = [0.1 + 0.2, 1e-300, 5e-324, -0.0, 1234.567 - 0.1, math.inf, -math.inf]
    dumped = DOUBLES.dump(array("d", values), "w")
    assert dumped[-2:] == ["inf", "-inf"]
    back = DOUBLES.load(json.loads(json.dumps(dumped, allow_nan=False)), "w")
    assert [v.hex() for v in back] == [v.hex() for v in values]
    with pytest.raises(InvalidValue, match=r"^w\[0\] must be a number"):
        DOUBLES.dump(array("d", [math.nan]), "w")


def test_an_attribute_added_to_metrics_must_be_given_a_place() -> None:
    m = busy()
    m.escalations = 3  # type: ignore[attr-defined]  # a field someone adds later
    with pytest.raises(TypeError, match=r"Metrics\.escalations has no place"):
        m.save_state()
    with pytest.raises(TypeError, match=r"Metrics\.escalations has no place"):
        m.load_state({})


# --------------------------------------------------------------- refusals


def refused(target: Metrics, data: Any, message: str) -> None:
    """Loading ``data`` into ``target`` raises InvalidValue with ``message``
    in its text, and ``target`` is unchanged."""
    before = target.save_state()
    with pytest.raises(InvalidValue) as caught:
        target.load_state(data)
    assert message in str(caught.value)
    assert target.save_state() == before


def fresh(**kw: Any) -> Metrics:
    return Metrics([QueueConfig("q", wrap_up=10.0)], **kw)


def test_a_metrics_that_observed_something_refuses_to_load() -> None:
    saved = busy().save_state()
    target = fresh()
    target.observe_event(CallArrived(now=1.0, call_id="z", queue="q"))
    refused(target, saved, "needs a Metrics that has observed nothing yet")
    for item in (
        AgentPaused(now=2.0, agent_id="nobody"),  # ignored: counted all the same
        Ping(now=2.0),  # unknown: listed
    ):
        other = fresh()
        other.observe_event(item)
        refused(other, saved, "has observed nothing yet")


@pytest.mark.parametrize(
    ("version", "shown"), [(2, "2"), (True, "True"), ("1", "'1'"), (None, "None")]
)
def test_another_version_is_refused(version: object, shown: str) -> None:
    saved = busy().save_state()
    if version is None:
        del saved["v"]
    else:
        saved["v"] = version
    refused(
        fresh(), saved, f"metrics.v: this acdcore reads version 1 of the metrics state, got {shown}"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: fresh(interval=900),
            "metrics.config.interval: the state was saved with 1800.0, this Metrics has 900.0",
        ),
        (
            lambda: Metrics([QueueConfig("q", wrap_up=10.0), QueueConfig("r")]),
            "metrics.config.queues[1]: the state was saved with nothing, this Metrics has ['r', 0.0]",
        ),
        (
            lambda: Metrics([QueueConfig("r", wrap_up=10.0)]),
            "metrics.config.queues[0][0]: the state was saved with 'q', this Metrics has 'r'",
        ),
        (
            lambda: Metrics([QueueConfig("q", wrap_up=5.0)]),
            "metrics.config.queues[0][1]: the state was saved with 10.0, this Metrics has 5.0",
        ),
        (
            lambda: fresh(thresholds={"q": 30}),
            "metrics.config.thresholds.q: the state was saved with 20.0",
        ),
        (
            lambda: fresh(sl_variant="c"),
            "metrics.config.variant: the state was saved with 'b', this Metrics has 'c'",
        ),
        (
            lambda: fresh(remember_calls=5),
            "metrics.config.remember_calls: the state was saved with 100000",
        ),
        (
            lambda: fresh(epoch=datetime(2024, 1, 1)),
            "metrics.config.epoch: the state was saved with None",
        ),
    ],
)
def test_another_configuration_is_refused(build: Callable[[], Metrics], message: str) -> None:
    refused(build(), busy().save_state(), message)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        at: Any = data
        for step in path[:-1]:
            at = at[step]
        at[path[-1]] = value

    return change


def _delete(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        at: Any = data
        for step in path[:-1]:
            at = at[step]
        del at[path[-1]]

    return change


def _swap_wraps(data: dict[str, Any]) -> None:
    data["wraps"].reverse()


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "bucket",
        _set(("calls", 2, "bucket"), "x"),
        "metrics.calls[2].bucket must be an integer, got 'x'",
    ),
    (
        "session state",
        _set(("agents", 1, "sessions", 0, 1, "state"), "talking"),
        "metrics.agents[1].sessions[0][1].state must be one of 'ringing', 'connected', 'wrap', got 'talking'",
    ),
    (
        "session key",
        _set(("agents", 1, "sessions", 0, 0), "1"),
        "metrics.agents[1].sessions[0][0] must be an integer, got '1'",
    ),
    (
        "a wait",
        _set(("queue_acc", 0, 1, "q", "answered_waits", 1), None),
        'metrics.queue_acc[0][1].q.answered_waits[1] must be a number (or "inf", "-inf"), got None',
    ),
    (
        "agent time",
        _set(("agent_acc", 0, 1, "x", "calls", "talk"), "NaN"),
        "metrics.agent_acc[0][1].x.calls.talk must be a number",
    ),
    (
        "a bool",
        _set(("agents", 0, "paused"), 0),
        "metrics.agents[0].paused must be true or false, got 0",
    ),
    (
        "category",
        _set(("agents", 0, "category"), "time_lunch"),
        "metrics.agents[0].category must be one of",
    ),
    ("wrap", _set(("wraps", 0), [42.0, 0, "y"]), "metrics.wraps[0] must be a list of 4 items"),
    ("heap", _swap_wraps, "metrics.wraps[1]: not a heap"),
    ("wrap seq", _set(("wrap_seq",), 1), "metrics.wraps[1][1]: 1 is not below wrap_seq 1"),
    ("unhandled", _set(("unhandled",), [1]), "metrics.unhandled[0] must be a string, got 1"),
    (
        "unhandled twice",
        _set(("unhandled",), ["Ping", "Ping"]),
        "metrics.unhandled[1]: 'Ping' appears twice",
    ),
    ("missing", _delete("calls", 0, "state"), "metrics.calls[0].state is missing"),
    ("unknown", _set(("extra",), 1), "metrics: unknown field 'extra'"),
    (
        "unknown in a record",
        _set(("answered", 0, 1, "score"), 5),
        "metrics.answered[0][1]: unknown field 'score'",
    ),
    ("twice", _set(("calls", 1, "call_id"), "c3"), "metrics.calls[1].call_id: 'c3' appears twice"),
    ("seq", _set(("calls", 0, "seq"), 5), "metrics.calls[0].seq: 5 is not below call_seq 5"),
    (
        "same seq",
        _set(("calls", 1, "seq"), 2),
        "metrics.calls[1].seq: 2 is also the seq of calls[0]",
    ),
    ("queue", _set(("calls", 0, "queue"), "zz"), "metrics.calls[0].queue: no queue named 'zz'"),
    ("acc queue", _set(("queue_acc", 0, 1), {"zz": {}}), "metrics.queue_acc[0][1].zz"),
    (
        "connected",
        _set(("calls", 0, "answered_at"), None),
        "metrics.calls[0].answered_at: a connected call must have one, got None",
    ),
    ("answered", _set(("answered",), {}), "metrics.answered must be a list, got {}"),
    ("pair", _set(("answered", 0), ["c1"]), "metrics.answered[0] must be a [key, value] pair"),
    ("ignored", _set(("ignored",), -1), "metrics.ignored must be an integer >= 0, got -1"),
    ("ignored bool", _set(("ignored",), True), "metrics.ignored must be an integer, got True"),
    ("now", _set(("now",), "soon"), "metrics.now must be a number"),
    ("config", _set(("config",), None), "metrics.config: the state was saved with None"),
]


@pytest.mark.parametrize(
    ("change", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_data_is_refused_naming_the_place(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    saved = busy().save_state()
    data = json.loads(json.dumps(saved))
    change(data)
    target = fresh()
    refused(target, data, message)
    target.load_state(saved)  # a refused load left nothing behind
    assert target.save_state() == saved


@pytest.mark.parametrize("data", [None, [], "state", 1])
def test_data_that_is_not_an_object_is_refused(data: object) -> None:
    refused(fresh(), data, "metrics must be a JSON object")
