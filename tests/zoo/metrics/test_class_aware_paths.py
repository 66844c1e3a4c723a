"""The class-aware metrics through the ``GenerativeMetrics`` callback and ``gan-zoo evaluate`` (stub models)."""

from __future__ import annotations

import json

import pytest

from callbacks.metrics import GenerativeMetrics
from tests.conftest import tiny_trainer
from tests.zoo.metrics.class_stubs import K, StubClassifier, StubConditional, StubData, StubUnconditional
from zoo.commands import evaluate as evaluate_module
from zoo.commands.cli import main
from zoo.metrics import extractors
from zoo.metrics.settings import MetricSettings

SETTINGS = MetricSettings(
    metrics="fid,class_acc,class_fid,class_diversity",
    num_fake=80,
    num_real=200,
    batch_size=16,
    extractor="fashion-domain",
)


def test_the_callback_logs_class_aware_metrics_and_writes_their_protocol(tmp_path):
    callback = GenerativeMetrics(SETTINGS, extractor=StubClassifier(), use_cache=False)
    trainer = tiny_trainer(tmp_path, max_steps=1, callbacks=[callback])
    trainer.fit(StubConditional(), StubData())
    latest = callback.history[-1]
    assert latest["val/class_acc"] == 1.0 and all(latest[f"val/class_acc_{k}"] == 1.0 for k in range(K))
    assert {"val/fid", "val/class_fid", "val/class_fid_spread", "val/class_diversity", "val/class_fid_3"} <= set(latest)
    assert float(trainer.callback_metrics["val/class_acc"]) == 1.0
    data = json.loads((tmp_path / "metrics.json").read_text())["generative_metrics"]
    assert data["protocol"]["class_aware"]["n_fake_per_label"] == [20] * K
    assert data["latest"]["val/class_acc_2"] == 1.0


def test_the_callback_refuses_class_aware_metrics_for_an_unconditional_model_before_training(tmp_path):
    callback = GenerativeMetrics(SETTINGS, extractor=StubClassifier(), use_cache=False)
    trainer = tiny_trainer(tmp_path, max_steps=1, callbacks=[callback])
    with pytest.raises(TypeError, match="needs a conditional model"):
        trainer.fit(StubUnconditional(), StubData())
    assert trainer.global_step == 0 and not callback.history


@pytest.fixture()
def stub_checkpoint(tmp_path, monkeypatch):
    """``gan-zoo evaluate`` loading a stub model (``--ckpt`` names a file that stands for it) on ``StubData``, with the
    stub classifier registered as extractor ``stub-classifier``."""
    models = {"code": StubConditional("code", class_of=[1, 3, 0, 2], num_continuous=1), "class": StubConditional()}
    models["unconditional"] = StubUnconditional()
    monkeypatch.setattr(evaluate_module, "load_variant", lambda path: models[path.rsplit("/", 1)[-1].split(".")[0]])
    monkeypatch.setattr(evaluate_module, "make_datamodule", lambda name, data_dir, shape: StubData())
    monkeypatch.setitem(extractors._REGISTRY, "stub-classifier", StubClassifier)
    for name in models:
        (tmp_path / f"{name}.ckpt").write_bytes(b"stub")
    return tmp_path


def evaluate_cli(root, name, metrics):
    out = root / f"{name}.json"
    main(
        [
            "evaluate",
            f"--ckpt={root / name}.ckpt",
            f"--metrics={metrics}",
            "--extractor=stub-classifier",
            "--num-fake=80",
            "--num-real=200",
            "--no-cache",
            f"--out={out}",
        ]
    )
    return json.loads(out.read_text())


def test_gan_zoo_evaluate_scores_an_infogan_code_and_records_the_mapping(stub_checkpoint):
    result = evaluate_cli(stub_checkpoint, "code", "code_acc,class_diversity")
    assert result["metrics"]["code_acc"] == 1.0
    assert result["protocol"]["class_aware"]["code_acc"]["code_to_class"] == [1, 3, 0, 2]
    assert result["protocol"]["class_aware"]["label_kind"] == "code"


def test_gan_zoo_evaluate_scores_a_class_conditional_model(stub_checkpoint):
    result = evaluate_cli(stub_checkpoint, "class", "fid,class_acc")
    assert result["metrics"]["class_acc"] == 1.0 and "fid" in result["metrics"]


@pytest.mark.parametrize(
    ("name", "metrics", "message"),
    [
        ("unconditional", "fid,class_fid", r"class_fid .*needs a conditional model"),
        ("class", "code_acc", "code_acc scores a latent categorical code"),
        ("code", "class_acc", "class_acc needs labels that name data classes"),
    ],
)
def test_gan_zoo_evaluate_refuses_class_aware_metrics_a_model_cannot_have(stub_checkpoint, name, metrics, message):
    with pytest.raises(SystemExit, match=f"gan-zoo evaluate: {message}"):
        evaluate_cli(stub_checkpoint, name, metrics)
