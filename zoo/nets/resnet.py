"""ResNet generator of CycleGAN (Zhu et al., ICCV 2017, Appendix 7.2; after Johnson et al., ECCV 2016).

``c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-C``: a 7x7 stride-1 conv, two stride-2 downsampling convs,
``n_blocks`` residual blocks (two 3x3 convs each), two fractionally strided upsampling convs and a 7x7 conv to
the output channels with tanh. Reflection padding in the 7x7 and residual convs, instance normalization (no
affine parameters, as the reference code) and ReLU everywhere but the output. The paper uses 6 blocks for
128x128 training images and 9 blocks for 256x256 and larger (``n_blocks=None`` picks by image size).

Fully convolutional: images of any size divisible by 4 go in and come out at the same size.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import NORMS, init_normal, norm_layer
from zoo.validation import require_at_least, require_choice, require_positive


def default_blocks(image_size: int) -> int:
    """Residual blocks by training image size (Appendix 7.2): 9 at 256 px and above, 6 below."""
    return 9 if image_size >= 256 else 6


def check_translation_shape(image_shape: tuple[int, ...], min_size: int, multiple: int, net: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(f"{net} takes images shaped (C, H, W); got image_shape={shape}.")
    c, h, w = shape
    if c < 1:
        raise ValueError(f"{net} needs at least one channel; got image_shape={shape}.")
    if h < min_size or w < min_size or h % multiple or w % multiple:
        raise ValueError(
            f"{net} takes images of at least {min_size} px with sides divisible by {multiple}; got {h}x{w}. "
            "Resize or crop the data (e.g. the datamodule's crop_size) to a supported size."
        )
    return shape


class ResidualBlock(nn.Module):
    """x + conv3x3(relu(norm(conv3x3(x)))) with reflection padding (Appendix 7.2, ``Rk``)."""

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        use_bias = norm == "instance" or norm == "none"
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=use_bias),
            norm_layer(norm, channels, instance_affine=False),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=use_bias),
            norm_layer(norm, channels, instance_affine=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResNetGenerator(nn.Module):
    """Image-to-image generator: (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1].

    Args:
        image_shape: (C, H, W) of the training images (H, W >= 16 and divisible by 4); the net is fully
            convolutional and takes any size divisible by 4 at inference.
        out_channels: output channels (default: C).
        width: channels of the first conv (the paper's 64); 2x and 4x after the downsampling convs.
        n_blocks: residual blocks; ``None`` picks 6 below 256 px and 9 at 256 px and above.
        norm: ``instance`` (paper), ``batch``, ``layer`` or ``none``.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_channels: int | None = None,
        width: int = 64,
        n_blocks: int | None = None,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        channels, h, w = check_translation_shape(image_shape, 16, 4, "ResNetGenerator")
        require_positive("width", width)
        require_choice("norm", norm, NORMS)
        n_blocks = default_blocks(min(h, w)) if n_blocks is None else n_blocks
        require_at_least("n_blocks", n_blocks, 0)
        out_channels = channels if out_channels is None else out_channels
        self.image_shape = (channels, h, w)
        self.n_blocks = n_blocks
        use_bias = norm == "instance" or norm == "none"
        layers: list[nn.Module] = [  # c7s1-64
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, 7, bias=use_bias),
            norm_layer(norm, width, instance_affine=False),
            nn.ReLU(True),
        ]
        ch = width
        for _ in range(2):  # d128, d256
            layers += [
                nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=use_bias),
                norm_layer(norm, ch * 2, instance_affine=False),
                nn.ReLU(True),
            ]
            ch *= 2
        layers += [ResidualBlock(ch, norm) for _ in range(n_blocks)]  # R256 x n_blocks
        for _ in range(2):  # u128, u64
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=use_bias),
                norm_layer(norm, ch // 2, instance_affine=False),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]  # c7s1-3
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.image_shape[0] or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(
                f"generator built for {self.image_shape[0]}-channel images with sides divisible by 4 got a batch "
                f"shaped {tuple(x.shape)}."
            )
        return self.net(x)
