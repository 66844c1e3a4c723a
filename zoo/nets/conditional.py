"""Class-conditional nets for cGAN and ACGAN, built from the DCGAN blocks (images) and the MLPs (vectors).

Labels are int64 class indices of shape (N,) with values in [0, num_classes). The projection discriminator and
the conditional-batch-norm generator of Miyato & Koyama (2018) are in ``zoo.nets.conditional_projection``.

* ``LabelConcatGenerator``: G(z, y) = G'([z; onehot(y)]) (Mirza & Osindero 2014, Fig. 2: y is an extra input
  layer of G, concatenated with z). The first layer of G' is linear (a dense layer, or DCGAN's transposed conv
  from a 1x1 map), so W [z; onehot(y)] = W_z z + W_y[:, y]: the one-hot input *is* a learned class embedding
  added to the first layer's response to z, the "class embedding combined with z" of Odena et al. (2017).
* ``LabelConcatDiscriminator``: D(x, y) on x concatenated with onehot(y): for vectors [x; onehot(y)] (the paper's
  MLP), for images K one-hot feature maps (map k is 1 everywhere when y = k) stacked on the image channels, the
  usual convolutional adaptation.
* ``AuxiliaryClassifierDiscriminator``: Odena et al. (2017), Sec. 3: one shared body, two heads, returning the
  real/fake score (one logit per sample) and class logits (K per sample).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.nets.dcgan import STAGES, DCGANGenerator, check_image_shape, downsampling_trunk
from zoo.nets.mlp import MLPDiscriminator, MLPGenerator
from zoo.nets.norms import init_normal
from zoo.validation import require_at_least, require_positive


def require_num_classes(num_classes: object) -> int:
    """``num_classes`` as an int if it is a whole number >= 2; ``ValueError`` otherwise."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise ValueError(f"num_classes must be an int >= 2 (the number of data classes), got {num_classes!r}.")
    require_at_least("num_classes", num_classes, 2, "A class-conditional model needs at least two classes.")
    return num_classes


def check_net_labels(labels: Tensor, n: int, num_classes: int) -> Tensor:
    """Cheap checks of a net's label input (no device sync): an integer tensor of shape (n,)."""
    integer = isinstance(labels, Tensor) and not (labels.is_floating_point() or labels.is_complex())
    if not integer or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor of class indices in [0, {num_classes}), got {labels!r}.")
    if labels.dim() != 1 or len(labels) != n:
        raise ValueError(f"labels must have shape ({n},), one class index per sample; got {tuple(labels.shape)}.")
    return labels


def one_hot(labels: Tensor, num_classes: int, like: Tensor) -> Tensor:
    """onehot(labels) as (N, K) in ``like``'s dtype and device."""
    return F.one_hot(labels.long(), num_classes).to(dtype=like.dtype, device=like.device)


def check_samples(x: Tensor, image_shape: tuple[int, ...], who: str) -> None:
    if tuple(x.shape[1:]) != tuple(image_shape) or x.dim() != len(image_shape) + 1:
        raise ValueError(
            f"{who} built for samples {tuple(image_shape)} got a batch shaped {tuple(x.shape)}; build the model "
            "with the data's image_shape (or let the datamodule set it)."
        )


def mlp_trunk(data_dim: int, hidden: int, depth: int, norm: str) -> nn.Sequential:
    """``MLPDiscriminator``'s hidden layers without its output layer: (N, data_dim) -> (N, hidden) features."""
    return MLPDiscriminator(data_dim, hidden=hidden, depth=depth, norm=norm).net[:-1]


class LabelConcatGenerator(nn.Module):
    """G(z, y) = G'([z; onehot(y)]): the DCGAN generator for (C, H, W) images, the MLP for (D,) vectors, with
    ``latent_dim + num_classes`` inputs."""

    def __init__(
        self, image_shape: tuple[int, ...], latent_dim: int, num_classes: int, width: int = 64, norm: str = "batch"
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        self.num_classes = require_num_classes(num_classes)
        self.image_shape, self.latent_dim = shape, latent_dim
        if len(shape) == 1:
            self.body: nn.Module = MLPGenerator(shape[0], latent_dim + num_classes, hidden=width, norm=norm)
        else:
            self.body = DCGANGenerator(shape, latent_dim + num_classes, width=width, norm=norm)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"generator expects z shaped (N, {self.latent_dim}); got {tuple(z.shape)}.")
        labels = check_net_labels(labels, len(z), self.num_classes)
        return self.body(torch.cat([z, one_hot(labels, self.num_classes, z)], dim=1))


