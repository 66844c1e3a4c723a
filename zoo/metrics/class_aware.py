"""Class-aware metrics of conditional GANs, as pure functions of features, logits and labels (plain torch + scipy).

* ``class_accuracy``: does label k give class k? A classifier's predicted class of each fake against the label the
  fake was generated with: overall and per-class accuracy (Odena et al. 2017, ACGAN, Sec. 4.1 score samples with an
  Inception classifier this way).
* ``per_class_fid``: FID of the fakes of class k against the real images of class k, for every k; the mean and the
  spread (max - min) over classes. A model that draws every class but one well has a good global FID and a bad
  per-class maximum.
* ``intra_class_diversity``: the mean L2 distance in feature space between two distinct fakes of one label, per
  label and averaged; 0 when a label always gives the same image (intra-class mode collapse).
* ``match_codes``: InfoGAN's categorical code is a class only up to a permutation (Chen et al. 2016, Sec. 7.1 report
  the error of the best matching): the code -> class confusion matrix, the one-to-one mapping that maximises the
  matched samples (the Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``) and its accuracy.

Labels are int tensors of shape (N,), features (N, D), classes in ``[0, num_classes)``. The DDP-synced accumulator
that feeds these from an evaluation is ``zoo.metrics.class_suite``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from zoo.metrics.suite import frechet_distance


@dataclass(frozen=True)
class ClassAccuracy:
    """``overall``: the fraction of all samples classified as the class they were asked for; ``per_class[k]``: that
    fraction among the samples asked for class k (NaN for a class never asked for)."""

    overall: float
    per_class: tuple[float, ...]


@dataclass(frozen=True)
class PerClassFID:
    """``per_class[k]``: FID of the fakes of class k against the reals of class k; ``mean`` over classes; ``spread``:
    max - min over classes (the gap between the best and the worst drawn class)."""

    per_class: tuple[float, ...]
    mean: float
    spread: float


@dataclass(frozen=True)
class Diversity:
    """``per_class[k]``: mean pairwise L2 feature distance among the samples of label k; ``mean`` over labels."""

    per_class: tuple[float, ...]
    mean: float


@dataclass(frozen=True)
class CodeMatch:
    """``confusion[c, k]``: how many samples of code c were classified as class k; ``mapping``: code -> class, one
    to one, maximising the matched samples; ``accuracy``: the fraction of samples whose class is their code's mapped
    class (a code left unmapped, when there are more codes than classes, counts as wrong)."""

    confusion: Tensor
    mapping: dict[int, int]
    accuracy: float


def _labels(name: str, labels: Tensor, n: int, num_classes: int) -> Tensor:
    """``labels`` as int64 on the CPU, checked: shape (n,), values in [0, num_classes)."""
    if not isinstance(labels, Tensor) or labels.dim() != 1 or len(labels) != n:
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"{name} must be a 1-D tensor of {n} class indices, got {shape}.")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"{name} must be integer class indices, got dtype {labels.dtype}.")
    labels = labels.long().cpu()
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes - 1}] ({num_classes} classes), got {labels.unique()}.")
    return labels


def _features(name: str, features: Tensor) -> Tensor:
    if not isinstance(features, Tensor) or features.dim() != 2:
        shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
        raise ValueError(f"{name} must be feature vectors of shape (N, D), got {shape}.")
    return features.detach().cpu()


def class_accuracy(labels: Tensor, predicted: Tensor, num_classes: int) -> ClassAccuracy:
    """Accuracy of ``predicted`` classes (a classifier's argmax on the fakes) against the ``labels`` the fakes were
    generated with: overall and per class (``ClassAccuracy``)."""
    labels = _labels("labels", labels, len(labels), num_classes)
    predicted = _labels("predicted", predicted, len(labels), torch.iinfo(torch.int64).max)  # any class index
    if not len(labels):
        raise ValueError("class_accuracy needs at least one sample.")
    correct = (labels == predicted).double()
    asked = torch.bincount(labels, minlength=num_classes).double()
    hits = torch.bincount(labels, weights=correct, minlength=num_classes)
    per_class = hits / asked  # 0 / 0 = NaN for a class never asked for
    return ClassAccuracy(float(correct.mean()), tuple(float(v) for v in per_class))


def per_class_fid(
    real_features: Tensor, real_labels: Tensor, fake_features: Tensor, fake_labels: Tensor, num_classes: int
) -> PerClassFID:
    """FID (``zoo.metrics.suite.frechet_distance``, the computation of the global ``fid``) of the fakes of each
    class against the reals of the same class; ``ValueError`` when a class has fewer than 2 real or 2 fake samples
    (a covariance needs 2). Spread = max - min over classes."""
    real_features, fake_features = _features("real_features", real_features), _features("fake_features", fake_features)
    real_labels = _labels("real_labels", real_labels, len(real_features), num_classes)
    fake_labels = _labels("fake_labels", fake_labels, len(fake_features), num_classes)
    values = []
    for k in range(num_classes):
        real_k, fake_k = real_features[real_labels == k], fake_features[fake_labels == k]
        if min(len(real_k), len(fake_k)) < 2:
            raise ValueError(
                f"per-class FID of class {k} needs at least 2 real and 2 fake samples of it, got {len(real_k)} real "
                f"and {len(fake_k)} fake: raise num_real / num_fake (num_fake >= 2 x {num_classes} classes)."
            )
        values.append(frechet_distance(real_k, fake_k))
    return PerClassFID(tuple(values), sum(values) / len(values), max(values) - min(values))


def intra_class_diversity(features: Tensor, labels: Tensor, num_classes: int) -> Diversity:
    """Per label k: the mean Euclidean (L2) distance in feature space over all pairs of distinct samples of label k
    (``torch.pdist``, float64); the mean over labels. ``ValueError`` when a label has fewer than 2 samples."""
    features = _features("features", features)
    labels = _labels("labels", labels, len(features), num_classes)
    values = []
    for k in range(num_classes):
        group = features[labels == k].double()
        if len(group) < 2:
            raise ValueError(
                f"intra-class diversity of label {k} needs at least 2 samples of it, got {len(group)}: raise num_fake "
                f"(num_fake >= 2 x {num_classes} labels)."
            )
        values.append(float(torch.pdist(group).mean()))
    return Diversity(tuple(values), sum(values) / len(values))


def code_confusion(codes: Tensor, predicted: Tensor, num_codes: int, num_classes: int) -> Tensor:
    """(num_codes, num_classes) int64 counts: ``[c, k]`` = samples generated with code c and classified as k."""
    codes = _labels("codes", codes, len(codes), num_codes)
    predicted = _labels("predicted", predicted, len(codes), num_classes)
    return torch.bincount(codes * num_classes + predicted, minlength=num_codes * num_classes).view(
        num_codes, num_classes
    )


def match_codes(codes: Tensor, predicted: Tensor, num_codes: int, num_classes: int) -> CodeMatch:
    """The best one-to-one code -> class mapping (Hungarian algorithm on the confusion matrix, maximising the samples
    matched) and its accuracy (``CodeMatch``)."""
    confusion = code_confusion(codes, predicted, num_codes, num_classes)
    total = int(confusion.sum())
    if not total:
        raise ValueError("match_codes needs at least one sample.")
    rows, cols = linear_sum_assignment(confusion.numpy(), maximize=True)
    mapping = {int(c): int(k) for c, k in zip(rows, cols)}
    matched = sum(int(confusion[c, k]) for c, k in mapping.items())
    return CodeMatch(confusion, mapping, matched / total)
