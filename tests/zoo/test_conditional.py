"""The class-conditional GANs (CGAN, ACGAN, ProjectionGAN) and their shared base: the conditional interface, the
classes taken from the datamodule, labels reaching both nets, the papers' objectives in closed form on hand-set
scores, and the errors for bad labels and unlabelled data.

Expectations are computed here with ``math`` on plain floats (or by hand from a net's parts), never by calling the
loss functions the variants use.
"""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch import nn

from datamodules import FashionMNISTData, GaussianMixtureData
from tests.conftest import tiny_trainer
from zoo import ACGAN, CGAN, ProjectionGAN
from zoo.conditioning import is_conditional
from zoo.models.conditional import ConditionalNoiseToImageGAN
from zoo.nets.conditional import AuxiliaryClassifierDiscriminator, LabelConcatDiscriminator, LabelConcatGenerator
from zoo.nets.conditional_projection import ConditionalBatchNorm, ConditionalBatchNormGenerator, ProjectionDiscriminator

VARIANTS = [CGAN, ACGAN, ProjectionGAN]
IDS = [c.__name__ for c in VARIANTS]
TINY = dict(latent_dim=8, width=8)


def make(cls, shape=(2,), **kwargs):
    torch.manual_seed(0)
    return cls(image_shape=shape, num_classes=kwargs.pop("num_classes", 4), **{**TINY, **kwargs})


def sigmoid(s: float) -> float:
    return 1.0 / (1.0 + math.exp(-s))


def cross_entropy(row: list[float], c: int) -> float:
    return -(row[c] - math.log(sum(math.exp(v) for v in row)))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


# ----------------------------------------------------------------------------------- stub nets
class TableD(nn.Module):
    """A conditional critic with hand-set scores: D(x, y) = x[:, 0] + offset[y]."""

    def __init__(self, offsets: list[float]) -> None:
        super().__init__()
        self.offsets = torch.tensor(offsets, dtype=torch.float64)
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, x, labels):
        return self.scale * x[:, 0] + self.offsets[labels]


class TableACD(nn.Module):
    """ACGAN's D with hand-set outputs: source score x[:, 0], class logits the row ``table[x[:, 1]]`` (the "class
    content" a stub generator writes into x[:, 1])."""

    def __init__(self, table: list[list[float]]) -> None:
        super().__init__()
        self.table = torch.tensor(table, dtype=torch.float64)
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, x):
        return self.scale * x[:, 0], self.scale * self.table[x[:, 1].long()]


