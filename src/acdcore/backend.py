"""Which backend is loaded, and whether the native extension was built.

``ACDCORE_BACKEND`` selects the backend: ``native`` (the C dispatch core,
the default when it was built at install) or ``python`` (the reference,
always present). Where the native extension was not built (no C compiler
at install: pip hides the build's warning), importing acdcore falls back to
``python`` with a ``RuntimeWarning`` that says so, unless
``ACDCORE_BACKEND=python`` chose it; :data:`BACKEND` says what is actually in use, and
every :class:`~acdcore.Distributor` built without an explicit ``backend=``
uses it.
"""

from __future__ import annotations

import importlib
import os
import warnings

__all__ = ["BACKEND", "describe", "native_available", "resolve"]

_NATIVE_ABI = 3


def native_available() -> bool:
    """True when the C extension was built at install and matches this code."""
    try:
        native = importlib.import_module("acdcore._native._acdnative")
    except ImportError:
        return False
    return bool(native.lib.acd_abi_version() == _NATIVE_ABI)


def _select() -> str:
    wanted = os.environ.get("ACDCORE_BACKEND", "").strip().lower()
    if wanted not in ("", "python", "native"):
        raise ImportError(f"ACDCORE_BACKEND must be 'python' or 'native', got {wanted!r}")
    if wanted == "python":
        return "python"
    if native_available():
        return "native"
    # pip hides the build's own warning: say it where a user sees it.
    warnings.warn(
        f"acdcore: {NOT_BUILT}; using the pure-Python reference backend "
        "(set ACDCORE_BACKEND=python to choose it and silence this)",
        RuntimeWarning,
        stacklevel=3,
    )
    return "python"


NOT_BUILT = (
    "the native extension was not built (no C compiler when acdcore was installed?): "
    "reinstall with a C compiler for the native backend"
)
"""Why the native backend is missing, as :func:`describe` and the import warning say it."""


def describe() -> str:
    """The backend in use, in words (for ``acdcore --version``)."""
    if BACKEND == "native":
        return "native (the C dispatch core)"
    if native_available():
        return "python (chosen with ACDCORE_BACKEND=python; the native extension is built)"
    return f"python ({NOT_BUILT})"


BACKEND: str = _select()


def resolve(backend: str | None) -> str:
    """The backend an object asked for ``backend`` runs on: ``None`` means
    :data:`BACKEND`. Raises :class:`~acdcore.errors.ConfigError` for a name
    other than ``"python"`` or ``"native"``, and for ``"native"`` where the
    extension was not built. Shared by every object with two implementations
    (``Distributor``, ``Queue``, ``SkillRouter``)."""
    from .errors import ConfigError

    if backend is None:
        return BACKEND
    if backend not in ("python", "native"):
        raise ConfigError(f"backend must be 'python' or 'native', got {backend!r}")
    if backend == "native" and not native_available():
        raise ConfigError("backend 'native' was asked for but the extension is not built")
    return backend
