"""Run the ARI adapter against a real Asterisk, case by case, and record it.

Each case starts a Runtime, a Distributor (:func:`make_distributor`) and an
:class:`~acdcore.adapters.ari.AriAdapter` whose ARI traffic is recorded (the
``tap``): every REST request with its response and every event, in order,
with timestamps, into ``tests/data/ari/<case>.jsonl``. A separate "driver"
ARI client (application ``acd-driver``) plays the callers and the agents'
phones by originating Local channels. ``tests/test_ari.py`` replays the
recordings against ``tests/ari_fake.py``.

Usage (an Asterisk 22 build as in docs/asterisk.md, its home in
``ACD_ASTERISK_HOME``)::

    .venv/bin/python tests/ari_live.py                 # start Asterisk, all cases, record, stop
    .venv/bin/python tests/ari_live.py --cases answered,ring-all --no-record
    .venv/bin/python tests/ari_live.py --latency 50    # p50/p99 StasisStart -> originate
    .venv/bin/python tests/ari_live.py --no-start --url http://127.0.0.1:8088

The Asterisk config is the build's template (``--template``) with
``tests/data/ari/extensions.conf`` as its dialplan.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentProfile,
    Announcements,
    CallState,
    Distributor,
    Event,
    Exit,
    QueueConfig,
    QueueRules,
    RoutingPlan,
    Rule,
    Strategy,
    UnknownCall,
)
from acdcore.adapters.ari import AriAdapter
from acdcore.runtime import Runtime

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "ari"
ASTERISK_HOME = Path(os.environ.get("ACD_ASTERISK_HOME", "/work/asterisk"))
USER, PASSWORD, APP = "acd", "acdsecret", "acd"

ENDPOINTS = {
    "a1": "Local/answer@acd-agents",
    "a2": "Local/answer@acd-agents",
    "b1": "Local/busy@acd-agents",
    "n1": "Local/noanswer@acd-agents",
    "r1": "Local/slow@acd-agents",
    "r2": "Local/noanswer@acd-agents",
}
"""The agents of the cases and their phones (extensions of ``acd-agents``)."""


def make_distributor(case: str) -> Distributor:
    """The queues ``case`` runs with (the replay test builds the same). The
    overflow case's plan sends every call to ``spill``, where the maximum
    wait is 2 s and the exit the ``overflow`` destination."""
    queues = [
        QueueConfig("support", ring_timeout=2.0),
        QueueConfig("ringall", strategy=Strategy.RING_ALL, ring_timeout=5.0),
        QueueConfig("hold", announce=Announcements(first=0, every=60, min_change=0)),
        QueueConfig("spill"),
        QueueConfig("tiny", max_length=0),
        QueueConfig("late", ring_timeout=5.0),
        QueueConfig("fast", ring_timeout=5.0),
    ]
    if case != "overflow":
        return Distributor(queues)
    plan = RoutingPlan(
        rules=(),
        default=Rule("default", queue="spill"),
        queues={"spill": QueueRules(max_wait=2.0, on_max_wait=Exit("destination", "overflow"))},
    )
    return Distributor(queues, plan=plan)


def describe(item: Event | Action) -> str:
    """An acdcore event or action as a line for comparing runs (no times)."""
    parts = [type(item).__name__]
    if isinstance(item, AgentLoggedIn):
        parts.append(item.profile.agent_id)
    for name in ("call_id", "agent_id", "queue", "position", "reason", "destination"):
        value = getattr(item, name, None)
        if value is not None:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def make_adapter(
    url: str,
    tap: Any = None,
    reconnect_min: float = 0.05,
    cls: type[AriAdapter] = AriAdapter,
    instance: str | None = None,
) -> AriAdapter:
    """The adapter as every case (and its replay, with the recorded
    ``instance``) builds it."""
    return cls(
        url,
        USER,
        PASSWORD,
        app=APP,
        endpoints=ENDPOINTS,
        ring_grace=2.0,
        reconnect_min=reconnect_min,
        tap=tap,
        instance=instance,
    )


class Recorder:
    """The adapter's tap: keeps each record with ``t`` relative to the start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.entries: list[dict[str, Any]] = []
        self.active = True

    def __call__(self, entry: dict[str, Any]) -> None:
        if self.active:
            entry = dict(entry)
            entry["t"] = round(entry.get("t", time.monotonic()) - self.t0, 4)
            self.entries.append(entry)

    def note(self, **entry: Any) -> None:
        self({**entry, "t": time.monotonic()})


