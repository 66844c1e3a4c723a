"""Fully connected generator and discriminator for low-dimensional data (the 2-D toy mixtures).

The original GAN (Goodfellow et al., 2014, Section 5) used MLPs; the 2-D ring/grid benchmarks follow the
unrolled-GAN setup (Metz et al., ICLR 2017, Appendix A): a few ReLU layers of a few hundred units.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import norm_layer
from zoo.validation import require_at_least


def _mlp(sizes: list[int], norm: str, activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers += [norm_layer(norm, fan_out, flat=True), activation()]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> samples (N, data_dim), linear output."""

    def __init__(
        self, data_dim: int, latent_dim: int = 2, hidden: int = 128, depth: int = 3, norm: str = "none"
    ) -> None:
        super().__init__()
        require_at_least("data_dim", data_dim, 1)
        require_at_least("latent_dim", latent_dim, 1)
        require_at_least("depth", depth, 1)
        self.image_shape = (data_dim,)
        self.latent_dim = latent_dim
        self.net = _mlp([latent_dim] + [hidden] * depth + [data_dim], norm, nn.ReLU)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """samples (N, data_dim) -> raw scores (N,). Higher = more real."""

    def __init__(self, data_dim: int, hidden: int = 128, depth: int = 3, norm: str = "none") -> None:
        super().__init__()
        require_at_least("data_dim", data_dim, 1)
        self.image_shape = (data_dim,)
        self.net = _mlp([data_dim] + [hidden] * depth + [1], norm, _LeakyReLU)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.image_shape[0]:
            raise ValueError(
                f"discriminator built for {self.image_shape[0]}-D samples got a batch shaped {tuple(x.shape)}."
            )
        return self.net(x).flatten()


class _LeakyReLU(nn.LeakyReLU):
    def __init__(self) -> None:
        super().__init__(0.2)
