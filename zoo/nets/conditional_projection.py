"""The nets of the projection discriminator GAN (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018,
arXiv 1802.05637): a generator with conditional batch norm and the projection discriminator of eq. (3).

* ``ConditionalBatchNorm``: batch norm without its own affine parameters, followed by a class-dependent gain and
  bias, gamma_y * BN(h) + beta_y (Dumoulin et al. 2017, de Vries et al. 2017; the paper's "conditional batch
  normalization" in G). Gains start at N(1, 0.02), biases at 0, the zoo's batch-norm initialization
  (``zoo.nets.norms.init_normal``), so the classes differ slightly from the first step.
* ``ConditionalBatchNormGenerator``: DCGAN's generator layout (``zoo.nets.dcgan``) for images, the MLP layout
  (``zoo.nets.mlp``) for vectors, every batch norm replaced by a ``ConditionalBatchNorm``; z enters alone, the
  class enters only through the norms (as in the paper's ResNet generator).
* ``ProjectionDiscriminator``: eq. (3), f(x, y) = psi(phi(x)) + <V e_y, phi(x)> = psi(phi(x)) + embed(y) . phi(x).
  phi is DCGAN's trunk followed by global sum pooling over the positions (the paper's nets: activation, then
  sum pooling; the trunk here ends with DCGAN's LeakyReLU(0.2) rather than ReLU), or the MLP's hidden layers for
  vectors; psi is a dense layer without bias and V a class embedding, as in the authors' code
  (pfnet-research/sngan_projection, ``SNLinear(ch, 1, nobias=True)``, ``SNEmbedID``).
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.conditional import check_net_labels, check_samples, labelled_trunk, require_num_classes
from zoo.nets.dcgan import STAGES, check_image_shape
from zoo.nets.norms import init_normal
from zoo.validation import require_at_least, require_positive


class ConditionalBatchNorm(nn.Module):
    """gamma_y * BN(h) + beta_y for (N, C, H, W) maps, or (N, C) features when ``flat``."""

    def __init__(self, num_features: int, num_classes: int, *, flat: bool = False) -> None:
        super().__init__()
        self.num_classes = require_num_classes(num_classes)
        self.norm = (nn.BatchNorm1d if flat else nn.BatchNorm2d)(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.normal_(self.gain.weight, 1.0, 0.02)
        nn.init.zeros_(self.bias.weight)

    def forward(self, h: Tensor, labels: Tensor) -> Tensor:
        labels = check_net_labels(labels, len(h), self.num_classes)
        shape = (len(h), -1) + (1,) * (h.dim() - 2)
        return self.gain(labels).view(shape) * self.norm(h) + self.bias(labels).view(shape)


class ConditionalBatchNormGenerator(nn.Module):
    """G(z, y): z (N, latent_dim) -> images in [-1, 1] of ``image_shape`` (DCGAN layout: 28, 32, 64 px) or
    vectors (N, D) (MLP layout, linear output), each hidden layer followed by conditional batch norm and ReLU.

    Args:
        width: DCGAN's last hidden channels (earlier layers double it per stage), or the MLP's hidden units.
        depth: hidden layers of the MLP (vectors only).
    """

    def __init__(
        self, image_shape: tuple[int, ...], latent_dim: int, num_classes: int, width: int = 64, depth: int = 3
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        require_positive("width", width)
        self.num_classes = require_num_classes(num_classes)
        self.image_shape, self.latent_dim = shape, latent_dim
        layers: list[nn.Module] = []
        norms: list[nn.Module] = []
        if len(shape) == 1:
            require_at_least("depth", depth, 1)
            sizes = [latent_dim] + [width] * depth
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                layers.append(nn.Linear(fan_in, fan_out))
                norms.append(ConditionalBatchNorm(fan_out, num_classes, flat=True))
            self.output: nn.Module = nn.Linear(width, shape[0])
        else:
            channels, size, _ = check_image_shape(shape)
            stages = STAGES[size]
            ch = width * 2 ** (stages - 1)
            layers.append(nn.ConvTranspose2d(latent_dim, ch, size // 2**stages, 1, 0, bias=False))
            norms.append(ConditionalBatchNorm(ch, num_classes))
            for _ in range(stages - 1):
                layers.append(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
                norms.append(ConditionalBatchNorm(ch // 2, num_classes))
                ch //= 2
            self.output = nn.Sequential(nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh())
            self.apply(init_normal)  # convs only: the conditional norms keep their own initialization
        self.layers = nn.ModuleList(layers)
        self.norms = nn.ModuleList(norms)
        self.activation = nn.ReLU()

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"generator expects z shaped (N, {self.latent_dim}); got {tuple(z.shape)}.")
        h = z if len(self.image_shape) == 1 else z[:, :, None, None]
        for layer, norm in zip(self.layers, self.norms):
            h = self.activation(norm(layer(h), labels))
        return self.output(h)


class ProjectionDiscriminator(nn.Module):
    """f(x, y) = psi(phi(x)) + embed(y) . phi(x) (Miyato & Koyama 2018, eq. 3): one raw score per sample (N,),
    higher = more real. ``phi``, ``psi`` and ``embed`` are exposed so the two terms can be checked apart."""

    def __init__(self, image_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "none") -> None:
        super().__init__()
        self.image_shape, self.num_classes, self.features, ch, size = labelled_trunk(
            image_shape, num_classes, width, norm
        )
        if size is not None:
            self.features.apply(init_normal)
        self.psi = nn.Linear(ch, 1, bias=False)
        self.embed = nn.Embedding(num_classes, ch)
        nn.init.xavier_uniform_(self.psi.weight)  # the authors' GlorotUniform for both
        nn.init.xavier_uniform_(self.embed.weight)

    def phi(self, x: Tensor) -> Tensor:
        """phi(x): the trunk's features, summed over the positions for images: (N, features)."""
        check_samples(x, self.image_shape, "discriminator")
        h = self.features(x)
        return h.sum(dim=(2, 3)) if h.dim() == 4 else h

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        h = self.phi(x)
        labels = check_net_labels(labels, len(x), self.num_classes)
        return self.psi(h).flatten() + (self.embed(labels) * h).sum(dim=1)  # eq. (3)


__all__ = ["ConditionalBatchNorm", "ConditionalBatchNormGenerator", "ProjectionDiscriminator"]
