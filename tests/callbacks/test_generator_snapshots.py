"""``GeneratorSnapshots`` keeps the generator (parameters and batch-norm buffers) exactly as it was at each chosen
step count, as plain tensors, and refuses settings that would keep nothing."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from callbacks import GeneratorSnapshots, load_snapshot
from callbacks.generator_snapshots import snapshot_path
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN


def test_snapshots_hold_the_generator_at_each_chosen_step(tmp_path, fashion_dir):
    seen = {}

    class Copy(L.Callback):  # runs after GeneratorSnapshots (callbacks run in order): the independent record
        def on_train_batch_end(self, trainer, pl_module, *args):
            seen[pl_module.d_steps] = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}

    model = GAN(latent_dim=8, width=8)
    snapshots = GeneratorSnapshots(tmp_path / "snaps", at=[6, 2], counter="d_steps")
    trainer = tiny_trainer(tmp_path, max_steps=12, callbacks=[snapshots, Copy()])  # 6 D + 6 G optimizer steps
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["d_steps2.pt", "d_steps6.pt"]
    for step in (2, 6):
        kept = load_snapshot(snapshot_path(tmp_path / "snaps", "d_steps", step))
        assert kept["d_steps"] == step and kept["g_steps"] == step
        assert kept["generator"].keys() == seen[step].keys()
        assert any("running_var" in name for name in kept["generator"])  # batch-norm statistics are kept too
        for name, tensor in kept["generator"].items():
            assert torch.equal(tensor, seen[step][name]), (step, name)
    final = load_snapshot(snapshot_path(tmp_path / "snaps", "d_steps", 6))["generator"]
    for name, tensor in model.generator.state_dict().items():
        assert torch.equal(final[name], tensor), name
    early = load_snapshot(snapshot_path(tmp_path / "snaps", "d_steps", 2))["generator"]
    assert any(not torch.equal(early[k], final[k]) for k in final)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at": [], "counter": "d_steps"}, "at must name"),
        ({"at": [0], "counter": "d_steps"}, "at must name"),
        ({"at": [5], "counter": "epochs"}, "counter must be one of"),
    ],
)
def test_settings_that_keep_nothing_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GeneratorSnapshots(tmp_path, **kwargs)
