"""The pixel units a loss or penalty is measured in: the data as given (the zoo's images in [-1, 1]) or pixels mapped
to [0, 1], the units of Lucic et al. 2018's code (google/compare_gan feeds its nets [0, 1] images).

Measured in [0, 1] units, a reconstruction error |v - D(v)| is half the one in [-1, 1] units, and an input gradient
||grad_u f|| is twice ||grad_x f|| (x = 2u - 1). Variants that offer ``pixel_units="zero_one"`` (BEGAN's L(v),
DRAGAN's penalty) use these helpers to reproduce compare_gan's numbers exactly rather than up to a factor.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from zoo.validation import require_choice

#: ``data``: the data as given; ``zero_one``: pixels mapped from [-1, 1] to [0, 1] (compare_gan)
PIXEL_UNITS = ("data", "zero_one")


def check_pixel_units(units: str) -> str:
    """``units`` if it is one of ``PIXEL_UNITS``; a ValueError naming the choices otherwise."""
    require_choice("pixel_units", units, PIXEL_UNITS)
    return units


def to_units(x: Tensor, units: str) -> Tensor:
    """``x`` (data in [-1, 1]) in ``units``: unchanged for ``data``, (x + 1) / 2 for ``zero_one``."""
    return (x + 1) / 2 if check_pixel_units(units) == "zero_one" else x


def function_of_units(f: Callable[[Tensor], Tensor], units: str) -> Callable[[Tensor], Tensor]:
    """``f`` (a function of data in [-1, 1]) as a function of inputs in ``units``: u -> f(2u - 1) for ``zero_one``,
    so an input gradient taken through it is in those units."""
    if check_pixel_units(units) == "data":
        return f
    return lambda u: f(u * 2 - 1)


__all__ = ["PIXEL_UNITS", "check_pixel_units", "function_of_units", "to_units"]
