"""Feature extractors for the generative metrics, one registry.

Every extractor is an ``nn.Module`` that takes images as float tensors in [-1, 1] of shape
(N, C, H, W) (the zoo's convention), checks that it can take them, and returns ``(features, logits)``:
``features`` (N, D) feed FID, KID and precision/recall; ``logits`` (N, K) feed the Inception score.
It also carries ``name``, ``weights_sha256`` (the hash that results and caches are keyed by) and
``input_shapes`` (the image shapes it accepts, ``None`` = any size).

Registered:

* ``fashion-domain``: a small Fashion-MNIST classifier shipped with the repo
  (``zoo/metrics/weights/fashion_domain.pt``, SHA-256 checked at load), for 1x28x28 grayscale. Offline, fast,
  and informative for 28 px grayscale data, but its numbers are *not* Inception numbers.
* ``inception-v3-compat``: torch-fidelity's Inception-v3 port of the TF FID graph (paper-comparable
  numbers). Weights are read from ``weights_path`` or from torch hub's cache
  (``$TORCH_HOME/hub/checkpoints``), and downloaded from torch-fidelity's URL only when ``download=True``
  (with a timeout, so an offline machine fails fast with an error saying how to get the file).

``build_extractor(name, **kwargs)`` makes one; ``register_extractor(name, factory)`` adds one.
``TorchFidelityExtractor`` wraps any torch-fidelity ``FeatureExtractorBase`` (this is how tests inject a
small stand-in for Inception), and ``as_torch_fidelity_extractor`` goes the other way, so torch-fidelity's
own metric code can run on our extractors.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from zoo.metrics.domain_net import INPUT_SHAPE, FashionDomainNet

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FASHION_DOMAIN_WEIGHTS = WEIGHTS_DIR / "fashion_domain.pt"
#: SHA-256 of zoo/metrics/weights/fashion_domain.pt, printed by ``python -m zoo.commands.train_extractor``.
FASHION_DOMAIN_SHA256 = "7925312f8980613524ad9c2cfe173052bef1e0a34eab0e51c2bc0b7ffb0b6b47"
#: its accuracy on the Fashion-MNIST test split (10k images), from the same run
FASHION_DOMAIN_TEST_ACCURACY = 0.9061

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
#: torch hub convention: the file name carries the first hex digits of the file's SHA-256
INCEPTION_SHA256_PREFIX = "6726825d"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def module_sha256(module: nn.Module) -> str:
    """A hash of a module's class name and state (names, shapes, dtypes, values): identifies injected nets."""
    digest = hashlib.sha256(type(module).__qualname__.encode())
    for key, value in module.state_dict().items():
        digest.update(f"{key}:{tuple(value.shape)}:{value.dtype}".encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class FeatureExtractor(nn.Module):
    """Base class: checks input, returns ``(features, logits)``. Subclasses implement ``extract``."""

    name: str = "extractor"
    input_shapes: tuple[tuple[int, int, int], ...] | None = None  # None: any (C, H, W) with C in channels
    channels: tuple[int, ...] = (1, 3)
    weights_sha256: str = ""

    def check_input(self, images: Tensor) -> None:
        if not torch.is_tensor(images) or images.dim() != 4:
            shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise ValueError(
                f"extractor {self.name!r} takes a batch of images (N, C, H, W), got {shape}. "
                "Vector (toy 2-D) data has no image metrics: use the toy mode metrics instead."
            )
        shape = tuple(images.shape[1:])
        if self.input_shapes is not None and shape not in self.input_shapes:
            accepted = " or ".join("x".join(map(str, s)) for s in self.input_shapes)
            raise ValueError(
                f"extractor {self.name!r} takes {accepted} images, got {'x'.join(map(str, shape))}. Train and "
                "evaluate on data of that shape (e.g. FashionMNISTData(image_size=28)), or pick an extractor for "
                "your images: extractor='inception-v3-compat' takes any size with 1 or 3 channels."
            )
        if shape[0] not in self.channels:
            raise ValueError(
                f"extractor {self.name!r} takes images with {' or '.join(map(str, self.channels))} channel(s), "
                f"got {shape[0]} (shape {tuple(images.shape)})."
            )
        if not images.is_floating_point():
            raise ValueError(
                f"extractor {self.name!r} takes float images in [-1, 1], got dtype {images.dtype}: convert uint8 "
                "images with x.float() / 127.5 - 1 (datamodules.base.to_unit_range)."
            )

    @property
    def identity(self) -> dict[str, str]:
        """What results and caches name: the extractor and its weights hash."""
        return {"name": self.name, "weights_sha256": self.weights_sha256}

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(images)
        with torch.no_grad():
            features, logits = self.extract(images)
        return features.float(), logits.float()

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)  # always in eval mode (batch norm statistics are part of the weights)


