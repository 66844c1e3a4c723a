"""SN-GAN (Miyato et al. 2018, arXiv 1802.05957), its lines pinned against expectations written here.

* Every weight layer of D (dense, conv, transposed conv) computes with W_SN = W / sigma(W) (eq. 8), sigma(W) =
  u^T W v of W reshaped to (out, -1) (Algorithm 1, eq. 22), u and v refined by one power iteration per forward in
  training mode and kept from step to step, the gradient taken through sigma(W) (eq. 12) with u, v constant.
* After training steps the largest singular value of every effective weight is 1 (within 1e-2).
* D has no batch norm (refused with the reason); G is not normalized and keeps its batch norm.
* Hinge objective, eq. (16)-(17); defaults n_dis = 5, Adam(2e-4, beta1 = 0, beta2 = 0.9).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data
from zoo import SNGAN, HingeGAN
from zoo.nets import IMAGE_NETS

ROOT = Path(__file__).resolve().parents[2]
DTYPE = torch.float64
#: an image shape each net family takes
SHAPES = {"dcgan": (1, 28, 28), "infogan": (1, 28, 28), "sngan_cnn": (3, 32, 32)}
NETS = [n for n in IMAGE_NETS if n in SHAPES] + ["mlp"]
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
TINY_MLP = dict(image_shape=(2,), latent_dim=2, width=16)


def make(net: str, **kwargs) -> SNGAN:
    if net == "mlp":
        return SNGAN(**{**TINY_MLP, **kwargs})
    return SNGAN(image_shape=SHAPES[net], latent_dim=8, width=8, nets=net, **kwargs)


def weight_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, WEIGHT_LAYERS)]


def normalizations(layer: nn.Module) -> list[str]:
    if not parametrize.is_parametrized(layer, "weight"):
        return []
    return [type(p).__name__ for p in layer.parametrizations.weight]


def as_matrix(layer: nn.Module, weight: Tensor) -> Tensor:
    """The weight as the (out, -1) matrix the paper normalizes (transposed convs keep out-channels in dim 1)."""
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        weight = weight.transpose(0, 1)
    return weight.reshape(weight.shape[0], -1)


def sigma_max(matrix: Tensor) -> float:
    """The largest singular value, torch.linalg.matrix_norm(ord=2), taken of the smaller Gram matrix (sigma^2):
    a full SVD of InfoGAN's 1024 x 6272 layer takes ~15 s on one CPU thread."""
    m = matrix.detach().double()
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return float(torch.linalg.matrix_norm(gram, ord=2).sqrt())


def largest_singular_values(net: nn.Module) -> list[float]:
    """sigma_max of every weight layer's effective weight, read in eval mode (no power-iteration update)."""
    was_training = net.training
    net.eval()
    with torch.no_grad():
        values = [sigma_max(as_matrix(m, m.weight)) for m in weight_layers(net)]
    net.train(was_training)
    return values


# ------------------------------------------------------------------------------------------ the layers
@pytest.mark.parametrize("net", NETS)
def test_every_weight_layer_of_d_is_spectrally_normalized_once_and_g_is_not(net):
    model = make(net)
    layers = weight_layers(model.discriminator)
    assert len(layers) >= 2
    assert all(normalizations(m) == ["_SpectralNorm"] for m in layers), [normalizations(m) for m in layers]
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.discriminator.modules())
    assert all(normalizations(m) == [] for m in weight_layers(model.generator))  # eq. (8) is D's only
    if net != "mlp":  # the image generators keep their batch norm (g_norm="batch", the paper's G)
        assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.generator.modules())
    # at construction every effective weight already has sigma_max = 1 (power iteration run at registration)
    assert all(abs(s - 1.0) < 1e-2 for s in largest_singular_values(model.discriminator))


def train_d(model: SNGAN, steps: int) -> None:
    """``steps`` updates of D by its own optimizer (the model's Adam) on the hinge loss, random reals."""
    _, opt_d = model.configure_optimizers()
    for _ in range(steps):
        real, fake = torch.randn(8, *model.image_shape).clamp(-1, 1), model.fake_batch(8)
        opt_d.zero_grad()
        model.discriminator_loss(real, fake)["loss"].backward()
        opt_d.step()


