"""The examples run from the command line and show what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_prints_a_timeline_and_the_counts() -> None:
    text = run("quickstart.py")
    assert "Offer" in text and "counts:" in text
    assert "refused: UnknownCall" in text


@pytest.mark.parametrize("needle", ["surge ON", "self-service", "voicemail", "explain()"])
def test_promotion_shows_the_plan_at_work(needle: str) -> None:
    assert needle in run("promotion.py")


def test_kamailio_example_says_when_it_cannot_reach_kamailio() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "kamailio_acd.py"),
            "--evapi-port",
            "9",
            "--connect-timeout",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2 and "cannot reach Kamailio's evapi socket" in out.stderr


def test_kamailio_example_demo_routes_real_calls() -> None:
    from .sipnet import require

    require("kamailio")
    require("sipp")
    text = run("kamailio_acd.py", "--demo")
    assert "counts: {'arrived': 5, 'completed': 5}" in text
    first_offer = next(line for line in text.splitlines() if line.startswith("  Offer:"))
    assert "'caller5'" in first_offer  # the VIP (the fifth caller) went first
