"""Every PIL mode an image folder can hold reaches the model as the datamodule's channels in [-1, 1], or is refused
with the file named; unreadable files are named at setup, before training starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules import CelebAData, UnpairedImageData
from datamodules.image_io import SUPPORTED_MODES, read_image, to_uint8, verify_images

SIZE = 4


def gray_of(rgb: tuple[int, int, int]) -> int:
    """PIL's RGB -> L (ITU-R 601-2 luma), the gray every colour image becomes for 1 channel."""
    return int(np.asarray(Image.new("RGB", (1, 1), rgb).convert("L"))[0, 0])


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (SIZE, SIZE), 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0, 0, 0] * 254)
    if transparent:
        image.info["transparency"] = 1
    return image


def uint16(value: int) -> Image.Image:
    return Image.fromarray(np.full((SIZE, SIZE), value, dtype=np.uint16))  # mode I;16


# name: (file name, image, expected RGB after conversion) -- 16-bit gray is scaled by 255/65535, float gray by 255,
# transparent pixels are composited over white
CASES = {
    "1": ("bilevel.png", Image.new("1", (SIZE, SIZE), 1), (255, 255, 255)),
    "L": ("gray.png", Image.new("L", (SIZE, SIZE), 100), (100, 100, 100)),
    "I;16": ("gray16.png", uint16(32768), (128, 128, 128)),  # PIL's own conversion clipped this to 255
    "I;16-dark": ("gray16_dark.png", uint16(1000), (4, 4, 4)),
    "I": ("gray32.tif", Image.fromarray(np.full((SIZE, SIZE), 65535, dtype=np.int32)), (255, 255, 255)),
    "I-mid": ("gray32_mid.tif", Image.fromarray(np.full((SIZE, SIZE), 13107, dtype=np.int32)), (51, 51, 51)),
    "F": ("float.tif", Image.fromarray(np.full((SIZE, SIZE), 0.25, dtype=np.float32)), (64, 64, 64)),
    "P": ("palette.png", palette_image(transparent=False), (10, 200, 30)),
    "P-transparent": ("palette_alpha.png", palette_image(transparent=True), (255, 255, 255)),
    "RGB": ("rgb.png", Image.new("RGB", (SIZE, SIZE), (200, 100, 50)), (200, 100, 50)),
    "RGBA-opaque": ("rgba.png", Image.new("RGBA", (SIZE, SIZE), (200, 100, 50, 255)), (200, 100, 50)),
    "RGBA-clear": ("rgba_clear.png", Image.new("RGBA", (SIZE, SIZE), (200, 100, 50, 0)), (255, 255, 255)),
    "RGBA-half": ("rgba_half.png", Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 128)), (127, 127, 127)),
    "CMYK": ("cmyk.tif", Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0)), (255, 0, 0)),
    "CMYK-jpeg": ("cmyk.jpg", Image.new("CMYK", (SIZE, SIZE), (0, 0, 0, 0)), (255, 255, 255)),
    "LA-opaque": ("la.png", Image.new("LA", (SIZE, SIZE), (100, 255)), (100, 100, 100)),
    "LA-clear": ("la_clear.png", Image.new("LA", (SIZE, SIZE), (100, 0)), (255, 255, 255)),
}


def write(folder: Path, name: str, image: Image.Image) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    image.save(path, **({"quality": 100} if name.endswith(".jpg") else {}))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_every_mode_reads_as_gray_and_rgb(tmp_path, case):
    name, image, rgb = CASES[case]
    path = write(tmp_path, name, image)
    assert Image.open(path).mode == image.mode  # the file really holds that mode
    tolerance = 2 if name.endswith(".jpg") else 0
    as_rgb = read_image(path, 3)
    assert as_rgb.shape == (3, SIZE, SIZE) and as_rgb.dtype == torch.uint8
    assert (as_rgb.int() - torch.tensor(rgb).view(3, 1, 1)).abs().max() <= tolerance, as_rgb[:, 0, 0].tolist()
    as_gray = read_image(path, 1)
    assert as_gray.shape == (1, SIZE, SIZE)
    assert (as_gray.int() - gray_of(rgb)).abs().max() <= tolerance, as_gray[0, 0, 0].item()


def test_the_cases_cover_every_mode_the_issue_lists():
    assert {"1", "L", "I;16", "I", "F", "P", "RGB", "RGBA", "CMYK", "LA"} <= {CASES[c][1].mode for c in CASES}
    assert {"1", "L", "I;16", "I", "F", "P", "RGB", "RGBA", "CMYK", "LA"} <= set(SUPPORTED_MODES)


