"""Argument checks shared by models, nets and datamodules: every error names the fix."""

from __future__ import annotations

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
