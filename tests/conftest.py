"""Shared test setup: hypothesis profiles, and every test on both backends.

``HYPOTHESIS_PROFILE=ci`` (the default under CI) keeps property tests to a few
minutes; ``dev`` is the local default; ``sanitizers`` is ``ci`` with a third
of its examples, for the run against the sanitized build (``.ci/native``),
where the Python reference the machines compare against is several times
slower and the plain run has already drawn the full count; ``soak`` is a long
local run (``HYPOTHESIS_SOAK_EXAMPLES`` examples per test, 5,000 by default).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import acdcore.backend


def _profile(name: str, examples: int, steps: int, *, blob: bool = False) -> None:
    """Register a hypothesis profile: ``examples`` per test, ``steps`` per
    stateful example, no deadline (the machine is shared), failing blobs
    printed where CI must be able to replay them."""
    settings.register_profile(
        name,
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=blob,
    )


# ci: 300 examples keep CI (the suite beside the native checks) under its
# 30 minutes; the sanitized run draws a third of them.
_profile("ci", 300, 100, blob=True)
_profile("sanitizers", 100, 100, blob=True)
_profile("dev", 150, 80)
# HYPOTHESIS_SOAK_EXAMPLES scales the soak to the time at hand.
_profile("soak", int(os.environ.get("HYPOTHESIS_SOAK_EXAMPLES", "5000")), 200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_terminal_summary(terminalreporter: object) -> None:
    """Report how many stateful steps were checked (for soak-run notes)."""
    from tests.test_stateful import STEPS

    for machine, steps in sorted(STEPS.items()):
        terminalreporter.write_line(f"stateful steps checked: {machine}: {steps:,}")  # type: ignore[attr-defined]


@pytest.fixture(params=["python", "native"], autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on each backend: every Distributor built without an
    explicit ``backend=`` uses the one selected here. The native run is
    skipped where the extension was not built (CI requires it to be)."""
    name = str(request.param)
    if name == "native" and not acdcore.backend.native_available():
        pytest.skip("native extension not built")
    monkeypatch.setattr(acdcore.backend, "BACKEND", name)
    return name
