#!/usr/bin/env bash
# Fill table cells on a borrowed GPU (a Lucic cell trains for 75-100 min on 2 CPU cores, a `quick` cell for 8-40 min;
# on a GPU, minutes). Run from the repository root; `prepare` here once, then one device call per batch of cells.
#
#   bash benchmarks/gpu_cells.sh prepare    # here: .whl (the wheels the GPU image lacks) and .fmnist (the four IDX
#                                           # files), both git-excluded; carry both to the device
#
# `run` (tables whose extractor ships in the repo: fashion_quick, fashion_conditional, fashion_tricks, ...): train and
# evaluate there; one tar per table of cell JSONs and sample grids comes back.
#   device: SPEC="benchmarks/tables/fashion_quick.yaml benchmarks/tables/fashion_tricks.yaml" ZOO_GIT_SHA=<sha> \
#               bash benchmarks/gpu_cells.sh run
#   here:   tar -xf <fetched>/<table>.tar -C benchmarks/results && python -m benchmarks.render benchmarks/results/<table>
#
# `train` (one table scored with Inception, whose 95 MB weights do not travel: fashion_lucic): train there, bring back
# each EXPORT cell's generator.ckpt as checked parts (< 16 MB each; a call returns at most 8 files and 64 MiB: two
# InfoGAN-net generators of 27 MB, their resolved.json, the manifest and the log), evaluate here.
#   device: SPEC=benchmarks/tables/fashion_lucic.yaml CELLS="gan_ns-s2 wgan_gp-s1" EXPORT="gan_ns-s2 wgan_gp-s1" \
#               ZOO_GIT_SHA=<sha> bash benchmarks/gpu_cells.sh train
#   here:   python -m benchmarks.trained_generator import <fetched folder>
#           PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.run_table benchmarks/tables/fashion_lucic.yaml --cells ...
#
# CELLS (default: every cell missing or stale in the tree's committed results) of every SPEC start together, one
# process each, PARALLEL (8) at a time, TRAIN_TIMEOUT (480) seconds each; a cell already finished under $RES on a
# machine still warm from an earlier call is not run again, and a cut one resumes from its checkpoint when its spec
# checkpoints. Training is fp32 (TF32 off), Trainer(deterministic=$DETERMINISTIC, default warn).
set -euo pipefail
cd "$(dirname "$0")/.."

setup_device() {
    : "${SPEC:?SPEC=\"benchmarks/tables/<table>.yaml ...\"}"
    OUT="${OUT:-/tmp/gpu_cells_out}" RES="${RES:-/tmp/gpu_cells_results}" PY="${PY:-python3}"
    ACCELERATOR="${ACCELERATOR:-gpu}" # cpu: the same flow without a GPU (tests/benchmarks/test_trained_generator.py)
    mkdir -p "$OUT" "$RES"
    WHEELS="${WHEELS:-.whl}" CARRIED_DATA="${CARRIED_DATA:-.fmnist}" # what `prepare` made, carried to the device
    if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl
        export PYTHONPATH=/tmp/site
    fi
    export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" PYTHONUNBUFFERED=1
    if [ -d "$CARRIED_DATA" ]; then
        mkdir -p /usr/share/datasets/fashion-mnist && cp "$CARRIED_DATA"/* /usr/share/datasets/fashion-mnist/
    fi
    if [ "$ACCELERATOR" = gpu ]; then
        $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
    fi
    : >"$RES/jobs.txt"
    for spec in $SPEC; do
        cells="${CELLS:-$($PY -m benchmarks.run_table "$spec" --dry-run | awk '$2 == "missing" || $2 == "stale" {print $1}')}"
        for cell in $cells; do echo "$spec $cell" >>"$RES/jobs.txt"; done
    done
    echo "$(wc -l <"$RES/jobs.txt") cells to run" | tee -a "$OUT/cells.log"
}

table_of() { $PY -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['name'])" "$1"; }

launch() { # launch [--train-only]: every job of jobs.txt, PARALLEL at a time, each logged in $RES/<spec>.<cell>.log
    # sh -c's arguments: $0 timeout, $1 python, $2 accelerator, $3 deterministic, $4 results, $5 extra flag; xargs
    # appends a job's line: $6 spec, $7 cell
    xargs -P "${PARALLEL:-8}" -L 1 sh -c 'log="$4/$(basename "$6" .yaml).$7.log"; timeout "$0" env OMP_NUM_THREADS=2 \
        "$1" -m benchmarks.run_table "$6" --cells "$7" --train-accelerator "$2" --deterministic "$3" --results "$4" \
        --no-render $5 >"$log" 2>&1 || echo "$7 failed (exit $?)"; tail -n 20 "$log" | sed "s/^/[$7] /"' \
        "${TRAIN_TIMEOUT:-480}" "$PY" "$ACCELERATOR" "${DETERMINISTIC:-warn}" "$RES" "${1:-}" <"$RES/jobs.txt" |
        tee -a "$OUT/cells.log"
}

case "${1:-}" in
prepare)
    PY="${PY:-.venv/bin/python}"
    mkdir -p .git/info && touch .git/info/exclude
    for path in /.whl/ /.fmnist/; do grep -qxF "$path" .git/info/exclude || echo "$path" >>.git/info/exclude; done
    mkdir -p .whl .fmnist
    # the GPU image has torch, lightning, torchmetrics, numpy, scipy, PIL, yaml: these are the zoo's other imports
    for req in "torch-fidelity==0.4.0" "kornia==$($PY -m pip show kornia | awk '/^Version/{print $2}')" \
        "kornia_rs==$($PY -m pip show kornia_rs | awk '/^Version/{print $2}')"; do
        $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            -d .whl "$req"
    done
    cp "${FASHION_DIR:-/usr/share/datasets/fashion-mnist}"/*-ubyte.gz .fmnist/
    du -sh .whl .fmnist
    ;;
run)
    setup_device
    launch
    for spec in $SPEC; do
        table=$(table_of "$spec") files=()
        for cell in $(awk -v s="$spec" '$1 == s {print $2}' "$RES/jobs.txt"); do
            for file in "$table/$cell.json" "$table/$cell.png"; do
                if [ -f "$RES/$file" ]; then files+=("$file"); fi
            done
        done
        if [ ${#files[@]} -gt 0 ]; then tar -C "$RES" -cf "$OUT/$table.tar" "${files[@]}"; fi
        echo "finished: ${files[*]:-none}" | tee -a "$OUT/cells.log"
    done
    ;;
train)
    set -- $SPEC
    if [ $# -ne 1 ]; then echo "train takes one SPEC (its generators go to one table's .work)" >&2 && exit 2; fi
    setup_device
    launch --train-only
    table=$(table_of "$SPEC") trained=() exported=()
    for cell in $(awk '{print $2}' "$RES/jobs.txt"); do
        if [ -f "$RES/$table/.work/$cell/generator.ckpt" ]; then trained+=("$cell"); fi
    done
    for cell in ${EXPORT:-}; do
        if [[ " ${trained[*]:-} " == *" $cell "* ]]; then exported+=("$cell"); fi
    done
    if [ ${#exported[@]} -gt 0 ]; then
        $PY -m benchmarks.trained_generator export --results "$RES" --table "$table" \
            --cells "$(printf '%s,' "${exported[@]}")" --out "$OUT" | tee -a "$OUT/cells.log"
    fi
    echo "trained: ${trained[*]:-none}; exported: ${exported[*]:-none}" | tee -a "$OUT/cells.log"
    ;;
*)
    echo "usage: bash benchmarks/gpu_cells.sh prepare | run | train (the comments at the top say how)" >&2
    exit 2
    ;;
esac
