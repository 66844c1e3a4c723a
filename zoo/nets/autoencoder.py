"""Autoencoder discriminators, D(x) = Dec(Enc(x)): the net returns the reconstruction, and on request the code
h = Enc(x). Shared by BEGAN (Berthelot et al. 2017, arXiv 1703.10717), whose loss is the pixel-wise error
|x - D(x)|^eta, and EBGAN (Zhao et al. 2017, arXiv 1609.03126), whose energy is ||Dec(Enc(x)) - x|| and whose
pulling-away term acts on the codes h of a batch.

Images (C, H, W): :class:`ConvAutoencoder`, BEGAN's architecture (Berthelot et al., Section 3.5):

    Enc: conv3x3 C -> n, ELU; per scale s = 1..S: [conv3x3 s*n -> s*n, ELU] x repeats, then (except after the
         last scale) a stride-2 conv3x3 s*n -> (s+1)*n, ELU ("sub-sampling with stride 2", filters growing
         linearly); flatten; fully connected -> h in R^code_dim, no non-linearity.
    Dec: fully connected h -> n x H0 x W0, no non-linearity; per scale: [conv3x3 n -> n, ELU] x repeats, then
         (except after the last scale) nearest-neighbour 2x up-sampling; conv3x3 n -> C, linear output.

The encoder halves the map while both sides are even and larger than 8 (BEGAN keeps an 8x8 map at the
boundary): 28 -> 14 -> 7 (MNIST-like 28 px), 32 -> 16 -> 8, 64 -> 32 -> 16 -> 8; odd or small sizes keep their
size (no down-sampling). No batch norm, dropout or transposed convolutions, as the paper says; ``norm`` can add a
normalization after every hidden conv (never after the input conv or the output conv).

Vectors (D,): :class:`MLPAutoencoder`, Enc = two ELU hidden layers then a linear code, Dec = one ELU hidden layer
then a linear output (EBGAN's MNIST grid kept Dec small: "Dec is always a single layer", Section 4.1).

``build_autoencoder(..., nets="infogan")`` gives instead the autoencoder Lucic et al. 2018's BEGAN used, made of the
InfoGAN-style nets' parts (``zoo.nets.infogan_autoencoder``).

Weights keep PyTorch's default initialization (neither paper prescribes one). Every net validates its input.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import norm_layer
from zoo.validation import require_at_least, require_choice, require_positive

#: BEGAN keeps the map at the encoder/decoder boundary at 8x8 (Section 3.5): stop halving at this size
MIN_MAP = 8


def check_autoencoder_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Validate a (C, H, W) shape for :class:`ConvAutoencoder` and return it as a tuple of ints."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(
            f"ConvAutoencoder takes images shaped (C, H, W); got image_shape={shape}. Vectors (D,) take "
            "MLPAutoencoder (build_autoencoder picks by shape)."
        )
    if min(shape) < 1:
        raise ValueError(f"ConvAutoencoder needs positive channels, height and width; got image_shape={shape}.")
    return shape  # type: ignore[return-value]


def map_sizes(height: int, width: int) -> list[tuple[int, int]]:
    """The encoder's map size at every scale: halve while both sides are even and larger than ``MIN_MAP``."""
    sizes = [(height, width)]
    while height % 2 == 0 and width % 2 == 0 and min(height, width) > MIN_MAP:
        height, width = height // 2, width // 2
        sizes.append((height, width))
    return sizes


def _conv(fan_in: int, fan_out: int, norm: str, stride: int = 1) -> list[nn.Module]:
    """conv3x3 (padding 1), optional normalization, ELU."""
    return [nn.Conv2d(fan_in, fan_out, 3, stride, 1, bias=norm == "none"), norm_layer(norm, fan_out), nn.ELU()]


