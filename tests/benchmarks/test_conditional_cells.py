"""Table cells of conditional variants: class-aware metrics become columns with known directions, their per-class
values go to the protocol, and the ``fashion_conditional`` spec asks each row for metrics its label kind allows."""

from __future__ import annotations

import lightning as L

from benchmarks.cell_evaluation import PER_CLASS_KEY, evaluate_cell
from benchmarks.cell_schema import METRICS
from benchmarks.table_spec import ROOT, load_spec, plan
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import get_variant

EVALUATION = {
    "kind": "images",
    "extractor": "fashion-domain",
    "metrics": ["fid", "class_acc", "class_fid", "class_diversity"],
    "n_fake": 40,
    "n_real": 60,
    "split": "test",
    "seed": 0,
    "cache": False,
}


def test_a_conditional_cell_keeps_class_metrics_as_columns_and_per_class_values_in_the_protocol(tmp_path, fashion_dir):
    L.seed_everything(0, verbose=False)
    model, data = tiny_model("CGAN"), tiny_data("CGAN", fashion_dir)
    tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=2, max_epochs=1).fit(model, data)
    metrics, protocol = evaluate_cell(model, data, EVALUATION)
    assert set(metrics) == {"fid", "class_acc", "class_fid", "class_fid_spread", "class_diversity"}
    assert all(name in METRICS for name in metrics)  # the renderer knows every column's direction
    per_class = protocol["per_class"]
    for name in ("class_acc", "class_fid", "class_diversity"):
        assert [k for k in per_class if k.startswith(f"{name}_") and k[len(name) + 1 :].isdigit()] == [
            f"{name}_{k}" for k in range(10)
        ]
    assert all(PER_CLASS_KEY.fullmatch(k) for k in per_class)
    assert min(per_class[f"class_acc_{k}"] for k in range(10)) <= metrics["class_acc"]
    assert metrics["class_acc"] <= max(per_class[f"class_acc_{k}"] for k in range(10))
    spread = max(per_class[f"class_fid_{k}"] for k in range(10)) - min(per_class[f"class_fid_{k}"] for k in range(10))
    assert abs(metrics["class_fid_spread"] - spread) < 1e-6


def test_the_fashion_conditional_spec_asks_each_row_for_metrics_its_label_kind_allows(tmp_path):
    spec = load_spec(ROOT / "benchmarks" / "tables" / "fashion_conditional.yaml")
    cells = {c["cell"]: c["resolved"] for c in plan(spec, tmp_path, None)}
    assert len(cells) == len(spec["variants"]) * len(spec["seeds"])
    for resolved in cells.values():
        metrics = resolved["evaluation"]["metrics"]
        assert all(name in METRICS for name in metrics if name != "pr")  # pr: the precision and recall columns
        kind = get_variant(resolved["variant"]).label_kind
        assert ("code_acc" in metrics) == (kind == "code")
        assert ("class_acc" in metrics) == (kind == "class")
        assert "class_fid" in metrics or kind == "code"
