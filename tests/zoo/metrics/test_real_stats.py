"""Real-statistics cache: keyed by dataset, split, extractor hash, n and data; stale or corrupt -> recomputed."""

from __future__ import annotations

import dataclasses

import torch

from tests.zoo.metrics.helpers import tiny_gan
from zoo.metrics import MetricSettings, evaluate_generator
from zoo.metrics.evaluation import extract
from zoo.metrics.real_stats import RealStatsCache, cache_key, tensor_sha256

EXTRACTOR = {"name": "fake-extractor", "weights_sha256": "ab" * 32}
OTHER_EXTRACTOR = {"name": "fake-extractor", "weights_sha256": "cd" * 32}


class Counter:
    """A stand-in for the feature computation that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        flat = images.flatten(1)
        return flat[:, :8].clone(), flat[:, 8:12].clone()


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_hit_and_recompute_when_n_split_extractor_or_data_change(tmp_path):
    cache, compute = RealStatsCache(tmp_path), Counter()
    x = images(40)
    first = cache.get("Data", "test", x, EXTRACTOR, compute)
    assert compute.calls == 1 and not cache.last_hit
    again = cache.get("Data", "test", x, EXTRACTOR, compute)
    assert compute.calls == 1 and cache.last_hit
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    cache.get("Data", "test", x[:30], EXTRACTOR, compute)  # n
    assert compute.calls == 2 and not cache.last_hit
    cache.get("Data", "train", x, EXTRACTOR, compute)  # split
    assert compute.calls == 3
    cache.get("Data", "test", x, OTHER_EXTRACTOR, compute)  # extractor weights
    assert compute.calls == 4
    cache.get("Data", "test", images(40, seed=1), EXTRACTOR, compute)  # same n, different images
    assert compute.calls == 5
    cache.get("OtherData", "test", x, EXTRACTOR, compute)  # dataset
    assert compute.calls == 6
    cache.get("Data", "test", x, EXTRACTOR, compute)  # all still cached side by side
    assert compute.calls == 6 and cache.last_hit


def test_corrupt_or_truncated_file_is_recomputed_not_crashed(tmp_path):
    cache, compute = RealStatsCache(tmp_path), Counter()
    x = images(20)
    expected = cache.get("Data", "test", x, EXTRACTOR, compute)
    path = cache.path_for(cache_key("Data", "test", 20, EXTRACTOR, tensor_sha256(x)))
    for garbage in (b"not a torch file", path.read_bytes()[:100], b""):
        path.write_bytes(garbage)
        got = cache.get("Data", "test", x, EXTRACTOR, compute)
        assert not cache.last_hit
        assert torch.equal(got[0], expected[0])
    assert compute.calls == 4
    cache.get("Data", "test", x, EXTRACTOR, compute)
    assert cache.last_hit  # the recomputed entry was written back


def test_stale_entry_under_the_same_name_is_never_used(tmp_path):
    cache, compute = RealStatsCache(tmp_path), Counter()
    x = images(20)
    key = cache_key("Data", "test", 20, EXTRACTOR, tensor_sha256(x))
    stale = dict(key, extractor_sha256="ef" * 32)
    path = cache.path_for(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"key": stale, "features": torch.zeros(20, 8), "logits": torch.zeros(20, 4)}, path)
    features, _ = cache.get("Data", "test", x, EXTRACTOR, compute)
    assert compute.calls == 1 and not torch.equal(features, torch.zeros(20, 8))
    wrong_rows = {"key": key, "features": torch.zeros(19, 8), "logits": torch.zeros(19, 4)}
    torch.save(wrong_rows, path)
    cache.get("Data", "test", x, EXTRACTOR, compute)
    assert compute.calls == 2


def test_disabled_cache_always_recomputes_and_writes_nothing(tmp_path):
    cache, compute = RealStatsCache(tmp_path / "c", enabled=False), Counter()
    cache.get("Data", "test", images(10), EXTRACTOR, compute)
    cache.get("Data", "test", images(10), EXTRACTOR, compute)
    assert compute.calls == 2 and not (tmp_path / "c").exists()


def test_evaluation_uses_the_cache_and_gives_the_same_numbers(tmp_path, fashion, domain):
    cache = RealStatsCache(tmp_path)
    settings = MetricSettings(("fid", "is"), num_fake=64, num_real=96, batch_size=64)
    cold, protocol = evaluate_generator(tiny_gan(), fashion, settings, extractor=domain, cache=cache)
    assert not protocol["real_stats_cached"]
    warm, protocol = evaluate_generator(tiny_gan(), fashion, settings, extractor=domain, cache=cache)
    assert protocol["real_stats_cached"] and warm == cold
    on_train = dataclasses.replace(settings, split="train")
    _, protocol = evaluate_generator(tiny_gan(), fashion, on_train, extractor=domain, cache=cache)
    assert not protocol["real_stats_cached"]
    features, _ = extract(domain, fashion.real_samples("test", 96), 64)
    key = cache_key(
        "FashionMNISTData-1x28x28", "test", 96, domain.identity, tensor_sha256(fashion.real_samples("test", 96))
    )
    assert torch.equal(cache.load(key)[0], features)
