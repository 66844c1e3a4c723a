"""70x70 PatchGAN discriminator (Isola et al., CVPR 2017; CycleGAN, Zhu et al. 2017, Appendix 7.2).

``C64-C128-C256-C512``: 4x4 convs, stride 2 for the first three and stride 1 for the fourth, LeakyReLU 0.2,
instance norm on all but the first, then a 4x4 stride-1 conv to one channel. Each output is a raw score
(higher = more real, no sigmoid) for one 70x70 patch of the input (the receptive field with
``n_layers=3``). ``n_layers`` sets the number of stride-2 convs: 1 gives 16x16 patches, 2 gives 34x34.

Small images work too: a 28 px image gives a 1x1 score map at ``n_layers=3`` (a whole-image
discriminator) and a 5x5 map of 34x34 patches at ``n_layers=2``. Sizes too small for the chosen depth are
refused with the smallest valid size.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import NORMS, init_normal, norm_layer
from zoo.validation import require_at_least, require_choice, require_positive


def patch_output_size(size: int, n_layers: int) -> int:
    """Side of the score map for an input side ``size`` (4x4 convs, padding 1)."""
    for _ in range(n_layers):
        size = size // 2  # stride 2: floor((s + 2 - 4) / 2) + 1
    return size - 2  # two stride-1 4x4 convs: s - 1 each


def receptive_field(n_layers: int) -> int:
    """Receptive field of one output score: 70 for n_layers=3 (the "70x70 PatchGAN")."""
    rf = 1
    for stride in [1, 1] + [2] * n_layers:  # walk back from the output
        rf = (rf - 1) * stride + 4
    return rf


class PatchGANDiscriminator(nn.Module):
    """Maps images of ``image_shape`` to a raw score map (N, 1, h, w), one score per patch.

    Args:
        image_shape: (C, H, W); H and W must leave a score map of at least 1x1.
        width: channels of the first conv (the paper's 64), doubled per layer up to 8x.
        n_layers: stride-2 convs (3 = 70x70 patches).
        norm: ``instance`` (paper), ``batch``, ``layer`` or ``none``; never on the first layer.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], width: int = 64, n_layers: int = 3, norm: str = "instance"
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 3:
            raise ValueError(f"PatchGANDiscriminator takes images shaped (C, H, W); got image_shape={shape}.")
        require_positive("width", width)
        require_at_least("n_layers", n_layers, 1)
        require_choice("norm", norm, NORMS)
        channels, h, w = shape
        if min(patch_output_size(h, n_layers), patch_output_size(w, n_layers)) < 1:
            smallest = next(s for s in range(1, 4096) if patch_output_size(s, n_layers) >= 1)
            raise ValueError(
                f"PatchGAN with n_layers={n_layers} needs images of at least {smallest} px; got {h}x{w}. "
                "Use fewer layers (n_layers) or larger images."
            )
        self.image_shape = shape
        self.n_layers = n_layers
        use_bias = norm == "instance" or norm == "none"
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(width * prev, width * mult, 4, stride, 1, bias=use_bias),
                norm_layer(norm, width * mult, instance_affine=False),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(width * mult, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.image_shape[0]:
            raise ValueError(
                f"discriminator built for {self.image_shape[0]}-channel images got a batch shaped {tuple(x.shape)}."
            )
        return self.net(x)
