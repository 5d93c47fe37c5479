"""The hot standby on Redis Streams (acdcore.replication), against a real
redis-server started by the test.

Skipped where redis-server or redis-py is missing; under
ACDCORE_REQUIRE_SERVERS=1 (CI) that fails instead. ACDCORE_STANDBY_KILLS sets
how many times the takeover test kills the primary (default 8; the closing
note's run used 60).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from acdcore import (
    Action,
    AgentLoggedIn,
    AgentProfile,
    CallArrived,
    Distributor,
    OfferAnswered,
    QueueConfig,
    snapshots,
)
from acdcore.runtime import Runtime, RuntimeFailed

try:
    import redis

    from acdcore.replication import Fenced, Standby, describe
except ImportError as exc:  # pragma: no cover
    if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":
        raise ImportError(f"{exc}; ACDCORE_REQUIRE_SERVERS=1 requires redis-py") from exc
    pytest.skip(f"redis-py is not installed: {exc}", allow_module_level=True)

from .sipnet import free_port  # one helper for the test servers' ports

HERE = Path(__file__).resolve().parent


@pytest.fixture(params=["python"])
def backend(request: pytest.FixtureRequest) -> str:
    """Real servers, real processes: one backend."""
    return str(request.param)


class RedisServer:
    """A throw-away redis-server on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            reason = "redis-server is not installed (apt-get install redis-server)"
            if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":
                pytest.fail(f"ACDCORE_REQUIRE_SERVERS=1 but {reason}")
            pytest.skip(reason)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(port=self.port)
        end = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Any:
    s = RedisServer(tmp_path)
    yield s
    s.stop()


def state(acd: Distributor) -> str:
    return snapshots.dumps(snapshots.save(acd))


class Sink:
    def __init__(self) -> None:
        self.performed: list[Action] = []

    async def perform(self, action: Action) -> None:
        self.performed.append(action)


def world() -> Distributor:
    return Distributor([QueueConfig("support", ring_timeout=5, wrap_up=2)])


