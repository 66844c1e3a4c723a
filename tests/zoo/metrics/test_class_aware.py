"""The class-aware metric functions (``zoo.metrics.class_aware``) against hand-made features and labels."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from tests.zoo.metrics.test_frechet import fid_of
from zoo.metrics.class_aware import (
    class_accuracy,
    code_confusion,
    intra_class_diversity,
    match_codes,
    per_class_fid,
)


# ------------------------------------------------------------------------------------------- class accuracy
def test_a_perfect_classifier_scores_one_overall_and_per_class():
    labels = torch.arange(12) % 3
    acc = class_accuracy(labels, labels.clone(), 3)
    assert acc.overall == 1.0 and acc.per_class == (1.0, 1.0, 1.0)


def test_per_class_accuracy_counts_each_class_on_its_own():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 0, 0, 1, 1, 0, 5, 7])  # class 0: 3/4, class 1: 1/2, class 2: 0/2 (any index)
    acc = class_accuracy(labels, predicted, 4)
    assert acc.overall == pytest.approx(4 / 8)
    assert acc.per_class[:3] == pytest.approx((0.75, 0.5, 0.0))
    assert math.isnan(acc.per_class[3])  # never asked for


def test_class_accuracy_of_a_classifier_off_by_one_is_zero():
    labels = torch.arange(20) % 5
    assert class_accuracy(labels, (labels + 1) % 5, 5).overall == 0.0


def test_class_accuracy_checks_its_inputs():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        class_accuracy(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match="predicted must be a 1-D tensor of 2"):
        class_accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 2]), 3)
    with pytest.raises(ValueError, match="integer class indices"):
        class_accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 3)


# ------------------------------------------------------------------------------------------- per-class FID
def blobs(n_per_class: int, means: list[float], seed: int, dim: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian features, class k centred on ``means[k]`` in every coordinate; labels in a shuffled order."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(len(means)).repeat_interleave(n_per_class)
    labels = labels[torch.randperm(len(labels), generator=g)]
    features = torch.tensor(means)[labels, None] + torch.randn(len(labels), dim, generator=g, dtype=torch.float64)
    return features, labels


def test_per_class_fid_of_identical_sets_is_zero():
    features, labels = blobs(200, [0.0, 3.0, -2.0], seed=0)
    fid = per_class_fid(features, labels, features.clone(), labels.clone(), 3)
    assert all(abs(v) < 1e-6 for v in fid.per_class)
    assert abs(fid.mean) < 1e-6 and abs(fid.spread) < 1e-6


def test_per_class_fid_compares_each_class_with_the_same_class_only():
    real, real_labels = blobs(200, [0.0, 4.0, -4.0], seed=1)
    fake = real.clone()
    fake[real_labels == 1] += 0.5  # only class 1 drawn off: a mean shift of 0.5 in 5 coordinates
    fid = per_class_fid(real, real_labels, fake, real_labels.clone(), 3)
    assert fid.per_class[0] == pytest.approx(0.0, abs=1e-6) and fid.per_class[2] == pytest.approx(0.0, abs=1e-6)
    assert fid.per_class[1] == pytest.approx(5 * 0.25, rel=1e-6)
    assert fid.mean == pytest.approx(5 * 0.25 / 3, rel=1e-6)
    assert fid.spread == pytest.approx(5 * 0.25, rel=1e-6)  # spread = max - min


def test_per_class_fid_is_the_suites_fid_on_each_class():
    real, real_labels = blobs(150, [0.0, 2.0], seed=2, dim=4)
    fake, fake_labels = blobs(120, [0.3, 1.0], seed=3, dim=4)
    fid = per_class_fid(real, real_labels, fake, fake_labels, 2)
    for k in range(2):  # the global FID implementation (MetricSuite's), restricted to class k
        assert fid.per_class[k] == pytest.approx(fid_of(real[real_labels == k], fake[fake_labels == k]), rel=1e-9)
    # mixing the classes (all fakes against class-k reals) would be far larger
    assert fid_of(real[real_labels == 0], fake) > 3 * fid.per_class[0]


def test_per_class_fid_needs_two_samples_of_every_class():
    real, real_labels = blobs(10, [0.0, 1.0], seed=4)
    fake, fake_labels = real[:11], real_labels[:11].clone()
    fake_labels[:] = 0
    fake_labels[0] = 1
    with pytest.raises(ValueError, match="class 1 needs at least 2 real and 2 fake samples of it, got 10 real and 1"):
        per_class_fid(real, real_labels, fake, fake_labels, 2)


# ------------------------------------------------------------------------------------- intra-class diversity
def test_identical_features_have_zero_diversity():
    features = torch.tensor([[1.0, 2.0]] * 3 + [[5.0, 5.0]] * 3)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    diversity = intra_class_diversity(features, labels, 2)
    assert diversity.per_class == (0.0, 0.0) and diversity.mean == 0.0


def test_diversity_is_the_mean_l2_distance_over_distinct_pairs_of_one_class():
    # class 0: a 3-4-5 right triangle (pair distances 3, 4, 5); class 1: two points 2 apart; class 2's points are
    # far from the others, which must not count
    features = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [10.0, 10.0], [10.0, 12.0], [100.0, 0.0]])
    features = torch.cat([features, torch.tensor([[100.0, 1.0]])])
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    diversity = intra_class_diversity(features, labels, 3)
    assert diversity.per_class == pytest.approx((4.0, 2.0, 1.0))
    assert diversity.mean == pytest.approx(7 / 3)


def test_diversity_needs_two_samples_per_label():
    with pytest.raises(ValueError, match="label 1 needs at least 2 samples of it, got 1"):
        intra_class_diversity(torch.zeros(3, 2), torch.tensor([0, 0, 1]), 2)


# ----------------------------------------------------------------------------------------- InfoGAN code match
def test_confusion_matrix_counts_code_class_pairs():
    codes = torch.tensor([0, 0, 1, 1, 1, 2])
    predicted = torch.tensor([2, 2, 0, 0, 1, 1])
    assert code_confusion(codes, predicted, 3, 3).tolist() == [[0, 0, 2], [2, 1, 0], [0, 1, 0]]


@pytest.mark.parametrize("permutation", [(2, 0, 3, 1), (1, 0, 2, 3), (3, 2, 1, 0)])
def test_a_permuted_code_is_recovered_with_accuracy_one(permutation):
    codes = torch.arange(40) % 4
    predicted = torch.tensor(permutation)[codes]  # code c always draws class permutation[c]
    match = match_codes(codes, predicted, 4, 4)
    assert match.mapping == dict(enumerate(permutation))
    assert match.accuracy == 1.0
    assert torch.equal(match.confusion, torch.eye(4, dtype=torch.long)[list(permutation)] * 10)


def test_the_matching_maximises_the_matched_samples_one_to_one():
    # greedy per code would send codes 0 and 1 both to class 0; the best one-to-one mapping is 0->1, 1->0, 2->2
    confusion = torch.tensor([[6, 5, 0], [9, 0, 1], [0, 0, 4]])
    codes = torch.cat([torch.full((int(confusion[c].sum()),), c) for c in range(3)])
    predicted = torch.cat([torch.arange(3).repeat_interleave(confusion[c]) for c in range(3)])
    match = match_codes(codes, predicted, 3, 3)
    assert torch.equal(match.confusion, confusion)
    best = max(
        sum(int(confusion[c, p[c]]) for c in range(3)) for p in itertools.permutations(range(3))
    )  # brute force over all mappings
    assert match.mapping == {0: 1, 1: 0, 2: 2}
    assert match.accuracy == pytest.approx(best / int(confusion.sum())) == pytest.approx(18 / 25)


def test_more_codes_than_classes_leave_a_code_unmapped_and_its_samples_wrong():
    codes = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([1, 1, 0, 0, 0, 1])  # code 2 is a coin flip between the classes codes 0 and 1 took
    match = match_codes(codes, predicted, 3, 2)
    assert match.mapping == {0: 1, 1: 0} and match.accuracy == pytest.approx(4 / 6)