@pytest.mark.parametrize("net", ["dcgan", "mlp"])
def test_largest_singular_value_is_one_after_training_steps(net):
    """The paper's one power iteration per forward keeps every effective weight at sigma_max = 1 (within 1e-2)
    through training steps (for the small DCGAN/MLP layers; see the next test for the wide ones)."""
    torch.manual_seed(0)
    model = make(net)
    train_d(model, 5)
    assert all(abs(s - 1.0) < 1e-2 for s in largest_singular_values(model.discriminator))


@pytest.mark.parametrize("net", [n for n in NETS if n != "infogan"])  # InfoGAN's 1024 x 6272 layer: ~5 s more
def test_power_iteration_converges_to_the_largest_singular_value_after_training_steps(net):
    """sigma(W) = u^T W v is the power iteration's estimate of sigma_max(W): after 5 training steps, further
    iterations on the fixed W (reading the weight in training mode) bring every sigma_max(W / sigma) to 1 within
    1e-2. (Early Adam steps change the wide layers of the InfoGAN / standard CNN discriminators faster than one
    iteration per forward follows: their sigma_max(W / sigma) is then up to ~1.4 for a few steps.)"""
    torch.manual_seed(0)
    model = make(net)
    train_d(model, 5)
    layers = weight_layers(model.discriminator.train())
    before = [m.parametrizations.weight.original.detach().clone() for m in layers]
    with torch.no_grad():
        for _ in range(100):
            for m in layers:
                _ = m.weight  # one power iteration (training mode), W unchanged
    values = largest_singular_values(model.discriminator)
    assert all(abs(s - 1.0) < 1e-2 for s in values), values
    assert all(torch.equal(a, m.parametrizations.weight.original) for a, m in zip(before, layers))


def test_largest_singular_value_is_one_after_a_real_fit(fashion_dir, tmp_path):
    torch.manual_seed(0)
    model = make("dcgan", n_critic=2, lr=1e-3)  # a larger step than the paper's moves the weights further
    first = [m.parametrizations.weight.original.detach().clone() for m in weight_layers(model.discriminator)]
    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=6).fit(model, tiny_data("SNGAN", fashion_dir))
    assert (model.d_steps, model.g_steps) == (6, 3)
    moved = [m.parametrizations.weight.original for m in weight_layers(model.discriminator)]
    assert all(not torch.equal(a, b) for a, b in zip(first, moved))
    values = largest_singular_values(model.discriminator)
    assert all(abs(s - 1.0) < 1e-2 for s in values), values
    # without the normalization the raw weights are far from norm 1: the normalization does the work
    raw = [sigma_max(as_matrix(m, w)) for m, w in zip(weight_layers(model.discriminator), moved)]
    assert all(abs(s - 1.0) > 0.1 for s in raw), raw


# -------------------------------------------------------------------- W / sigma(W), power iteration, gradient
def sn_state(layer: nn.Module) -> tuple[Tensor, Tensor, Tensor]:
    p = layer.parametrizations.weight
    return p.original, p[0]._u.clone(), p[0]._v.clone()


def hand_scores(d: nn.Module, x: Tensor, states: dict[int, tuple[Tensor, Tensor]]) -> Tensor:
    """The MLP discriminator by hand: each Linear computes with W / (u^T W v) for the given (u, v)."""
    h = x
    for m in d.net:
        if isinstance(m, nn.Linear):
            w = m.parametrizations.weight.original
            u, v = states[id(m)]
            h = h @ (w / (u @ w @ v)).T + m.bias
        elif isinstance(m, nn.LeakyReLU):
            h = F.leaky_relu(h, m.negative_slope)
        else:
            assert isinstance(m, nn.Identity), m
    return h.flatten()


def spread(model: SNGAN, d: nn.Module, real: Tensor, states) -> None:
    """Hand-set D's output bias so that half the real scores lie past the margin 1 (zero hinge), none on it."""
    with torch.no_grad():
        weight_layers(d)[-1].bias.zero_()
        r = hand_scores(d, real, states).sort().values
        middle = len(r) // 2
        weight_layers(d)[-1].bias.fill_(1.0 - float(r[middle - 1] + r[middle]) / 2)  # between two scores