async def some_calls(rt: Runtime, clock: list[float], n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        clock[0] += 1
        await rt.submit(CallArrived(now=0, call_id=f"c{i}", queue="support"))
        view = rt.distributor.call(f"c{i}")
        if view.offered_to:
            clock[0] += 1
            await rt.submit(OfferAnswered(now=0, call_id=f"c{i}", agent_id=view.offered_to[0]))


def test_a_standby_follows_the_primary_entry_by_entry(server: RedisServer) -> None:
    async def main() -> None:
        first = Standby(server.client, world(), node="a")
        primary = first.promote(ttl=5)
        assert primary is not None and primary.epoch == 1
        clock = [100.0]
        follower = Standby(server.client, world(), node="b")
        async with Runtime(first.distributor, Sink(), clock=lambda: clock[0], store=primary) as rt:
            for agent in ("x", "y"):
                await rt.submit(
                    AgentLoggedIn(now=0, profile=AgentProfile(agent, queues=["support"]))
                )
            for batch in range(3):
                await some_calls(rt, clock, 5, first=batch * 5)
                follower.poll()
                assert state(follower.distributor) == state(first.distributor)
                assert follower.next_seq == primary.next_seq
        assert follower.promote(ttl=5) is None  # a takes part still: the lease is a's
        assert describe(server.client)["leader"] == "1:a"

    asyncio.run(main())


def test_a_new_standby_starts_from_the_snapshot_and_the_stream_after_it(
    server: RedisServer,
) -> None:
    async def main() -> None:
        first = Standby(server.client, world(), node="a")
        primary = first.promote(ttl=5, snapshot_every=10)
        assert primary is not None
        clock = [100.0]
        async with Runtime(first.distributor, Sink(), clock=lambda: clock[0], store=primary) as rt:
            await rt.submit(AgentLoggedIn(now=0, profile=AgentProfile("x", queues=["support"])))
            await some_calls(rt, clock, 30)
        late = Standby(server.client, world(), node="b")
        loaded = late.load()
        assert loaded is not None and loaded > 0
        late.poll()
        assert state(late.distributor) == state(first.distributor)
        # The stream keeps only what the last two snapshots need.
        assert server.client.xlen("acdcore:journal") < primary.next_seq

    asyncio.run(main())


def test_a_deposed_primary_cannot_append_or_act(server: RedisServer) -> None:
    """Fencing in Redis: once another node holds the lease, the old
    primary's append is refused in the same atomic step that would record
    it, so its runtime stops before performing the entry's actions."""

    async def main() -> None:
        old = Standby(server.client, world(), node="old")
        primary = old.promote(ttl=0.3)
        assert primary is not None
        server.client.delete("acdcore:leader")  # the lease expired (as if paused)
        new = Standby(server.client, world(), node="new")
        taken = new.promote(ttl=5)
        assert taken is not None and taken.epoch == 2
        primary._valid_until = time.monotonic() + 60  # even with a clock that says "valid"
        sink = Sink()
        clock = [100.0]
        async with Runtime(old.distributor, sink, clock=lambda: clock[0], store=primary) as rt:
            with pytest.raises(RuntimeFailed) as failed:
                await rt.submit(AgentLoggedIn(now=0, profile=AgentProfile("x", queues=["support"])))
            assert isinstance(failed.value.__cause__, Fenced)
        assert sink.performed == []
        assert server.client.xlen("acdcore:journal") == 0
        assert not primary.renew()

    asyncio.run(main())


def test_a_standby_that_takes_over_first_reads_the_whole_stream(server: RedisServer) -> None:
    """A node promoted before it polled (its lease taken the moment the old
    one expired) must still start from every entry the old primary wrote."""

    async def main() -> None:
        old = Standby(server.client, world(), node="old")
        primary = old.promote(ttl=5)
        assert primary is not None
        clock = [100.0]
        async with Runtime(old.distributor, Sink(), clock=lambda: clock[0], store=primary) as rt:
            await rt.submit(AgentLoggedIn(now=0, profile=AgentProfile("x", queues=["support"])))
            await some_calls(rt, clock, 12)
        server.client.delete("acdcore:leader")  # the old primary died; its lease ran out
        new = Standby(server.client, world(), node="new")
        taken = new.promote(ttl=5)
        assert taken is not None and taken.next_seq == primary.next_seq
        assert state(new.distributor) == state(old.distributor)

    asyncio.run(main())


def test_an_append_retried_after_a_lost_answer_is_not_written_twice(
    server: RedisServer,
) -> None:
    """A client that retries an append whose answer was lost (the script ran)
    finds it done; an entry out of order is refused, not appended."""
    node = Standby(server.client, world(), node="a")
    primary = node.promote(ttl=5)
    assert primary is not None
    keys = ["acdcore:leader", "acdcore:journal", "acdcore:next"]
    first = primary._append(keys=keys, args=[primary.token, 0, "{}"])
    assert primary._append(keys=keys, args=[primary.token, 0, "{}"]) == b"DUP"
    assert first != b"DUP" and server.client.xlen("acdcore:journal") == 1
    with pytest.raises(redis.exceptions.ResponseError, match="SEQ"):
        primary._append(keys=keys, args=[primary.token, 5, "{}"])
    assert server.client.xlen("acdcore:journal") == 1


def test_a_failed_primary_gives_its_lease_up(server: RedisServer) -> None:
    """A primary whose runtime stopped (a disk that fails, a bug) must not
    keep renewing a lease it cannot use: keep() gives it up, and a standby
    takes over at once rather than never."""

    async def main() -> None:
        node = Standby(server.client, world(), node="a")
        primary = node.promote(ttl=0.4)
        assert primary is not None
        working = [True]
        keeper = asyncio.get_running_loop().create_task(primary.keep(alive=lambda: working[0]))
        await asyncio.sleep(0.5)  # renewed past one lease
        assert describe(server.client)["leader"] == "1:a" and primary.valid()
        working[0] = False  # the runtime stopped
        await asyncio.wait_for(keeper, 2)
        assert describe(server.client)["leader"] is None and not primary.valid()
        assert Standby(server.client, world(), node="b").promote(ttl=5) is not None

    asyncio.run(main())


def test_a_primary_whose_lease_lapsed_stops_by_itself(server: RedisServer) -> None:
    """Without renewals (a paused process, Redis out of reach) the primary
    stops before its lease can be taken over: its own clock says so."""

    async def main() -> None:
        node = Standby(server.client, world(), node="a")
        primary = node.promote(ttl=0.2)
        assert primary is not None
        time.sleep(0.2)  # no renewal for a whole lease
        async with Runtime(node.distributor, Sink(), store=primary) as rt:
            with pytest.raises(RuntimeFailed) as failed:
                await rt.submit(AgentLoggedIn(now=0, profile=AgentProfile("x", queues=["support"])))
            assert isinstance(failed.value.__cause__, Fenced)

    asyncio.run(main())


def _node(
    files: Path, port: int, seed: int, ops: int, name: str, ttl: float
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "standby_child.py"),
            str(files),
            str(port),
            str(seed),
            str(ops),
            name,
            str(ttl),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(files / f"{name}.err", "wb"),
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
    )


