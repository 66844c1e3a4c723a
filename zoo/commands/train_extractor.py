"""Train the ``fashion-domain`` feature extractor: ``python -m zoo.commands.train_extractor`` (or ``make extractor``).

Trains ``FashionDomainNet`` on the Fashion-MNIST train split on CPU (a few minutes on 2 cores), evaluates
it on the test split, writes the state dict to ``zoo/metrics/weights/fashion_domain.pt`` (< 2 MB) plus a
JSON record next to it, and prints the file's SHA-256 and the test accuracy. After retraining, copy the
printed SHA-256 into ``FASHION_DOMAIN_SHA256`` in ``zoo/metrics/extractors.py`` (loading checks it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from datamodules.base import to_unit_range
from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from zoo.metrics.domain_net import FashionDomainNet
from zoo.metrics.extractors import sha256_file

DEFAULT_OUT = Path(__file__).resolve().parent / "weights" / "fashion_domain.pt"


@torch.no_grad()
def accuracy(net: FashionDomainNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    net.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        x = to_unit_range(images[start : start + batch_size])
        correct += int((net(x)[1].argmax(1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


def train(data_dir: str, epochs: int, batch_size: int, lr: float, seed: int) -> tuple[FashionDomainNet, dict]:
    torch.manual_seed(seed)
    data = FashionMNISTData(data_dir=data_dir)
    train_x, train_y = data.split("train")
    test_x, test_y = data.split("test")
    net = FashionDomainNet()
    steps_per_epoch = len(train_x) // batch_size
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=g)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            x = to_unit_range(train_x[idx])
            flip = torch.rand(len(x), generator=g) < 0.5  # horizontal flips: clothes are left/right symmetric
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(net(x)[1], train_y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, {time.perf_counter() - start:.0f} s", flush=True)
    record = {
        "test_accuracy": accuracy(net, test_x, test_y),
        "train_seconds": round(time.perf_counter() - start, 1),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "torch": torch.__version__,
    }
    return net.eval(), record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zoo.commands.train_extractor", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=DEBIAN_DIR, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="weights file to write")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    net, record = train(args.data_dir, args.epochs, args.batch_size, args.lr, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, out)
    record["sha256"] = sha256_file(out)
    record["bytes"] = out.stat().st_size
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out} ({record['bytes']} bytes)")
    print(f"test accuracy: {record['test_accuracy']:.4f}")
    print(f"sha256: {record['sha256']}")


if __name__ == "__main__":
    main()
