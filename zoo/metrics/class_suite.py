"""The class-aware metrics inside an evaluation: what they need, and ``ClassAwareSuite``, which gathers the fakes'
features, logits and labels across DDP ranks and computes them with ``zoo.metrics.class_aware``.

==================  =============================  =======================================================
metric              values                         needs
==================  =============================  =======================================================
``class_acc``       ``class_acc`` (all fakes),     ``label_kind`` "class"; the extractor's logits classify
                    ``class_acc_<k>`` per class    the data's classes (its class head, e.g. fashion-domain)
``class_fid``       ``class_fid`` (mean over       ``label_kind`` "class"; the real data's labels
                    classes), ``class_fid_spread``
                    (max - min), ``class_fid_<k>``
``class_diversity`` ``class_diversity`` (mean),    any conditional model (InfoGAN: per code value); mean
                    ``class_diversity_<k>``        pairwise L2 distance of the extractor's features
``code_acc``        ``code_acc``; the code ->      ``label_kind`` "code" (InfoGAN); the extractor's class
                    class mapping and confusion    head
                    matrix go in the protocol
==================  =============================  =======================================================

A fake's label is the one it was generated with: fake i of the fixed set of ``num_fake`` gets label ``i % K``
(``zoo.metrics.evaluation.fake_labels``). The real images are the first ``num_real`` of the split, with their
labels (``real_labels``). ``class_acc`` is refused for InfoGAN (its code k is not class k: ``code_acc`` finds the
mapping), ``code_acc`` for class-conditional models (label k asks for class k: ``class_acc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from zoo.conditioning import require_conditional
from zoo.metrics.class_aware import class_accuracy, intra_class_diversity, match_codes, per_class_fid
from zoo.metrics.feature_extractor import FeatureExtractor
from zoo.metrics.suite import CLASS_METRICS

#: the label kinds (``zoo.conditioning.LABEL_KINDS``) each class-aware metric accepts
LABEL_KINDS_OF = {
    "class_acc": ("class",),
    "class_fid": ("class",),
    "class_diversity": ("class", "code"),
    "code_acc": ("code",),
}
#: the metrics that classify the fakes with the extractor's logits
NEEDS_CLASSIFIER = ("class_acc", "code_acc")
#: the metrics that compare with (or classify into) the real data's classes
NEEDS_DATA_CLASSES = ("class_acc", "class_fid", "code_acc")

#: how the fakes are labelled and the metrics defined (recorded in the protocol)
DEFINITIONS = {
    "fake_labels": "fake i of the fixed set is generated with label i % num_labels (labels cycle 0..K-1)",
    "class_acc": "fraction of fakes the extractor's classifier (logits argmax) puts in the class they were asked for",
    "class_fid": "FID of class-k fakes vs class-k reals, mean over classes; class_fid_spread = max - min",
    "class_diversity": "mean L2 distance in the extractor's feature space over pairs of distinct fakes of one label",
    "code_acc": "accuracy of the best one-to-one code -> class mapping (Hungarian algorithm on the confusion matrix)",
}


def class_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """The class-aware metrics among ``metrics``."""
    return tuple(m for m in metrics if m in CLASS_METRICS)


def data_classes(datamodule: Any) -> int:
    """How many classes the datamodule's labels have (0: unlabelled, e.g. CelebA or a two-domain set)."""
    return int(getattr(datamodule, "num_classes", 0) or 0)


