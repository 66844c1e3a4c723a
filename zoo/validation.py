"""Argument checks shared by models, nets and datamodules: every error names the fix."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any


def require_positive(name: str, value: float | int, fix: str = "") -> None:
    """Raise ``ValueError`` unless ``value > 0``."""
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}. {fix}".rstrip())


def require_at_least(name: str, value: int, minimum: int, fix: str = "") -> None:
    """Raise ``ValueError`` unless ``value >= minimum``."""
    if not value >= minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}. {fix}".rstrip())


def require_choice(name: str, value: Any, choices: Iterable[Any] | Mapping[Any, Any]) -> None:
    """Raise ``ValueError`` listing the valid choices unless ``value`` is one of them."""
    valid = list(choices)
    if value not in valid:
        listed = ", ".join(repr(c) for c in valid)
        raise ValueError(f"unknown {name} {value!r}; valid choices: {listed}.")


def require_finite(values: Mapping[str, Any], fix: str = "", allow_inf: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` naming the first float in ``values`` (also inside lists, tuples and dicts) that is NaN or
    infinite: a learning rate, beta, loss weight or clip value of ``inf``/``nan`` trains to non-finite weights.

    ``allow_inf`` names the values where an infinity is a meaningful setting (a weight whose default is ``inf``,
    "the limit term alone"); they still refuse NaN."""
    allowed = set(allow_inf)
    for name, value in values.items():
        if name in allowed and isinstance(value, numbers.Real) and math.isinf(value):
            continue
        bad = _first_non_finite(name, value)
        if bad is not None:
            where, number = bad
            raise ValueError(f"{where} must be a finite number, got {number!r}. {fix}".rstrip())


def _first_non_finite(name: str, value: Any) -> tuple[str, float] | None:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):  # float, numpy floats
        return None if math.isfinite(value) else (name, float(value))
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, Any]] = ((f"{name}[{k!r}]", v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{name}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        bad = _first_non_finite(where, item)
        if bad is not None:
            return bad
    return None
