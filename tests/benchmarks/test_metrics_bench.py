"""benchmarks.metrics_bench: a result holding only the Inception-speed section (a second machine's, written with
``--inception N --out <new file>``) renders its own page, naming the CPU it was measured on."""

from __future__ import annotations

from benchmarks.metrics_bench import render


def inception_section() -> dict:
    return {
        "n": 300,
        "batch_size": 100,
        "torch_threads": 2,
        "weights_sha256": "55747c34f7878f2f" + "0" * 48,
        "plain": {"inference": "fp32", "images_per_s": 7.5, "seconds": 80.0, "fid": 23.25},
        "folded": {"inference": "fp32, folded", "images_per_s": 13.0, "seconds": 46.0, "fid": 23.25},
        "speedup": 1.733,
        "max_abs_feature_difference": 1e-4,
        "fid_relative_difference": 1e-6,
        "command": "python -m benchmarks.metrics_bench --inception 300",
        "cpu_capability": "AVX512",
        "load_average_1m": 1.5,
        "wall_time_s": 130.0,
        "git_sha": "abc",
        "hardware": {"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_bf16_units": {"amx_tile": True}},
    }


def test_an_inception_only_result_renders_its_own_page():
    page = render({"inception_cpu": inception_section()})
    assert page.startswith("# Inception-v3 extraction speed, CPU: Intel(R) Xeon(R) Processor")
    assert "bf16 units {'amx_tile': True}" in page
    assert "| 7.50 | 23.2500 |" in page and "| 13.00 | 23.2500 |" in page
    assert "Speed-up 1.73x" in page
