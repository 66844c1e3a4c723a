"""The class-aware metrics through ``evaluate_generator`` (the path of the callback, ``gan-zoo evaluate`` and the
benchmarks), with stub conditional models whose every sample's class is known (``class_stubs``)."""

from __future__ import annotations

import pytest
import torch

from tests.zoo.metrics.class_stubs import (
    K,
    StubClassifier,
    StubConditional,
    StubData,
    StubUnconditional,
    decode,
)
from zoo.metrics.evaluation import evaluate_generator, fake_batches, fake_labels, shard
from zoo.metrics.settings import MetricSettings
from zoo.metrics.suite import parse_metrics


def settings(metrics: str, num_fake: int = 96, num_real: int = 200, batch_size: int = 10) -> MetricSettings:
    # batch_size 10 does not divide K = 4 nor num_fake: batches start mid-cycle
    return MetricSettings(metrics=metrics, num_fake=num_fake, num_real=num_real, batch_size=batch_size)


def evaluate(model, metrics: str, data=None, extractor=None, **kwargs):
    data = StubData() if data is None else data
    extractor = StubClassifier() if extractor is None else extractor
    return evaluate_generator(model, data, settings(metrics, **kwargs), extractor=extractor)


# ----------------------------------------------------------------------------------------- the fakes' labels
def test_fake_i_is_generated_with_label_i_mod_k():
    model = StubConditional()
    assert fake_labels(model, 10).tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert fake_labels(StubUnconditional(), 10) is None


@pytest.mark.parametrize(("world_size", "batch_size"), [(1, 7), (3, 5), (2, 64)])
def test_every_shard_and_batch_draws_the_labels_fake_labels_names(world_size, batch_size):
    model, num_fake = StubConditional(), 43
    labels = fake_labels(model, num_fake)
    drawn = []
    for rank in range(world_size):
        lo, hi = shard(num_fake, rank, world_size)
        images = torch.cat(list(fake_batches(model, num_fake, lo, hi, seed=0, batch_size=batch_size)))
        assert torch.equal(decode(images), labels[lo:hi])  # the classes drawn are the labels, in order
        drawn.append(images)
    single = torch.cat(list(fake_batches(model, num_fake, 0, num_fake, seed=0, batch_size=num_fake)))
    assert torch.equal(torch.cat(drawn), single)  # the same fakes however they are split


# ---------------------------------------------------------------------------------------------- class_acc
def test_a_faithful_model_has_class_accuracy_one_per_class():
    values, protocol = evaluate(StubConditional(), "class_acc")
    assert values == {"class_acc": 1.0, **{f"class_acc_{k}": 1.0 for k in range(K)}}
    block = protocol["class_aware"]
    assert block["classifier"] == "stub-classifier" and block["label_kind"] == "class" and block["num_labels"] == K
    assert block["n_fake_per_label"] == [24, 24, 24, 24]
    assert "i % num_labels" in block["definitions"]["fake_labels"]


def test_a_model_that_draws_the_wrong_classes_scores_them_per_class():
    # labels 0 and 1 draw their own class, 2 and 3 draw each other's
    values, _ = evaluate(StubConditional(class_of=[0, 1, 3, 2]), "class_acc")
    assert values["class_acc"] == 0.5
    assert [values[f"class_acc_{k}"] for k in range(K)] == [1.0, 1.0, 0.0, 0.0]


# ---------------------------------------------------------------------------------------------- class_fid
def test_per_class_fid_is_small_for_a_faithful_model_and_large_where_a_class_is_drawn_badly():
    good, _ = evaluate(StubConditional(), "class_fid,fid", num_fake=400, num_real=400, batch_size=64)
    noisy = StubConditional(noise=[0.1, 0.1, 0.4, 0.1])  # class 2 drawn with 4x the noise
    bad, _ = evaluate(noisy, "class_fid,fid", num_fake=400, num_real=400, batch_size=64)
    per_class = [good[f"class_fid_{k}"] for k in range(K)]
    assert max(per_class) < 0.01  # each class against its own reals (the classes' means are 0.5 apart: mixing
    assert good["class_fid"] == pytest.approx(sum(per_class) / K)  # them would cost ~0.3 per coordinate)
    assert good["class_fid_spread"] == pytest.approx(max(per_class) - min(per_class))
    worst = max(range(K), key=lambda k: bad[f"class_fid_{k}"])
    assert worst == 2 and bad["class_fid_2"] > 0.2 and bad["class_fid_spread"] > 0.2
    assert all(bad[f"class_fid_{k}"] == pytest.approx(good[f"class_fid_{k}"]) for k in (0, 1, 3))


