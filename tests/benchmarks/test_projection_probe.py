"""``benchmarks.projection_probe``: its hidden classifier is the argmax over y of the projection D's full score, and
probing during training leaves the training run bit-identical."""

from __future__ import annotations

import torch

from benchmarks.projection_probe import ProjectionProbe, hidden_class_scores
from tests.zoo.variant_harness import tiny_fit
from zoo.metrics.fashion_domain import FashionDomainExtractor


def trained(tmp_path, fashion_dir, callbacks=()):
    model, data = tiny_fit("ProjectionGAN", tmp_path, fashion_dir, batches=12, callbacks=callbacks)
    return model, data


def test_the_hidden_classifier_is_the_argmax_of_the_full_score_over_classes(tmp_path, fashion_dir):
    model, data = trained(tmp_path, fashion_dir)
    d = model.discriminator.eval()
    images, _ = data.load_split("test")
    x = images[:16].float() / 127.5 - 1
    with torch.no_grad():
        full = torch.stack([d(x, torch.full((len(x),), k)) for k in range(d.num_classes)], dim=1)  # f(x, y), (N, K)
        hidden = hidden_class_scores(d, x)
    # f(x, y) - f(x, 0) = (embed(y) - embed(0)) . phi(x): the psi term cancels, the class term remains
    torch.testing.assert_close(hidden - hidden[:, :1], full - full[:, :1], rtol=1e-4, atol=1e-4)
    assert torch.equal(hidden.argmax(1), full.argmax(1))


def test_probing_during_training_leaves_the_run_bit_identical(tmp_path, fashion_dir):
    plain, data = trained(tmp_path / "plain", fashion_dir)
    images, labels = data.load_split("test")
    probe = ProjectionProbe([1, 2], images.float() / 127.5 - 1, labels, FashionDomainExtractor(), n_fake=20)
    probed, _ = trained(tmp_path / "probed", fashion_dir, [probe])
    assert [r["g_steps"] for r in probe.records] == [1, 2]
    for r in probe.records:
        assert all(0.0 <= r[k] <= 1.0 for k in ("d_real_acc", "d_fake_acc", "g_class_acc"))
    assert probed.generator.training and probed.discriminator.training  # modes restored
    for a, b in ((plain.generator, probed.generator), (plain.discriminator, probed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