def _reference(files: Path, seed: int, ops: int) -> None:
    ref = subprocess.run(
        [
            sys.executable,
            str(HERE / "crash_child.py"),
            str(files / "ref"),
            str(seed),
            str(ops),
            "reference",
        ],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
        check=False,
    )
    assert ref.returncode == 0, ref.stderr.decode()


def _appended_once(files: Path) -> None:
    appended: Counter[int] = Counter()
    for log in files.glob("entries-*.log"):
        for row in log.read_text().splitlines():
            appended[int(row.split()[0])] += 1
    assert appended and max(appended.values()) == 1, "an entry was appended by two primaries"


def _wait_for(check: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_paused_primary_is_fenced_when_it_wakes(server: RedisServer, tmp_path: Path) -> None:
    """SIGSTOP the primary (a process that stalls, or loses Redis, for longer
    than its lease): the standby takes over; when the old primary wakes it
    appends nothing and performs nothing (it exits 7, deposed), and the run
    ends as the uninterrupted one did."""
    seed, ops, ttl = 12, 1500, 0.4
    files = tmp_path / "files"
    files.mkdir()
    _reference(files, seed, ops)
    old = _node(files, server.port, seed, ops, "n0", ttl)
    _wait_for(lambda: describe(server.client)["leader"] == "1:n0", 30, "n0 to lead")
    new = _node(files, server.port, seed, ops, "n1", ttl)
    _wait_for(lambda: server.client.xlen("acdcore:journal") > 100, 30, "some entries")
    old.send_signal(signal.SIGSTOP)
    stopped = server.client.xlen("acdcore:journal")
    _wait_for(lambda: (describe(server.client)["leader"] or "").endswith(":n1"), 30, "n1 to lead")
    _wait_for(lambda: server.client.xlen("acdcore:journal") > stopped + 50, 30, "n1 to append")
    old.send_signal(signal.SIGCONT)
    assert old.wait(timeout=30) == 7, (files / "n0.err").read_text()
    assert "deposed" in (files / "n0.err").read_text()
    assert new.wait(timeout=120) == 0, (files / "n1.err").read_text()
    final = json.loads((files / "final-run.json").read_text())
    assert final == json.loads((files / "final-reference.json").read_text())
    _appended_once(files)


def test_sigkill_the_primary_and_a_standby_takes_over(server: RedisServer, tmp_path: Path) -> None:
    """The crash test's scripted switch, on a primary journaling to Redis,
    with a standby following; the primary is killed with SIGKILL at random
    moments and a standby takes over each time. After every takeover the
    new primary's state is one the uninterrupted run had and holds every
    step the switch saw accepted; every later entry equals the reference's;
    the final state and metrics equal the reference's; and no entry was
    appended (so acted on) by two primaries."""
    kills = int(os.environ.get("ACDCORE_STANDBY_KILLS", "8"))
    seed, ops, ttl = 11, max(1500, 250 * kills), 0.4  # a script long enough for the kills
    files = tmp_path / "files"
    files.mkdir()
    _reference(files, seed, ops)
    rng = random.Random(5)
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    counter = 0

    def spawn() -> None:
        nonlocal counter
        name = f"n{counter}"
        counter += 1
        nodes[name] = _node(files, server.port, seed, ops, name, ttl)

    spawn()
    spawn()
    kill_times: list[float] = []
    killed = deposed = 0
    ended: dict[str, str] = {}  # how each node that is gone ended: killed, deposed, finished
    deadline = time.monotonic() + 600
    while not server.client.exists("acdcore:done"):
        assert time.monotonic() < deadline, "the run did not finish"
        for name, p in list(nodes.items()):
            code = p.poll()
            if code == 7:
                # A primary that stalled past its lease (this machine's two
                # cores are shared by every node) was deposed by a standby
                # that took the lease: fencing refused its next append. That
                # is the design working; a new standby takes its place.
                assert "deposed" in (files / f"{name}.err").read_text()
                deposed += 1
                ended[name] = "deposed"
                del nodes[name]
                spawn()
            elif code is not None and code != 0 and code != -signal.SIGKILL:
                raise AssertionError(
                    f"node {name} exited {code}: {(files / f'{name}.err').read_text()}"
                )
        leader = describe(server.client)["leader"]
        if leader is None or killed >= kills:
            time.sleep(0.01)
            continue
        time.sleep(rng.uniform(0.05, 0.6))
        leader = describe(server.client)["leader"]
        if leader is None or server.client.exists("acdcore:done"):
            continue
        victim_name = leader.split(":", 1)[1]
        victim = nodes.pop(victim_name, None)
        if victim is None:  # it was deposed meanwhile (and replaced above)
            continue
        ended[victim_name] = "killed"
        victim.send_signal(signal.SIGKILL)
        kill_times.append(time.time())
        victim.wait()
        killed += 1
        spawn()  # a new standby joins
        while True:  # the takeover: another node holds the lease
            now_leader = describe(server.client)["leader"]
            if now_leader not in (None, leader) or server.client.exists("acdcore:done"):
                break
            time.sleep(0.002)
    for name, p in nodes.items():
        code = p.wait(timeout=60)
        assert code in (0, 7), f"node {name} exited {code}"
        ended[name] = "finished"
        if code == 7:  # deposed after the run's last step: counted like the others
            assert "deposed" in (files / f"{name}.err").read_text()
            deposed += 1
            ended[name] = "deposed"
    assert killed == kills, f"only {killed} kills before the run ended"
    final = json.loads((files / "final-run.json").read_text())
    assert final == json.loads((files / "final-reference.json").read_text())
    _appended_once(files)
    # Takeover: from the SIGKILL to the next promotion (lease taken and the
    # stream caught up: the new primary is about to take events).
    rows = [row.split() for row in (files / "takeovers.log").read_text().splitlines()]
    promoted = sorted(float(row[2]) for row in rows)
    takeovers = sorted(min(t for t in promoted if t > k) - k for k in kill_times)
    print(f"\n{deposed} primaries deposed by fencing after stalling past their lease")
    # Every promotion is accounted for: its node was later killed, deposed by
    # fencing, or ran to the end (the last primary; or one whose lease lapsed
    # while it stalled after its last append, so that no append was fenced).
    # No node is promoted twice. (A node killed between taking the lease and
    # logging it is not listed.)
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), f"a node was promoted twice: {names}"
    assert all(n in ended for n in names), f"promotions {names}, endings {ended}"
    lapsed = sum(1 for n in names if ended[n] == "finished") - 1
    print(f"{lapsed} leases lapsed after a primary's last append")
    p50 = takeovers[len(takeovers) // 2]
    p99 = takeovers[min(len(takeovers) - 1, int(len(takeovers) * 0.99))]
    print(f"\n{killed} kills survived; takeover p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
