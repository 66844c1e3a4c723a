"""``fashion-domain``: a small Fashion-MNIST classifier shipped with the repo as a feature extractor.

Its weights (``zoo/metrics/weights/fashion_domain.pt``, made by ``python -m zoo.commands.train_extractor``) are
SHA-256 checked at load. Offline, fast and informative for 28 px grayscale data, but its numbers are *not*
Inception numbers.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from zoo.metrics.domain_net import INPUT_SHAPE, FashionDomainNet
from zoo.metrics.feature_extractor import FeatureExtractor, sha256_file

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FASHION_DOMAIN_WEIGHTS = WEIGHTS_DIR / "fashion_domain.pt"
#: SHA-256 of zoo/metrics/weights/fashion_domain.pt, printed by ``python -m zoo.commands.train_extractor``.
FASHION_DOMAIN_SHA256 = "7925312f8980613524ad9c2cfe173052bef1e0a34eab0e51c2bc0b7ffb0b6b47"
#: its accuracy on the Fashion-MNIST test split (10k images), from the same run
FASHION_DOMAIN_TEST_ACCURACY = 0.9061


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
