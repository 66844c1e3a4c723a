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


@pytest.mark.parametrize("penalty", ["wgan_gp", "dragan"])
def test_gradient_penalties_under_bf16_autocast_match_fp32(penalty):
    """The double-backward penalties keep their value and their gradient direction under bf16 autocast (bf16 has
    8 mantissa bits: ~1e-2 relative), so bf16-mixed trains the same objective."""
    from zoo import regularizers
    from zoo.nets.dcgan import DCGANDiscriminator

    torch.manual_seed(0)
    critic = DCGANDiscriminator((1, 28, 28), width=8, norm="none")
    real, fake = torch.rand(8, 1, 28, 28) * 2 - 1, torch.rand(8, 1, 28, 28) * 2 - 1
    results = []
    for dtype in (None, torch.bfloat16):
        critic.zero_grad()
        g = torch.Generator().manual_seed(1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
            if penalty == "wgan_gp":
                value = regularizers.gradient_penalty(critic, real, fake, generator=g)
            else:
                value = regularizers.dragan_penalty(critic, real, generator=g)
        value.backward()
        grad = torch.cat([p.grad.flatten() for p in critic.parameters() if p.grad is not None])
        results.append((value.float(), grad))
    (v32, g32), (v16, g16) = results
    assert v32 > 0 and torch.isfinite(v16)
    assert abs(float(v16 - v32)) <= 0.05 * float(v32)
    assert float(torch.nn.functional.cosine_similarity(g16, g32, dim=0)) > 0.99


def test_lightning_autocast_keeps_no_weight_casts_across_updates():
    """A whole manual-optimization ``training_step`` runs inside one autocast context. With autocast's weight-cast
    cache on, a bf16 copy of a trainable weight made before that weight's ``step()`` would be reused after it
    (BEGAN's k pass re-scores D right after D's and G's updates; the toggle keeps other variants safe). Lightning
    turns the cache off; this pins it, so an upgrade that turned it on fails here rather than silently."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    context = MixedPrecision("bf16-mixed", "cpu").autocast_context_manager()
    assert context._cache_enabled is False