def require_class_aware_model(model: nn.Module, metrics: Sequence[str]) -> None:
    """Refuse class-aware metrics for a model that cannot have them: an unconditional one (``TypeError``, from
    ``zoo.conditioning.require_conditional``) or one whose ``label_kind`` the metric does not take (``ValueError``
    naming the metric to use instead)."""
    names = class_metrics(metrics)
    if not names:
        return
    them = "them" if len(names) > 1 else "it"
    require_conditional(model, f"{', '.join(names)} (class-aware: drop {them} for an unconditional model)")
    variant, kind = type(model).__name__, model.label_kind
    for name in names:
        if kind in LABEL_KINDS_OF[name]:
            continue
        if name == "code_acc":
            raise ValueError(
                f"code_acc scores a latent categorical code (InfoGAN, label_kind 'code'), but {variant} has label_kind "
                f"{kind!r}: its label k asks for class k, so score it with class_acc."
            )
        raise ValueError(
            f"{name} needs labels that name data classes (label_kind 'class'), but {variant} has label_kind {kind!r}: "
            "its code is a class only up to a permutation. Use code_acc (which finds the code -> class mapping) "
            "and class_diversity instead."
        )


def require_class_aware(model: nn.Module, metrics: Sequence[str], extractor: FeatureExtractor, datamodule: Any) -> None:
    """Refuse, before any image is drawn, class-aware metrics that cannot be computed: the model's
    (``require_class_aware_model``), an extractor without a class head, data without labels or with another number
    of classes than the model's labels (``ValueError``, naming the fix)."""
    require_class_aware_model(model, metrics)
    names = class_metrics(metrics)
    if not names:
        return
    variant, kind, num_labels = type(model).__name__, model.label_kind, int(model.num_classes)
    classes = data_classes(datamodule)
    needing_data = [n for n in names if n in NEEDS_DATA_CLASSES]
    if needing_data and not has_labels(datamodule):
        raise ValueError(
            f"{', '.join(needing_data)} need the real data's class labels, but {type(datamodule).__name__} has none "
            "(num_classes = 0): evaluate on a labelled datamodule (FashionMNISTData, MNISTData, CIFAR10Data), or keep "
            "only class_diversity."
        )
    if kind == "class" and needing_data and num_labels != classes:
        raise ValueError(
            f"{variant} draws {num_labels} classes but {type(datamodule).__name__} has {classes}: label k must ask for "
            "data class k, so evaluate it on the data it was trained on."
        )
    needing_classifier = [n for n in names if n in NEEDS_CLASSIFIER]
    if needing_classifier and not extractor.provides_logits:
        raise ValueError(
            f"{', '.join(needing_classifier)} classify the fakes with the extractor's class head, but extractor "
            f"{extractor.name!r} has none (no logits): use an extractor whose logits are the data's classes "
            "(fashion-domain for Fashion-MNIST: --extractor fashion-domain), or drop them."
        )


def require_class_head(metrics: Sequence[str], num_logits: int, extractor: FeatureExtractor, datamodule: Any) -> None:
    """``ValueError`` when ``class_acc`` / ``code_acc`` are asked for but the extractor's logits (``num_logits`` of
    them, seen on the real images) are not the data's classes (e.g. Inception's 1008 ImageNet classes)."""
    needing = [n for n in class_metrics(metrics) if n in NEEDS_CLASSIFIER]
    classes = data_classes(datamodule)
    if needing and num_logits != classes:
        raise ValueError(
            f"{', '.join(needing)} need a classifier of {type(datamodule).__name__}'s {classes} classes, but extractor "
            f"{extractor.name!r} gives {num_logits} logits: use an extractor trained on this data (fashion-domain for "
            "Fashion-MNIST), or drop them."
        )


def has_labels(datamodule: Any) -> bool:
    """Whether the datamodule has class labels to read (``num_classes`` > 0 and ``real_labels`` or ``split``)."""
    readable = callable(getattr(datamodule, "real_labels", None)) or callable(getattr(datamodule, "split", None))
    return data_classes(datamodule) > 0 and readable


