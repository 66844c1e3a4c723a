"""The Fashion-MNIST domain classifier behind the ``fashion-domain`` feature extractor (plain torch).

A small CNN for 1x28x28 grayscale images in [-1, 1]: three conv blocks, global average pooling to a
128-d feature vector (the analogue of Inception-v3's 2048-d pool3 features, used for FID, KID and
precision/recall) and a linear layer to 10 class logits (the analogue of Inception's logits, used for the
domain "Inception score"). Trained by ``python -m zoo.commands.train_extractor``.
"""

from __future__ import annotations

from torch import Tensor, nn

INPUT_SHAPE = (1, 28, 28)
NUM_FEATURES = 128
NUM_CLASSES = 10


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class FashionDomainNet(nn.Module):
    """28x28 grayscale -> (features (N, 128), logits (N, 10))."""

    def __init__(self, width: int = 32, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(1, width),
            nn.MaxPool2d(2),  # 14x14
            *_block(width, 2 * width),
            nn.MaxPool2d(2),  # 7x7
            *_block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(x)
        return features, self.head(features)
