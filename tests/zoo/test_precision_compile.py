"""bf16 autocast and torch.compile work for every registered variant (CPU: they run and stay finite)."""

from __future__ import annotations

import warnings

import pytest
import torch

from callbacks import DivergenceGuard
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import list_variants
from zoo.precision import cpu_bf16_units, native_bf16, warn_if_bf16_is_emulated


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


@pytest.mark.parametrize("avx512_bf16, amx, warns", [(False, False, True), (True, False, False), (False, True, False)])
def test_bf16_on_a_cpu_without_bf16_units_warns_and_names_the_fix(
    avx512_bf16, amx, warns, fashion_dir, monkeypatch, tmp_path
):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    trainer = tiny_trainer(tmp_path, max_steps=2, precision="bf16-mixed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(tiny_model("GAN"), tiny_data("GAN", fashion_dir))
    emulated = [w for w in caught if "bf16 is emulated" in str(w.message)]
    assert len(emulated) == int(warns)
    if warns:
        assert 'precision="32-true"' in str(emulated[0].message)


def test_fp32_never_warns_about_bf16(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not warn_if_bf16_is_emulated(tiny_trainer(tmp_path), "cpu")
    assert warn_if_bf16_is_emulated(tiny_trainer(tmp_path, precision="bf16-mixed"), "cpu")


def test_native_bf16_reads_the_cpu_units(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not native_bf16("cpu") and cpu_bf16_units() == {"avx512_bf16": False, "amx_tile": False}
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert native_bf16("cpu") and cpu_bf16_units()["amx_tile"]