def real_labels(datamodule: Any, split: str, n: int) -> Tensor:
    """The class labels of the first ``n`` images of ``split`` (the images ``real_samples(split, n)`` returns): the
    datamodule's ``real_labels(split, n)`` if it has one, else the labels of its loaded split."""
    reader = getattr(datamodule, "real_labels", None)
    if callable(reader):
        labels = reader(split, n)
    elif has_labels(datamodule):
        labels = datamodule.split(split)[1][:n]
    else:
        raise ValueError(
            f"{type(datamodule).__name__} has no class labels: per-class metrics need a labelled datamodule "
            "(FashionMNISTData, MNISTData, CIFAR10Data)."
        )
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or len(labels) != n or labels.is_floating_point():
        raise ValueError(
            f"{type(datamodule).__name__}'s labels of split {split!r} must be {n} integer class indices, got shape "
            f"{tuple(labels.shape)} ({labels.dtype})."
        )
    return labels.long()


class ClassAwareSuite(Metric):
    """The requested class-aware metrics (``CLASS_METRICS``) of a conditional model's fakes, DDP-synced.

    ``set_real(features, labels)`` takes the whole real set (identical on every rank, so not synced);
    ``update(features, logits, labels)`` this rank's fakes with the labels they were generated with; ``compute()``
    gathers the fakes of all ranks and returns ``(values, details)``: ``values`` the floats to log (see the module
    docstring), ``details`` what the protocol records (definitions, per-label counts, InfoGAN's mapping).
    """

    full_state_update = False

    def __init__(self, metrics: Sequence[str], num_labels: int, label_kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.names = class_metrics(metrics)
        self.num_labels = int(num_labels)
        self.label_kind = label_kind
        self.real_features: Tensor | None = None
        self.real_labels: Tensor | None = None
        self.add_state("fake_features", [], dist_reduce_fx="cat")
        self.add_state("fake_logits", [], dist_reduce_fx="cat")
        self.add_state("fake_labels", [], dist_reduce_fx="cat")

    def set_real(self, features: Tensor, labels: Tensor | None) -> None:
        self.real_features = features.float().cpu()
        self.real_labels = None if labels is None else labels.long().cpu()

    def update(self, features: Tensor, logits: Tensor, labels: Tensor) -> None:
        if len(labels) != len(features):
            raise ValueError(f"{len(features)} fakes were given {len(labels)} labels: one label per fake.")
        self.fake_features.append(features.float())
        self.fake_logits.append(logits.float())
        self.fake_labels.append(labels.long().to(features.device))

    def compute(self) -> tuple[dict[str, float], dict[str, Any]]:
        features, labels = dim_zero_cat(self.fake_features).cpu(), dim_zero_cat(self.fake_labels).cpu()
        predicted = dim_zero_cat(self.fake_logits).cpu().argmax(dim=1)
        k = self.num_labels
        values: dict[str, float] = {}
        details: dict[str, Any] = {
            "num_labels": k,
            "label_kind": self.label_kind,
            "n_fake_per_label": torch.bincount(labels, minlength=k).tolist(),
            "definitions": {name: DEFINITIONS[name] for name in ("fake_labels", *self.names)},
        }
        if "class_acc" in self.names:
            acc = class_accuracy(labels, predicted, k)
            values["class_acc"] = acc.overall
            values.update({f"class_acc_{c}": v for c, v in enumerate(acc.per_class)})
        if "class_fid" in self.names:
            if self.real_features is None or self.real_labels is None:
                raise ValueError("class_fid needs the real features and labels: call set_real(features, labels).")
            fid = per_class_fid(self.real_features, self.real_labels, features, labels, k)
            values["class_fid"], values["class_fid_spread"] = fid.mean, fid.spread
            values.update({f"class_fid_{c}": v for c, v in enumerate(fid.per_class)})
        if "class_diversity" in self.names:
            diversity = intra_class_diversity(features, labels, k)
            values["class_diversity"] = diversity.mean
            values.update({f"class_diversity_{c}": v for c, v in enumerate(diversity.per_class)})
        if "code_acc" in self.names:
            num_classes = int(dim_zero_cat(self.fake_logits).shape[1])
            match = match_codes(labels, predicted, k, num_classes)
            values["code_acc"] = match.accuracy
            details["code_acc"] = {
                "code_to_class": [match.mapping.get(c) for c in range(k)],
                "confusion": match.confusion.tolist(),
            }
        return values, details