async def until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``cond()`` holds; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Driver:
    """Plays the callers and the agents' phones through its own ARI application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url + "/ari", auth=(USER, PASSWORD), timeout=10)
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        host = self.url.split("://", 1)[1]
        url = f"ws://{host}/ari/events?app=acd-driver&api_key={USER}:{PASSWORD}&subscribeAll=true"
        deadline = time.monotonic() + 20
        while True:  # right after start-up, ARI may answer 503 for a moment
            try:
                ws = await websockets.connect(url)
                break
            except (OSError, websockets.InvalidStatus):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

        async def read() -> None:
            async for raw in ws:
                self.events.append(json.loads(raw))

        self._task = asyncio.create_task(read())
        self._ws = ws

    async def stop(self) -> None:
        await self._ws.close()
        if self._task is not None:
            self._task.cancel()
        await self.http.aclose()

    async def info(self) -> dict[str, Any]:
        r = await self.http.get("/asterisk/info")
        r.raise_for_status()
        return dict(r.json())

    async def caller(self, name: str, queue: str, number: str = "5551000") -> str:
        """A caller dials ``queue``; returns the id of the channel acdcore sees."""
        r = await self.http.post(
            "/channels",
            params={
                "endpoint": f"Local/{queue}@acd-in",
                "context": "caller-phone",
                "extension": "talk",
                "priority": "1",
                "callerId": f'"{name}" <{number}>',
                "channelId": name,
                "otherChannelId": f"{name}-in",
            },
        )
        r.raise_for_status()
        return f"{name}-in"

    async def hangup(self, channel_id: str) -> None:
        r = await self.http.delete(f"/channels/{channel_id}")
        if r.status_code not in (204, 404):
            r.raise_for_status()

    async def channels(self) -> list[str]:
        r = await self.http.get("/channels")
        r.raise_for_status()
        return [str(c["id"]) for c in r.json()]

    def saw(self, pred: Callable[[dict[str, Any]], bool]) -> bool:
        return any(pred(e) for e in self.events)

    async def no_channels(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while await self.channels():
            if time.monotonic() > deadline:
                raise TimeoutError(f"channels left: {await self.channels()}")
            await asyncio.sleep(0.05)


class Case:
    """One case's runtime, adapter and recording."""

    def __init__(self, name: str, url: str, driver: Driver, reconnect_min: float = 0.05) -> None:
        self.name, self.url, self.driver = name, url, driver
        self.rec = Recorder()
        self.trace: list[str] = []
        self.acd = make_distributor(name)
        self.adapter = make_adapter(url, self.rec, reconnect_min)
        self.runtime = Runtime(self.acd, self.adapter, observe=self._observe)
        self.reconnect_min = reconnect_min
        self._serve: asyncio.Task[None] | None = None

    def _observe(self, event: Event | None, actions: list[Action]) -> None:
        if event is not None:
            self.trace.append(describe(event))
        self.trace.extend(describe(a) for a in actions)

    async def login(self, agent: str, queues: list[str]) -> None:
        self.rec.note(kind="acd", op="login", agent=agent, queues=queues)
        result = await self.runtime.submit(
            AgentLoggedIn(now=0, profile=AgentProfile(agent, queues=queues))
        )
        assert result.accepted, result.error

    async def connect(self) -> None:
        self._serve = asyncio.create_task(self.adapter.serve(self.runtime))
        await asyncio.wait_for(self.adapter.connected.wait(), 10)

    def state(self, call_id: str) -> CallState | None:
        try:
            return self.acd.call(call_id).state
        except UnknownCall:
            return None

    def count(self, outcome: str) -> int:
        return self.acd.counts()[outcome]

    def leg(self, call_id: str, agent: str, n: int = 1) -> str:
        """The id of the ``n``-th leg the adapter originated for ``agent``."""
        return f"{call_id}-{agent}-{self.adapter.instance}-{n}"

    async def finish(self) -> None:
        self.rec.active = False
        await self.adapter.close()
        if self._serve is not None:
            await asyncio.wait_for(self._serve, 10)

    def recording(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        header = {
            "kind": "header",
            "case": self.name,
            "asterisk": info["system"]["version"],
            "build": info.get("build", {}),
            "recorded": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "app": APP,
            "reconnect_min": self.reconnect_min,
            "instance": self.adapter.instance,
        }
        outcome = {
            "kind": "outcome",
            "counts": self.acd.counts(),
            "trace": self.trace,
            "unrecovered": list(self.adapter.unrecovered),
            "announcements": len(self.adapter.announcements),
        }
        return [header, *self.rec.entries, outcome]


# ---------------------------------------------------------------- the cases


async def case_answered(c: Case) -> None:
    """a1 answers; they talk; the caller hangs up."""
    await c.login("a1", ["support"])
    await c.connect()
    cid = await c.driver.caller("ans1", "support")
    await until(lambda: c.state(cid) is CallState.CONNECTED, 10, "connected")
    await until(
        lambda: c.driver.saw(
            lambda e: e["type"] == "ChannelEnteredBridge" and e["channel"]["id"] == c.leg(cid, "a1")
        ),
        10,
        "bridged",
    )
    await asyncio.sleep(0.5)  # talk
    await c.driver.hangup("ans1")
    await until(lambda: c.count("completed") == 1, 10, "completed")
    await c.driver.no_channels()


async def case_abandoned(c: Case) -> None:
    """Nobody to answer: music on hold, an announcement; the caller hangs up."""
    await c.connect()
    cid = await c.driver.caller("abd1", "hold")
    await until(
        lambda: c.driver.saw(
            lambda e: (
                e["type"] == "PlaybackFinished" and e["playback"]["target_uri"] == f"channel:{cid}"
            )
        ),
        20,
        "the announcement played",
    )
    await until(lambda: cid in c.adapter.calls and c.adapter.calls[cid].moh, 5, "MOH again")
    await asyncio.sleep(0.5)
    await c.driver.hangup("abd1")
    await until(lambda: c.count("abandoned") == 1, 10, "abandoned")
    await c.driver.no_channels()


async def case_declined(c: Case) -> None:
    """b1 is busy (declined), the call goes to a1 who answers and hangs up."""
    await c.login("b1", ["support"])
    await c.login("a1", ["support"])
    await c.connect()
    cid = await c.driver.caller("dec1", "support")
    await until(lambda: c.state(cid) is CallState.CONNECTED, 10, "connected")
    leg = c.acd.call(cid).agent
    assert leg == "a1", leg
    await until(lambda: any(g.state == "answered" for g in c.adapter.legs.values()), 5, "leg")
    await asyncio.sleep(0.5)
    await c.driver.hangup(c.leg(cid, "a1") + "-2")  # the agent's phone hangs up
    await until(lambda: c.count("completed") == 1, 10, "completed")
    await c.driver.no_channels()


async def case_ring_timeout(c: Case) -> None:
    """n1 never answers: acdcore's ring timer cancels it; a1 answers."""
    await c.login("n1", ["support"])
    await c.login("a1", ["support"])
    await c.connect()
    cid = await c.driver.caller("rto1", "support")
    await until(lambda: c.state(cid) is CallState.CONNECTED, 15, "connected")
    assert c.acd.call(cid).agent == "a1"
    await asyncio.sleep(0.5)
    await c.driver.hangup("rto1")
    await until(lambda: c.count("completed") == 1, 10, "completed")
    await c.driver.no_channels()


async def case_overflow(c: Case) -> None:
    """Nobody answers within max-wait: Overflow continues the caller to acd-exit,overflow."""
    await c.connect()
    cid = await c.driver.caller("ovf1", "spill")
    await until(lambda: c.count("overflowed") == 1, 10, "overflowed")
    await until(
        lambda: c.driver.saw(
            lambda e: (
                e["type"] == "ChannelDialplan"
                and e["channel"]["id"] == cid
                and e["channel"]["dialplan"]["context"] == "acd-exit"
                and e["channel"]["dialplan"]["exten"] == "overflow"
            )
        ),
        10,
        "the caller in acd-exit,overflow",
    )
    await c.driver.no_channels()


async def case_rejected(c: Case) -> None:
    """A full queue: Reject continues the caller to acd-exit,reject."""
    await c.connect()
    cid = await c.driver.caller("rej1", "tiny")
    await until(lambda: c.count("rejected") == 1, 10, "rejected")
    await until(
        lambda: c.driver.saw(
            lambda e: (
                e["type"] == "ChannelDialplan"
                and e["channel"]["id"] == cid
                and e["channel"]["dialplan"]["exten"] == "reject"
            )
        ),
        10,
        "the caller in acd-exit,reject",
    )
    await c.driver.no_channels()


async def case_ring_all(c: Case) -> None:
    """r1 and r2 ring together; r1 answers, r2's leg is hung up; r1 hangs up later."""
    await c.login("r1", ["ringall"])
    await c.login("r2", ["ringall"])
    await c.connect()
    cid = await c.driver.caller("ral1", "ringall")
    await until(lambda: c.state(cid) is CallState.CONNECTED, 10, "connected")
    assert c.acd.call(cid).agent == "r1"
    await until(
        lambda: c.driver.saw(
            lambda e: e["type"] == "ChannelDestroyed" and e["channel"]["id"] == c.leg(cid, "r2")
        ),
        5,
        "r2's leg hung up",
    )
    await asyncio.sleep(0.5)
    await c.driver.hangup(c.leg(cid, "r1") + "-2")
    await until(lambda: c.count("completed") == 1, 10, "completed")
    await c.driver.no_channels()


async def case_reconnect(c: Case) -> None:
    """The socket drops with two callers waiting; one hangs up and a third
    calls while it is down; on reconnect the resync abandons the first, keeps
    the second (answered later by a1); the third went to acd-exit,unavailable."""
    await c.connect()
    gone = await c.driver.caller("rcn1", "late")
    kept = await c.driver.caller("rcn2", "late")
    await until(
        lambda: c.state(gone) is CallState.WAITING and c.state(kept) is CallState.WAITING,
        5,
        "queued",
    )
    await until(
        lambda: all(x in c.adapter.calls and c.adapter.calls[x].moh for x in (gone, kept)), 5, "moh"
    )
    c.adapter.drop_connection()
    await until(lambda: not c.adapter.connected.is_set(), 5, "disconnected")
    await c.driver.hangup("rcn1")
    third = await c.driver.caller("rcn3", "late")
    await until(
        lambda: c.driver.saw(
            lambda e: (
                e["type"] == "ChannelDialplan"
                and e["channel"]["id"] == third
                and e["channel"]["dialplan"]["exten"] == "unavailable"
            )
        ),
        5,
        "the third caller sent to acd-exit,unavailable",
    )
    await until(c.adapter.connected.is_set, 10, "reconnected")
    await until(lambda: c.count("abandoned") == 1, 5, "the first abandoned by the resync")
    await c.login("a1", ["late"])
    await until(lambda: c.state(kept) is CallState.CONNECTED, 10, "the second connected")
    await asyncio.sleep(0.5)
    await c.driver.hangup("rcn2")
    await until(lambda: c.count("completed") == 1, 10, "completed")
    await c.driver.no_channels()


CASES: dict[str, tuple[Callable[[Case], Awaitable[None]], float]] = {
    "answered": (case_answered, 0.05),
    "abandoned": (case_abandoned, 0.05),
    "declined": (case_declined, 0.05),
    "ring-timeout": (case_ring_timeout, 0.05),
    "overflow": (case_overflow, 0.05),
    "rejected": (case_rejected, 0.05),
    "ring-all": (case_ring_all, 0.05),
    "reconnect": (case_reconnect, 1.0),
}
"""Each case and the adapter's first reconnect pause in it."""


async def run_case(name: str, url: str, driver: Driver, record: Path | None) -> dict[str, Any]:
    script, reconnect_min = CASES[name]
    c = Case(name, url, driver, reconnect_min)
    ok, error = True, ""
    started = time.monotonic()
    async with c.runtime:
        try:
            await script(c)
        except Exception as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        finally:
            await c.finish()
    info = await driver.info()
    if record is not None and ok:
        record.mkdir(parents=True, exist_ok=True)
        with open(record / f"{name}.jsonl", "w") as f:
            for entry in c.recording(info):
                f.write(json.dumps(entry, sort_keys=True) + "\n")
    if ok:
        left = await driver.channels()
        ok, error = (not left), (f"channels left: {left}" if left else "")
    return {
        "case": name,
        "ok": ok,
        "error": error,
        "seconds": round(time.monotonic() - started, 1),
        "counts": {k: v for k, v in c.acd.counts().items() if v},
        "unrecovered": list(c.adapter.unrecovered),
        "requests": sum(1 for e in c.rec.entries if e["kind"] == "req"),
        "events": sum(1 for e in c.rec.entries if e["kind"] == "event"),
    }


async def latency(url: str, driver: Driver, calls: int) -> dict[str, float]:
    """``calls`` answered calls one after the other; the time from the
    adapter receiving StasisStart to it sending the agent's originate."""
    c = Case("latency", url, driver)
    samples: list[float] = []
    async with c.runtime:
        await c.login("a1", ["fast"])
        await c.login("a2", ["fast"])
        await c.connect()
        for i in range(calls):
            cid = await driver.caller(f"lat{i}", "fast")
            await until(lambda cid=cid: c.state(cid) is CallState.CONNECTED, 10, "connected")
            await until(
                lambda cid=cid: (
                    c.adapter.calls.get(cid) is not None and c.adapter.calls[cid].bridge is not None
                ),
                5,
                "bridged",
            )
            await driver.hangup(f"lat{i}")
            await until(lambda i=i: c.count("completed") == i + 1, 10, "completed")
        await driver.no_channels()
        await c.finish()
    start: dict[str, float] = {}
    for e in c.rec.entries:
        if e["kind"] == "event" and e["event"]["type"] == "StasisStart":
            args = e["event"].get("args") or []
            if args and args[0] != "agent":
                start[e["event"]["channel"]["id"]] = e["t"]
        elif e["kind"] == "req" and e["method"] == "POST" and e["path"] == "/channels":
            cid = e["params"]["appArgs"].split(",")[1]
            if cid in start:
                samples.append((e["t"] - start.pop(cid)) * 1000)
    samples.sort()
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "calls": len(samples),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(samples[-1], 2),
    }


