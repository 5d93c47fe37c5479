"""Named probability distributions for the simulator: handle time, patience,
answer delay.

Every distribution samples from a ``random.Random`` handed to it, never from
global state, so a seeded generator gives the same draws on every run. The
number of draws one sample takes is part of the contract (the simulator
documents its draw order on top of it):

============== ============================================= ==================
kind           parameters                                    draws per sample
============== ============================================= ==================
deterministic  ``value`` (``inf`` allowed: "never")          none
exponential    ``mean``                                      one ``random()``
lognormal      ``mean``, ``sd`` (of the distribution itself) ``normalvariate``
uniform        ``low``, ``high``                             one ``random()``
empirical      ``values`` or ``file`` (+ ``column``)         one ``random()``
============== ============================================= ==================

``normalvariate`` (Kinderman-Monahan) takes two or more ``random()`` calls; the
count depends only on the generator's state, so it is still deterministic.
Empirical sampling is a bootstrap: each sample is one of the observed values,
picked uniformly; it holds at most :data:`MAX_SAMPLES` values.

The dict form (as in TOML) is ``{kind = "lognormal", mean = 180, sd = 90}``;
:func:`distribution_from_dict` builds it and ``to_dict()`` gives it back.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .errors import ConfigError

__all__ = [
    "MAX_SAMPLES",
    "Deterministic",
    "Distribution",
    "Empirical",
    "Exponential",
    "LogNormal",
    "Uniform",
    "distribution_from_dict",
]

MAX_SAMPLES = 1_000_000
"""The most values an empirical distribution holds (inline or from a file)."""


def _show(value: object) -> str:
    """``repr(value)``, shortened: an error message stays one readable line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an int of {len(str(abs(value))) if value.bit_length() < 13_000 else 'many'} digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + "..." + text[-10:]


@runtime_checkable
class Distribution(Protocol):
    """A non-negative random duration, in seconds."""

    @property
    def kind(self) -> str:
        """The name used in the dict form (``"exponential"``...)."""
        ...

    @property
    def mean(self) -> float:
        """The expected value (``inf`` for a deterministic infinity)."""
        ...

    def sample(self, rng: random.Random) -> float:
        """One value drawn from ``rng``."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The dict form, which :func:`distribution_from_dict` reads back."""
        ...


def _number(value: object, what: str, *, positive: bool = False, infinite: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what}: must be a number, got {_show(value)}")
    try:
        v = float(value)
    except OverflowError:  # an int too large for a float
        v = math.inf if value > 0 else -math.inf
    if math.isnan(v) or (math.isinf(v) and not (infinite and v > 0 and isinstance(value, float))):
        raise ConfigError(f"{what}: must be finite, got {_show(value)}")
    if v < 0 or (positive and v == 0):
        raise ConfigError(f"{what}: must be {'> 0' if positive else '>= 0'}, got {_show(value)}")
    return v


@attrs.frozen
class Deterministic:
    """Always ``value`` seconds; draws nothing. ``inf`` means "never" (a
    caller who never hangs up)."""

    value: float

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "value", _number(self.value, "value", infinite=True))

    @property
    def kind(self) -> str:
        return "deterministic"

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: random.Random) -> float:
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "deterministic", "value": float(self.value)}


@attrs.frozen
class Exponential:
    """Exponential with mean ``mean`` seconds (memoryless: Poisson
    processes, Erlang models); one ``random()`` per sample."""

    mean: float
    _rate: float = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        mean = _number(self.mean, "mean", positive=True)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "_rate", 1.0 / mean)

    @property
    def kind(self) -> str:
        return "exponential"

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(self._rate)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "exponential", "mean": float(self.mean)}


@attrs.frozen
class LogNormal:
    """Log-normal with the given ``mean`` and standard deviation ``sd`` of the
    distribution itself (not of its logarithm): ``sigma^2 = ln(1 +
    sd^2/mean^2)``, ``mu = ln(mean) - sigma^2/2``. The usual shape of talk
    times. ``sd = 0`` is allowed and gives ``mean`` every time (still drawing)."""

    mean: float
    sd: float
    _mu: float = attrs.field(init=False, repr=False, eq=False)
    _sigma: float = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        mean = _number(self.mean, "mean", positive=True)
        sd = _number(self.sd, "sd")
        ratio = sd / mean
        if ratio > 1e100:  # (sd / mean) ** 2 would overflow; no talk time is this skewed
            raise ConfigError(f"sd: must be at most 1e100 times the mean, got {_show(sd)}")
        sigma2 = math.log1p(ratio * ratio)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "sd", sd)
        object.__setattr__(self, "_mu", math.log(mean) - sigma2 / 2)
        object.__setattr__(self, "_sigma", math.sqrt(sigma2))

    @property
    def kind(self) -> str:
        return "lognormal"

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(self._mu, self._sigma)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "lognormal", "mean": float(self.mean), "sd": float(self.sd)}


@attrs.frozen
class Uniform:
    """Uniform on ``[low, high]``; one ``random()`` per sample."""

    low: float
    high: float

    def __attrs_post_init__(self) -> None:
        low = _number(self.low, "low")
        high = _number(self.high, "high")
        if high < low:
            raise ConfigError(f"high: must not be below low ({_show(low)}), got {_show(high)}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def kind(self) -> str:
        return "uniform"

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "uniform", "low": float(self.low), "high": float(self.high)}


def _values(value: Sequence[float]) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(f"values: must be a list of numbers, got {_show(value)}")
    if len(value) > MAX_SAMPLES:
        raise ConfigError(f"values: at most {MAX_SAMPLES:,} values, got {len(value):,}")
    return tuple(_number(v, f"values[{i}]") for i, v in enumerate(value))


