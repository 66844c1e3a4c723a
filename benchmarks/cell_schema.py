"""The cell JSON: what ``benchmarks.run_table`` writes for one (variant row, seed) and ``benchmarks.render`` reads.

One declaration, ``FIELDS``, gives the top-level fields in the order the runner writes them and, for each, the
sub-fields every cell must carry (``None``: the field may be absent, e.g. ``samples`` of a toy cell, or fields
that older cells predate). The runner builds its records with ``cell_record``; the renderer accepts a cell only
if ``check_cell`` finds every ``REQUIRED`` field, the ``REQUIRED_BY_KIND`` fields of its evaluation kind, and a
known direction (``METRICS``, ``AUXILIARY``) for each of its metrics.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

#: top-level field -> its required sub-fields (``()``: required, no sub-field checked; ``None``: optional)
FIELDS: dict[str, tuple[str, ...] | None] = {
    "schema": None,
    "table": ("name", "spec"),  # benchmarks.table_spec.table_meta
    "cell": (),  # <row>-s<seed>
    "row": (),
    "label": (),
    "row_index": None,  # the row's position in the spec (older cells: sorted by row id)
    "seed": (),
    "resolved": ("budget", "data"),  # benchmarks.table_spec.resolve_cell: what determines the numbers
    "training": None,  # generator/critic steps, epochs, batch size, train time
    "images_seen": (),  # d_real, d_fake, g
    "evaluation": ("kind",),  # the evaluation protocol actually used
    "metrics": (),  # metric -> value
    "samples": None,  # image cells: the fixed-z sample grid saved beside the JSON
    "protocol": ("command", "git_sha", "versions", "hardware"),  # benchmarks.protocol
    "wall_time_s": ("total",),
    "finished_at": None,
}
#: dotted fields every cell carries, in the order they are checked
REQUIRED: tuple[str, ...] = tuple(
    field
    for name, sub_fields in FIELDS.items()
    if sub_fields is not None
    for field in (name, *(f"{name}.{sub}" for sub in sub_fields))
)
#: dotted fields a cell carries for its ``evaluation.kind``
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "toy": ("evaluation.n_samples", "evaluation.threshold_std", "evaluation.min_samples", "evaluation.num_modes"),
    "images": (
        "evaluation.extractor",
        "evaluation.extractor_sha256",
        "evaluation.n_fake",
        "evaluation.n_real",
        "evaluation.split",
    ),
}
#: metric -> (column header, higher is better, decimals); the column order of the tables
METRICS: dict[str, tuple[str, bool, int]] = {
    "modes_covered": ("Modes covered", True, 2),
    "high_quality_fraction": ("High-quality fraction", True, 3),
    "fid": ("FID", False, 2),
    "kid": ("KID", False, 4),
    "is": ("IS", True, 2),
    "precision": ("Precision", True, 3),
    "recall": ("Recall", True, 3),
    # class-aware metrics of conditional models (zoo.metrics.class_aware); per-class values go to the protocol
    "class_acc": ("Class accuracy", True, 3),
    "class_fid": ("Per-class FID (mean)", False, 2),
    "class_fid_spread": ("Per-class FID spread (max - min)", False, 2),
    "class_diversity": ("Intra-class diversity", True, 3),
    "code_acc": ("Code -> class accuracy (Hungarian)", True, 3),
}
#: a cell's second evaluation (``evaluation.also``, e.g. the fashion-domain extractor beside Inception) keeps its
#: metrics under this prefix, with the same directions
SECOND_PREFIX = "domain_"
METRICS.update(
    {
        f"{SECOND_PREFIX}{name}": (f"{label} (domain)", higher, digits)
        for name, (label, higher, digits) in list(METRICS.items())
        if name in ("fid", "kid", "is", "precision", "recall", "class_acc", "class_fid", "class_fid_spread")
        or name in ("class_diversity", "code_acc")
    }
)
#: values kept per seed in the details block but not given a column (spreads within one evaluation)
AUXILIARY = {"kid_std": "KID std (subsets)", "is_std": "IS std (splits)"}
AUXILIARY.update({f"{SECOND_PREFIX}{k}": f"{v} (domain)" for k, v in list(AUXILIARY.items())})
#: a cell scored with ``evaluation.ema: true`` keeps the generator EMA's metrics (Yazıcı et al. 2019) under this
#: prefix, beside the trained generator's, with the same directions
EMA_PREFIX = "ema_"
_IMAGE_METRICS = [name for name in METRICS if name not in ("modes_covered", "high_quality_fraction")]
METRICS.update({f"{EMA_PREFIX}{name}": (f"{METRICS[name][0]} (EMA)", *METRICS[name][1:]) for name in _IMAGE_METRICS})
AUXILIARY.update({f"{EMA_PREFIX}{k}": f"{v} (EMA)" for k, v in list(AUXILIARY.items())})


class CellError(ValueError):
    """A cell JSON that cannot go into a table."""


def cell_record(**fields: Any) -> dict[str, Any]:
    """A cell JSON from its ``FIELDS`` (keyword arguments), in the schema's order, stamped with the schema version.

    Optional fields given as ``None`` are left out; an unknown or missing required field is a ``ValueError``.
    """
    unknown = [name for name in fields if name not in FIELDS or name == "schema"]
    if unknown:
        raise ValueError(f"not fields of a cell JSON: {unknown}; the fields are {list(FIELDS)}.")
    fields["schema"] = SCHEMA_VERSION
    missing = [name for name, sub_fields in FIELDS.items() if sub_fields is not None and fields.get(name) is None]
    if missing:
        raise ValueError(f"a cell JSON needs {missing}.")
    return {name: fields[name] for name in FIELDS if fields.get(name) is not None}


def get_field(cell: dict[str, Any], dotted: str) -> Any:
    """``get_field(cell, "protocol.git_sha")``; ``KeyError(dotted)`` when any part is missing."""
    node: Any = cell
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def first_missing(cell: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """The first of the dotted ``fields`` that ``cell`` lacks, or ``None``."""
    for field in fields:
        try:
            get_field(cell, field)
        except KeyError:
            return field
    return None


def check_cell(cell: dict[str, Any], name: str) -> None:
    """Raise ``CellError`` naming the first required field ``cell`` lacks, or a metric of unknown direction."""
    missing = first_missing(cell, REQUIRED) or first_missing(cell, REQUIRED_BY_KIND.get(cell["evaluation"]["kind"], ()))
    if missing:
        raise CellError(f"{name}: missing required field {missing!r}")
    for metric in cell["metrics"]:
        if metric not in METRICS and metric not in AUXILIARY:
            raise CellError(
                f"{name}: metric {metric!r} has no known direction (add it to benchmarks.cell_schema.METRICS)"
            )
