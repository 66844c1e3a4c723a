"""``evaluate_images``: external samples score exactly as a generator's own samples do; bad input is refused."""

from __future__ import annotations

import pytest
import torch

from tests.zoo.metrics.helpers import SyntheticImages, tiny_gan
from zoo.metrics import MetricSettings, evaluate_generator, evaluate_images
from zoo.sampling import fixed_z, generate_batches

SETTINGS = MetricSettings(metrics="fid,kid,pr", num_fake=64, num_real=64, batch_size=16, kid_subset_size=32)


@pytest.fixture
def data() -> SyntheticImages:
    module = SyntheticImages(n=64)
    module.setup("fit")
    return module


def test_a_generators_samples_score_as_the_generator_does(data):
    model = tiny_gan()
    images = torch.cat(list(generate_batches(model.generator, fixed_z(model, 64, SETTINGS.seed), 16)))
    from_model, model_protocol = evaluate_generator(model, data, SETTINGS)
    from_images, protocol = evaluate_images(images, data, SETTINGS)
    assert from_images == pytest.approx(from_model, rel=1e-6, abs=1e-9)
    assert protocol["generator_weights"] == "external images" and protocol["n_fake"] == 64
    assert protocol["extractor_sha256"] == model_protocol["extractor_sha256"]


def test_the_real_split_against_itself_scores_zero_fid_and_a_constant_image_does_not(data):
    real = data.real_samples("test", 64)  # float in [-1, 1]
    values, _ = evaluate_images(real, data, SETTINGS)
    assert values["fid"] == pytest.approx(0.0, abs=1e-3)
    assert values["precision"] == 1.0 and values["recall"] == 1.0
    black = torch.full_like(real, -1.0)  # the synthetic reals are uniform noise: a constant image is far from them
    far = evaluate_images(black, data, SETTINGS)[0]
    assert far["fid"] > 1.0 and far["recall"] == 0.0


def test_all_images_are_scored_not_num_fake(data):
    model = tiny_gan()
    images = torch.cat(list(generate_batches(model.generator, fixed_z(model, 40, 0), 16)))
    _, protocol = evaluate_images(images, data, SETTINGS)
    assert protocol["n_fake"] == 40


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(8, 1, 28, 28, dtype=torch.uint8), "u / 127.5 - 1"),
        (torch.zeros(8, 28, 28), "float tensor"),
        (torch.full((8, 1, 28, 28), 2.0), r"\[-1, 1\]"),
        (torch.zeros(1, 1, 28, 28), "at least 2"),
    ],
)
def test_bad_images_are_refused_with_the_fix(data, images, message):
    with pytest.raises(ValueError, match=message):
        evaluate_images(images, data, SETTINGS)


def test_class_aware_metrics_are_refused(data):
    with pytest.raises(ValueError, match="class-aware"):
        evaluate_images(torch.zeros(8, 1, 28, 28), data, MetricSettings(metrics="fid,class_acc", num_real=64))
