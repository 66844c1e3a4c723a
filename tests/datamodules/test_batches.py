"""In-memory batches: each sample once per epoch across ranks, seeded permutations, exact mid-epoch resume."""

from __future__ import annotations

import itertools

import torch

from datamodules import InMemoryBatches

DATA = (torch.arange(100), torch.arange(100) * 10)


def collect(batches, n=None):
    """The sample batches of one pass, or of its first ``n`` batches (pulling exactly ``n``)."""
    return [x for x, _ in itertools.islice(batches, n)]


def test_every_sample_once_per_epoch_across_ranks():
    seen = []
    lengths = set()
    for rank in range(4):
        batches = InMemoryBatches(DATA, batch_size=5, seed=1, rank=rank, world_size=4)
        lengths.add(len(batches))
        seen += torch.cat(collect(batches)).tolist()
    assert lengths == {5}
    assert sorted(seen) == list(range(100))


def test_permutation_is_function_of_seed_and_epoch():
    a = InMemoryBatches(DATA, batch_size=10, seed=7)
    b = InMemoryBatches(DATA, batch_size=10, seed=7)
    epoch0_a, epoch1_a = torch.cat(collect(a)), torch.cat(collect(a))
    assert torch.equal(epoch0_a, torch.cat(collect(b)))
    assert not torch.equal(epoch0_a, epoch1_a)
    assert not torch.equal(epoch0_a, torch.cat(collect(InMemoryBatches(DATA, batch_size=10, seed=8))))
    assert torch.equal(epoch1_a, torch.cat(collect(b)))


def test_labels_follow_samples():
    for x, y in InMemoryBatches(DATA, batch_size=10, seed=0):
        assert torch.equal(y, x * 10)


def test_resume_mid_epoch_continues_where_it_stopped():
    full = InMemoryBatches(DATA, batch_size=10, seed=2)
    reference = collect(full) + collect(full)
    first = InMemoryBatches(DATA, batch_size=10, seed=2)
    head = collect(first, n=3)
    state = first.state_dict()
    resumed = InMemoryBatches(DATA, batch_size=10, seed=2)
    resumed.load_state_dict(state)
    tail = collect(resumed) + collect(resumed)
    assert all(torch.equal(a, b) for a, b in zip(head + tail, reference[: 3 + len(tail)]))
    assert len(head + tail) == len(reference)


def test_state_after_last_batch_starts_next_epoch():
    batches = InMemoryBatches(DATA, batch_size=10, seed=2)
    it = iter(batches)
    first_epoch = [next(it)[0] for _ in range(10)]  # generator paused after the last batch
    resumed = InMemoryBatches(DATA, batch_size=10, seed=2)
    resumed.load_state_dict(batches.state_dict())
    assert torch.equal(torch.cat(collect(resumed)), resumed.epoch_indices(1))
    assert torch.equal(torch.cat(first_epoch), batches.epoch_indices(0))
