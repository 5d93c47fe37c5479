"""Memory safety of the native backend under valgrind's memcheck.

Builds the working tree's C extension into a temporary copy (``-O1 -g``, so
stacks name lines), runs a random workload on ``Distributor(backend="native")``
under memcheck with ``PYTHONMALLOC=malloc``, and reports the errors and the
definitely-lost blocks whose stacks touch the native core (a frame in
``_acdnative*.so`` / ``acd_native.c`` or an ``acd_*`` function). CPython's own
reports are counted but not shown: they are not this project's to fix.

    python benchmarks/memcheck.py                    # 2 rounds x 3,000 events, ~5 min
    python benchmarks/memcheck.py --events 2000 --rounds 1 --keep /tmp/mc
    python benchmarks/memcheck.py --workload         # the workload alone, no valgrind

The interpreter running it needs cffi and setuptools (to build) and acdcore's
dependencies. Exit status: 0 when the native core is clean, 1 when memcheck
reported something in it, 2 when the run itself failed.

The workload: nine queues (one per strategy, every priority policy), a routing
plan (widening steps with added queues, a regional step, a preferred-agent
rule, a queue exit, max-wait exits, a surge mode, the load guard; even rounds
only) and 30 agents with random skills, memberships, regions and
multi-channel capacity. Every event kind is sent: arrivals on every channel
(priorities, emergencies, preferred agents, requirements), answers, declines,
ring-outs, abandons, ends, transfers, logins (and re-logins with a new
profile), logouts, pauses, resumes, skill changes, and refused events;
deadlines fire as they fall due, and ``check()`` runs every 250 events. Each
round ends by dropping its distributor, so the core is freed under memcheck.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ("billing", "tech", "sales", "spanish", "french", "vip")
INTENTS = ("tech", "local", "refund", "status", "billing", None)
REGIONS = ("north", "south", None)
N_AGENTS = 30
DONE = "workload completed"

# ----------------------------------------------------------------- workload


def _config(rng: random.Random) -> tuple[list[Any], Any]:
    """Nine queues, one per strategy, and a routing plan over them."""
    import acdcore as a

    policies = [
        a.FIFO(),
        a.PriorityClasses(),
        a.EmergencyFirst(a.PriorityClasses()),
        a.AccumulatingPriority(30.0),
    ]
    queues = []
    for i, strategy in enumerate(a.Strategy):
        queues.append(
            a.QueueConfig(
                f"q{i}",
                policy=policies[i % len(policies)],
                strategy=strategy,
                requirement={SKILLS[i % len(SKILLS)]: 1 + i % 4} if i % 3 else {},
                ring_timeout=rng.choice([6.0, 10.0, 15.0]),
                wrap_up=rng.choice([0.0, 3.0, 8.0]),
                no_answer=a.NoAnswerPolicy(delay=rng.choice([0.0, 4.0]), auto_pause_after=3),
                max_length=40 if i == 4 else None,
                preferred_agent_wait=10.0,
            )
        )
    plan = a.RoutingPlan(
        rules=(
            a.Rule(
                "tech",
                when=a.Equals("intent", "tech"),
                queue="q1",
                requirement={"tech": 8},
                steps=(
                    a.Step(requirement={"tech": 4}, add_queues=("q2",), expires_after=5.0),
                    a.Step(requirement={}, add_queues=("q3", "q7"), expires_after=15.0),
                ),
            ),
            a.Rule(
                "local",
                when=a.Equals("intent", "local"),
                queue="q5",
                steps=(
                    a.Step(regional=True, expires_after=6.0, skip_if_empty=True),
                    a.Step(regional=False, add_queues=("q6",), expires_after=20.0),
                ),
            ),
            a.Rule("refund", when=a.Equals("intent", "refund"), exit=a.Exit("queue", "q8")),
            a.Rule(
                "returning",
                when=a.Present("am"),
                queue="q0",
                preferred=a.PreferredAgent(attribute="am", wait=8.0, if_busy="wait"),
            ),
            # The rest keep the queue they arrived in (a rule must name one).
            *(a.Rule(f"to-{q.name}", when=a.Equals("dest", q.name), queue=q.name) for q in queues),
        ),
        default=a.Rule("default", queue="q0"),
        queues={
            "q2": a.QueueRules(max_wait=60.0, on_max_wait=a.Exit("destination", "voicemail")),
            "q3": a.QueueRules(
                surge=a.Surge(enter_waiting=3, leave_waiting=1, simple=a.Equals("intent", "status"))
            ),
        },
        load_guard=a.LoadGuard(min_answer_rate=0.8, window=8, min_offers=3),
    )
    return queues, plan


def _profile(rng: random.Random, agent_id: str, queues: list[str]) -> Any:
    import acdcore as a

    skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(0, len(SKILLS)))}
    mine = rng.sample(queues, rng.randint(1, 4))
    memberships = {
        q: a.QueueMembership(
            priority=rng.choice([1, 1, 2, 3]),
            delay=rng.choice([0.0, 0.0, 5.0]),
            position=rng.randint(0, 20),
            weight=rng.randint(1, 5),
        )
        for q in mine
    }
    if rng.random() < 0.5:
        capacity = {a.Channel.VOICE: 1}
    else:
        capacity = {a.Channel.VOICE: 1, a.Channel.CHAT: 2, a.Channel.EMAIL: 3}
    return a.AgentProfile(
        agent_id, skills=skills, queues=memberships, capacity=capacity, region=rng.choice(REGIONS)
    )


# Relative weights of the event kinds the workload draws.
KINDS = {
    "arrive": 26,
    "answer": 22,
    "decline": 3,
    "end": 16,
    "transfer": 3,
    "abandon": 6,
    "login": 4,
    "logout": 2,
    "pause": 3,
    "resume": 5,
    "skills": 2,
    "bad": 2,
}


class Workload:
    """One distributor driven through random events of every kind."""

    def __init__(self, seed: int, backend: str = "native", with_plan: bool = True) -> None:
        import acdcore as a

        self.a = a
        self.rng = random.Random(seed)
        queues, plan = _config(self.rng)
        self.queue_names = [q.name for q in queues]
        self.acd = a.Distributor(
            queues,
            plan=plan if with_plan else None,
            rng=random.Random(seed + 1),
            backend=backend,
            skills=SKILLS,
        )
        self.agents = [f"a{i}" for i in range(N_AGENTS)]
        self.live: list[str] = []  # call ids that may still be live
        self.next_call = 0
        self.now = 0.0
        self.sent: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.actions: collections.Counter[str] = collections.Counter()
        self.offers: collections.Counter[str] = collections.Counter()  # by queue

    # -- picking targets by asking the distributor

    def _calls(self, *states: Any) -> list[Any]:
        a = self.a
        found, keep = [], []
        for cid in self.live:
            try:
                view = self.acd.call(cid)
            except a.UnknownCall:
                continue
            keep.append(cid)
            if view.state in states:
                found.append(view)
        self.live = keep
        return found

    def _agents(self, *states: Any) -> list[str]:
        a = self.a
        out = []
        for aid in self.agents:
            try:
                state = self.acd.agent(aid).state
            except a.UnknownAgent:
                state = a.AgentState.LOGGED_OUT
            if state in states:
                out.append(aid)
        return out

    def _event(self, kind: str) -> Any:
        a, rng, now = self.a, self.rng, self.now
        S = a.AgentState
        if kind == "arrive":
            cid = f"c{self.next_call}"
            self.next_call += 1
            self.live.append(cid)
            attrs: dict[str, Any] = {"caller": f"+1555{rng.randint(0, 300):04d}"}
            intent = rng.choice(INTENTS)
            if intent:
                attrs["intent"] = intent
            if rng.random() < 0.7:
                attrs["region"] = rng.choice(("north", "south"))
            if rng.random() < 0.08:
                attrs["am"] = rng.choice(self.agents)
            requirement = None
            if rng.random() < 0.2:
                requirement = {rng.choice(SKILLS): rng.randint(1, 6)}
            queue = rng.choice(self.queue_names)
            attrs["dest"] = queue
            return a.CallArrived(
                now=now,
                call_id=cid,
                queue=queue,
                channel=rng.choice([a.Channel.VOICE] * 5 + list(a.Channel)),
                attributes=attrs,
                requirement=requirement,
                priority=rng.choice([0, 0, 0, 1, 2]),
                emergency=rng.random() < 0.02,
                preferred_agent=rng.choice(self.agents) if rng.random() < 0.03 else None,
            )
        if kind in ("answer", "decline"):
            ringing = [v for v in self._calls(a.CallState.RINGING) if v.offered_to]
            if not ringing:
                return None
            v = rng.choice(ringing)
            agent = rng.choice(v.offered_to)
            if kind == "answer":
                return a.OfferAnswered(now=now, call_id=v.call_id, agent_id=agent)
            return a.OfferDeclined(now=now, call_id=v.call_id, agent_id=agent, reason="busy")
        if kind in ("end", "transfer"):
            connected = self._calls(a.CallState.CONNECTED)
            if not connected:
                return None
            cid = rng.choice(connected).call_id
            if kind == "end":
                return a.CallEnded(now=now, call_id=cid)
            return a.CallTransferred(
                now=now,
                call_id=cid,
                queue=rng.choice(self.queue_names),
                requirement=rng.choice([None, {}, {rng.choice(SKILLS): 2}]),
                keep_arrival=rng.random() < 0.5,
            )
        if kind == "abandon":
            waiting = self._calls(a.CallState.WAITING, a.CallState.RINGING)
            return (
                a.CallAbandoned(now=now, call_id=rng.choice(waiting).call_id) if waiting else None
            )
        if kind == "login":  # a logged-out agent, or a new profile for a logged-in one
            out = self._agents(S.LOGGED_OUT)
            aid = rng.choice(out) if out and rng.random() < 0.8 else rng.choice(self.agents)
            return a.AgentLoggedIn(now=now, profile=_profile(rng, aid, self.queue_names))
        if kind in ("logout", "pause", "skills"):
            present = [x for x in self.agents if x not in self._agents(S.LOGGED_OUT)]
            if not present:
                return None
            aid = rng.choice(present)
            if kind == "logout":
                return a.AgentLoggedOut(now=now, agent_id=aid)
            if kind == "pause":
                return a.AgentPaused(now=now, agent_id=aid, reason=rng.choice(["break", "lunch"]))
            skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(0, 4))}
            return a.AgentSkillsChanged(now=now, agent_id=aid, skills=skills)
        if kind == "resume":
            paused = self._agents(S.PAUSED)
            return a.AgentResumed(now=now, agent_id=rng.choice(paused)) if paused else None
        # "bad": events the distributor must refuse without changing anything
        bad = [
            a.OfferAnswered(now=now, call_id="nope", agent_id=self.agents[0]),
            a.CallArrived(now=now, call_id="x", queue="no-such-queue"),
            a.AgentResumed(now=now, agent_id="ghost"),
        ]
        live = self._calls(a.CallState.WAITING, a.CallState.RINGING, a.CallState.CONNECTED)
        if live:  # a duplicate of a live call (not of a finished one: ids may be reused)
            bad.append(a.CallArrived(now=now, call_id=rng.choice(live).call_id, queue="q0"))
            bad.append(a.CallEnded(now=now, call_id=rng.choice(live).call_id))
        return rng.choice(bad)

    def _count(self, actions: list[Any]) -> None:
        for act in actions:
            self.actions[type(act).__name__] += 1
            if type(act).__name__ == "Offer":
                self.offers[act.queue] += 1

    def run(self, events: int, check_every: int = 250) -> None:
        a, acd, rng = self.a, self.acd, self.rng
        for aid in self.agents[: N_AGENTS * 2 // 3]:
            self._count(
                acd.handle(a.AgentLoggedIn(now=0.0, profile=_profile(rng, aid, self.queue_names)))
            )
        kinds, weights = list(KINDS), list(KINDS.values())
        for i in range(events):
            self.now += rng.expovariate(1.5)
            # Deadlines due by now fire first, each at its own instant (ring
            # timeouts, wrap-up ends, no-answer delays, plan steps...).
            while (due := acd.next_deadline()) is not None and due <= self.now:
                self._count(acd.advance(due))
            self._count(acd.advance(self.now))
            kind = rng.choices(kinds, weights)[0]
            ev = self._event(kind)
            if ev is None:
                continue
            try:
                self._count(acd.handle(ev))
                self.sent[type(ev).__name__] += 1
            except a.AcdError:
                self.refused[type(ev).__name__] += 1
            if i % check_every == 0:
                acd.check()
        acd.check()


def workload(events: int, rounds: int, seed: int, backend: str = "native") -> None:
    import acdcore

    print(f"acdcore {acdcore.__file__}", flush=True)
    if backend == "native":
        from acdcore._native import _acdnative  # type: ignore[attr-defined]

        print(f"native core {_acdnative.__file__}", flush=True)
    sent: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[str] = collections.Counter()
    actions: collections.Counter[str] = collections.Counter()
    offers: collections.Counter[str] = collections.Counter()
    for r in range(rounds):
        w = Workload(seed + 1000 * r, backend, with_plan=r % 2 == 0)
        w.run(events)
        sent += w.sent
        refused += w.refused
        actions += w.actions
        offers += w.offers
        del w  # the distributor and its native core go now, under memcheck
        gc.collect()
    print(f"events handled: {sum(sent.values()):,}  {dict(sorted(sent.items()))}")
    print(f"events refused: {sum(refused.values()):,}  {dict(sorted(refused.items()))}")
    print(f"actions:        {sum(actions.values()):,}  {dict(sorted(actions.items()))}")
    print(f"offers by queue: {dict(sorted(offers.items()))}")
    import acdcore.events as events_module

    missing = set(events_module.__all__) - {"Event"} - set(sent)
    if missing:
        raise SystemExit(f"workload never sent {sorted(missing)}: widen it")
    print(DONE)


# ------------------------------------------------------------------ valgrind


def build(dest: Path, python: str) -> Path:
    """Copy src/acdcore to ``dest`` and build its extension in place with
    debug-friendly flags; the new ``src`` directory."""
    src = dest / "src"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        ROOT / "src" / "acdcore",
        src / "acdcore",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.o", "_acdnative.c"),
    )
    env = dict(os.environ, ACDCORE_NATIVE_CFLAGS="-O1 -g -fno-omit-frame-pointer")
    out = subprocess.run(
        [python, str(src / "acdcore" / "_native" / "build.py")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 or not list((src / "acdcore" / "_native").glob("_acdnative*.so")):
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(2)
    return src


def _frames(stack: ET.Element | None) -> list[dict[str, str]]:
    if stack is None:
        return []
    return [{c.tag: (c.text or "") for c in frame} for frame in stack.findall("frame")]


def _core_code(frame: dict[str, str]) -> bool:
    """A frame in the hand-written core (not cffi's generated glue)."""
    return frame.get("file", "") == "acd_native.c" or frame.get("fn", "").startswith("acd_")


def _in_module(frame: dict[str, str]) -> bool:
    """A frame anywhere in the extension, cffi's glue included."""
    return "_acdnative" in frame.get("obj", "") or _core_code(frame)


def _where(frame: dict[str, str]) -> str:
    place = f"{frame['file']}:{frame.get('line', '?')}" if frame.get("file") else frame.get("obj")
    return f"{frame.get('fn', '???')} ({place})"


def _component(stack: list[dict[str, str]]) -> str:
    """Where an error is, for the summary of the others: the binary of the
    first frame past valgrind's own allocator replacements."""
    for f in stack:
        obj = os.path.basename(f.get("obj", ""))
        if not obj.startswith("vgpreload"):
            return obj or "?"
    return "?"


class Report:
    """Memcheck's XML report, split into the native core's errors and the rest."""

    def __init__(self, xml_file: Path) -> None:
        root = ET.parse(xml_file).getroot()
        counts = {
            pair.findtext("unique"): int(pair.findtext("count") or 1)
            for pair in root.iter("pair")
            if pair.find("unique") is not None
        }
        self.ours: list[str] = []
        self.others: collections.Counter[str] = collections.Counter()
        self.errors = self.contexts = 0
        self.lost = [0, 0]  # definitely lost: bytes, blocks
        for err in root.findall("error"):
            kind = err.findtext("kind") or "?"
            n = counts.get(err.findtext("unique"), 1)
            self.errors += n
            self.contexts += 1
            stacks = [_frames(s) for s in err.findall("stack")]
            if kind == "Leak_DefinitelyLost":
                self.lost[0] += int(err.findtext("xwhat/leakedbytes") or 0)
                self.lost[1] += int(err.findtext("xwhat/leakedblocks") or 0)
            # A leak is the core's when it allocated the block (cffi's one-off
            # module objects are not); any other error when the core is on its
            # stack, or allocated the block or the uninitialised value involved.
            if kind.startswith("Leak_"):
                ours = any(_core_code(f) for s in stacks for f in s)
            else:
                ours = any(_in_module(f) for s in stacks for f in s)
            if not ours:
                self.others[f"{kind} in {_component(stacks[0] if stacks else [])}"] += n
                continue
            what = err.findtext("what") or err.findtext("xwhat/text") or ""
            lines = [f"{kind} (x{n}): {what}"]
            auxes = [a.text or "" for a in err.findall("auxwhat")]
            for i, s in enumerate(stacks):
                lines.append(
                    "  " + ("at:" if i == 0 else (auxes[i - 1] if i - 1 < len(auxes) else ""))
                )
                lines += [f"    {_where(f)}" for f in s[:16]]
            self.ours.append("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=3000, help="events per round (3,000)")
    p.add_argument("--rounds", type=int, default=2, help="fresh distributors, one after another")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workload", action="store_true", help="run the workload only, here")
    p.add_argument("--backend", default="native", help="with --workload: the backend to drive")
    p.add_argument("--keep", help="keep the build and memcheck's logs in this directory")
    p.add_argument("--valgrind", default="valgrind")
    p.add_argument(
        "--no-track-origins",
        dest="track_origins",
        action="store_false",
        help="faster, but an uninitialised value read in CPython no longer names its origin",
    )
    args = p.parse_args(argv)

    if args.workload:
        workload(args.events, args.rounds, args.seed, args.backend)
        return 0

    valgrind = shutil.which(args.valgrind)
    if valgrind is None:
        print(f"{args.valgrind} not found (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="acdcore-memcheck."))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = build(work / "build", sys.executable)
        xml_file, log_file = work / "memcheck.xml", work / "memcheck.log"
        cmd = [
            valgrind,
            "--tool=memcheck",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--num-callers=40",
            "--error-limit=no",  # CPython's own reports must not use up the first 1,000
            f"--track-origins={'yes' if args.track_origins else 'no'}",
            "--xml=yes",
            f"--xml-file={xml_file}",
            f"--log-file={log_file}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--workload",
            f"--events={args.events}",
            f"--rounds={args.rounds}",
            f"--seed={args.seed}",
        ]
        env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONPATH=str(src))
        env.pop("LD_PRELOAD", None)
        print(f"$ PYTHONMALLOC=malloc PYTHONPATH={src} {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        # Captured: memcheck exits 99 whenever it reported anything (CPython
        # always gives it something), which would hide a failed workload.
        run = subprocess.run(
            cmd, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        took = time.perf_counter() - start
        print(run.stdout, end="")
        print(f"valgrind exit status {run.returncode} after {took:.0f} s")
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        if log.strip():  # in XML mode only valgrind's own trouble lands here
            print(log)
        if not xml_file.exists() or "</valgrindoutput>" not in xml_file.read_text(errors="replace"):
            print("memcheck's XML report is missing or cut short: the run failed", file=sys.stderr)
            return 2
        rep = Report(xml_file)
        print(f"ERROR SUMMARY: {rep.errors} errors from {rep.contexts} contexts (from the XML)")
        print(f"definitely lost: {rep.lost[0]:,} bytes in {rep.lost[1]} blocks")
        print(f"outside the native core (CPython, cffi): {sum(rep.others.values())} errors")
        for where, n in rep.others.most_common():
            print(f"  {n:6}  {where}")
        print(f"in the native core (_acdnative*.so, acd_native.c, acd_*): {len(rep.ours)} contexts")
        for block in rep.ours:
            print(block)
        if run.returncode not in (0, 99) or DONE not in run.stdout:
            print("the workload failed under valgrind", file=sys.stderr)
            return 2
        return 1 if rep.ours else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