class LabelConcatDiscriminator(nn.Module):
    """D(x, y) -> one raw score per sample (N,), higher = more real, on x concatenated with onehot(y): for images
    K one-hot maps stacked on the channels and DCGAN's trunk and head; for vectors ``MLPDiscriminator`` on
    [x; onehot(y)]."""

    def __init__(self, image_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        self.num_classes = require_num_classes(num_classes)
        require_positive("width", width)
        self.image_shape = shape
        if len(shape) == 1:
            self.body: nn.Module = MLPDiscriminator(shape[0] + num_classes, hidden=width, norm=norm)
        else:
            channels, size, _ = check_image_shape(shape)
            features, ch = downsampling_trunk(channels + num_classes, size, width, norm)
            self.body = nn.Sequential(features, nn.Conv2d(ch, 1, size // 2 ** STAGES[size], 1, 0))
            self.body.apply(init_normal)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        check_samples(x, self.image_shape, "discriminator")
        labels = check_net_labels(labels, len(x), self.num_classes)
        y = one_hot(labels, self.num_classes, x)
        if x.dim() == 4:  # K maps, map k constant 1 where y = k
            y = y[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.body(torch.cat([x, y], dim=1)).flatten()


def labelled_trunk(
    image_shape: tuple[int, ...], num_classes: int, width: int, norm: str
) -> tuple[tuple[int, ...], int, nn.Module, int, int | None]:
    """The checks and shared body of a class-aware discriminator: ``(image_shape, num_classes, features,
    feature channels, image size)``. Vectors get the MLP's hidden layers (``width`` units, size ``None``);
    images DCGAN's downsampling trunk (``zoo.nets.dcgan``)."""
    shape = tuple(int(s) for s in image_shape)
    classes = require_num_classes(num_classes)
    require_positive("width", width)
    if len(shape) == 1:
        return shape, classes, mlp_trunk(shape[0], width, 3, norm), width, None
    channels, size, _ = check_image_shape(shape)
    features, ch = downsampling_trunk(channels, size, width, norm)
    return shape, classes, features, ch, size


class AuxiliaryClassifierDiscriminator(nn.Module):
    """D(x) -> (scores (N,), class logits (N, K)): a shared body with a real/fake head and a class head
    (Odena et al. 2017, Sec. 3: P(S | X), P(C | X) = D(X)). Images: DCGAN's trunk, each head a conv over the
    final map (DCGAN's head); vectors: the MLP's hidden layers, each head a dense layer."""

    def __init__(self, image_shape: tuple[int, ...], num_classes: int, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        self.image_shape, self.num_classes, self.features, ch, size = labelled_trunk(
            image_shape, num_classes, width, norm
        )
        if size is None:
            self.source_head: nn.Module = nn.Linear(width, 1)
            self.class_head: nn.Module = nn.Linear(width, num_classes)
        else:
            final = size // 2 ** STAGES[size]
            self.source_head = nn.Sequential(nn.Conv2d(ch, 1, final, 1, 0), nn.Flatten())
            self.class_head = nn.Sequential(nn.Conv2d(ch, num_classes, final, 1, 0), nn.Flatten())
            self.apply(init_normal)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_samples(x, self.image_shape, "discriminator")
        h = self.features(x)
        return self.source_head(h).flatten(), self.class_head(h)


__all__ = [
    "AuxiliaryClassifierDiscriminator",
    "LabelConcatDiscriminator",
    "LabelConcatGenerator",
    "check_net_labels",
    "labelled_trunk",
    "mlp_trunk",
    "one_hot",
    "require_num_classes",
]
