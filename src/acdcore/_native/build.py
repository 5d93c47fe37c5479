"""cffi build script (API mode, out-of-line) for ``acdcore._native._acdnative``.

Referenced from ``setup.py`` through ``cffi_modules``; run directly
(``python src/acdcore/_native/build.py``) to build in place for development.
"""

from __future__ import annotations

import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _cdef() -> str:
    """The declarations cffi needs: the header without its include guard and
    comments (cffi parses plain C declarations and integer #defines)."""
    with open(os.path.join(HERE, "acd_native.h"), encoding="utf-8") as fh:
        text = fh.read()
    out = []
    in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            if "*/" in stripped:
                in_comment = False
            continue
        if stripped.startswith("/*"):
            in_comment = "*/" not in stripped
            continue
        if "/*" in line:
            line = line[: line.index("/*")]
        if stripped.startswith(("#ifndef", "#endif")) or stripped == "#define ACD_NATIVE_H":
            continue
        out.append(line)
    return "\n".join(out)


CDEF = _cdef()


def _extra_flags() -> list[str]:
    """Extra compile and link flags from ``ACDCORE_NATIVE_CFLAGS`` (the
    sanitizer build in CI sets ``-fsanitize=address,undefined``)."""
    return os.environ.get("ACDCORE_NATIVE_CFLAGS", "").split()


def _builder(relative: bool) -> FFI:
    """The FFI builder; setuptools wants source paths relative to the project
    root, a direct in-place build wants them absolute."""
    where = os.path.relpath(HERE) if relative else HERE
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        "acdcore._native._acdnative",
        '#include "acd_native.h"',
        sources=[os.path.join(where, "acd_native.c")],
        include_dirs=[where],
        extra_compile_args=["-Wall", "-Wextra", "-O2", "-std=c99", *_extra_flags()],
        extra_link_args=_extra_flags(),
    )
    return ffi


ffibuilder = _builder(relative=True)

if __name__ == "__main__":
    _builder(relative=False).compile(tmpdir=os.path.join(HERE, "..", ".."), verbose=True)
