"""DiffAugment (Zhao et al. 2020) as a base-class option: T reaches every discriminator call of both updates (real
and fake), gradients reach G through it, it is the identity when off, and it is seeded."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo.diffaugment import DiffAugment, RandomIntegerTranslate, cutout

POLICY = "color,translation,cutout"


def spy_discriminator(model):
    """Record (kind, input given, input D's forward receives) for every discriminator call in training."""
    calls, current = [], {}
    original = model.real_from_batch

    def real_from_batch(batch):
        current["real"] = original(batch)
        return current["real"]

    model.real_from_batch = real_from_batch

    def given(module, args):
        x = args[0]
        kind = "g_update" if x.requires_grad else ("real" if torch.equal(x, current["real"]) else "fake")
        calls.append([kind, x.detach().clone(), None])

    def received(module, args):
        calls[-1][2] = args[0].detach().clone()

    model.discriminator.register_forward_pre_hook(given, prepend=True)
    model.discriminator.register_forward_pre_hook(received)
    return calls


def fit(tmp_path, fashion_dir, steps: int = 4, **kwargs):
    L.seed_everything(0, verbose=False)
    model = tiny_model("GAN", **kwargs)
    calls = spy_discriminator(model)
    trainer = tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=steps, max_epochs=1)
    trainer.fit(model, tiny_data("GAN", fashion_dir))
    return model, calls


def test_every_discriminator_call_of_both_updates_is_augmented(tmp_path, fashion_dir):
    model, calls = fit(tmp_path, fashion_dir, image_shape=(1, 28, 28), diffaugment=POLICY)
    kinds = [kind for kind, _, _ in calls]
    assert {"real", "fake", "g_update"} <= set(kinds), kinds  # D update on real and fake, G update on G(z)
    for kind, x, seen in calls:
        assert seen.shape == x.shape
        assert not torch.equal(seen, x), kind  # the same T family on each: real, fake and the G update's fakes


def test_off_is_the_identity(tmp_path, fashion_dir):
    model, calls = fit(tmp_path, fashion_dir, image_shape=(1, 28, 28))
    assert {"real", "fake", "g_update"} <= {kind for kind, _, _ in calls}
    assert all(torch.equal(seen, x) for _, x, seen in calls)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert torch.equal(DiffAugment("")(x), x)


def test_eval_mode_discriminator_sees_its_input_unchanged():
    model = tiny_model("GAN", image_shape=(1, 28, 28), diffaugment=POLICY)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    model.discriminator.eval()
    torch.manual_seed(0)
    a = model.discriminator(x)
    torch.manual_seed(1)
    assert torch.equal(a, model.discriminator(x))


def test_gradients_reach_the_generator_through_the_augmentation():
    torch.manual_seed(0)
    model = tiny_model("GAN", image_shape=(1, 28, 28), diffaugment=POLICY)
    model.train()
    fake = model.generate(8)
    fake.retain_grad()
    model.discriminator(fake).sum().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    grads = [p.grad for p in model.generator.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    # per pixel: what cutout erased gets no gradient, the rest does
    x = (torch.rand(4, 1, 28, 28) * 2 - 1).requires_grad_()
    DiffAugment(POLICY)(x).sum().backward()
    assert (x.grad != 0).any()


def test_the_augmentation_is_seeded():
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    augment = DiffAugment(POLICY)
    torch.manual_seed(3)
    a = augment(x)
    torch.manual_seed(3)
    b = augment(x)
    torch.manual_seed(4)
    c = augment(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])  # per-sample parameters


def test_ops_match_the_paper():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    translate = RandomIntegerTranslate(0.125)  # s = round(16 / 8) = 2
    y = translate(x)
    dx, dy = translate._params["translate_x"], translate._params["translate_y"]
    assert torch.equal(dx, dx.round()) and dx.abs().max() <= 2 and dy.abs().max() <= 2
    for i in range(8):  # a whole-pixel shift with zeros shifted in
        shifted = torch.zeros_like(x[i])
        sx, sy = int(dx[i]), int(dy[i])
        src = x[i][:, max(0, -sy) : 16 - max(0, sy), max(0, -sx) : 16 - max(0, sx)]
        shifted[:, max(0, sy) : 16 - max(0, -sy), max(0, sx) : 16 - max(0, -sx)] = src
        assert torch.equal(y[i], shifted)
    erased = cutout(0.5)(x)
    assert ((erased == 0).all(dim=1).sum(dim=(1, 2)) == 64).all()  # an 8x8 square of each 16x16 image
    color = DiffAugment("color")
    y = color(x)
    brightness, saturation, contrast = (op._params for op in color.ops)
    b = brightness["brightness_factor"].view(-1, 1, 1, 1) - 1
    expected = x + b
    m = expected.mean(dim=1, keepdim=True)
    expected = (expected - m) * saturation["factor"].view(-1, 1, 1, 1) + m
    m = expected.mean(dim=(1, 2, 3), keepdim=True)
    expected = (expected - m) * contrast["factor"].view(-1, 1, 1, 1) + m
    torch.testing.assert_close(y, expected)
    assert ((b > -0.5) & (b < 0.5)).all()


def test_refusals_name_the_fix():
    with pytest.raises(ValueError, match="translation"):
        tiny_model("GAN", image_shape=(1, 28, 28), diffaugment="color,rotate")
    with pytest.raises(ValueError, match="images"):
        tiny_model("GAN", image_shape=(2,), diffaugment=POLICY)
    with pytest.raises(ValueError, match="autoencoder"):
        tiny_model("BEGAN", image_shape=(1, 32, 32), diffaugment=POLICY)