class RecordingG(nn.Module):
    """G(z, y) = (z[:, 0], y): the class it was given is written into the sample; every call is recorded."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.bias = nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, z, labels):
        out = torch.stack([z[:, 0].double() + self.bias, labels.double()], dim=1)
        self.calls.append((labels.clone(), out.detach().clone()))
        return out


# ------------------------------------------------------------------------------ the interface
def test_public_api_registry_and_interface():
    import zoo

    for cls in VARIANTS:
        assert getattr(zoo, cls.__name__) is cls and cls.__name__ in zoo.list_variants()
        assert issubclass(cls, ConditionalNoiseToImageGAN)
        model = make(cls, (1, 28, 28), num_classes=10)
        assert is_conditional(model) and model.label_kind == "class" and model.num_classes == 10
        assert model.sample_z(5).shape == (5, 8)
        assert model.generate(5).shape == (5, 1, 28, 28)
        assert model.generate(3, labels=torch.tensor([9, 0, 4])).shape == (3, 1, 28, 28)
        assert model.generate_from(model.sample_z(2), [1, 2]).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_generate_cycles_labels_when_none(cls):
    model = make(cls).eval()
    z = model.sample_z(6, generator=torch.Generator().manual_seed(1))
    cycled = torch.tensor([0, 1, 2, 3, 0, 1])
    torch.manual_seed(3)
    a = model.generate(6)
    torch.manual_seed(3)
    b = model.generate(6, labels=cycled)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(model(z), model.generate_from(z, cycled))


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
@pytest.mark.parametrize(
    "labels, error, match",
    [
        (torch.tensor([0, 1, 4]), ValueError, r"\[0, 3\].*4 classes.*\[4\]"),  # out of range (K = 4)
        (torch.tensor([0, -1, 2]), ValueError, r"\[0, 3\]"),
        (torch.tensor([0, 1]), ValueError, r"shape \(3,\)"),  # wrong length
        (torch.tensor([[0, 1, 2]]), ValueError, r"shape \(3,\)"),
        (torch.tensor([0.0, 1.0, 2.0]), TypeError, "integer"),  # float labels
        (torch.tensor([True, False, True]), TypeError, "integer"),
    ],
)
def test_bad_labels_are_refused(cls, labels, error, match):
    model = make(cls)
    with pytest.raises(error, match=match):
        model.generate(3, labels=labels)
    with pytest.raises(error, match=match):
        model.generate_from(model.sample_z(3), labels)


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_bad_num_classes_and_nets_are_refused(cls):
    for bad in (1, 0, 2.5, "10", True):
        with pytest.raises(ValueError, match="num_classes"):
            cls(num_classes=bad, **TINY)
    with pytest.raises(ValueError, match="nets='dcgan'"):
        cls(nets="infogan", **TINY)


# ------------------------------------------------------------------ classes from the datamodule
class Unlabelled(L.LightningDataModule):
    """Images without class labels (like CelebAData: num_classes = 0)."""

    image_shape = (1, 28, 28)
    num_classes = 0

    def train_dataloader(self):
        return [torch.zeros(4, 1, 28, 28)]


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_num_classes_and_image_shape_come_from_the_datamodule(cls, fashion_dir, tmp_path):
    model = cls(**TINY)
    assert model.num_classes is None and model.generator is None and not is_conditional(model)
    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(
        model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8)
    )
    assert model.hparams.num_classes == 10 and model.hparams.image_shape == [1, 28, 28]
    assert is_conditional(model) and model.d_steps == 2


def test_image_shape_given_and_num_classes_from_the_data(fashion_dir, tmp_path):
    model = CGAN(image_shape=(1, 28, 28), **TINY)
    assert model.generator is None  # nets wait for the classes
    tiny_trainer(tmp_path, max_steps=2).fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8))
    assert model.num_classes == 10 and model.generate(3).shape == (3, 1, 28, 28)


def test_vector_data_takes_the_mixture_modes_as_classes(tmp_path):
    model = CGAN(latent_dim=2, width=16)
    tiny_trainer(tmp_path, max_steps=4).fit(model, GaussianMixtureData(num_samples=256, batch_size=32))
    assert model.num_classes == 8 and model.image_shape == (2,)


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_unlabelled_data_is_refused_naming_the_fix(cls, tmp_path):
    with pytest.raises(ValueError, match=r"Unlabelled has no class labels.*labelled datamodule.*num_classes=K"):
        tiny_trainer(tmp_path, max_steps=2).fit(cls(**TINY), Unlabelled())
    with pytest.raises(ValueError, match=r"Unlabelled has none.*labelled datamodule"):
        tiny_trainer(tmp_path, max_steps=2).fit(cls(num_classes=10, **TINY), Unlabelled())


def test_no_datamodule_and_no_num_classes_says_how(tmp_path):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(8, 2), torch.zeros(8).long()))
    with pytest.raises(ValueError, match="no datamodule.*pass num_classes=K"):
        tiny_trainer(tmp_path, max_steps=2).fit(CGAN(image_shape=(2,), **TINY), loader)


def test_other_class_count_is_refused(fashion_dir, tmp_path):
    with pytest.raises(ValueError, match=r"num_classes=5 but FashionMNISTData has 10 classes.*drop num_classes"):
        tiny_trainer(tmp_path, max_steps=2).fit(
            CGAN(num_classes=5, **TINY), FashionMNISTData(data_dir=str(fashion_dir), batch_size=8)
        )


def test_batches_without_labels_are_refused():
    model = make(CGAN)
    with pytest.raises(ValueError, match=r"\(samples, labels\) batches"):
        model.labels_from_batch(torch.zeros(4, 2))
    with pytest.raises(TypeError, match="integer"):
        model.labels_from_batch((torch.zeros(4, 2), torch.zeros(4)))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        model.labels_from_batch((torch.zeros(4, 2), torch.zeros(3).long()))


# --------------------------------------------------------------------------- labels reach the nets
@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 32, 32)])
def test_labels_reach_the_generator(cls, shape):
    model = make(cls, shape).eval()
    z = model.sample_z(4)
    with torch.no_grad():
        a, b = model.generate_from(z, [0, 0, 0, 0]), model.generate_from(z, [1, 2, 3, 1])
    assert all(not torch.allclose(a[i], b[i], atol=1e-6) for i in range(4))


@pytest.mark.parametrize("cls", [CGAN, ProjectionGAN], ids=["CGAN", "ProjectionGAN"])
@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 64, 64)])
def test_labels_reach_the_discriminator(cls, shape):
    """Only the label changes: D's score changes (for every sample)."""
    model = make(cls, shape).eval()
    x = torch.randn(4, *shape)
    with torch.no_grad():
        a = model.discriminator(x, torch.tensor([0, 0, 0, 0]))
        b = model.discriminator(x, torch.tensor([1, 2, 3, 1]))
    assert a.shape == (4,) and bool(((a - b).abs() > 1e-6).all()), (a, b)


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28)])
def test_acgan_discriminator_has_a_source_head_and_a_class_head_on_one_body(shape):
    model = make(ACGAN, shape)
    scores, logits = model.discriminator(torch.randn(5, *shape))
    assert scores.shape == (5,) and logits.shape == (5, 4)
    d = model.discriminator
    assert isinstance(d, AuxiliaryClassifierDiscriminator)
    body = {id(p) for p in d.features.parameters()}
    assert body and not body & {id(p) for p in d.source_head.parameters()}
    # both heads read the shared body: its gradient has a part from each
    for head in (0, 1):
        d.zero_grad()
        d(torch.randn(5, *shape))[head].sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.features.parameters() if p.dim() > 1)


