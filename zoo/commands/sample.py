"""``gan-zoo sample``: a grid of samples from a checkpoint."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from callbacks.sample_grid import SampleGrid
from zoo.checkpoints import load_variant


def sample_command(argv: Sequence[str]) -> None:
    """``gan-zoo sample``: write a grid of samples from a checkpoint."""
    parser = argparse.ArgumentParser(prog="gan-zoo sample", description=sample_command.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint written by gan-zoo fit")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--num", type=int, default=64, help="number of samples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = load_variant(args.ckpt)
    SampleGrid(num_samples=args.num, seed=args.seed).write(model, args.out)
    print(f"wrote {args.num} samples of {type(model).__name__} to {args.out}")
