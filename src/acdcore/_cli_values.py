"""The value parsers of the ``acdcore`` command line: durations, fractions,
targets, numbers of calls, replications, seeds, ports and plot files, each
refusing what it cannot read with a message that says what is expected (see
"How arguments are written" in :mod:`acdcore.cli`), and :class:`_BadInput`,
bad input found after parsing. Public through :mod:`acdcore.cli`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from .scenario import MAX_REPLICATIONS, MAX_SPAN

_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
# Plain ASCII numbers only: float() also takes "nan", "1_000" and Arabic digits.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DURATION = re.compile(rf"\s*({_NUMBER})\s*([^\s0-9.+-][^\s]*)?\s*")
_FRACTION = re.compile(rf"\s*({_NUMBER})\s*(%)?\s*")
_TARGET = re.compile(rf"\s*({_NUMBER})\s*(%)?\s*/\s*(.*?)\s*")
_INT = re.compile(r"\s*\+?[0-9]+\s*")
_SIGNED_INT = re.compile(r"[+-]?[0-9]+")
_DURATION_HELP = (
    "give a number with a unit, s, m (or min) or h, such as 90s, 30m or 1.5h "
    "(a bare number is seconds)"
)
_BARE_INTERVAL_MIN = 300.0
_SHORTEST = 0.001
_PLOT_SUFFIXES = (".png", ".pdf", ".svg")


class _BadInput(Exception):
    """Bad input found after parsing: reported like an argument error, exit 2."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str) -> str:
    """``repr(text)``, shortened for an error message."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:50] + "..." + shown[-5:]


def _bad(message: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(message)


def _float(text: str, match: str) -> float:
    """The number ``match`` (already checked against _NUMBER) of ``text``."""
    value = float(match)
    if not math.isfinite(value):
        raise _bad(f"{_quote(text)} is too large a number")
    return value


# ------------------------------------------------------------------ parsers


def _duration(
    text: str, *, zero: bool = False, bare_min: float = 0.0, what: str = "a duration"
) -> float:
    m = _DURATION.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not {what}: {_DURATION_HELP}")
    unit = m.group(2)
    if unit is not None and unit not in _UNITS:
        raise _bad(f"{_quote(text)}: unknown unit {_quote(unit)}; {_DURATION_HELP}")
    number = _float(text, m.group(1))
    if unit is None and 0 < number < bare_min:
        n = m.group(1)
        raise _bad(
            f"{_quote(text)} has no unit: write {n}m for {n} minutes, or {n}s if you "
            f"mean seconds (a bare number is seconds only from {bare_min:g} up)"
        )
    seconds = number * _UNITS[unit or "s"]
    if seconds < 0 or (seconds == 0 and not zero):
        raise _bad(f"{_quote(text)} must be {'0 or more' if zero else 'longer than zero'}")
    if 0 < seconds < _SHORTEST:
        raise _bad(f"{_quote(text)} is shorter than 1 ms")
    if seconds > MAX_SPAN:
        raise _bad(f"{_quote(text)} is longer than 366 days")
    return seconds


def parse_duration(text: str) -> float:
    """Seconds from a duration: ``"30m"`` -> 1800.0, ``"90s"`` or ``"90"``
    -> 90.0, ``"1.5h"`` -> 5400.0. Units: ``s``, ``m`` (or ``min``), ``h``;
    a bare number is seconds. From 1 ms to 366 days; anything else raises
    ``argparse.ArgumentTypeError`` saying what is expected."""
    return _duration(text)


def _interval(text: str) -> float:
    return _duration(text, bare_min=_BARE_INTERVAL_MIN, what="an interval")


def _answer_time(text: str) -> float:
    return _duration(text, what="a duration")


def parse_target(text: str) -> tuple[float, float]:
    """``"80/20"`` -> (0.8, 20.0): a share answered within a duration. The
    share is a percentage (``80`` or ``80%``) above 1 and below 100; the
    duration is as in :func:`parse_duration` and may be 0 (``80/20s``,
    ``90%/1m``). A bare share of 1 or less is refused as ambiguous."""
    m = _TARGET.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a target: write PERCENT/SECONDS, such as 80/20")
    share = _float(text, m.group(1))
    within = _duration(m.group(3), zero=True, what="a number of seconds")
    if not m.group(2) and 0 < share <= 1:
        n, rest = m.group(1), m.group(3)
        raise _bad(
            f"{_quote(text)}: the share is a percentage, so write {share * 100:g}/{rest} "
            f"for {share * 100:g} %, or {n}%/{rest} if you mean {n} percent"
        )
    if not 0 < share < 100:
        raise _bad(f"{_quote(text)}: the percentage must be above 0 and below 100")
    return share / 100.0, within


def _fraction(text: str, *, what: str, one: bool) -> float:
    m = _FRACTION.fullmatch(text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a fraction: write {what} as 0.85 or 85%")
    value = _float(text, m.group(1))
    n = m.group(1)
    if m.group(2):
        value /= 100.0
    elif value > 1:
        raise _bad(
            f"{_quote(text)} is ambiguous: a bare number is a fraction from 0 to 1; "
            f"write {n}% for {n} percent"
        )
    if value < 0:
        raise _bad(f"{_quote(text)} must be at least 0")
    if one and value == 0:
        raise _bad(f"{_quote(text)} must be above 0")
    if not one and value >= 1:
        hint = "" if m.group(2) else f" (for {n} percent, write {n}%)"
        raise _bad(f"{_quote(text)} must be below 1 (100%){hint}")
    if value > 1:
        raise _bad(f"{_quote(text)} must be at most 100%")
    return value


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise _bad(f"expected a port number, got {_quote(text)}") from None
    if not 0 <= port <= 65535:
        raise _bad(f"a port is 0 to 65535, got {port}")
    return port


def _target_fraction(text: str) -> float:
    return _fraction(text, what="--target", one=True)


def _occupancy(text: str) -> float:
    return _fraction(text, what="an occupancy cap", one=True)


def _shrinkage(text: str) -> float:
    return _fraction(text, what="a shrinkage", one=False)


def _calls(text: str) -> float:
    m = re.fullmatch(rf"\s*({_NUMBER})\s*", text)
    if m is None:
        raise _bad(f"{_quote(text)} is not a number of calls: give a number above 0, such as 100")
    value = _float(text, m.group(1))
    if value <= 0:
        raise _bad(f"{_quote(text)} must be above 0")
    return value


def _reps(text: str) -> int:
    if _INT.fullmatch(text) is None:
        raise _bad(f"{_quote(text)} is not a whole number of replications (such as 10)")
    value = int(text)
    if value < 1:
        raise _bad(f"{_quote(text)} must be at least 1")
    if value > MAX_REPLICATIONS:
        raise _bad(f"{_quote(text)} is more than {MAX_REPLICATIONS:,} replications")
    return value


def _looks_like_a_number(text: str) -> bool:
    for read in (float, lambda t: int(t, 0)):
        try:
            read(text)
        except ValueError:
            continue
        return True
    return False


def _seed(text: str) -> int | str:
    """A seed as scenarios allow it: an int (at most 100 digits) when it
    reads as one, else the text itself; text that looks like another kind of
    number, blank text or text with spaces around it is ambiguous."""
    if _SIGNED_INT.fullmatch(text):
        if len(text.lstrip("+-")) > 100:
            raise _bad(f"{_quote(text)}: an int seed has at most 100 digits")
        return int(text)
    if not text.strip():
        raise _bad("a seed is an int (such as 42) or a word (such as monday), not blank")
    if text != text.strip():
        raise _bad(f"{_quote(text)} has spaces around it; write the seed without them")
    if _looks_like_a_number(text):
        raise _bad(
            f"{_quote(text)} looks like a number but is not a whole number; a seed is an "
            "int (such as 42) or text that is not a number (such as monday)"
        )
    return text


def _plot_path(text: str) -> str:
    """``--plot``'s file, checked when the arguments are parsed (so before
    the run): a name ending in .png, .pdf or .svg, in a directory that exists
    and can be written, and not itself a directory or a read-only file."""
    path = Path(text)
    if path.name.lower() in _PLOT_SUFFIXES:
        raise _bad(f"{_quote(text)}: give a file name before the extension, such as out.png")
    if path.suffix.lower() not in _PLOT_SUFFIXES:
        raise _bad(f"{_quote(text)}: the file name must end in .png, .pdf or .svg")
    if path.is_dir():
        raise _bad(f"{_quote(text)} is a directory")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise _bad(f"{_quote(text)}: {_quote(str(folder))} is not a directory")
    if not folder.is_dir():
        raise _bad(f"{_quote(text)}: there is no directory {_quote(str(folder))}")
    if not os.access(folder, os.W_OK):
        raise _bad(f"{_quote(text)}: cannot write in {_quote(str(folder))}")
    if path.exists() and not os.access(path, os.W_OK):
        raise _bad(f"{_quote(text)}: the file exists and cannot be written")
    return text


def _instant(text: str) -> float:
    match = re.fullmatch(_NUMBER, text.strip())
    if match is None:
        raise _bad(f"expected a number of seconds, got {_quote(text)}")
    return _float(text, match.group(0))
