"""The points of the network builder: generated, edited by clicking, saved and loaded as CSV.

A :class:`PointSet` is the whole data set with a train/test flag per point. Editing
returns a new PointSet (the old one stays valid, so a refused edit changes nothing).
CSV files are ``x1,x2,label[,split]``; any file with two numeric columns and a label
column loads, with or without a header.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.datasets.points2d import DATASETS, DOMAIN, make_dataset, train_mask

__all__ = ["DataSettings", "PointSet", "generate_points", "save_points_csv", "load_points_csv", "parse_points_csv"]

MAX_CLASSES = 10
# A CSV for a plane of toy data: beyond these the file is not one (and would block the
# window while being read, or overflow float32 on the way in).
MAX_POINTS = 20_000
MAX_CSV_BYTES = 4 * 2**20
MAX_COORDINATE = 1e4
MAX_TARGET = 1e6


@dataclass(frozen=True)
class DataSettings:
    dataset: str = "circle"
    n_points: int = 500
    noise: float = 0.0  # 0–1 (Playground's 0–50 % divided by 50)
    train_fraction: float = 0.5
    seed: int = 0

    def check(self) -> "DataSettings":
        if self.dataset not in DATASETS:
            raise ValueError(f"Unknown data set {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        if not 0.1 <= self.train_fraction <= 0.9:
            raise ValueError(f"The training share must be between 10 % and 90 %, got {self.train_fraction:.0%}")
        if not 10 <= self.n_points <= 5000:
            raise ValueError(f"Number of points must be between 10 and 5000, got {self.n_points}")
        if not 0 <= self.noise <= 1:
            raise ValueError(f"Noise must be between 0 and 1, got {self.noise}")
        return self


@dataclass(frozen=True)
class PointSet:
    X: np.ndarray  # (n, 2) float32
    y: np.ndarray  # (n,) int64 labels or float32 targets
    is_train: np.ndarray  # (n,) bool
    task: str
    n_classes: int  # 0 for regression

    def __len__(self) -> int:
        return len(self.X)

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m = self.is_train
        return self.X[m], self.y[m], self.X[~m], self.y[~m]

    def extent(self, margin: float = 0.5) -> tuple[float, float, float, float]:
        """The plotted area: Playground's square, grown to hold every point."""
        lo, hi = DOMAIN
        if len(self.X) == 0:
            return (lo, hi, lo, hi)
        x0, y0 = np.minimum(self.X.min(0) - margin, lo)
        x1, y1 = np.maximum(self.X.max(0) + margin, hi)
        return (float(x0), float(x1), float(y0), float(y1))

    def with_point(self, x: float, y: float, label: float, train: bool = True) -> "PointSet":
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError("A point needs finite coordinates")
        if self.task == "classification":
            if not (float(label).is_integer() and 0 <= label < self.n_classes):
                raise ValueError(f"The class must be 0 to {self.n_classes - 1}")
            lab = np.asarray([int(label)], np.int64)
        else:
            if not math.isfinite(label):
                raise ValueError("The target value must be a finite number")
            lab = np.asarray([label], np.float32)
        return replace(
            self,
            X=np.concatenate([self.X, np.asarray([[x, y]], np.float32)]),
            y=np.concatenate([self.y, lab]),
            is_train=np.concatenate([self.is_train, [bool(train)]]),
        )

    def without_nearest(self, x: float, y: float, radius: float) -> "PointSet":
        """Remove the point nearest (x, y) if it lies within ``radius``; else the same set."""
        if len(self.X) == 0:
            return self
        d = np.hypot(self.X[:, 0] - x, self.X[:, 1] - y)
        i = int(np.argmin(d))
        if d[i] > radius:
            return self
        keep = np.ones(len(self.X), bool)
        keep[i] = False
        return replace(self, X=self.X[keep], y=self.y[keep], is_train=self.is_train[keep])

    def to_state(self) -> dict:
        """JSON-able form for experiment files."""
        return {
            "points": [[round(float(a), 5), round(float(b), 5)] for a, b in self.X],
            "labels": [int(v) if self.task == "classification" else round(float(v), 6) for v in self.y],
            "train": [bool(t) for t in self.is_train],
            "task": self.task,
            "n_classes": int(self.n_classes),
        }

    @classmethod
    def from_state(cls, d: dict) -> "PointSet":
        try:
            X = np.asarray(d["points"], np.float32).reshape(-1, 2)
            task = d["task"]
            y = np.asarray(d["labels"], np.int64 if task == "classification" else np.float32).reshape(-1)
            is_train = np.asarray(d["train"], bool).reshape(-1)
            k = int(d.get("n_classes", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The saved points are malformed ({exc})") from None
        if not (len(X) == len(y) == len(is_train)):
            raise ValueError("The saved points, labels and train flags differ in number")
        if task not in ("classification", "regression"):
            raise ValueError(f"Unknown task {task!r}")
        if task == "classification" and len(y) and (y.min() < 0 or y.max() >= k):
            raise ValueError("A saved label is outside the classes")
        return cls(X, y, is_train, task, k if task == "classification" else 0)


def generate_points(settings: DataSettings) -> PointSet:
    s = settings.check()
    ds = make_dataset(s.dataset, s.n_points, s.noise, s.seed)
    return PointSet(ds.X, ds.y, train_mask(len(ds), s.train_fraction, s.seed), ds.task, ds.n_classes)


def save_points_csv(path: str | Path, points: PointSet) -> Path:
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2", "label", "split"])
        for (a, b), lab, tr in zip(points.X, points.y, points.is_train):
            w.writerow([repr(float(a)), repr(float(b)), int(lab) if points.task == "classification" else repr(float(lab)),
                        "train" if tr else "test"])
    return path


def load_points_csv(path: str | Path, train_fraction: float = 0.5, seed: int = 0) -> PointSet:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise ValueError(f"{path.name} is {size / 2**20:.1f} MB; a point set for the plane is at most {MAX_CSV_BYTES // 2**20} MB ({MAX_POINTS:,} rows)")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"Cannot read {path.name}: {exc}") from None
    return parse_points_csv(text, train_fraction, seed, name=path.name)


def parse_points_csv(text: str, train_fraction: float = 0.5, seed: int = 0, name: str = "the file") -> PointSet:
    """Rows of x1, x2, label[, train|test]; a first row that is not numbers is a header."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ValueError(f"{name} is not a CSV file ({exc})") from None
    if rows and not _is_number(rows[0][0] if rows[0] else ""):
        rows = rows[1:]  # a header
    if len(rows) < 2:
        raise ValueError(f"{name} needs at least two rows of x1, x2, label")
    if len(rows) > MAX_POINTS:
        raise ValueError(f"{name} has {len(rows):,} rows; the builder takes at most {MAX_POINTS:,} points")
    X, labels, split = [], [], []
    for line, r in enumerate(rows, start=1):
        cells = [c.strip() for c in r]
        if len(cells) < 3:
            raise ValueError(f"{name}, data row {line}: expected x1, x2, label; found {len(cells)} column(s)")
        try:
            x1, x2, lab = float(cells[0]), float(cells[1]), float(cells[2])
        except ValueError:
            raise ValueError(f"{name}, data row {line}: {', '.join(cells[:3])} are not all numbers") from None
        if not all(math.isfinite(v) for v in (x1, x2, lab)):
            raise ValueError(f"{name}, data row {line}: numbers must be finite")
        if max(abs(x1), abs(x2)) > MAX_COORDINATE:
            raise ValueError(f"{name}, data row {line}: coordinates must lie within ±{MAX_COORDINATE:g}, got ({x1:g}, {x2:g})")
        if abs(lab) > MAX_TARGET:
            raise ValueError(f"{name}, data row {line}: the label or target must lie within ±{MAX_TARGET:g}, got {lab:g}")
        X.append((x1, x2))
        labels.append(lab)
        if len(cells) > 3 and cells[3]:
            if cells[3].lower() not in ("train", "test"):
                raise ValueError(f"{name}, data row {line}: the split column must say train or test, not {cells[3]!r}")
            split.append(cells[3].lower() == "train")
    if split and len(split) != len(X):
        raise ValueError(f"{name}: give a train/test split for every row or for none")
    X_arr = np.asarray(X, np.float32)
    lab_arr = np.asarray(labels)
    distinct = np.unique(lab_arr)
    if np.all(lab_arr == np.round(lab_arr)) and len(distinct) <= MAX_CLASSES:
        if len(distinct) < 2:
            raise ValueError(f"{name}: every point has the same label; classification needs two classes or more")
        # Labels may be any integers (e.g. -1/1): number the classes 0..k-1 in order.
        y = np.searchsorted(distinct, lab_arr).astype(np.int64)
        task, k = "classification", len(distinct)
    else:
        y, task, k = lab_arr.astype(np.float32), "regression", 0
    is_train = np.asarray(split, bool) if split else train_mask(len(X_arr), train_fraction, seed)
    if not is_train.any():
        raise ValueError(f"{name}: no row is marked as training data")
    return PointSet(X_arr, y, is_train, task, k)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
