"""Translation models (CycleGAN) are scored as Zhu et al. 2017 and their users do: the held-out images of one
domain are translated and compared with the held-out images of the other domain, in both directions; never as
a generator fed noise. Expectations are computed here from the extractor's features with a FID written out
(Heusel et al. 2017, eq. 6), not with the metric code under test."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

from callbacks import GenerativeMetrics
from datamodules import FashionMNISTData, FashionMNISTPairData
from tests.conftest import tiny_trainer
from zoo import CycleGAN
from zoo.commands.cli import main
from zoo.metrics import MetricSettings, evaluate_generator

N = 32  # the tiny fixture's test split (64 images) gives 32 held-out images per domain


def frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature sets (float64)."""
    a, b = a.double().numpy(), b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # fewer samples than features: singular covariances, still well defined
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(s_a @ s_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def tiny_cyclegan(seed: int = 0) -> CycleGAN:
    torch.manual_seed(seed)
    return CycleGAN(image_shape=(1, 28, 28), width=4, n_blocks=1, d_layers=1)


class Translator(nn.Module):
    """A stand-in translation model: ``AtoB`` applies ``to_b``, ``BtoA`` applies ``to_a``."""

    def __init__(self, to_b, to_a) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.to_b, self.to_a = to_b, to_a
        self.calls: list[tuple[str, torch.Tensor]] = []

    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        self.calls.append((direction, images.clone()))
        return (self.to_b if direction == "AtoB" else self.to_a)(images) * self.scale


def evaluate(model, data, domain_extractor, **kwargs):
    settings = dict(metrics=("fid", "kid"), num_fake=N, num_real=N, kid_subset_size=16, batch_size=16)
    return evaluate_generator(model, data, MetricSettings(**{**settings, **kwargs}), extractor=domain_extractor)


@pytest.fixture()
def pair(fashion_dir) -> FashionMNISTPairData:
    return FashionMNISTPairData(data_dir=str(fashion_dir))


def test_cyclegan_is_scored_on_translated_held_out_images_both_ways(pair, domain):
    model = tiny_cyclegan()
    model.sample_z = None  # noise must play no part: calling it would fail
    values, protocol = evaluate(model, pair, domain)
    assert model.training  # the evaluation ran in eval mode and restored train mode
    assert set(values) == {"fid_AtoB", "fid_BtoA", "kid_AtoB", "kid_BtoA", "kid_std_AtoB", "kid_std_BtoA"}
    a, b = pair.real_samples("test", N, domain="A"), pair.real_samples("test", N, domain="B")
    model.eval()
    with torch.no_grad():
        expected = {
            "fid_AtoB": frechet(domain(model.generator(a))[0], domain(b)[0]),  # G(x) against held-out y
            "fid_BtoA": frechet(domain(model.generator_ba(b))[0], domain(a)[0]),  # F(y) against held-out x
        }
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, rel=1e-4, abs=1e-4)
    assert protocol["directions"] == {d: {"n_fake": N, "n_real": N} for d in ("AtoB", "BtoA")}
    assert protocol["mode"].startswith("translation") and protocol["split"] == "test"


def test_a_translator_that_learned_the_mapping_scores_better_than_identity(pair, domain):
    """Domain B is domain A inverted: the inverting translator must win in both directions."""
    learned = Translator(lambda x: -x, lambda y: -y)
    identity = Translator(lambda x: x, lambda y: y)
    good, _ = evaluate(learned, pair, domain, metrics=("fid",))
    bad, _ = evaluate(identity, pair, domain, metrics=("fid",))
    assert good["fid_AtoB"] < bad["fid_AtoB"] / 3 and good["fid_BtoA"] < bad["fid_BtoA"] / 3
    directions = [d for d, _ in learned.calls]
    assert directions == ["AtoB"] * 2 + ["BtoA"] * 2  # batches of 16
    fed_a = torch.cat([x for d, x in learned.calls if d == "AtoB"])
    fed_b = torch.cat([x for d, x in learned.calls if d == "BtoA"])
    assert torch.equal(fed_a, pair.real_samples("test", N, domain="A"))  # the held-out A images, in order
    assert torch.equal(fed_b, pair.real_samples("test", N, domain="B"))


def test_a_one_domain_datamodule_is_refused_with_the_fix(fashion_dir, domain):
    with pytest.raises(ValueError, match="two-domain datamodule such as datamodules.UnpairedImageData"):
        evaluate(tiny_cyclegan(), FashionMNISTData(data_dir=str(fashion_dir)), domain)


def test_metrics_callback_logs_both_directions_during_cyclegan_training(pair, tmp_path):
    settings = MetricSettings(num_fake=N, num_real=N, metrics="fid", batch_size=16)
    metrics = GenerativeMetrics(settings, use_cache=False, json_path=str(tmp_path / "m.json"))
    tiny_trainer(tmp_path, max_steps=2, callbacks=[metrics]).fit(tiny_cyclegan(), pair)
    latest = json.loads((tmp_path / "m.json").read_text())["generative_metrics"]["latest"]
    assert set(latest) == {"val/fid_AtoB", "val/fid_BtoA"}


def test_evaluate_command_scores_a_cyclegan_checkpoint_and_asks_for_two_domain_data(pair, fashion_dir, tmp_path):
    model = tiny_cyclegan()
    ckpt = tmp_path / "cyclegan.ckpt"
    torch.save({"variant": "CycleGAN", "hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, ckpt)
    args = ["evaluate", "--ckpt", str(ckpt), "--num-fake", str(N), "--num-real", str(N), "--metrics", "fid"]
    args += ["--no-cache", "--batch-size", "16", "--out", str(tmp_path / "eval.json")]
    with pytest.raises(SystemExit, match="--data FashionMNISTPairData"):
        main(args)
    main([*args, "--data", "FashionMNISTPairData", "--data-dir", str(fashion_dir)])
    result = json.loads((tmp_path / "eval.json").read_text())
    assert set(result["metrics"]) == {"fid_AtoB", "fid_BtoA"}
    assert result["protocol"]["variant"] == "CycleGAN" and result["protocol"]["directions"]["AtoB"]["n_fake"] == N
