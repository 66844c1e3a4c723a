"""Feature extractors: the shipped domain classifier (hash, accuracy, discriminative power), agreement of our
torchmetrics numbers with torch-fidelity's on the same extractor, the Inception path with an injected net,
offline errors, bad input."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torchvision.transforms.functional import gaussian_blur

from callbacks.metrics import GenerativeMetrics
from datamodules.fashion_mnist import FashionMNISTData
from tests.conftest import tiny_trainer
from tests.zoo.metrics.fidelity_bridge import as_torch_fidelity_extractor
from tests.zoo.metrics.helpers import tiny_gan
from zoo import GAN
from zoo.metrics import MetricSettings, MetricSuite, evaluate_generator
from zoo.metrics.evaluation import extract
from zoo.metrics.extractors import (
    FASHION_DOMAIN_SHA256,
    FASHION_DOMAIN_TEST_ACCURACY,
    FASHION_DOMAIN_WEIGHTS,
    FashionDomainExtractor,
    build_extractor,
    sha256_file,
    to_uint8_rgb,
)

N = 600


def metric_values(extractor, real: torch.Tensor, fake: torch.Tensor, metrics=("fid",), **kwargs) -> dict:
    real_f, _ = extract(extractor, real, 500)
    fake_f, fake_l = extract(extractor, fake, 500)
    suite = MetricSuite(metrics, real_f.shape[1], fake_l.shape[1], **kwargs)
    suite.update_real(real_f)
    suite.update_fake(fake_f, fake_l)
    return suite.compute()


# ------------------------------------------------------------------------------------ shipped weights
def test_shipped_weights_hash_size_and_record():
    assert FASHION_DOMAIN_WEIGHTS.stat().st_size < 2 * 1024 * 1024
    assert sha256_file(FASHION_DOMAIN_WEIGHTS) == FASHION_DOMAIN_SHA256
    state = torch.load(FASHION_DOMAIN_WEIGHTS, weights_only=True)  # a plain state dict of tensors
    assert all(torch.is_tensor(v) for v in state.values())
    record = json.loads(FASHION_DOMAIN_WEIGHTS.with_suffix(".json").read_text())
    assert record["sha256"] == FASHION_DOMAIN_SHA256
    assert record["test_accuracy"] == pytest.approx(FASHION_DOMAIN_TEST_ACCURACY, abs=1e-4)
    assert FASHION_DOMAIN_TEST_ACCURACY >= 0.9


def test_domain_classifier_accuracy_on_test_subset(fashion, domain):
    images, labels = fashion.split("test")
    x = images[:2000].float() / 127.5 - 1
    _, logits = extract(domain, x, 500)
    assert (logits.argmax(1) == labels[:2000]).float().mean() > 0.88


def test_weights_hash_mismatch_is_a_clear_error(tmp_path):
    bad = tmp_path / "fashion_domain.pt"
    shutil.copy(FASHION_DOMAIN_WEIGHTS, bad)
    data = bytearray(bad.read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256 .* expected .*train_extractor"):
        FashionDomainExtractor(bad)
    with pytest.raises(FileNotFoundError, match="train_extractor"):
        FashionDomainExtractor(tmp_path / "missing.pt")


# ------------------------------------------------------------------------------- discriminative power
@pytest.fixture(scope="module")
def domain_sets(fashion, domain) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(features, logits) of N images of each kind; FID/IS are always taken against the test split."""
    train_images, train_labels = fashion.split("train")
    train = train_images[:N].float() / 127.5 - 1
    sets = {
        "test": fashion.real_samples("test", N),
        "train": train,
        "noise": torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1,
        "blurred": gaussian_blur(train, kernel_size=7, sigma=2.0),
        "one_class": train_images[train_labels == 0][:N].float() / 127.5 - 1,
    }
    return {name: extract(domain, x, 500) for name, x in sets.items()}


def versus_test(sets, name: str, metric: str) -> float:
    real_f, _ = sets["test"]
    fake_f, fake_l = sets[name]
    suite = MetricSuite([metric], real_f.shape[1], fake_l.shape[1])
    suite.update_real(real_f)
    suite.update_fake(fake_f, fake_l)
    return suite.compute()[metric]


