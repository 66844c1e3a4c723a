"""VAE-GAN (Larsen et al., ICML 2016, Algorithm 1 and Section 2.3) line by line: one training iteration checked
against the paper's formulas.

Names: Enc = ``encoder`` (q(Z | X) = N(mu, diag(exp(logvar)))), Dec = ``generator``, Dis = ``discriminator``
(raw score s, Dis(.) = sigmoid(s)), Dis_l = the output of Dis's l-th conv block (after its LeakyReLU).

Pinned lines of the algorithm box (per sample, averaged over the batch):

* Z = mu + sigma * eps with sigma = exp(logvar / 2), eps ~ N(0, I); X~ = Dec(Z); Z_p ~ N(0, I), X_p = Dec(Z_p).
  One eps and one Z_p per minibatch, shared by the three updates (the module docstring).
* L_prior = KL(q(Z | X) || N(0, I)) = 1/2 sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2).
* L_llike = 1/2 ||Dis_l(X) - Dis_l(X~)||^2 (Gaussian N(Dis_l(X) | Dis_l(X~), I), constant dropped), with l =
  ``feature_layer`` (default: the last conv block).
* theta_Dis <- theta_Dis - lr_d grad -[log Dis(X) + log(1 - Dis(X~)) + log(1 - Dis(X_p))]   (no L_llike);
  theta_Enc <- theta_Enc - lr_e grad (L_prior + L_llike)                                 (no L_GAN);
  theta_Dec <- theta_Dec - lr grad (gamma L_llike + adv(X~) + adv(X_p)), adv(.) = -log Dis(.) (non-saturating,
  default) or log(1 - Dis(.)) (``objective="minimax"``, as the box reads); gamma weights L_llike only.
* Order (module docstring): Dis, then Enc (against the updated Dis, the old Dec), then Dec (against the updated
  Dis, with Z recomputed by the updated Enc from the same eps).

Method: SGD without momentum (``optimizer="sgd", betas=(0.0, 0.999)``), so an update is theta - lr * grad, with
three different learning rates. One ``Trainer.fit`` iteration in float64 on a batch fixed here; the gradient each
net received is recovered as (theta_before - theta_after) / lr and compared with the gradient of the formula
above, written out in this file (sigmoid scores, the KL and the feature distance spelled out, Dis_l evaluated
with ``F.conv2d`` on Dis's weights) and evaluated with ``torch.func.functional_call`` on copies of the nets. The
latent codes the decoder was evaluated on are recorded with a forward pre-hook, split by update (a wrapper
around each optimizer's ``step``), and eps = (Z - mu) / sigma is recovered from them and the encoder's output.
Norms are "none", so no batch statistics enter.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import OptimizerSpy
from zoo import VAEGAN

SHAPE = (1, 28, 28)  # the DCGAN nets' smallest size: Dis has two conv blocks
BATCH, LATENT, WIDTH = 8, 8, 8
LR = {"discriminator": 0.25, "encoder": 0.125, "generator": 0.5}  # all different: a wrong optimizer shows
GAMMA = 0.3  # not 1: gamma misplaced (on L_GAN, on Enc's L_llike) or dropped shows
NETS = ("discriminator", "encoder", "generator")  # the documented order of the three updates
TOL = dict(rtol=1e-7, atol=1e-9)
pytestmark = pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")  # our spies


# ------------------------------------------------------------------------------------------- harness


def fixed_batch() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(BATCH, *SHAPE, generator=g, dtype=torch.float64) * 2 - 1


def build(**hparams) -> VAEGAN:
    hparams = {"gamma": GAMMA, **hparams}
    model = VAEGAN(
        image_shape=SHAPE,
        latent_dim=LATENT,
        width=WIDTH,
        g_norm="none",
        d_norm="none",
        optimizer="sgd",
        betas=(0.0, 0.999),  # SGD momentum = betas[0] = 0
        lr=LR["generator"],
        lr_d=LR["discriminator"],
        lr_e=LR["encoder"],
        **hparams,
    )
    torch.manual_seed(0)  # seeded PyTorch-default weights: larger than N(0, 0.02), so every term's gradient matters
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            module.reset_parameters()
    return model.double()


def remove_rows(rows: torch.Tensor, known: torch.Tensor, what: str) -> torch.Tensor:
    """``rows`` without one matching row for each row of ``known`` (in any order); fails if one is missing."""
    rest = list(rows)
    for k, row in enumerate(known):
        hit = next((i for i, r in enumerate(rest) if torch.allclose(r, row, rtol=1e-9, atol=1e-12)), None)
        assert hit is not None, f"row {k} of {what} is not among the decoder's inputs"
        rest.pop(hit)
    return torch.stack(rest) if rest else rows[:0]


@dataclass
class Iteration:
    """One training iteration: the nets before and after it, the decoder's inputs per update, the step order."""

    model: VAEGAN
    x: torch.Tensor
    before: dict[str, nn.Module]
    dec_inputs: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (optimizer steps so far, z)
    order: list[str] = field(default_factory=list)  # the net each optimizer step moved
    spy: OptimizerSpy = field(default_factory=OptimizerSpy)

    def params(self, name: str, when: str) -> dict[str, torch.Tensor]:
        net = self.before[name] if when == "before" else getattr(self.model, name)
        return {k: p.detach().clone() for k, p in net.named_parameters()}

    def grad(self, name: str) -> dict[str, torch.Tensor]:
        """The gradient net ``name`` was updated with: (theta_before - theta_after) / lr."""
        before, after = self.params(name, "before"), self.params(name, "after")
        return {k: (before[k] - after[k]) / LR[name] for k in before}

    def decoder_rows(self, net: str) -> torch.Tensor:
        """All latent codes Dec was evaluated on during the update of ``net`` (the steps are told apart by the
        wrapped ``step``: calls before the first step belong to the first update, and so on)."""
        phase = NETS.index(net)
        return torch.cat([z for p, z in self.dec_inputs if p == phase])

    def posterior(self, when: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, sigma) of q(Z | X) for the encoder before / after the iteration."""
        with torch.no_grad():
            mu, logvar = functional_call(self.before["encoder"], self.params("encoder", when), (self.x,))
        return mu, (0.5 * logvar).exp()

    @property
    def eps(self) -> torch.Tensor:
        """eps = (Z - mu) / sigma, from the code Dec decoded in Enc's update (Enc as it was before it)."""
        z = self.decoder_rows("encoder")
        assert z.shape == (BATCH, LATENT), f"Enc's update decoded {tuple(z.shape)} codes, expected one Z per image"
        mu, sigma = self.posterior("before")
        return (z - mu) / sigma

    @property
    def z_p(self) -> torch.Tensor:
        """Z_p: the codes Dec decoded in its own update besides Z = mu' + sigma' * eps (Enc after its update)."""
        mu, sigma = self.posterior("after")
        z_p = remove_rows(self.decoder_rows("generator"), mu + sigma * self.eps, "Z (updated Enc, same eps)")
        assert z_p.shape == (BATCH, LATENT), f"Dec's update decoded {len(z_p)} codes besides Z, expected Z_p"
        return z_p


