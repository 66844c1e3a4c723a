"""The registry of variants: the CLI, the tests and the benchmarks all enumerate variants from here."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T", bound=type)

_VARIANTS: dict[str, type] = {}


def register_variant(cls: T) -> T:
    """Class decorator: make a variant visible to ``list_variants`` / ``get_variant`` under its name."""
    _VARIANTS[cls.__name__] = cls
    return cls


def list_variants() -> list[str]:
    """Names of all registered variants, in registration order."""
    import zoo.models  # noqa: F401  (importing the package registers every variant)

    return list(_VARIANTS)


def get_variant(name: str) -> type:
    """The variant class registered as ``name``; the error lists the registered names."""
    names = list_variants()
    if name not in _VARIANTS:
        raise ValueError(f"unknown variant {name!r}; registered variants: {', '.join(names)}.")
    return _VARIANTS[name]
