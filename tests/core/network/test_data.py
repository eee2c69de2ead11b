"""Points of the network builder: generation, click editing, CSV in and out."""

import numpy as np
import pytest

from core.datasets.points2d import make_dataset, split_train_test
from core.network.data import DataSettings, PointSet, generate_points, load_points_csv, parse_points_csv, save_points_csv


def test_generation_matches_the_dataset_split():
    pts = generate_points(DataSettings("xor", 100, 0.1, 0.3, 5))
    tr, te = split_train_test(make_dataset("xor", 100, 0.1, 5), 0.3, 5)
    Xtr, ytr, Xte, yte = pts.split()
    assert sorted(map(tuple, Xtr.tolist())) == sorted(map(tuple, tr.X.tolist()))
    assert len(Xte) == len(te.X) == 70
    with pytest.raises(ValueError, match="training share"):
        generate_points(DataSettings(train_fraction=0.95))


def test_click_editing_returns_new_sets():
    pts = generate_points(DataSettings("circle", 20))
    more = pts.with_point(1.0, 2.0, 1)
    assert len(more) == 21 and len(pts) == 20 and more.y[-1] == 1 and more.is_train[-1]
    fewer = more.without_nearest(1.1, 2.0, 0.5)
    assert len(fewer) == 20
    assert fewer.without_nearest(100, 100, 0.5) is fewer
    with pytest.raises(ValueError, match="class must be 0 to 1"):
        pts.with_point(0, 0, 2)
    assert PointSet.from_state(more.to_state()).to_state() == more.to_state()


def test_csv_round_trip_and_foreign_files(tmp_path):
    pts = generate_points(DataSettings("blobs", 40))
    back = load_points_csv(save_points_csv(tmp_path / "p.csv", pts))
    assert np.allclose(back.X, pts.X) and np.array_equal(back.y, pts.y) and np.array_equal(back.is_train, pts.is_train)
    foreign = parse_points_csv("1,2,-1\n3,4,1\n5,6,-1\n7,8,1\n")
    assert foreign.task == "classification" and foreign.n_classes == 2 and list(foreign.y) == [0, 1, 0, 1]
    reg = parse_points_csv("a,b,target\n0,0,0.5\n1,1,1.25\n2,2,3.5\n")
    assert reg.task == "regression" and reg.y[2] == pytest.approx(3.5)


@pytest.mark.parametrize("text, words", [
    ("x1,x2,label\n1,2\n3,4\n", "found 2 column"),
    ("1,2,0\n3,four,1\n", "not all numbers"),
    ("1,2,0\n3,4,0\n", "same label"),
    ("1,2,0,train\n3,4,1,maybe\n", "train or test"),
    ("1,2,0\n", "at least two rows"),
    # finite in float64, infinite once stored as float32 (the builder's dtype)
    ("1e39,0,0\n1,1,1\n", "within ±10000"),
    ("1e308,0,0\n1,1,1\n", "within ±10000"),
    ("0,0,1e300\n1,1,0.5\n", "within ±1e\\+06"),
    ("".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(20_001)), "at most 20,000 points"),
])
def test_malformed_csv_is_refused_with_the_reason(text, words):
    with pytest.raises(ValueError, match=words):
        parse_points_csv(text)


def test_a_csv_too_large_for_the_plane_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_bytes(b"1,2,0\n" * 800_000)  # 4.6 MB
    with pytest.raises(ValueError, match="huge.csv is 4.6 MB"):
        load_points_csv(path)