class FashionDomainExtractor(FeatureExtractor):
    """``fashion-domain``: ``FashionDomainNet`` with weights checked against ``FASHION_DOMAIN_SHA256``.

    Args:
        weights_path: the weights file (default: the one shipped in ``zoo/metrics/weights``).
        expected_sha256: the hash it must have; ``None`` skips the check (only for files you trained
            yourself, and then results carry that file's own hash).
    """

    name = "fashion-domain"
    input_shapes = (INPUT_SHAPE,)
    channels = (1,)

    def __init__(
        self, weights_path: str | Path | None = None, expected_sha256: str | None = FASHION_DOMAIN_SHA256
    ) -> None:
        super().__init__()
        path = Path(weights_path) if weights_path is not None else FASHION_DOMAIN_WEIGHTS
        if not path.is_file():
            raise FileNotFoundError(
                f"fashion-domain weights {path} not found. They ship with the repository "
                "(zoo/metrics/weights/fashion_domain.pt, restore with 'git checkout -- zoo/metrics/weights'); "
                "or train them with 'python -m zoo.commands.train_extractor' (a few minutes on CPU)."
            )
        digest = sha256_file(path)
        if expected_sha256 is not None and digest != expected_sha256:
            raise ValueError(
                f"fashion-domain weights {path} have SHA-256 {digest}, expected {expected_sha256}: the file is "
                "corrupt or from another training run. Restore it with 'git checkout -- zoo/metrics/weights', or, "
                "after retraining with 'python -m zoo.commands.train_extractor', record the printed hash in "
                "FASHION_DOMAIN_SHA256 (zoo/metrics/extractors.py) or pass expected_sha256=None."
            )
        self.weights_sha256 = digest
        self.net = FashionDomainNet()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.net.load_state_dict(state)
        except Exception as err:
            raise ValueError(
                f"cannot load fashion-domain weights {path}: {type(err).__name__}: {str(err)[:300]}. "
                "Retrain with 'python -m zoo.commands.train_extractor'."
            ) from err
        self.net.to(memory_format=torch.channels_last)  # about 1.5x faster convolutions on CPU
        self.requires_grad_(False)
        self.eval()

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        return self.net(images.contiguous(memory_format=torch.channels_last))


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Float images in [-1, 1] (N, 1 or 3, H, W) -> uint8 RGB in [0, 255], the input of torch-fidelity's nets."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class TorchFidelityExtractor(FeatureExtractor):
    """Wraps a torch-fidelity ``FeatureExtractorBase`` built with ``features_list=[feature, logits]``.

    Images are quantized to uint8 RGB (grayscale repeated to three channels) exactly as torch-fidelity's
    own image loaders produce them; the wrapped net resizes them itself (Inception: to 299x299, TF1-style).
    """

    def __init__(self, fidelity_net: nn.Module, name: str, weights_sha256: str) -> None:
        super().__init__()
        features_list = list(getattr(fidelity_net, "features_list", []))
        if len(features_list) != 2:
            raise ValueError(
                f"the torch-fidelity extractor must be built with features_list=[feature, logits], got {features_list}"
            )
        self.fidelity_net = fidelity_net.eval().requires_grad_(False)
        self.name = name
        self.weights_sha256 = weights_sha256

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = self.fidelity_net(to_uint8_rgb(images))
        return features.reshape(len(images), -1), logits.reshape(len(images), -1)


def hub_weights_path(url: str = INCEPTION_URL) -> Path:
    """Where torch hub (and so torch-fidelity) caches a downloaded weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def resolve_host(url: str, timeout: float) -> None:
    """Resolve ``url``'s host within ``timeout`` seconds (DNS lookups ignore socket timeouts, so use a thread)."""
    host = urllib.parse.urlparse(url).hostname or ""
    outcome: dict[str, BaseException | None] = {"error": None}

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
        except OSError as err:
            outcome["error"] = err

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"looking up {host} took more than {timeout} s (no network?)")
    if outcome["error"] is not None:
        raise outcome["error"]


def download_weights(url: str, dest: Path, timeout: float) -> None:
    """Download ``url`` to ``dest`` atomically; fails within about ``timeout`` seconds when offline."""
    resolve_host(url, timeout)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        urllib.request.urlopen(url, timeout=timeout) as response,
        tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp,
    ):
        shutil.copyfileobj(response, tmp)
    os.replace(tmp.name, dest)


