"""Image history buffer (Shrivastava et al., CVPR 2017, Section 2.3; CycleGAN, Zhu et al. 2017, Section 4).

CycleGAN updates its discriminators "using a history of generated images rather than the ones produced by
the latest generators", keeping a buffer of the 50 most recently created images. As in the reference code,
each generated image is stored while the pool is not full and returned as is; once the pool is full, with
probability 1/2 a random stored image is returned in its place (and the new one takes its slot), otherwise
the new image is returned and the pool is unchanged.

Plain torch, no Lightning. The pool draws from its own ``torch.Generator`` and exposes ``state_dict`` /
``load_state_dict`` (images and generator state), so a resumed run queries it exactly as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from zoo.validation import require_at_least


class ImagePool:
    """History of up to ``size`` generated images; ``query(images)`` returns a batch of the same shape.

    Args:
        size: capacity (the paper's 50); 0 disables the pool (``query`` returns its input).
        seed: seeds the pool's own random generator.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        require_at_least("pool size", size, 0, "Use 0 to disable the history pool.")
        self.size = size
        self.generator = torch.Generator().manual_seed(seed)
        self.images: list[Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: Tensor) -> Tensor:
        """Images for the discriminator: the new ones, some swapped for older ones once the pool is full."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator).item())
                out.append(self.images[slot].to(image.device, image.dtype))
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        """Stored images (on CPU, one tensor) and the generator state; loadable with ``weights_only=True``."""
        images = torch.stack([im.cpu() for im in self.images]) if self.images else torch.empty(0)
        return {"size": self.size, "images": images, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"checkpoint holds an image pool of size {state['size']}, this model has {self.size}.")
        self.images = [im.clone() for im in state["images"]] if state["images"].numel() else []
        self.generator.set_state(state["rng"])
