"""Why do the projection GAN's samples miss their class? Trace D's and G's class signal along one table cell.

    PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.projection_probe \\
        benchmarks/tables/fashion_conditional.yaml --cell projection_gan-s0 --at 250,500,1000,1500,2000

The projection discriminator (Miyato & Koyama 2018, eq. 3) is f(x, y) = psi(phi(x)) + embed(y) . phi(x). Only the
second term depends on y, so argmax_y f(x, y) = argmax_y embed(y) . phi(x) is a classifier hidden in D: the only
class signal G receives. The probe retrains one cell of a table exactly as ``benchmarks.run_table`` does (same
resolved configuration, seed and budget) and at each generator step count in ``--at`` measures:

* ``d_real_acc``: D's hidden classifier on the 10k test images against their labels. Low: D has not learned the
  classes, so G cannot be told them (the signal is missing on D's side).
* ``d_fake_acc``: the same classifier on G(z, y) against the asked y. High while ``g_class_acc`` stays low: G
  satisfies D's class term without making the class (D's class term is fooled).
* ``g_class_acc``: the fashion-domain classifier (test accuracy 0.906) on G(z, y) against y: the table's class
  accuracy, here on ``--n-fake`` fakes with the probe's own z.

The probe runs D and G in eval mode on its own z and labels (a local ``torch.Generator``) and restores the
training mode, so training draws exactly what it draws without the probe: the final values belong to the same
trained model as the table's cell (its class accuracy is reproduced up to the different z). Writes
``<results>/projection_probe/<cell>.json`` (with the protocol) and ``<results>/projection_probe.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from benchmarks.run_table import RESULTS, import_class, train_cell
from benchmarks.table_spec import resolve_named_cell

PROBE_SEED = 1234  # z and labels of the probe's fakes (independent of the training RNG)


def hidden_class_scores(discriminator: Any, images: Tensor, batch: int = 1000) -> Tensor:
    """embed(y) . phi(x) for every class y: (N, K); its argmax is the projection D's class prediction."""
    classes = torch.arange(discriminator.num_classes, device=images.device)
    embed = discriminator.embed(classes)  # (K, features), spectrally normalized when D is
    return torch.cat([discriminator.phi(chunk) @ embed.T for chunk in images.split(batch)])


def accuracy(predicted: Tensor, labels: Tensor) -> float:
    return float((predicted == labels).float().mean())


def per_class_accuracy(predicted: Tensor, labels: Tensor, num_classes: int) -> list[float]:
    return [accuracy(predicted[labels == k], labels[labels == k]) for k in range(num_classes)]


class ProjectionProbe(Callback):
    """A Lightning callback: at the listed generator step counts, measure D's hidden classifier and G's classes."""

    def __init__(self, at: list[int], real: Tensor, real_labels: Tensor, classifier: Any, n_fake: int) -> None:
        super().__init__()
        self.at, self.real, self.real_labels = sorted(set(at)), real, real_labels
        self.classifier, self.n_fake = classifier, n_fake
        self.records: list[dict[str, Any]] = []

    def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
        step = int(module.g_steps)
        if step in self.at and not any(r["g_steps"] == step for r in self.records):
            self.records.append(self.measure(module))

    @torch.no_grad()
    def measure(self, module: Any) -> dict[str, Any]:
        modes = {name: net.training for name, net in (("g", module.generator), ("d", module.discriminator))}
        module.generator.eval()
        module.discriminator.eval()  # no power iteration: the spectral-norm vectors are left as training left them
        try:
            k = module.num_classes
            rng = torch.Generator().manual_seed(PROBE_SEED)
            labels = torch.arange(self.n_fake) % k
            z = module.sample_z(self.n_fake, generator=rng)  # the model's own prior, from the probe's generator
            fakes = torch.cat([module.generate_from(zc, yc) for zc, yc in zip(z.split(500), labels.split(500))])
            d_real = hidden_class_scores(module.discriminator, self.real).argmax(1)
            d_fake = hidden_class_scores(module.discriminator, fakes).argmax(1)
            g_class = torch.cat([self.classifier(f)[1].argmax(1) for f in fakes.split(500)])
        finally:
            module.generator.train(modes["g"])
            module.discriminator.train(modes["d"])
        return {
            "g_steps": int(module.g_steps),
            "d_steps": int(module.d_steps),
            "d_real_acc": accuracy(d_real, self.real_labels),
            "d_fake_acc": accuracy(d_fake, labels),
            "g_class_acc": accuracy(g_class, labels),
            "d_agrees_with_classifier_on_fakes": accuracy(d_fake, g_class),
            "d_real_acc_per_class": per_class_accuracy(d_real, self.real_labels, k),
            "g_class_acc_per_class": per_class_accuracy(g_class, labels, k),
        }


