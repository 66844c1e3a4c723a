"""Per-net wrappers (``zoo.models.ddp_nets``) without processes: a net is reached through its wrapper exactly while
an update of the optimizer that trains it runs, and the wrappers never enter the state dict."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import tiny_trainer
from zoo import GAN


class Wrapper(nn.Module):
    """Stands in for ``DistributedDataParallel``: forwards to the wrapped net."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def wrapped(net: nn.Module) -> bool:
    return isinstance(net, Wrapper)


def test_a_net_is_reached_through_its_wrapper_only_during_its_own_update(tmp_path):
    model = GAN(image_shape=(2,), latent_dim=2, width=8, g_norm="none", d_norm="none")
    keys = list(model.state_dict())
    model.wrap_networks(Wrapper)
    assert set(model.__dict__["_net_wrappers"]) == {"generator", "discriminator"}
    seen: list[tuple[str, bool, bool]] = []
    d_loss, g_loss, fake_batch = model.discriminator_loss, model.generator_loss, model.fake_batch

    def spy_fake_batch(n):
        seen.append(("fake", wrapped(model.generator), wrapped(model.discriminator)))
        return fake_batch(n)

    def spy_d_loss(real, fake):
        seen.append(("d", wrapped(model.generator), wrapped(model.discriminator)))
        return d_loss(real, fake)

    def spy_g_loss(batch_size):
        seen.append(("g", wrapped(model.generator), wrapped(model.discriminator)))
        return g_loss(batch_size)

    model.fake_batch, model.discriminator_loss, model.generator_loss = spy_fake_batch, spy_d_loss, spy_g_loss
    data = DataLoader(TensorDataset(torch.randn(16, 2)), batch_size=8)
    tiny_trainer(tmp_path, max_epochs=1).fit(model, data)
    # (which update, generator wrapped, discriminator wrapped): the critic's fakes come from the plain generator
    assert seen == [("fake", False, True), ("d", False, True), ("g", True, False)] * 2
    assert not wrapped(model.generator) and not wrapped(model.discriminator)
    assert list(model.state_dict()) == keys
