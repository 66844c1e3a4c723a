"""datamodules.image_io (listing, reading, cropping, resizing image files) and the datamodule base names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

import datamodules
from datamodules.base import ImageDataModule, InMemoryData, TwoDomainData
from datamodules.image_io import center_crop, list_images, read_image, resize_image


def test_list_images_sorts_image_files_and_names_a_missing_folder(tmp_path: Path):
    for name in ("b.png", "a.JPG", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    with pytest.raises(FileNotFoundError, match=r"image folder .*nothing does not exist\.$"):
        list_images(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match=r"does not exist\. expected root/trainA$"):
        list_images(tmp_path / "nothing", "expected root/trainA")


def test_read_crop_and_resize(tmp_path: Path):
    Image.new("RGB", (40, 30), (200, 100, 50)).save(tmp_path / "x.png")
    rgb = read_image(tmp_path / "x.png", 3)
    assert rgb.shape == (3, 30, 40) and rgb.dtype == torch.uint8 and rgb[:, 0, 0].tolist() == [200, 100, 50]
    assert read_image(tmp_path / "x.png", 1).shape == (1, 30, 40)
    assert center_crop(rgb, 20).shape == (3, 20, 20) and center_crop(rgb, 64).shape == (3, 30, 30)
    assert resize_image(rgb, 16).shape == (3, 16, 16)
    assert resize_image(rgb[:, :16, :16], 16).data_ptr() == rgb.data_ptr()  # already that size: unchanged


def test_base_class_names():
    assert InMemoryData is ImageDataModule and datamodules.InMemoryData is ImageDataModule  # backwards-compatible
    assert issubclass(datamodules.FashionMNISTPairData, TwoDomainData)
    assert issubclass(datamodules.UnpairedImageData, TwoDomainData)
    assert issubclass(TwoDomainData, ImageDataModule) and TwoDomainData.num_classes == 0
