"""The throughput benchmark compares like with like: its three step implementations do the same updates, the
reference-style one only wastes work, and the zoo's counted FLOPs equal the hand loop's (issue 19)."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmarks.roofline import matmul_peak
from benchmarks.step_loops import StepTimer, autocast, hand_step, reference_step, step_flops
from benchmarks.throughput import (
    PATHS,
    bf16_speedups,
    derive,
    loop_nets,
    optimizer_implementations,
    optimizer_sentence,
    render,
)
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN

SHAPE = (1, 28, 28)


def tiny_gan() -> GAN:
    torch.manual_seed(0)
    return GAN(image_shape=SHAPE, latent_dim=8, width=8)


def nets_of(model: GAN):
    opt_g, opt_d = model.configure_optimizers()
    return model.generator, model.discriminator, opt_g, opt_d


def queued_noise(zs: list[torch.Tensor]):
    queue = list(zs)
    return lambda n: queue.pop(0)[:n]


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
@pytest.mark.parametrize("step", [hand_step, reference_step])
def test_both_loops_make_the_same_updates(step, precision):
    """Same weights after three steps: the reference-style flow only computes gradients it then discards. Under
    bf16 this needs autocast's weight-cast cache off, as the loops run it (with it on, the reference's G update
    reads bf16 copies of D's weights cast before D's update, and its G weights drift from the hand loop's)."""
    template = tiny_gan()
    zs = [torch.randn(4, 8, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    reals = [torch.rand(4, *SHAPE, generator=torch.Generator().manual_seed(10 + i)) * 2 - 1 for i in range(3)]
    results = {}
    for name, fn in (("hand", hand_step), ("other", step)):
        model = copy.deepcopy(template)
        nets, noise = nets_of(model), queued_noise(zs)
        for real in reals:
            with autocast(torch.device("cpu"), precision):
                fn(*nets, real, noise)
        results[name] = model.state_dict()
    for key, value in results["hand"].items():
        torch.testing.assert_close(results["other"][key], value, msg=key)
    assert any(not torch.equal(v, template.state_dict()[k]) for k, v in results["hand"].items())


def test_reference_loop_computes_the_gradients_the_zoo_avoids():
    """After a reference-style step D holds gradients from the G update and the D update's backward reached G;
    after the zoo-style step D's gradients are exactly its own loss's."""
    real = torch.rand(4, *SHAPE) * 2 - 1
    z = torch.randn(4, 8)
    grads = {}
    for name, fn in (("hand", hand_step), ("reference", reference_step)):
        model = copy.deepcopy(tiny_gan())
        G, D, opt_g, opt_d = nets_of(model)
        fn(G, D, opt_g, opt_d, real, lambda n: z)
        grads[name] = [p.grad.clone() for p in D.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(grads["hand"], grads["reference"]))


def test_reference_step_counts_more_flops_and_zoo_counts_the_hand_loops(fashion_dir, tmp_path):
    model = tiny_gan()
    real = torch.rand(8, *SHAPE) * 2 - 1
    noise = lambda n: torch.randn(n, 8)  # noqa: E731
    cpu = torch.device("cpu")
    hand = step_flops(hand_step, nets_of(copy.deepcopy(model)), noise, real, cpu, "32-true")
    reference = step_flops(reference_step, nets_of(copy.deepcopy(model)), noise, real, cpu, "32-true")
    assert reference > hand > 0
    timer = StepTimer(1)
    trainer = tiny_trainer(tmp_path, max_steps=4, callbacks=[timer])
    trainer.fit(copy.deepcopy(model), FashionMNISTData(data_dir=str(fashion_dir), batch_size=8))
    assert timer.flops == hand
    assert timer.batches == 1 and timer.end > timer.start


def test_step_timer_counts_the_page_faults_of_the_timed_batches_only(monkeypatch, tmp_path, fashion_dir):
    from benchmarks import step_loops

    readings = iter([100, 130, 175, 260])  # timed start, then the end of each timed batch
    monkeypatch.setattr(step_loops, "minor_faults", lambda: next(readings))
    timer = StepTimer(2)
    model = GAN(image_shape=SHAPE, latent_dim=8, width=8)
    tiny_trainer(tmp_path, max_steps=8, callbacks=[timer]).fit(
        model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8)
    )
    assert timer.batches == 2 and timer.faults == 75  # 175 - 100: warm-up batches' readings are never taken


def test_step_timer_needs_a_warmup_batch():
    with pytest.raises(ValueError, match="warm-up"):
        StepTimer(0)


def test_matmul_peak_is_flops_over_the_best_time():
    peak = matmul_peak(torch.float32, torch.device("cpu"), n=64, repeats=2)
    assert peak["n"] == 64 and peak["dtype"] == "float32" and peak["flops_per_s"] > 0


def test_summaries_take_the_best_repeat_and_render_the_bar_from_the_numbers():
    config = {
        "nets": "dcgan28",
        "precision": "32-true",
        "compile": False,
        "images_per_s": {
            "zoo": [120.0, 130.0, 90.0],
            "zoo_channels_last": [150.0, 140.0, 100.0],
            "hand": [128.0, 100.0, 110.0],
            "reference": [100.0, 95.0, 60.0],
        },
        "flops_per_step": {"zoo": 10e9, "zoo_channels_last": 10e9, "hand": 10e9, "reference": 13e9},
    }
    peaks = {"32-true": {"dtype": "float32", "n": 8, "flops_per_s": 100e9}}
    derive(config, peaks, batch_size=64)
    assert config["best_images_per_s"]["zoo"] == 130.0 and config["median_images_per_s"]["zoo"] == 120.0
    assert config["zoo_over_reference"] == pytest.approx(1.3)
    assert config["zoo_channels_last_over_reference"] == pytest.approx(1.5)
    # paired: per-repeat ratios 1.2, 1.368, 1.5 (zoo) and 1.5, 1.474, 1.667 (channels_last); their medians
    assert config["zoo_over_reference_paired"] == pytest.approx(130 / 95)
    assert config["zoo_channels_last_over_reference_paired"] == pytest.approx(1.5)
    assert set(config["fraction_of_peak"]) == set(PATHS)
    assert config["fraction_of_peak"]["zoo"] == pytest.approx(10e9 * 130 / 64 / 100e9)
    bf16 = {**copy.deepcopy(config), "precision": "bf16-mixed"}
    bf16["images_per_s"]["zoo"] = [195.0]
    derive(bf16, {**peaks, "bf16-mixed": peaks["32-true"]}, batch_size=64)
    assert bf16_speedups([config, bf16]) == {"dcgan28": pytest.approx(1.5)}
    result = {
        "batch_size": 64,
        "device_name": "CPU",
        "bf16_units": {},
        "repeats": 3,
        "timed_steps": 1,
        "warmup_steps": 1,
        "peak": peaks,
        "configurations": [config],
        "bf16_speedup": {},
        "data_paths": None,
        "protocol": {
            "command": "c",
            "git_sha": "g",
            "hardware": {"cpu_capability": "AVX2", "torch_threads": 2},
            "versions": {},
            "wall_time_s": 1,
        },
    }
    text = render(result)
    assert "130 (120)" in text and "1.30x" in text and "20.3%" in text
    assert "met (lowest 1.30x; paired, lowest 1.37x)" in text and "met (lowest 1.50x; paired, lowest 1.50x)" in text
    assert "1.30x (1.37x)" in text
    config["images_per_s"]["zoo"] = [110.0]
    derive(config, peaks, batch_size=64)
    bar = "(default layout) >= 1.2x the reference-style loop at equal nets and precision: NOT met"
    assert f"{bar} (lowest 1.10x; paired, lowest 1.10x)" in render(result)


def test_reference_loop_builds_the_optimizers_public_code_builds(fashion_dir):
    """The zoo and the hand loop update with the zoo's fused Adam; the reference-style loop with torch's default
    (``torch.optim.Adam(params, lr, betas)``, a per-tensor loop on CPU), and the page says so."""
    data = FashionMNISTData(data_dir=str(fashion_dir), batch_size=4)
    data.setup("fit")
    implementations = optimizer_implementations(data, torch.device("cpu"))
    assert implementations == {
        "zoo": "fused",
        "zoo_channels_last": "fused",
        "hand": "fused",
        "reference": "torch default (per-tensor loop)",
    }
    (_, _, opt_g, opt_d), _ = loop_nets(tiny_gan(), torch.device("cpu"), torch_default_optimizer=True)
    assert not opt_g.param_groups[0]["fused"] and not opt_d.param_groups[0]["fused"]
    assert "fused in the zoo and hand loop; torch default (per-tensor loop) in the reference" in optimizer_sentence(
        implementations
    )
    assert "torch's default Adam" in optimizer_sentence(None)  # results made before the option
