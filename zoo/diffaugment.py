"""DiffAugment: differentiable augmentation of everything the discriminator sees, real and fake alike.

Zhao, Liu, Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020
(arXiv 2006.10738), Section 3, eqs. (2)-(3): the discriminator scores D(T(x)) and D(T(G(z))) in its update and
the generator is trained through D(T(G(z))), with T a random, differentiable transform drawn afresh per sample
and per call from one family (the *policy*). The paper's policy ``color,translation,cutout`` is, on images in
[-1, 1] (as the zoo's and the paper's code):

* color: brightness x + U(-0.5, 0.5); saturation (x - mean_c x) * U(0, 2) + mean_c x (mean over channels);
  contrast (x - mean_chw x) * U(0.5, 1.5) + mean_chw x (mean over the whole image);
* translation: an integer shift in {-s, ..., s}, s = round(H / 8) (and W / 8), zeros shifted in;
* cutout: a square of half the image size set to 0.

Built on ``kornia.augmentation`` (batch-wise random parameters drawn from torch's global RNG, so
``torch.manual_seed`` / ``seed_everything`` fix them and the zoo's checkpoints restore them on resume):

* brightness: ``kornia.augmentation.RandomBrightness`` with ``clip_output=False`` (it adds factor - 1);
* saturation and contrast: thin ``IntensityAugmentationBase2D`` pieces (``RandomMeanScale``). kornia's
  ``RandomSaturation`` works in HSV, needs RGB input and clamps to [0, 1]; its ``RandomContrast`` multiplies
  without subtracting the mean, and ``adjust_contrast_with_mean_subtraction`` uses luminance weights and clamps
  to [0, 1]. None is the paper's op on [-1, 1] images;
* translation: ``kornia.augmentation.RandomTranslate`` (zeros padding, nearest resampling) whose sampled
  shifts are rounded to whole pixels (``RandomIntegerTranslate``): kornia draws continuous shifts, the paper
  integer ones, uniform over {-s, ..., s};
* cutout: ``kornia.augmentation.RandomErasing`` with area 1/4 and aspect ratio 1 (a square of half the side)
  and value 0. Departure: kornia keeps the square inside the image; the paper's centre is uniform over the
  image and its square is clipped at the border (so it can erase less than 1/4).

``attach(net, augment)`` puts T in front of a discriminator as a forward pre-hook: every call of the net in
train mode sees T(x), whichever loss or regularizer makes the call, and its state dict is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from kornia.augmentation import IntensityAugmentationBase2D, RandomBrightness, RandomErasing, RandomTranslate
from kornia.augmentation import random_generator as rg
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

#: the paper's policies (Zhao et al. 2020, Section 3.2) and their default combination
POLICIES = ("color", "translation", "cutout")
DEFAULT_POLICY = "color,translation,cutout"


def parse_policy(policy: str | Sequence[str]) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); ``ValueError`` naming the known policies."""
    names = [p.strip() for p in policy.split(",")] if isinstance(policy, str) else [str(p).strip() for p in policy]
    names = [p for p in names if p]
    unknown = [p for p in names if p not in POLICIES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"diffaugment policy {policy!r}: give distinct names among {', '.join(POLICIES)} separated by commas, "
            f"e.g. {DEFAULT_POLICY!r} (Zhao et al. 2020)."
        )
    return tuple(names)


class RandomMeanScale(IntensityAugmentationBase2D):
    """x -> (x - m) * f + m with m the mean of x over ``dims`` and f ~ U(low, high) per sample (no clamping).

    ``dims=(1,)``: DiffAugment's saturation (f ~ U(0, 2)); ``dims=(1, 2, 3)``: its contrast (f ~ U(0.5, 1.5)).
    """

    def __init__(self, factor: tuple[float, float], dims: tuple[int, ...], p: float = 1.0) -> None:
        super().__init__(p=p, same_on_batch=False, keepdim=False)
        self.dims = dims
        self.factor = torch.tensor([float(factor[0]), float(factor[1])])
        self._param_generator = rg.PlainUniformGenerator((self.factor, "factor", None, None))

    def apply_transform(
        self, input: Tensor, params: dict[str, Tensor], flags: dict[str, Any], transform: Tensor | None = None
    ) -> Tensor:
        factor = params["factor"].to(input.device, input.dtype).view(-1, 1, 1, 1)
        mean = input.mean(dim=self.dims, keepdim=True)
        return (input - mean) * factor + mean


class RandomIntegerTranslate(RandomTranslate):
    """``RandomTranslate`` by whole pixels, uniform over {-s, ..., s} per axis (s = round(ratio * size)).

    kornia samples a continuous shift; drawing it from U(-s - 1/2, s + 1/2) and rounding gives the paper's
    integer distribution. Zeros are shifted in; nearest resampling of a whole-pixel shift moves pixels exactly.
    """

    def __init__(self, ratio: float = 0.125) -> None:
        super().__init__(resample="nearest", padding_mode="zeros", p=1.0, align_corners=True)
        self.ratio = ratio

    def generate_parameters(self, batch_shape: tuple[int, ...]) -> dict[str, Tensor]:
        height, width = batch_shape[-2], batch_shape[-1]
        shifts = {}
        for key, size in (("translate_x", width), ("translate_y", height)):
            s = int(size * self.ratio + 0.5)
            draw = (torch.rand(batch_shape[0]) * (2 * s + 1) - (s + 0.5)).round().clamp_(-s, s)
            shifts[key] = draw
        return shifts


def cutout(ratio: float = 0.5) -> RandomErasing:
    """kornia's ``RandomErasing`` as DiffAugment's cutout: a square of ``ratio`` times the side, set to 0."""
    return RandomErasing(scale=(ratio * ratio, ratio * ratio), ratio=(1.0, 1.0), value=0.0, p=1.0)


class DiffAugment(nn.Module):
    """T of DiffAugment for a policy (``"color,translation,cutout"`` by default), on (N, C, H, W) images.

    Every call draws new parameters per sample (torch's global RNG). An empty policy is the identity.
    """

    def __init__(
        self, policy: str | Sequence[str] = DEFAULT_POLICY, translation: float = 0.125, cutout_ratio: float = 0.5
    ) -> None:
        super().__init__()
        self.policy = parse_policy(policy)
        ops: list[nn.Module] = []
        for name in self.policy:
            if name == "color":
                ops += [
                    RandomBrightness(brightness=(0.5, 1.5), clip_output=False, p=1.0),  # x + U(-0.5, 0.5)
                    RandomMeanScale((0.0, 2.0), dims=(1,)),  # saturation
                    RandomMeanScale((0.5, 1.5), dims=(1, 2, 3)),  # contrast
                ]
            elif name == "translation":
                ops.append(RandomIntegerTranslate(translation))
            else:
                ops.append(cutout(cutout_ratio))
        self.ops = nn.Sequential(*ops)

    def forward(self, images: Tensor) -> Tensor:
        if images.dim() != 4:
            raise ValueError(f"DiffAugment takes (N, C, H, W) images, got shape {tuple(images.shape)}.")
        return self.ops(images)

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)!r}"


def attach(net: nn.Module, augment: nn.Module) -> RemovableHandle:
    """Make ``net(x, ...)`` compute ``net(augment(x), ...)`` while ``net`` is in train mode (a forward pre-hook).

    The net's parameters, buffers and state-dict keys are unchanged; in eval mode it sees its input as given.
    """

    def hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not module.training or not args:
            return None
        return (augment(args[0]), *args[1:])

    return net.register_forward_pre_hook(hook)