# ------------------------------------------------------------------- the critic step's inputs
class Recorder(L.Callback):
    def __init__(self) -> None:
        self.batches: list = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches.append([t.clone() for t in batch])


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_critic_sees_real_images_with_their_labels_and_fakes_with_theirs(cls, fashion_dir, tmp_path):
    model = cls(**TINY, n_critic=1)
    seen, g_calls = [], []
    original = model.discriminator_loss

    def spy(real, real_labels, fake, fake_labels):
        seen.append((real.clone(), real_labels.clone(), fake.clone(), fake_labels.clone(), fake.requires_grad))
        return original(real, real_labels, fake, fake_labels)

    model.discriminator_loss = spy
    recorder = Recorder()

    class HookG(L.Callback):
        def on_train_start(self, trainer, pl_module):
            pl_module.generator.register_forward_hook(
                lambda m, args, out: g_calls.append((args[1].clone(), out, torch.is_grad_enabled()))
            )

    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=3, callbacks=[recorder, HookG()]).fit(
        model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16)
    )
    assert len(seen) == 3
    for (real, real_labels, fake, fake_labels, fake_grad), (images, labels) in zip(seen, recorder.batches):
        assert torch.equal(real, images)  # the batch's images
        assert torch.equal(real_labels, labels)  # ... with their own labels
        assert not fake_grad  # made under no_grad
        made = [(y, grad) for y, out, grad in g_calls if out.shape == fake.shape and torch.equal(out, fake)]
        assert len(made) == 1 and torch.equal(made[0][0], fake_labels)  # labels the fakes were generated with
        assert not made[0][1]  # G ran under torch.no_grad()
    # the generator update draws its own labels and z: 3 critic + 3 generator calls of G
    assert len(g_calls) == 6 and sum(out.requires_grad for _, out, _ in g_calls) == 3