@pytest.mark.parametrize("channels", [1, 3])
def test_datamodule_serves_every_mode_in_unit_range(tmp_path, channels):
    """An unpaired folder holding one file of each mode: the real samples are the expected values in [-1, 1]."""
    root = tmp_path / "data"
    cases = {c: v for c, v in CASES.items() if not v[0].endswith(".jpg")}  # exact values (JPEG is lossy)
    for name, image, _ in cases.values():
        write(root / "trainA", name, image)
        write(root / "trainB", name, image)
    data = UnpairedImageData(str(root), crop_size=SIZE, load_size=SIZE, channels=channels, batch_size=2, num_workers=0)
    data.setup("fit")
    samples = data.real_samples("train", domain="A")
    assert samples.shape == (len(cases), channels, SIZE, SIZE) and samples.dtype == torch.float32
    assert samples.min() >= -1 and samples.max() <= 1
    by_file = sorted(cases.values(), key=lambda case: case[0])
    for sample, (name, _, rgb) in zip(samples, by_file):
        expected = torch.tensor(rgb if channels == 3 else (gray_of(rgb),), dtype=torch.float32) / 127.5 - 1
        assert torch.allclose(sample, expected.view(-1, 1, 1).expand_as(sample)), name


@pytest.mark.parametrize(
    ("name", "image", "message"),
    [
        ("big.tif", Image.fromarray(np.full((SIZE, SIZE), 70000, dtype=np.int32)), r"\[0, 65535\], found \[70000"),
        ("negative.tif", Image.fromarray(np.full((SIZE, SIZE), -5, dtype=np.int32)), r"found \[-5, -5\]"),
        ("hdr.tif", Image.fromarray(np.full((SIZE, SIZE), 2.5, dtype=np.float32)), r"\[0, 1\], found \[2.5, 2.5\]"),
        ("nan.tif", Image.fromarray(np.full((SIZE, SIZE), np.nan, dtype=np.float32)), r"found NaN/Inf"),
    ],
)
def test_values_outside_a_modes_range_are_refused_naming_the_file(tmp_path, name, image, message):
    path = write(tmp_path, name, image)
    with pytest.raises(ValueError, match=rf"cannot read image {path}: mode {image.mode} .*{message}"):
        read_image(path, 3)


def test_an_unsupported_mode_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read image x/y\.tif: PIL mode 'HSV' is not supported"):
        to_uint8(Image.new("HSV", (SIZE, SIZE)), 3, Path("x/y.tif"))
    path = write(tmp_path, "lab.tif", Image.new("LAB", (SIZE, SIZE)))
    with pytest.raises(ValueError, match=rf"1 of the 1 images in here cannot be read: {path} \(PIL mode 'LAB'"):
        verify_images([path], "here")


# ------------------------------------------------------------------ header scan at setup
def broken_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.png"
    text.write_bytes(b"not an image")
    good = folder / "good.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(good)
    truncated = folder / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:40])
    return [text, truncated]


def test_unpaired_setup_names_unreadable_files_before_training(tmp_path):
    root = tmp_path / "data"
    bad = broken_files(root / "trainA")
    for i in range(3):
        write(root / "trainB", f"{i}.png", Image.new("RGB", (8, 8), (i, i, i)))
    data = UnpairedImageData(str(root), crop_size=8, load_size=8, batch_size=1, num_workers=0)
    with pytest.raises(
        ValueError, match=rf"2 of the 3 images in {root / 'trainA'} cannot be read: {bad[0]} .*; {bad[1]} "
    ):
        data.setup("fit")
    UnpairedImageData(str(root), crop_size=8, load_size=8, scan_images=False).setup("fit")  # the scan can be skipped


def test_celeba_setup_names_unreadable_and_missing_files_before_training(tmp_path):
    folder = tmp_path / "celeba"
    images = folder / "img_align_celeba"
    for i in range(1, 4):
        write(images, f"{i:06d}.jpg", Image.new("RGB", (178, 218), (9, 9, 9)))
    (images / "000002.jpg").write_bytes(b"\xff\xd8 broken")
    (folder / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 0\n000004.jpg 0\n")
    data = CelebAData(str(tmp_path), download=False, num_workers=0)
    with pytest.raises(
        ValueError, match=r"2 of the 4 images in .*img_align_celeba cannot be read: .*000002\.jpg .*000004"
    ):
        data.setup("fit")


def test_scan_lists_the_first_few_and_counts_the_rest(tmp_path):
    files = []
    for i in range(8):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"junk")
        files.append(path)
    with pytest.raises(ValueError, match=r"8 of the 8 images in here cannot be read: .*7\.png|and 3 more"):
        verify_images(files, "here")
    with pytest.raises(ValueError, match=r"and 3 more\. Remove or replace them\.$"):
        verify_images(files, "here")
