"""Hand-written BEGAN and EBGAN training loops on the 2-D ring, independent of the zoo's training code.

Why: on the ring table (``benchmarks/tables/ring.yaml``) the zoo's BEGAN and EBGAN cover 0 of 8 modes on every
seed. This script asks whether that is a defect of the zoo (its schedule, losses, k control, nets wiring) or what
these objectives do on this toy with these settings: it re-implements both algorithms in a few lines of plain
torch (its own ring sampler, its own nets of the same sizes, its own losses) with the settings of
``configs/{began,ebgan}/ring.yaml``, at the table's budget, and scores them as the table does (2,500 samples, a mode
is covered by >= 1 sample within 3 std of its center). Nothing here imports ``zoo``.

* BEGAN (Berthelot et al. 2017, Section 3.4): L(v) = mean |v - D(v)|; L_D = L(x) - k_t L(G(z_D)); L_G = L(G(z_G));
  k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1); z ~ U[-1, 1]^2.
* EBGAN-PT (Zhao et al. 2017, eqs. 1, 2, 13, 14): D(x) = ||Dec(Enc(x)) - x||; L_D = D(x) + [m - D(G(z))]^+;
  L_G = D(G(z)) + lambda_PT f_PT(Enc(G(z))); z ~ N(0, I).

Run:  PYTHONPATH=. OMP_NUM_THREADS=1 python -m benchmarks.ring_reference
Writes ``benchmarks/results/ring_reference.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.protocol import protocol

RESULTS = Path(__file__).resolve().parent / "results"
RADIUS, STD, MODES = 2.0, 0.02, 8
CENTERS = torch.stack(
    [
        RADIUS * torch.cos(torch.arange(MODES) * 2 * math.pi / MODES),
        RADIUS * torch.sin(torch.arange(MODES) * 2 * math.pi / MODES),
    ],
    1,
)

#: the settings of configs/began/ring.yaml and configs/ebgan/ring.yaml, and the table's budget (2,000 G steps)
SETTINGS: dict[str, dict[str, Any]] = {
    "BEGAN": {"gamma": 0.5, "lambda_k": 1e-3, "code": 8, "lr": 1e-3, "betas": (0.9, 0.999), "batch": 512, "hidden": 64},
    "EBGAN": {"margin": 1.0, "pt": 0.1, "code": 8, "lr": 1e-3, "betas": (0.9, 0.999), "batch": 512, "hidden": 64},
}
VARIANTS = {"BEGAN": "began", "EBGAN": "ebgan"}


def ring_batch(n: int) -> Tensor:
    return CENTERS[torch.randint(0, MODES, (n,))] + STD * torch.randn(n, 2)


def generator(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))  # fmt: skip


def autoencoder(hidden: int, code: int) -> tuple[nn.Module, nn.Module]:
    encoder = nn.Sequential(
        nn.Linear(2, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, code)
    )
    return encoder, nn.Sequential(nn.Linear(code, hidden), nn.ELU(), nn.Linear(hidden, 2))


def coverage(samples: Tensor) -> dict[str, float]:
    """The ring table's toy metrics: modes with >= 1 sample within 3 std, and the fraction of such samples."""
    dist = torch.cdist(samples, CENTERS)
    near, nearest = dist.min(1)
    good = near < 3 * STD
    return {
        "modes": len(set(nearest[good].tolist())),
        "high_quality_fraction": float(good.float().mean()),
        "sample_std": float(samples.std(0).mean()),
        "mean_radius": float(samples.norm(dim=1).mean()),
    }


def train_began(s: dict[str, Any], steps: int) -> tuple[nn.Module, dict[str, float]]:
    g, (enc, dec) = generator(s["hidden"]), autoencoder(s["hidden"], s["code"])
    opt_g = torch.optim.Adam(g.parameters(), s["lr"], betas=s["betas"])
    opt_d = torch.optim.Adam([*enc.parameters(), *dec.parameters()], s["lr"], betas=s["betas"])
    loss = lambda v: (v - dec(enc(v))).abs().mean()  # noqa: E731
    z = lambda n: torch.rand(n, 2) * 2 - 1  # noqa: E731
    k = 0.0
    for _ in range(steps):
        real_loss = loss(ring_batch(s["batch"]))
        with torch.no_grad():
            fake = g(z(s["batch"]))
        opt_d.zero_grad()
        (real_loss - k * loss(fake)).backward()
        opt_d.step()
        fake_loss = loss(g(z(s["batch"])))
        opt_g.zero_grad()
        fake_loss.backward()
        opt_g.step()
        k = min(max(k + s["lambda_k"] * (s["gamma"] * real_loss.item() - fake_loss.item()), 0.0), 1.0)
    return g, {"k": k, "recon_real": real_loss.item(), "recon_fake": fake_loss.item()}


