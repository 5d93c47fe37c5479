"""Load clients for ``acdcore serve`` in a subprocess (the load benchmark and the kill test).

- :class:`Server`: ``python -m acdcore serve`` on a free loopback port over a
  data directory; :meth:`Server.wait_ready` polls ``GET /health``;
  :meth:`Server.kill` sends SIGKILL, :meth:`Server.stop` SIGTERM (both wait
  with a timeout).
- :func:`submitter`: one client submitting a scripted stream of always-valid
  events over its own call ids (``CallArrived`` in a queue, then
  ``CallAbandoned`` of one of its waiting calls), recording each event's
  outcome: ``accepted`` (with the journal ``seq`` of the reply), ``refused``,
  or ``unknown`` (no reply: the connection broke, e.g. at a kill).
- :class:`Subscriber`: one ``/stream`` WebSocket client (all, or one queue)
  recording every entry's ``seq`` and event; it resumes with
  ``since = last seq + 1`` when the server says it fell behind.
- :func:`journal_entries` reads every entry of a data directory's journal
  segments (with :func:`acdcore.journal.read_journal`), and
  :func:`check_journal` / :func:`expected_seqs` compare it with what the
  clients were told and what the subscribers saw.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from acdcore.codec import to_json
from acdcore.journal import read_journal

SUP = "load-supervisor-token-0123456789"
MON = "load-monitor-token-0123456789ab"
QUEUES = ("support", "sales")
SRC = Path(__file__).resolve().parent.parent / "src"
_SEGMENT = re.compile(r"^journal-(\d{20})\.jsonl$")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, *, stream_queue: int = 100_000) -> Path:
    """A service configuration over ``directory / "data"``: two queues, no
    rate limit to speak of, no snapshot (the whole journal is kept, so that
    it can be compared with what the clients sent)."""
    directory.mkdir(parents=True, exist_ok=True)
    queues = "\n".join(
        f'[[queues]]\nname = "{q}"\nring_timeout = 15\nwrap_up = 0\n' for q in QUEUES
    )
    text = f"""[service]
data_dir = "data"
flush = "flush"
snapshot_every = 100000000
snapshot_seconds = false

[service.limits]
rate = 1000000000.0
burst = 1000000000
stream_buffer = 200000
stream_queue = {stream_queue}

[service.tokens]
"{SUP}" = {{ role = "supervisor" }}
"{MON}" = {{ role = "monitor" }}

