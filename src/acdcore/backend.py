"""Which backend is loaded, and whether the native extension was built.

``ACDCORE_BACKEND`` selects the backend: ``python`` (the reference, always
present) or ``native``. The native dispatch loop is not part of this release
yet, so ``native`` falls back to ``python`` with a warning; :data:`BACKEND`
says what is actually in use.
"""

from __future__ import annotations

import importlib
import os
import warnings

__all__ = ["BACKEND", "native_available"]

_NATIVE_ABI = 1


def native_available() -> bool:
    """True when the C extension was built at install and matches this code."""
    try:
        native = importlib.import_module("acdcore._native._acdnative")
    except ImportError:
        return False
    return bool(native.lib.acd_abi_version() == _NATIVE_ABI)


def _select() -> str:
    wanted = os.environ.get("ACDCORE_BACKEND", "python").strip().lower() or "python"
    if wanted not in ("python", "native"):
        raise ImportError(f"ACDCORE_BACKEND must be 'python' or 'native', got {wanted!r}")
    if wanted == "native":
        warnings.warn(
            "ACDCORE_BACKEND=native: the native dispatch loop is not available in this "
            "release; using the python backend",
            RuntimeWarning,
            stacklevel=3,
        )
    return "python"


BACKEND: str = _select()
