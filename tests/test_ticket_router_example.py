"""examples/ticket_router.py --demo: a web app routing tickets with a
SkillRouter and a Queue alone runs over real HTTP and routes as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ticket_router.py"


def test_ticket_router_demo_assigns_by_skill_priority_and_pause(backend: str) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "ACDCORE_BACKEND": backend},
    )
    assert out.returncode == 0, out.stderr
    lines = {line[:34].strip(): line[34:].strip() for line in out.stdout.splitlines()[1:]}
    answers = {what: json.loads(body) for what, body in lines.items()}
    assert out.stdout.startswith("ticket desk on http://127.0.0.1:")
    assert answers["ticket T1 needs billing 3"] == {"ticket": "T1", "assigned": "ana"}
    assert answers["ticket T3 needs tech 2 (email)"]["assigned"] == "ben"  # two email slots
    assert answers["ticket T4 needs tech 2 (email)"] == {"ticket": "T4", "queued": 1}
    assert answers["ticket T6 billing, priority 1"] == {"ticket": "T6", "queued": 1}
    assert answers["ticket T1 again"]["error"] == "DuplicateItem"
    assert answers["ticket T7 needs billing 11"]["error"] == "InvalidValue"
    assert answers["ben closes T2"]["took"] == ["T4"]
    assert answers["ana closes T1"]["took"] == []  # paused: takes nothing
    assert answers["ana resumes"]["took"] == ["T6"]  # the priority ticket first
    assert answers["staff cara (billing 9)"]["took"] == ["T5"]
    assert answers["pause nobody"]["error"] == "UnknownAgent"
    assert answers["state"] == {
        "waiting": [],
        "staff": {
            "ana": {"paused": None, "tickets": ["T6"]},
            "ben": {"paused": None, "tickets": ["T3", "T4"]},
            "cara": {"paused": None, "tickets": ["T5"]},
        },
    }
