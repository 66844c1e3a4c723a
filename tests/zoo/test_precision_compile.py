"""bf16 autocast and torch.compile work for every registered variant (CPU: they run and stay finite)."""

from __future__ import annotations

import pytest
import torch

from callbacks import DivergenceGuard
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import list_variants


@pytest.mark.parametrize("name", list_variants())
def test_bf16_mixed_step_is_finite(name, fashion_dir, tmp_path):
    model = tiny_model(name)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2, precision="bf16-mixed")
    trainer.fit(model, tiny_data(name, fashion_dir))
    assert model.last_losses and all(torch.isfinite(v).all() for v in model.last_losses.values())
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("name", list_variants())
def test_compile_flag_compiles_every_net_and_keeps_checkpoint_keys(name, fashion_dir, tmp_path):
    model = tiny_model(name, compile="eager")  # the eager backend exercises dynamo without a C++ toolchain
    keys = set(model.state_dict()) if model.image_shape else None
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2, callbacks=[DivergenceGuard()])
    trainer.fit(model, tiny_data(name, fashion_dir))
    nets = list(model.children())
    assert nets and all(getattr(net, "_compiled_call_impl", None) is not None for net in nets)
    assert keys is None or set(model.state_dict()) == keys
    assert not any("_orig_mod" in k for k in model.state_dict())
