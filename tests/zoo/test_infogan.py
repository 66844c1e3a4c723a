"""InfoGAN (Chen et al. 2016, arXiv 1606.03657): the paper's lines pinned.

eq. (6) min_{G,Q} max_D V(D, G) - lambda L_I(G, Q) with L_I of eq. (5): the codes' priors (Cat(K, 1/K), U(-1, 1)),
Q's log-likelihoods in closed form (softmax cross-entropy, factored Gaussian), Q scored on the codes each fake was
generated from, L_I in both G's and Q's updates with its lambdas, Q on D's own body, the non-saturating GAN terms,
the reference code's settings (openai/InfoGAN ``launchers/run_mnist_exp.py``, ``infogan_trainer.py``), the
conditional interface (``label_kind = "code"``) and its errors, and a short run in which Q learns its codes.
"""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from datamodules import FashionMNISTData, GaussianMixtureData
from tests.conftest import tiny_trainer
from zoo import InfoGAN
from zoo.conditioning import is_conditional
from zoo.models.resume import resume_kind
from zoo.nets.infogan import InfoGANDiscriminator, InfoGANGenerator
from zoo.nets.q_head import DiscriminatorWithQ, QHead, QPosterior, categorical_nll, gaussian_nll
from zoo.sampling import draw

#: a small, deterministic model on 2-D vectors (MLPs, no normalization): losses recomputable by hand
VECTORS = dict(image_shape=(2,), latent_dim=3, width=16, g_norm="none", d_norm="none", num_categories=4)
#: the paper's nets on 28x28 images, without batch norm so every forward is deterministic
IMAGES = dict(image_shape=(1, 28, 28), latent_dim=5, g_norm="none", d_norm="none")


def vector_model(**kwargs) -> InfoGAN:
    """``VECTORS`` in float64, Q's output layer drawn wide (N(0, 1)) so its posteriors differ from sample to sample
    (at the N(0, 0.02) initialisation every Q(c | x) is close to uniform, whatever the codes)."""
    torch.manual_seed(0)
    model = InfoGAN(**{**VECTORS, **kwargs}).double()
    nn.init.normal_(model.discriminator.q_head.net[-1].weight, 0.0, 1.0)
    return model