def test_fake_labels_are_uniform_over_the_classes():
    model = make(CGAN, num_classes=4)
    torch.manual_seed(0)
    counts = torch.bincount(model.sample_labels(40000), minlength=4).float()
    assert counts.shape == (4,) and bool(((counts / 10000 - 1).abs() < 0.05).all()), counts


# ------------------------------------------------------------------ objectives in closed form
REAL = [[0.5, 0.0], [-1.2, 0.0], [2.0, 0.0], [0.1, 0.0]]
REAL_Y = [0, 1, 2, 1]
FAKE = [[-0.4, 0.0], [0.9, 0.0], [-2.5, 0.0], [1.5, 0.0]]
FAKE_Y = [3, 0, 0, 2]  # differ from REAL_Y at every position
OFFSETS = [0.3, -0.7, 1.1, -2.0]
T = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def hand_scores(xs, ys):
    return [x[0] + OFFSETS[y] for x, y in zip(xs, ys)]


def test_cgan_discriminator_loss_is_eq_2_on_the_right_labels():
    model = make(CGAN)
    model.discriminator = TableD(OFFSETS)
    out = model.discriminator_loss(T(REAL), torch.tensor(REAL_Y), T(FAKE), torch.tensor(FAKE_Y))["loss"]
    r, f = hand_scores(REAL, REAL_Y), hand_scores(FAKE, FAKE_Y)
    expected = -mean(math.log(sigmoid(s)) for s in r) - mean(math.log(1 - sigmoid(s)) for s in f)
    assert float(out) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("objective", ["non_saturating", "minimax"])
def test_cgan_generator_loss_scores_its_own_labels(objective):
    model = make(CGAN, objective=objective)
    model.discriminator, model.generator = TableD(OFFSETS), RecordingG(8)
    out = float(model.generator_loss(64)["loss"])
    ((labels, fake),) = model.generator.calls
    f = [float(x0) + OFFSETS[int(y)] for x0, y in zip(fake[:, 0], labels)]
    assert len(set(labels.tolist())) > 1  # the labels were drawn, not fixed
    if objective == "non_saturating":
        assert out == pytest.approx(-mean(math.log(sigmoid(s)) for s in f), rel=1e-12)
    else:
        assert out == pytest.approx(mean(math.log(1 - sigmoid(s)) for s in f), rel=1e-12)


ACT = [[0.2, -1.0, 0.5, 1.3], [1.5, 0.3, -0.2, 0.0], [-0.6, 2.2, 0.1, 0.4], [0.0, 0.0, 3.0, -1.0]]


def test_acgan_discriminator_loss_is_minus_ls_minus_lc_with_the_fakes_labels():
    model = make(ACGAN)
    model.discriminator = TableACD(ACT)
    # x[:, 1] is each sample's "class content": its logits are ACT[x[:, 1]]
    real = [[x[0], float(c)] for x, c in zip(REAL, [2, 0, 3, 1])]
    fake = [[x[0], float(c)] for x, c in zip(FAKE, [1, 1, 0, 3])]
    out = model.discriminator_loss(T(real), torch.tensor(REAL_Y), T(fake), torch.tensor(FAKE_Y))
    ls = mean(math.log(sigmoid(x[0])) for x in real) + mean(math.log(1 - sigmoid(x[0])) for x in fake)  # eq. 2
    lc = mean(-cross_entropy(ACT[int(x[1])], c) for x, c in zip(real, REAL_Y))  # eq. 3, real half
    lc += mean(-cross_entropy(ACT[int(x[1])], c) for x, c in zip(fake, FAKE_Y))  # fake half: G's labels
    assert float(out["loss"]) == pytest.approx(-(ls + lc), rel=1e-12)
    assert float(out["d_source"]) == pytest.approx(-ls, rel=1e-12)
    assert float(out["d_class"]) == pytest.approx(-lc, rel=1e-12)


