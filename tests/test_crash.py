"""Kill -9 at random moments: recovery loses no call and changes no later decision.

A child process (``tests/crash_child.py``) runs the runtime with a data
directory against a scripted switch. The test first runs the script once
without interruption (the reference, with a digest of the state after every
journal entry), then runs it again and again in a second directory, killing
the child with SIGKILL at random moments (while it works, and sometimes while
it is still recovering). Every start must recover a state the uninterrupted
run had (no call lost: each is waiting in its place, ringing, talking or in
its recorded outcome), every later entry must equal the reference's, and the
final state (with the metrics) must equal the reference's final state.

``ACDCORE_CRASH_KILLS`` sets the number of kills (20 by default; the local
soak runs 100 or more). The directories are on ``/dev/shm`` when it exists: a
killed process's writes survive in the page cache either way, and fsync on a
shared disk would make the test slow without testing more.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = int(os.environ.get("ACDCORE_CRASH_KILLS", "20"))
OPS = 1500

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def _child(directory: Path, seed: int, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(directory), str(seed), str(OPS), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(p: subprocess.Popen[bytes]) -> None:
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, f"child exited {p.returncode}: {err.decode()[-2000:]}"


@pytest.fixture(params=["python"])  # the child picks the default backend itself
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_sigkill_at_random_moments_loses_nothing(backend: str) -> None:
    rng = random.Random(2026)
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    kills = experiments = 0
    while kills < KILLS:
        experiments += 1
        seed = rng.randrange(2**31)
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            root = Path(tmp)
            _finish(_child(root / "reference", seed, "reference"))
            while kills < KILLS:
                p = _child(root / "run", seed, "run")
                if rng.random() < 0.15:  # sometimes while it is still recovering
                    time.sleep(rng.uniform(0.0, 0.4))
                else:
                    ready = p.stdout.readline() if p.stdout else b""
                    if ready != b"ready\n":
                        _finish(p)  # it exited: say why
                    time.sleep(rng.uniform(0.0, 0.3))
                if p.poll() is not None:  # the script ended before the kill
                    _finish(p)
                    break
                p.send_signal(signal.SIGKILL)
                p.communicate()
                kills += 1
            else:
                _finish(_child(root / "run", seed, "run"))  # to the end of the script
            final = (root / "final-run.json").read_text()
            assert final == (root / "final-reference.json").read_text()
            starts = (root / "recoveries.log").read_text().splitlines()
            assert len(starts) >= 2  # the reference, then at least one recovered run
    print(f"{kills} kills survived over {experiments} scripted runs of {OPS} steps")
