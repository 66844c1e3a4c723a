#!/usr/bin/env bash
# The GPU half of issue 19 in one short script (a few minutes on one GPU): the throughput benchmark on the GPU
# (zoo step, zoo step channels_last, hand loop, reference-style loop; fp32 and bf16-mixed where the GPU has
# native bf16; with and without torch.compile; FLOPs and the fraction of the measured cuBLAS matmul peak), and
# the in-memory data path vs torchvision + DataLoader at GPU speed. Writes JSON + Markdown to ${OUT:-.}.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_throughput.sh          # needs `make setup` and the Fashion-MNIST files
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-.}"
mkdir -p "$OUT"
PY="${PY:-.venv/bin/python}"
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device: run benchmarks.throughput on CPU instead'"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.csv" || true
PYTHONPATH=. "$PY" -m benchmarks.throughput --compile --steps 100 --warmup 10 --repeats 3 \
    --out "$OUT/throughput_gpu.json"
