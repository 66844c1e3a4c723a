"""CIFAR10Data on fixture files written in CIFAR-10's own format: Python 2 pickles of dicts with the keys
b'data' (uint8 rows of 1024 red, 1024 green, 1024 blue values), b'labels', b'filenames', b'batch_label' in
torchvision's ``cifar-10-batches-py`` folder. torchvision's own reader is the independent reference."""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from datamodules import CIFAR10Data
from datamodules import cifar10 as cifar_module

LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_SIZES = (3, 2, 3, 1, 2)  # images per data_batch_1 .. data_batch_5
TEST_SIZE = 4
RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR-10 files: protocol 2, ``bytes`` as Python 2 ``str``
    (SHORT_BINSTRING / BINSTRING, which ``encoding="latin1"`` turns into ``str`` and ``encoding="bytes"`` into
    ``bytes``) and numpy's array reconstructor under its old module name ``numpy.core.multiarray``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        if obj is RECONSTRUCT:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def py2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def to_row(image: np.ndarray) -> np.ndarray:
    """(3, 32, 32) -> CIFAR's 3072-value row, written out plane by plane: all red, then green, then blue."""
    return np.concatenate([image[0].ravel(), image[1].ravel(), image[2].ravel()])


def make_split(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    images[:, 0, :4, :4] = 255  # channels differ systematically: a red corner, a dark green one
    images[:, 1, :4, :4] = 0
    return images, rng.integers(0, 10, n).tolist()


def write_batch(path: Path, images: np.ndarray, labels: list[int], batch_label: bytes) -> None:
    rows = np.stack([to_row(im) for im in images]) if len(images) else np.zeros((0, 3072), np.uint8)
    entry = {
        b"batch_label": batch_label,
        b"labels": labels,
        b"data": rows,
        b"filenames": [f"image_{i:04d}.png".encode() for i in range(len(images))],
    }
    path.write_bytes(py2_pickle(entry))


def write_cifar(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """root/cifar-10-batches-py with 5 small training batches, a test batch and batches.meta; returns the
    images (N, 3, 32, 32) and labels written for each split."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_images, train_labels = [], []
    for i, n in enumerate(TRAIN_SIZES, 1):
        images, labels = make_split(n, seed=i)
        write_batch(folder / f"data_batch_{i}", images, labels, f"training batch {i} of 5".encode())
        train_images.append(images)
        train_labels += labels
    test_images, test_labels = make_split(TEST_SIZE, seed=9)
    write_batch(folder / "test_batch", test_images, test_labels, b"testing batch 1 of 1")
    meta = {b"num_cases_per_batch": 10000, b"label_names": [n.encode() for n in LABEL_NAMES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(py2_pickle(meta))
    return {"train": (np.concatenate(train_images), train_labels), "test": (test_images, test_labels)}


@pytest.fixture
def cifar(tmp_path):
    return tmp_path, write_cifar(tmp_path)


def test_fixture_is_a_python2_pickle_with_bytes_keys(cifar):
    root, _ = cifar
    raw = (root / "cifar-10-batches-py" / "data_batch_1").read_bytes()
    assert raw.startswith(b"\x80\x02}") and b"U\x04data" in raw and b"cnumpy.core.multiarray\n_reconstruct" in raw
    as_bytes = pickle.loads(raw, encoding="bytes")  # how the CIFAR-10 page says to read the files in Python 3
    assert set(as_bytes) == {b"data", b"labels", b"filenames", b"batch_label"}
    assert as_bytes[b"data"].shape == (3, 3072) and as_bytes[b"data"].dtype == np.uint8


def test_images_and_labels_round_trip_exactly(cifar):
    root, written = cifar
    data = CIFAR10Data(str(root), download=False, batch_size=2)
    assert data.image_shape == (3, 32, 32) and data.num_classes == 10  # known before setup
    data.prepare_data()
    data.setup("fit")
    for split, (images, labels) in written.items():
        got_images, got_labels = data.split(split)
        assert got_images.dtype == torch.uint8 and got_images.shape == (len(images), 3, 32, 32)
        assert torch.equal(got_images, torch.from_numpy(images))
        assert got_labels.dtype == torch.int64 and got_labels.tolist() == labels
    assert len(data.split("train")[0]) == sum(TRAIN_SIZES)  # data_batch_1 .. 5, in order
    assert data.label_names() == LABEL_NAMES


def test_pixel_layout_is_1024_red_then_1024_green_then_1024_blue(tmp_path):
    """One hand-made row: value v at offset c * 1024 + y * 32 + x must land at image[c, y, x]."""
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(tmp_path)
    row = np.zeros(3072, np.uint8)
    row[0 * 1024 + 1 * 32 + 2] = 200  # red at (y=1, x=2)
    row[1 * 1024 + 31 * 32 + 0] = 100  # green at (y=31, x=0)
    row[2 * 1024 + 0 * 32 + 31] = 50  # blue at (y=0, x=31)
    entry = {b"batch_label": b"test", b"labels": [7], b"data": row[None], b"filenames": [b"x.png"]}
    (folder / "test_batch").write_bytes(py2_pickle(entry))
    image = CIFAR10Data(str(tmp_path), download=False).split("test")[0][0]
    assert image[0, 1, 2] == 200 and image[1, 31, 0] == 100 and image[2, 0, 31] == 50
    assert int(image.sum()) == 350


def test_torchvision_reads_the_same_images_and_labels(cifar):
    from torchvision.datasets import CIFAR10

    root, _ = cifar
    folder = root / "cifar-10-batches-py"

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    class FixtureCIFAR10(CIFAR10):  # torchvision's reader, checking the fixture's MD5s instead of the real ones
        train_list = [[f"data_batch_{i}", md5(f"data_batch_{i}")] for i in range(1, 6)]
        test_list = [["test_batch", md5("test_batch")]]
        meta = {"filename": "batches.meta", "key": "label_names", "md5": md5("batches.meta")}

    data = CIFAR10Data(str(root), download=False)
    for split in ("train", "test"):
        reference = FixtureCIFAR10(str(root), train=split == "train", download=False)
        images, labels = data.split(split)
        assert torch.equal(images.permute(0, 2, 3, 1), torch.from_numpy(reference.data))  # torchvision keeps HWC
        assert labels.tolist() == reference.targets
        assert torch.equal(images[0].permute(1, 2, 0), torch.from_numpy(np.array(reference[0][0])))  # its PIL image
    assert data.label_names() == reference.classes


def test_batches_and_real_samples_are_in_unit_range(cifar):
    root, written = cifar
    data = CIFAR10Data(str(root), download=False, batch_size=4, seed=3)
    data.setup("fit")
    loader = data.train_dataloader()
    assert len(loader) == sum(TRAIN_SIZES) // 4
    images, labels = next(iter(loader))
    assert images.dtype == torch.uint8 and images.shape == (4, 3, 32, 32) and labels.shape == (4,)
    x, y = data.on_after_batch_transfer((images, labels), 0)
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1 and torch.equal(y, labels)
    torch.testing.assert_close(x, images.float() / 127.5 - 1)
    all_images, all_labels = data.split("train")
    for image, label in zip(images, labels):  # each served image is a training image with its own label
        match = (all_images == image).flatten(1).all(1).nonzero().flatten()
        assert label in all_labels[match]
    test = data.real_samples("test", 3)
    assert test.shape == (3, 3, 32, 32) and test.min() >= -1 and test.max() <= 1
    torch.testing.assert_close(test, torch.from_numpy(written["test"][0][:3]).float() / 127.5 - 1)
    assert test[:, 0, :4, :4].eq(1).all() and test[:, 1, :4, :4].eq(-1).all()
    with pytest.raises(ValueError, match="asked for 5 real samples but split 'test' has 4"):
        data.real_samples("test", 5)
    with pytest.raises(ValueError, match="'train', 'test'"):
        data.split("valid")


def test_missing_folder_offline_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets

    with pytest.raises(FileNotFoundError, match="download=True") as info:
        CIFAR10Data(str(tmp_path), download=False).prepare_data()
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "data_batch_1" in message
    assert f"tar -xzf cifar-10-python.tar.gz -C {tmp_path}" in message and "c58f30108f718f92721af3b95e74349a" in message
    with pytest.raises(FileNotFoundError, match="download=True"):  # setup without prepare_data: the same message
        CIFAR10Data(str(tmp_path), download=False).setup("fit")

    def offline(*args, **kwargs):
        raise RuntimeError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(FileNotFoundError, match="tar -xzf.*The download failed: .*name resolution"):
        CIFAR10Data(str(tmp_path), download=True).prepare_data()


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    def fake_cifar10(root, train, download):
        calls.append((root, train, download))
        write_cifar(Path(root))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_cifar10)
    data = CIFAR10Data(str(tmp_path), download=True, batch_size=2)
    data.prepare_data()
    assert calls == [(str(tmp_path), True, True)]
    data.prepare_data()  # files present: no second download
    assert len(calls) == 1
    assert data.split("test")[0].shape == (TEST_SIZE, 3, 32, 32)


def test_one_missing_file_is_named(cifar):
    root, _ = cifar
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="lacks test_batch "):
        CIFAR10Data(str(root), download=False).split("train")


def test_truncated_file_is_named_with_the_fix(cifar):
    root, _ = cifar
    path = root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:-500])
    data = CIFAR10Data(str(root), download=False)
    with pytest.raises(ValueError, match=f"cannot read CIFAR-10 file {path} .*truncated or corrupt.*download=True"):
        data.setup("fit")
    assert data.split("test")[0].shape == (TEST_SIZE, 3, 32, 32)  # the other files still read


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]},
            r"uint8 array N x 3072, got uint8 array \(2, 3000\)",
        ),
        ({b"data": np.zeros((2, 3072), np.int32), b"labels": [0, 1]}, "got int32 array"),
        ({b"labels": [0, 1]}, "got NoneType"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, r"2 images but labels shaped \(1,\)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels outside 0-9"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "'labels' is not a list of ints"),
        ([1, 2], "holds a list, not a dict"),
    ],
)
def test_malformed_batch_is_named(cifar, entry, message):
    root, _ = cifar
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(py2_pickle(entry))
    with pytest.raises(ValueError, match=f"{path}.*{message}.*truncated or corrupt"):
        CIFAR10Data(str(root), download=False).split("test")


class Payload:
    def __reduce__(self):
        return (print, ("this must not run",))


def test_a_pickle_that_would_run_code_is_refused(cifar, capsys):
    root, _ = cifar
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": Payload(), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match=r"refers to __builtin__\.print, which no CIFAR-10 batch contains"):
        CIFAR10Data(str(root), download=False).split("test")
    assert "must not run" not in capsys.readouterr().out


def test_python3_pickles_with_bytes_keys_are_read_too(cifar):
    """Files re-pickled under Python 3 (bytes keys spelled ``_codecs.encode``) read the same."""
    root, written = cifar
    images, labels = written["test"]
    rows = np.stack([to_row(im) for im in images])
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": rows, b"labels": labels, b"batch_label": b"x"}, protocol=2))
    got_images, got_labels = CIFAR10Data(str(root), download=False).split("test")
    assert torch.equal(got_images, torch.from_numpy(images)) and got_labels.tolist() == labels


def test_constants_match_torchvision():
    from torchvision.datasets import CIFAR10

    ours = (
        cifar_module.URL,
        cifar_module.ARCHIVE,
        cifar_module.ARCHIVE_MD5,
        cifar_module.FOLDER,
        cifar_module.META_FILE,
    )
    assert ours == (CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5, CIFAR10.base_folder, CIFAR10.meta["filename"])
    assert list(cifar_module.SPLITS["train"]) == [name for name, _ in CIFAR10.train_list]
    assert list(cifar_module.SPLITS["test"]) == [name for name, _ in CIFAR10.test_list]


# ----------------------------------------------------------------- configs/wgan_gp/cifar10.yaml
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "wgan_gp" / "cifar10.yaml"


def config_args(root: Path, out: Path, max_steps: int) -> list[str]:
    return [
        "--config",
        str(CONFIG),
        "--data.init_args.data_dir",
        str(root),
        "--data.init_args.download",
        "false",
        "--data.init_args.batch_size",
        "2",
        "--trainer.default_root_dir",
        str(out),
        "--trainer.max_steps",
        str(max_steps),
        "--trainer.logger",
        "false",
        "--trainer.enable_progress_bar",
        "false",
    ]


def test_wgan_gp_cifar10_config_prints_with_the_papers_settings(capsys):
    import yaml

    from zoo.commands.cli import run_lightning_cli

    with pytest.raises(SystemExit) as info:
        run_lightning_cli(["fit", "--config", str(CONFIG), "--print_config"])
    assert info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    model, data = printed["model"], printed["data"]
    assert model["class_path"] == "zoo.WGANGP" and data["class_path"] == "datamodules.CIFAR10Data"
    args = model["init_args"]
    assert (args["gp_weight"], args["n_critic"], args["lr"], list(args["betas"])) == (10.0, 5, 1e-4, [0.0, 0.9])
    assert (args["nets"], args["latent_dim"], args["d_norm"], args["g_norm"]) == ("sngan_cnn", 128, "none", "batch")
    assert data["init_args"]["batch_size"] == 64
    assert printed["trainer"]["max_steps"] == 200_000 * 5 + 200_000  # critic + generator updates


def test_wgan_gp_cifar10_config_fits_on_the_fixture(cifar, tmp_path):
    from zoo import WGANGP
    from zoo.commands.cli import run_lightning_cli
    from zoo.nets import SNGANCNNDiscriminator, SNGANCNNGenerator

    root, _ = cifar
    cli = run_lightning_cli(["fit", *config_args(root, tmp_path / "run", 6)])
    assert type(cli.model) is WGANGP and isinstance(cli.datamodule, CIFAR10Data)
    assert isinstance(cli.model.generator, SNGANCNNGenerator)
    assert isinstance(cli.model.discriminator, SNGANCNNDiscriminator)
    assert cli.model.hparams.image_shape == [3, 32, 32]
    assert (cli.model.d_steps, cli.model.g_steps) == (5, 1)