def start_asterisk(template: Path, workdir: Path) -> tuple[Path, Path]:
    conf, state = workdir / "etc", workdir / "state"
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(template, conf)
    shutil.copy(DATA / "extensions.conf", conf / "extensions.conf")
    subprocess.run([str(ASTERISK_HOME / "start.sh"), str(conf), str(state)], check=True)
    return conf, state


def stop_asterisk(conf: Path, state: Path) -> None:
    subprocess.run([str(ASTERISK_HOME / "stop.sh"), str(conf), str(state)], check=False)


async def main_async(args: argparse.Namespace) -> int:
    driver = Driver(args.url)
    await driver.start()
    info = await driver.info()
    print(f"Asterisk {info['system']['version']} at {args.url}")
    results = []
    try:
        for name in args.cases.split(",") if args.cases else list(CASES):
            if not name:
                continue
            result = await run_case(name, args.url, driver, None if args.no_record else args.record)
            results.append(result)
            print(json.dumps(result))
        if args.latency:
            lat = await latency(args.url, driver, args.latency)
            print("latency StasisStart -> originate:", json.dumps(lat))
    finally:
        await driver.stop()
    failed = [r["case"] for r in results if not r["ok"]]
    print("RESULT:", "OK" if not failed else f"FAILED {failed}")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", default="http://127.0.0.1:8088")
    ap.add_argument(
        "--cases", default="", help="comma-separated (default: all): " + ",".join(CASES)
    )
    ap.add_argument("--record", type=Path, default=DATA, help="where the recordings go")
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--latency", type=int, default=0, metavar="CALLS")
    ap.add_argument("--no-start", action="store_true", help="use an Asterisk already running")
    ap.add_argument("--template", type=Path, default=ASTERISK_HOME / "etc-template")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/acdcore-ari-live"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    started = None
    if not args.no_start:
        started = start_asterisk(args.template, args.workdir)
    try:
        return asyncio.run(main_async(args))
    finally:
        if started is not None:
            stop_asterisk(*started)


if __name__ == "__main__":
    sys.exit(main())
