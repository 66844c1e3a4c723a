"""The package's layers (../shared/DESIGN.md, "One picture"): arrows point down only.

    zoo.commands  ->  callbacks  ->  zoo core (models, losses, regularizers, nets, metrics, ...)
          |                              ^
          +------------>  datamodules ---+ (zoo.validation only)

Every import statement in the packages is read with ``ast`` (function-level imports included), so a wrong
arrow fails here whether or not a test happens to execute it; fresh interpreters then check what importing a
datamodule, a callback or ``zoo`` actually loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "datamodules", "callbacks")
#: plain-torch parts of the core: testable against closed forms, no Lightning
NO_LIGHTNING = ("zoo.losses", "zoo.losses_autoencoding", "zoo.regularizers", "zoo.nets", "zoo.metrics", "zoo.sampling")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}: relative import; the package uses absolute imports only")
    return names


MODULES = {module_name(p): imports_of(p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def layer(module: str) -> str | None:
    """The layer a module belongs to (``None``: third-party or standard library)."""
    if module == "zoo.commands" or module.startswith("zoo.commands."):
        return "commands"
    top = module.split(".")[0]
    return {"zoo": "core", "datamodules": "datamodules", "callbacks": "callbacks", "benchmarks": "benchmarks"}.get(top)


#: which layers each layer may import (itself included)
ALLOWED = {
    "core": {"core"},
    "datamodules": {"datamodules", "core"},
    "callbacks": {"callbacks", "core"},
    "commands": {"commands", "callbacks", "datamodules", "core"},
}


def test_the_modules_were_found():
    assert {"zoo.models.base", "zoo.metrics.evaluation", "callbacks.metrics", "datamodules.fashion_mnist"} <= set(
        MODULES
    )
    assert len(MODULES) > 40


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_only(module):
    here = layer(module)
    wrong = sorted(name for name in MODULES[module] if layer(name) not in (None, *ALLOWED[here]))
    assert not wrong, f"{module} ({here} layer) imports {wrong}; it may import only {sorted(ALLOWED[here])}"


def test_datamodules_use_only_the_core_utilities():
    for module, names in MODULES.items():
        if layer(module) == "datamodules":
            core = sorted(n for n in names if layer(n) == "core" and not n.startswith("zoo.validation"))
            assert not core, f"{module} imports {core}: datamodules know nothing of models (zoo.validation only)"


def names_a_variant(name: str) -> bool:
    """``zoo.models...``, ``zoo.strategies`` or a class re-exported by ``zoo`` (``from zoo import GAN``)."""
    parts = name.split(".")
    return parts[:2] in (["zoo", "models"], ["zoo", "strategies"]) or (
        len(parts) == 2 and parts[0] == "zoo" and parts[1][:1].isupper()
    )


def test_callbacks_reach_models_only_through_their_interface():
    for module, names in MODULES.items():
        if layer(module) == "callbacks":
            variants = sorted(filter(names_a_variant, names))
            assert not variants, f"{module} imports {variants}: callbacks talk to a model through generate/generator"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(NO_LIGHTNING)))
def test_the_plain_torch_core_knows_nothing_of_lightning(module):
    lightning = sorted(n for n in MODULES[module] if n.split(".")[0] in {"lightning", "pytorch_lightning"})
    assert not lightning, f"{module} imports {lightning}: losses, regularizers, nets and metrics are plain torch"


def test_no_cycle_between_layers():
    edges = {(layer(m), layer(n)) for m, names in MODULES.items() for n in names if layer(n) not in (None, layer(m))}
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, seen: frozenset = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert not [a for a in graph if reaches(a, a)], f"layer cycle in {sorted(edges)}"


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("statement", ["import datamodules", "import callbacks", "import zoo", "import zoo.metrics"])
def test_importing_data_callbacks_or_the_core_loads_no_variant(statement):
    loaded = loaded_after(statement)
    assert "zoo.models" not in loaded and "zoo.strategies" not in loaded, statement
    assert not {m for m in loaded if m.startswith("zoo.commands")}, statement


def test_the_public_api_still_resolves():
    loaded = loaded_after(
        "from zoo import GAN, CycleGAN, GANDDPStrategy, list_variants; assert len(list_variants()) >= 8"
    )
    assert "zoo.models" in loaded and "lightning.pytorch.strategies" in loaded