@pytest.mark.parametrize("objective", ["non_saturating", "minimax"])
def test_acgan_generator_maximizes_lc_minus_ls_with_its_own_labels(objective):
    model = make(ACGAN, objective=objective)
    # logits of a fake: the ACT row of the class G was asked for, shifted so each label's row differs
    model.discriminator, model.generator = TableACD(ACT), RecordingG(8)
    out = model.generator_loss(64)
    ((labels, fake),) = model.generator.calls
    lc_fake = mean(-cross_entropy(ACT[int(y)], int(y)) for y in labels)
    if objective == "non_saturating":  # -E log P(S = real | X_fake)
        source = -mean(math.log(sigmoid(float(s))) for s in fake[:, 0])
    else:  # L_S's fake half as written: + E log P(S = fake | X_fake)
        source = mean(math.log(1 - sigmoid(float(s))) for s in fake[:, 0])
    assert float(out["loss"]) == pytest.approx(source - lc_fake, rel=1e-12)
    assert float(out["g_class"]) == pytest.approx(-lc_fake, rel=1e-12) and float(out["g_class"]) > 0


def test_acgan_class_term_reaches_both_updates():
    """The class head's weights get gradient from D's loss, and G's loss changes when only the class head does."""
    model = make(ACGAN, (1, 28, 28), g_norm="none", d_norm="none")
    real, y = torch.randn(6, 1, 28, 28), torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        fake = model.generate_from(model.sample_z(6), [3, 2, 1, 0, 3, 2])
    model.discriminator_loss(real, y, fake, torch.tensor([3, 2, 1, 0, 3, 2]))["loss"].backward()
    assert all(p.grad.abs().sum() > 0 for p in model.discriminator.class_head.parameters())
    torch.manual_seed(5)
    before = model.generator_loss(6)
    with torch.no_grad():
        for p in model.discriminator.class_head.parameters():
            p.add_(torch.randn_like(p))
    torch.manual_seed(5)
    after = model.generator_loss(6)
    torch.testing.assert_close(after["g_source"], before["g_source"])
    assert float((after["g_class"] - before["g_class"]).abs()) > 1e-4


PROJ_REAL = [[0.5, 0.0], [-1.2, 0.0], [0.95, 0.0], [0.1, 0.0]]  # + offsets: some real scores past the margin 1


def test_projection_gan_losses_are_the_hinge_on_the_right_labels():
    model = make(ProjectionGAN)
    model.discriminator = TableD(OFFSETS)
    out = model.discriminator_loss(T(PROJ_REAL), torch.tensor(REAL_Y), T(FAKE), torch.tensor(FAKE_Y))["loss"]
    r, f = hand_scores(PROJ_REAL, REAL_Y), hand_scores(FAKE, FAKE_Y)
    assert any(s > 1 for s in r) and any(s < 1 for s in r) and any(s < -1 for s in f) and any(s > -1 for s in f)
    expected = mean(max(0.0, 1 - s) for s in r) + mean(max(0.0, 1 + s) for s in f)
    assert float(out) == pytest.approx(expected, rel=1e-12)
    model.generator = RecordingG(8)
    g = float(model.generator_loss(32)["loss"])
    ((labels, fake),) = model.generator.calls
    assert g == pytest.approx(-mean(float(x0) + OFFSETS[int(y)] for x0, y in zip(fake[:, 0], labels)), rel=1e-12)


# --------------------------------------------------------------------------- projection and CBN
@pytest.mark.parametrize("shape", [(3,), (1, 28, 28)])
def test_projection_discriminator_is_eq_3(shape):
    """f(x, y) = psi(phi(x)) + V[y] . phi(x) with V and psi set by hand; the projection term is added."""
    torch.manual_seed(0)
    d = ProjectionDiscriminator(shape, num_classes=3, width=4).eval()
    ch = d.psi.in_features
    with torch.no_grad():
        d.psi.weight.copy_(torch.linspace(-1, 1, ch)[None])
        d.embed.weight.copy_(torch.tensor([[0.5] * ch, [-1.0] * ch, [2.0] * ch]))
    x, y = torch.randn(5, *shape), torch.tensor([0, 1, 2, 2, 0])
    phi = d.phi(x).detach()
    if len(shape) == 3:  # phi = the trunk's features summed over the positions
        torch.testing.assert_close(phi, d.features(x).detach().sum(dim=(2, 3)))
    psi = [sum(float(w) * float(h) for w, h in zip(d.psi.weight[0], row)) for row in phi]
    proj = [sum(float(v) * float(h) for v, h in zip(d.embed.weight[c], row)) for c, row in zip(y.tolist(), phi)]
    expected = torch.tensor([a + b for a, b in zip(psi, proj)])
    assert min(abs(p) for p in proj) > 1e-2  # the projection term matters in every sample
    torch.testing.assert_close(d(x, y).detach(), expected, rtol=1e-5, atol=1e-5)


