"""``gan-zoo evaluate --images``: samples made elsewhere score as the checkpoint that made them, in any layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.zoo.metrics.helpers import tiny_gan
from zoo.commands.cli import main
from zoo.metrics.image_files import load_images
from zoo.sampling import fixed_z, generate_batches

ARGS = ["--num-real", "96", "--kid-subset-size", "48", "--batch-size", "48", "--metrics", "fid,kid,pr"]


def evaluate(tmp_path, source: list[str], *extra: str) -> dict:
    out = tmp_path / "eval.json"
    main(["evaluate", *source, *ARGS, "--cache-dir", str(tmp_path / "cache"), "--out", str(out), *extra])
    return json.loads(out.read_text())


def test_a_checkpoints_samples_saved_to_a_file_score_as_the_checkpoint(tmp_path, fashion):
    model = tiny_gan()
    path = tmp_path / "last.ckpt"
    torch.save({"variant": "GAN", "hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, path)
    from_ckpt = evaluate(tmp_path, ["--ckpt", str(path)], "--num-fake", "96")
    fakes = torch.cat(list(generate_batches(model.generator, fixed_z(model, 96, 0), 48)))
    # floats: the fashion-domain extractor reads them unquantized (Inception quantizes to uint8 in both paths)
    array = fakes.numpy()
    layouts = {"nhw": array[:, 0], "nchw": array, "nhwc": array.transpose(0, 2, 3, 1)}
    for name, array in layouts.items():
        file = tmp_path / f"{name}.npz"
        np.savez(file, images=array)
        result = evaluate(tmp_path, ["--images", str(file)])
        assert result["metrics"] == pytest.approx(from_ckpt["metrics"], rel=1e-6, abs=1e-9), name
        assert result["protocol"]["n_fake"] == 96 and result["protocol"]["generator_weights"] == "external images"
        assert len(result["protocol"]["images_sha256"]) == 64
        assert result["protocol"]["command"].startswith("gan-zoo evaluate --images")
    np.save(tmp_path / "plain.npy", array)
    assert evaluate(tmp_path, ["--images", str(tmp_path / "plain.npy")])["metrics"] == pytest.approx(
        from_ckpt["metrics"], rel=1e-6, abs=1e-9
    )


def test_uint8_maps_to_the_zoo_range_exactly(tmp_path):
    array = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16).repeat(2, 0)
    np.save(tmp_path / "ramp.npy", array)
    images = load_images(tmp_path / "ramp.npy")
    assert images.min() == -1 and images.max() == 1
    back = ((images + 1) * 127.5).round().to(torch.uint8).numpy()  # what to_uint8_rgb does before Inception
    assert np.array_equal(back, array)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 28, 28, 2), np.uint8), r"\(N, H, W\), \(N, C, H, W\)"),
        (np.zeros((4, 28), np.uint8), r"\(N, H, W\)"),
        (np.zeros((4, 28, 28), np.int64), "uint8 .* or float"),
        (np.full((4, 28, 28), 3.0, np.float32), r"\[-1, 1\]"),
    ],
)
def test_bad_arrays_are_refused_with_the_fix(tmp_path, fashion, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(SystemExit, match=message):
        evaluate(tmp_path, ["--images", str(tmp_path / "bad.npy")])


def test_bad_files_and_sources_are_refused(tmp_path, fashion):
    with pytest.raises(SystemExit, match="no image file"):
        evaluate(tmp_path, ["--images", str(tmp_path / "missing.npz")])
    np.savez(tmp_path / "two.npz", a=np.zeros((4, 28, 28), np.uint8), b=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(SystemExit, match="name the images array 'images'"):
        evaluate(tmp_path, ["--images", str(tmp_path / "two.npz")])
    np.save(tmp_path / "objects.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SystemExit, match="allow_pickle"):
        evaluate(tmp_path, ["--images", str(tmp_path / "objects.npy")])
    np.save(tmp_path / "rgb.npy", np.zeros((4, 3, 32, 32), np.uint8))
    with pytest.raises(SystemExit, match="pass --data"):
        evaluate(tmp_path, ["--images", str(tmp_path / "rgb.npy")])
    with pytest.raises(SystemExit):  # one source only
        main(["evaluate", "--images", "a.npz", "--ckpt", "b.ckpt"])
    with pytest.raises(SystemExit):  # a source is required
        main(["evaluate", "--metrics", "fid"])
