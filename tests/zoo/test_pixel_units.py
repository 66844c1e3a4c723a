"""Pixel units (``zoo.pixel_units``): the [-1, 1] -> [0, 1] map and the input-gradient scale it implies."""

from __future__ import annotations

import pytest
import torch

from zoo.pixel_units import PIXEL_UNITS, check_pixel_units, function_of_units, to_units


def test_to_units_closed_forms():
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0])
    assert torch.equal(to_units(x, "data"), x)
    assert torch.equal(to_units(x, "zero_one"), torch.tensor([0.0, 0.5, 0.75, 1.0]))


def test_gradient_in_zero_one_units_is_twice_the_datas():
    """f(x) = sum x^2: df/dx = 2x; as a function of u = (x + 1) / 2, df/du = 2 df/dx = 4x."""
    x = torch.tensor([[-0.5, 0.25, 1.0]])
    f = lambda v: v.pow(2).sum(dim=1)  # noqa: E731
    u = to_units(x, "zero_one").requires_grad_(True)
    (grad_u,) = torch.autograd.grad(function_of_units(f, "zero_one")(u).sum(), u)
    torch.testing.assert_close(grad_u, 4 * x)
    assert function_of_units(f, "data") is f


def test_unknown_units_are_refused_naming_the_choices():
    assert PIXEL_UNITS == ("data", "zero_one") and check_pixel_units("data") == "data"
    with pytest.raises(ValueError, match="pixel_units.*zero_one"):
        to_units(torch.zeros(1), "bytes")
