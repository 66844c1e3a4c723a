"""benchmarks.render: the Markdown of a fixture table (exact), bold best per direction, missing fields named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cell_schema import CellError
from benchmarks.render import ANALYSIS_END, ANALYSIS_START, load_cells, render_markdown, render_table
from tests.benchmarks.fixtures import fixture_cells, make_cell, write_cells

#: written by hand-checked rendering of fixtures.py: FID GAN (10, 12) -> 11.00 ± 1.41 (best, lower is better);
#: KID WGAN (0.008, 0.012) -> 0.0100 ± 0.0028 (best); IS WGAN (6, 7) -> 6.50 ± 0.71 (best, higher is better); ...
EXPECTED = (Path(__file__).parent / "expected_fixture.md").read_text()


def test_fixture_table_renders_exactly(tmp_path):
    write_cells(tmp_path / "fixture", fixture_cells())
    assert render_table(tmp_path / "fixture") == EXPECTED
    assert (tmp_path / "fixture.md").read_text() == EXPECTED


def test_means_stds_and_bold_follow_each_metrics_direction():
    lines = render_markdown(fixture_cells()).splitlines()
    gan = next(line for line in lines if line.startswith("| GAN |"))
    wgan = next(line for line in lines if line.startswith("| WGAN |"))
    # FID: lower is better (GAN 11 vs WGAN 22); KID: lower (WGAN 0.010 vs 0.012); IS: higher (WGAN)
    assert "**11.00 ± 1.41**" in gan and "| 22.00 ± 2.83 |" in wgan
    assert "**0.0100 ± 0.0028**" in wgan and "| 0.0120 ± 0.0028 |" in gan
    assert "**6.50 ± 0.71**" in wgan and "| 5.25 ± 0.35 |" in gan


def test_ties_on_the_printed_value_are_all_bold_and_single_seeds_have_no_std():
    cells = [
        make_cell("a", 0, "A", (0, 5.0, 0.01, 2.0, 0.5, 0.5)),
        make_cell("b", 1, "B", (0, 5.001, 0.01, 2.0, 0.5, 0.5)),
    ]
    text = render_markdown(cells)
    assert text.count("**5.00 ± n/a**") == 2


@pytest.mark.parametrize(
    "field", ["metrics", "seed", "protocol.git_sha", "protocol.hardware", "evaluation.extractor_sha256", "wall_time_s"]
)
def test_a_cell_missing_a_required_field_is_rejected_naming_it(tmp_path, field):
    cells = fixture_cells()
    node = cells[1]
    *parents, leaf = field.split(".")
    for part in parents:
        node = node[part]
    del node[leaf]
    write_cells(tmp_path / "fixture", cells)
    with pytest.raises(CellError, match=f"gan-s1.json: missing required field '{field}'"):
        load_cells(tmp_path / "fixture")


def test_a_metric_without_a_known_direction_is_rejected(tmp_path):
    cells = fixture_cells()
    cells[0]["metrics"]["sharpness"] = 1.0
    write_cells(tmp_path / "fixture", cells)
    with pytest.raises(CellError, match="metric 'sharpness' has no known direction"):
        load_cells(tmp_path / "fixture")


def test_cells_from_different_extractors_never_share_a_table(tmp_path):
    cells = fixture_cells()
    cells[0]["evaluation"]["extractor_sha256"] = "other"
    with pytest.raises(CellError, match="different extractors"):
        render_markdown(cells)


def test_the_hand_written_analysis_survives_re_rendering(tmp_path):
    directory = write_cells(tmp_path / "fixture", fixture_cells())
    text = render_table(directory)
    edited = text.replace(
        text[text.index(ANALYSIS_START) : text.index(ANALYSIS_END)], ANALYSIS_START + "\nGAN wins on FID.\n"
    )
    (tmp_path / "fixture.md").write_text(edited)
    cell = json.loads((directory / "gan-s0.json").read_text())
    cell["metrics"]["fid"] = 9.0
    (directory / "gan-s0.json").write_text(json.dumps(cell))
    again = render_table(directory)
    assert "GAN wins on FID." in again and "**10.50 ± 2.12**" in again


def test_a_table_filled_over_sessions_names_each_sha_and_merges_versions():
    cells = fixture_cells()
    cells[0]["protocol"]["git_sha"] = "4567def"
    cells[1]["protocol"]["versions"]["torch_fidelity"] = "0.4.0"
    cells[2]["protocol"]["versions"]["torch"] = "2.1"
    text = render_markdown(cells)
    assert "- Code: git `4567def` (1 cell), `0123abc` (3 cells)." in text
    assert "- Versions: torch=2.0 / 2.1, lightning=2.6.6, torch_fidelity=0.4.0 (not recorded in 3 of 4 cells)." in text


def test_cells_trained_on_another_machine_say_where_and_count_their_training_time():
    cells = fixture_cells()
    before = render_markdown(cells)
    assert "Trained on another machine" not in before
    total = sum(c["wall_time_s"]["total"] for c in cells)
    for cell in cells[:2]:
        cell["training"] = {"train_s": 50.0, "trained_on": {"hardware": {"gpu": "NVIDIA H200", "cpu_model": "Xeon"}}}
    text = render_markdown(cells)
    assert (
        "- Trained on another machine than the one that evaluated them (`--train-only`): 2 cells on NVIDIA H200."
        in (text)
    )
    assert f"- Compute: {total + 100:.0f} s wall time over 4 cells" in text


def test_a_published_number_is_printed_beside_its_row_and_dashes_where_none():
    cells = fixture_cells()
    rows = list(dict.fromkeys(c["row"] for c in cells))
    meta = {**cells[-1]["table"], "published_label": "Paper FID ↓", "published": {rows[0]: "26.5 ± 1.6"}}
    lines = render_markdown(cells, meta).splitlines()
    header = next(line for line in lines if line.startswith("| Variant |"))
    assert header.startswith("| Variant | G steps | Seeds | Paper FID ↓ | FID")
    first = next(line for line in lines if line.startswith(f"| {cells[0]['label']} |"))
    second = next(line for line in lines if line.startswith("| ") and rows[1] in line.lower() and "±" in line)
    assert "| 26.5 ± 1.6 |" in first and "| – |" in second
    separator = lines[lines.index(header) + 1]
    assert separator.count("|") == header.count("|")
