"""Checkpoints written by earlier versions still load (``tests/fixtures/legacy_checkpoints``, made before the
package was layered) and their nets compute what they computed when they were saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from zoo import get_variant, list_variants
from zoo.checkpoints import load_variant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_checkpoints"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["checkpoints"]


def test_every_variant_has_a_legacy_checkpoint_or_is_newer():
    missing = set(EXPECTED) - set(list_variants())
    assert not missing, f"legacy checkpoints of variants that are no longer registered: {missing}"


def outputs(name: str, model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.translate(x, "AtoB") if name == "CycleGAN" else model.generator(x)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("loader", ["load_variant", "load_from_checkpoint"])
def test_legacy_checkpoint_loads_and_computes_the_same(name, loader):
    case = EXPECTED[name]
    path = FIXTURES / case["file"]
    if loader == "load_variant":
        model = load_variant(path)
    else:
        model = get_variant(name).load_from_checkpoint(path, map_location="cpu", weights_only=True).eval()
    assert type(model).__name__ == name
    x = torch.tensor(case["probe_input"])
    torch.testing.assert_close(outputs(name, model, x), torch.tensor(case["output"]), rtol=1e-5, atol=1e-6)
    if loader == "load_variant":  # load_variant restores our own counters from the checkpoint
        assert {"d_steps": model.d_steps, "g_steps": model.g_steps} == case["counters"]
