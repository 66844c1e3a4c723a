"""Generator EMA (Yazıcı et al. 2019): the closed form after k generator updates, only G averaged, buffers copied,
and the sampling / metrics switch between the EMA and the trained generator."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from callbacks.sample_grid import SampleGrid
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo.metrics import MetricSettings, evaluate_generator
from zoo.sampling import fixed_z_samples, generator_weights, resolve_weights

BATCHES = 6  # with n_critic = 2: 6 critic updates, 3 generator updates


class GeneratorHistory(L.Callback):
    """theta^(0) before training and theta^(t) after each generator update t (read from the raw generator)."""

    def __init__(self) -> None:
        self.thetas: list[dict[str, torch.Tensor]] = []
        self.seen = 0

    def snapshot(self, pl_module) -> None:
        self.thetas.append({k: v.detach().clone() for k, v in pl_module.generator.named_parameters()})

    def on_train_start(self, trainer, pl_module) -> None:
        self.snapshot(pl_module)

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if pl_module.g_steps != self.seen:
            assert pl_module.g_steps == self.seen + 1
            self.seen = pl_module.g_steps
            self.snapshot(pl_module)


def train(tmp_path, fashion_dir, seed: int = 0, **kwargs):
    L.seed_everything(seed, verbose=False)
    model = tiny_model("GAN", n_critic=2, **kwargs)
    history = GeneratorHistory()
    trainer = tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=BATCHES, max_epochs=1, callbacks=[history])
    trainer.fit(model, tiny_data("GAN", fashion_dir))
    return model, history


def expected_average(thetas: list[dict[str, torch.Tensor]], betas: list[float]) -> dict[str, torch.Tensor]:
    """theta_EMA^(k) written out: sum_i w_i theta^(i), w_0 = prod_t beta_t, w_i = (1 - beta_i) prod_{t > i} beta_t."""
    k = len(thetas) - 1
    weights = []
    for i in range(k + 1):
        w = 1.0 if i == 0 else 1.0 - betas[i - 1]
        for t in range(i + 1, k + 1):
            w *= betas[t - 1]
        weights.append(w)
    assert abs(sum(weights) - 1.0) < 1e-9
    return {name: sum(w * theta[name].double() for w, theta in zip(weights, thetas)) for name in thetas[0]}


def assert_matches(model, expected) -> None:
    averaged = dict(model.generator_ema.named_parameters())
    assert set(averaged) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name].double(), value, rtol=0, atol=1e-6, msg=name)


def test_ema_equals_the_closed_form_after_k_generator_updates(tmp_path, fashion_dir):
    beta = 0.8
    model, history = train(tmp_path, fashion_dir, ema_decay=beta)
    assert (model.d_steps, model.g_steps) == (BATCHES, BATCHES // 2)  # decay steps on G updates, not on batches
    assert len(history.thetas) == model.g_steps + 1
    assert_matches(model, expected_average(history.thetas, [beta] * model.g_steps))
    # and it is not the generator itself: the average lags behind
    assert not torch.equal(next(model.generator_ema.parameters()), next(model.generator.parameters()))


def test_warm_up_copies_then_ramp_follows_its_schedule(tmp_path, fashion_dir):
    decay, start = 0.95, 1
    model, history = train(tmp_path, fashion_dir, ema_decay=decay, ema_start=start, ema_rampup=True)
    # step 1 <= start: a copy (beta 0); after: min(decay, (1 + t) / (10 + t)), t = step - start
    betas = [0.0 if s <= start else min(decay, (1 + s - start) / (10 + s - start)) for s in range(1, model.g_steps + 1)]
    assert betas[:2] == [0.0, pytest.approx(2 / 11)]  # t = 1 at step 2
    assert_matches(model, expected_average(history.thetas, betas))


def test_only_the_generator_is_averaged_and_training_is_unchanged(tmp_path, fashion_dir):
    with_ema, _ = train(tmp_path, fashion_dir, ema_decay=0.9)
    without, _ = train(tmp_path, fashion_dir)
    plain = without.state_dict()
    averaged = with_ema.state_dict()
    generator_keys = {f"generator_ema.{k}" for k in without.generator.state_dict()}
    assert set(averaged) == set(plain) | generator_keys  # one averaged net: G's; no copy of D anywhere
    assert not any(p.requires_grad for p in with_ema.generator_ema.parameters())
    for key, value in plain.items():  # the EMA changes neither G's nor D's training (no RNG drawn, D untouched)
        assert torch.equal(averaged[key], value), key


def test_batch_norm_buffers_are_copied_from_the_generator(tmp_path, fashion_dir):
    model, _ = train(tmp_path, fashion_dir, ema_decay=0.9)
    buffers = dict(model.generator.named_buffers())
    assert any("running_mean" in name for name in buffers)  # the DCGAN generator has batch norm
    for name, value in model.generator_ema.named_buffers():
        assert torch.equal(value, buffers[name]), name


def test_sampling_grids_and_metrics_use_the_ema_when_present_with_a_switch(tmp_path, fashion_dir):
    model, _ = train(tmp_path, fashion_dir, ema_decay=0.5)
    assert resolve_weights(model) == "ema" and resolve_weights(model, "raw") == "raw"
    raw = fixed_z_samples(model, 4, 0)
    with generator_weights(model, "ema") as used:
        assert used == "ema" and model.generator is model.generator_ema
        ema = fixed_z_samples(model, 4, 0)
    assert model.generator is not model.generator_ema  # restored
    assert not torch.equal(raw, ema)
    torch.testing.assert_close(
        SampleGrid(num_samples=4, nrow=2).grid(model), SampleGrid(num_samples=4, nrow=2, weights="ema").grid(model)
    )
    assert not torch.equal(
        SampleGrid(num_samples=4, nrow=2).grid(model), SampleGrid(num_samples=4, nrow=2, weights="raw").grid(model)
    )
    data = tiny_data("GAN", fashion_dir)
    data.setup("fit")
    records = {}
    for weights in ("auto", "raw"):
        settings = MetricSettings(metrics="fid", num_fake=16, num_real=16, batch_size=8, weights=weights)
        records[weights] = evaluate_generator(model, data, settings)
    assert records["auto"][1]["generator_weights"] == "ema"
    assert records["raw"][1]["generator_weights"] == "raw"
    assert records["auto"][0]["fid"] != records["raw"][0]["fid"]
    plain, _ = train(tmp_path, fashion_dir)
    assert resolve_weights(plain) == "raw"
    with pytest.raises(ValueError, match="keeps no generator EMA"):
        resolve_weights(plain, "ema")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ema_decay": 1.0}, r"\[0, 1\)"),
        ({"ema_decay": -0.1}, r"\[0, 1\)"),
        ({"ema_decay": 0.9, "ema_start": -1}, "ema_start"),
    ],
)
def test_bad_ema_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model("GAN", **kwargs)
