"""The image lab's data: built-in shapes, folders, download (file:// only), split, normalization."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.datasets.images import (
    BUILTIN_CLASSES,
    DataConfig,
    DownloadConfig,
    DownloadError,
    builtin_dataset,
    channel_stats,
    download_job,
    load_image_folder,
    load_image_for_model,
    load_source,
    prepare,
)
from core.engine import Cancelled, Finished, RunControl, Snapshot, run_headless


def test_builtin_dataset_shape_range_and_determinism():
    x, y, classes = builtin_dataset(n_per_class=12, size=20, seed=3)
    assert x.shape == (12 * len(BUILTIN_CLASSES), 1, 20, 20) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and classes == BUILTIN_CLASSES
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert torch.equal(torch.bincount(y), torch.full((len(classes),), 12))
    x2, y2, _ = builtin_dataset(n_per_class=12, size=20, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _, _ = builtin_dataset(n_per_class=12, size=20, seed=4)
    assert not torch.equal(x, x3)


def test_builtin_classes_differ_in_their_mean_image():
    # Each class draws a different shape: the class-mean images must not coincide.
    x, y, classes = builtin_dataset(n_per_class=40, size=16, seed=0)
    means = torch.stack([x[y == k].mean(0) for k in range(len(classes))]).flatten(1)
    dist = torch.cdist(means, means) + torch.eye(len(classes)) * 1e9
    assert float(dist.min()) > 0.05


@pytest.mark.parametrize("kwargs", [{"n_per_class": 0}, {"size": 4}, {"size": 1000}])
def test_builtin_dataset_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        builtin_dataset(**kwargs)


def test_prepare_normalizes_with_training_statistics_only():
    cfg = DataConfig(source="builtin", n_per_class=30, size=16, val_fraction=0.25, seed=1)
    data = prepare(cfg)
    raw = load_source(cfg).images
    n = len(raw)
    assert len(data.y_train) + len(data.y_val) == n
    assert len(data.y_val) == round(n * 0.25)
    # The training split is standardized exactly; the validation split used the same constants.
    assert abs(float(data.x_train.mean())) < 1e-4
    assert abs(float(data.x_train.std()) - 1.0) < 1e-3
    train_raw = data.denormalize(data.x_train)
    mean, std = channel_stats(train_raw)
    assert mean == pytest.approx(data.mean, abs=1e-5) and std == pytest.approx(data.std, abs=1e-4)
    val_raw = data.denormalize(data.x_val)
    assert float(val_raw.mean()) == pytest.approx(float(raw.mean()), abs=0.05)
    assert channel_stats(val_raw)[0] != pytest.approx(data.mean, abs=1e-7)  # not the validation's own mean


def test_subset_and_no_normalization():
    data = prepare(DataConfig(n_per_class=30, size=16, subset=100, val_fraction=0.2, normalize=False))
    assert len(data.y_train) == 80 and len(data.y_val) == 20
    assert data.mean == (0.0,) and data.std == (1.0,)
    assert float(data.x_train.min()) >= 0.0


def test_bad_data_config_is_a_readable_error():
    with pytest.raises(ValueError, match="validation share"):
        prepare(DataConfig(val_fraction=0.9))
    with pytest.raises(ValueError, match="image folder"):
        prepare(DataConfig(source="folder"))


def _make_folder(root: Path, color: bool = False) -> Path:
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            shape = (10 + i, 12, 3) if color else (10 + i, 12)
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(root / cls / f"{i}.png")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    (root / "cats" / "notes.txt").write_text("ignored: not an image extension")
    return root


def test_image_folder_resizes_and_skips_corrupt_files(tmp_path):
    root = _make_folder(tmp_path / "pets")
    f = load_image_folder(root, size=8)
    assert f.classes == ["cats", "dogs"]
    assert f.images.shape == (6, 1, 8, 8) and f.images.dtype == torch.uint8
    assert f.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert f.skipped == [str(Path("dogs") / "broken.png")]
    assert load_image_folder(root, size=8, channels=3).images.shape == (6, 3, 8, 8)
    src = load_source(DataConfig(source="folder", folder=str(root), size=8))
    assert "1 unreadable file(s) skipped" in src.description


def test_image_folder_colour_is_detected(tmp_path):
    f = load_image_folder(_make_folder(tmp_path / "c", color=True), size=8)
    assert f.images.shape[1] == 3


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "one" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="at least two"):
        load_image_folder(tmp_path / "one")
    (tmp_path / "one" / "b").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "one" / "a" / "x.png")
    with pytest.raises(ValueError, match="No readable images.*b"):
        load_image_folder(tmp_path / "one")


def test_torchvision_set_not_downloaded_says_so(tmp_path):
    with pytest.raises(ValueError, match="not downloaded"):
        load_source(DataConfig(source="mnist", data_dir=str(tmp_path)))


def _resource(tmp_path, payload: bytes, name="data.bin", exists=True):
    src = tmp_path / "server" / name
    src.parent.mkdir(exist_ok=True)
    if exists:
        src.write_bytes(payload)
    md5 = hashlib.md5(payload).hexdigest()
    return ("sub", name, md5, (src.as_uri(),))


def test_download_job_fetches_with_progress(tmp_path):
    payload = bytes(range(256)) * 1000
    cfg = DownloadConfig("mnist", str(tmp_path / "data"), resources=(_resource(tmp_path, payload),))
    events = run_headless(download_job, cfg)
    assert (tmp_path / "data" / "sub" / "data.bin").read_bytes() == payload
    progress = [e for e in events if isinstance(e, Snapshot) and e.kind == "download"]
    assert progress and progress[-1].data["done"] == len(payload)
    assert isinstance(events[-1], Finished)
    # A second run finds the verified file and downloads nothing.
    assert not [e for e in run_headless(download_job, cfg) if isinstance(e, Snapshot)]


def test_download_failure_says_so_and_offers_builtin(tmp_path):
    cfg = DownloadConfig("mnist", str(tmp_path / "data"), resources=(_resource(tmp_path, b"x", exists=False),))
    with pytest.raises(DownloadError, match="built-in"):
        run_headless(download_job, cfg)
    assert not list((tmp_path / "data").rglob("*.part"))


def test_download_with_wrong_checksum_is_refused(tmp_path):
    sub, name, _md5, urls = _resource(tmp_path, b"payload")
    cfg = DownloadConfig("mnist", str(tmp_path / "data"), resources=((sub, name, "0" * 32, urls),))
    with pytest.raises(DownloadError, match="damaged"):
        run_headless(download_job, cfg)
    assert not (tmp_path / "data" / sub / name).exists()


def test_download_cancel_leaves_no_partial_file(tmp_path):
    cfg = DownloadConfig("mnist", str(tmp_path / "data"), resources=(_resource(tmp_path, b"z" * 300_000),))
    ctl = RunControl()
    gen = download_job(cfg, ctl)
    first = next(gen)
    assert isinstance(first, Snapshot)
    ctl.stop()
    with pytest.raises(Cancelled):
        list(gen)
    assert not list((tmp_path / "data").rglob("*.part")) and not (tmp_path / "data" / "sub" / "data.bin").exists()


def test_input_signature_without_loading(tmp_path):
    from core.datasets.images import input_signature

    assert input_signature(DataConfig(size=20)) == ((1, 20, 20), BUILTIN_CLASSES)
    assert input_signature(DataConfig(source="cifar10"))[0] == (3, 32, 32)
    root = _make_folder(tmp_path / "c", color=True)
    assert input_signature(DataConfig(source="folder", folder=str(root), size=8)) == ((3, 8, 8), ["cats", "dogs"])


def test_image_file_becomes_model_input(tmp_path):
    from core.datasets.images import load_image_for_model

    Image.fromarray(np.full((30, 20, 3), 255, np.uint8)).save(tmp_path / "white.png")
    x, raw = load_image_for_model(tmp_path / "white.png", (1, 8, 8), (0.5,), (0.25,))
    assert x.shape == (1, 8, 8) and torch.allclose(raw, torch.ones(1, 8, 8)) and torch.allclose(x, torch.full((1, 8, 8), 2.0))
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="cannot be read"):
        load_image_for_model(tmp_path / "bad.png", (1, 8, 8), (0.5,), (0.25,))


def _write_idx(path: Path, array: np.ndarray) -> None:
    """A file in MNIST's IDX format (big-endian header, then uint8 data)."""
    magic = 0x0800 + array.ndim
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_downloaded_mnist_loads_offline_as_uint8(tmp_path):
    # What torchvision leaves after a download, made locally with a few fake digits.
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 5)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    cfg = DataConfig(source="mnist", data_dir=str(tmp_path), val_fraction=0.2)
    src = load_source(cfg)
    assert src.images.shape == (30, 1, 28, 28) and src.images.dtype == torch.uint8
    assert src.classes[0].startswith("0")
    data = prepare(cfg)
    assert data.x_train.dtype == torch.float32 and len(data.y_train) == 24
    assert abs(float(data.x_train.mean())) < 1e-4


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge picture (the data never comes)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_bombs_fifos_and_link_loops_in_an_image_folder_are_passed_over(tmp_path):
    import os

    root = _make_folder(tmp_path / "pets", color=True)
    (root / "cats" / "bomb.png").write_bytes(_png_header_claiming(20_000, 20_000))
    os.mkfifo(root / "dogs" / "pipe.png")  # reading it would block forever
    (root / "cats" / "again").symlink_to(root / "cats", target_is_directory=True)  # a link loop
    (root / "dogs" / "twin.png").symlink_to(root / "dogs" / "0.png")  # one file reached twice
    f = load_image_folder(root, size=8)
    assert f.images.shape[0] == 6  # 3 cats, 3 dogs: no copies through the links
    assert {str(Path("cats") / "bomb.png"), str(Path("dogs") / "pipe.png")} <= set(f.skipped)
    from core.datasets.images import input_signature

    assert input_signature(DataConfig(source="folder", folder=str(root), size=8)) == ((3, 8, 8), ["cats", "dogs"])
    with pytest.raises(ValueError, match="bomb.png cannot be read"):
        load_image_for_model(root / "cats" / "bomb.png", (3, 8, 8), [0.5] * 3, [0.5] * 3)
    with pytest.raises(ValueError, match="pipe.png is not a regular file"):
        load_image_for_model(root / "dogs" / "pipe.png", (3, 8, 8), [0.5] * 3, [0.5] * 3)