class ConvAutoencoder(nn.Module):
    """Images of ``image_shape`` -> reconstructions of the same shape (and codes h of ``code_dim``).

    Args:
        image_shape: (C, H, W), any positive sizes (see the module docstring for the scales).
        code_dim: size of the embedding h (BEGAN's N_h; the paper uses 64).
        width: n, the channels of the first scale; scale s has s * n in the encoder, n in the decoder.
        repeats: convolutions per scale (BEGAN: "typically 2").
        norm: ``none`` (both papers), ``batch``, ``instance`` or ``layer`` after every hidden conv.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        code_dim: int = 64,
        width: int = 64,
        repeats: int = 2,
        norm: str = "none",
    ) -> None:
        super().__init__()
        channels, height, wide = check_autoencoder_shape(image_shape)
        require_at_least("code_dim", code_dim, 1, "The autoencoder needs a code of at least one dimension.")
        require_positive("width", width)
        require_at_least("repeats", repeats, 1)
        self.image_shape = (channels, height, wide)
        self.code_dim = code_dim
        sizes = map_sizes(height, wide)
        scales = len(sizes)
        self.map_shape = (width, *sizes[-1])  # the decoder's first map; the encoder's last has scales * width
        encoder: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ELU()]
        for s in range(1, scales + 1):
            for _ in range(repeats):
                encoder += _conv(s * width, s * width, norm)
            if s < scales:
                encoder += _conv(s * width, (s + 1) * width, norm, stride=2)
        encoder += [nn.Flatten(), nn.Linear(scales * width * sizes[-1][0] * sizes[-1][1], code_dim)]
        self.encoder = nn.Sequential(*encoder)
        decoder: list[nn.Module] = []
        for s in range(scales):
            for _ in range(repeats):
                decoder += _conv(width, width, norm)
            if s < scales - 1:
                decoder.append(nn.Upsample(scale_factor=2, mode="nearest"))
        decoder.append(nn.Conv2d(width, channels, 3, 1, 1))
        self.project = nn.Linear(code_dim, width * sizes[-1][0] * sizes[-1][1])
        self.decoder = nn.Sequential(*decoder)

    def _check(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"autoencoder built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )

    def encode(self, x: Tensor) -> Tensor:
        """h = Enc(x), shape (N, code_dim)."""
        self._check(x)
        return self.encoder(x)

    def decode(self, h: Tensor) -> Tensor:
        """Dec(h), shape (N, C, H, W)."""
        if h.dim() != 2 or h.shape[1] != self.code_dim:
            raise ValueError(f"decoder expects codes shaped (N, {self.code_dim}); got {tuple(h.shape)}.")
        return self.decoder(self.project(h).view(len(h), *self.map_shape))

    def forward(self, x: Tensor, return_code: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Dec(Enc(x)); with ``return_code`` the pair (Dec(Enc(x)), Enc(x)) from one pass."""
        h = self.encode(x)
        reconstruction = self.decode(h)
        return (reconstruction, h) if return_code else reconstruction


class MLPAutoencoder(nn.Module):
    """Vectors (N, data_dim) -> reconstructions (N, data_dim) (and codes h of ``code_dim``).

    Args:
        data_dim: size of a sample.
        code_dim: size of the code h.
        hidden: units of every hidden layer.
        norm: ``none``, ``batch`` or ``layer`` after every hidden layer.
    """

    def __init__(self, data_dim: int, code_dim: int = 64, hidden: int = 128, norm: str = "none") -> None:
        super().__init__()
        require_at_least("data_dim", data_dim, 1)
        require_at_least("code_dim", code_dim, 1, "The autoencoder needs a code of at least one dimension.")
        require_at_least("hidden", hidden, 1)
        self.image_shape = (data_dim,)
        self.code_dim = code_dim
        self.encoder = nn.Sequential(
            nn.Linear(data_dim, hidden),
            norm_layer(norm, hidden, flat=True),
            nn.ELU(),
            nn.Linear(hidden, hidden),
            norm_layer(norm, hidden, flat=True),
            nn.ELU(),
            nn.Linear(hidden, code_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_dim, hidden), norm_layer(norm, hidden, flat=True), nn.ELU(), nn.Linear(hidden, data_dim)
        )

    def encode(self, x: Tensor) -> Tensor:
        """h = Enc(x), shape (N, code_dim)."""
        if x.dim() != 2 or x.shape[1] != self.image_shape[0]:
            raise ValueError(
                f"autoencoder built for {self.image_shape[0]}-D samples got a batch shaped {tuple(x.shape)}."
            )
        return self.encoder(x)

    def decode(self, h: Tensor) -> Tensor:
        """Dec(h), shape (N, data_dim)."""
        if h.dim() != 2 or h.shape[1] != self.code_dim:
            raise ValueError(f"decoder expects codes shaped (N, {self.code_dim}); got {tuple(h.shape)}.")
        return self.decoder(h)

    def forward(self, x: Tensor, return_code: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Dec(Enc(x)); with ``return_code`` the pair (Dec(Enc(x)), Enc(x)) from one pass."""
        h = self.encode(x)
        reconstruction = self.decode(h)
        return (reconstruction, h) if return_code else reconstruction


def build_autoencoder(
    image_shape: tuple[int, ...], code_dim: int = 64, width: int = 64, norm: str = "none", nets: str = "dcgan"
) -> nn.Module:
    """The autoencoder discriminator for ``image_shape``: for (C, H, W) images :class:`ConvAutoencoder` (BEGAN's
    architecture; ``width`` = n, its first-scale channels), or with ``nets="infogan"`` compare_gan's autoencoder of
    the InfoGAN-style parts (``zoo.nets.infogan_autoencoder``, the D of Lucic et al.'s BEGAN; fixed widths);
    :class:`MLPAutoencoder` for (D,) vectors (``width`` = hidden units)."""
    from zoo.nets import IMAGE_NETS
    from zoo.nets.infogan_autoencoder import InfoGANAutoencoder

    require_choice("nets", nets, IMAGE_NETS)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 1:
        return MLPAutoencoder(shape[0], code_dim=code_dim, hidden=width, norm=norm)
    if nets == "infogan":
        return InfoGANAutoencoder(shape, code_dim=code_dim, norm=norm)
    return ConvAutoencoder(shape, code_dim=code_dim, width=width, norm=norm)


__all__ = ["ConvAutoencoder", "MLPAutoencoder", "build_autoencoder", "check_autoencoder_shape", "map_sizes"]
