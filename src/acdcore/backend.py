"""Which backend is loaded, and whether the native extension was built.

``ACDCORE_BACKEND`` selects the backend: ``native`` (the C dispatch core,
the default when it was built at install) or ``python`` (the reference,
always present). Asking for ``native`` where it was not built falls back to
``python`` with a warning; :data:`BACKEND` says what is actually in use, and
every :class:`~acdcore.Distributor` built without an explicit ``backend=``
uses it.
"""

from __future__ import annotations

import importlib
import os
import warnings

__all__ = ["BACKEND", "native_available"]

_NATIVE_ABI = 2


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
    if wanted == "native":
        warnings.warn(
            "ACDCORE_BACKEND=native: the native extension was not built (no C compiler at "
            "install?); using the python backend",
            RuntimeWarning,
            stacklevel=3,
        )
    return "python"


BACKEND: str = _select()