def pulling_away(codes: Tensor) -> Tensor:
    unit = F.normalize(codes, dim=1)
    cos2 = (unit @ unit.T) ** 2
    n = len(codes)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


def train_ebgan(s: dict[str, Any], steps: int) -> tuple[nn.Module, dict[str, float]]:
    g, (enc, dec) = generator(s["hidden"]), autoencoder(s["hidden"], s["code"])
    opt_g = torch.optim.Adam(g.parameters(), s["lr"], betas=s["betas"])
    opt_d = torch.optim.Adam([*enc.parameters(), *dec.parameters()], s["lr"], betas=s["betas"])

    def energy(v: Tensor) -> tuple[Tensor, Tensor]:
        h = enc(v)
        return (dec(h) - v).norm(dim=1), h

    for _ in range(steps):
        real_energy, _ = energy(ring_batch(s["batch"]))
        with torch.no_grad():
            fake = g(torch.randn(s["batch"], 2))
        fake_energy, _ = energy(fake)
        opt_d.zero_grad()
        (real_energy.mean() + F.relu(s["margin"] - fake_energy).mean()).backward()
        opt_d.step()
        gen_energy, codes = energy(g(torch.randn(s["batch"], 2)))
        pt = pulling_away(codes)
        opt_g.zero_grad()
        (gen_energy.mean() + s["pt"] * pt).backward()
        opt_g.step()
    return g, {"energy_real": real_energy.mean().item(), "energy_fake": fake_energy.mean().item(), "pt": pt.item()}


TRAIN = {"BEGAN": train_began, "EBGAN": train_ebgan}


def zoo_cells(variant: str) -> list[dict[str, Any]]:
    """The zoo's own ring cells for the same variant (committed table results), for the comparison column."""
    cells = []
    for path in sorted((RESULTS / "ring").glob(f"{VARIANTS[variant]}-s*.json")):
        metrics = json.loads(path.read_text())["metrics"]
        cells.append(
            {"cell": path.stem, "modes": metrics.get("modes_covered"), "hq": metrics.get("high_quality_fraction")}
        )
    return cells


def render(result: dict[str, Any]) -> str:
    lines = [
        "# Ring: hand-written BEGAN and EBGAN loops (independent of the zoo's training code)",
        "",
        f"Settings: `configs/{{began,ebgan}}/ring.yaml`; {result['g_steps']} generator steps (the table's budget); "
        f"{result['n_samples']} samples scored as the ring table scores them. "
        "Generated by `benchmarks/ring_reference.py`.",
        "",
        "| variant | seed | modes (of 8) | high-quality fraction | sample std | mean radius | final state "
        "| zoo cell: modes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        state = ", ".join(f"{k} {v:.4g}" for k, v in row["final"].items())
        zoo = next((c["modes"] for c in row["zoo_cells"] if c["cell"].endswith(f"s{row['seed']}")), "n/a")
        lines.append(
            f"| {row['variant']} | {row['seed']} | {row['modes']} | {row['high_quality_fraction']:.3f} | "
            f"{row['sample_std']:.3f} | {row['mean_radius']:.2f} | {state} | {zoo} |"
        )
    lines += ["", f"Git SHA `{result['protocol']['git_sha']}`, wall time {result['wall_time_s']:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--g-steps", type=int, default=2000)
    parser.add_argument("--n-samples", type=int, default=2500)
    parser.add_argument("--out", type=Path, default=RESULTS / "ring_reference.json")
    args = parser.parse_args(argv)
    start, rows = time.time(), []
    for variant, settings in SETTINGS.items():
        for seed in args.seeds:
            torch.manual_seed(seed)
            g, final = TRAIN[variant](settings, args.g_steps)
            z = torch.rand(args.n_samples, 2) * 2 - 1 if variant == "BEGAN" else torch.randn(args.n_samples, 2)
            with torch.no_grad():
                scores = coverage(g(z))
            rows.append({"variant": variant, "seed": seed, **scores, "final": final, "zoo_cells": zoo_cells(variant)})
            print(variant, seed, scores, flush=True)
    settings = {name: {**s, "betas": list(s["betas"])} for name, s in SETTINGS.items()}
    result = {
        "rows": rows,
        "g_steps": args.g_steps,
        "n_samples": args.n_samples,
        "threshold_std": 3.0,
        "settings": settings,
        "protocol": protocol(seeds=args.seeds),
        "wall_time_s": time.time() - start,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(render(result))


if __name__ == "__main__":
    main()
