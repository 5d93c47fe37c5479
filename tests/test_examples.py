"""The examples run from the command line and show what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
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