def test_domain_fid_ranks_real_far_below_noise_blur_and_one_class(domain_sets):
    fid = {name: versus_test(domain_sets, name, "fid") for name in ("train", "noise", "blurred", "one_class")}
    assert fid["noise"] > 20 * fid["train"], fid  # measured: train 0.26, noise 100, blurred 33, one class 12.6
    assert fid["blurred"] > 3 * fid["train"], fid
    assert fid["one_class"] > 3 * fid["train"], fid


def test_domain_inception_score_real_far_above_one_class(domain_sets):
    is_real = versus_test(domain_sets, "test", "is")
    is_one = versus_test(domain_sets, "one_class", "is")
    assert is_real > 4.5  # measured 5.64 (N = 600); at most 10 classes
    assert is_one < 2.0
    assert is_real > 3 * is_one


# ------------------------------------------------------------------------------- torch-fidelity agreement
class ImagesDataset(Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def fidelity(name: str, fake, real, n: int, **kwargs) -> dict:
    return calculate_metrics(
        input1=ImagesDataset(fake),
        input2=ImagesDataset(real),
        feature_extractor=name,
        cuda=False,
        batch_size=250,
        save_cpu_ram=True,
        cache=False,
        verbose=False,
        kid_subsets=3,
        kid_subset_size=n,
        isc_splits=1,
        **kwargs,
    )


def test_torchmetrics_and_torch_fidelity_agree_on_fid_kid_is(fashion, domain):
    n = 500
    real = fashion.real_samples("test", n)
    fake = gaussian_blur(fashion.real_samples("train", n), kernel_size=5, sigma=1.0)
    name = as_torch_fidelity_extractor(domain)
    ref = fidelity(name, fake, real, n, fid=True, kid=True, isc=True)
    ours = metric_values(domain, real, fake, ("fid", "kid", "is"), kid_subsets=3, kid_subset_size=n, is_splits=1)
    assert ours["fid"] == pytest.approx(ref["frechet_inception_distance"], rel=1e-3)
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-3)
    assert ours["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-3)
    assert ours["kid"] > 0.01  # a real difference, not two zeros agreeing


# ------------------------------------------------------------------------------------- Inception path
class TinyInceptionLike(FeatureExtractorBase):
    """Stands in for torch-fidelity's Inception-v3: same interface, same uint8 RGB input contract."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        gen = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 16, 5, stride=2)
        self.fc = nn.Linear(16, 7)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)

    @staticmethod
    def get_provided_features_list():
        return ("pool", "logits_unbiased")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "logits_unbiased" if metric == "isc" else "pool"

    @staticmethod
    def can_be_compiled():
        return False

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3, (x.dtype, x.shape)
        x = F.interpolate(x.float(), size=(40, 40), mode="bilinear", align_corners=False)
        pooled = F.relu(self.conv((x - 128) / 128)).mean((2, 3))
        out = {"pool": pooled, "logits_unbiased": self.fc(pooled)}
        return tuple(out[f] for f in self.features_list)


def test_inception_path_with_injected_net_matches_torch_fidelity(fashion):
    n = 300
    extractor = build_extractor(
        "inception-v3-compat", fidelity_net=TinyInceptionLike("tiny", ["pool", "logits_unbiased"])
    )
    assert extractor.name == "inception-v3-compat" and len(extractor.weights_sha256) == 64
    real = fashion.real_samples("test", n)
    fake = fashion.real_samples("train", n).flip(-1).roll(3, dims=-2)
    ours = metric_values(extractor, real, fake, ("fid", "kid"), kid_subsets=2, kid_subset_size=n)
    # torch-fidelity's own pipeline on the uint8 RGB images its loaders would produce from our PNGs
    FEATURE_EXTRACTORS_REGISTRY.pop("zoo-test-tiny", None)
    register_feature_extractor("zoo-test-tiny", TinyInceptionLike)
    ref = fidelity("zoo-test-tiny", to_uint8_rgb(fake), to_uint8_rgb(real), n, fid=True, kid=True)
    assert ours["fid"] == pytest.approx(ref["frechet_inception_distance"], rel=1e-3)
    assert ours["kid"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-3)
    # and the full evaluation (generator -> grayscale -> RGB uint8 -> net) runs on it
    settings = MetricSettings(num_fake=64, num_real=64, kid_subset_size=32, batch_size=32)
    values, protocol = evaluate_generator(tiny_gan(), fashion, settings, extractor=extractor)
    assert all(torch.isfinite(torch.tensor(v)) for v in values.values())
    assert protocol["extractor"] == "inception-v3-compat"
    assert protocol["extractor_sha256"] == extractor.weights_sha256
    assert protocol["extractor_inference"] == extractor.inference


def test_inception_offline_without_weights_fails_fast_and_says_how(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no cached weights
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    start = time.perf_counter()
    with pytest.raises((RuntimeError, FileNotFoundError)) as err:
        build_extractor("inception-v3-compat", timeout=5.0)
    assert time.perf_counter() - start < 20
    message = str(err.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message
    assert "--extractor-weights" in message and "extractor_weights=" in message
    assert str(tmp_path / "torch_home") in message  # where to place the file
    with pytest.raises(FileNotFoundError, match="download=False"):
        build_extractor("inception-v3-compat", download=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_extractor("inception-v3-compat", weights_path=tmp_path / "nope.pth")


def test_inception_weights_file_plumbing(tmp_path, monkeypatch):
    """Path resolution, hash, and the weights_only check before torch-fidelity loads the file (net stubbed)."""
    import argparse

    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    built = {}

    def fake_inception(name, features_list, feature_extractor_weights_path=None):
        built["path"], built["features"] = feature_extractor_weights_path, features_list
        return TinyInceptionLike(name, ["pool", "logits_unbiased"])

    monkeypatch.setattr(tf_inception, "FeatureExtractorInceptionV3", fake_inception)
    weights = tmp_path / "my_inception.pth"
    torch.save({"w": torch.zeros(3)}, weights)
    extractor = build_extractor("inception-v3-compat", weights_path=weights)
    assert built["path"] == str(weights) and extractor.weights_sha256 == sha256_file(weights)
    assert built["features"] == ["2048", "logits_unbiased"]  # pool3 features for FID/KID/PR, logits for IS
    torch.save({"w": argparse.Namespace(x=1)}, weights)  # pickled objects: refused, never unpickled unsafely
    with pytest.raises(ValueError, match="not a plain state dict"):
        build_extractor("inception-v3-compat", weights_path=weights)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    cached = tmp_path / "home" / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir(parents=True)
    torch.save({"w": torch.zeros(3)}, cached)  # a file with the right name but the wrong content
    with pytest.raises(ValueError, match="not the torch-fidelity Inception-v3 weights"):
        build_extractor("inception-v3-compat")


# ----------------------------------------------------------------------------------------- bad input
def test_wrong_channels_size_or_dtype_is_a_clear_error(domain):
    with pytest.raises(ValueError, match="1x28x28 images, got 3x28x28"):
        domain(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match="1x28x28 images, got 1x32x32.*image_size=28"):
        domain(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="float images"):
        domain(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        domain(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="unknown extractor"):
        build_extractor("inception-v4")


def test_callback_rejects_an_image_size_the_extractor_cannot_take_before_training(tmp_path):
    data = FashionMNISTData(image_size=32, batch_size=8)
    model = GAN(image_shape=(1, 32, 32), latent_dim=8, width=8)
    callback = GenerativeMetrics(MetricSettings(("fid",), num_fake=16, num_real=16), cache_dir=str(tmp_path))
    trainer = tiny_trainer(tmp_path, max_steps=2, callbacks=[callback])
    with pytest.raises(ValueError, match="fashion-domain' takes 1x28x28 images, got 1x32x32"):
        trainer.fit(model, data)
    assert model.g_steps == 0