def test_projection_gan_label_difference_is_the_normalized_embedding_projection():
    model = make(ProjectionGAN, (1, 28, 28)).eval()  # eval: the spectral norm's u, v stay put
    d = model.discriminator
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        phi, v = d.phi(x), d.embed.weight  # the spectrally normalized V
        diff = d(x, torch.tensor([2, 2, 2, 2])) - d(x, torch.tensor([0, 1, 3, 0]))
        expected = ((v[2] - v[torch.tensor([0, 1, 3, 0])]) * phi).sum(1)
    torch.testing.assert_close(diff, expected, rtol=1e-4, atol=1e-5)


def test_projection_gan_normalizes_every_weight_of_d_and_has_no_batch_norm_there():
    from torch.nn.utils import parametrize

    model = make(ProjectionGAN, (1, 28, 28))
    d = model.discriminator
    weighted = [m for m in d.modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.Embedding)]
    assert len(weighted) >= 4 and all(parametrize.is_parametrized(m, "weight") for m in weighted)
    sigma = torch.linalg.matrix_norm(d.embed.weight.detach(), ord=2)
    assert float(sigma) == pytest.approx(1.0, abs=0.05)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    assert sum(isinstance(m, ConditionalBatchNorm) for m in model.generator.modules()) == 2  # 28 px: 2 hidden layers
    with pytest.raises(ValueError, match="d_norm='none'"):
        ProjectionGAN(d_norm="batch", **TINY)
    with pytest.raises(ValueError, match="conditional batch norm"):
        ProjectionGAN(g_norm="none", **TINY)


@pytest.mark.parametrize("flat", [True, False])
def test_conditional_batch_norm_is_gamma_y_times_bn_plus_beta_y(flat):
    cbn = ConditionalBatchNorm(2, num_classes=3, flat=flat)
    with torch.no_grad():
        cbn.gain.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 0.5], [-1.0, 3.0]]))
        cbn.bias.weight.copy_(torch.tensor([[0.0, 0.0], [3.0, -1.0], [0.5, 0.5]]))
    h = torch.randn(6, 2) if flat else torch.randn(6, 2, 3, 3)
    y = torch.tensor([0, 1, 2, 1, 0, 2])
    out = cbn(h, y)
    dims = (0,) if flat else (0, 2, 3)
    normed = (h - h.mean(dims, keepdim=True)) / (h.var(dims, unbiased=False, keepdim=True) + 1e-5).sqrt()
    for i, c in enumerate(y.tolist()):
        gain, bias = cbn.gain.weight[c].detach(), cbn.bias.weight[c].detach()
        shape = (2,) if flat else (2, 1, 1)
        torch.testing.assert_close(
            out[i].detach(), gain.view(shape) * normed[i] + bias.view(shape), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28)])
def test_projection_generator_takes_the_class_only_through_its_norms(shape):
    g = ConditionalBatchNormGenerator(shape, latent_dim=4, num_classes=3, width=8).eval()
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm):
                m.gain.weight.fill_(1.0)
                m.bias.weight.zero_()
        z = torch.randn(3, 4)
        same = g(z, torch.tensor([0, 0, 0])), g(z, torch.tensor([1, 2, 1]))
        torch.testing.assert_close(*same)  # equal gains and biases: no class dependence left
        norm = next(m for m in g.modules() if isinstance(m, ConditionalBatchNorm))
        norm.bias.weight[1].fill_(1.0)  # class 1 alone gets another bias in the first norm
        a, b = g(z, torch.tensor([0, 0, 2])), g(z, torch.tensor([1, 1, 2]))
    assert not torch.allclose(a[0], b[0]) and torch.equal(a[2], b[2])


