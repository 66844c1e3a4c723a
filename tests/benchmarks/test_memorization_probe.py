"""``benchmarks.memorization_probe``: nearest-neighbour distances by brute force; a generator that copies its
training images scores ratio 0 and all near copies, one that samples the distribution ratio ~1 and ~no copies."""

from __future__ import annotations

import torch

from benchmarks.memorization_probe import compare, nearest_distances


def test_nearest_distances_match_a_brute_force_search():
    torch.manual_seed(0)
    queries, references = torch.randn(7, 3), torch.randn(5, 3)
    expected = [min(float((q - r).norm()) for r in references) for q in queries]
    found = nearest_distances(queries, references, chunk=2)
    assert found.dtype == torch.float64
    torch.testing.assert_close(found, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-6)


def test_copies_of_the_training_set_and_fresh_samples_are_told_apart():
    torch.manual_seed(0)
    dim, n_ref = 8, 400
    train, held_out, reals = torch.randn(n_ref, dim), torch.randn(n_ref, dim), torch.randn(600, dim)
    copies = train[torch.randint(0, n_ref, (600,))] + 1e-4 * torch.randn(600, dim)
    copied = compare(copies, reals, train, held_out)
    assert copied["ratio"] < 0.01 and copied["near_copies"] == 1.0
    fresh = compare(torch.randn(600, dim), reals, train, held_out)
    assert 0.9 < fresh["ratio"] < 1.1 and fresh["near_copies"] < 0.05
    assert 0.9 < fresh["real_ratio"] < 1.1 and copied["real_ratio"] == fresh["real_ratio"]
    # half copies, half fresh: the median sits between, and about half are near copies
    mixed = compare(torch.cat([copies[:300], torch.randn(300, dim)]), reals, train, held_out)
    assert copied["ratio"] < mixed["ratio"] < fresh["ratio"] and 0.45 < mixed["near_copies"] < 0.6
