"""An e-commerce hotline on the first morning of a promotion, routed by a plan.

Run it with ``python examples/promotion.py``. It needs no arguments and no network.

The routing plan is written in TOML (``PLAN_TOML`` below), parsed with ``tomllib`` and
built with ``RoutingPlan.from_dict``, which validates it against the queues and skills.
It routes on the attributes an IVR would attach to a call:

- a transcript mentioning "complaint", "urgent" or "safety", or an anger score of 8 or
  more, goes to the supervisors as an emergency, with an ``Alert`` so one can listen in;
- VIP customers and high-value baskets go to the vip queue at the top priority; after
  20 s the supervisors may take them too (that last step never expires);
- the IVR intents "refund" and "delivery status" go straight to their groups;
- order calls need orders >= 7 for 30 s, then orders >= 4; after 60 s the general
  queue's agents (with orders >= 4) may help, and after 90 s any agent of either queue;
- the orders queue switches to surge mode at 5 waiting calls and back at 2; during a
  surge, "order status" callers go to self-service (the order tracker) instead of waiting;
- an orders caller who waits 120 s is sent to voicemail; a refund caller who waits 90 s
  moves to the general queue (keeping its arrival time);
- when the delivery group's only agent goes to lunch, the calls waiting for it move to
  the general queue, and new delivery callers go to self-service (parcel tracking);
- business hours are Europe/Berlin; outside them, order callers are offered a callback
  at the next opening.

Schedules read the distributor's clock as Unix seconds, so every ``now`` below is a Unix
time: Tuesday 24 November 2026, from 10:00 in Berlin. The driver is a small simulator:
agents answer an offer 4 s after it rings and talk for a scripted time. Between events it
advances the distributor deadline by deadline (relaxation steps, maximum waits and
wrap-ups fire at their own instants), and it calls ``check()`` after every step.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from zoneinfo import ZoneInfo

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentLoggedOut,
    AgentProfile,
    Alert,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    EmergencyFirst,
    Event,
    Explanation,
    Offer,
    OfferAnswered,
    Overflow,
    PriorityClasses,
    QueueConfig,
    Queued,
    QueueMembership,
    Reject,
    RoutingPlan,
    SelfService,
    SurgeMode,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: no tomllib in the standard library
    raise SystemExit("examples/promotion.py needs Python 3.11 or later (tomllib)") from None

BERLIN = ZoneInfo("Europe/Berlin")
T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN).timestamp()  # a Tuesday, 10:00

PLAN_TOML = """
[schedules.hotline]
timezone = "Europe/Berlin"
holidays = [2026-12-24, 2026-12-25, 2026-12-26]

[schedules.hotline.hours]
mon = ["08:00-20:00"]
tue = ["08:00-20:00"]
wed = ["08:00-20:00"]
thu = ["08:00-20:00"]
fri = ["08:00-22:00"]
sat = ["09:00-14:00"]

[[rules]]
name = "emergency"
queue = "supervisors"
emergency = true
priority = 5
alert = "escalation: please listen in"
[rules.when]
any = [
    { contains = ["transcript", ["complaint", "urgent", "safety"]] },
    { ge = ["anger", 8] },
]

[[rules]]
name = "vip"
queue = "vip"
priority = 10
when = { any = [{ eq = ["tier", "vip"] }, { ge = ["basket_value", 1000] }] }
steps = [{ expires_after = 20 }, { add_queues = ["supervisors"] }]

[[rules]]
name = "refund"
when = { eq = ["intent", "refund"] }
queue = "refunds"

[[rules]]
name = "delivery"
when = { eq = ["intent", "delivery status"] }
queue = "delivery"

[[rules]]
name = "orders"
when = { in = ["intent", ["order status", "new order", "change order"]] }
queue = "orders"
steps = [
    { expires_after = 30 },
    { requirement = { orders = 4 }, expires_after = 60 },
    { requirement = { orders = 4 }, add_queues = ["general"], expires_after = 90 },
]

[default]
queue = "general"

[queues.orders]
schedule = "hotline"
when_closed = { kind = "self-service", callback_next_open = true }
max_wait = 120
on_max_wait = { kind = "destination", target = "voicemail" }
surge = { enter_waiting = 5, leave_waiting = 2, simple = { eq = ["intent", "order status"] } }

[queues.refunds]
schedule = "hotline"
max_wait = 90
on_max_wait = { kind = "queue", target = "general" }

[queues.delivery]
schedule = "hotline"
join_empty = "self-service"
leave_empty = { kind = "queue", target = "general" }