def inception_weights(weights_path: str | Path | None, download: bool, timeout: float) -> Path:
    """The Inception-v3 weights file: ``weights_path``, else torch hub's cached copy, else a download."""
    how = (
        f"Download {INCEPTION_URL} (about 92 MB) on a machine with network access and either place it at "
        f"{hub_weights_path()} (torch hub's cache; set TORCH_HOME to move it) or pass its path: "
        "extractor_weights=PATH in GenerativeMetrics, '--extractor-weights PATH' for 'gan-zoo evaluate'. "
        "Without Inception weights, use extractor='fashion-domain' (offline, 28x28 grayscale only)."
    )
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"Inception-v3 weights file {path} does not exist. {how}")
        return path
    cached = hub_weights_path()
    if cached.is_file():
        return cached
    if not download:
        raise FileNotFoundError(f"Inception-v3 weights not found at {cached} and download=False. {how}")
    try:
        download_weights(INCEPTION_URL, cached, timeout)
    except OSError as err:  # URLError, timeouts, DNS failures are all OSErrors
        raise RuntimeError(f"cannot download the Inception-v3 weights ({type(err).__name__}: {err}). {how}") from err
    return cached


def build_inception(
    weights_path: str | Path | None = None,
    download: bool = True,
    timeout: float = 10.0,
    feature: str = "2048",
    fidelity_net: nn.Module | None = None,
) -> TorchFidelityExtractor:
    """``inception-v3-compat``: torch-fidelity's Inception-v3 (pool3 ``feature`` + ``logits_unbiased``).

    ``fidelity_net`` injects a ready torch-fidelity-style net instead (tests use a small one); the weights
    hash is then that net's state hash.
    """
    if fidelity_net is not None:
        return TorchFidelityExtractor(fidelity_net, "inception-v3-compat", module_sha256(fidelity_net))
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = inception_weights(weights_path, download, timeout)
    digest = sha256_file(path)
    if weights_path is None and not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise ValueError(
            f"{path} has SHA-256 {digest}, not the torch-fidelity Inception-v3 weights ({INCEPTION_SHA256_PREFIX}...):"
            " delete it and download it again."
        )
    try:  # refuse pickled code before torch-fidelity loads the file with weights_only=False
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a plain state dict of tensors ({type(err).__name__}); refusing it.") from err
    net = FeatureExtractorInceptionV3(
        "inception-v3-compat", [feature, "logits_unbiased"], feature_extractor_weights_path=str(path)
    )
    return TorchFidelityExtractor(net, "inception-v3-compat", digest)


_REGISTRY: dict[str, Callable[..., FeatureExtractor]] = {
    "fashion-domain": FashionDomainExtractor,
    "inception-v3-compat": build_inception,
}


def register_extractor(name: str, factory: Callable[..., FeatureExtractor]) -> None:
    """Make ``build_extractor(name, ...)`` call ``factory(...)``."""
    _REGISTRY[name] = factory


def list_extractors() -> list[str]:
    return list(_REGISTRY)


def build_extractor(extractor: str | FeatureExtractor = "fashion-domain", **kwargs: Any) -> FeatureExtractor:
    """An extractor by registry name (``kwargs`` go to its factory), or ``extractor`` itself if already built."""
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if extractor not in _REGISTRY:
        raise ValueError(f"unknown extractor {extractor!r}; registered: {', '.join(_REGISTRY)}.")
    return _REGISTRY[extractor](**kwargs)


# ------------------------------------------------------------------------------ torch-fidelity bridge
def as_torch_fidelity_extractor(extractor: FeatureExtractor, fidelity_name: str | None = None) -> str:
    """Register ``extractor`` with torch-fidelity (features ``"features"`` and ``"logits"``); returns its name.

    torch-fidelity's ``calculate_metrics(..., feature_extractor=name)`` then computes its own FID, KID,
    IS and precision/recall on our features; its datasets must yield float images in [-1, 1].
    """
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    name = fidelity_name or f"zoo-{extractor.name}-{extractor.weights_sha256[:12]}"

    class _Bridge(FeatureExtractorBase):
        def __init__(self, name: str, features_list: Sequence[str], **kwargs: Any) -> None:
            super().__init__(name, list(features_list))
            self.inner = extractor

        @staticmethod
        def get_provided_features_list() -> tuple[str, str]:
            return ("features", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return "logits" if metric == "isc" else "features"

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        def forward(self, x: Tensor) -> tuple[Tensor, ...]:
            features, logits = self.inner(x)
            out = {"features": features, "logits": logits}
            return tuple(out[f] for f in self.features_list)

    FEATURE_EXTRACTORS_REGISTRY.pop(name, None)
    register_feature_extractor(name, _Bridge)
    return name
