"""The EMA generator's batch-norm statistics recomputed for its averaged weights (``ema_bn="recompute"``,
``zoo.ema.recompute_batch_norm``, as ``torch.optim.swa_utils.update_bn``): the cumulative batch statistics, drawn on
a copy from a local seeded generator, the saved EMA and the global RNG untouched, recorded in metric protocols."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tests.zoo.test_ema import train
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import ProjectionGAN
from zoo.ema import RECOMPUTE_BATCH_SIZE, RECOMPUTE_SEED, recompute_batch_norm, update_ema
from zoo.metrics import MetricSettings, evaluate_generator
from zoo.sampling import fixed_z_samples, generator_weights


def batch_norms(net: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    return {name: m for name, m in net.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def test_recomputed_statistics_are_the_mean_of_the_batch_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    norm = net[1]
    norm.running_mean.fill_(5.0)  # stale statistics with a history: a recomputation that does not reset keeps them
    norm.running_var.fill_(7.0)
    norm.num_batches_tracked.fill_(10)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    inputs = [torch.randn(16, 3) * (i + 1) + i for i in range(3)]  # batches with different statistics
    batches = iter(inputs)
    recomputed = recompute_batch_norm(net, lambda m: m(next(batches)), batches=len(inputs))
    with torch.no_grad():
        hidden = [net[0](x) for x in inputs]
    expected_mean = torch.stack([h.mean(0) for h in hidden]).mean(0)  # not the momentum-0.1 running average
    expected_var = torch.stack([h.var(0, unbiased=True) for h in hidden]).mean(0)
    torch.testing.assert_close(recomputed[1].running_mean, expected_mean)
    torch.testing.assert_close(recomputed[1].running_var, expected_var)
    assert int(recomputed[1].num_batches_tracked) == len(inputs)
    assert not recomputed.training and net.training and norm.momentum == 0.1
    for key, value in net.state_dict().items():  # the original is not modified
        assert torch.equal(value, before[key]), key
    with pytest.raises(ValueError, match="no batch norm"):
        recompute_batch_norm(nn.Linear(2, 2), lambda m: None, batches=1)


def expected_statistics(model, batches: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per batch norm of the EMA: the mean over ``batches`` batches of 64 z (seeded as documented) of the batch
    mean and unbiased batch variance of its input, captured by hooks on a train-mode copy."""
    probe = copy.deepcopy(model.generator_ema).train()
    seen: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def hook(name):
        def capture(module, args):
            x = args[0].transpose(0, 1).flatten(1)  # channels first, then every other position
            seen.setdefault(name, []).append((x.mean(1), x.var(1, unbiased=True)))

        return capture

    for name, norm in batch_norms(probe).items():
        norm.register_forward_pre_hook(hook(name))
    rng = torch.Generator().manual_seed(RECOMPUTE_SEED)
    with torch.no_grad():
        for _ in range(batches):
            probe(model.sample_z(RECOMPUTE_BATCH_SIZE, generator=rng))
    return {
        name: (torch.stack([m for m, _ in stats]).mean(0), torch.stack([v for _, v in stats]).mean(0))
        for name, stats in seen.items()
    }


def test_recompute_samples_from_a_copy_with_statistics_of_the_averaged_weights(tmp_path, fashion_dir):
    model, _ = train(tmp_path, fashion_dir, ema_decay=0.5, ema_bn="recompute", ema_bn_batches=3)
    saved = {k: v.clone() for k, v in model.generator_ema.state_dict().items()}
    rng_state = torch.get_rng_state()
    with generator_weights(model, "ema") as used:
        net = model.generator
        recomputed_samples = fixed_z_samples(model, 4, 0)
    assert used == "ema" and net is not model.generator_ema and not net.training
    for (name, p), (_, q) in zip(net.named_parameters(), model.generator_ema.named_parameters(), strict=True):
        assert torch.equal(p, q), name  # the averaged weights themselves
    expected = expected_statistics(model, batches=3)
    norms = batch_norms(net)
    assert set(expected) == set(norms) and norms
    for name, (mean, var) in expected.items():
        torch.testing.assert_close(norms[name].running_mean, mean, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(norms[name].running_var, var, rtol=1e-5, atol=1e-5)
    assert torch.equal(torch.get_rng_state(), rng_state)  # z came from a local generator: training is unaffected
    for key, value in model.generator_ema.state_dict().items():  # the saved EMA keeps the copied statistics
        assert torch.equal(value, saved[key]), key
    generator_buffers = dict(model.generator.named_buffers())
    assert all(torch.equal(v, generator_buffers[k]) for k, v in model.generator_ema.named_buffers())
    with generator_weights(model):  # kept while the EMA is unchanged ...
        assert model.generator is net
    with generator_weights(model, "raw"):
        assert model.generator is not net and model.generator is not model.generator_ema
    model.hparams.ema_bn = "copy"
    with generator_weights(model):
        assert model.generator is model.generator_ema
        copied_samples = fixed_z_samples(model, 4, 0)
    assert not torch.equal(copied_samples, recomputed_samples)
    model.hparams.ema_bn = "recompute"
    update_ema(model.generator_ema, model.generator, 0.5)  # ... and recomputed once it moves
    with generator_weights(model):
        assert model.generator is not net and model.generator is not model.generator_ema


def test_metric_records_say_which_statistics_the_ema_used(tmp_path, fashion_dir):
    data = tiny_data("GAN", fashion_dir)
    data.setup("fit")
    settings = MetricSettings(metrics="fid", num_fake=16, num_real=16, batch_size=8)
    records = {}
    for mode in ("copy", "recompute"):
        model, _ = train(tmp_path, fashion_dir, ema_decay=0.5, ema_bn=mode, ema_bn_batches=2)
        records[mode] = evaluate_generator(model, data, settings)
    assert records["copy"][1]["ema_batch_norm"] == "copy"
    assert records["recompute"][1]["ema_batch_norm"] == "recompute"
    assert records["copy"][0]["fid"] != records["recompute"][0]["fid"]  # same run (seeded), other statistics
    raw = evaluate_generator(model, data, MetricSettings(metrics="fid", num_fake=16, num_real=16, weights="raw"))
    assert raw[1]["generator_weights"] == "raw" and "ema_batch_norm" not in raw[1]


def test_a_conditional_generator_recomputes_its_statistics_with_labels():
    torch.manual_seed(0)
    model = ProjectionGAN(image_shape=(1, 28, 28), num_classes=4, latent_dim=8, width=8, ema_decay=0.5)
    model.hparams.ema_bn = "recompute"
    model.hparams.ema_bn_batches = 2
    with generator_weights(model) as used:
        norms = batch_norms(model.generator)
        samples = fixed_z_samples(model, 8, 0)
    assert used == "ema" and norms and samples.shape == (8, 1, 28, 28)
    assert all(int(n.num_batches_tracked) == 2 for n in norms.values())
    assert any(not torch.equal(n.running_mean, torch.zeros_like(n.running_mean)) for n in norms.values())


@pytest.mark.parametrize(
    "kwargs, match",
    [({"ema_bn": "update"}, "copy.*recompute"), ({"ema_bn_batches": 0}, "ema_bn_batches must be >= 1")],
)
def test_bad_ema_batch_norm_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model("GAN", ema_decay=0.9, **kwargs)