[queues.general]
schedule = "hotline"
when_closed = { kind = "destination", target = "voicemail" }
"""

SKILLS = {"orders", "refunds", "delivery", "vip"}
QUEUES = [
    QueueConfig("orders", requirement={"orders": 7}, wrap_up=5),
    QueueConfig("refunds", requirement={"refunds": 3}, wrap_up=5),
    QueueConfig("delivery", requirement={"delivery": 3}, wrap_up=5),
    QueueConfig("vip", policy=PriorityClasses(), wrap_up=5),
    QueueConfig("supervisors", policy=EmergencyFirst(PriorityClasses()), wrap_up=5),
    QueueConfig("general", wrap_up=5),
]


def agent(agent_id: str, queues: dict[str, int], **skills: int) -> AgentProfile:
    """An agent serving ``queues`` (name -> membership priority) with ``skills``."""
    memberships = {q: QueueMembership(priority=p) for q, p in queues.items()}
    return AgentProfile(agent_id, skills=skills, queues=memberships)


AGENTS = [
    agent("olga", {"orders": 1}, orders=9),
    agent("omar", {"orders": 1}, orders=7),
    agent("otto", {"orders": 1}, orders=4),
    agent("rita", {"refunds": 1, "general": 2}, refunds=7, orders=3),
    agent("dora", {"delivery": 1}, delivery=6),
    agent("vera", {"vip": 1}, vip=9, orders=8),
    agent("sam", {"supervisors": 1}, orders=8, refunds=8),
    agent("sue", {"supervisors": 1, "general": 2}, orders=6, refunds=6),
    agent("gina", {"general": 1}, orders=5),
    agent("gabe", {"general": 1}),
]

# The burst: (seconds after 10:00, call id, attributes, talk time in seconds).
CALLS: list[tuple[float, str, dict[str, object], float]] = [
    (2, "c01", {"intent": "order status"}, 60),
    (4, "c02", {"intent": "new order"}, 150),
    (5, "c03", {"intent": "refund"}, 120),
    (7, "c04", {"intent": "order status"}, 90),
    (8, "c05", {"intent": "delivery status"}, 100),
    (10, "c06", {"intent": "order status", "tier": "vip"}, 80),
    (12, "c07", {"intent": "change order"}, 110),
    (14, "c08", {"intent": "other", "transcript": "This is a formal COMPLAINT"}, 120),
    (15, "c09", {"intent": "order status"}, 70),
    (17, "c10", {"intent": "new order", "basket_value": 1450}, 140),
    (18, "c11", {"intent": "order status"}, 60),
    (20, "c12", {"intent": "refund"}, 130),
    (21, "c13", {"intent": "new order"}, 120),
    (23, "c14", {"intent": "order status"}, 60),
    (24, "c15", {"intent": "order status"}, 60),
    (26, "c16", {"intent": "delivery status"}, 90),
    (27, "c17", {"intent": "refund", "anger": 9}, 150),
    (29, "c18", {"intent": "change order"}, 100),
    (31, "c19", {"intent": "order status"}, 60),
    (33, "c20", {"intent": "other"}, 80),
    (35, "c21", {"intent": "refund"}, 90),
    (36, "c22", {"intent": "new order"}, 100),
    (38, "c23", {"intent": "order status", "tier": "vip"}, 70),
    (40, "c24", {"intent": "order status"}, 60),
    (42, "c25", {"intent": "refund"}, 110),
    (45, "c26", {"intent": "delivery status"}, 80),
    (47, "c27", {"intent": "new order"}, 90),
    (50, "c28", {"intent": "other", "transcript": "urgent: wrong item"}, 120),
    (52, "c29", {"intent": "refund"}, 100),
    (55, "c30", {"intent": "change order"}, 90),
    (58, "c31", {"intent": "other"}, 70),
    (62, "c32", {"intent": "order status"}, 60),
    (70, "c33", {"intent": "delivery status"}, 90),
    (85, "c34", {"intent": "new order"}, 80),
    (100, "c35", {"intent": "order status"}, 60),
    (125, "c36", {"intent": "delivery status"}, 60),
]
DORA_LUNCH = 64.0  # dora (delivery's only agent) logs out for lunch
ANSWER_AFTER = 4.0  # every agent answers an offer 4 s after it rings
EXPLAIN_AT = 75.0  # look at two waiting calls at 10:01:15
EVENING = dt.datetime(2026, 11, 24, 20, 30, tzinfo=BERLIN).timestamp()  # after closing


def clock(t: float) -> str:
    """Local Berlin wall-clock time of a Unix instant."""
    return dt.datetime.fromtimestamp(t, BERLIN).strftime("%H:%M:%S")


def intent(attributes: dict[str, object]) -> str:
    return str(attributes.get("intent", "?"))


class Hotline:
    """A tiny simulator around the distributor: it plays the script, answers offers,
    ends calls, fires deadlines on time and prints the decisions."""

    def __init__(self) -> None:
        spec = tomllib.loads(PLAN_TOML)
        queue_reqs = {q.name: q.requirement for q in QUEUES}
        self.plan = RoutingPlan.from_dict(spec, queues=queue_reqs, skills=SKILLS)
        self.acd = Distributor(QUEUES, plan=self.plan, skills=SKILLS, start=T0)
        self.inbox: list[tuple[float, int, Event]] = []
        self.seq = 0
        self.ringing: set[tuple[str, str]] = set()
        self.talk = {cid: talk for _, cid, _, talk in CALLS}
        self.tally: Counter[str] = Counter()
        self.explained: list[Explanation] = []

    def push(self, ev: Event) -> None:
        heapq.heappush(self.inbox, (ev.now, self.seq, ev))
        self.seq += 1

    # ----------------------------------------------------------------- printing

    def line(self, at: float, text: str) -> None:
        print(f"{clock(at)}  {text}")

    def arrival(self, ev: CallArrived, actions: list[Action]) -> None:
        """One line per arriving call: its rule and what happened to it."""
        rule = self.plan.decide(ev.attributes, ev.now).name
        outcome = "?"
        for a in actions:
            if isinstance(a, Queued):
                outcome = f"queued in {a.queue} at #{a.position}"
            elif isinstance(a, Offer):
                outcome = f"offered to {a.agent_id} in {a.queue}"
            elif isinstance(a, SelfService):
                outcome = f"self-service ({a.reason})"
            elif isinstance(a, Overflow) and a.destination is not None:
                outcome = f"sent to {a.destination} ({a.reason})"
            elif isinstance(a, Overflow):
                outcome = f"{a.reason}: {a.queue} -> {a.target_queue}"
            elif isinstance(a, Reject):
                outcome = f"rejected ({a.reason})"
        self.tally[f"rule {rule}"] += 1
        self.line(ev.now, f"{ev.call_id:4} {intent(dict(ev.attributes)):15} {rule:11} {outcome}")

    def report(self, actions: list[Action], skip_arrival: str | None = None) -> None:
        """Print the decisions among ``actions`` (offers, exits, alerts, surge)."""
        for a in actions:
            if isinstance(a, Offer):
                self.tally["offers"] += 1
                if a.call_id == skip_arrival:
                    continue
                why = self.acd.explain(a.call_id)
                req = ", ".join(f"{s}>={n}" for s, n in why.requirement) or "any skill"
                extra = f" +{'+'.join(why.extra_queues)}" if why.extra_queues else ""
                stage = f"step {why.step + 1}/{why.steps}: {req}{extra}"
                self.line(
                    a.at,
                    f"  offer {a.call_id} -> {a.agent_id:5} waited {a.waited:3.0f}s  ({stage})",
                )
            elif isinstance(a, Alert):
                self.tally["alerts"] += 1
                self.line(a.at, f"  ALERT {a.call_id} ({a.rule} -> {a.queue}): {a.message}")
            elif isinstance(a, SurgeMode):
                state = "ON" if a.active else "off"
                self.tally[f"surge {state}"] += 1
                self.line(a.at, f"  SURGE {state} in {a.queue} ({a.waiting} waiting)")
            elif isinstance(a, Overflow):
                target = a.destination or a.target_queue
                self.tally[f"{a.reason} -> {target}"] += 1
                if a.call_id != skip_arrival:
                    where = a.destination or f"queue {a.target_queue}"
                    self.line(a.at, f"  {a.call_id} leaves {a.queue} for {where} ({a.reason})")
            elif isinstance(a, SelfService):
                self.tally[f"self-service {a.reason}"] += 1
                if a.callback_at is not None:
                    self.line(a.at, f"  callback offered for {clock(a.callback_at)} next day")
            elif isinstance(a, Reject):
                self.tally[f"rejected {a.reason}"] += 1

    # ----------------------------------------------------------------- driving

    def react(self, actions: list[Action]) -> None:
        """What the phones and agents do about the actions."""
        for a in actions:
            if isinstance(a, Offer):
                self.ringing.add((a.call_id, a.agent_id))
                self.push(
                    OfferAnswered(now=a.at + ANSWER_AFTER, call_id=a.call_id, agent_id=a.agent_id)
                )
            elif isinstance(a, CancelOffer):
                self.ringing.discard((a.call_id, a.agent_id))

    def apply(self, ev: Event) -> None:
        if isinstance(ev, OfferAnswered):
            if (ev.call_id, ev.agent_id) not in self.ringing:
                return  # the offer was withdrawn meanwhile
            self.ringing.discard((ev.call_id, ev.agent_id))
            self.push(CallEnded(now=ev.now + self.talk[ev.call_id], call_id=ev.call_id))
        actions = self.acd.advance(ev.now) + self.acd.handle(ev)
        self.acd.check()
        if isinstance(ev, CallArrived):
            self.arrival(ev, actions)
            self.report(actions, skip_arrival=ev.call_id)
        elif isinstance(ev, AgentLoggedOut):
            later = " (once her call ends)" if self.acd.agent(ev.agent_id).pending_logout else ""
            self.line(ev.now, f"{ev.agent_id} logs out for lunch{later}")
            self.report(actions)
        else:
            self.report(actions)
        self.react(actions)

    def deadline(self, due: float) -> None:
        """Fire the deadline due at ``due`` (a relaxation step, a maximum wait...)."""
        actions = self.acd.advance(due)
        self.acd.check()
        self.report(actions)
        self.react(actions)

    def snapshot_waiting(self) -> None:
        """Remember ``explain()`` for the first call waiting in two of the queues."""
        self.acd.advance(T0 + EXPLAIN_AT)
        self.acd.check()
        heads = [w[0] for q in ("orders", "vip", "delivery") if (w := self.acd.waiting(q))]
        self.explained = [self.acd.explain(cid) for cid in heads[:2]]

    def run(self) -> None:
        """Play the inbox; before each event, fire every deadline due by then, one by
        one (a deadline's actions may put earlier events into the inbox)."""
        while True:
            due = self.acd.next_deadline()
            t = self.inbox[0][0] if self.inbox else None
            if t is None and due is None:
                return
            step_at = min(x for x in (due, t) if x is not None)
            if not self.explained and step_at > T0 + EXPLAIN_AT:
                self.snapshot_waiting()
            if due is not None and (t is None or due <= t):
                self.deadline(due)
            else:
                self.apply(heapq.heappop(self.inbox)[2])

    def script(self) -> None:
        for profile in AGENTS:
            self.push(AgentLoggedIn(now=T0, profile=profile))
        for offset, cid, attrs, _ in CALLS:
            self.push(CallArrived(now=T0 + offset, call_id=cid, queue="general", attributes=attrs))
        self.push(AgentLoggedOut(now=T0 + DORA_LUNCH, agent_id="dora"))


def show_explanation(e: Explanation) -> None:
    req = ", ".join(f"{s}>={n}" for s, n in e.requirement) or "any skill"
    nxt = clock(e.next_relaxation_at) if e.next_relaxation_at is not None else "none"
    extra = ", ".join(e.extra_queues) or "none"
    print(
        f"  {e.call_id} in {e.queue} (rule {e.rule}): {e.reason}; step {e.step + 1}/{e.steps} "
        f"needs {req}, added queues {extra}, next relaxation {nxt}"
    )


def main() -> None:
    hotline = Hotline()
    acd = hotline.acd
    print(f"Promotion morning, Tuesday {clock(T0)} Europe/Berlin ({len(CALLS)} calls)")
    print(f"{'time':8}  {'call':4} {'intent':15} {'rule':11} decision")
    hotline.script()
    hotline.run()

    # After closing time the orders queue offers a callback at the next opening.
    late = CallArrived(
        now=EVENING, call_id="late", queue="general", attributes={"intent": "order status"}
    )
    print(f"-- evening, {clock(EVENING)}: the hotline is closed")
    hotline.push(late)
    hotline.run()

    print("\nsummary")
    counts = {k: v for k, v in acd.counts().items() if v}
    print("  outcomes:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    rules = sorted((k[5:], v) for k, v in hotline.tally.items() if k.startswith("rule "))
    print("  rules:", ", ".join(f"{k} {v}" for k, v in rules))
    other = sorted((k, v) for k, v in hotline.tally.items() if not k.startswith("rule "))
    exits = [(k, v) for k, v in other if "->" in k or k.startswith("self-service")]
    print("  exits:", ", ".join(f"{k} {v}" for k, v in exits))
    rest = [(k, v) for k, v in other if (k, v) not in exits]
    print("  other:", ", ".join(f"{k} {v}" for k, v in rest))
    for profile in AGENTS:
        a = acd.agent(profile.agent_id)
        print(f"  {a.agent_id:5} answered {a.calls_taken}, talk time {a.talk_time:4.0f} s")
    print(f"  explain() at {clock(T0 + EXPLAIN_AT)} for two calls still waiting:")
    for e in hotline.explained:
        show_explanation(e)


if __name__ == "__main__":
    main()