def test_one_power_iteration_per_forward_in_training_mode():
    """u <- W v / ||W v||, v <- W^T u / ||W^T u|| from the stored v (torch's order), once per forward, kept after."""
    torch.manual_seed(0)
    model = make("mlp").double()
    d = model.discriminator.train()
    with torch.no_grad():  # move W off the u, v it was normalized with: the iteration has work to do
        for m in weight_layers(d):
            m.parametrizations.weight.original.add_(0.3 * torch.randn_like(m.parametrizations.weight.original))
    before = {id(m): sn_state(m) for m in weight_layers(d)}
    x = torch.randn(5, 2, dtype=DTYPE)
    scores = d(x)
    states = {}
    for m in weight_layers(d):
        w, _, v0 = before[id(m)]
        u1 = F.normalize(w.detach() @ v0, dim=0)
        v1 = F.normalize(w.detach().T @ u1, dim=0)
        _, u, v = sn_state(m)
        torch.testing.assert_close(u, u1)
        torch.testing.assert_close(v, v1)
        states[id(m)] = (u1, v1)
    torch.testing.assert_close(scores, hand_scores(d, x, states))
    assert all(not torch.allclose(before[i][2], states[i][1]) for i in states)  # v did move
    d.eval()  # eval: no update, the stored u, v are used as they are
    d(x)
    for m in weight_layers(d):
        torch.testing.assert_close(sn_state(m)[1], states[id(m)][0])


def test_hinge_loss_and_its_gradient_through_sigma():
    """D: E relu(1 - D(x)) + E relu(1 + D(G(z))) with W / sigma(W) in every layer; the gradient w.r.t. W includes
    the path through sigma(W) = u^T W v (u, v constant), eq. (12)."""
    torch.manual_seed(1)
    model = make("mlp").double()
    d = model.discriminator.eval()  # no power-iteration update: sigma uses the stored u, v
    states = {id(m): sn_state(m)[1:] for m in weight_layers(d)}
    g = torch.Generator().manual_seed(2)
    real, fake = 5 * torch.randn(32, 2, generator=g, dtype=DTYPE), 5 * torch.randn(32, 2, generator=g, dtype=DTYPE)
    spread(model, d, real, states)
    r, f = hand_scores(d, real, states), hand_scores(d, fake, states)
    assert bool(((r > -1) & (r < 1)).any()) and bool(((f > -1) & (f < 1)).any()), "scores must straddle the margins"
    assert bool((r > 1).any()), "some scores must lie past a margin (zero hinge)"
    expected = torch.relu(1.0 - r).mean() + torch.relu(1.0 + f).mean()
    loss = model.discriminator_loss(real, fake)["loss"]
    torch.testing.assert_close(loss, expected)
    params = [m.parametrizations.weight.original for m in weight_layers(d)]
    ours = torch.autograd.grad(loss, params)
    theirs = torch.autograd.grad(expected, params)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)

    # the test can tell: with sigma treated as a constant the gradient differs
    def frozen_sigma(x):
        h = x
        for m in d.net:
            if isinstance(m, nn.Linear):
                w = m.parametrizations.weight.original
                u, v = states[id(m)]
                h = h @ (w / (u @ w @ v).detach()).T + m.bias
            elif isinstance(m, nn.LeakyReLU):
                h = F.leaky_relu(h, m.negative_slope)
        return h.flatten()

    frozen = torch.relu(1.0 - frozen_sigma(real)).mean() + torch.relu(1.0 + frozen_sigma(fake)).mean()
    assert any(not torch.allclose(a, b) for a, b in zip(ours, torch.autograd.grad(frozen, params)))


def test_generator_descends_minus_the_mean_score():
    torch.manual_seed(3)
    model = make("mlp").double()
    d = model.discriminator.eval()
    states = {id(m): sn_state(m)[1:] for m in weight_layers(d)}
    fake = torch.randn(16, 2, dtype=DTYPE)
    model.generate = lambda n: fake[:n]
    torch.testing.assert_close(model.generator_loss(16)["loss"], -hand_scores(d, fake, states).mean())


# ----------------------------------------------------------------------------- generic over the layer kinds
class MixedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.deconv = nn.ConvTranspose2d(8, 5, 4, 2, 1)
        self.conv1d = nn.Conv1d(5, 4, 3)
        self.dense = nn.Linear(4, 2)
        self.head = nn.utils.spectral_norm(nn.Linear(2, 1))  # already normalized (the legacy hook API)

    def forward(self, x):
        h = self.deconv(self.conv(x))
        return self.head(self.dense(self.conv1d(h.flatten(2)).mean(-1)))


