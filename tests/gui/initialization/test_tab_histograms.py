"""The histogram grid widget alone: layouts, scales, notes, theme and files."""

import numpy as np
import pytest
from PySide6.QtGui import QImage

from widgets.export import qimage_to_array
from widgets.histogram_grid import HistogramGrid, LayerHistograms, format_tick
from widgets.theme import theme


def layers(n=4, bins=10):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, (n, bins)).astype(float)
    edges = np.stack([np.linspace(-s, s, bins + 1) for s in 10.0 ** -np.arange(n)])
    shared = counts[:, ::-1].copy()
    return LayerHistograms(counts, edges, shared, np.linspace(-1, 1, bins + 1), tuple(f"L{i + 1}" for i in range(n)), ("", "overflow: 50% Inf/NaN", "", ""))


@pytest.fixture
def grid(qtbot):
    g = HistogramGrid("activations", "#0072B2")
    qtbot.addWidget(g)
    g.resize(400, 300)
    g.show()
    return g


def test_shared_and_per_layer_scales_show_their_own_counts_and_edges(grid):
    data = layers()
    grid.set_histograms(data)
    counts, edges = grid.shown()
    assert counts is data.shared_counts and np.all(edges == data.shared_edges)
    grid.set_shared(False)
    counts, edges = grid.shown()
    assert counts is data.counts and edges[3][-1] == pytest.approx(1e-3)


@pytest.mark.parametrize("mode", ["grid", "ridgeline"])
def test_both_layouts_paint_bars_in_the_scheme_colour(grid, qtbot, mode):
    grid.set_histograms(layers())
    grid.set_mode(mode)
    before = grid.paint_count
    qtbot.waitUntil(lambda: grid.paint_count > before, timeout=2000)
    rgb = qimage_to_array(grid.grab().toImage()).reshape(-1, 3).astype(int)

    def has(color):
        return (np.abs(rgb - color).sum(axis=1) < 40).any()

    assert has((0x00, 0x72, 0xB2))  # the bars' outlines
    assert has((0xD5, 0x5E, 0x00))  # the overflow note, in its warning colour


def test_bad_layout_is_refused(grid):
    with pytest.raises(ValueError, match="grid, ridgeline"):
        grid.set_mode("waterfall")
    assert grid.mode == "grid"


def test_dark_theme_repaints_on_a_dark_background(grid, qtbot):
    grid.set_histograms(layers())
    theme().set_style(dark=True)
    qtbot.waitUntil(lambda: QImage(grid.grab().toImage()).pixelColor(1, 1).lightness() < 60, timeout=2000)


def test_files_follow_the_scale_shown(grid, tmp_path):
    grid.set_histograms(layers(3, 5))
    grid.set_shared(False)
    rows = grid.export_file(tmp_path / "h.csv").read_text().splitlines()
    assert rows[0] == "layer,bin_low,bin_high,count" and len(rows) == 1 + 3 * 5
    assert rows[-1].startswith("3,") and float(rows[-1].split(",")[2]) == pytest.approx(0.01)
    written = grid.export(tmp_path / "all", 2.0)
    assert [p.name for p in written] == ["all.png", "all.svg", "all.csv"]
    assert QImage(str(written[0])).width() == 2 * grid.width()


def test_format_tick():
    assert format_tick(0) == "0"
    assert format_tick(-0.5) == "−0.5"
    assert format_tick(2.5e-6) == "2.5e−6"
    assert format_tick(1.2e5) == "1.2e5"