_CACHE: dict[tuple, Iteration] = {}


def one_iteration(tmp_path_factory, objective: str = "non_saturating", feature_layer: int | None = None) -> Iteration:
    """One ``fit`` iteration (one batch: the three updates) of a model built with these settings (cached)."""
    key = (objective, feature_layer)
    if key in _CACHE:
        return _CACHE[key]
    model = build(objective=objective, feature_layer=feature_layer)
    x = fixed_batch()
    it = Iteration(model, x, before={name: copy.deepcopy(getattr(model, name)) for name in NETS})
    model.generator.register_forward_pre_hook(
        lambda module, args: it.dec_inputs.append((len(it.order), args[0].detach().clone()))
    )

    class StepOrder(L.Callback):
        def on_train_start(self, trainer, pl_module):
            for opt in trainer.optimizers:
                owned = {id(p) for group in opt.param_groups for p in group["params"]}
                name = next(n for n in NETS if id(next(getattr(pl_module, n).parameters())) in owned)
                original = opt.step

                def step(*args, _name=name, _original=original, **kwargs):
                    it.order.append(_name)
                    return _original(*args, **kwargs)

                opt.step = step

    torch.manual_seed(1)  # eps and Z_p: seeded, so the distribution checks below are deterministic
    trainer = tiny_trainer(
        tmp_path_factory.mktemp("vaegan"),
        max_epochs=1,
        limit_train_batches=1,
        precision="64-true",  # float64 weights and draws
        callbacks=[StepOrder(), it.spy],
    )
    trainer.fit(model, DataLoader(TensorDataset(x), batch_size=BATCH))
    _CACHE[key] = it
    return it


