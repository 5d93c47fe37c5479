"""Plain JSON forms of internal records, for snapshots (internal).

A snapshot writes the distributor's, the estimators' and the metrics' live
records (attrs classes of plain fields) as JSON data and reads them back. A
:class:`Form` is one value's way there and back: ``dump(value, where)`` gives
JSON data, ``load(data, where)`` the value again, and either raises
:class:`~acdcore.errors.InvalidValue` naming ``where`` (``snapshot.calls[3].
channel``) when the value or the data is not what the form holds.

:func:`record` builds the form of an attrs class from its fields: a field
typed ``str``, ``int``, ``float``, ``bool`` (or one of them ``| None``) needs
nothing more; any other field must be given its form or listed as derived
(rebuilt after loading), and a class with an unhandled field fails when its
form is built, at import, so a field added later cannot be silently lost.

Numbers: a float is written as JSON writes it (``repr``, exact both ways);
an infinity as the string ``"inf"``/``"-inf"``; NaN has no form. Cost: O(size).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .errors import InvalidValue
from .values import show

__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "NUMBER",
    "STR",
    "Form",
    "dict_of",
    "enum_of",
    "fixed",
    "list_of",
    "optional",
    "pairs",
    "record",
    "require_keys",
    "set_of",
    "tuple_of",
]


@attrs.frozen
class Form:
    """How one kind of value becomes JSON data and comes back."""

    dump: Callable[[Any, str], Any]
    load: Callable[[Any, str], Any]


def _bad(where: str, what: str, value: Any) -> InvalidValue:
    return InvalidValue(f"{where} must be {what}, got {show(value)}")


def _scalar(kind: type[Any], what: str) -> Form:
    def dump(value: Any, where: str) -> Any:
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise _bad(where, what, value)
        return value

    return Form(dump, dump)


STR = _scalar(str, "a string")
INT = _scalar(int, "an integer")
BOOL = _scalar(bool, "true or false")

_INF = {"inf": math.inf, "-inf": -math.inf}


def _dump_float(value: Any, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise _bad(where, "a number", value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)


def _load_float(data: Any, where: str) -> float:
    if isinstance(data, str) and data in _INF:
        return _INF[data]
    if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
        raise _bad(where, 'a number (or "inf", "-inf")', data)
    return float(data)


FLOAT = Form(_dump_float, _load_float)


def _dump_number(value: Any, where: str) -> Any:
    return value if type(value) is int else _dump_float(value, where)


def _load_number(data: Any, where: str) -> Any:
    return data if type(data) is int else _load_float(data, where)


NUMBER = Form(_dump_number, _load_number)
"""An int stays an int and a float a float (JSON keeps ``1`` and ``1.0`` apart)."""


def optional(form: Form) -> Form:
    """``None`` or a value of ``form``."""
    return Form(
        lambda v, w: None if v is None else form.dump(v, w),
        lambda d, w: None if d is None else form.load(d, w),
    )


def _items(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise _bad(where, "a list", data)
    return data


def list_of(form: Form) -> Form:
    """A list of values of ``form``."""
    return Form(
        lambda v, w: [form.dump(x, f"{w}[{i}]") for i, x in enumerate(v)],
        lambda d, w: [form.load(x, f"{w}[{i}]") for i, x in enumerate(_items(d, w))],
    )


def tuple_of(form: Form) -> Form:
    """A tuple of values of ``form`` (a JSON list)."""
    inner = list_of(form)
    return Form(inner.dump, lambda d, w: tuple(inner.load(d, w)))


def fixed(*forms: Form) -> Form:
    """A tuple of fixed length, each position of its own form (a JSON list)."""

    def load(data: Any, where: str) -> tuple[Any, ...]:
        items = _items(data, where)
        if len(items) != len(forms):
            raise _bad(where, f"a list of {len(forms)} items", data)
        return tuple(
            f.load(x, f"{where}[{i}]") for i, (f, x) in enumerate(zip(forms, items, strict=True))
        )

    return Form(
        lambda v, w: [
            f.dump(x, f"{w}[{i}]") for i, (f, x) in enumerate(zip(forms, v, strict=True))
        ],
        load,
    )


def set_of(form: Form) -> Form:
    """A set of values of ``form``, written sorted (a JSON list)."""
    inner = list_of(form)

    def load(data: Any, where: str) -> set[Any]:
        items = inner.load(data, where)
        if len(set(items)) != len(items):
            raise InvalidValue(f"{where}: a value appears twice")
        return set(items)

    return Form(lambda v, w: inner.dump(sorted(v), w), load)


def pairs(key: Form, value: Form) -> Form:
    """A dict with keys of any form, as a list of ``[key, value]`` pairs in
    the dict's order (its order is kept: some dicts are ordered sets)."""

    def load(data: Any, where: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for i, pair in enumerate(_items(data, where)):
            at = f"{where}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise _bad(at, "a [key, value] pair", pair)
            k = key.load(pair[0], f"{at}[0]")
            if k in out:
                raise InvalidValue(f"{at}: key {show(k)} appears twice")
            out[k] = value.load(pair[1], f"{at}[1]")
        return out

    return Form(
        lambda v, w: [
            [key.dump(k, f"{w}[{i}][0]"), value.dump(x, f"{w}[{i}][1]")]
            for i, (k, x) in enumerate(v.items())
        ],
        load,
    )


def dict_of(value: Form) -> Form:
    """A dict with string keys, as a JSON object (in the dict's order)."""

    def dump(v: Any, where: str) -> dict[str, Any]:
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise _bad(where, "a mapping with string keys", k)
            out[k] = value.dump(x, f"{where}.{k}")
        return out

    def load(data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise _bad(where, "a JSON object", data)
        return {k: value.load(x, f"{where}.{k}") for k, x in data.items()}

    return Form(dump, load)


def enum_of(cls: type[enum.Enum]) -> Form:
    """A member of ``cls``, by its value."""

    def load(data: Any, where: str) -> enum.Enum:
        try:
            return cls(data)
        except (ValueError, TypeError):
            names = ", ".join(show(m.value) for m in cls)
            raise _bad(where, f"one of {names}", data) from None

    return Form(lambda v, w: v.value, load)


def require_keys(data: Any, where: str, keys: Iterable[str]) -> dict[str, Any]:
    """``data`` as a JSON object with exactly ``keys``; else InvalidValue
    naming the first key missing or unknown."""
    if not isinstance(data, dict):
        raise _bad(where, "a JSON object", data)
    wanted = list(keys)
    for k in wanted:
        if k not in data:
            raise InvalidValue(f"{where}.{k} is missing")
    for k in data:
        if k not in wanted:
            raise InvalidValue(f"{where}: unknown field {show(k)}")
    return data


_BY_TYPE = {
    "str": STR,
    "int": INT,
    "float": FLOAT,
    "bool": BOOL,
    "str | None": optional(STR),
    "int | None": optional(INT),
    "float | None": optional(FLOAT),
}


def record(
    cls: type[Any],
    forms: dict[str, Form] | None = None,
    derived: Iterable[str] = (),
    *,
    build: bool = True,
) -> Form:
    """The form of the attrs class ``cls``: a JSON object of its fields.

    ``forms`` gives the form of each field not of a plain type; ``derived``
    names fields left out (rebuilt by the caller after loading: they take
    their defaults). Raises :class:`TypeError` (a programming error) for a
    field with no form. The loaded record is built by ``cls``'s constructor;
    with ``build=False`` loading gives the constructor's keyword arguments
    instead (for a record whose derived fields have no default).
    """
    forms = dict(forms or {})
    skip = set(derived)
    fields: list[tuple[str, str, Form]] = []
    for f in attrs.fields(cls):
        if f.name in skip:
            continue
        form = forms.pop(f.name, None) or _BY_TYPE.get(str(f.type))
        if form is None:
            raise TypeError(f"{cls.__name__}.{f.name} ({f.type}) has no snapshot form")
        init = f.alias if f.alias is not None else f.name
        fields.append((f.name, init, form))
    if forms:
        raise TypeError(f"{cls.__name__} has no field {sorted(forms)[0]}")
    names = [name for name, _, _ in fields]

    def dump(value: Any, where: str) -> dict[str, Any]:
        return {
            name: form.dump(getattr(value, name), f"{where}.{name}") for name, _, form in fields
        }

    def load(data: Any, where: str) -> Any:
        data = require_keys(data, where, names)
        kwargs = {init: form.load(data[name], f"{where}.{name}") for name, init, form in fields}
        if not build:
            return kwargs
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"{where}: {exc}") from None

    return Form(dump, load)
