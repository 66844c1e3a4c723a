"""UnpairedImageData (trainA/trainB layout): batches, augmentation, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from datamodules import UnpairedImageData


def write_domain(folder: Path, count: int, size: tuple[int, int] = (40, 40), start: int = 0) -> None:
    """Images whose left half is black and right half has gray value 10 * (start + i)."""
    folder.mkdir(parents=True)
    for i in range(count):
        image = Image.new("RGB", size, (0, 0, 0))
        image.paste((10 * (start + i),) * 3, (size[0] // 2, 0, size[0], size[1]))
        image.save(folder / f"{i:03d}.png")


@pytest.fixture
def dataset_root(tmp_path: Path) -> Path:
    root = tmp_path / "horse2zebra"
    write_domain(root / "trainA", 5, start=1)
    write_domain(root / "trainB", 3, start=11)
    write_domain(root / "testA", 2, start=1)
    write_domain(root / "testB", 2, start=11)
    return root


def test_batches_are_unpaired_augmented_and_scaled(dataset_root):
    data = UnpairedImageData(str(dataset_root), crop_size=32, load_size=36, batch_size=5, num_workers=0)
    assert data.image_shape == (3, 32, 32) and data.num_classes == 0
    data.setup("fit")
    torch.manual_seed(0)
    loader = data.train_dataloader()
    assert len(loader.dataset) == 5  # max(|A|, |B|)
    values_a, values_b, flipped = set(), [], 0
    for _ in range(8):
        images_a, images_b = data.on_after_batch_transfer(next(iter(loader)), 0)
        assert images_a.shape == images_b.shape == (5, 3, 32, 32)
        assert images_a.min() >= -1 and images_a.max() <= 1 and images_a.dtype == torch.float32
        bright_a = (images_a + 1) * 127.5
        values_a.update(round(v / 10) for v in bright_a.amax(dim=(1, 2, 3)).tolist())
        values_b.append(tuple(round(v / 10) for v in ((images_b + 1) * 127.5).amax(dim=(1, 2, 3)).tolist()))
        flipped += int((bright_a[:, :, :, 0] > 5).any(dim=(1, 2)).sum())  # bright half moved to the left
    assert values_a == {1, 2, 3, 4, 5}  # every A image once per epoch
    assert all(set(b) <= {11, 12, 13} for b in values_b)
    assert len(set(values_b)) > 1  # B drawn at random: the pairing changes between epochs
    assert 0 < flipped < 40  # random horizontal flips


def test_real_samples_and_grayscale(dataset_root):
    data = UnpairedImageData(str(dataset_root), crop_size=16, load_size=None, channels=1, num_workers=0)
    real = data.real_samples("test", 2, domain="A")
    assert real.shape == (2, 1, 16, 16) and real.min() >= -1 and real.max() <= 1
    with pytest.raises(ValueError, match="asked for 3"):
        data.real_samples("test", 3, domain="B")


def test_missing_dataset_or_domain_folder_names_the_path(tmp_path, dataset_root):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        UnpairedImageData(str(tmp_path / "nothing")).setup("fit")
    for child in (dataset_root / "trainB").iterdir():
        child.unlink()
    (dataset_root / "trainB").rmdir()
    with pytest.raises(FileNotFoundError, match=f"{dataset_root / 'trainB'} does not exist.*trainA"):
        UnpairedImageData(str(dataset_root)).setup("fit")


def test_empty_folder_names_the_path(dataset_root):
    for child in (dataset_root / "trainA").iterdir():
        child.unlink()
    (dataset_root / "trainA" / "notes.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match=f"{dataset_root / 'trainA'} holds no images"):
        UnpairedImageData(str(dataset_root)).prepare_data()


@pytest.mark.parametrize("content", [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20])
def test_unreadable_image_names_the_file(dataset_root, content):
    bad = dataset_root / "trainA" / "000.png"
    bad.write_bytes(content)
    data = UnpairedImageData(str(dataset_root), crop_size=32, load_size=36, batch_size=5, num_workers=0)
    with pytest.raises(ValueError, match=f"1 of the .* images in .*trainA cannot be read: {bad} "):
        data.setup("fit")  # the header scan names it before training (tests/datamodules/test_image_modes.py)
    data = UnpairedImageData(
        str(dataset_root), crop_size=32, load_size=36, batch_size=5, num_workers=0, scan_images=False
    )
    data.setup("fit")
    with pytest.raises(ValueError, match=f"cannot read image {bad}"):
        next(iter(data.train_dataloader()))


def test_bad_arguments(dataset_root):
    with pytest.raises(ValueError, match="load_size=20 is smaller than crop_size=32"):
        UnpairedImageData(str(dataset_root), crop_size=32, load_size=20)
    data = UnpairedImageData(str(dataset_root), crop_size=32, batch_size=6, num_workers=0)
    data.setup("fit")
    with pytest.raises(ValueError, match="batch_size=6 is larger than the 5 training images"):
        data.train_dataloader()
