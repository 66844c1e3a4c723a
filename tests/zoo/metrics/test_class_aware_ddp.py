"""The class-aware metrics under DDP: 2 gloo ranks, each scoring its share of the fakes, give the numbers of one
process (the fakes' labels travel with their features when the ranks' shares are gathered)."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.zoo.metrics.class_stubs import StubClassifier, StubConditional, StubData
from zoo.metrics.evaluation import evaluate_generator
from zoo.metrics.settings import MetricSettings

# 91 fakes: uneven shares (46 + 45), each starting mid-cycle of the 4 labels
SETTINGS = MetricSettings(metrics="fid,class_acc,class_fid,class_diversity", num_fake=91, num_real=200, batch_size=10)


def model() -> StubConditional:
    return StubConditional(class_of=[0, 1, 3, 2], noise=[0.1, 0.2, 0.1, 0.3])  # imperfect: nothing is trivially 1 or 0


def _rank(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        values, protocol = evaluate_generator(
            model(), StubData(), SETTINGS, extractor=StubClassifier(), rank=rank, world_size=world_size
        )
    finally:
        dist.destroy_process_group()
    with open(f"{out}.{rank}", "w") as f:
        json.dump({"values": values, "class_aware": protocol["class_aware"]}, f)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_give_the_class_aware_numbers_of_one_process(tmp_path):
    out = str(tmp_path / "rank")
    mp.spawn(_rank, args=(2, free_port(), out), nprocs=2, join=True)
    single, protocol = evaluate_generator(model(), StubData(), SETTINGS, extractor=StubClassifier())
    assert 0 < single["class_acc"] < 1
    for rank in range(2):
        with open(f"{out}.{rank}") as f:
            ddp = json.load(f)
        assert ddp["class_aware"]["n_fake_per_label"] == protocol["class_aware"]["n_fake_per_label"] == [23, 23, 23, 22]
        assert set(ddp["values"]) == set(single)
        for key, value in single.items():
            assert ddp["values"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
