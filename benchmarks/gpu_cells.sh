#!/usr/bin/env bash
# Train table cells on a borrowed GPU, evaluate them here (issue 16: a Lucic cell trains for 75-100 min on 2 CPU
# cores and for minutes on a GPU; its Inception evaluation needs weights that do not travel). Three steps:
#
#   bash benchmarks/gpu_cells.sh prepare          # here, once: .whl (wheels the GPU image lacks) and .fmnist (the
#                                                 # four IDX files), both git-excluded, to carry to the device
#   # on the device (carry .whl and .fmnist; one call, at most 10 min; parts come back under $OUT):
#   SPEC=benchmarks/tables/fashion_lucic.yaml TRAIN="gan_ns-s2 wgan_gp-s1" EXPORT="gan_ns-s2 wgan_gp-s1" \
#       ZOO_GIT_SHA=<sha here> bash benchmarks/gpu_cells.sh train
#   # here: check and reassemble the parts, then evaluate (no training: the cells find their generator.ckpt)
#   python -m benchmarks.trained_generator import <fetched folder>
#   PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.run_table benchmarks/tables/fashion_lucic.yaml --cells ...
#
# `train` trains every cell of TRAIN at once (one process each; a cell already trained under $RES, on a machine
# still warm from an earlier call, is not trained again), for at most TRAIN_TIMEOUT seconds (a cut cell resumes
# from its checkpoint in the next call on a warm machine), then exports the trained cells of EXPORT with
# `benchmarks.trained_generator export` (parts < 16 MB; a call returns at most 8 files, 64 MiB: two InfoGAN-net
# generators of 27 MB each, their resolved.json, the manifest and the training log).
set -euo pipefail
cd "$(dirname "$0")/.."
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
train)
    : "${SPEC:?SPEC=benchmarks/tables/<table>.yaml}" "${TRAIN:?TRAIN=\"cell ...\"}"
    OUT="${OUT:-/tmp/gpu_cells_out}"
    RES="${RES:-/tmp/gpu_cells_results}"
    PY="${PY:-python3}"
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
    ACCELERATOR="${ACCELERATOR:-gpu}" # cpu: the same flow without a GPU (tests/benchmarks/test_trained_generator.py)
    if [ "$ACCELERATOR" = gpu ]; then
        $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
    fi
    pids=()
    for cell in $TRAIN; do
        timeout "${TRAIN_TIMEOUT:-480}" env OMP_NUM_THREADS=2 $PY -m benchmarks.run_table "$SPEC" --cells "$cell" \
            --train-only --train-accelerator "$ACCELERATOR" --deterministic "${DETERMINISTIC:-warn}" --results "$RES" \
            >"$RES/$cell.log" 2>&1 &
        pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    table=$($PY -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['name'])" "$SPEC")
    trained=()
    for cell in $TRAIN; do
        tail -n 25 "$RES/$cell.log" | sed "s/^/[$cell] /" >>"$OUT/train.log"
        if [ -f "$RES/$table/.work/$cell/generator.ckpt" ]; then trained+=("$cell"); fi
    done
    export_cells=()
    for cell in ${EXPORT:-}; do
        if printf '%s\n' "${trained[@]}" | grep -qxF "$cell"; then export_cells+=("$cell"); fi
    done
    if [ ${#export_cells[@]} -gt 0 ]; then
        $PY -m benchmarks.trained_generator export --results "$RES" --table "$table" \
            --cells "$(
                IFS=,
                echo "${export_cells[*]}"
            )" --out "$OUT" | tee -a "$OUT/train.log"
    fi
    echo "trained: ${trained[*]:-none}; exported: ${export_cells[*]:-none}" | tee -a "$OUT/train.log"
    exit $status
    ;;
*)
    echo "usage: bash benchmarks/gpu_cells.sh prepare | train (see the comments at the top)" >&2
    exit 2
    ;;
esac