# ----------------------------------------------------------------------------------------- class_diversity
def test_a_model_that_draws_one_image_per_class_has_zero_diversity():
    values, _ = evaluate(StubConditional(noise=0.0), "class_diversity")
    assert values == {"class_diversity": 0.0, **{f"class_diversity_{k}": 0.0 for k in range(K)}}
    varied, protocol = evaluate(StubConditional(noise=0.1), "class_diversity")
    # 6 features of independent noise of std 0.1: E|x - y| ~ 0.1 * sqrt(2 * 6)
    assert varied["class_diversity"] == pytest.approx(0.1 * 12**0.5, rel=0.15)
    assert "L2" in protocol["class_aware"]["definitions"]["class_diversity"]


# ----------------------------------------------------------------------------------------------- code_acc
def test_an_infogan_code_is_matched_to_the_classes_with_its_mapping_in_the_protocol():
    permutation = [2, 0, 3, 1]
    model = StubConditional("code", class_of=permutation, num_continuous=1)
    values, protocol = evaluate(model, "code_acc,class_diversity")
    assert values["code_acc"] == 1.0
    block = protocol["class_aware"]["code_acc"]
    assert block["code_to_class"] == permutation
    assert block["confusion"] == [[24 if c == permutation[k] else 0 for c in range(K)] for k in range(K)]
    assert "class_diversity_3" in values


# ------------------------------------------------------------------------------------ existing metrics kept
def test_class_aware_metrics_leave_the_other_metrics_and_the_protocol_unchanged():
    model = StubConditional()
    plain, plain_protocol = evaluate(model, "fid,kid,pr", num_fake=64, num_real=64)
    both, protocol = evaluate(model, "fid,kid,pr,class_acc,class_diversity", num_fake=64, num_real=64)
    assert {k: both[k] for k in plain} == plain
    assert "class_aware" not in plain_protocol and "class_aware" in protocol
    assert {k for k in protocol if k not in plain_protocol} == {"class_aware"}


def test_the_default_metrics_are_not_class_aware():
    assert MetricSettings().metrics == ("fid", "kid", "is", "pr")
    assert parse_metrics("fid,class_acc,code_acc") == ("fid", "class_acc", "code_acc")
    with pytest.raises(ValueError, match="unknown metric 'class_accuracy'.*'class_acc'"):
        parse_metrics("class_accuracy")


# ------------------------------------------------------------------------------------------------- errors
def test_an_unconditional_model_is_refused_naming_the_fix():
    with pytest.raises(TypeError, match=r"class_acc .*needs a conditional model \(cGAN, ACGAN.*got an unconditional"):
        evaluate(StubUnconditional(), "fid,class_acc")


def test_label_kinds_are_checked_per_metric():
    with pytest.raises(ValueError, match="class_acc needs labels that name data classes.*Use code_acc"):
        evaluate(StubConditional("code", num_continuous=1), "class_acc")
    with pytest.raises(ValueError, match="class_fid needs labels that name data classes"):
        evaluate(StubConditional("code"), "class_fid")
    with pytest.raises(ValueError, match="code_acc scores a latent categorical code.*score it with class_acc"):
        evaluate(StubConditional(), "code_acc")


def test_an_extractor_without_a_class_head_is_refused():
    with pytest.raises(ValueError, match="has none \\(no logits\\): use an extractor whose logits are the data's"):
        evaluate(StubConditional(), "class_acc", extractor=StubClassifier(logits=False))
    with pytest.raises(ValueError, match="need a classifier of StubData's 4 classes, but extractor .* gives 1008"):
        evaluate(StubConditional(), "class_acc", extractor=StubClassifier(num_logits=1008))


def test_data_without_labels_is_refused_for_the_metrics_that_need_them():
    unlabelled = StubData(labelled=False)
    with pytest.raises(ValueError, match="class_fid need the real data's class labels.*labelled datamodule"):
        evaluate(StubConditional(), "class_fid", data=unlabelled)
    values, _ = evaluate(StubConditional(), "class_diversity", data=unlabelled)  # needs no real labels
    assert "class_diversity" in values


def test_a_model_with_another_number_of_classes_than_the_data_is_refused():
    with pytest.raises(ValueError, match="draws 3 classes but StubData has 4"):
        evaluate(StubConditional(class_of=[0, 1, 2]), "class_fid")
