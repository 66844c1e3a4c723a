"""``benchmarks.began_probe``: its trace is the k the model holds after each traced D update, probing leaves the
training run bit-identical (the scoring's RNG draws and mode changes are undone), and its summary is right."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from benchmarks.began_probe import BEGANProbe, k_summary
from tests.zoo.variant_harness import tiny_fit


class KRecorder(L.Callback):
    """k after every D update, read independently of the probe."""

    def __init__(self) -> None:
        self.k: dict[int, float] = {}

    def on_train_batch_end(self, trainer, module, *args):
        self.k[int(module.d_steps)] = float(module.k)


def trained(tmp_path, fashion_dir, callbacks=()):
    model, data = tiny_fit("BEGAN", tmp_path, fashion_dir, batches=8, callbacks=callbacks)
    return model


def test_probing_during_training_leaves_the_run_bit_identical(tmp_path, fashion_dir):
    recorder = KRecorder()
    plain = trained(tmp_path / "plain", fashion_dir, [recorder])
    calls: list[int] = []

    def disruptive_score(module):  # draws from the global RNG and leaves both nets in eval mode
        calls.append(int(module.d_steps))
        module.generator.eval()
        module.discriminator.eval()
        return {"fid": float(torch.rand(())), "precision": 0.5, "recall": 0.25}

    probe = BEGANProbe(every=2, at=[3, 8], score=disruptive_score)
    probed = trained(tmp_path / "probed", fashion_dir, [probe])
    assert calls == [3, 8] and [s["d_steps"] for s in probe.scores] == [3, 8]
    assert [t["d_steps"] for t in probe.trace] == [2, 4, 6, 8]
    for t in probe.trace:
        assert t["k_now"] == recorder.k[t["d_steps"]]  # the k of the plain run after that D update
        assert {"recon_real", "recon_fake", "m_global", "k"} <= set(t)
    assert any(t["k_now"] != 0.0 for t in probe.trace), "k never moved: the trace pins nothing"
    assert probed.generator.training and probed.discriminator.training  # modes restored
    assert float(probed.k) == float(plain.k)
    for a, b in ((plain.generator, probed.generator), (plain.discriminator, probed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_k_summary_counts_the_bounds():
    trace = [{"k_now": k} for k in (0.0, -0.5, 0.25, 1.0, 0.5)]
    s = k_summary(trace)
    assert (s["k_min"], s["k_max"], s["k_final"]) == (-0.5, 1.0, 0.5)
    assert s["share_k_le_0"] == pytest.approx(2 / 5)
    assert s["share_k_lt_0"] == pytest.approx(1 / 5)
    assert s["share_k_ge_1"] == pytest.approx(1 / 5)