# ------------------------------------------------------------------- the paper's formulas, written out


def requiring_grad(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: p.clone().requires_grad_() for k, p in params.items()}


def dis_l(dis: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor, layer: int) -> torch.Tensor:
    """Dis_l(x): l blocks of conv(4x4, stride 2, padding 1) + LeakyReLU(0.2), on Dis's weights."""
    convs = [f"features.{i}" for i, m in enumerate(dis.features) if isinstance(m, nn.Conv2d)]
    h = x
    for name in convs[:layer]:
        h = F.leaky_relu(F.conv2d(h, params[f"{name}.weight"], params[f"{name}.bias"], stride=2, padding=1), 0.2)
    return h


def log_d(scores: torch.Tensor) -> torch.Tensor:
    """log Dis(.) per sample, Dis = sigmoid(score)."""
    return torch.log(torch.sigmoid(scores))


def log_one_minus_d(scores: torch.Tensor) -> torch.Tensor:
    """log(1 - Dis(.)) per sample."""
    return torch.log(1.0 - torch.sigmoid(scores))


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """L_prior: KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (sigma^2 + mu^2 - 1 - log sigma^2), summed over Z's dims."""
    sigma2 = logvar.exp()
    return (0.5 * (sigma2 + mu**2 - 1.0 - torch.log(sigma2))).sum(1).mean()


def llike(dis, dis_params, x, x_tilde, layer: int) -> torch.Tensor:
    """L_llike^{Dis_l} = 1/2 ||Dis_l(X) - Dis_l(X~)||^2 per sample, batch mean."""
    diff = dis_l(dis, dis_params, x, layer) - dis_l(dis, dis_params, x_tilde, layer)
    return 0.5 * diff.pow(2).flatten(1).sum(1).mean()


