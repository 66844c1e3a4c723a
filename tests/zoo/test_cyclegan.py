"""CycleGAN (Zhu et al. 2017): cycle loss, image pool, LR schedule, frozen D in the G step, learning, resume."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from PIL import Image
from torch import nn

from callbacks import SampleGrid, ZooCheckpoint
from datamodules import FashionMNISTPairData
from datamodules.base import ImageDataModule
from zoo import CycleGAN
from zoo.checkpoints import load_variant
from zoo.commands.cli import main
from zoo.image_pool import ImagePool
from zoo.losses_autoencoding import cycle_consistency
from zoo.models.cyclegan import linear_decay
from zoo.nets.patchgan import PatchGANDiscriminator, receptive_field
from zoo.nets.resnet import ResNetGenerator


class RandomPairs(ImageDataModule):
    """Unpaired fixture: 32 random 16x16 images per domain, batches (images_a, images_b)."""

    image_shape = (1, 16, 16)
    num_classes = 0

    def load_split(self, split):
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        return tuple(torch.randint(0, 256, (32, 1, 16, 16), generator=g, dtype=torch.uint8) for _ in range(2))

    def on_after_batch_transfer(self, batch, dataloader_idx):
        return tuple(images.float() / 127.5 - 1 for images in batch)


def tiny(**kwargs) -> CycleGAN:
    kwargs = {"image_shape": (1, 16, 16), "width": 2, "n_blocks": 1, "d_layers": 1, **kwargs}
    return CycleGAN(**kwargs)


def trainer(tmp_path: Path, **kwargs) -> L.Trainer:
    kwargs = {"logger": False, "enable_checkpointing": False, **kwargs}
    return L.Trainer(default_root_dir=tmp_path, enable_progress_bar=False, enable_model_summary=False, **kwargs)


# ------------------------------------------------------------------------------------------- cycle loss


def test_cycle_loss_zero_for_identity_generators_positive_otherwise():
    torch.manual_seed(0)
    model = tiny()
    a, b = torch.rand(4, 1, 16, 16) * 2 - 1, torch.rand(4, 1, 16, 16) * 2 - 1
    assert model.cycle_loss(a, b).item() > 0.01
    model.generator, model.generator_ba = nn.Identity(), nn.Identity()
    assert model.cycle_loss(a, b).item() == 0.0
    forward, backward = cycle_consistency(a, a + 0.5, b, b)
    assert forward.item() == pytest.approx(0.5) and backward.item() == 0.0
    with pytest.raises(ValueError, match="differ in shape"):  # a 1- vs 3-channel pair would broadcast silently
        cycle_consistency(a, a.expand(-1, 3, -1, -1), b, b)


# ------------------------------------------------------------------------------------------- image pool


def test_image_pool_returns_stored_images_half_the_time_once_full():
    pool = ImagePool(size=50, seed=0)
    ids = torch.arange(50.0)
    first = pool.query(ids.view(50, 1, 1, 1))  # filling: every image comes back as is
    assert torch.equal(first.flatten(), ids) and len(pool) == 50
    stored, returned_old = set(range(50)), 0
    for i in range(50, 2050):
        out = pool.query(torch.full((1, 1, 1, 1), float(i)))
        value = int(out.item())
        assert len(pool) == 50
        if value != i:
            assert value in stored  # an image that was in the pool, now replaced by i
            stored.remove(value)
            stored.add(i)
            returned_old += 1
        assert stored == {int(im.item()) for im in pool.images}
    assert 0.45 < returned_old / 2000 < 0.55
    assert _replay(seed=0) == _replay(seed=0) != _replay(seed=1)  # seeded: the same choices


def _replay(seed: int) -> list[float]:
    pool = ImagePool(size=50, seed=seed)
    pool.query(torch.arange(50.0).view(50, 1, 1, 1))
    return [pool.query(torch.full((1, 1, 1, 1), float(i))).item() for i in range(50, 90)]


def test_image_pool_batch_over_capacity_and_disabled():
    pool = ImagePool(size=4, seed=1)
    out = pool.query(torch.arange(10.0).view(10, 1))
    assert len(pool) == 4 and torch.equal(out[:4].flatten(), torch.arange(4.0))
    assert set(out.flatten().tolist()) <= set(range(10))
    off = ImagePool(size=0)
    x = torch.randn(3, 2)
    assert off.query(x) is x and len(off) == 0


# ------------------------------------------------------------------------------------------- LR schedule


def reference_linear_rule(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> float:
    """The reference code's ``linear`` LR policy (junyanz/pytorch-CycleGAN-and-pix2pix), 0-based ``epoch``,
    clamped at 0 once the decay is over."""
    return max(0.0, 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1))


def test_linear_decay_factor():
    epochs = (0, 99, 100, 150, 198, 199, 200, 250)
    factors = [linear_decay(e, 100, 100) for e in epochs]
    assert factors == pytest.approx([reference_linear_rule(e, 100, 100) for e in epochs])
    assert factors == pytest.approx([1, 1, 100 / 101, 50 / 101, 2 / 101, 1 / 101, 0, 0])  # 100 epochs at 1, not 101
    assert [linear_decay(e, 2, 0) for e in range(4)] == [1, 1, 0, 0]


class LRRecorder(L.Callback):
    def __init__(self):
        self.lrs = []

    def on_train_epoch_start(self, trainer, pl_module):
        self.lrs.append([opt.param_groups[0]["lr"] for opt in trainer.optimizers])


def test_lr_constant_then_linear_to_zero_at_the_configured_epoch(tmp_path):
    model = tiny(constant_epochs=2, decay_epochs=2, lr=1e-3, lr_d=2e-3)
    recorder = LRRecorder()
    trainer(tmp_path, max_epochs=6, callbacks=[recorder], limit_train_batches=1).fit(model, RandomPairs(batch_size=4))
    factors = [reference_linear_rule(e, 2, 2) for e in range(6)]
    assert factors == pytest.approx([1, 1, 2 / 3, 1 / 3, 0, 0])
    assert recorder.lrs == [pytest.approx([1e-3 * f, 2e-3 * f]) for f in factors]


# ------------------------------------------------------------------------------------------ updates


class GStepOnly(CycleGAN):
    """training_step = one generator update; records D and G parameters around it."""

    def training_step(self, batch, batch_idx):
        a, b = batch
        d_params = [*self.discriminator.parameters(), *self.discriminator_a.parameters()]
        g_params = [*self.generator.parameters(), *self.generator_ba.parameters()]
        d_before, g_before = [p.detach().clone() for p in d_params], [p.detach().clone() for p in g_params]
        self.generator_step(a, b)
        self.d_unchanged = all(torch.equal(p, q) for p, q in zip(d_params, d_before))
        self.d_grads = [p.grad for p in d_params]
        self.g_changed = sum(not torch.equal(p, q) for p, q in zip(g_params, g_before))
        self.d_requires_grad_after = all(p.requires_grad for p in d_params)


def test_generator_step_leaves_discriminators_untouched(tmp_path):
    model = GStepOnly(image_shape=(1, 16, 16), width=2, n_blocks=1, d_layers=1)
    trainer(tmp_path, max_steps=1).fit(model, RandomPairs(batch_size=4))
    assert model.d_unchanged
    assert all(g is None for g in model.d_grads)  # frozen: no gradient reached D_X or D_Y
    assert model.g_changed > 0
    assert model.d_requires_grad_after  # the toggle is undone after the step


def test_training_step_updates_both_and_counts(tmp_path):
    model = tiny()
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer(tmp_path, max_steps=4).fit(model, RandomPairs(batch_size=4))  # 2 batches x (G step, D step)
    assert model.g_steps == model.d_steps == 2
    assert any(not torch.equal(p, q) for p, q in zip(model.discriminator.parameters(), d_before))
    assert len(model.pool_a) == len(model.pool_b) == 8


def test_constructs_like_every_variant_and_refuses_bad_input():
    model = CycleGAN(image_shape=(1, 28, 28), latent_dim=8, width=8)
    assert CycleGAN.data_kind == "unpaired"
    assert model.generator.n_blocks == 6 and model.discriminator(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 1, 1)
    assert model.translate(torch.zeros(2, 1, 28, 28), "BtoA").shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="translate"):
        model.generate(4)
    with pytest.raises(ValueError, match="unpaired batches"):
        model.unpaired_from_batch(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="divisible by 4"):
        ResNetGenerator((3, 30, 30))
    with pytest.raises(ValueError, match="at least 24 px"):
        PatchGANDiscriminator((3, 16, 16), n_layers=3)
    assert receptive_field(3) == 70 and ResNetGenerator((3, 256, 256), width=4).n_blocks == 9


# ------------------------------------------------------------------------------------------ learning


def test_toy_pair_cycle_loss_falls_and_translation_reaches_the_other_domain(tmp_path, fashion_dir):
    """Domain B is inverted Fashion-MNIST: the statistic is the mean pixel (A dark, B light) and the distance
    of G(x) to the inverted x."""
    L.seed_everything(0)
    data = FashionMNISTPairData(data_dir=str(fashion_dir), batch_size=8)
    a, b = data.real_samples("test", 32, "A"), data.real_samples("test", 32, "B")
    model = CycleGAN(image_shape=(1, 28, 28), width=4, n_blocks=1, d_layers=2, lambda_identity=0.0)

    def measure():
        model.eval()
        with torch.no_grad():
            g_a, f_b = model.generator(a), model.generator_ba(b)
            out = model.cycle_loss(a, b).item(), g_a.mean().item(), f_b.mean().item(), (g_a + a).abs().mean().item()
        model.train()
        return out

    cycle_before, _, _, inverse_before = measure()
    trainer(tmp_path, max_steps=2 * 100).fit(model, data)
    cycle_after, mean_g_a, mean_f_b, inverse_after = measure()
    mean_a, mean_b = a.mean().item(), b.mean().item()
    assert mean_a < -0.3 and mean_b > 0.3
    assert cycle_after < 0.7 * cycle_before, (cycle_before, cycle_after)
    assert abs(mean_g_a - mean_b) < 0.5 * abs(mean_a - mean_b), (mean_g_a, mean_b)  # G(x) looks like B
    assert abs(mean_f_b - mean_a) < 0.5 * abs(mean_a - mean_b), (mean_f_b, mean_a)  # F(y) looks like A
    assert inverse_after < 0.75 * inverse_before, (inverse_before, inverse_after)


# ------------------------------------------------------------------------------------ checkpoints, CLI


def test_checkpoint_round_trip_keeps_the_image_pools(tmp_path):
    model = tiny(pool_size=6)
    fit = trainer(tmp_path, max_steps=6)
    fit.fit(model, RandomPairs(batch_size=4))
    path = tmp_path / "cyclegan.ckpt"
    fit.save_checkpoint(path)
    new_images = torch.rand(8, 1, 16, 16)
    expected = model.pool_b.query(new_images.clone())
    for loaded in (CycleGAN.load_from_checkpoint(path), load_variant(path)):
        assert loaded.g_steps == 3 and loaded.hparams.pool_size == 6
        for (name, x), (_, y) in zip(model.state_dict().items(), loaded.state_dict().items()):
            assert torch.equal(x, y), name
        assert len(loaded.pool_a) == 6
        torch.testing.assert_close(loaded.pool_b.query(new_images.clone()), expected)  # same images, same RNG


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    def run(root, max_steps, ckpt_path=None):
        L.seed_everything(0)
        model = tiny(pool_size=3)
        fit = trainer(root, max_steps=max_steps, enable_checkpointing=True, callbacks=[ZooCheckpoint()])
        fit.fit(model, RandomPairs(batch_size=4), ckpt_path=ckpt_path, weights_only=False)  # our own file
        return model

    straight = run(tmp_path / "a", 12)
    run(tmp_path / "b", 6)
    resumed = run(tmp_path / "b", 12, ckpt_path="last")
    assert resumed.g_steps == straight.g_steps == 6
    for (name, x), (_, y) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(x, y), name
    assert all(torch.equal(x, y) for x, y in zip(straight.pool_a.images, resumed.pool_a.images))


def test_sample_grid_and_translate_command(tmp_path, capsys):
    model = tiny()
    with pytest.raises(ValueError, match="translate"):
        SampleGrid().grid(model)
    fit = trainer(tmp_path, max_steps=2)
    fit.fit(model, RandomPairs(batch_size=4))
    grid = SampleGrid(num_samples=48, nrow=8).grid(model)
    assert grid.shape == (3, 6 * 18 + 2, 8 * 18 + 2)  # rows x, G(x), F(G(x)), y, F(y), G(F(y))
    ckpt = tmp_path / "c.ckpt"
    fit.save_checkpoint(ckpt)

    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 24), (i * 60, 10, 200)).save(inputs / f"im{i}.jpg")
    main(
        ["translate", "--ckpt", str(ckpt), "--input", str(inputs), "--direction", "BtoA", "--out", str(tmp_path / "o")]
    )
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert written == ["im0.png", "im1.png", "im2.png"]
    assert Image.open(tmp_path / "o" / "im0.png").size == (16, 16)
    assert "translated 3 images BtoA" in capsys.readouterr().out

    (inputs / "broken.png").write_bytes(b"not a png")
    with pytest.raises(SystemExit, match="broken.png"):  # a user error: one message, no traceback
        main(["translate", "--ckpt", str(ckpt), "--input", str(inputs), "--out", str(tmp_path / "o2")])
    with pytest.raises(SystemExit, match="nowhere"):
        main(["translate", "--ckpt", str(ckpt), "--input", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o3")])


def test_cli_toy_config_trains(tmp_path, fashion_dir):
    config = Path(__file__).parents[2] / "configs" / "cyclegan" / "fashion_toy.yaml"
    args = [
        "--trainer.max_steps",
        "4",
        "--trainer.default_root_dir",
        str(tmp_path),
        "--data.data_dir",
        str(fashion_dir),
    ]
    main(["fit", "--config", str(config), "--data.num_samples", "64", *args])
    assert (tmp_path / "samples" / "last.png").is_file()
    assert load_variant(tmp_path / "checkpoints" / "last.ckpt").g_steps == 2


def test_cli_horse2zebra_config_runs_on_a_fixture_folder(tmp_path):
    root = tmp_path / "h2z"
    for folder in ("trainA", "trainB"):
        (root / folder).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (40, 40), (i * 100, 50, 50)).save(root / folder / f"{i}.jpg")
    config = Path(__file__).parents[2] / "configs" / "cyclegan" / "horse2zebra.yaml"
    overrides = {
        "data.init_args.root": str(root),
        "data.init_args.crop_size": "32",
        "data.init_args.load_size": "36",
        "data.init_args.num_workers": "0",
        "model.init_args.width": "2",
        "model.init_args.n_blocks": "1",
        "trainer.max_steps": "2",
        "trainer.default_root_dir": str(tmp_path / "run"),
    }
    main(["fit", "--config", str(config), *[arg for key, value in overrides.items() for arg in (f"--{key}", value)]])
    model = load_variant(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert model.hparams.lambda_identity == 0.5 and model.hparams.decay_epochs == 100 and model.g_steps == 1