{queues}"""
    path = directory / "acd.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Server:
    """``acdcore serve`` in a subprocess (see the module docstring)."""

    def __init__(self, config: Path, port: int | None = None, log: Path | None = None) -> None:
        self.config = config
        self.port = port or free_port()
        self.log = log or config.with_name(f"serve-{self.port}.log")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SRC), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "acdcore", "serve", "--config", str(config),
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )  # fmt: skip

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 20.0) -> dict[str, Any]:
        """Poll ``GET /health`` until it answers 200; its body. Raises
        ``RuntimeError`` (with the server's output) if the process exits or
        the time runs out."""
        import httpx2

        deadline = time.monotonic() + timeout
        with httpx2.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the server exited {self.proc.returncode}:\n{self.output()}"
                    )
                try:
                    r = client.get(f"{self.base}/health")
                    if r.status_code == 200:
                        body: dict[str, Any] = r.json()
                        return body
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)  # a poll interval, not a guess at readiness
        raise RuntimeError(f"the server was not ready within {timeout} s:\n{self.output()}")

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (a clean shutdown), then SIGKILL after ``timeout``; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.proc.returncode)


# ---------------------------------------------------------------- submitters


@attrs.define
class Sent:
    """One event a client sent and what it was told."""

    event: dict[str, Any]
    outcome: str = "unknown"  # accepted | refused | unknown
    seq: int | None = None
    status: int | None = None
    latency: float | None = None


def key_of(event: dict[str, Any]) -> tuple[str, str]:
    """What identifies an event of the load (each client's call ids are its own)."""
    return (str(event["type"]), str(event["call_id"]))


def queue_of(call_id: str) -> str:
    """The queue a load call arrives in (it is the call id's prefix)."""
    return call_id.split("-", 1)[0]


@attrs.define
class ClientLog:
    """What one submitter sent, in order."""

    client: int
    sent: list[Sent] = attrs.field(factory=list)

    def accepted(self) -> list[Sent]:
        return [s for s in self.sent if s.outcome == "accepted"]


async def submitter(
    http: Any,
    number: int,
    log: ClientLog,
    *,
    events: int,
    deadline: float,
    stop: asyncio.Event | None = None,
    seed: int = 0,
    on_accepted: Callable[[], None] | None = None,
) -> None:
    """Submit up to ``events`` events (until ``deadline`` on the monotonic
    clock or ``stop``): arrivals of the client's own calls, and abandons of
    its calls still waiting (about one in three events). No agent is logged
    in, so every call waits, and every event is valid. A request with no
    reply (the server is gone) ends the client with that event ``unknown``."""
    rng = random.Random(seed * 7919 + number)
    waiting: list[str] = []
    made = 0
    headers = {"Authorization": f"Bearer {SUP}"}
    for _ in range(events):
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return
        if waiting and rng.random() < 0.35:
            call = waiting.pop(rng.randrange(len(waiting)))
            event: dict[str, Any] = {"type": "CallAbandoned", "call_id": call}
        else:
            queue = QUEUES[rng.randrange(len(QUEUES))]
            call = f"{queue}-c{number}-{made}"
            made += 1
            event = {"type": "CallArrived", "call_id": call, "queue": queue}
        sent = Sent(event)
        log.sent.append(sent)
        begun = time.perf_counter()
        try:
            r = await http.post("/events", json=event, headers=headers)
        except Exception:  # no reply: applied or not, we cannot tell
            return
        sent.latency = time.perf_counter() - begun
        sent.status = r.status_code
        if r.status_code == 200:
            body = r.json()
            sent.outcome = "accepted" if body.get("accepted") else "refused"
            sent.seq = body.get("seq")
            if event["type"] == "CallArrived" and sent.outcome == "accepted":
                waiting.append(call)
            if on_accepted is not None:
                on_accepted()
        elif r.status_code >= 500:  # the service is going away: outcome not known
            sent.outcome = "unknown"
            return
        else:
            sent.outcome = "refused"


# ---------------------------------------------------------------- subscribers


@attrs.define
class Subscriber:
    """One ``/stream`` client (``queue`` or everything) and what it saw."""

    ws_base: str
    queue: str | None = None
    start: int | None = None  # the hello's next_seq of the first connection
    seqs: list[int] = attrs.field(factory=list)
    events: dict[int, tuple[str, str] | None] = attrs.field(factory=dict)
    connections: int = 0
    resumed: int = 0
    closed: str | None = None  # why the last connection ended
    hello: asyncio.Event = attrs.field(factory=asyncio.Event)

    @property
    def last(self) -> int | None:
        return self.seqs[-1] if self.seqs else None

    def url(self, since: int | None) -> str:
        params = []
        if self.queue is not None:
            params.append(f"queue={self.queue}")
        if since is not None:
            params.append(f"since={since}")
        return f"{self.ws_base}/stream" + ("?" + "&".join(params) if params else "")

    async def run(
        self, stop: asyncio.Event, since: int | None = None, until: int | None = None
    ) -> None:
        """Stream until ``stop`` is set, an entry numbered ``until`` or more
        is seen, or the server goes away; resume after ``TooSlow``."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        while not stop.is_set():
            self.connections += 1
            try:
                async with connect(
                    self.url(since),
                    additional_headers={"Authorization": f"Bearer {MON}"},
                    max_size=None,
                    open_timeout=5,
                    close_timeout=2,
                ) as ws:
                    again = await self._read(ws, stop, until)
            except (ConnectionClosed, OSError) as exc:
                self.closed = repr(exc)
                return
            if not again:
                return
            self.resumed += 1
            since = (self.last + 1) if self.last is not None else self.start

    async def _read(self, ws: Any, stop: asyncio.Event, until: int | None) -> bool:
        """Read one connection; True to resume (the server said TooSlow)."""
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while True:
                receive = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait(
                    {receive, stopped}, return_when=asyncio.FIRST_COMPLETED
                )
                if receive not in done:
                    receive.cancel()
                    self.closed = "stopped"
                    return False
                data = json.loads(receive.result())
                if "hello" in data:
                    if self.start is None:
                        self.start = data["hello"]["next_seq"]
                    self.hello.set()
                    continue
                if "error" in data:
                    self.closed = data["error"]
                    return data["error"] == "TooSlow"
                seq = data["seq"]
                self.seqs.append(seq)
                ev = data.get("event")
                self.events[seq] = key_of(ev) if ev is not None else None
                if until is not None and seq >= until:
                    self.closed = "until"
                    return False
        finally:
            stopped.cancel()


# ---------------------------------------------------------------- the journal


@attrs.frozen
class JournalEntry:
    seq: int
    event: dict[str, Any] | None
    actions: tuple[dict[str, Any], ...]


def journal_entries(data_dir: Path) -> list[JournalEntry]:
    """Every entry of the journal segments in ``data_dir``, in order, once
    each (a segment left behind mid-rotation overlaps the next: skipped)."""
    firsts = sorted(int(m.group(1)) for p in data_dir.iterdir() if (m := _SEGMENT.match(p.name)))
    out: list[JournalEntry] = []
    expected: int | None = None
    for first in firsts:
        read = read_journal(data_dir / f"journal-{first:020d}.jsonl", strict=True)
        for entry in read.entries:
            if expected is not None and entry.seq < expected:
                continue
            assert expected is None or entry.seq == expected, (
                f"a gap in the journal: {entry.seq} after {expected - 1}"
            )
            expected = entry.seq + 1
            out.append(
                JournalEntry(
                    entry.seq,
                    None if entry.event is None else to_json(entry.event),
                    tuple(to_json(a) for a in entry.actions or ()),
                )
            )
    return out


@attrs.frozen
class JournalCheck:
    accepted: int
    in_journal: int
    unknown: int
    unknown_applied: int
    refused: int


def check_journal(entries: list[JournalEntry], logs: list[ClientLog]) -> JournalCheck:
    """Every accepted event is in the journal exactly once, at the ``seq``
    its reply gave; every event in the journal was sent by a client and is
    there once; a refused event is not there; an event with no reply
    (``unknown``) is there at most once. Raises ``AssertionError``."""
    journal = Counter(key_of(e.event) for e in entries if e.event is not None)
    at = {e.seq: key_of(e.event) for e in entries if e.event is not None}
    twice = [k for k, n in journal.items() if n > 1]
    assert not twice, f"events applied twice: {twice[:10]}"
    sent: dict[tuple[str, str], Sent] = {}
    for log in logs:
        for s in log.sent:
            sent[key_of(s.event)] = s
    foreign = [k for k in journal if k not in sent]
    assert not foreign, f"events in the journal that no client sent: {foreign[:10]}"
    accepted = [s for s in sent.values() if s.outcome == "accepted"]
    lost = [key_of(s.event) for s in accepted if journal[key_of(s.event)] != 1]
    assert not lost, f"accepted events missing from the journal: {lost[:10]}"
    misplaced = [(s.seq, key_of(s.event)) for s in accepted if at.get(s.seq) != key_of(s.event)]
    assert not misplaced, f"accepted events not at the seq their reply gave: {misplaced[:10]}"
    refused = [s for s in sent.values() if s.outcome == "refused"]
    applied_refused = [key_of(s.event) for s in refused if journal[key_of(s.event)]]
    assert not applied_refused, f"refused events in the journal: {applied_refused[:10]}"
    unknown = [s for s in sent.values() if s.outcome == "unknown"]
    return JournalCheck(
        accepted=len(accepted),
        in_journal=sum(journal.values()),
        unknown=len(unknown),
        unknown_applied=sum(journal[key_of(s.event)] for s in unknown),
        refused=len(refused),
    )


def _concerns(entry: JournalEntry, queue: str | None) -> bool:
    if entry.event is None and not entry.actions:
        return False  # an advance with no action is not published
    if queue is None:
        return True
    calls = [entry.event.get("call_id")] if entry.event is not None else []
    calls += [a.get("call_id") for a in entry.actions]
    return any(isinstance(c, str) and queue_of(c) == queue for c in calls)


def expected_seqs(
    entries: list[JournalEntry], queue: str | None, since: int, until: int | None = None
) -> list[int]:
    """The ``seq`` of every entry from ``since`` (to ``until``, excluded)
    that a subscriber with filter ``queue`` must get."""
    return [
        e.seq
        for e in entries
        if e.seq >= since and (until is None or e.seq < until) and _concerns(e, queue)
    ]


def check_subscriber(
    sub: Subscriber, entries: list[JournalEntry], since: int, until: int | None = None
) -> int:
    """``sub`` saw, from ``since`` on, exactly the entries its filter lets
    through, in order, no gap, no repeat, each with the journal's event;
    how many. Raises ``AssertionError``."""
    want = expected_seqs(entries, sub.queue, since, until)
    got = [s for s in sub.seqs if s >= since and (until is None or s < until)]
    if got != want:
        missing = sorted(set(want) - set(got))[:10]
        extra = sorted(set(got) - set(want))[:10]
        raise AssertionError(
            f"subscriber {sub.queue or 'all'}: {len(got)} entries seen, {len(want)} expected; "
            f"missing {missing}, unexpected {extra}, in order: {got == sorted(got)}"
        )
    by_seq = {e.seq: e for e in entries}
    for seq in got:
        ev = by_seq[seq].event
        journal_key = key_of(ev) if ev is not None else None
        shown = sub.events[seq]
        assert shown is None or shown == journal_key, (seq, shown, journal_key)
    return len(got)


async def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]
