"""cffi build script (API mode, out-of-line) for ``acdcore._native._acdnative``.

Referenced from ``setup.py`` through ``cffi_modules``; run directly
(``python src/acdcore/_native/build.py``) to build in place for development.
"""

from __future__ import annotations

import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))

CDEF = """
int acd_abi_version(void);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "acdcore._native._acdnative",
    '#include "acd_native.h"',
    sources=[os.path.relpath(os.path.join(HERE, "acd_native.c"))],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=["-Wall", "-Wextra", "-O2", "-std=c99"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(HERE, "..", "..", ".."), verbose=True)