@attrs.frozen
class Empirical:
    """Resamples observed values (a bootstrap): each sample is one of
    ``values``, picked uniformly with one ``random()``. ``file`` and
    ``column`` record where the values came from (see :meth:`from_csv`), so
    ``to_dict`` can point at the file instead of listing them."""

    values: tuple[float, ...] = attrs.field(converter=_values)
    file: str | None = None
    column: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.values:
            raise ConfigError("values: must not be empty")

    @property
    def kind(self) -> str:
        return "empirical"

    @property
    def mean(self) -> float:
        try:
            return math.fsum(self.values) / len(self.values)
        except OverflowError:  # the sum passes the largest float; the mean need not
            n = len(self.values)
            return math.fsum(v / n for v in self.values)

    def sample(self, rng: random.Random) -> float:
        values = self.values
        return values[int(rng.random() * len(values))]

    def to_dict(self) -> dict[str, Any]:
        if self.file is not None:
            out: dict[str, Any] = {"kind": "empirical", "file": self.file}
            if self.column is not None:
                out["column"] = self.column
            return out
        return {"kind": "empirical", "values": [float(v) for v in self.values]}

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], column: str | None = None) -> Empirical:
        """Samples from a CSV file: the column named ``column``, or the first
        column. A first row that is not a number is taken as the header; blank
        cells are skipped. Raises :class:`~acdcore.errors.ConfigError` naming
        the file and line of a bad value."""
        name = os.fspath(path)
        rows: list[list[str]] = []
        try:
            with open(name, newline="", encoding="utf-8") as fh:
                for row in csv.reader(fh):
                    rows.append(row)
                    if len(rows) > MAX_SAMPLES + 1:  # + 1: a header
                        raise ConfigError(f"{_show(name)}: more than {MAX_SAMPLES:,} values")
        except ConfigError:
            raise
        except OSError as exc:
            raise ConfigError(f"cannot read {_show(name)}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{_show(name)} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"after line {len(rows)})"
            ) from None
        except (csv.Error, ValueError) as exc:  # a NUL byte, an oversized field
            raise ConfigError(f"{_show(name)} line {len(rows) + 1}: {exc}") from None
        index = 0
        start = 0
        if rows and rows[0] and not _is_number(rows[0][0] if column is None else ""):
            header = [h.strip() for h in rows[0]]
            start = 1
            if column is not None:
                if column not in header:
                    raise ConfigError(
                        f"{_show(name)}: no column {_show(column)} (columns: {header})"
                    )
                index = header.index(column)
        elif column is not None:
            raise ConfigError(
                f"{_show(name)}: column {_show(column)} given but the file has no header"
            )
        values = []
        for line, row in enumerate(rows[start:], start=start + 1):
            cell = row[index].strip() if index < len(row) else ""
            if not cell:
                continue
            try:
                values.append(_number(float(cell), "value"))
            except (ValueError, ConfigError):
                raise ConfigError(
                    f"{_show(name)} line {line}: {_show(cell)} is not a number >= 0"
                ) from None
        if not values:
            raise ConfigError(f"{_show(name)}: no values")
        return cls(tuple(values), file=name, column=column)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_FIELDS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    # kind: (class, its keys)
    "deterministic": (Deterministic, ("value",)),
    "exponential": (Exponential, ("mean",)),
    "lognormal": (LogNormal, ("mean", "sd")),
    "uniform": (Uniform, ("low", "high")),
}


def distribution_from_dict(
    spec: Mapping[str, Any] | float,
    *,
    where: str = "distribution",
    base_dir: str | os.PathLike[str] | None = None,
) -> Distribution:
    """Build a distribution from its dict form; a bare number is a
    deterministic value. An empirical ``file`` is read relative to
    ``base_dir`` (default: the working directory).

    Raises :class:`~acdcore.errors.ConfigError` whose message starts with the
    path of the offending entry under ``where``: ``handle.mean: must be > 0,
    got -3``.
    """
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        try:
            return Deterministic(spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}:{str(exc).removeprefix('value:')}") from None
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: a distribution is a table or a number, got {_show(spec)}")
    kind = spec.get("kind")
    if kind == "empirical":
        keys: tuple[str, ...] = ("values", "file", "column")
    elif isinstance(kind, str) and kind in _FIELDS:
        keys = _FIELDS[kind][1]
    else:
        known = ", ".join([*_FIELDS, "empirical"])
        raise ConfigError(f"{where}.kind: {_show(kind)} is not a distribution (use one of {known})")
    for key in spec:
        if key != "kind" and key not in keys:
            raise ConfigError(f"{where}.{key}: unknown key for a {kind} distribution")
    if kind != "empirical":
        for key in keys:
            if key not in spec:
                raise ConfigError(f"{where}.{key}: missing (a {kind} distribution needs {keys})")
        try:
            built: Distribution = _FIELDS[kind][0](**{k: spec[k] for k in keys})
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None
        return built
    if ("values" in spec) == ("file" in spec):
        raise ConfigError(f"{where}: an empirical distribution needs exactly one of values, file")
    if "values" in spec:
        if "column" in spec:
            raise ConfigError(f"{where}.column: only with file")
        try:
            return Empirical(spec["values"])
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None
    file, column = spec["file"], spec.get("column")
    if not isinstance(file, str) or not file:
        raise ConfigError(f"{where}.file: must be a path, got {_show(file)}")
    if column is not None and (not isinstance(column, str) or not column):
        raise ConfigError(f"{where}.column: must be a column name, got {_show(column)}")
    path = file if base_dir is None else os.path.join(os.fspath(base_dir), file)
    try:
        return Empirical.from_csv(path, column)
    except ConfigError as exc:
        raise ConfigError(f"{where}.file: {exc}") from None