class CodeQueue:
    """Stands in for ``model.sample_codes``: hands out distinct known codes in order and records every call."""

    def __init__(self, model: InfoGAN, seed: int = 0) -> None:
        self.model, self.generator, self.handed = model, torch.Generator().manual_seed(seed), []

    def __call__(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.model.sample_z(n, generator=self.generator).to(self.model.dtype)
        labels = torch.randint(self.model.num_classes, (n,), generator=self.generator)
        self.handed.append((z, labels))
        return z, labels


def expected_information(model: InfoGAN, q: QPosterior, z: torch.Tensor, labels: torch.Tensor):
    """(categorical term, continuous term) of -L_I written out: -log softmax at the code, -log N(c; mean, sigma^2)."""
    cat = -(q.logits.log_softmax(1).gather(1, labels[:, None])).mean()
    c = z[:, model.hparams.latent_dim :]
    sigma = q.log_std.exp()
    cont = (0.5 * math.log(2 * math.pi) + sigma.log() + (c - q.mean) ** 2 / (2 * sigma**2)).sum(1).mean()
    return cat, cont


# ------------------------------------------------------------------------- the paper's / reference's settings
def test_defaults_are_the_papers_mnist_setting():
    model = InfoGAN(image_shape=(1, 28, 28))
    hp = model.hparams
    assert (hp.latent_dim, hp.num_categories, hp.num_continuous) == (62, 10, 2)  # Sec. 7.2, App. C.1: 62 + 10 + 2 = 74
    assert (hp.lambda_categorical, hp.lambda_continuous, hp.continuous_std) == (1.0, 1.0, "fixed")
    assert (hp.nets, hp.latent_distribution, hp.n_critic) == ("infogan", "uniform", 1)  # Uniform(62) noise
    opt_g, opt_d = model.configure_optimizers()
    assert isinstance(opt_g, torch.optim.Adam) and isinstance(opt_d, torch.optim.Adam)
    assert (opt_g.defaults["lr"], opt_d.defaults["lr"]) == (1e-3, 2e-4)  # App. C: 1e-3 for G, 2e-4 for D
    assert opt_g.defaults["betas"] == opt_d.defaults["betas"] == (0.5, 0.999)  # AdamOptimizer(beta1=0.5)
    # Q's head is stepped with D (the reference's d_vars hold D's and Q's layers), G's optimizer holds only G
    d_params = {id(p) for p in opt_d.param_groups[0]["params"]}
    assert {id(p) for p in model.discriminator.q_head.parameters()} <= d_params
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {id(p) for p in model.generator.parameters()}
    # Table 1: G takes 74 inputs; Q's head is FC 128 - BN - lRELU - FC (10 logits + 2 means, sigma fixed)
    assert isinstance(model.generator, InfoGANGenerator) and model.generator.latent_dim == 74
    assert isinstance(model.discriminator.discriminator, InfoGANDiscriminator)
    fc1, bn, act, fc2 = model.discriminator.q_head.net
    assert (fc1.in_features, fc1.out_features, fc2.out_features) == (1024, 128, 12)
    assert isinstance(bn, nn.BatchNorm1d) and isinstance(act, nn.LeakyReLU)
    learned = InfoGAN(image_shape=(1, 28, 28), continuous_std="learned")
    assert learned.discriminator.q_head.net[-1].out_features == 14  # 10 logits, 2 means, 2 log sigmas
    for name in ("num_categories", "num_continuous", "continuous_std"):
        assert resume_kind(name, InfoGAN.resume_fixed_hparams) == "fixed"


# ------------------------------------------------------------------------------------- latent codes
def test_codes_have_the_papers_distributions():
    model = InfoGAN(image_shape=(2,), latent_dim=3, width=8, num_categories=10, num_continuous=2)
    torch.manual_seed(0)
    n = 40_000
    z, labels = model.sample_codes(n)
    assert z.shape == (n, 3 + 2) and labels.shape == (n,) and labels.dtype == torch.int64
    counts = torch.bincount(labels, minlength=10)
    assert len(counts) == 10 and stats.chisquare(counts.numpy()).pvalue > 1e-3  # Cat(K = 10, p = 0.1)
    for j in range(3, 5):  # the continuous codes, last: U(-1, 1)
        c = z[:, j].double()
        assert float(c.min()) >= -1 and float(c.max()) <= 1
        assert stats.kstest(c.numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3, j
    for j in range(3):  # the noise: U(-1, 1) by default (the reference's Uniform(62))
        assert stats.kstest(z[:, j].double().numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3, j
    assert abs(float(torch.corrcoef(z.T)[3, 4])) < 0.03  # independent codes


def test_continuous_codes_stay_uniform_under_a_normal_noise_prior():
    model = InfoGAN(image_shape=(2,), latent_dim=3, width=8, latent_distribution="normal", num_continuous=2)
    z = model.sample_z(20_000, generator=torch.Generator().manual_seed(1))
    assert stats.kstest(z[:, 0].double().numpy(), "norm").pvalue > 1e-3
    for j in (3, 4):
        assert stats.kstest(z[:, j].double().numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3


def test_sample_z_is_reproducible_from_a_seeded_generator():
    model = InfoGAN(**VECTORS)
    first = model.sample_z(6, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, model.sample_z(6, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(first, model.sample_z(6, generator=torch.Generator().manual_seed(8)))


class InputSpy:
    """Records the generator's inputs (a forward pre-hook)."""

    def __init__(self, generator: nn.Module) -> None:
        self.inputs: list[torch.Tensor] = []
        generator.register_forward_pre_hook(lambda _m, args: self.inputs.append(args[0].detach().clone()))


def test_generator_input_is_noise_onehot_continuous():
    model = InfoGAN(**VECTORS, num_continuous=2)
    spy = InputSpy(model.generator)
    z = model.sample_z(8)
    labels = torch.tensor([3, 0, 1, 2, 2, 1, 0, 3])
    model.generate_from(z, labels)
    (x,) = spy.inputs
    assert x.shape == (8, 3 + 4 + 2)
    assert torch.equal(x[:, :3], z[:, :3])  # noise
    assert torch.equal(x[:, 3:7], F.one_hot(labels, 4).float())  # onehot(c_1)
    assert torch.equal(x[:, 7:], z[:, 3:])  # the continuous codes: the last num_continuous columns of z
    assert model.num_continuous == 2 and model.num_classes == 4


def test_generate_cycles_or_sets_the_categorical_code():
    model = InfoGAN(**VECTORS)
    spy = InputSpy(model.generator)
    model.generate(10)
    model.generate(3, labels=torch.tensor([2, 2, 1]))
    model(model.sample_z(5))
    cycled, chosen, forward = (x[:, 3:7].argmax(1).tolist() for x in spy.inputs)
    assert cycled == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1] and chosen == [2, 2, 1] and forward == [0, 1, 2, 3, 0]


def test_conditional_interface_with_code_labels():
    model = InfoGAN(**VECTORS).eval()
    assert is_conditional(model) and model.label_kind == "code" and model.num_classes == 4
    z = model.sample_z(4, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([1, 0, 3, 2])
    torch.testing.assert_close(draw(model, z, labels), model.generate_from(z, labels))
    torch.testing.assert_close(draw(model, z), model.generate_from(z, torch.arange(4)))
    swept = z.clone()
    swept[:, -model.num_continuous] = torch.linspace(-1, 1, 4)  # a grid sweeps a continuous code like this
    assert not torch.allclose(model.generate_from(swept, labels), model.generate_from(z, labels))


@pytest.mark.parametrize(
    "labels, error, match",
    [
        ([0, 1, 4], ValueError, r"labels must lie in \[0, 3\]"),
        ([0, -1, 2], ValueError, r"labels must lie in \[0, 3\]"),
        ([0, 1], ValueError, r"shape \(3,\)"),
        (torch.tensor([0.0, 1.0, 2.0]), TypeError, "integer"),
    ],
)
def test_bad_labels_are_refused(labels, error, match):
    model = InfoGAN(**VECTORS)
    with pytest.raises(error, match=match):
        model.generate(3, labels=labels)
    with pytest.raises(error, match=match):
        model.generate_from(model.sample_z(3), labels)


def test_z_without_the_continuous_codes_is_refused():
    model = InfoGAN(**VECTORS)
    with pytest.raises(ValueError, match=r"z must have shape \(n, 5\) \(latent_dim noise variables, then 2 continuous"):
        model.generate_from(torch.zeros(2, 3), torch.tensor([0, 1]))  # the noise alone, without the 2 codes


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_categories": 1}, "num_categories must be >= 2"),
        ({"num_continuous": -1}, "num_continuous must be >= 0"),
        ({"lambda_categorical": -1.0}, "lambda_categorical must be >= 0"),
        ({"lambda_continuous": -0.1}, "lambda_continuous must be >= 0"),
        ({"continuous_std": "free"}, "valid choices: 'fixed', 'learned'"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InfoGAN(**{**VECTORS, **kwargs})


def test_a_discriminator_without_a_shared_body_is_refused():
    with pytest.raises(TypeError, match="Q head shares the body"):
        DiscriminatorWithQ(nn.Linear(4, 1), 10, 2)


# ----------------------------------------------------------------------------- Q's log-likelihoods
def test_categorical_and_gaussian_terms_in_closed_form():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1])
    p = logits.exp() / logits.exp().sum(1, keepdim=True)
    ce = -(math.log(p[0, 0]) + math.log(p[1, 1])) / 2
    assert float(categorical_nll(logits, labels)) == pytest.approx(ce, rel=1e-12)
    mean = torch.tensor([[0.2, -0.5], [0.0, 0.9]], dtype=torch.float64)
    log_std = torch.tensor([[0.0, -1.0], [0.5, 0.3]], dtype=torch.float64)
    c = torch.tensor([[0.7, -0.4], [-0.9, 1.0]], dtype=torch.float64)
    logpdf = stats.norm.logpdf(c.numpy(), loc=mean.numpy(), scale=log_std.exp().numpy())
    assert float(gaussian_nll(mean, log_std, c)) == pytest.approx(-logpdf.sum(1).mean(), rel=1e-12)
    # sigma fixed to 1 (the reference's fix_std=True): 0.5 (c - mean)^2 + log sqrt(2 pi) per code
    fixed = float(gaussian_nll(mean, torch.zeros_like(mean), c))
    assert fixed == pytest.approx((0.5 * (c - mean) ** 2 + 0.5 * math.log(2 * math.pi)).sum(1).mean().item())


@pytest.mark.parametrize("lam_cat, lam_cont", [(1.0, 1.0), (1.0, 0.1), (0.3, 2.0)])
def test_information_loss_weights_each_term_by_its_lambda(lam_cat, lam_cont):
    model = vector_model(num_continuous=2, lambda_categorical=lam_cat, lambda_continuous=lam_cont)
    q = QPosterior(
        torch.tensor([[1.0, 0.0, 0.0, -2.0], [0.0, 0.0, 4.0, 0.0]], dtype=torch.float64),
        torch.tensor([[0.1, 0.2], [-0.3, 0.4]], dtype=torch.float64),
        torch.tensor([[0.0, 0.5], [-0.5, 0.1]], dtype=torch.float64),
    )
    labels = torch.tensor([3, 2])
    z = torch.tensor([[9.0, 9.0, 9.0, 0.5, -0.5], [9.0, 9.0, 9.0, -1.0, 1.0]], dtype=torch.float64)
    out = model.information_loss(q, labels, z)
    cat, cont = expected_information(model, q, z, labels)
    torch.testing.assert_close(out["info_cat"], cat)
    torch.testing.assert_close(out["info_cont"], cont)
    torch.testing.assert_close(out["loss"], lam_cat * cat + lam_cont * cont)
    torch.testing.assert_close(out["mi_cat"], math.log(4) - cat)  # H(c_1) - CE: the lower bound on I(c_1; x)


# ------------------------------------------------------------------- the two updates, written out by hand
@pytest.mark.parametrize("std", ["fixed", "learned"])
def test_critic_update_scores_q_on_the_codes_the_fake_was_made_from(std):
    model = vector_model(num_continuous=2, continuous_std=std, lambda_continuous=0.5)
    queue = CodeQueue(model)
    model.sample_codes = queue
    real = torch.randn(16, 2, dtype=torch.float64)
    out = model.critic_loss(real)
    assert len(queue.handed) == 1  # one draw: the fake batch and Q's targets share it
    z, labels = queue.handed[0]
    fake = model.generator(torch.cat([z[:, :3], F.one_hot(labels, 4).double(), z[:, 3:]], 1))
    real_scores, _ = model.discriminator(real)
    fake_scores, q = model.discriminator(fake)
    gan = F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()  # -log sigmoid(D(x)) - log(1 - ...)
    cat, cont = expected_information(model, q, z, labels)
    torch.testing.assert_close(out["d_gan"], gan.detach())
    torch.testing.assert_close(out["q_info_cat"], cat.detach())
    torch.testing.assert_close(out["q_info_cont"], cont.detach())
    torch.testing.assert_close(out["loss"].detach(), (gan + cat + 0.5 * cont).detach())
    # the check can fail: Q scored against other codes gives other values
    other_z, other_labels = queue(16)
    assert not torch.allclose(expected_information(model, q, other_z, other_labels)[0], cat)
    assert not torch.allclose(expected_information(model, q, other_z, other_labels)[1], cont)


def test_generator_update_is_non_saturating_plus_information_on_its_own_codes():
    model = vector_model(num_continuous=1, lambda_categorical=0.7, lambda_continuous=0.2)
    queue = CodeQueue(model, seed=3)
    model.sample_codes = queue
    out = model.generator_loss(16)
    assert len(queue.handed) == 1
    z, labels = queue.handed[0]
    scores, q = model.discriminator(model.generator(torch.cat([z[:, :3], F.one_hot(labels, 4).double(), z[:, 3:]], 1)))
    cat, cont = expected_information(model, q, z, labels)
    ns = -torch.log(torch.sigmoid(scores)).mean()  # -E log D(G(z, c)), not E log(1 - D(G(z, c)))
    torch.testing.assert_close(out["g_gan"], ns.detach())
    torch.testing.assert_close(out["info_cat"], cat.detach())
    torch.testing.assert_close(out["info_cont"], cont.detach())
    torch.testing.assert_close(out["loss"].detach(), (ns + 0.7 * cat + 0.2 * cont).detach())


def grads(net: nn.Module) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()]


def generator_grads(model: InfoGAN, lam_cat: float, lam_cont: float) -> list[torch.Tensor]:
    """G's gradient of ``generator_loss`` with the given lambdas, on the same codes every time."""
    model.hparams.lambda_categorical, model.hparams.lambda_continuous = lam_cat, lam_cont
    model.sample_codes = CodeQueue(model, seed=5)
    model.zero_grad(set_to_none=True)
    model.generator_loss(32)["loss"].backward()
    return grads(model.generator)


def critic_grads(model: InfoGAN, lam_cat: float, lam_cont: float) -> dict[str, list[torch.Tensor]]:
    """Gradients of ``critic_loss`` on D's body, D's output layer and Q's head, on the same codes every time."""
    model.hparams.lambda_categorical, model.hparams.lambda_continuous = lam_cat, lam_cont
    model.sample_codes = CodeQueue(model, seed=6)
    model.zero_grad(set_to_none=True)
    model.critic_loss(torch.randn(32, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64))[
        "loss"
    ].backward()
    d = model.discriminator.discriminator
    return {"body": grads(d.net[:-1]), "d_out": grads(d.net[-1]), "q": grads(model.discriminator.q_head)}


def assert_all_close(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-12)


def assert_linear(g0: list[torch.Tensor], g1: list[torch.Tensor], g2: list[torch.Tensor]) -> None:
    """Gradients at lambda = 0, 1, 2 of a loss linear in lambda: g2 - g0 = 2 (g1 - g0)."""
    assert_all_close([b - a for a, b in zip(g0, g2)], [2 * (b - a) for a, b in zip(g0, g1)])


def assert_some_differ(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert any(not torch.allclose(x, y, rtol=1e-6, atol=1e-9) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("which", [0, 1])  # lambda_categorical, lambda_continuous
def test_information_term_reaches_the_generator_weighted_by_lambda(which):
    """L_I depends on G through the fake (eq. 6 minimizes it over G): G's gradient moves with lambda, linearly."""
    model = vector_model(num_continuous=2)

    def at(lam: float) -> list[torch.Tensor]:
        return generator_grads(model, *((lam, 0.0) if which == 0 else (0.0, lam)))

    g0, g1, g2 = at(0.0), at(1.0), at(2.0)
    assert_some_differ(g0, g1)
    assert_linear(g0, g1, g2)


@pytest.mark.parametrize("which", [0, 1])
def test_information_term_trains_q_and_the_shared_body_weighted_by_lambda(which):
    """The critic update minimizes lambda (-L_I) over Q: Q's head gets exactly lambda times its gradient, the shared
    body gets it too, D's output layer is untouched by it."""
    model = vector_model(num_continuous=2)

    def at(lam: float) -> dict[str, list[torch.Tensor]]:
        return critic_grads(model, *((lam, 0.0) if which == 0 else (0.0, lam)))

    g0, g1, g2 = at(0.0), at(1.0), at(2.0)
    assert all(float(g.abs().max()) == 0 for g in g0["q"])  # without L_I, Q's head learns nothing
    assert any(float(g.abs().max()) > 0 for g in g1["q"])
    assert_all_close(g2["q"], [2 * g for g in g1["q"]])
    assert_some_differ(g0["body"], g1["body"])  # Q's loss trains D's body: they share it
    assert_linear(g0["body"], g1["body"], g2["body"])
    assert_all_close(g0["d_out"], g2["d_out"])


# --------------------------------------------------------------------------------- Q on D's own body
def test_q_reads_the_features_of_ds_own_body_in_the_same_pass():
    torch.manual_seed(0)
    model = InfoGAN(**IMAGES)
    both = model.discriminator
    d = both.discriminator
    body = {id(p) for p in d.features.parameters()}
    # one copy of the body: the discriminator net's parameters are D's body + D's output layer + Q's head
    assert {id(p) for p in both.parameters()} == body | {id(p) for p in d.head.parameters()} | {
        id(p) for p in both.q_head.parameters()
    }
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    scores, q = both(x)
    h = d.features((x + 1) / 2)  # the InfoGAN D body's features, as D computes them
    torch.testing.assert_close(scores, d(x))
    torch.testing.assert_close(q.logits, both.q_head(h).logits)
    # Q's outputs depend on the body's parameters, and changing the body changes both D and Q
    q.logits.sum().backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in d.features.parameters() if p.dim() > 1)
    assert all(p.grad is None for p in d.head.parameters())
    with torch.no_grad():
        d.features[0].weight.mul_(1.5)
    scores2, q2 = both(x)
    assert not torch.allclose(scores2, scores) and not torch.allclose(q2.logits, q.logits)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"nets": "infogan"}, (1, 28, 28)),
        ({"nets": "dcgan", "width": 8}, (1, 28, 28)),
        ({"nets": "sngan_cnn"}, (3, 32, 32)),
        ({"width": 16}, (2,)),
    ],
)
@pytest.mark.parametrize("std", ["fixed", "learned"])
def test_every_net_family_takes_a_q_head(kwargs, shape, std):
    torch.manual_seed(0)
    model = InfoGAN(image_shape=shape, latent_dim=4, num_continuous=3, continuous_std=std, **kwargs)
    x = model.generate(5)
    assert x.shape == (5, *shape)
    scores, q = model.discriminator(x)
    assert scores.shape == (5,) and q.logits.shape == (5, 10) and q.mean.shape == q.log_std.shape == (5, 3)
    assert (float(q.log_std.abs().max()) == 0) == (std == "fixed")
    out = model.critic_loss(torch.rand(5, *shape) * 2 - 1)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_q_head_refuses_bad_sizes():
    with pytest.raises(ValueError, match="num_categories must be >= 2"):
        QHead(16, 1, 0)
    with pytest.raises(ValueError, match="num_continuous must be >= 0"):
        QHead(16, 4, -2)


# ------------------------------------------------------------------------------------------- training
def test_training_logs_each_loss_term(fashion_dir, tmp_path):
    model = InfoGAN(latent_dim=8, width=8)
    tiny_trainer(tmp_path, max_steps=4).fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8))
    logged = set(model.last_losses)
    assert {"train/d_loss", "train/d_gan", "train/q_info_cat", "train/q_info_cont", "train/q_accuracy"} <= logged
    assert {"train/g_loss", "train/g_gan", "train/info_cat", "train/info_cont", "train/mi_cat"} <= logged
    assert all(torch.isfinite(v) for v in model.last_losses.values())


def q_accuracy(model: InfoGAN, n: int = 2000) -> float:
    """How often Q's most likely categorical code is the one the fake was generated from."""
    model.eval()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(123)
        z, labels = model.sample_codes(n)
        _, q = model.discriminator(model.generator(model.generator_input(z, labels)))
    model.train()
    return float((q.logits.argmax(1) == labels).float().mean())


def test_q_learns_its_own_codes_in_a_short_run(tmp_path):
    """300 D/Q and 300 G updates on the 2-D ring (a few seconds): Q recovers the categorical code of its fakes far
    above chance (seeds 0-3 all reach 1.0; at 150 updates seed 3 is still at 0.41)."""
    L.seed_everything(0)
    model = InfoGAN(
        image_shape=(2,), latent_dim=2, width=64, g_norm="none", d_norm="none", num_categories=4, lr=1e-3, lr_d=1e-3
    )
    before = q_accuracy(model)
    tiny_trainer(tmp_path, max_steps=600).fit(model, GaussianMixtureData(num_samples=64 * 300, batch_size=64))
    assert model.g_steps == 300
    assert before < 0.35 and q_accuracy(model) > 0.6  # chance: 0.25
