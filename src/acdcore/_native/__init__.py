"""The native (C, cffi API mode) backend. Built at install by ``setup.py``;
absent when no compiler was available. See :mod:`acdcore.backend`."""
