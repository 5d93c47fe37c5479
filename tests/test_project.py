"""Project-level promises: README commands, CI, public API, backend selection."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import acdcore

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    return [line.strip() for line in lines[:20] if line.startswith("    python3 -m venv")]


def test_readme_starts_with_the_two_commands_and_ci_runs_them() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "examples/" in main_job and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert main_job in ci
    assert tests in ci


def test_public_api_is_explicit_and_documented() -> None:
    for name in acdcore.__all__:
        obj = getattr(acdcore, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring"
    assert len(set(acdcore.__all__)) == len(acdcore.__all__)
    assert (Path(acdcore.__file__).parent / "py.typed").exists()


def test_backend_is_reported() -> None:
    # The package-level answer is fixed at import: native whenever it was built
    # (unless ACDCORE_BACKEND says python).
    wanted = os.environ.get("ACDCORE_BACKEND", "")
    expected = "native" if acdcore.native_available() and wanted != "python" else "python"
    assert expected == acdcore.BACKEND
    assert isinstance(acdcore.native_available(), bool)


def test_distributors_follow_the_selected_backend(backend: str) -> None:
    acd = acdcore.Distributor([acdcore.QueueConfig("q")])
    assert acd.backend == backend
    other = "python" if backend == "native" else "native"
    if other == "native" and not acdcore.native_available():
        with pytest.raises(acdcore.ConfigError, match="not built"):
            acdcore.Distributor([acdcore.QueueConfig("q")], backend=other)
    else:
        assert acdcore.Distributor([acdcore.QueueConfig("q")], backend=other).backend == other
    with pytest.raises(acdcore.ConfigError, match="backend must be"):
        acdcore.Distributor([acdcore.QueueConfig("q")], backend="fortran")


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI promises a C compiler")
def test_ci_builds_the_native_extension_through_the_install_hook() -> None:
    # Without this, a broken build hook would only make the test below skip.
    assert acdcore.native_available()


def _import_with(env_value: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ACDCORE_BACKEND=env_value)
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", "import acdcore; print(acdcore.BACKEND)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_backend_variable_python_is_accepted() -> None:
    out = _import_with("python")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "python"


def test_backend_variable_native_is_the_default_when_built() -> None:
    for value in ("native", ""):
        out = _import_with(value)
        assert out.returncode == 0, out.stderr
        if acdcore.native_available():
            assert out.stdout.strip() == "native"
        else:
            assert out.stdout.strip() == "python"
            if value == "native":
                assert "native extension was not built" in out.stderr


def test_backend_variable_rejects_nonsense() -> None:
    out = _import_with("fortran")
    assert out.returncode != 0
    assert "ACDCORE_BACKEND" in out.stderr


@pytest.mark.skipif(not acdcore.native_available(), reason="native extension not built here")
def test_native_extension_was_built_through_the_install_hook() -> None:
    from acdcore._native import _acdnative  # type: ignore[attr-defined]

    # The Python side asks for exactly this version (bumped when the C functions change).
    assert _acdnative.lib.acd_abi_version() == acdcore.backend._NATIVE_ABI == 3


MODULE_LINES = 800
"""The most lines a module of the library may have (Python, C or header)."""
CLASS_LINES = 420
"""The most lines a class may span: "about 400" (issue 18), with a little slack."""


def test_no_module_or_class_outgrows_the_layout_limits() -> None:
    """One module per concept: a module past MODULE_LINES, or a class past
    CLASS_LINES, must split (by concept) before it lands."""
    import ast

    src = ROOT / "src" / "acdcore"
    too_long = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".py", ".c", ".h") or path.name == "_acdnative.c":
            continue  # _acdnative.c: cffi's generated module, not ours
        text = path.read_text()
        n = len(text.splitlines())
        if n > MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {n} lines")
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ClassDef):
                    span = (node.end_lineno or node.lineno) - node.lineno + 1
                    if span > CLASS_LINES:
                        too_long.append(f"{path.relative_to(ROOT)}: class {node.name} {span} lines")
    assert not too_long, "split by concept: " + "; ".join(too_long)
