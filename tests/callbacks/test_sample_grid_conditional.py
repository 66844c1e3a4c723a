"""SampleGrid for conditional models: one row per class with the same z down each column; InfoGAN's code sweep;
unconditional grids as before (stub models, ``tests.zoo.metrics.class_stubs``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.utils import make_grid

from callbacks.sample_grid import SampleGrid, class_rows, code_sweep, conditional_samples
from tests.zoo.metrics.class_stubs import LEVELS, SHAPE, K, StubConditional, StubUnconditional, decode
from zoo.sampling import fixed_z_samples


def cells(images: torch.Tensor, rows: int, columns: int) -> torch.Tensor:
    """Row-major samples as (rows, columns, C, H, W)."""
    return images.view(rows, columns, *images.shape[1:])


def test_a_class_grid_has_one_row_per_class_and_the_same_z_down_each_column():
    model = StubConditional()
    images = cells(conditional_samples(model, None, columns=5, seed=3), K, 5)
    assert all(torch.equal(decode(images[k]), torch.full((5,), k)) for k in range(K))  # row k shows class k
    noise = images - LEVELS[:, None, None, None, None]  # what z drew: equal in every row of a column
    assert torch.allclose(noise, noise[:1].expand_as(noise), atol=1e-6)
    assert not torch.allclose(noise[:, 0], noise[:, 1])  # and different z in different columns


def test_the_rows_can_be_chosen_and_are_checked():
    model = StubConditional()
    images = cells(class_rows(model, torch.tensor([3, 0, 3]), columns=4, seed=0), 3, 4)
    assert [decode(row).unique().tolist() for row in images] == [[3], [0], [3]]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\] \(4 classes\), got \[7\]"):
        conditional_samples(model, [1, 7], columns=4, seed=0)
    with pytest.raises(ValueError, match="is unconditional .*drop the labels"):
        conditional_samples(StubUnconditional(), [1], columns=4, seed=0)


def test_an_infogan_grid_sweeps_the_first_continuous_code_from_minus_two_to_two_with_the_same_noise():
    permutation = [2, 0, 3, 1]
    model = StubConditional("code", class_of=permutation, num_continuous=2)
    images = cells(conditional_samples(model, None, columns=5, seed=1), K, 5)
    assert [decode(images[c, 2:3]).item() for c in range(K)] == permutation  # row c: code c (at sweep value 0)
    sweep = torch.linspace(-2, 2, 5)
    # the stub draws LEVELS[class] + 0.1 * (first continuous code) + noise: take the code's part away and every cell
    # must hold the same noise (one draw for the whole grid)
    expected_shift = LEVELS[permutation][:, None] + 0.1 * sweep[None, :]
    noise = images - expected_shift[:, :, None, None, None]
    assert torch.allclose(noise, noise[:1, :1].expand_as(noise), atol=1e-5)
    assert float(noise[0, 0].std()) > 0.05  # (there is noise to compare)


def test_the_sweep_holds_the_other_continuous_codes_at_zero():
    seen = []

    class Recording(StubConditional):
        def generate_from(self, z, labels):
            seen.append(z.clone())
            return super().generate_from(z, labels)

    model = Recording("code", class_of=range(K), num_continuous=3)
    code_sweep(model, torch.arange(K), columns=3, seed=0)
    z = seen[0]
    assert torch.equal(z[:, -3], torch.tensor([-2.0, 0.0, 2.0]).repeat(K))
    assert torch.equal(z[:, -2:], torch.zeros(len(z), 2))
    assert torch.equal(z[:, :-3], z[:1, :-3].expand(len(z), -1))  # the same noise everywhere


def test_an_infogan_without_continuous_codes_gets_class_rows():
    model = StubConditional("code", class_of=[1, 0, 3, 2], num_continuous=0)
    images = cells(conditional_samples(model, None, columns=3, seed=0), K, 3)
    assert [decode(images[c]).unique().tolist() for c in range(K)] == [[1], [0], [3], [2]]


def test_the_grid_draws_in_eval_mode_without_gradients_and_restores_the_mode():
    states = []

    class Probe(nn.Module):
        def forward(self, x):
            states.append((self.training, torch.is_grad_enabled()))
            return x

    model = StubConditional()
    model.generator.probe = Probe()
    original = model.generator.forward
    model.generator.forward = lambda z, labels: model.generator.probe(original(z, labels))
    model.train()
    grid = SampleGrid(nrow=3, seed=0).grid(model)
    assert states and all(state == (False, False) for state in states)
    assert model.generator.training
    # the image: K rows of 3 columns of 8x8 images, make_grid's 2-pixel padding
    assert grid.shape == (3, K * (SHAPE[1] + 2) + 2, 3 * (SHAPE[2] + 2) + 2)


def test_unconditional_grids_are_unchanged():
    model = StubUnconditional()
    grid = SampleGrid(num_samples=6, nrow=3, seed=5).grid(model)
    expected = make_grid(fixed_z_samples(model, 6, 5), nrow=3, normalize=True, value_range=(-1, 1), pad_value=1.0)
    assert torch.equal(grid, expected)
    with pytest.raises(ValueError, match="unconditional"):
        SampleGrid(labels=[0, 1]).grid(model)