def grads_of(loss: torch.Tensor, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return dict(zip(params, torch.autograd.grad(loss, list(params.values()))))


def assert_grads(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert actual.keys() == expected.keys()
    for k in expected:
        assert expected[k].abs().max() > 1e-6, f"{k}: the expected gradient is ~0, the check would be vacuous"
        torch.testing.assert_close(actual[k], expected[k], **TOL, msg=lambda m, k=k: f"{k}: {m}")


# ----------------------------------------------------------------------------------------------- tests


def test_three_updates_in_order_each_moving_only_its_own_net(tmp_path_factory):
    it = one_iteration(tmp_path_factory)
    assert it.order == list(NETS)  # Dis, then Enc, then Dec: one step each per minibatch
    assert it.spy.violations == []  # no update moved, or left gradients on, another net's parameters
    assert it.spy.moved == [1, 1, 1]


def test_eps_and_z_p_are_standard_normal_and_shared_by_the_three_updates(tmp_path_factory):
    it = one_iteration(tmp_path_factory)
    eps, z_p = it.eps, it.z_p  # recovering Z_p already checked: Dec decodes mu' + sigma' * eps with the same eps

    def ks_to_standard_normal(values: torch.Tensor) -> float:
        """Kolmogorov-Smirnov distance between the empirical CDF of ``values`` and Phi."""
        v = values.flatten().sort().values
        n = len(v)
        cdf = torch.special.ndtr(v)
        upper = torch.arange(1, n + 1, dtype=v.dtype) / n
        return max((upper - cdf).max().item(), (cdf - (upper - 1.0 / n)).max().item())

    # 64 draws each: the 0.1% critical value of the KS statistic is ~0.24 (eps = 0 or U[0, 1] draws give >= 0.5)
    assert ks_to_standard_normal(eps) < 0.24, eps
    assert ks_to_standard_normal(z_p) < 0.24, z_p
    assert not torch.allclose(eps, z_p)  # two independent draws, not one reused
    # Dis's update decoded exactly Z = mu + sigma * eps (Enc before the iteration) and the same Z_p
    mu, sigma = it.posterior("before")
    rest = remove_rows(it.decoder_rows("discriminator"), mu + sigma * eps, "Z in Dis's update")
    assert len(remove_rows(rest, z_p, "Z_p in Dis's update")) == 0


def test_dis_update_descends_bce_on_real_reconstructions_and_prior_samples(tmp_path_factory):
    it = one_iteration(tmp_path_factory)
    dis, dec = it.before["discriminator"], it.before["generator"]
    params = requiring_grad(it.params("discriminator", "before"))
    with torch.no_grad():  # Dis's update comes first: Enc and Dec as they were before the iteration
        mu, sigma = it.posterior("before")
        x_tilde = functional_call(dec, it.params("generator", "before"), (mu + sigma * it.eps,))
        x_p = functional_call(dec, it.params("generator", "before"), (it.z_p,))

    def score(images):
        return functional_call(dis, params, (images,))

    l_gan = log_d(score(it.x)).mean() + log_one_minus_d(score(x_tilde)).mean() + log_one_minus_d(score(x_p)).mean()
    assert_grads(it.grad("discriminator"), grads_of(-l_gan, params))


CASES = [("non_saturating", None), ("minimax", 1)]  # (objective, feature_layer): two iterations in all


@pytest.mark.parametrize("objective, feature_layer", CASES)
def test_enc_update_descends_prior_plus_feature_llike_only(tmp_path_factory, objective, feature_layer):
    it = one_iteration(tmp_path_factory, objective, feature_layer)
    layer = feature_layer or 2  # default: Dis's last conv block
    enc, dec, dis = it.before["encoder"], it.before["generator"], it.before["discriminator"]
    params = requiring_grad(it.params("encoder", "before"))
    mu, logvar = functional_call(enc, params, (it.x,))
    z = mu + torch.exp(0.5 * logvar) * it.eps  # reparameterized: gradients reach mu and logvar
    # Dec not yet updated; Dis already updated (its final weights: Dis is not updated again in the iteration)
    x_tilde = functional_call(dec, it.params("generator", "before"), (z,))
    loss = kl_to_standard_normal(mu, logvar) + llike(dis, it.params("discriminator", "after"), it.x, x_tilde, layer)
    assert_grads(it.grad("encoder"), grads_of(loss, params))


@pytest.mark.parametrize("objective, feature_layer", CASES)
def test_dec_update_descends_gamma_llike_plus_adversarial_terms_on_reconstructions_and_prior_samples(
    tmp_path_factory, objective, feature_layer
):
    it = one_iteration(tmp_path_factory, objective, feature_layer)
    layer = feature_layer or 2
    dec, dis = it.before["generator"], it.before["discriminator"]
    dis_params = it.params("discriminator", "after")  # Dis already updated
    params = requiring_grad(it.params("generator", "before"))
    mu, sigma = it.posterior("after")  # Enc already updated; the same eps
    x_tilde = functional_call(dec, params, (mu + sigma * it.eps,))
    x_p = functional_call(dec, params, (it.z_p,))

    def adversarial(images):
        scores = functional_call(dis, dis_params, (images,))
        return -log_d(scores).mean() if objective == "non_saturating" else log_one_minus_d(scores).mean()

    loss = GAMMA * llike(dis, dis_params, it.x, x_tilde, layer) + adversarial(x_tilde) + adversarial(x_p)
    assert_grads(it.grad("generator"), grads_of(loss, params))


def test_formulas_in_this_file_match_their_closed_forms():
    """The written-out KL and Dis_l agree with independent references (torch.distributions, the nets' own
    layers), so the exact checks above compare against the paper and not against a slip in this file."""
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g).double()
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1).mean())
    assert kl_to_standard_normal(torch.tensor([[0.0, 1.0]]), torch.tensor([[math.log(4.0), 0.0]])).item() == (
        pytest.approx(0.5 * (4 - 1 - math.log(4.0)) + 0.5)
    )
    dis = build().discriminator
    x = fixed_batch()
    params = dict(dis.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(dis_l(dis, params, x, 2), dis.features(x))
        torch.testing.assert_close(dis_l(dis, params, x, 1), dis.features[:2](x))
