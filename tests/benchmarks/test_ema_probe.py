"""``benchmarks.ema_probe.recompute_batch_norm``: the recomputed running statistics are the mean and variance of the
generator's own activations over the recomputation batches, and the original generator is left untouched."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from benchmarks.ema_probe import BN_SEED, ExtraAverages, max_abs_difference, recompute_batch_norm
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model


class Prior:
    device = torch.device("cpu")

    def sample_z(self, n, generator=None):
        return torch.randn(n, 3, generator=generator)


def test_recomputed_statistics_are_the_moments_of_the_generators_own_activations():
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    generator[1].running_mean.fill_(5.0)  # stale statistics, as copied from another generator
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    recomputed = recompute_batch_norm(generator, Prior(), batches=3, batch_size=8)
    rng = torch.Generator().manual_seed(BN_SEED)
    z = torch.cat([torch.randn(8, 3, generator=rng) for _ in range(3)])
    with torch.no_grad():
        h = generator[0](z).view(3, 8, 4)
    norm = recomputed[1]
    torch.testing.assert_close(norm.running_mean, h.mean(dim=1).mean(dim=0))
    torch.testing.assert_close(norm.running_var, h.var(dim=1, unbiased=True).mean(dim=0))
    assert not recomputed.training
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_a_generator_without_batch_norm_is_refused():
    with pytest.raises(ValueError, match="no batch norm"):
        recompute_batch_norm(nn.Linear(3, 4), Prior(), batches=1, batch_size=2)


class GeneratorRecorder(L.Callback):
    """The generator's parameters after every generator update, recorded independently of the averages."""

    def __init__(self) -> None:
        self.states: list[list[torch.Tensor]] = []
        self.initial: list[torch.Tensor] = []
        self.seen = 0

    def on_fit_start(self, trainer, module):  # theta^(0): the nets are built in setup
        self.initial = [p.detach().clone() for p in module.generator.parameters()]

    def on_train_batch_end(self, trainer, module, *args):
        if int(module.g_steps) > self.seen:
            self.seen = int(module.g_steps)
            self.states.append([p.detach().clone() for p in module.generator.parameters()])


def test_extra_averages_follow_the_models_own_rule_at_every_decay(tmp_path, fashion_dir):
    """At the cell's decay the extra average is the model's EMA exactly; at another decay it is the closed form
    theta_EMA <- beta_t theta_EMA + (1 - beta_t) theta_t with the cell's warm-up (start 1, ramp-up), by hand."""
    L.seed_everything(0, verbose=False)
    model = tiny_model("GAN", ema_decay=0.9, ema_start=1, ema_rampup=True)
    extra, recorder = ExtraAverages([0.9, 0.2], start=1, rampup=True), GeneratorRecorder()
    trainer = tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=6, max_epochs=1, callbacks=[extra, recorder])
    trainer.fit(model, tiny_data("GAN", fashion_dir))
    assert len(recorder.states) == 6
    assert max_abs_difference(extra.averages[0.9], model.generator_ema) == 0.0
    expected = recorder.initial
    for t, state in enumerate(recorder.states, start=1):
        beta = 0.0 if t <= 1 else min(0.2, (1 + (t - 1)) / (10 + (t - 1)))
        expected = [beta * e + (1 - beta) * p for e, p in zip(expected, state)]
    for got, want in zip(extra.averages[0.2].parameters(), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert max_abs_difference(extra.averages[0.2], model.generator_ema) > 1e-5  # the decay matters
