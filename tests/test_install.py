"""Installing acdcore into a fresh virtual environment, as a user does.

Without a working C compiler ``pip install`` must still succeed, say clearly
that the native backend was not built, and leave a package that runs on the
python backend. With one, the install hook builds the native backend.

Each test creates a venv and pip-installs a copy of the project (build
dependencies and runtime dependencies come from the package index), which
takes tens of seconds: they run only under CI or with ``ACDCORE_SLOW_TESTS=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WARNING = "WARNING: acdcore's native backend could not be built"
MISSING = "/nonexistent/acdcore-test"

pytestmark = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("ACDCORE_SLOW_TESTS") == "1"),
    reason="slow (pip install into a fresh venv): runs under CI or with ACDCORE_SLOW_TESTS=1",
)

# Run in the installed package: which backend, and a distributor that routes.
PROBE = """
import acdcore
from acdcore import AgentLoggedIn, AgentProfile, CallArrived, Distributor, Offer, QueueConfig

print(acdcore.BACKEND, acdcore.native_available())
acd = Distributor([QueueConfig("q")])
acd.handle(AgentLoggedIn(now=0, profile=AgentProfile("a", skills={}, queues=["q"])))
actions = acd.handle(CallArrived(now=1, call_id="c", queue="q"))
assert [(a.call_id, a.agent_id) for a in actions if isinstance(a, Offer)] == [("c", "a")], actions
acd.check()
print("distributor", acd.backend)
print("file", acdcore.__file__)
"""


def _clean_env(**overrides: str) -> dict[str, str]:
    """The environment minus what would make the install or the probe use
    something other than the fresh venv (a source tree on PYTHONPATH, the
    sanitizer build's flags and runtime, a backend choice)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "ACDCORE_BACKEND",
            "ACDCORE_NATIVE_CFLAGS",
            "LD_PRELOAD",
            "PIP_USER",
            "PIP_TARGET",
            "PIP_PREFIX",
            "PIP_REQUIRE_VIRTUALENV",
        )
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(overrides)
    return env


def _copy_project(dest: Path) -> Path:
    """A copy of what ``pip install .`` reads, without build products: an
    in-tree ``build/`` or an in-place extension would be reused by setuptools
    instead of compiling, and hide what this test is about."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src" / "acdcore",
        dest / "src" / "acdcore",
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "*.pyd", "*.o", "*.obj", "_acdnative.c"
        ),
    )
    return dest


def _install(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Create a venv and pip-install the copied project into it; its python
    and pip's whole (verbose) output."""
    source = _copy_project(tmp_path / "project")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    python = venv / "bin" / "python"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-v", str(source)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    output = pip.stdout + pip.stderr
    assert pip.returncode == 0, f"pip install failed ({pip.returncode}):\n{output[-6000:]}"
    return python, output


def _probe(python: Path, tmp_path: Path) -> list[str]:
    out = subprocess.run(
        [str(python), "-c", PROBE],
        env=_clean_env(),
        cwd=tmp_path,  # not the checkout: the installed package must be imported
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, f"the installed package failed:\n{out.stdout}\n{out.stderr}"
    lines = out.stdout.splitlines()
    assert lines[2].startswith("file " + str(tmp_path / "venv")), lines
    return lines


def test_install_without_a_compiler_falls_back_to_python(backend: str, tmp_path: Path) -> None:
    if backend == "native":
        pytest.skip("installs once: the backend parameter does not matter here")
    # setuptools compiles with $CC (else sysconfig's CC) and links with
    # $LDSHARED (else sysconfig's, with $CC substituted): point all of them at
    # a program that does not exist.
    env = _clean_env(
        CC=f"{MISSING}/cc",
        CXX=f"{MISSING}/c++",
        LDSHARED=f"{MISSING}/cc -shared",
        LDCXXSHARED=f"{MISSING}/c++ -shared",
    )
    python, output = _install(tmp_path, env)
    assert WARNING in output, output[-6000:]
    assert "installed with the pure-Python reference backend only" in output
    assert MISSING in output  # the warning says why (the compiler that was tried)
    lines = _probe(python, tmp_path)
    assert lines[:2] == ["python False", "distributor python"]
    # pip hid the build's warning; importing acdcore says it where a user sees it.
    imported = subprocess.run(
        [str(python), "-c", "import acdcore"],
        env=_clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "the native extension was not built" in imported.stderr, imported.stderr
    silenced = subprocess.run(
        [str(python), "-c", "import acdcore"],
        env=_clean_env(ACDCORE_BACKEND="python"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert silenced.stderr == "", silenced.stderr
    installed = python.parent.parent / "lib"
    assert not list(installed.glob("python*/site-packages/acdcore/_native/_acdnative*"))


def test_install_with_a_compiler_builds_the_native_backend(backend: str, tmp_path: Path) -> None:
    if backend == "native":
        pytest.skip("installs once: the backend parameter does not matter here")
    cc = os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc")
    if not shutil.which(cc.split()[0]) and not os.environ.get("CI"):
        pytest.skip(f"no C compiler ({cc}) here")  # CI promises one: it must not skip there
    python, output = _install(tmp_path, _clean_env())
    assert WARNING not in output, output[-6000:]
    assert _probe(python, tmp_path)[:2] == ["native True", "distributor native"]