def test_label_concat_nets_take_the_one_hot_class():
    """cGAN's G sees [z; onehot(y)]; its D sees the image with K one-hot maps (or [x; onehot(y)])."""
    g = LabelConcatGenerator((2,), latent_dim=3, num_classes=4, width=8)
    first = g.body.net[0]
    assert first.in_features == 3 + 4
    z, y = torch.randn(2, 3), torch.tensor([1, 3])
    seen = []
    first.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    g(z, y)
    torch.testing.assert_close(seen[0], torch.cat([z, torch.eye(4)[y]], dim=1))
    d = LabelConcatDiscriminator((1, 28, 28), num_classes=4, width=8)
    inputs = []
    d.body[0][0].register_forward_hook(lambda m, args, out: inputs.append(args[0]))
    x = torch.randn(2, 1, 28, 28)
    d(x, y)
    assert inputs[0].shape == (2, 5, 28, 28) and torch.equal(inputs[0][:, :1], x)
    assert torch.equal(inputs[0][:, 1:], torch.eye(4)[y][:, :, None, None].expand(-1, -1, 28, 28))


# --------------------------------------------------------------------------------- paper defaults
def optimizer_settings(model):
    return [(type(o), o.defaults["lr"], o.defaults.get("betas")) for o in model.configure_optimizers()]


def test_paper_defaults():
    for cls in (CGAN, ACGAN):
        model = make(cls)
        assert model.hparams.n_critic == 1 and model.hparams.objective == "non_saturating"
        assert optimizer_settings(model) == [(torch.optim.Adam, 2e-4, (0.5, 0.999))] * 2
    proj = make(ProjectionGAN)
    assert (proj.hparams.n_critic, proj.hparams.n_power_iterations, proj.hparams.d_norm) == (5, 1, "none")
    assert optimizer_settings(proj) == [(torch.optim.Adam, 2e-4, (0.0, 0.9))] * 2


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_checkpoint_rebuilds_the_classes_and_the_nets(cls, fashion_dir, tmp_path):
    model = cls(**TINY)
    trainer = tiny_trainer(tmp_path, max_steps=2)
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8))
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = cls.load_from_checkpoint(tmp_path / "m.ckpt").eval()
    model.eval()
    z = model.sample_z(4)
    assert loaded.num_classes == 10
    torch.testing.assert_close(loaded.generate_from(z, [9, 8, 7, 6]), model.generate_from(z, [9, 8, 7, 6]))


def test_resume_takes_the_classes_from_the_data_and_continues(fashion_dir, tmp_path):
    from callbacks import ZooCheckpoint

    def fit(max_steps, ckpt_path=None):
        model = CGAN(**TINY)
        trainer = tiny_trainer(
            tmp_path, max_steps=max_steps, enable_checkpointing=True, callbacks=[ZooCheckpoint(every_n_train_steps=2)]
        )
        trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8), ckpt_path=ckpt_path)
        return model

    first = fit(4)
    resumed = fit(8, ckpt_path=str(tmp_path / "checkpoints" / "last.ckpt"))
    assert (first.d_steps, resumed.d_steps, resumed.g_steps) == (2, 4, 4) and resumed.num_classes == 10


@pytest.mark.parametrize("cls", VARIANTS, ids=IDS)
def test_the_options_every_variant_takes(cls, fashion_dir, tmp_path):
    """DiffAugment augments the images D sees (not the labels); the generator EMA averages G(z, y)."""
    model = cls(**TINY, n_critic=1, diffaugment="translation,cutout", ema_decay=0.9)
    tiny_trainer(tmp_path, max_steps=4).fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=8))
    assert model.generator_ema is not None and model.g_steps == 2
    from zoo.sampling import fixed_z_samples

    assert fixed_z_samples(model, 4, seed=0).shape == (4, 1, 28, 28)
