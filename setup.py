"""Build hook: compiles the native backend with cffi, and installs without it
(on the pure-Python reference backend, with a warning) when no C compiler works."""

from __future__ import annotations

import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed C build into a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any failure means "no native backend"
            _warn(exc)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:
            _warn(exc)


def _warn(exc: BaseException) -> None:
    bar = "*" * 72
    sys.stderr.write(
        f"\n{bar}\nWARNING: acdcore's native backend could not be built ({exc}).\n"
        "acdcore is installed with the pure-Python reference backend only.\n"
        "Install a C compiler and the Python headers, then reinstall, to get it.\n"
        f"{bar}\n\n"
    )


setup(
    cffi_modules=["src/acdcore/_native/build.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