def probe_cell(spec_path: str, cell_id: str, at: list[int], n_fake: int, results_root: Path) -> dict[str, Any]:
    from benchmarks.protocol import protocol
    from zoo.metrics.fashion_domain import FASHION_DOMAIN_TEST_ACCURACY, FashionDomainExtractor

    spec, resolved = resolve_named_cell(spec_path, cell_id, results_root)
    if resolved["variant"] != "ProjectionGAN":
        raise SystemExit(f"{cell_id} is a {resolved['variant']} cell: the probe reads a projection discriminator.")
    budget = int(resolved["budget"]["g_steps"])
    at = sorted({a for a in at if 0 < a <= budget} | {budget})
    run_protocol = protocol(command=" ".join(["python -m benchmarks.projection_probe", *sys.argv[1:]]))
    data = import_class(resolved["data"]["class_path"])(**resolved["data"].get("init_args", {}))
    images, labels = data.load_split("test")
    real = images.float() / 127.5 - 1
    classifier = FashionDomainExtractor()
    probe = ProjectionProbe(at, real, labels, classifier, n_fake)
    start = time.perf_counter()
    _, _, training = train_cell(resolved, extra_callbacks=[probe])
    table_cell = results_root / spec["name"] / f"{cell_id}.json"
    table_value = json.loads(table_cell.read_text())["metrics"].get("class_acc") if table_cell.is_file() else None
    return {
        "schema": "projection_probe/1",
        "table": spec["name"],
        "cell": cell_id,
        "resolved": resolved,
        "training": training,
        "probe": {
            "n_real": len(real),
            "real_split": "test",
            "n_fake": n_fake,
            "z_seed": PROBE_SEED,
            "labels": "0, 1, ..., K-1 cycled",
            "classifier": classifier.identity,
            "classifier_test_accuracy": FASHION_DOMAIN_TEST_ACCURACY,
        },
        "table_class_acc": table_value,
        "records": probe.records,
        "protocol": run_protocol,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }


def render(results_dir: Path) -> str:
    lines = [
        "# Projection GAN: D's hidden classifier and G's classes along training",
        "",
        "Made by `python -m benchmarks.projection_probe` (see its docstring). D's hidden classifier is",
        "argmax_y embed(y) . phi(x) of the projection discriminator (Miyato & Koyama 2018, eq. 3), on the 10k test",
        "images and on G(z, y) against y; the classifier is the fashion-domain classifier (test accuracy 0.906) on",
        "G(z, y) against y; agreement: D's and the classifier's predictions on the same fakes. Chance is 0.1.",
        "",
    ]
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        hw = r["protocol"].get("hardware", {})
        lines += [
            f"## {r['table']} / {r['cell']}",
            "",
            f"Table cell's class accuracy (5k fakes, z seed 0): {r['table_class_acc']}. Probe: {r['probe']['n_fake']} "
            f"fakes, z seed {r['probe']['z_seed']}; git `{r['protocol'].get('git_sha')}`; "
            f"{hw.get('cpu_model')}, {hw.get('cpu_capability')}, {hw.get('torch_threads')} threads; "
            f"{r['wall_time_s']:.0f} s.",
            "",
            "| G steps | D steps | D hidden classifier, real | D hidden classifier, fakes | Classifier on fakes "
            "| D agrees with classifier on fakes |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for rec in r["records"]:
            lines.append(
                f"| {rec['g_steps']} | {rec['d_steps']} | {rec['d_real_acc']:.3f} | {rec['d_fake_acc']:.3f} "
                f"| {rec['g_class_acc']:.3f} | {rec['d_agrees_with_classifier_on_fakes']:.3f} |"
            )
        last = r["records"][-1]
        lines += [
            "",
            "Per class at the last step (class 0..9): D on real "
            + ", ".join(f"{v:.2f}" for v in last["d_real_acc_per_class"])
            + "; classifier on fakes "
            + ", ".join(f"{v:.2f}" for v in last["g_class_acc_per_class"])
            + ".",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.projection_probe", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec holding the cell, e.g. benchmarks/tables/fashion_conditional.yaml")
    parser.add_argument("--cell", required=True, help="cell id, e.g. projection_gan-s0")
    parser.add_argument("--at", default="250,500,1000,1500,2000", help="generator step counts to probe at")
    parser.add_argument("--n-fake", type=int, default=5000, help="fakes per probe point (labels cycle)")
    parser.add_argument("--results", default=str(RESULTS), help="results root (default benchmarks/results)")
    parser.add_argument("--render-only", action="store_true", help="only re-render the Markdown")
    args = parser.parse_args(argv)
    root = Path(args.results)
    out_dir = root / "projection_probe"
    if not args.render_only:
        result = probe_cell(args.spec, args.cell, [int(a) for a in args.at.split(",")], args.n_fake, root)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{args.cell}.json").write_text(json.dumps(result, indent=1) + "\n")
        for rec in result["records"]:
            print({k: v for k, v in rec.items() if not k.endswith("per_class")})
    (root / "projection_probe.md").write_text(render(out_dir) + "\n")
    print(f"rendered {root / 'projection_probe.md'}")


if __name__ == "__main__":
    main()
