"""cffi build script (API mode, out-of-line) for ``acdcore._native._acdnative``.

Referenced from ``setup.py`` through ``cffi_modules``; run directly
(``python src/acdcore/_native/build.py``) to build in place for development.
"""

from __future__ import annotations

import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


HEADERS = (
    "acd_native.h",
    "acd_queue.h",
    "acd_rng.h",
    "acd_heap.h",
    "acd_engine.h",
    "acd_sim.h",
)
"""The headers whose declarations make the module, in this order."""

SOURCES = (
    "acd_native.c",
    "acd_agents.c",
    "acd_calls.c",
    "acd_match.c",
    "acd_queue.c",
    "acd_rng.c",
    "acd_heap.c",
    "acd_engine.c",
    "acd_engine_check.c",
    "acd_engine_flow.c",
    "acd_engine_stages.c",
    "acd_engine_events.c",
    "acd_engine_hooks.c",
    "acd_engine_experience.c",
    "acd_engine_export.c",
    "acd_engine_load.c",
    "acd_sim.c",
    "acd_sim_setup.c",
    "acd_sim_kpi.c",
)
"""The C files compiled into the module: the dispatch core (acd_native.c, its
lifecycle and introspection; acd_agents.c, acd_calls.c, acd_match.c, sharing
the private acd_internal.h), the Queue's treap (acd_queue.c), the engine's
building blocks (acd_rng.c, the Mersenne Twister; acd_heap.c, the deadline
heap) and the engine itself (acd_engine.h: acd_engine.c, its life,
configuration, call table and reads; acd_engine_check.c, its invariant
check; acd_engine_flow.c, the mechanics: deadlines, sessions, queueing,
offers, routing; acd_engine_stages.c, a routing plan's relaxation stages;
acd_engine_events.c, the event handlers; acd_engine_hooks.c, the
estimators' hooks and the staffing counts they read;
acd_engine_experience.c, when callers hear announcements and are weighed
for callback offers; acd_engine_export.c, the state
read out whole; acd_engine_load.c, a saved state loaded in; sharing the
private acd_engine_internal.h), which owns a core and feeds it only through
acd_native.h; and the simulator's replication loop over the engine
(acd_sim.h: acd_sim.c, the loop; acd_sim_setup.c, its set-up and read-out;
acd_sim_kpi.c, Metrics' accumulators; sharing acd_sim_internal.h)."""


def _cdef() -> str:
    """The declarations cffi needs: the headers without their include guards,
    includes and comments (cffi parses plain C declarations and integer
    #defines)."""
    out = []
    for header in HEADERS:
        with open(os.path.join(HERE, header), encoding="utf-8") as fh:
            text = fh.read()
        guard = "#define " + header.upper().replace(".", "_")
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
            if stripped.startswith(("#ifndef", "#endif", "#include")) or stripped == guard:
                continue
            out.append(line)
    return "\n".join(out)


CDEF = _cdef() + '\nextern "Python" int acd_py_draw(void *, uint64_t, uint64_t *);\n'
"""The declarations, and the Python function the engine may call for its
random draws (acdcore._native.engine installs it; acd_engine_set_draw)."""


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
        "".join(f'#include "{h}"\n' for h in HEADERS),
        sources=[os.path.join(where, c) for c in SOURCES],
        include_dirs=[where],
        extra_compile_args=[
            "-Wall",
            "-Wextra",
            "-O2",
            "-std=c99",
            "-ffp-contract=off",
            *_extra_flags(),
        ],
        extra_link_args=_extra_flags(),
    )
    return ffi


ffibuilder = _builder(relative=True)

if __name__ == "__main__":
    _builder(relative=False).compile(tmpdir=os.path.join(HERE, "..", ".."), verbose=True)
