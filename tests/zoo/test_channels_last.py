"""``channels_last=True`` (issue 19): every variant trains with NHWC weights, the maths is the one of the default
layout, and a killed-and-resumed run with the option on ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from tests.conftest import tiny_trainer, write_idx_dataset
from tests.zoo.test_kill_resume import kill_and_resume
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import GAN, list_variants

NHWC = torch.channels_last


def four_d_weights(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(name, p) for name, p in model.named_parameters() if p.dim() == 4]


@pytest.mark.parametrize("name", list_variants())
def test_every_variant_trains_channels_last(name, fashion_dir, tmp_path):
    model = tiny_model(name, channels_last=True)
    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, tiny_data(name, fashion_dir))
    weights = four_d_weights(model)
    if model.image_shape is not None and len(model.image_shape) == 3:
        assert weights, f"{name}: no convolution weights to lay out"
    for key, p in weights:
        assert p.is_contiguous(memory_format=NHWC), key
    assert not weights or any(not p.is_contiguous() for _, p in weights)  # (a 1-channel weight is both layouts)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_default_layout_is_unchanged(fashion_dir, tmp_path):
    model = tiny_model("GAN")
    tiny_trainer(tmp_path, max_steps=2).fit(model, tiny_data("GAN", fashion_dir))
    assert all(p.is_contiguous() for _, p in four_d_weights(model))


def test_channels_last_is_the_same_arithmetic(fashion_dir, tmp_path):
    torch.manual_seed(0)
    template = GAN(image_shape=(1, 28, 28), latent_dim=8, width=8)
    weights = {}
    for layout in (False, True):
        model = copy.deepcopy(template)
        model.hparams["channels_last"] = layout
        torch.manual_seed(1)
        tiny_trainer(tmp_path / str(layout), max_steps=6).fit(model, tiny_data("GAN", fashion_dir))
        weights[layout] = model.state_dict()
    moved = [k for k, v in weights[False].items() if not torch.equal(v, template.state_dict()[k])]
    assert moved
    for key, value in weights[False].items():
        torch.testing.assert_close(weights[True][key], value, rtol=1e-4, atol=1e-5, msg=key)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_idx_dataset(tmp_path_factory.mktemp("nhwcdata"), 96, 16)


def test_kill_then_resume_channels_last_is_bit_identical(tmp_path, data):
    kill_and_resume(tmp_path, data, "--variant", "GAN", "--model-kwargs", json.dumps({"channels_last": True}))