def test_the_normalization_is_generic_over_dense_conv_and_transposed_conv_and_idempotent():
    from zoo import regularizers

    torch.manual_seed(4)
    net = regularizers.spectral_normalize_(regularizers.spectral_normalize_(MixedNet()))
    for layer in (net.conv, net.deconv, net.conv1d, net.dense):
        assert normalizations(layer) == ["_SpectralNorm"], layer
    assert normalizations(net.head) == [] and hasattr(net.head, "weight_orig")  # left as it was
    net.eval()
    for layer in (net.conv, net.deconv, net.conv1d, net.dense):
        assert sigma_max(as_matrix(layer, layer.weight)) == pytest.approx(1.0, abs=1e-2), layer
    net(torch.randn(2, 3, 6, 6))


# -------------------------------------------------------------------------------------- settings, refusals
def test_paper_defaults():
    model = make("mlp")
    hp = model.hparams
    assert (hp.n_critic, hp.d_norm, hp.n_power_iterations, hp.nets) == (5, "none", 1, "dcgan")
    assert [(type(o), o.defaults["lr"], o.defaults["betas"]) for o in model.configure_optimizers()] == [
        (torch.optim.Adam, 2e-4, (0.0, 0.9))
    ] * 2
    assert not isinstance(model, HingeGAN)  # its own variant; it reuses the hinge loss functions


@pytest.mark.parametrize("net", NETS)
def test_batch_norm_in_d_is_refused_with_the_reason(net):
    with pytest.raises(ValueError, match=r"batch norm is not allowed in an SN-GAN discriminator \(Miyato"):
        make(net, d_norm="batch")


def test_batch_norm_is_refused_when_sized_from_the_data(fashion_dir, tmp_path):
    model = SNGAN(latent_dim=8, width=8, d_norm="batch")
    with pytest.raises(ValueError, match="batch norm is not allowed"):
        tiny_trainer(tmp_path, max_steps=2).fit(model, tiny_data("SNGAN", fashion_dir))


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_power_iterations_are_refused(bad):
    with pytest.raises(ValueError, match="n_power_iterations must be"):
        SNGAN(n_power_iterations=bad)


# ----------------------------------------------------------------------------------------------- configs
def built_from_config(config: str, root: Path, fashion_dir: Path):
    """(model, datamodule) as ``gan-zoo fit --config <config>`` builds them (tiny sizes for Fashion-MNIST)."""
    from datamodules.base import ImageDataModule
    from zoo.commands.cli import GanZooCLI
    from zoo.models.base import AdversarialModule

    args = ["--config", str(ROOT / config), "--trainer.max_steps", "2", "--trainer.logger", "false"]
    args += ["--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false"]
    if "fashion_mnist" in config:
        args += ["--data.init_args.data_dir", str(fashion_dir), "--data.init_args.batch_size", "8"]
        args += ["--model.init_args.width", "8", "--model.init_args.latent_dim", "8"]
    elif "ring" in config:
        args += ["--data.init_args.num_samples", "1024"]
    cli = GanZooCLI(
        AdversarialModule,
        ImageDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        run=False,
        args=args,
        auto_configure_optimizers=False,
    )
    return cli.model, cli.datamodule


@pytest.mark.parametrize("config", ["configs/sngan/fashion_mnist.yaml", "configs/sngan/ring.yaml"])
def test_configs_build_through_the_cli(config, tmp_path, fashion_dir):
    model, data = built_from_config(config, tmp_path, fashion_dir)
    assert type(model) is SNGAN
    lr = 1e-3 if "ring" in config else 2e-4  # the toy's departure, stated in its config
    assert (model.hparams.n_critic, tuple(model.hparams.betas), model.hparams.lr) == (5, (0.0, 0.9), lr)
    assert (model.hparams.d_norm, model.hparams.n_power_iterations) == ("none", 1)
    assert type(data).__name__ == ("GaussianMixtureData" if "ring" in config else "FashionMNISTData")


def test_cifar10_config_is_the_papers_standard_cnn_setting(tmp_path, fashion_dir):
    model, data = built_from_config("configs/sngan/cifar10.yaml", tmp_path, fashion_dir)
    hp = model.hparams
    assert type(model) is SNGAN and type(data).__name__ == "CIFAR10Data"
    assert (hp.nets, hp.latent_dim, hp.n_critic, hp.lr, tuple(hp.betas)) == ("sngan_cnn", 128, 5, 2e-4, (0.0, 0.9))
    assert data.batch_size == 64
    model.build_networks(data.image_shape)
    assert all(normalizations(m) == ["_SpectralNorm"] for m in weight_layers(model.discriminator))
