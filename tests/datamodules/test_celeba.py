"""CelebAData on fixture files: splits, crops, batches, the download path and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from datamodules import CelebAData


def write_celeba(root: Path, partition: list[int]) -> Path:
    """celeba/img_align_celeba/00000N.jpg (178x218, a 10 px red border around gray) + list_eval_partition.txt."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    lines = []
    for i, split in enumerate(partition, 1):
        image = Image.new("RGB", (178, 218), (255, 0, 0))
        image.paste((20 * i, 20 * i, 20 * i), (10, 10, 168, 208))
        image.save(folder / "img_align_celeba" / f"{i:06d}.jpg", quality=95)
        lines.append(f"{i:06d}.jpg {split}")
    (folder / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_reads_splits_crops_and_batches(tmp_path):
    write_celeba(tmp_path, [0, 0, 0, 0, 1, 2])
    data = CelebAData(str(tmp_path), download=False, batch_size=2, num_workers=0)
    assert data.image_shape == (3, 64, 64)
    data.prepare_data()
    data.setup("fit")
    assert [p.name for p in data.files("train")] == [f"{i:06d}.jpg" for i in range(1, 5)]
    assert [p.name for p in data.files("valid")] == ["000005.jpg"]
    images, labels = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    assert images.shape == (2, 3, 64, 64) and labels.tolist() == [0, 0]
    assert images.min() >= -1 and images.max() <= 1
    test = data.real_samples("test")
    assert test.shape == (1, 3, 64, 64)
    # the 148 px center crop removes the red border: red and green channels agree everywhere
    assert (test[0, 0] - test[0, 1]).abs().max() < 0.1
    assert CelebAData(str(tmp_path), download=False, image_size=32).real_samples("test", 1).shape == (1, 3, 32, 32)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'celeba' / 'list_eval_partition.txt'}.*download=True"):
        CelebAData(str(tmp_path), download=False).prepare_data()


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    def fake_celeba(root, split, target_type, download):
        calls.append((root, split, download))
        write_celeba(Path(root), [0, 0, 2])

    monkeypatch.setattr(torchvision.datasets, "CelebA", fake_celeba)
    data = CelebAData(str(tmp_path), download=True, batch_size=2, num_workers=0)
    data.prepare_data()
    assert calls == [(str(tmp_path), "all", True)]
    data.prepare_data()  # files present: no second download
    assert len(calls) == 1

    def failing(*args, **kwargs):
        raise RuntimeError("quota exceeded")

    monkeypatch.setattr(torchvision.datasets, "CelebA", failing)
    with pytest.raises(FileNotFoundError, match="quota exceeded"):
        CelebAData(str(tmp_path / "empty"), download=True).prepare_data()


def test_bad_partition_line_and_unreadable_image_name_the_file(tmp_path):
    folder = write_celeba(tmp_path, [0, 0, 2])
    partition = folder / "list_eval_partition.txt"
    partition.write_text(partition.read_text() + "000004.jpg train\n")
    with pytest.raises(ValueError, match=f"{partition}, line 4"):
        CelebAData(str(tmp_path), download=False).setup("fit")
    partition.write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 2\n")
    broken = folder / "img_align_celeba" / "000003.jpg"
    broken.write_bytes(b"\xff\xd8\xff truncated")
    with pytest.raises(ValueError, match=f"cannot read image {broken}"):
        CelebAData(str(tmp_path), download=False).real_samples("test")
    with pytest.raises(ValueError, match="batch_size=64 is larger than the 2 training images"):
        CelebAData(str(tmp_path), download=False, num_workers=0).train_dataloader()


def test_image_size_is_checked():
    with pytest.raises(ValueError, match="image_size"):
        CelebAData(image_size=48)
    assert torch.Size(CelebAData(image_size=32).image_shape) == (3, 32, 32)
