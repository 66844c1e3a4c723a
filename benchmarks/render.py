"""Render a table's cell JSONs (written by ``benchmarks.run_table``) as Markdown.

    python -m benchmarks.render benchmarks/results/ring [--out benchmarks/results/ring.md] [--spec SPEC]

One row per variant, one column per metric: mean ± sample standard deviation (n - 1) over the seeds, the
best mean of each column in bold (higher is better for modes covered, high-quality fraction, IS, precision
and recall; lower for FID and KID; ties on the printed value are all bold). Under the table: the protocol
(spec, data, budget, evaluation, extractor and weights hash, git SHA, versions, hardware, compute time), the
one command that regenerates the table, which rows are within noise of the best, and for every row its
seeds' values in a ``<details>`` block (a seed links to its sample grid when the runner saved one). A cell
that ``benchmarks.cell_schema.check_cell`` refuses (a required field missing, a metric of unknown direction) is
rejected with the field's name.

A hand-written analysis kept between ``<!-- analysis:start -->`` and ``<!-- analysis:end -->`` in the existing
Markdown file survives re-rendering.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.cell_schema import AUXILIARY, METRICS, CellError, check_cell

ANALYSIS_START = "<!-- analysis:start -->"
ANALYSIS_END = "<!-- analysis:end -->"
ANALYSIS_PLACEHOLDER = "_Analysis: to be written from the numbers above._"


def load_cells(results_dir: str | Path) -> list[dict[str, Any]]:
    """The cell JSONs of ``results_dir`` in file-name order, each checked (``CellError`` names what is wrong)."""
    results_dir = Path(results_dir)
    cells = []
    for path in sorted(results_dir.glob("*.json")):
        cell = json.loads(path.read_text())
        check_cell(cell, path.name)
        cells.append(cell)
    if not cells:
        raise CellError(f"no cell JSON under {results_dir}")
    return cells


def mean_std(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def fmt_mean_std(mean: float, std: float | None, decimals: int) -> str:
    return f"{fmt(mean, decimals)} ± {'n/a' if std is None else fmt(std, decimals)}"


def distinct(values: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for v in values:
        seen.setdefault(json.dumps(v, sort_keys=True), v)
    return list(seen.values())


def show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def trained_machine(hardware: dict[str, Any]) -> str:
    """The GPU a cell trained on, else its CPU model and SIMD level."""
    return hardware.get("gpu") or f"{hardware.get('cpu_model', '?')} ({hardware.get('cpu_capability', '?')})"


def merged_versions(per_cell: list[dict[str, str]]) -> str:
    """One ``name=version`` per library over all cells; several versions, or cells that lack one, are said."""
    names = distinct([name for versions in per_cell for name in versions])
    parts = []
    for name in names:
        values = distinct([v[name] for v in per_cell if name in v])
        text = f"{name}={' / '.join(map(str, values))}"
        missing = sum(name not in v for v in per_cell)
        if missing:
            text += f" (not recorded in {missing} of {len(per_cell)} cells)"
        parts.append(text)
    return ", ".join(parts)


def budget_text(budget: dict[str, Any]) -> str:
    if "g_steps" in budget:
        return f"{budget['g_steps']}"
    if "d_steps" in budget:
        return f"{budget['d_steps']} D"
    return f"{budget['epochs']} ep"


def group_rows(cells: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        rows[cell["row"]].append(cell)
    ordered = sorted(rows.items(), key=lambda kv: (min(c.get("row_index", 0) for c in kv[1]), kv[0]))
    return [(row, sorted(group, key=lambda c: c["seed"])) for row, group in ordered]


def protocol_lines(cells: list[dict[str, Any]], rows, meta: dict[str, Any]) -> list[str]:
    first = cells[0]
    lines = [f"- Spec: `{meta['spec']}`; {len(cells)} cells ({len(rows)} rows)."]
    seeds = sorted({c["seed"] for c in cells})
    lines.append(f"- Seeds: {', '.join(map(str, seeds))} (each seeds the weights, the latent draws and the data).")
    data_classes = distinct([c["resolved"]["data"].get("class_path") for c in cells])
    args = [{k: v for k, v in c["resolved"]["data"].get("init_args", {}).items() if k != "seed"} for c in cells]
    keys = sorted({k for a in args for k in a})
    common = {k: args[0][k] for k in keys if all(k in a and a[k] == args[0][k] for a in args)}
    varying = [k for k in keys if k not in common]
    data = f"- Data: {', '.join(map(str, data_classes))}({show(common)})"
    if varying:
        data += f"; varies by row: {', '.join(varying)} (see the details)"
    lines.append(data + ".")
    budgets = distinct([c["resolved"]["budget"] for c in cells])
    deterministic = distinct([c["resolved"].get("trainer", {}).get("deterministic", True) for c in cells])
    unit = "generator steps" if all("g_steps" in b for b in budgets) else "budget"
    lines.append(
        f"- Budget: {unit} per row in the table ({', '.join(budget_text(b) for b in budgets)}); images seen by D "
        "(real) and by G per cell in the details. Trained with lightning.Trainer(deterministic="
        f"{'/'.join(map(str, deterministic))})."
    )
    ev = first["evaluation"]
    if ev["kind"] == "toy":
        lines.append(
            f"- Evaluation: {ev['n_samples']} samples from G (fixed z, seed {ev.get('seed', 0)}), each assigned to its "
            f"nearest of {ev['num_modes']} modes; high quality when within {ev['threshold_std']:g} std "
            f"({ev.get('mixture_std', '?')}) of it; a mode is covered with >= {ev['min_samples']} high-quality "
            "sample(s)."
        )
    else:
        extractors = distinct([(c["evaluation"]["extractor"], c["evaluation"]["extractor_sha256"]) for c in cells])
        if len(extractors) > 1:
            raise CellError(
                f"cells use different extractors {extractors}: numbers from different extractors never share a column"
            )
        name, sha = extractors[0]
        lines.append(
            f"- Evaluation: extractor `{name}` (weights SHA-256 `{sha}`); {ev['n_fake']} generated vs {ev['n_real']} "
            f"real images of the `{ev['split']}` split; fixed z seed {ev.get('seed', 0)}; KID {ev.get('kid_subsets')} "
            f"subsets of {ev.get('kid_subset_size')}; IS {ev.get('is_splits')} splits; precision/recall k = "
            f"{ev.get('pr_neighborhood')}."
        )
    shas = Counter(c["protocol"]["git_sha"] for c in cells)  # first-seen order
    if len(shas) == 1:
        lines.append(f"- Code: git `{next(iter(shas))}`.")
    else:  # a table filled over several sessions: say which code ran how many cells
        counts = ", ".join(f"`{sha}` ({n} cell{'s' * (n > 1)})" for sha, n in shas.items())
        lines.append(f"- Code: git {counts}.")
    lines.append(f"- Versions: {merged_versions([c['protocol']['versions'] for c in cells])}.")
    hardware = distinct([c["protocol"]["hardware"] for c in cells])
    lines.append(f"- Hardware: {'; '.join(show(h) for h in hardware)}.")
    elsewhere = [c for c in cells if "trained_on" in (c.get("training") or {})]
    if elsewhere:  # run_table --train-only on one machine, evaluated on another (benchmarks.trained_generator)
        machines = Counter(trained_machine(c["training"]["trained_on"]["hardware"]) for c in elsewhere)
        where = ", ".join(f"{n} cell{'s' * (n > 1)} on {machine}" for machine, n in machines.items())
        lines.append(f"- Trained on another machine than the one that evaluated them (`--train-only`): {where}.")
    # a cell trained elsewhere spent its training time there: its own total covers the evaluation only
    total = sum(c["wall_time_s"]["total"] for c in cells) + sum(c["training"]["train_s"] for c in elsewhere)
    lines.append(f"- Compute: {total:.0f} s wall time over {len(cells)} cells ({total / 60:.1f} min).")
    return lines


def noise_lines(columns: list[str], stats: dict[str, dict[str, tuple[float, float | None]]], labels) -> list[str]:
    """Per metric: the rows whose mean ± std interval overlaps the best row's."""
    lines = []
    for metric in columns:
        header, higher, _ = METRICS[metric]
        entries = {row: s[metric] for row, s in stats.items() if metric in s}
        best_row = (max if higher else min)(entries, key=lambda r: entries[r][0])
        best_mean, best_std = entries[best_row]
        within = [
            labels[row]
            for row, (mean, std) in entries.items()
            if row != best_row and abs(mean - best_mean) <= (best_std or 0.0) + (std or 0.0)
        ]
        lines.append(
            f"- {header}: best {labels[best_row]}; within noise of it (mean ± std intervals overlap): "
            f"{', '.join(within) if within else 'none'}."
        )
    return lines


