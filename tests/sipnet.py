"""Real Kamailio and SIPp processes on loopback, for tests/test_kamailio.py.

:class:`Kamailio` starts the shipped configuration on free ports and waits
until its evapi socket and JSON-RPC answer. :func:`sipp` runs SIPp with one
of the scenarios in tests/sip/ and returns its process; :class:`SippResult`
reads what it counted (``-trace_counts``) and when it sent or received each
message (``-trace_msg``).
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from acdcore.adapters.kamailio import config_path

SCENARIOS = Path(__file__).parent / "sip"


def require(program: str) -> str:
    """The path of ``program``; skip the test if it is missing, or fail it
    under ACDCORE_REQUIRE_SERVERS=1 (CI)."""
    path = shutil.which(program) or (
        f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None
    )
    if path is None:
        reason = f"{program} is not installed (apt-get install kamailio sip-tester)"
        if os.environ.get("ACDCORE_REQUIRE_SERVERS") == "1":
            pytest.fail(f"ACDCORE_REQUIRE_SERVERS=1 but {reason}")
        pytest.skip(reason)
    return path


_used: set[int] = set()


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (and its +10000 twin,
    which SIPp uses for media), never handed out twice by this process."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port in _used or port + 1 in _used or port > 50000:
            continue
        try:
            for p, kind in ((port, socket.SOCK_DGRAM), (port + 10000, socket.SOCK_DGRAM)):
                with socket.socket(socket.AF_INET, kind) as u:
                    u.bind(("127.0.0.1", p))
        except OSError:
            continue
        _used.add(port)
        return port


class Kamailio:
    """The shipped kamailio.cfg, running on free loopback ports."""

    def __init__(self, workdir: Path, max_wait_ms: int = 600_000) -> None:
        self.binary = require("kamailio")
        self.workdir = workdir
        self.sip_port = free_port()
        self.evapi_port = free_port()
        self.rpc_port = free_port()
        self.max_wait_ms = max_wait_ms
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "kamailio.log"

    def start(self) -> Kamailio:
        args = [
            self.binary,
            "-f",
            str(config_path()),
            "-DD",
            "-E",
            "-Y",
            str(self.workdir),
            "-A",
            f"SIP_LISTEN=udp:127.0.0.1:{self.sip_port}",
            "-A",
            f'EVAPI_ADDR="127.0.0.1:{self.evapi_port}"',
            "-A",
            f"RPC_LISTEN=tcp:127.0.0.1:{self.rpc_port}",
            "-A",
            f"MAX_WAIT_MS={self.max_wait_ms}",
        ]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited: {self.log.read_text()[-2000:]}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.rpc_port}/RPC",
                    data=b'{"jsonrpc":"2.0","method":"core.version","id":1}',
                )
                with urllib.request.urlopen(request, timeout=2) as answer:
                    answer.read()
                with socket.create_connection(("127.0.0.1", self.evapi_port), timeout=1):
                    pass
                return self
            except (OSError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError(f"kamailio did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Sipp:
    """One SIPp process running a scenario from tests/sip/."""

    def __init__(
        self,
        workdir: Path,
        scenario: str,
        proxy_port: int,
        *,
        service: str = "support",
        rows: list[list[str]] | None = None,
        calls: int | None = None,
        rate: float | None = None,
        pause_ms: int = 500,
        port: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.binary = require("sipp")
        self.workdir = workdir
        self.scenario = scenario
        self.port = port or free_port()
        self.name = f"{scenario}-{self.port}"
        self.counts_file: Path | None = None
        args = [
            self.binary,
            f"127.0.0.1:{proxy_port}",
            "-sf",
            str(SCENARIOS / f"{scenario}.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mp",
            str(self.port + 10000),
            "-s",
            service,
            "-d",
            str(pause_ms),
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(workdir / f"{self.name}.msg"),
            "-trace_err",
            "-error_file",
            str(workdir / f"{self.name}.err"),
            "-trace_counts",
            "-fd",
            "1",
            "-max_recv_loops",
            "10000",
            # acdcore may ring the same phone with the same call again (a
            # re-offer): SIPp must take it as a new call, not a dead one's.
            "-deadcall_wait",
            "0",
        ]
        if rows is not None:
            data = workdir / f"{self.name}.csv"
            with open(data, "w", newline="") as f:
                f.write("SEQUENTIAL\n")
                writer = csv.writer(f, delimiter=";", lineterminator="\n")
                for row in rows:
                    writer.writerow([*row, ""])
            args += ["-inf", str(data)]
        if calls is not None:
            args += ["-m", str(calls)]
        if rate is not None:
            args += ["-r", str(rate)]
        if limit is not None:
            args += ["-l", str(limit)]
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Sipp:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            cwd=self.workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return self

    async def listening(self, timeout: float = 10) -> None:
        """Return once SIPp holds its UDP port (a phone must be listening
        before the switch rings it: an INVITE sent earlier is refused, and
        the offer declined as unreachable). Checked by trying to bind the
        port: it is refused while SIPp holds it."""
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode} before listening")
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                return  # SIPp has it
            finally:
                probe.close()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.name} is not listening on {self.port}")
            await asyncio.sleep(0.01)

    async def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def counts(self) -> dict[str, Counter[str]]:
        """SIPp's per-message counters (``-trace_counts``), last line: for
        each scenario step ``"<index>_<message>"``, its counter columns."""
        files = sorted(self.workdir.glob(f"{self.scenario}_*_counts.csv"))
        out: dict[str, Counter[str]] = {}
        for path in files:
            rows = list(csv.reader(path.read_text().splitlines(), delimiter=";"))
            header, last = rows[0], rows[-1]
            for name, value in zip(header, last, strict=False):
                if value.strip().isdigit():
                    out.setdefault(path.name, Counter())[name] += int(value)
        return out

    def messages(self) -> list[tuple[float, str, str]]:
        """Every message SIPp sent or received: (Unix time, "sent"|"received",
        the message's first line and Call-ID, as "FIRST LINE|call-id")."""
        text = (self.workdir / f"{self.name}.msg").read_text(errors="replace")
        out = []
        for block in text.split("----------------------------------------------- ")[1:]:
            lines = block.splitlines()
            if len(lines) < 3:
                continue
            m = re.match(r"(UDP|TCP) message (sent|received)", lines[1])
            if not m:
                continue
            when = datetime.datetime.strptime(lines[0].strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp()
            body = [ln for ln in lines[2:] if ln.strip()]
            first = body[0].strip() if body else ""
            cid = next(
                (ln.split(":", 1)[1].strip() for ln in body if ln.lower().startswith("call-id:")),
                "",
            )
            out.append((when, m.group(2), f"{first}|{cid}"))
        return out
