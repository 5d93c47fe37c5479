"""One validator for every number acdcore is given: durations, instants,
counts, priorities, rates, condition thresholds.

:func:`check_number` accepts an ``int`` or a ``float`` (a subclass of either
too, except ``bool``) and refuses everything else with the error class its
caller names (:class:`~acdcore.errors.ConfigError` for configuration,
:class:`~acdcore.errors.InvalidValue` for events and call data):

- ``True``/``False``, ``None``, strings, containers and any other type;
- NaN and infinities;
- an ``int`` too large to become a ``float`` (beyond about 1.8e308, where
  ``float()`` raises ``OverflowError``);
- with ``integer=True``, any ``float`` and any ``int`` beyond +-2**53
  (:data:`EXACT`), where the native backend, which holds numbers as doubles,
  could no longer hold it exactly;
- a value outside the bounds asked for (``minimum``, ``maximum``,
  ``positive``).

It returns the value unchanged except that ``-0.0`` becomes ``0.0``, so a
negative zero never shows in a configuration, a key or a report.
:func:`is_number` is the same test as a predicate, for code that must not
raise (conditions matching call attributes). :func:`show` renders any value
for an error message, briefly and without ever raising.
"""

from __future__ import annotations

from .errors import AcdError, ConfigError, InvalidValue

__all__ = [
    "EXACT",
    "RESOLUTION",
    "check_number",
    "check_seconds",
    "is_number",
    "show",
    "show_keys",
]

EXACT = 2**53
"""Integers in configuration and sort keys stay within +-2**53, where every
backend holds them exactly (the native one as doubles)."""

RESOLUTION = 0.001
"""The shortest positive duration a configuration may hold: 1 ms. A deadline
that repeats (a ring timeout with no no-answer delay, a periodic announcement,
a callback retry) fires at most once per such period, so ``advance`` always
makes progress at a bounded rate. Zero, where a field allows it, means "none"."""

_SHOW_LIMIT = 80


def show(value: object) -> str:
    """``repr(value)`` for an error message: at most about 80 characters, an
    ``int`` of any size by its digit count (``repr`` of an int of more than
    4300 digits raises ``ValueError``), and never an exception."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        digits = int(value.bit_length() * 0.30103) + 1
        sign = "-" if value < 0 else ""
        return f"{sign}an int of about {digits} digits"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__, or an int over the str-conversion limit
        return f"a {type(value).__name__}"
    if len(text) > _SHOW_LIMIT:
        return f"{text[: _SHOW_LIMIT - 20]}... ({len(text)} characters)"
    return text


def show_keys(keys: object) -> str:
    """Mapping keys of any types for an error message, as a sorted list
    (``['a', 'b']``); keys of mixed types do not sort, their renderings do."""
    try:
        items = list(keys)  # type: ignore[call-overload]
    except TypeError:
        return show(keys)
    return "[" + ", ".join(sorted(show(k) for k in items)) + "]"


def _expected(integer: bool, minimum: float | None, maximum: float | None, positive: bool) -> str:
    bounds = []
    if positive:
        bounds.append("> 0")
    if minimum is not None:
        bounds.append(f">= {minimum}")
    if maximum is not None:
        bounds.append(f"<= {maximum}")
    if integer:
        return " ".join(["an int", " and ".join(bounds)]) if bounds else "an int"
    return " and ".join(["finite", *bounds])


def _problem(
    value: object,
    integer: bool,
    minimum: float | None,
    maximum: float | None,
    positive: bool,
) -> str | None:
    """Why ``value`` is refused (a phrase to follow "must be"), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "an int" if integer else "a number"
    if isinstance(value, int):
        if integer:
            if not -EXACT <= value <= EXACT:
                return "an int within +-2**53"
        else:
            try:
                float(value)
            except OverflowError:
                return "a number within the range of a float"
    elif integer:
        return "an int"
    elif value != value or value in (_INF, -_INF):
        return _expected(integer, minimum, maximum, positive)
    if (
        (positive and not value > 0)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        return _expected(integer, minimum, maximum, positive)
    return None


_INF = float("inf")


def check_number(
    value: object,
    what: str,
    error: type[AcdError] = InvalidValue,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    integer: bool = False,
) -> float:
    """Return ``value`` (``-0.0`` as ``0.0``) if it is a usable number, else
    raise ``error`` with a message naming ``what``: ``"<what> must be
    <expectation>, got <value>"``.

    ``minimum``/``maximum``: inclusive bounds; ``positive``: strictly above 0;
    ``integer``: an ``int`` (not a ``bool``) within +-2**53. Without
    ``integer`` an ``int`` is accepted if ``float()`` can convert it. Cost:
    O(1) (O(digits) for an ``int`` larger than a machine word).
    """
    if type(value) is float and value - value == 0.0 and not integer:
        # The common case: a finite float (inf - inf and nan - nan are nan).
        if (
            (positive and not value > 0.0)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise error(
                f"{what} must be {_expected(False, minimum, maximum, positive)}, got {show(value)}"
            )
        return value + 0.0  # -0.0 + 0.0 is 0.0
    problem = _problem(value, integer, minimum, maximum, positive)
    if problem is not None:
        raise error(f"{what} must be {problem}, got {show(value)}")
    assert isinstance(value, (int, float))
    return value + 0.0 if isinstance(value, float) else value


def is_number(value: object) -> bool:
    """True when :func:`check_number` would accept ``value`` with no bounds:
    an ``int`` or ``float`` (not a ``bool``), finite, within a float's range.
    Never raises."""
    if type(value) is float:
        return value - value == 0.0
    return _problem(value, False, None, None, False) is None


def check_seconds(
    value: object, what: str, error: type[AcdError] = ConfigError, *, positive: bool = False
) -> float:
    """Return a configured duration (``-0.0`` as ``0.0``) if it is a finite
    number of seconds that is 0 (unless ``positive``) or at least
    :data:`RESOLUTION`; else raise ``error`` naming ``what``. Cost: O(1)."""
    seconds = check_number(value, what, error, minimum=None if positive else 0, positive=positive)
    if 0 < seconds < RESOLUTION:
        zero = "" if positive else "0 or "
        raise error(
            f"{what} must be {zero}at least {RESOLUTION} s (1 ms, the shortest period a "
            f"deadline may repeat at), got {show(value)}"
        )
    return seconds