def render_markdown(
    cells: list[dict[str, Any]], meta: dict[str, Any] | None = None, analysis: str | None = None
) -> str:
    """The Markdown of a table from its (checked) cells."""
    meta = meta or cells[-1]["table"]
    rows = group_rows(cells)
    present = {m for c in cells for m in c["metrics"]}
    columns = [m for m in METRICS if m in present]
    labels = {row: group[0]["label"] for row, group in rows}
    stats: dict[str, dict[str, tuple[float, float | None]]] = {}
    for row, group in rows:
        stats[row] = {}
        for metric in columns:
            values = [c["metrics"][metric] for c in group if metric in c["metrics"]]
            if values:
                stats[row][metric] = mean_std(values)
    best: dict[str, str] = {}
    for metric in columns:
        _, higher, decimals = METRICS[metric]
        shown = [fmt(s[metric][0], decimals) for s in stats.values() if metric in s]
        best[metric] = (max if higher else min)(shown, key=float)

    num_modes = distinct([c["evaluation"].get("num_modes") for c in cells])
    headers = []
    for metric in columns:
        header, higher, _ = METRICS[metric]
        if metric == "modes_covered" and len(num_modes) == 1 and num_modes[0] is not None:
            header += f" (of {num_modes[0]})"
        headers.append(f"{header} {'↑' if higher else '↓'}")
    out = [f"# {meta['title']}", ""]
    if meta.get("description"):
        out += [meta["description"], ""]
    budgets = [group[0]["resolved"]["budget"] for _, group in rows]
    budget_header = "G steps" if all("g_steps" in b for b in budgets) else "Budget"
    published = meta.get("published") or {}
    if published:  # the paper's number for the row, beside ours
        headers.insert(0, meta.get("published_label") or "Published")
    out.append(f"| Variant | {budget_header} | Seeds | " + " | ".join(headers) + " |")
    out.append("|---|---:|---:|" + "---:|" * len(headers))
    for row, group in rows:
        budget = budget_text(group[0]["resolved"]["budget"])
        values = []
        for metric in columns:
            if metric not in stats[row]:
                values.append("–")
                continue
            decimals = METRICS[metric][2]
            mean, std = stats[row][metric]
            text = fmt_mean_std(mean, std, decimals)
            values.append(f"**{text}**" if fmt(mean, decimals) == best[metric] else text)
        if published:
            values.insert(0, published.get(row, "–"))
        out.append(f"| {labels[row]} | {budget} | {len(group)} | " + " | ".join(values) + " |")
    out += [
        "",
        "Mean ± sample standard deviation (n − 1) over seeds; best mean per column in bold "
        "(↑ higher is better, ↓ lower is better).",
        "",
        "## Protocol",
        "",
        *protocol_lines(cells, rows, meta),
        "",
        "Regenerate (re-runs every cell, then renders this file):",
        "",
        "```bash",
        f"PYTHONPATH=. OMP_NUM_THREADS=1 python -m benchmarks.run_table {meta['spec']} --force",
        "```",
        "",
    ]
    if meta.get("notes"):
        out += [f"**Comparability.** {meta['notes']}", ""]
    out += ["## Within noise", "", *noise_lines(columns, stats, labels), ""]
    out += ["## Analysis", "", ANALYSIS_START, (analysis or ANALYSIS_PLACEHOLDER).strip(), ANALYSIS_END, ""]
    out += ["## Per-seed values", ""]
    aux = [m for m in AUXILIARY if m in present]
    for row, group in rows:
        first = group[0]
        data_args = {k: v for k, v in first["resolved"]["data"].get("init_args", {}).items() if k != "seed"}
        out += [
            f"<details><summary>{labels[row]}: {first['resolved'].get('variant', '')} "
            f"<code>{first['resolved'].get('config', '')}</code></summary>",
            "",
            f"Overrides: {show(first['resolved'].get('overrides', {})) or 'none'}; "
            f"model: {show(first['resolved'].get('model', {}).get('init_args', {}))}; data: {show(data_args)}.",
            "",
            "| Seed | "
            + " | ".join(METRICS[m][0] for m in columns)
            + "".join(f" | {AUXILIARY[m]}" for m in aux)
            + " | Images D (real) | Images G | Wall s |",
            "|---:|" + "---:|" * (len(columns) + len(aux) + 3),
        ]
        for cell in group:
            values = [fmt(cell["metrics"][m], METRICS[m][2]) if m in cell["metrics"] else "–" for m in columns] + [
                fmt(cell["metrics"][m], 4) if m in cell["metrics"] else "–" for m in aux
            ]
            seen = cell["images_seen"]
            seed = str(cell["seed"])
            if "samples" in cell:  # link the seed to its sample grid, stored beside the cell JSON
                seed = f"[{seed}]({cell['table']['name']}/{cell['samples']['file']})"
            out.append(
                f"| {seed} | "
                + " | ".join(values)
                + f" | {seen.get('d_real', '–')} | {seen.get('g', '–')} | {cell['wall_time_s']['total']:.1f} |"
            )
        out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def existing_analysis(path: Path) -> str | None:
    if not path.is_file():
        return None
    text = path.read_text()
    if ANALYSIS_START not in text or ANALYSIS_END not in text:
        return None
    inner = text.split(ANALYSIS_START, 1)[1].split(ANALYSIS_END, 1)[0].strip()
    return None if inner == ANALYSIS_PLACEHOLDER else inner


def render_table(results_dir: str | Path, out: str | Path | None = None, meta: dict[str, Any] | None = None) -> str:
    """Render ``results_dir``'s cells to ``out`` (default ``<results_dir>.md``), keeping its analysis block."""
    results_dir = Path(results_dir)
    out = Path(out) if out is not None else results_dir.with_suffix(".md")
    cells = load_cells(results_dir)
    text = render_markdown(cells, meta, existing_analysis(out))
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render", description=__doc__.split("\n")[0])
    parser.add_argument("results_dir", help="e.g. benchmarks/results/ring")
    parser.add_argument("--out", default=None, help="Markdown file (default <results_dir>.md)")
    parser.add_argument("--spec", default=None, help="take title/notes from this spec instead of the cells")
    args = parser.parse_args(argv)
    meta = None
    if args.spec:
        from benchmarks.table_spec import load_spec, table_meta

        meta = table_meta(load_spec(args.spec))
    render_table(args.results_dir, args.out, meta)
    print(f"rendered {args.out or Path(args.results_dir).with_suffix('.md')}")


if __name__ == "__main__":
    main()
