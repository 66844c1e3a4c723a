"""``benchmarks/compare_gan_tf_reference.py`` without TensorFlow: its IDX reader, and its render puts a run's trace
beside the zoo's probe trace and its scored samples beside the zoo's cells (the training itself needs TensorFlow,
which the zoo does not depend on)."""

from __future__ import annotations

import gzip
import json

import numpy as np

from benchmarks import compare_gan_tf_reference as reference


def test_idx_images_are_read_as_stored(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in images.shape)
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(header + images.tobytes())
    assert np.array_equal(reference.load_idx_images(str(tmp_path / "x.gz")), images)


def test_render_sets_the_trace_beside_the_zoos_and_the_scores_beside_its_cells(tmp_path, monkeypatch):
    zoo = tmp_path / "zoo"
    (zoo / "bn_gradient_probe").mkdir(parents=True)
    (zoo / "fashion_lucic").mkdir()
    probe = {"trace": [{"d_steps": 150, "fake_std": 0.1234}, {"d_steps": 300, "fake_std": 0.0567}]}
    (zoo / "bn_gradient_probe" / "gan_ns-s0.json").write_text(json.dumps(probe))
    evaluation = {"extractor": "inception-v3-compat", "n_fake": 10000, "extractor_sha256": "ab" * 32}
    metrics = {"fid": 55.26, "kid": 0.0442, "precision": 0.486, "recall": 0.101}
    cell = {"cell": "gan_ns-s0", "evaluation": evaluation, "metrics": metrics}
    (zoo / "fashion_lucic" / "gan_ns-s0.json").write_text(json.dumps(cell))
    monkeypatch.setattr(reference, "ZOO_RESULTS", zoo)
    out = tmp_path / "compare_gan_tf_reference"
    out.mkdir()
    row = {"d_steps": 150, "fake_std": 0.0999, "real_std": 0.55, "d_real": 0.6, "d_fake": 0.4}
    row |= {"g_loss_separate": 0.9, "g_loss_joint": 0.5}
    protocol = {"git": "abc", "tensorflow": "2.x", "keras": "3.x", "cpu_model": "cpu", "threads": 1, "command": "c"}
    run = {"settings": {"seed": 0}, "trace": [row], "protocol": protocol, "wall_time_s": 12.0}
    (out / "ns_gan-s0.json").write_text(json.dumps(run))
    scored = {"metrics": {"fid": 57.5, "kid": 0.05, "precision": 0.5, "recall": 0.09}, "protocol": evaluation}
    (out / "ns_gan-s0-d15625-inception-v3-compat.metrics.json").write_text(json.dumps(scored))
    text = reference.render(out).read_text()
    assert "| 150 | 0.0999 | 0.5500 | 0.600 | 0.400 | 0.900 | 0.500 | 0.1234 |" in text
    assert "| TF ns_gan-s0 | 15625 | inception-v3-compat | 57.50 | 0.0500 | 0.500 | 0.090 | 10000 |" in text
    assert "| zoo `gan_ns-s0` | 15625 | inception-v3-compat | 55.26 | 0.0442 | 0.486 | 0.101 | 10000 |" in text
